"""The one triage decision: answer, private or crisis.

``decide`` is a pure function of the message text and the model's intent
ranking. The Rasa component (``triage.rasa.component.TriageDecider``) calls it for
the live bot, ``rasa shell`` and ``rasa test``; the batch CLI reaches it through
the same trained pipeline. Layers, in order, each of which can only move a
message towards more care:

1. red flags (deterministic)      -> crisis
2. DIET is confident of a crisis intent, or the sensitivity classifier is -> crisis
3. unusable input (empty, emoji, attachment only) -> answer with a polite reply;
   a message too long to be a DM -> private
4. DIET predicts a sensitive intent, or puts enough weight on them -> private
5. personal health disclosure, or a request for medical advice, in the text
   (deterministic) -> private
6. the sensitivity classifier does not find it routine -> private
7. low confidence and any health content -> private
8. an automatic answer needs positive evidence: DIET confident of a routine intent
   (or out_of_scope); anything less is doubt, and doubt is private
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from triage import DECISION_ANSWER, DECISION_CRISIS, DECISION_PRIVATE, health, intents, language, redflags
from triage.text import has_letters

Ranking = Sequence[Tuple[str, float]]
# Decisions the model was unsure about; they go to the admins' review queue.
REVIEW_REASONS = {"low_confidence", "low_confidence_health", "sensitive_mass", "sensitivity_private"}


@dataclass(frozen=True)
class DecisionSettings:
    # Below this the model's routine reading is not trusted when health words are present.
    low_confidence: float = 0.75
    # Below this (and with no health content) the bot asks the patient to rephrase.
    fallback_confidence: float = 0.45
    # The model alone calls a crisis only when at least this sure (red flags need no model).
    crisis_confidence: float = 0.5
    # Summed probability of sensitive and crisis intents that escalates on its own...
    sensitive_mass: float = 0.6
    # ...or together with any health content.
    sensitive_mass_with_health: float = 0.15
    # Longer messages are not read for routine questions; with health content they go private.
    max_chars: int = 2000
    default_language: str = "en"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "DecisionSettings":
        known = {k: config[k] for k in cls.__dataclass_fields__ if k in config}
        return cls(**known)


@dataclass(frozen=True)
class Decision:
    """One message's decision. Stored on the parsed message as ``parse_data["triage"]``
    (``as_dict``: that JSON shape is the CLI's and rasa test's contract) and read back
    with ``of_parse_data``."""
    decision: str  # DECISION_ANSWER, DECISION_PRIVATE or DECISION_CRISIS
    intent: Optional[str] = None
    confidence: Optional[float] = None
    language: Optional[str] = None
    reasons: List[str] = field(default_factory=list)
    model_intent: Optional[str] = None
    model_confidence: float = 0.0
    # Worth an admin's look: the model was unsure (triage.review queues it, de-identified).
    review: bool = False

    @property
    def is_crisis(self) -> bool:
        return self.decision == DECISION_CRISIS

    @property
    def escalates(self) -> bool:
        return self.decision != DECISION_ANSWER

    def as_dict(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Decision":
        """From ``as_dict``'s shape; keys it does not know are ignored, missing ones take
        the defaults, and no decision at all reads as private (never as routine)."""
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        if not known.get("decision"):
            known.update(decision=DECISION_PRIVATE, reasons=["no_triage"])
        known["reasons"] = list(known.get("reasons") or [])
        return cls(**known)


def _attachments(metadata: Optional[Mapping[str, Any]]) -> bool:
    return bool(metadata and metadata.get("attachments"))


def _language_hint(metadata: Optional[Mapping[str, Any]]) -> Optional[str]:
    if not metadata:
        return None
    hint = metadata.get("language") or metadata.get("locale") or ""
    return str(hint)[:2].lower() or None


def decide(
    text: Optional[str],
    ranking: Ranking,
    metadata: Optional[Mapping[str, Any]] = None,
    settings: DecisionSettings = DecisionSettings(),
    sensitivity: Optional[Mapping[str, Any]] = None,
) -> Decision:
    """``sensitivity`` is SensitivityClassifier's output: its probabilities per decision and
    the thresholds it chose at training time. Without it only DIET and the rules decide."""
    text = text or ""
    ranking = [(name, float(conf)) for name, conf in ranking if name and name != intents.NLU_FALLBACK]
    model_intent, model_conf = ranking[0] if ranking else (None, 0.0)
    lang = language.detect(text, hint=_language_hint(metadata), default=settings.default_language)

    def result(decision: str, intent: str, reason: str, confidence: float = model_conf, **extra) -> Decision:
        review = reason in REVIEW_REASONS or (reason in ("model_routine", "model_sensitive")
                                              and model_conf < settings.low_confidence)
        return Decision(decision, intent, round(confidence, 4), lang, [reason] + extra.get("more", []), model_intent,
                      round(model_conf, 4), review)

    flags = redflags.scan(text)
    if flags:
        return result(DECISION_CRISIS, redflags.crisis_intent(flags), "red_flag", 1.0,
                      more=sorted({f"red_flag:{flag.category}" for flag in flags}))
    if model_intent in intents.CRISIS and model_conf >= settings.crisis_confidence:
        return result(DECISION_CRISIS, model_intent, "model_crisis")
    p_answer, p_crisis, answer_threshold, crisis_threshold = _sensitivity(sensitivity)
    if p_crisis >= crisis_threshold and has_letters(text):
        crisis = next((name for name, _ in ranking if name in intents.CRISIS), intents.CRISIS[0])
        return result(DECISION_CRISIS, crisis, "sensitivity_crisis", p_crisis)

    if not text.strip():
        reason = "attachment_only" if _attachments(metadata) else "empty"
        return result(DECISION_ANSWER, intents.OUT_OF_SCOPE, reason, 1.0)
    if not has_letters(text):
        return result(DECISION_ANSWER, intents.OUT_OF_SCOPE, "no_text", 1.0)

    signals = health.analyze(text)
    if len(text) > settings.max_chars:
        # The model was trained on DMs, not pages: a wall of text is not read as a routine
        # question. It is most often a story, and a person reads it.
        reason = "too_long_with_health" if signals.has_health_content else "too_long"
        return result(DECISION_PRIVATE, signals.disclosure_intent(), reason)
    mass = sum(conf for name, conf in ranking if name in intents.ESCALATING)
    best_sensitive = next((name for name, _ in ranking if name in intents.ESCALATING), None)
    if model_intent in intents.ESCALATING:
        # A sensitive reading escalates; a weak one with no health words at all falls through
        # to the layers below, where doubt still goes private.
        if model_conf >= settings.fallback_confidence or signals.has_health_content or mass >= settings.sensitive_mass:
            return result(DECISION_PRIVATE, intents.as_private(model_intent), "model_sensitive")
    if best_sensitive and (
        mass >= settings.sensitive_mass
        or (mass >= settings.sensitive_mass_with_health and signals.has_health_content)
    ):
        return result(DECISION_PRIVATE, intents.as_private(best_sensitive), "sensitive_mass")
    if signals.is_disclosure:
        return result(DECISION_PRIVATE, signals.disclosure_intent(), "health_disclosure")
    if signals.advice:
        return result(DECISION_PRIVATE, intents.MEDICAL_ADVICE, "medical_advice")

    private_intent = intents.as_private(best_sensitive) if best_sensitive else signals.disclosure_intent()
    if p_answer < answer_threshold and lang != language.OTHER:
        return result(DECISION_PRIVATE, private_intent, "sensitivity_private", 1.0 - p_answer)
    if signals.has_health_content and (model_conf < settings.low_confidence or lang == language.OTHER):
        return result(DECISION_PRIVATE, private_intent, "low_confidence_health")
    if lang == language.OTHER:
        return result(DECISION_ANSWER, intents.OUT_OF_SCOPE, "unsupported_language")
    if model_intent is None or model_conf < settings.fallback_confidence:
        # No positive evidence that this is a routine question: a person reads it.
        return result(DECISION_PRIVATE, private_intent, "low_confidence")
    return result(DECISION_ANSWER, model_intent, "model_routine")


def _sensitivity(sensitivity: Optional[Mapping[str, Any]]) -> Tuple[float, float, float, float]:
    """(P(answer), P(crisis), answer threshold, crisis threshold); neutral without a reading."""
    if not sensitivity:
        return 1.0, 0.0, 0.0, 1.1
    probabilities = sensitivity.get("probabilities") or {}
    return (float(probabilities.get(DECISION_ANSWER, 1.0)), float(probabilities.get(DECISION_CRISIS, 0.0)),
            float(sensitivity.get("answer_threshold", 0.0)), float(sensitivity.get("crisis_threshold", 1.1)))


def of_parse_data(parse_data: Optional[Mapping[str, Any]]) -> Decision:
    """The decision stored on a parsed message (what the actions and the NLG act on).
    Without one the message cannot be known to be routine, so it is treated as private."""
    return Decision.from_dict((parse_data or {}).get("triage") or {})
