"""Staff notices through webhooks, with an outbox so that no notice is lost.

A notice is written to the outbox first, in the same step as the case, and
delivered afterwards by the worker (`triage worker`), so a slow or broken
staff endpoint never delays the patient's reply. Failures are retried with
exponential backoff until the endpoint answers 2xx.

TRIAGE_STAFF_WEBHOOKS is a comma-separated list of URLs. A URL on
hooks.slack.com, or one prefixed with ``slack:``, gets a Slack
incoming-webhook body ({"text": ...}); any other gets a generic JSON body.
Neither ever carries message text.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional
from urllib.parse import urlparse

import requests
from sqlalchemy import exists, insert, select, update

from triage import db
from triage.audit import AuditLog
from triage.cases import CLAIMED, OPEN, URGENT
from triage.db import utcnow

logger = logging.getLogger(__name__)

ENV_WEBHOOKS = "TRIAGE_STAFF_WEBHOOKS"
ENV_CONSOLE_URL = "TRIAGE_CONSOLE_URL"
TIMEOUT = (3.05, 5)  # connect, read
MAX_BACKOFF_SECONDS = 300
# A case this old without a notice for a target was opened without it (announce_unnotified).
ANNOUNCE_AFTER = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class Target:
    url: str
    slack: bool

    @property
    def label(self) -> str:
        """For logs and the audit log: scheme and host only (webhook paths are secrets)."""
        parsed = urlparse(self.url)
        return f"{'slack:' if self.slack else ''}{parsed.scheme}://{parsed.netloc}"


def targets_from_env(value: Optional[str] = None) -> List[Target]:
    value = os.environ.get(ENV_WEBHOOKS, "") if value is None else value
    result = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        slack = item.startswith("slack:")
        url = item[len("slack:"):] if slack else item
        if urlparse(url).scheme not in ("http", "https"):
            raise ValueError(f"{ENV_WEBHOOKS}: not an http(s) URL: {urlparse(url).scheme or url[:20]}...")
        result.append(Target(url, slack or urlparse(url).netloc == "hooks.slack.com"))
    return result


def notice(case: Mapping[str, Any], kind: str = "case_opened") -> Dict[str, Any]:
    """The notice body: metadata and how to open the case. Never message text."""
    console = os.environ.get(ENV_CONSOLE_URL)
    sla = case["sla_due_at"]
    return {
        "type": f"triage.{kind}",
        "case_id": case["id"],
        "priority": case["priority"],
        "channel": case["channel"],
        "decision": case["decision"],
        "sla_due_at": sla.isoformat() if isinstance(sla, dt.datetime) else str(sla),
        "open": f"triage cases show {case['id']} --staff <your id>",
        **({"url": f"{console.rstrip('/')}/cases/{case['id']}"} if console else {}),
    }


def slack_body(body: Mapping[str, Any]) -> Dict[str, Any]:
    if "summary" in body:  # an alert, not a case
        return {"text": body["summary"]}
    urgent = body["priority"] == URGENT
    overdue = body["type"] == "triage.case_overdue"
    headline = ("🚨 URGENT" if urgent else "🔒 New") + (" case (reminder: not yet claimed)" if overdue else " case")
    link = body.get("url") or f"`{body['open']}`"
    return {"text": f"{headline} {body['case_id']} via {body['channel']}, SLA {body['sla_due_at']}. Open: {link}"}


def _target_key(target: Target) -> str:
    """How the outbox names a target (targets_from_env reads it back)."""
    return ("slack:" if target.slack else "") + target.url


def _outbox_row(target: Target, kind: str, case_id: Optional[str], payload: str, now: dt.datetime):
    return insert(db.outbox).values(kind=kind, case_id=case_id, target=_target_key(target), payload=payload,
                                    created_at=now, attempts=0, next_attempt_at=now)


def backoff(attempts: int) -> dt.timedelta:
    """2, 4, 8 ... seconds (TRIAGE_NOTICE_BACKOFF_SECONDS sets the first step), at most 5 minutes."""
    base = float(os.environ.get("TRIAGE_NOTICE_BACKOFF_SECONDS", "2"))
    return dt.timedelta(seconds=min(MAX_BACKOFF_SECONDS, base * 2 ** (max(attempts, 1) - 1)))


class Notifier:
    def __init__(self, audit: AuditLog, targets: Optional[List[Target]] = None, session=None) -> None:
        self.audit = audit
        self.engine = audit.engine
        self.targets = targets_from_env() if targets is None else targets
        self.session = session or requests.Session()

    def enqueue(self, case: Mapping[str, Any], kind: str = "case_opened") -> int:
        return self.enqueue_body(kind, notice(case, kind), case["id"])

    def enqueue_body(self, kind: str, body: Mapping[str, Any], case_id: Optional[str] = None) -> int:
        """Queues ``body`` for every target (a case notice, or an alert such as triage/surge.py's,
        which carries a ``summary`` line for Slack). Never message text."""
        payload = json.dumps(body)
        now = utcnow()
        with self.engine.begin() as connection:
            for target in self.targets:
                connection.execute(_outbox_row(target, kind, case_id, payload, now))
        return len(self.targets)

    def announce_unnotified(self, min_age: dt.timedelta = ANNOUNCE_AFTER, now: Optional[dt.datetime] = None) -> int:
        """Queues a case_opened notice, per target, for each open or claimed case that has
        never had one for it: cases opened while TRIAGE_STAFF_WEBHOOKS was unset (or lacked
        that URL) are announced once the worker runs with it; the queued row makes it once.
        Cases younger than ``min_age`` are left to the process that opened them, which
        queues their notice right after the case."""
        cutoff = (now or utcnow()) - min_age
        queued = 0
        for target in self.targets:
            key = _target_key(target)
            with db.reading(self.engine) as connection:
                rows = connection.execute(select(db.cases).where(
                    db.cases.c.status.in_([OPEN, CLAIMED]), db.cases.c.created_at < cutoff,
                    ~exists().where(db.outbox.c.case_id == db.cases.c.id, db.outbox.c.target == key))).all()
            for row in rows:
                with self.engine.begin() as connection:
                    connection.execute(_outbox_row(target, "case_opened", row.id,
                                                   json.dumps(notice(row._mapping)), utcnow()))
                queued += 1
        return queued

    def _send(self, target: Target, body: Mapping[str, Any]) -> None:
        payload = slack_body(body) if target.slack else body
        response = self.session.post(target.url, json=payload, timeout=TIMEOUT)
        if response.status_code >= 300:
            raise requests.HTTPError(f"HTTP {response.status_code}")

    def deliver_due(self, now: Optional[dt.datetime] = None, limit: int = 100) -> int:
        """Sends every notice that is due; returns how many were delivered."""
        now = now or utcnow()
        with db.reading(self.engine) as connection:
            due = connection.execute(select(db.outbox).where(
                db.outbox.c.delivered_at.is_(None), db.outbox.c.next_attempt_at <= now)
                .order_by(db.outbox.c.id).limit(limit)).all()
        delivered = 0
        for row in due:
            target = targets_from_env(row.target)[0]
            body = json.loads(row.payload)
            try:
                self._send(target, body)
            except (requests.RequestException, OSError) as exc:
                attempts = row.attempts + 1
                error = type(exc).__name__ + (f": {exc}" if isinstance(exc, requests.HTTPError) else "")
                with self.engine.begin() as connection:
                    connection.execute(update(db.outbox).where(db.outbox.c.id == row.id).values(
                        attempts=attempts, next_attempt_at=utcnow() + backoff(attempts), last_error=error[:200]))
                logger.warning("staff notice %s to %s failed (attempt %d): %s", row.id, target.label, attempts, error)
                self.audit.append("notice_failed", case_id=row.case_id, outcome=error[:64],
                                  details={"target": target.label, "attempt": attempts})
                continue
            with self.engine.begin() as connection:
                connection.execute(update(db.outbox).where(db.outbox.c.id == row.id).values(
                    attempts=row.attempts + 1, delivered_at=utcnow(), last_error=None))
            self.audit.append("notified", case_id=row.case_id, outcome=row.kind,
                              details={"target": target.label, "attempt": row.attempts + 1})
            delivered += 1
        return delivered

    def pending(self) -> int:
        with db.reading(self.engine) as connection:
            return len(connection.execute(select(db.outbox.c.id).where(db.outbox.c.delivered_at.is_(None))).all())
