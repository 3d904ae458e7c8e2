"""The one triage decision: answer, private or crisis.

``decide`` is a pure function of the message text and the model's intent
ranking. The Rasa component (``triage.component.TriageDecider``) calls it for
the live bot, ``rasa shell`` and ``rasa test``; the batch CLI reaches it through
the same trained pipeline. Layers, in order, each of which can only move a
message towards more care:

1. red flags (deterministic)      -> crisis
2. model is confident of a crisis intent -> crisis
3. unusable input (empty, emoji, attachment only) -> answer with a polite reply;
   a message too long to be a DM -> private if it has health content, else answered
4. model predicts a sensitive intent, or puts enough weight on them -> private
5. personal health disclosure in the text (deterministic) -> private
6. low confidence and any health content -> private
7. otherwise answer (a routine intent, out_of_scope or nlu_fallback)
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from triage import DECISION_ANSWER, DECISION_CRISIS, DECISION_PRIVATE, health, intents, language, redflags
from triage.text import has_letters

Ranking = Sequence[Tuple[str, float]]
# Decisions the model was unsure about; they go to the admins' review queue.
REVIEW_REASONS = {"low_confidence", "low_confidence_health", "sensitive_mass"}


@dataclass(frozen=True)
class Settings:
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
    def from_config(cls, config: Mapping[str, Any]) -> "Settings":
        known = {k: config[k] for k in cls.__dataclass_fields__ if k in config}
        return cls(**known)


@dataclass
class Triage:
    decision: str
    intent: str
    confidence: float
    language: str
    reasons: List[str] = field(default_factory=list)
    model_intent: Optional[str] = None
    model_confidence: float = 0.0
    # Worth an admin's look: the model was unsure (triage.review queues it, de-identified).
    review: bool = False

    def as_dict(self) -> Dict[str, Any]:
        return asdict(self)


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
    settings: Settings = Settings(),
) -> Triage:
    text = text or ""
    ranking = [(name, float(conf)) for name, conf in ranking if name and name != intents.NLU_FALLBACK]
    model_intent, model_conf = ranking[0] if ranking else (None, 0.0)
    lang = language.detect(text, hint=_language_hint(metadata), default=settings.default_language)

    def result(decision: str, intent: str, reason: str, confidence: float = model_conf, **extra) -> Triage:
        review = reason in REVIEW_REASONS or (reason in ("model_routine", "model_sensitive")
                                              and model_conf < settings.low_confidence)
        return Triage(decision, intent, round(confidence, 4), lang, [reason] + extra.get("more", []), model_intent,
                      round(model_conf, 4), review)

    flags = redflags.scan(text)
    if flags:
        return result(DECISION_CRISIS, redflags.crisis_intent(flags), "red_flag", 1.0,
                      more=sorted({f"red_flag:{flag.category}" for flag in flags}))
    if model_intent in intents.CRISIS and model_conf >= settings.crisis_confidence:
        return result(DECISION_CRISIS, model_intent, "model_crisis")

    if not text.strip():
        reason = "attachment_only" if _attachments(metadata) else "empty"
        return result(DECISION_ANSWER, intents.OUT_OF_SCOPE, reason, 1.0)
    if not has_letters(text):
        return result(DECISION_ANSWER, intents.OUT_OF_SCOPE, "no_text", 1.0)

    signals = health.analyze(text)
    if len(text) > settings.max_chars:
        # The model was trained on DMs, not pages: on a wall of text only the
        # deterministic layers are trusted.
        if signals.has_health_content:
            return result(DECISION_PRIVATE, signals.disclosure_intent(), "too_long_with_health")
        return result(DECISION_ANSWER, intents.OUT_OF_SCOPE, "too_long")
    mass = sum(conf for name, conf in ranking if name in intents.ESCALATING)
    best_sensitive = next((name for name, _ in ranking if name in intents.ESCALATING), None)
    if model_intent in intents.ESCALATING:
        # A sensitive reading escalates; only a weak one with no health words at all
        # falls through to "please rephrase", whose reply also points to the private channels.
        if model_conf >= settings.fallback_confidence or signals.has_health_content or mass >= settings.sensitive_mass:
            return result(DECISION_PRIVATE, intents.as_private(model_intent), "model_sensitive")
    if best_sensitive and (
        mass >= settings.sensitive_mass
        or (mass >= settings.sensitive_mass_with_health and signals.has_health_content)
    ):
        return result(DECISION_PRIVATE, intents.as_private(best_sensitive), "sensitive_mass")
    if signals.is_disclosure:
        return result(DECISION_PRIVATE, signals.disclosure_intent(), "health_disclosure")

    if signals.has_health_content and (model_conf < settings.low_confidence or lang == language.OTHER):
        intent = intents.as_private(best_sensitive) if best_sensitive else signals.disclosure_intent()
        return result(DECISION_PRIVATE, intent, "low_confidence_health")
    if lang == language.OTHER:
        return result(DECISION_ANSWER, intents.OUT_OF_SCOPE, "unsupported_language")
    if model_intent is None or model_conf < settings.fallback_confidence:
        return result(DECISION_ANSWER, intents.NLU_FALLBACK, "low_confidence")
    return result(DECISION_ANSWER, model_intent, "model_routine")


def of_parse_data(parse_data: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """The decision stored on a parsed message (what the actions and the NLG act on).
    Without one the message cannot be known to be routine, so it is treated as private."""
    triage = dict((parse_data or {}).get("triage") or {})
    if not triage.get("decision"):
        triage.update(decision=DECISION_PRIVATE, reasons=["no_triage"])
    return triage
