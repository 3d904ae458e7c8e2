"""Patient-message triage for Rasa: decision, red flags, clinic facts, CLI."""

DECISION_ANSWER = "answer"
DECISION_PRIVATE = "private"
DECISION_CRISIS = "crisis"
DECISIONS = (DECISION_ANSWER, DECISION_PRIVATE, DECISION_CRISIS)
