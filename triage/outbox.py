"""The outbound queue: every bot reply to a patient on X, Messenger and Instagram goes through here.

Why a queue: a platform that rate-limits us (X answers 429 with ``x-rate-limit-reset``,
Meta a Graph error 4/17/32/613 with an estimate in minutes, sometimes long away) used to
hold the sending thread asleep, and a crisis reply
queued behind routine ones waited as long. Now a channel's webhook handler only writes
the reply here (sealed with the key store, like case text) and returns; one sender
loop per channel sends, always the most urgent waiting message first: crisis, then
private-channel replies, then routine answers. A rate limit pauses that channel until
the time the platform named; the rows wait in the database, so a restart loses none.

Where the loop runs: in a thread of the Rasa server (started by the channel's
blueprint, see channels/x_dm.py and channels/messenger.py). The server is where replies are produced, so a crisis
reply is sent the moment it is queued instead of at the worker's next tick, and the
loop also polls the table every second, picking up what a stopped server left behind.
Replicas share the table safely: a row is leased by one sender before it is sent.

A message that finally fails (the platform refuses it, or it kept failing) opens or
updates the staff case (``escalate_failure``), so a person follows up. Rows of other kinds
than a reply (a Messenger thread handed to the staff inbox once the replies before it
are out, a public comment reply) are sent by their own function (``by_kind``), in the
same order; their failure is logged, it is no reply a patient misses. Staff see the
queue with `triage outbox list` and on the console's outbox page: states, times and
reasons, never text.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.engine import Engine

from triage import DECISION_ANSWER, DECISION_CRISIS, DECISION_PRIVATE, db
from triage.db import aware, utcnow
from triage.keys import KeyStore

logger = logging.getLogger(__name__)

WAITING, SENT, FAILED = "waiting", "sent", "failed"
PRIORITY = {DECISION_CRISIS: 0, DECISION_PRIVATE: 1, DECISION_ANSWER: 2}
PRIORITY_NAME = {value: key for key, value in PRIORITY.items()}
LEASE = dt.timedelta(seconds=60)  # a sender that died mid-send gives its row back after this
MAX_ATTEMPTS = 8  # network errors and 5xx; rate limits do not count
MAX_BACKOFF = 300.0
POLL_SECONDS = 1.0
BOT_REPLY = "bot_reply"
# Not a message the patient waits for: a failure is logged and opens no case (channels/messenger.py).
NO_FOLLOW_UP_KINDS = frozenset({"pass_thread", "public_reply"})


class Retry(Exception):
    """Try again later: ``after`` seconds (the platform's figure for a rate limit).
    ``channel_wide``: the whole channel is limited, not only this message."""

    def __init__(self, reason: str, after: float, channel_wide: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.after, self.channel_wide = reason, after, channel_wide


class Refused(Exception):
    """The platform will not take this message; the reason is for staff (never text)."""


Send = Callable[[str, str], None]  # (recipient id, text); raises Retry or Refused


@dataclass
class Delivery:
    sent: bool = False
    idle: bool = False  # nothing due
    wait: float = 0.0  # how long the channel must wait before the next try


def _sealed_aad(ref: str, field: str) -> str:
    return f"outbound-{field}:{ref}"


class Outbox:
    def __init__(self, keys: KeyStore, engine: Optional[Engine] = None,
                 on_failure: Optional[Callable[[Dict[str, Any], str, str], None]] = None) -> None:
        self.keys = keys
        self.engine = engine or db.engine()
        self.on_failure = on_failure
        self._paused_until: Dict[str, dt.datetime] = {}
        self._wake: Dict[str, threading.Event] = {}

    # -- producers -----------------------------------------------------------

    def enqueue(self, channel: str, recipient: str, text: str, decision: Optional[str] = None,
                kind: str = BOT_REPLY, case_id: Optional[str] = None, language: Optional[str] = None) -> int:
        """Queues one message; an unknown decision counts as private (never behind routine)."""
        ref, now = str(uuid.uuid4()), utcnow()
        recipient_sealed = self.keys.seal(recipient, aad=_sealed_aad(ref, "recipient"))
        body = self.keys.seal(text, aad=_sealed_aad(ref, "body"))
        with self.engine.begin() as connection:
            row_id = connection.execute(insert(db.outbound_messages).values(
                ref=ref, channel=channel, priority=PRIORITY.get(decision or "", PRIORITY[DECISION_PRIVATE]),
                kind=kind, state=WAITING, case_id=case_id, language=language, key_id=body.key_id,
                recipient_sealed=recipient_sealed.token, body_sealed=body.token, created_at=now,
                next_attempt_at=now, attempts=0)).inserted_primary_key[0]
        self.wake(channel)
        return row_id

    def wake(self, channel: str) -> None:
        self._event(channel).set()

    def _event(self, channel: str) -> threading.Event:
        return self._wake.setdefault(channel, threading.Event())

    # -- the sender ----------------------------------------------------------

    def _claim(self, channel: str, now: dt.datetime) -> Optional[Any]:
        """The most urgent due row of ``channel``, leased to this sender; None if there is none."""
        t = db.outbound_messages
        free = or_(t.c.lease_until.is_(None), t.c.lease_until < now)
        for _ in range(5):  # another replica may lease the same row first
            with db.reading(self.engine) as connection:
                row = connection.execute(select(t).where(
                    t.c.state == WAITING, t.c.channel == channel, t.c.next_attempt_at <= now, free)
                    .order_by(t.c.priority, t.c.id).limit(1)).first()
            if row is None:
                return None
            with self.engine.begin() as connection:
                taken = connection.execute(update(t).where(and_(t.c.id == row.id, t.c.state == WAITING, free))
                                           .values(lease_until=now + LEASE)).rowcount
            if taken:
                return row
        return None

    def deliver_one(self, channel: str, send: Send, now: Optional[dt.datetime] = None,
                    by_kind: Optional[Dict[str, Send]] = None) -> Delivery:
        """Sends the most urgent due row of ``channel`` with ``send``, or with ``by_kind[row.kind]``."""
        now = now or utcnow()
        paused = self._paused_until.get(channel)
        if paused and paused > now:
            return Delivery(wait=(paused - now).total_seconds())
        row = self._claim(channel, now)
        if row is None:
            return Delivery(idle=True)
        recipient = self.keys.open(row.recipient_sealed, aad=_sealed_aad(row.ref, "recipient"))
        text = self.keys.open(row.body_sealed, aad=_sealed_aad(row.ref, "body"))
        try:
            (by_kind or {}).get(row.kind, send)(recipient, text)
        except Retry as exc:
            return self._retry(row, exc, now)
        except Refused as exc:
            self._fail(row, str(exc), recipient)
            return Delivery()
        except Exception as exc:  # noqa: BLE001 - a bug in a sender must not stop the loop
            return self._retry(row, Retry(type(exc).__name__, self._backoff(row.attempts + 1)), now)
        self._finish(row, SENT, None)
        return Delivery(sent=True)

    @staticmethod
    def _backoff(attempts: int) -> float:
        return min(MAX_BACKOFF, 2.0 ** attempts)

    def _retry(self, row, exc: Retry, now: dt.datetime) -> Delivery:
        limited = exc.channel_wide
        if limited:  # a reset time in whole seconds may already be past: never a busy loop
            exc.after = max(exc.after, 1.0)
        attempts = row.attempts + (0 if limited else 1)
        if attempts >= MAX_ATTEMPTS:
            self._fail(row, f"gave up after {attempts} attempts: {exc.reason}", None)
            return Delivery()
        when = now + dt.timedelta(seconds=exc.after)
        t = db.outbound_messages
        with self.engine.begin() as connection:
            connection.execute(update(t).where(t.c.id == row.id).values(
                attempts=attempts, next_attempt_at=when, lease_until=None, last_error=exc.reason[:200]))
            if limited:  # the whole channel waits, in the table too: a restart or a replica keeps the order
                connection.execute(update(t).where(t.c.channel == row.channel, t.c.state == WAITING,
                                                   t.c.next_attempt_at < when).values(next_attempt_at=when))
        if limited:
            self._paused_until[row.channel] = when
        logger.warning("outbox %s: message %s waits %.0fs (%s)", row.channel, row.id, exc.after, exc.reason)
        return Delivery(wait=exc.after if limited else 0.0)

    def _finish(self, row, state: str, reason: Optional[str]) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(db.outbound_messages).where(db.outbound_messages.c.id == row.id).values(
                state=state, body_sealed=None, lease_until=None, attempts=row.attempts + 1,
                sent_at=utcnow() if state == SENT else None, last_error=reason))

    def _fail(self, row, reason: str, recipient: Optional[str]) -> None:
        reason = reason[:200]
        self._finish(row, FAILED, reason)
        logger.error("outbox %s: message %s (%s) failed (%s)", row.channel, row.id, row.kind, reason)
        if self.on_failure is None or row.kind in NO_FOLLOW_UP_KINDS:
            return
        if recipient is None:
            recipient = self.keys.open(row.recipient_sealed, aad=_sealed_aad(row.ref, "recipient"))
        info = {"id": row.id, "channel": row.channel, "kind": row.kind, "case_id": row.case_id,
                "language": row.language, "decision": PRIORITY_NAME.get(row.priority, DECISION_PRIVATE)}
        try:
            self.on_failure(info, recipient, reason)
        except Exception as exc:  # noqa: BLE001
            logger.error("outbox %s: message %s failed and no case was opened (%s)", row.channel, row.id,
                         type(exc).__name__)

    # -- staff view ------------------------------------------------------------

    def listing(self, states: Optional[List[str]] = None, limit: int = 100) -> List[Dict[str, Any]]:
        """Waiting first, then the latest; metadata and reasons only, never text or ids."""
        t = db.outbound_messages
        query = select(t.c.id, t.c.channel, t.c.priority, t.c.kind, t.c.state, t.c.case_id, t.c.attempts,
                       t.c.created_at, t.c.next_attempt_at, t.c.sent_at, t.c.last_error)
        if states:
            query = query.where(t.c.state.in_(states))
        with db.reading(self.engine) as connection:
            rows = connection.execute(query.order_by((t.c.state != WAITING), t.c.priority, t.c.id.desc())
                                      .limit(limit)).all()
        return [{**dict(r._mapping), "priority": PRIORITY_NAME.get(r.priority, "?"),
                 "created_at": aware(r.created_at), "next_attempt_at": aware(r.next_attempt_at),
                 "sent_at": aware(r.sent_at)} for r in rows]

    def counts(self) -> Dict[str, int]:
        t = db.outbound_messages
        with db.reading(self.engine) as connection:
            rows = connection.execute(select(t.c.state)).all()
        result = {WAITING: 0, SENT: 0, FAILED: 0}
        for row in rows:
            result[row.state] = result.get(row.state, 0) + 1
        return result


class SenderLoop(threading.Thread):
    """One channel's sender: sends while messages are due, sleeps until woken by an
    enqueue, the poll interval, or the end of a rate-limit pause."""

    def __init__(self, outbox: Outbox, channel: str, send: Send, poll: float = POLL_SECONDS,
                 by_kind: Optional[Dict[str, Send]] = None) -> None:
        super().__init__(name=f"outbox-{channel}", daemon=True)
        self.outbox, self.channel, self.send, self.poll, self.by_kind = outbox, channel, send, poll, by_kind
        self._stopping = threading.Event()

    def run(self) -> None:
        wake = self.outbox._event(self.channel)
        while not self._stopping.is_set():
            try:
                outcome = self.outbox.deliver_one(self.channel, self.send, by_kind=self.by_kind)
            except Exception as exc:  # noqa: BLE001 - the database may be down for a while
                logger.error("outbox %s: sender tick failed (%s)", self.channel, type(exc).__name__)
                outcome = Delivery(wait=self.poll)
            if outcome.sent or (not outcome.idle and not outcome.wait):
                continue
            wake.clear()
            wake.wait(min(outcome.wait, 900.0) if outcome.wait else self.poll)

    def stop(self, timeout: float = 15) -> None:
        """Finishes the message being sent (its row is then marked), then stops."""
        self._stopping.set()
        self.outbox.wake(self.channel)
        self.join(timeout)


_loops: Dict[str, SenderLoop] = {}
_unstarted: set = set()  # channels whose sender failed to start in this process
_shared: Optional[Outbox] = None
_lock = threading.Lock()


def shared() -> Outbox:
    """This process's outbox, on the services' keys and database; failures open cases."""
    global _shared
    with _lock:
        if _shared is None:
            from triage import services

            svc = services.default()
            _shared = Outbox(svc.keys, svc.cases.engine,
                             on_failure=lambda info, recipient, reason: escalate_failure(svc, info, recipient, reason))
        return _shared


def start_sender(channel: str, send: Send, by_kind: Optional[Dict[str, Send]] = None) -> SenderLoop:
    """Starts ``channel``'s sender loop in this process once (a channel's blueprint calls it)."""
    with _lock:
        loop = _loops.get(channel)
        if loop is not None and loop.is_alive():
            return loop
    try:
        loop = SenderLoop(shared(), channel, send, by_kind=by_kind)
        loop.start()
    except Exception:
        with _lock:
            _unstarted.add(channel)
        raise
    with _lock:
        _loops[channel] = loop
        _unstarted.discard(channel)
    return loop


def sending(channel: str) -> bool:
    """False when this process tried to start ``channel``'s sender and it is not running (it
    failed to start, or stopped): a row queued now would wait for another process, so the
    channel sends directly instead (channels/webhook.queue)."""
    with _lock:
        loop = _loops.get(channel)
        return loop.is_alive() if loop is not None else channel not in _unstarted


def escalate_failure(svc, info: Dict[str, Any], recipient: str, reason: str) -> str:
    """A reply that never reached the patient: their open case gets a note (and a crisis makes
    it urgent), or a case is opened, so a person follows up. The note names the reason only.
    A row queued for a case (a comment's private reply, whose recipient is the comment) notes that case."""
    from triage.cases import RESOLVED, URGENT, CaseError

    note = (f"[system] The assistant's {info['decision']} reply could not be delivered on {info['channel']} "
            f"({reason}). Please contact the patient another way.")
    decision = {"decision": DECISION_CRISIS if info["decision"] == DECISION_CRISIS else DECISION_PRIVATE,
                "intent": "reply_not_delivered", "language": info.get("language"), "confidence": None,
                "reasons": ["reply_not_delivered"]}
    existing = None
    if info.get("case_id"):
        try:
            existing = svc.cases.get(info["case_id"])
        except CaseError:  # erased meanwhile
            existing = None
    if existing is None or existing["status"] == RESOLVED:
        existing = svc.cases.active_case(info["channel"], recipient)
    if existing is None:
        # Not handoff.escalate: the patient's message was escalated (or answered) already;
        # this is the system's note that a reply went missing, with no reply of its own.
        case_id = svc.cases.open_case(info["channel"], recipient, decision, note)
        svc.notifier.enqueue(svc.cases.get(case_id))
    else:  # the note is the system's, not the patient's
        case_id = existing["id"]
        svc.cases.attach(case_id, note, author="system", channel=existing["channel"])
        if decision["decision"] == DECISION_CRISIS and existing["priority"] != URGENT:
            svc.cases.make_urgent(case_id, existing["channel"])
        svc.notifier.enqueue(svc.cases.get(case_id), "reply_failed")
    svc.audit.append("reply_failed", case_id=case_id, channel=info["channel"], outcome=reason[:64],
                     details={"outbox_id": info["id"], "kind": info["kind"]})
    return case_id
