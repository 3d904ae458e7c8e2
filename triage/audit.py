"""Append-only, hash-chained audit log (45 CFR 164.312(b)).

Each entry: time, event, actor (system or staff id), case id, channel,
confidence, outcome, and a sealed payload (intent and details). The chain:

    hash = SHA-256(canonical entry + prev_hash)

The canonical entry covers the payload's ciphertext but not its wrapped data
key or key id, so a key rotation re-wraps payloads without breaking the chain.
`verify` walks the chain and names the first entry that does not fit.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from triage import db
from triage.keys import KeyStore

GENESIS = "0" * 64
EVENTS = (
    "escalated", "replied", "notified", "notice_failed", "claimed", "viewed", "resolved", "resumed",
    "key_rotated", "exported", "message_attached", "reply_sent", "renotified", "crisis_followup",
    "verify", "labelled", "review_dismissed", "retention_purged", "forgotten", "model_activated",
    "model_refused", "login", "login_failed", "logout", "session_expired", "account_created",
    "account_changed",
)
SYSTEM = "system"
# What a list of entries may show: metadata, never the sealed payload.
METADATA = ("seq", "ts", "event", "actor", "case_id", "channel", "confidence", "outcome")


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")


def _payload_digest(token: Optional[str]) -> str:
    if not token:
        return ""
    parts = token.split(".")
    # nonce + ciphertext only: stable across re-wrapping on key rotation
    return hashlib.sha256(".".join(parts[3:]).encode("ascii")).hexdigest()


def canonical(row: Dict[str, Any]) -> str:
    fields = {
        "seq": row["seq"], "ts": row["ts"], "event": row["event"], "actor": row["actor"],
        "case_id": row["case_id"], "channel": row["channel"], "confidence": row["confidence"],
        "outcome": row["outcome"], "payload": _payload_digest(row["payload"]),
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def chain_hash(row: Dict[str, Any], prev_hash: str) -> str:
    return hashlib.sha256((canonical(row) + prev_hash).encode("utf-8")).hexdigest()


@dataclass
class VerifyResult:
    ok: bool
    entries: int
    head: str
    first_bad_seq: Optional[int] = None
    reason: str = ""

    def __str__(self) -> str:
        if self.ok:
            return f"audit chain OK: {self.entries} entries, head {self.head}"
        return f"audit chain BROKEN at entry seq={self.first_bad_seq}: {self.reason} ({self.entries} entries checked)"


class AuditLog:
    def __init__(self, keys: KeyStore, engine: Optional[Engine] = None) -> None:
        self.keys = keys
        self.engine = engine or db.engine()

    def append(self, event: str, *, actor: str = SYSTEM, case_id: Optional[str] = None,
               channel: Optional[str] = None, intent: Optional[str] = None,
               confidence: Optional[float] = None, outcome: str = "ok",
               details: Optional[Dict[str, Any]] = None, attempts: int = 20) -> int:
        if event not in EVENTS:
            raise ValueError(f"unknown audit event {event!r}")
        sealed = self.keys.seal(json.dumps({"intent": intent, "details": details or {}}, sort_keys=True),
                                aad="audit")
        for attempt in range(attempts):
            try:
                with self.engine.begin() as connection:
                    db.lock_chain(connection, self.engine)
                    last = connection.execute(
                        select(db.audit_log.c.seq, db.audit_log.c.hash).order_by(db.audit_log.c.seq.desc()).limit(1)
                    ).first()
                    seq, prev = (last.seq + 1, last.hash) if last else (1, GENESIS)
                    row = {"seq": seq, "ts": _now(), "event": event, "actor": actor, "case_id": case_id,
                           "channel": channel, "confidence": None if confidence is None else round(float(confidence), 4),
                           "outcome": outcome, "key_id": sealed.key_id, "payload": sealed.token, "prev_hash": prev}
                    row["hash"] = chain_hash(row, prev)
                    connection.execute(insert(db.audit_log).values(**row))
                return seq
            except (IntegrityError, OperationalError):
                # Another writer took this position (or held the lock too long): read the new head and retry.
                if attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    def rows(self, since: Optional[str] = None, until: Optional[str] = None) -> Iterator[Dict[str, Any]]:
        query = select(db.audit_log).order_by(db.audit_log.c.seq)
        if since:
            query = query.where(db.audit_log.c.ts >= since)
        if until:
            query = query.where(db.audit_log.c.ts < until)
        with db.reading(self.engine) as connection:
            for row in connection.execution_options(stream_results=True, yield_per=2000).execute(query):
                yield dict(row._mapping)

    def verify(self) -> VerifyResult:
        prev, expected_seq, count = GENESIS, 1, 0
        for row in self.rows():
            count += 1
            if row["seq"] != expected_seq:
                return VerifyResult(False, count, prev, expected_seq,
                                    f"entry seq={expected_seq} is missing (next is seq={row['seq']})")
            if row["prev_hash"] != prev:
                return VerifyResult(False, count, prev, row["seq"], "prev_hash does not match the entry before it")
            if chain_hash(row, prev) != row["hash"]:
                return VerifyResult(False, count, prev, row["seq"], "content does not match its hash (altered)")
            prev, expected_seq = row["hash"], expected_seq + 1
        return VerifyResult(True, count, prev)

    def decrypt_payload(self, row: Dict[str, Any]) -> Dict[str, Any]:
        return json.loads(self.keys.open(row["payload"], aad="audit")) if row.get("payload") else {}

    def rewrap_all(self) -> int:
        """Re-wraps every payload under the active master key (after a rotation)."""
        changed = 0
        with self.engine.begin() as connection:
            for row in connection.execute(select(db.audit_log.c.seq, db.audit_log.c.payload)
                                          .where(db.audit_log.c.key_id != self.keys.active)).all():
                sealed = self.keys.rewrap(row.payload)
                connection.execute(db.audit_log.update().where(db.audit_log.c.seq == row.seq)
                                   .values(payload=sealed.token, key_id=sealed.key_id))
                changed += 1
        return changed

    def search(self, *, event: Optional[str] = None, actor: Optional[str] = None, case_id: Optional[str] = None,
               since: Optional[str] = None, until: Optional[str] = None, before_seq: Optional[int] = None,
               limit: int = 200) -> List[Dict[str, Any]]:
        """Entries' metadata, newest first (the console's audit page). ``actor`` matches a prefix."""
        table = db.audit_log
        query = select(*[table.c[name] for name in METADATA]).order_by(table.c.seq.desc()).limit(limit)
        for column, value in ((table.c.event, event), (table.c.case_id, case_id)):
            if value:
                query = query.where(column == value)
        if actor:
            query = query.where(table.c.actor.startswith(actor, autoescape=True))
        if since:
            query = query.where(table.c.ts >= since)
        if until:
            query = query.where(table.c.ts < until)
        if before_seq:
            query = query.where(table.c.seq < before_seq)
        with db.reading(self.engine) as connection:
            return [dict(r._mapping) for r in connection.execute(query).all()]

    def count(self) -> int:
        with db.reading(self.engine) as connection:
            return connection.execute(select(func.count()).select_from(db.audit_log)).scalar_one()

    def export(self, since: Optional[str], until: Optional[str], actor: str) -> List[Dict[str, Any]]:
        """Decrypted compliance export. The export itself is audited."""
        out = []
        for row in self.rows(since, until):
            entry = {k: row[k] for k in METADATA + ("hash",)}
            entry.update(self.decrypt_payload(row))
            out.append(entry)
        self.append("exported", actor=actor, details={"since": since, "until": until, "entries": len(out)})
        return out
