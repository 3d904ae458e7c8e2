"""The decision function on its own, with made-up model rankings.

Each test fixes what the model "said" and checks that the layers above it
(red flags, disclosure backstop, fail-safe) only ever add care.
"""
import pytest

from triage import DECISION_ANSWER, DECISION_CRISIS, DECISION_PRIVATE
from triage.decision import DecisionSettings, decide


def ranking(*pairs):
    return list(pairs)


CONFIDENT_ROUTINE = ranking(("ask_opening_hours", 0.97), ("greet", 0.02), ("disclose_symptoms", 0.01))


@pytest.mark.parametrize("text", [
    "I want to kill myself",
    "chest pain and my left arm is numb",
    "ich will nicht mehr leben",
    "mi padre no respira",
])
def test_red_flags_make_crisis_whatever_the_model_says(text):
    result = decide(text, CONFIDENT_ROUTINE)
    assert result.decision == DECISION_CRISIS
    assert result.intent.startswith("crisis_")
    assert "red_flag" in result.reasons
    assert result.confidence == 1.0


def test_confident_model_crisis_is_crisis_without_a_red_flag():
    result = decide("everything is pointless and tonight is the night",
                    ranking(("crisis_self_harm", 0.9), ("disclose_mental_health", 0.1)))
    assert result.decision == DECISION_CRISIS and result.reasons == ["model_crisis"]


def test_weak_model_crisis_with_health_words_is_still_escalated():
    result = decide("i feel so depressed", ranking(("crisis_self_harm", 0.35), ("greet", 0.3), ("disclose_mental_health", 0.2)))
    assert result.decision == DECISION_PRIVATE
    assert result.intent == "disclose_mental_health"


def test_weak_model_crisis_with_no_health_content_is_still_read_by_a_person():
    result = decide("ich stehe im stau", ranking(("crisis_self_harm", 0.35), ("change_appointment", 0.3), ("greet", 0.2)))
    assert result.decision == DECISION_PRIVATE and result.intent == "disclose_mental_health"


@pytest.mark.parametrize("text,model_intent", [
    ("I need a refill of my metformin", "ask_prescription_refill"),
    ("book me in about the lump in my breast", "book_appointment"),
    ("can you tell me my covid result, DOB 04/12/1988", "ask_records"),
])
def test_disclosure_plus_routine_question_is_private_even_when_the_model_says_routine(text, model_intent):
    result = decide(text, ranking((model_intent, 0.99), ("greet", 0.01)))
    assert result.decision == DECISION_PRIVATE
    assert result.intent.startswith("disclose_")
    assert result.model_intent == model_intent


@pytest.mark.parametrize("text,model_intent", [
    ("Do you offer HIV testing?", "ask_services"),
    ("how do I request a refill?", "ask_prescription_refill"),
])
def test_general_question_about_a_service_is_routine(text, model_intent):
    result = decide(text, ranking((model_intent, 0.97), ("disclose_diagnosis_results", 0.02)))
    assert result.decision == DECISION_ANSWER and result.intent == model_intent


def test_low_confidence_with_health_content_fails_towards_private():
    result = decide("hiv testing?? when", ranking(("ask_opening_hours", 0.5), ("ask_services", 0.45), ("greet", 0.05)))
    assert result.decision == DECISION_PRIVATE
    assert "low_confidence_health" in result.reasons


def test_low_confidence_without_health_content_is_doubt_and_goes_private():
    # No positive evidence of a routine question: a person reads it, never "please rephrase".
    result = decide("the thing from before", ranking(("ask_records", 0.3), ("greet", 0.3), ("goodbye", 0.2),
                                                     ("disclose_symptoms", 0.1)))
    assert result.decision == DECISION_PRIVATE and result.intent == "disclose_symptoms"
    assert "low_confidence" in result.reasons and result.review


def test_sensitive_mass_with_health_content_escalates_a_routine_top_intent():
    result = decide("appointment about my fever", ranking(("book_appointment", 0.8), ("disclose_symptoms", 0.2)))
    assert result.decision == DECISION_PRIVATE


def test_sensitive_intent_is_private():
    result = decide("i feel off lately", ranking(("disclose_mental_health", 0.8), ("greet", 0.2)))
    assert result.decision == DECISION_PRIVATE and result.intent == "disclose_mental_health"


@pytest.mark.parametrize("text,metadata,reason", [
    ("", None, "empty"),
    ("   \n\t ", None, "empty"),
    ("", {"attachments": [{"type": "image"}]}, "attachment_only"),
    ("😀😀🎉", None, "no_text"),
    ("!!!???", None, "no_text"),
])
def test_unusable_input_gets_a_polite_answer(text, metadata, reason):
    result = decide(text, CONFIDENT_ROUTINE, metadata)
    assert result.decision == DECISION_ANSWER
    assert result.intent == "out_of_scope" and reason in result.reasons


def test_other_language_is_answered_with_the_unsupported_language_reply():
    result = decide("bonjour je voudrais un rendez-vous", ranking(("book_appointment", 0.6), ("greet", 0.4)))
    assert result.decision == DECISION_ANSWER
    assert result.language == "other" and "unsupported_language" in result.reasons


def test_other_language_crisis_is_still_crisis():
    assert decide("je veux mourir", CONFIDENT_ROUTINE).decision == DECISION_CRISIS


def test_long_message_with_health_content_is_private_and_without_it_is_answered():
    long_symptoms = "I have had a terrible headache and dizziness for days. " * 60
    assert len(long_symptoms) > DecisionSettings().max_chars
    assert decide(long_symptoms, CONFIDENT_ROUTINE).decision == DECISION_PRIVATE
    long_noise = "blah blah and so on and so forth " * 200
    result = decide(long_noise, CONFIDENT_ROUTINE)
    assert result.decision == DECISION_PRIVATE and "too_long" in result.reasons


def test_crisis_beyond_the_length_limit_is_still_found():
    text = "sorry for the long message. " * 300 + " i want to end my life"
    assert len(text) > DecisionSettings().max_chars
    assert decide(text, CONFIDENT_ROUTINE).decision == DECISION_CRISIS


def test_nlu_fallback_entry_in_the_ranking_is_ignored():
    result = decide("when are you open", ranking(("nlu_fallback", 0.45), ("ask_opening_hours", 0.9)))
    assert result.intent == "ask_opening_hours" and result.decision == DECISION_ANSWER


def test_no_ranking_at_all_is_doubt_not_a_crash():
    result = decide("hello", [])
    assert result.decision == DECISION_PRIVATE and "low_confidence" in result.reasons


def test_language_follows_the_message_and_the_hint():
    assert decide("wann habt ihr offen", CONFIDENT_ROUTINE).language == "de"
    assert decide("ok", CONFIDENT_ROUTINE, {"language": "es"}).language == "es"


def test_settings_from_component_config_ignores_unknown_keys():
    settings = DecisionSettings.from_config({"low_confidence": 0.6, "name": "triage.rasa.component.TriageDecider"})
    assert settings.low_confidence == 0.6


SENSITIVITY = {"answer_threshold": 0.4, "crisis_threshold": 0.7}


def sensitivity(answer, private, crisis):
    return {"probabilities": {"answer": answer, "private": private, "crisis": crisis}, **SENSITIVITY}


def test_the_sensitivity_classifier_vetoes_a_confident_routine_reading():
    result = decide("something about the thing on my arm", CONFIDENT_ROUTINE, sensitivity=sensitivity(0.2, 0.75, 0.05))
    assert result.decision == DECISION_PRIVATE and "sensitivity_private" in result.reasons and result.review


def test_the_sensitivity_classifier_raises_a_crisis():
    result = decide("cant take this anymore tonight is the night", CONFIDENT_ROUTINE,
                    sensitivity=sensitivity(0.05, 0.15, 0.8))
    assert result.decision == DECISION_CRISIS and result.intent in ("crisis_self_harm", "crisis_medical_emergency")


def test_a_routine_reading_both_models_agree_on_is_answered():
    result = decide("when are you open", CONFIDENT_ROUTINE, sensitivity=sensitivity(0.9, 0.08, 0.02))
    assert result.decision == DECISION_ANSWER


@pytest.mark.parametrize("text", ["do i need to see a doctor first or can i book the nurse directly",
                                  "how can i avoid the queue at reception", "is there a support line for billing"])
def test_logistics_near_the_advice_phrases_is_still_answered(text):
    assert decide(text, CONFIDENT_ROUTINE).decision == DECISION_ANSWER


def test_the_sensitivity_classifier_can_never_lower_a_decision():
    # Red flags and a sensitive DIET reading stand, however sure the second reading is of "answer".
    routine_reading = sensitivity(0.99, 0.005, 0.005)
    assert decide("i want to kill myself", CONFIDENT_ROUTINE, sensitivity=routine_reading).decision == DECISION_CRISIS
    sensitive = ranking(("disclose_symptoms", 0.9), ("greet", 0.1))
    assert decide("i feel off", sensitive, sensitivity=routine_reading).decision == DECISION_PRIVATE


@pytest.mark.parametrize("text", [
    "can ibuprofen cause stomach ulcers?",
    "What is the best treatment for eczema?",
    "is it safe to take tylenol while pregnant",
    "was kann ich gegen kopfschmerzen tun",
    "¿qué puedo tomar para la fiebre?",
    "какво да пия за температура",
    # prevention, support for a condition, whether it needs a doctor: names no word the lists know
    "how can i prevent shingles",
    "where to find support for people with prader willi",
    "do i need to see a doctor for a sprained thumb",
    "wie kann man gürtelrose vorbeugen",
    "como prevenir la gota",
    "как да се предпазя от херпес зостер",
])
def test_medical_advice_requests_are_never_answered(text):
    # Even when the model is sure it read a routine question: staff answer medical questions.
    result = decide(text, CONFIDENT_ROUTINE)
    assert result.decision == DECISION_PRIVATE
