"""The handoff flow around the Rasa conversation: escalate and hold (triage/handback.py
gives the conversation back).

- ``escalate``, the one public way to escalate a message (the in-server NLG for
  ``utter_escalate``, and for ``utter_answer`` should a routine rule or the core
  fallback meet an escalation; Messenger comments, X mentions, the legacy
  action_escalate), gives the private or crisis reply and opens the case with its
  staff notice, audit entry and review queueing, or spools it when the database is
  down; action_escalate then pauses the conversation.
- ``intercept`` (called by our input channels before Rasa sees a message)
  attaches messages sent while a case holds the conversation, and answers a
  crisis even then: a paused bot must not stay silent to "I want to die".
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any, List, Mapping, Optional, Tuple

from triage import DECISION_CRISIS, DECISION_PRIVATE, clinic as clinic_config, redflags, retention, services, spool
from triage.cases import NORMAL
from triage.decision import Decision
from triage.replies import Replies, reply_for
from triage.services import Services

logger = logging.getLogger(__name__)

def escalate(sender_id: str, channel: str, decision: Decision, text: str) -> Tuple[str, Optional[str]]:
    """The one way a message is escalated: the private or crisis reply and the case behind
    it, (reply, case id). Every path uses it: the NLG's utter_escalate and utter_answer, the
    legacy action_escalate, Messenger comments and X mentions (DMs reach it through the NLG).

    Anything that is not a crisis is escalated as private, so a rule that sends a
    routine decision here never downgrades it. The reply does not depend on the
    database: if the case cannot be recorded the patient still gets it, and the
    escalation waits, sealed, in the spool until the worker can record it (the case
    id is then None)."""
    if not decision.is_crisis:
        decision = replace(decision, decision=DECISION_PRIVATE)
    reply = reply_for(decision.as_dict())
    try:
        return reply, _record(services.default(), sender_id, channel, decision, text)
    except Exception as exc:  # noqa: BLE001
        try:
            spool.put(sender_id, channel, decision.as_dict(), text)
        except Exception as spool_exc:  # noqa: BLE001
            logger.critical("escalation could not be recorded (%s) nor spooled (%s): no staff case for "
                            "this %s %s message", type(exc).__name__, type(spool_exc).__name__, channel,
                            decision.decision)
        else:
            logger.error("escalation could not be recorded (%s): spooled (sealed) in %s; the worker opens "
                         "the staff case when the database answers", type(exc).__name__, spool.directory())
        return reply, None


def record_spooled(svc: Services, entry: Mapping[str, Any]) -> str:
    """The worker's way back into ``escalate`` for an escalation the spool kept: the patient
    had the reply when it was spooled, so only the recording step is left (case, notice,
    audit, review). It raises rather than spooling again: the spool still holds the file
    and retries it (spool.drain)."""
    return _record(svc, entry["sender_id"], entry["channel"], Decision.from_dict(entry["triage"]), entry["text"])


def _record(svc: Services, sender_id: str, channel: str, decision: Decision, text: str) -> str:
    """The case, the `replied` audit entry and review queueing for an escalated message."""
    case_id = _open_or_add_to_case(svc, sender_id, channel, decision, text)
    svc.audit.append("replied", case_id=case_id, channel=channel, intent=decision.intent,
                     confidence=decision.confidence, outcome=decision.decision)
    _queue_for_review(svc, sender_id, channel, decision, text)
    return case_id


def _open_or_add_to_case(svc: Services, sender_id: str, channel: str, decision: Decision, text: str) -> str:
    """Opens a case (or adds to the sender's open one) and queues the staff notice."""
    existing = svc.cases.active_case(channel, sender_id)
    if existing:
        svc.cases.attach(existing["id"], text, channel=channel)
        svc.cases.set_paused(existing["id"], True)
        if decision.is_crisis and existing["priority"] == NORMAL:
            svc.cases.make_urgent(existing["id"], channel)
            svc.notifier.enqueue(svc.cases.get(existing["id"]), "case_urgent")
        return existing["id"]
    case_id = svc.cases.open_case(channel, sender_id, decision.as_dict(), text)
    svc.notifier.enqueue(svc.cases.get(case_id))
    return case_id


def answer(sender_id: str, channel: str, decision: Decision, text: str) -> str:
    """A routine message's reply, queueing it for the admins when the model was unsure.
    Used by the in-server NLG."""
    if decision.review:
        _queue_for_review(services.default(), sender_id, channel, decision, text)
    return reply_for(decision.as_dict(), text)


def _queue_for_review(svc: Services, sender_id: str, channel: str, decision: Decision, text: str) -> None:
    """Queues a message the model was unsure about for the admins, de-identified.
    Never fails the patient's turn."""
    if not decision.review:
        return
    source = "nlu_fallback" if decision.intent == "nlu_fallback" else "low_confidence"
    try:
        svc.review.add(source, text, decision.as_dict(), channel=channel, sender_id=sender_id)
    except Exception as exc:  # noqa: BLE001
        logger.error("could not queue a message for review (%s)", type(exc).__name__)


def active_case_id(svc: Services, sender_id: str, channel: str) -> Optional[str]:
    case = svc.cases.active_case(channel, sender_id)
    return case["id"] if case else None


@dataclass
class Intercepted:
    replies: List[str]
    consumed: bool = False  # True: the message was handled here and must not reach Rasa
    case_id: Optional[str] = None  # the sender's active case before this message
    decision: Optional[str] = None  # of the replies, for the outbox's order (a crisis goes first)


def intercept(svc: Services, sender_id: str, channel: str, text: str,
              metadata: Optional[Mapping[str, Any]] = None) -> Intercepted:
    """Runs before Rasa handles a message; returns texts to send the patient first."""
    if retention.is_forget_command(text):
        from triage.rasa import tracker_store  # Rasa itself, which the action server need not load

        phrase = retention.patient_forget(svc, tracker_store.from_endpoints(), channel, sender_id, metadata)
        language = (svc.cases.active_case(channel, sender_id) or {}).get("language")
        replies = Replies(clinic_config.current(), language or clinic_config.current().default_language)
        return Intercepted([replies.phrase(phrase)], consumed=True)
    case, note_pending = svc.cases.standing(channel, sender_id)
    case_id = case["id"] if case else None
    if case and case["paused"]:
        if not text and (metadata or {}).get("attachments"):
            text = "[attachment, not stored]"
        svc.cases.attach(case["id"], text, channel=channel)
        if redflags.scan(text):
            if case["priority"] == NORMAL:
                svc.cases.make_urgent(case["id"], channel)
            svc.notifier.enqueue(svc.cases.get(case["id"]), "case_urgent")
            reply = reply_for({"decision": DECISION_CRISIS, "intent": "", "language": case["language"]})
            svc.audit.append("replied", case_id=case["id"], channel=channel, outcome="crisis_followup")
            return Intercepted([reply], consumed=True, case_id=case_id, decision=DECISION_CRISIS)
        # Held by the case, not by Rasa's pause alone: if the pause never reached Rasa (the
        # action server was down), Rasa must still not answer a message staff now own.
        return Intercepted([], consumed=True, case_id=case_id)
    if note_pending and svc.cases.pending_idle_note(channel, sender_id):
        language = (case or {}).get("language") or clinic_config.current().default_language
        return Intercepted([Replies(clinic_config.current(), language).phrase("idle_resumed")], case_id=case_id)
    return Intercepted([], case_id=case_id)
