"""Retention and "forget me": removing patient text while keeping the audit trail.

The audit metadata and its hash chain stay (HIPAA keeps documentation for six
years, 45 CFR 164.316(b)(2)); conversation events and case message text go.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import select, update

from triage import db
from triage.cases import RESOLVED
from triage.db import utcnow
from triage.handoff import Services

DEFAULT_CONVERSATION_DAYS = 30
DEFAULT_CASE_MESSAGE_DAYS = 30
# What a patient can write to have their conversation deleted (matched whole, any case).
FORGET_COMMANDS = {"/forget", "/forget me", "forget me", "delete my data", "delete my messages",
                   "/vergessen", "vergiss mich", "lösche meine daten", "loesche meine daten",
                   "/olvidar", "olvídame", "olvidame", "borra mis datos", "borrar mis datos"}


def is_forget_command(text: str) -> bool:
    return " ".join((text or "").lower().split()).strip(" .!") in FORGET_COMMANDS


@dataclass
class Policy:
    conversation_days: int = DEFAULT_CONVERSATION_DAYS
    case_message_days: int = DEFAULT_CASE_MESSAGE_DAYS

    @classmethod
    def from_clinic(cls, clinic) -> "Policy":
        settings = clinic.get("retention", default={}) or {}
        return cls(int(settings.get("conversation_days", DEFAULT_CONVERSATION_DAYS)),
                   int(settings.get("case_message_days", DEFAULT_CASE_MESSAGE_DAYS)))


def purge(svc: Services, tracker_store, policy: Policy, actor: str, now: Optional[dt.datetime] = None) -> dict:
    now = now or utcnow()
    events = tracker_store.purge_older_than(policy.conversation_days, now) if tracker_store else 0
    cutoff = now - dt.timedelta(days=policy.case_message_days)
    with svc.cases.engine.begin() as connection:
        resolved_ids = select(db.cases.c.id).where(db.cases.c.status == RESOLVED)
        messages = connection.execute(update(db.case_messages).where(
            db.case_messages.c.ts < cutoff, db.case_messages.c.body_sealed.isnot(None),
            db.case_messages.c.case_id.in_(resolved_ids)).values(body_sealed=None)).rowcount
    review = svc.review.purge_older_than(now - dt.timedelta(days=policy.conversation_days))
    result = {"tracker_events_deleted": events, "case_messages_cleared": messages, "review_items_deleted": review,
              "conversation_days": policy.conversation_days, "case_message_days": policy.case_message_days}
    svc.audit.append("retention_purged", actor=actor, outcome="ok", details=result)
    return result


def forget(svc: Services, tracker_store, channel: str, sender_id: str, actor: str) -> dict:
    """Removes one sender's conversation and case text; the cases' metadata stay."""
    events = tracker_store.forget(sender_id) if tracker_store else 0
    ref = svc.cases.sender_ref(channel, sender_id)
    with svc.cases.engine.begin() as connection:
        case_ids = [row.id for row in connection.execute(select(db.cases.c.id).where(db.cases.c.sender_ref == ref))]
        messages = connection.execute(update(db.case_messages).where(
            db.case_messages.c.case_id.in_(case_ids), db.case_messages.c.body_sealed.isnot(None))
            .values(body_sealed=None)).rowcount if case_ids else 0
    review = svc.review.forget(channel, sender_id)
    result = {"tracker_events_deleted": events, "case_messages_cleared": messages, "cases": len(case_ids),
              "review_items_deleted": review}
    svc.audit.append("forgotten", actor=actor, channel=channel, outcome="ok", details=result)
    return result
