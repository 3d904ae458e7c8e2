"""Handoff cases: one per escalation, worked by staff, open -> claimed -> resolved.

A case holds no plaintext: the sender's channel id is a keyed HMAC reference
(plus a sealed copy, needed to reply and to resume the conversation), and the
intent and every message are sealed with the key store.
"""
from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple

from sqlalchemy import bindparam, case as sql_case, insert, or_, select, update
from sqlalchemy.engine import Engine

from triage import DECISION_CRISIS, db, intents
from triage.db import aware, utcnow
from triage.audit import AuditLog
from triage.keys import KeyStore

OPEN, CLAIMED, RESOLVED = "open", "claimed", "resolved"
HANDED_BACK = "handed_back"  # resume reason: the Messenger staff inbox passed the thread back to us
URGENT, NORMAL = "urgent", "normal"
DEFAULT_SLA_MINUTES = {URGENT: 15, NORMAL: 240}
OUTCOMES = ("contacted", "callback_done", "referred", "emergency_services", "no_response", "duplicate",
            "not_needed", "other")

# Why a case message's text is gone. Kept in the row's key_id, which names no key once
# the text is erased (by triage/retention.py; no schema change); Cases.show labels the
# message with it.
ERASED_BY_RETENTION, ERASED_BY_PATIENT, ERASED_BY_ADMIN = "erased:retention", "erased:patient", "erased:admin"
REMOVED_LABELS = {ERASED_BY_RETENTION: "removed by retention",
                  ERASED_BY_PATIENT: "removed at the patient's request",
                  ERASED_BY_ADMIN: "removed by an administrator (forget)"}
REMOVED_UNKNOWN = "removed"  # erased before reasons were kept


def removed_label(key_id: Optional[str]) -> str:
    """What staff see in place of erased text: why it was erased."""
    return REMOVED_LABELS.get(key_id or "", REMOVED_UNKNOWN)


class CaseError(RuntimeError):
    """A case command that cannot be done; the message says why."""


@dataclass(frozen=True)
class CasePolicy:
    sla_minutes: Mapping[str, int]
    idle_resume_minutes: Optional[int] = None

    @classmethod
    def from_clinic(cls, clinic) -> "CasePolicy":
        settings = clinic.get("escalation", default={}) or {}
        sla = {**DEFAULT_SLA_MINUTES, **(settings.get("sla_minutes") or {})}
        idle = settings.get("idle_resume_minutes")
        return cls({k: int(v) for k, v in sla.items()}, int(idle) if idle else None)


# Run before every patient message reaches Rasa: built once, not on every call.
_ACTIVE_CASE = (select(db.cases).where(db.cases.c.sender_ref == bindparam("ref"),
                                       db.cases.c.status.in_([OPEN, CLAIMED]))
                .order_by(db.cases.c.created_at.desc()).limit(1))
_IDLE_NOTE = select(db.cases.c.id).where(db.cases.c.sender_ref == bindparam("ref"),
                                         db.cases.c.idle_note_pending.is_(True)).limit(1)
# Both questions every patient message asks, in one read: the active case, and whether
# an idle-resumed case still owes its note.
_STANDING = (select(db.cases).where(db.cases.c.sender_ref == bindparam("ref"),
                                    or_(db.cases.c.status.in_([OPEN, CLAIMED]), db.cases.c.idle_note_pending.is_(True)))
             .order_by(db.cases.c.created_at.desc()))


def sender_ref(keys: KeyStore, channel: str, sender_id: str) -> str:
    """The pseudonymous sender reference: a keyed HMAC of channel and user id."""
    return keys.pseudonym("sender", channel, sender_id)


class Cases:
    def __init__(self, keys: KeyStore, audit: AuditLog, policy: CasePolicy = CasePolicy(DEFAULT_SLA_MINUTES),
                 engine: Optional[Engine] = None) -> None:
        self.keys = keys
        self.audit = audit
        self.policy = policy
        self.engine = engine or audit.engine

    def sender_ref(self, channel: str, sender_id: str) -> str:
        return sender_ref(self.keys, channel, sender_id)

    # -- patient side --------------------------------------------------------

    def open_case(self, channel: str, sender_id: str, triage: Mapping[str, Any], text: str) -> str:
        """Creates the case with its first (sealed) message and audits the escalation."""
        now = utcnow()
        case_id = str(uuid.uuid4())
        priority = URGENT if triage.get("decision") == DECISION_CRISIS else NORMAL
        intent = triage.get("intent") or ""
        with self.engine.begin() as connection:
            connection.execute(insert(db.cases).values(
                id=case_id, channel=channel, sender_ref=self.sender_ref(channel, sender_id),
                sender_sealed=self.keys.seal(sender_id, aad=f"case-sender:{case_id}").token,
                decision=triage.get("decision"), intent_sealed=self.keys.seal(intent, aad=f"case-intent:{case_id}").token,
                confidence=triage.get("confidence"), language=triage.get("language"), priority=priority,
                status=OPEN, created_at=now, sla_due_at=now + dt.timedelta(minutes=self.policy.sla_minutes[priority]),
                last_activity_at=now, paused=True, idle_note_pending=False, key_id=self.keys.active,
            ))
            self._add_message(connection, case_id, "patient", text, now)
        self.audit.append("escalated", case_id=case_id, channel=channel, intent=intent,
                          confidence=triage.get("confidence"), outcome=priority,
                          details={"decision": triage.get("decision"), "reasons": triage.get("reasons", [])})
        return case_id

    def _add_message(self, connection, case_id: str, author: str, text: str, when: dt.datetime) -> None:
        sealed = self.keys.seal(text, aad=f"case-message:{case_id}")
        connection.execute(insert(db.case_messages).values(
            case_id=case_id, ts=when, author=author, key_id=sealed.key_id, body_sealed=sealed.token))

    def active_case(self, channel: str, sender_id: str) -> Optional[Dict[str, Any]]:
        """The sender's open or claimed case, if any."""
        with db.reading(self.engine) as connection:
            row = connection.execute(_ACTIVE_CASE, {"ref": self.sender_ref(channel, sender_id)}).first()
        return dict(row._mapping) if row else None

    def standing(self, channel: str, sender_id: str) -> Tuple[Optional[Dict[str, Any]], bool]:
        """The sender's open or claimed case (as ``active_case``), and whether a note is pending
        (then ``pending_idle_note`` takes it)."""
        with db.reading(self.engine) as connection:
            rows = [dict(row._mapping) for row in connection.execute(
                _STANDING, {"ref": self.sender_ref(channel, sender_id)})]
        active = next((row for row in rows if row["status"] in (OPEN, CLAIMED)), None)
        return active, any(row["idle_note_pending"] for row in rows)

    def attach(self, case_id: str, text: str, author: str = "patient", channel: Optional[str] = None,
               event: str = "message_attached", actor: str = "system") -> None:
        now = utcnow()
        with self.engine.begin() as connection:
            self._add_message(connection, case_id, author, text, now)
            connection.execute(update(db.cases).where(db.cases.c.id == case_id).values(last_activity_at=now))
        self.audit.append(event, actor=actor, case_id=case_id, channel=channel, details={"author": author.split(":")[0]})

    def set_paused(self, case_id: str, paused: bool) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(db.cases).where(db.cases.c.id == case_id).values(paused=paused))

    def make_urgent(self, case_id: str, channel: Optional[str]) -> None:
        now = utcnow()
        with self.engine.begin() as connection:
            connection.execute(update(db.cases).where(db.cases.c.id == case_id).values(
                priority=URGENT, decision=DECISION_CRISIS, renotified_at=None,
                sla_due_at=now + dt.timedelta(minutes=self.policy.sla_minutes[URGENT])))
        self.audit.append("crisis_followup", case_id=case_id, channel=channel, outcome=URGENT)

    def pending_idle_note(self, channel: str, sender_id: str) -> Optional[str]:
        """Takes (clears) the note flag of the sender's idle-resumed case, if set."""
        ref = {"ref": self.sender_ref(channel, sender_id)}
        with db.reading(self.engine) as connection:  # read first: almost every message has no note
            if connection.execute(_IDLE_NOTE, ref).first() is None:
                return None
        with self.engine.begin() as connection:
            row = connection.execute(_IDLE_NOTE, ref).first()
            if row is None:
                return None
            connection.execute(update(db.cases).where(db.cases.c.id == row.id).values(idle_note_pending=False))
            return row.id

    # -- staff side ----------------------------------------------------------

    def get(self, case_id: str) -> Dict[str, Any]:
        with db.reading(self.engine) as connection:
            row = connection.execute(select(db.cases).where(db.cases.c.id == case_id)).first()
        if row is None:
            raise CaseError(f"no case with id {case_id}")
        return dict(row._mapping)

    def list_open(self) -> List[Dict[str, Any]]:
        """Open and claimed cases: urgent first, then by time left to SLA."""
        order = sql_case((db.cases.c.priority == URGENT, 0), else_=1)
        with db.reading(self.engine) as connection:
            rows = connection.execute(
                select(db.cases.c.id, db.cases.c.channel, db.cases.c.decision, db.cases.c.priority,
                       db.cases.c.status, db.cases.c.created_at, db.cases.c.sla_due_at, db.cases.c.claimed_by)
                .where(db.cases.c.status.in_([OPEN, CLAIMED])).order_by(order, db.cases.c.sla_due_at)).all()
        return [{**dict(r._mapping), "created_at": aware(r.created_at), "sla_due_at": aware(r.sla_due_at)} for r in rows]

    def show(self, case_id: str, staff: str) -> Dict[str, Any]:
        """The case with its messages decrypted; audited as "viewed" by ``staff``."""
        case = self.get(case_id)
        with db.reading(self.engine) as connection:
            messages = connection.execute(select(db.case_messages).where(db.case_messages.c.case_id == case_id)
                                          .order_by(db.case_messages.c.id)).all()
        decrypted = {
            "id": case["id"], "channel": case["channel"], "status": case["status"], "priority": case["priority"],
            "decision": case["decision"], "intent": self.intent(case),
            "confidence": case["confidence"], "language": case["language"], "created_at": aware(case["created_at"]),
            "sla_due_at": aware(case["sla_due_at"]), "claimed_by": case["claimed_by"], "outcome": case["outcome"],
            "messages": [{"ts": aware(m.ts), "author": m.author,
                          "text": None if m.body_sealed is None else self.keys.open(m.body_sealed, aad=f"case-message:{case_id}"),
                          "removed": removed_label(m.key_id) if m.body_sealed is None else None}
                         for m in messages],
        }
        self.audit.append("viewed", actor=f"staff:{staff}", case_id=case_id, channel=case["channel"])
        return decrypted

    def intent(self, case: Mapping[str, Any]) -> str:
        return self.keys.open(case["intent_sealed"], aad=f"case-intent:{case['id']}")

    def first_patient_message(self, case_id: str) -> Optional[str]:
        """For the review queue (which de-identifies it); not a staff view, so not audited as one."""
        with db.reading(self.engine) as connection:
            row = connection.execute(select(db.case_messages.c.body_sealed).where(
                db.case_messages.c.case_id == case_id, db.case_messages.c.author == "patient",
                db.case_messages.c.body_sealed.isnot(None)).order_by(db.case_messages.c.id).limit(1)).first()
        return self.keys.open(row.body_sealed, aad=f"case-message:{case_id}") if row else None

    def sender_id(self, case: Mapping[str, Any]) -> str:
        return self.keys.open(case["sender_sealed"], aad=f"case-sender:{case['id']}")

    def claim(self, case_id: str, staff: str) -> None:
        case = self.get(case_id)
        if case["status"] == RESOLVED:
            raise CaseError(f"case {case_id} is already resolved")
        if case["status"] == CLAIMED and case["claimed_by"] != staff:
            raise CaseError(f"case {case_id} is already claimed by {case['claimed_by']}")
        with self.engine.begin() as connection:
            changed = connection.execute(update(db.cases).where(
                db.cases.c.id == case_id, db.cases.c.status.in_([OPEN, CLAIMED])).values(
                status=CLAIMED, claimed_by=staff, claimed_at=utcnow())).rowcount
        if not changed:
            raise CaseError(f"case {case_id} changed while claiming; try again")
        self.audit.append("claimed", actor=f"staff:{staff}", case_id=case_id, channel=case["channel"])

    def resolve(self, case_id: str, staff: str, outcome: str, correct_intent: Optional[str] = None,
                was_routine: bool = False) -> Dict[str, Any]:
        if outcome not in OUTCOMES:
            raise CaseError(f"unknown outcome {outcome!r}; use one of: {', '.join(OUTCOMES)}")
        if correct_intent is not None and correct_intent not in intents.ALL:
            raise CaseError(f"unknown intent {correct_intent!r}")
        if was_routine and correct_intent is not None and correct_intent not in intents.ROUTINE:
            raise CaseError("--was-routine needs a routine intent for --correct-intent")
        case = self.get(case_id)
        if case["status"] == RESOLVED:
            raise CaseError(f"case {case_id} is already resolved")
        if case["status"] == CLAIMED and case["claimed_by"] != staff:
            raise CaseError(f"case {case_id} is claimed by {case['claimed_by']}; only they can resolve it")
        correction = None
        if correct_intent or was_routine:
            correction = self.keys.seal(json.dumps({"intent": correct_intent, "was_routine": was_routine}),
                                        aad=f"case-correction:{case_id}").token
        with self.engine.begin() as connection:
            connection.execute(update(db.cases).where(db.cases.c.id == case_id).values(
                status=RESOLVED, resolved_by=staff, resolved_at=utcnow(), outcome=outcome,
                claimed_by=case["claimed_by"] or staff, correction_sealed=correction,
                resume_state="pending", resume_reason="resolved"))
        self.audit.append("resolved", actor=f"staff:{staff}", case_id=case_id, channel=case["channel"],
                          outcome=outcome, details={"corrected": bool(correction)})
        return self.get(case_id)

    # -- for the worker ------------------------------------------------------

    def pending_resumes(self) -> List[Dict[str, Any]]:
        with db.reading(self.engine) as connection:
            rows = connection.execute(select(db.cases).where(db.cases.c.resume_state == "pending")).all()
        return [dict(r._mapping) for r in rows]

    def mark_resumed(self, case_id: str, channel: str, reason: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(db.cases).where(db.cases.c.id == case_id).values(
                resume_state="done", paused=False, idle_note_pending=(reason == "idle")))
        self.audit.append("resumed", case_id=case_id, channel=channel, outcome=reason)

    def idle_cases(self, now: Optional[dt.datetime] = None) -> List[Dict[str, Any]]:
        if not self.policy.idle_resume_minutes:
            return []
        cutoff = (now or utcnow()) - dt.timedelta(minutes=self.policy.idle_resume_minutes)
        with db.reading(self.engine) as connection:
            rows = connection.execute(select(db.cases).where(
                db.cases.c.status.in_([OPEN, CLAIMED]), db.cases.c.paused.is_(True),
                or_(db.cases.c.resume_state.is_(None), db.cases.c.resume_state == "done"),
                db.cases.c.last_activity_at < cutoff)).all()
        return [dict(r._mapping) for r in rows]

    def request_resume(self, case_id: str, reason: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(db.cases).where(db.cases.c.id == case_id).values(
                resume_state="pending", resume_reason=reason))

    def overdue_urgent(self, now: Optional[dt.datetime] = None) -> List[Dict[str, Any]]:
        """Urgent cases nobody claimed before their SLA, not re-notified in the last SLA period."""
        now = now or utcnow()
        period = dt.timedelta(minutes=self.policy.sla_minutes[URGENT])
        with db.reading(self.engine) as connection:
            rows = connection.execute(select(db.cases).where(
                db.cases.c.status == OPEN, db.cases.c.priority == URGENT, db.cases.c.sla_due_at < now,
                or_(db.cases.c.renotified_at.is_(None), db.cases.c.renotified_at < now - period))).all()
        return [dict(r._mapping) for r in rows]

    def mark_renotified(self, case_id: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(db.cases).where(db.cases.c.id == case_id).values(renotified_at=utcnow()))

    def rewrap_all(self) -> int:
        changed = 0
        with self.engine.begin() as connection:
            for row in connection.execute(select(db.cases).where(db.cases.c.key_id != self.keys.active)).all():
                values = {"key_id": self.keys.active}
                for column in ("sender_sealed", "intent_sealed", "correction_sealed"):
                    if row._mapping[column]:
                        values[column] = self.keys.rewrap(row._mapping[column]).token
                connection.execute(update(db.cases).where(db.cases.c.id == row.id).values(**values))
                changed += 1
            for row in connection.execute(select(db.case_messages.c.id, db.case_messages.c.body_sealed).where(
                    db.case_messages.c.key_id != self.keys.active, db.case_messages.c.body_sealed.isnot(None))).all():
                sealed = self.keys.rewrap(row.body_sealed)
                connection.execute(update(db.case_messages).where(db.case_messages.c.id == row.id).values(
                    body_sealed=sealed.token, key_id=sealed.key_id))
                changed += 1
        return changed
