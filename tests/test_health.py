"""Health-content signals: service questions stay routine, disclosures do not."""
import pytest

from triage.health import analyze

DISCLOSURES = [
    ("I need a refill of my metformin", "disclose_medication"),
    ("book me in about the lump in my breast", "disclose_symptoms"),
    ("can you tell me my covid result, DOB 04/12/1988", "disclose_identifiers_health"),
    ("I need an appt for my back pain", "disclose_symptoms"),
    ("mis resultados de sangre", "disclose_diagnosis_results"),
    ("ich habe seit 3 Tagen Fieber", "disclose_symptoms"),
    ("my anxiety is really bad", "disclose_mental_health"),
    ("I think I'm pregnant", "disclose_pregnancy_sexual_health"),
    ("i drink too much alcohol", "disclose_substance_use"),
    ("need more of my sertraline", "disclose_medication"),
]

GENERAL = [
    "Do you offer HIV testing?",
    "how do I request a refill?",
    "when is the diabetes clinic open",
    "can I get tested for HIV",
    "can I book a flu shot",
    "what number should i ring to talk to reception",
    "I'll be late for my appointment",
    "in der Regel komme ich montags",
    "sucht ihr noch Personal",
    "my car had a breakdown, can I reschedule",
    "I'm expecting a call back",
    "do you take AOK insurance",
    # Bulgarian logistics with health words: "болница" is a hospital, not pain (бол-), and
    # a vaccine "против" an illness names the service.
    "трябва ми епикризата от болницата",
    "запишете ме за ваксина против грип",
]


@pytest.mark.parametrize("text,intent", DISCLOSURES)
def test_personal_health_disclosure(text, intent):
    signals = analyze(text)
    assert signals.is_disclosure
    assert signals.disclosure_intent() == intent


@pytest.mark.parametrize("text", GENERAL)
def test_general_question_is_not_a_disclosure(text):
    assert not analyze(text).is_disclosure


def test_service_mentions_still_count_as_health_content():
    # The fail-safe uses this: a low-confidence message naming a condition goes private.
    assert analyze("Do you offer HIV testing?").has_health_content
    assert not analyze("where do I park").has_health_content


def test_signals_never_carry_message_text():
    signals = analyze("my metformin ran out, DOB 01/02/1980")
    assert "metformin" not in repr(signals)
    assert "1980" not in repr(signals)
