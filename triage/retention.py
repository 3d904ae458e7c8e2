"""Retention and "forget me": removing patient text while keeping the audit trail.

The audit metadata and its hash chain stay (HIPAA keeps documentation for six
years, 45 CFR 164.316(b)(2)); conversation events and case message text go.

A patient's "forget me" acts only on a sender the channel has authenticated: the
platforms sign their webhooks, sender id included (Messenger, Instagram, X); a REST
message only with a JWT whose subject is that sender (channels/rest.py). Anyone can
type another sender id into a REST body, and must not erase that patient's case.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from sqlalchemy import delete, select, update

from triage import db
from triage.cases import ERASED_BY_ADMIN, ERASED_BY_PATIENT, ERASED_BY_RETENTION, RESOLVED
from triage.db import seen_events, utcnow
from triage.services import Services

DEFAULT_CONVERSATION_DAYS = 30
DEFAULT_CASE_MESSAGE_DAYS = 30
# The webhook dedupe table (db.seen_events, written by channels/webhook.py) must outlive the platforms'
# redelivery: Meta retries a failed webhook for up to about a day, X for minutes; a week
# is well past both. clinic.yml retention.seen_event_days.
DEFAULT_SEEN_EVENT_DAYS = 7
# What a patient can write to have their conversation deleted (matched whole, any case).
FORGET_COMMANDS = {"/forget", "/forget me", "forget me", "delete my data", "delete my messages",
                   "/vergessen", "vergiss mich", "lösche meine daten", "loesche meine daten",
                   "/olvidar", "olvídame", "olvidame", "borra mis datos", "borrar mis datos"}


# Channels whose webhook signature covers the sender id: only the account itself can
# send as that id (channels/messenger.py, channels/x_dm.py).
SIGNED_SENDER_CHANNELS = frozenset({"facebook", "instagram", "x"})
REST_CHANNEL = "rest"
# Message metadata the REST channel sets when the request's JWT subject is the sender;
# it drops the key from whatever the client itself sent.
SENDER_AUTHENTICATED = "sender_authenticated"


def is_forget_command(text: str) -> bool:
    return " ".join((text or "").lower().split()).strip(" .!") in FORGET_COMMANDS


def sender_authenticated(channel: str, metadata: Optional[Mapping[str, Any]]) -> bool:
    """True when the channel vouches that the message comes from its sender id."""
    if channel in SIGNED_SENDER_CHANNELS:
        return True
    return channel == REST_CHANNEL and (metadata or {}).get(SENDER_AUTHENTICATED) is True


def patient_forget(svc: Services, tracker_store, channel: str, sender_id: str,
                   metadata: Optional[Mapping[str, Any]]) -> str:
    """A patient's "forget me" through a channel: erased only for an authenticated sender,
    else nothing is touched and the reply says how to ask staff. Returns the reply's phrase key."""
    if not sender_authenticated(channel, metadata):
        svc.audit.append("forgotten", actor="patient", channel=channel, outcome="refused_unauthenticated")
        return "forget_via_staff"
    forget(svc, tracker_store, channel, sender_id, actor="patient")
    return "forgotten"


@dataclass
class RetentionPolicy:
    conversation_days: int = DEFAULT_CONVERSATION_DAYS
    case_message_days: int = DEFAULT_CASE_MESSAGE_DAYS
    seen_event_days: int = DEFAULT_SEEN_EVENT_DAYS

    @classmethod
    def from_clinic(cls, clinic) -> "RetentionPolicy":
        settings = clinic.get("retention", default={}) or {}
        return cls(int(settings.get("conversation_days", DEFAULT_CONVERSATION_DAYS)),
                   int(settings.get("case_message_days", DEFAULT_CASE_MESSAGE_DAYS)),
                   max(1, int(settings.get("seen_event_days", DEFAULT_SEEN_EVENT_DAYS))))


def purge(svc: Services, tracker_store, policy: RetentionPolicy, actor: str, now: Optional[dt.datetime] = None) -> dict:
    now = now or utcnow()
    events = tracker_store.purge_older_than(policy.conversation_days, now) if tracker_store else 0
    cutoff = now - dt.timedelta(days=policy.case_message_days)
    with svc.cases.engine.begin() as connection:
        resolved_ids = select(db.cases.c.id).where(db.cases.c.status == RESOLVED)
        messages = connection.execute(update(db.case_messages).where(
            db.case_messages.c.ts < cutoff, db.case_messages.c.body_sealed.isnot(None),
            db.case_messages.c.case_id.in_(resolved_ids)).values(body_sealed=None, key_id=ERASED_BY_RETENTION)).rowcount
    review = svc.review.purge_older_than(now - dt.timedelta(days=policy.conversation_days))
    with svc.cases.engine.begin() as connection:  # event-id hashes only, but the table must not only grow
        seen = connection.execute(delete(seen_events).where(
            seen_events.c.seen_at < now - dt.timedelta(days=policy.seen_event_days))).rowcount
        # sent or failed outbox rows: no text left, but the sealed recipient id goes with the conversation
        outbound = db.outbound_messages
        finished = connection.execute(delete(outbound).where(
            outbound.c.state != "waiting",
            outbound.c.created_at < now - dt.timedelta(days=policy.conversation_days))).rowcount
    result = {"tracker_events_deleted": events, "case_messages_cleared": messages, "review_items_deleted": review,
              "seen_events_deleted": seen, "outbox_rows_deleted": finished, "conversation_days": policy.conversation_days,
              "case_message_days": policy.case_message_days, "seen_event_days": policy.seen_event_days}
    svc.audit.append("retention_purged", actor=actor, outcome="ok", details=result)
    return result


def forget(svc: Services, tracker_store, channel: str, sender_id: str, actor: str) -> dict:
    """Removes one sender's conversation and case text; the cases' metadata stay.
    ``actor`` "patient" is the patient's own request (only for an authenticated sender:
    ``sender_authenticated``), anything else an administrator's."""
    reason = ERASED_BY_PATIENT if actor == "patient" else ERASED_BY_ADMIN
    events = tracker_store.forget(sender_id) if tracker_store else 0
    ref = svc.cases.sender_ref(channel, sender_id)
    with svc.cases.engine.begin() as connection:
        case_ids = [row.id for row in connection.execute(select(db.cases.c.id).where(db.cases.c.sender_ref == ref))]
        messages = connection.execute(update(db.case_messages).where(
            db.case_messages.c.case_id.in_(case_ids), db.case_messages.c.body_sealed.isnot(None))
            .values(body_sealed=None, key_id=reason)).rowcount if case_ids else 0
    review = svc.review.forget(channel, sender_id)
    result = {"tracker_events_deleted": events, "case_messages_cleared": messages, "cases": len(case_ids),
              "review_items_deleted": review}
    svc.audit.append("forgotten", actor=actor, channel=channel, outcome="ok", details=result)
    return result
