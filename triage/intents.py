"""The intent names the assistant knows, grouped by what the triage does with them.

Routine names are fixed by the batch CLI contract (docs/configuration.md).
domain.yml must list exactly these; a test keeps the two in step.
"""
ROUTINE = (
    "greet",
    "goodbye",
    "thank_you",
    "bot_challenge",
    "ask_opening_hours",
    "ask_visiting_hours",
    "book_appointment",
    "change_appointment",
    "ask_location",
    "ask_contact",
    "ask_billing_insurance",
    "ask_services",
    "ask_prescription_refill",
    "ask_records",
)
SENSITIVE = (
    "disclose_symptoms",
    "disclose_diagnosis_results",
    "disclose_medication",
    "disclose_mental_health",
    "disclose_pregnancy_sexual_health",
    "disclose_substance_use",
    "disclose_identifiers_health",
    # A request for medical information or advice: staff answer it, never the bot.
    "ask_medical_advice",
)
CRISIS = ("crisis_self_harm", "crisis_medical_emergency")
OUT_OF_SCOPE = "out_of_scope"
MEDICAL_ADVICE = "ask_medical_advice"
NLU_FALLBACK = "nlu_fallback"

ALL = ROUTINE + SENSITIVE + CRISIS + (OUT_OF_SCOPE,)
ESCALATING = SENSITIVE + CRISIS

# The sensitive intent a weak crisis reading becomes when it is escalated as private.
PRIVATE_FOR_CRISIS = {
    "crisis_self_harm": "disclose_mental_health",
    "crisis_medical_emergency": "disclose_symptoms",
}


def decision_for(intent: str) -> str:
    """The decision an example of this intent should get (training and evaluation labels)."""
    from triage import DECISION_ANSWER, DECISION_CRISIS, DECISION_PRIVATE

    if intent in CRISIS:
        return DECISION_CRISIS
    if intent in SENSITIVE:
        return DECISION_PRIVATE
    return DECISION_ANSWER


def as_private(intent: str) -> str:
    """The sensitive intent to report for a private decision."""
    if intent in SENSITIVE:
        return intent
    return PRIVATE_FOR_CRISIS.get(intent, "disclose_symptoms")
