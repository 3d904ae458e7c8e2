"""Append-only audit log, chained with a keyed MAC and anchored outside the database
(45 CFR 164.312(b)).

Each entry: time, event, actor (system or staff id), case id, channel,
confidence, outcome, and a sealed payload (intent and details). The chain:

    hash = "mac:" + base64url(HMAC-SHA256(audit key, canonical entry + prev_hash))

The audit key is derived from the key store (KeyStore.derived_key), so write access
to the database alone cannot recompute the chain after an edit. Entries written
before the MAC (a plain SHA-256(canonical entry + prev_hash), 64 hex digits) still
verify, but no plain entry may follow a MAC'd one: that is a downgrade.

The canonical entry covers the payload's ciphertext but not its wrapped data
key or key id, so a key rotation re-wraps payloads without breaking the chain.

Two anchors against a cut or rewritten tail:
- audit_head (triage/db.py) holds the last sequence number ever given out and its
  hash; appends advance it and never move it back, so sequence numbers are never
  reused and a deleted tail is a gap;
- signed checkpoints: every CHECKPOINT_EVERY appends, at a log's first entry and on
  `triage audit verify`, a line {log, seq, head_mac, mac_from, time, signature} is
  appended (fsync'd) to a file outside the database (TRIAGE_AUDIT_CHECKPOINTS), MAC'd
  with a second derived key, like CloudTrail's digest files. Someone who can edit the
  database, counter row included, still cannot move the log behind its last checkpoint.

`verify` walks the chain in one query, then checks it against the counter and the
latest checkpoint, and names the first entry that does not fit.
"""
from __future__ import annotations

import base64
import datetime as dt
import fcntl
import hashlib
import hmac
import json
import logging
import math
import os
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from triage import db
from triage.keys import KeyStore

logger = logging.getLogger(__name__)

GENESIS = "0" * 64
MAC_PREFIX = "mac:"  # then base64url of the HMAC: 47 characters, within the hash column's 64
ENV_CHECKPOINTS = "TRIAGE_AUDIT_CHECKPOINTS"
DEFAULT_CHECKPOINTS = db.PROJECT_ROOT / "var" / "audit-checkpoints.jsonl"
CHECKPOINT_EVERY = 100
HEAD = 1  # audit_head's one row
EVENTS = (
    "escalated", "replied", "notified", "notice_failed", "claimed", "viewed", "resolved", "resumed",
    "key_rotated", "exported", "message_attached", "reply_sent", "renotified", "crisis_followup",
    "verify", "labelled", "review_dismissed", "retention_purged", "forgotten", "model_activated",
    "model_refused", "login", "login_failed", "logout", "session_expired", "account_created",
    "account_changed",
    "report_viewed", "report_exported", "notice_created", "notice_changed", "notice_ended", "surge_alert",
    "reply_failed",
    "training_started", "training_finished", "activation_refused", "model_reloaded", "model_rolled_back",
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


def canonical_json(row: Dict[str, Any]) -> str:
    """The definition of an entry's canonical form."""
    fields = {
        "seq": row["seq"], "ts": row["ts"], "event": row["event"], "actor": row["actor"],
        "case_id": row["case_id"], "channel": row["channel"], "confidence": row["confidence"],
        "outcome": row["outcome"], "payload": _payload_digest(row["payload"]),
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


_string = json.encoder.encode_basestring_ascii  # what json.dumps uses for a str, ensure_ascii


def canonical(row: Dict[str, Any]) -> str:
    """canonical_json, written out for the types entries have (equal by test): the generic
    encoder was three quarters of verify's time, which must stay under 1 s for 100,000 entries."""
    seq, confidence, case_id, channel = row["seq"], row["confidence"], row["case_id"], row["channel"]
    if type(seq) is not int or not (confidence is None or (type(confidence) is float and math.isfinite(confidence))):
        return canonical_json(row)
    try:
        return ('{"actor":%s,"case_id":%s,"channel":%s,"confidence":%s,"event":%s,"outcome":%s,"payload":"%s",'
                '"seq":%d,"ts":%s}' % (
                    _string(row["actor"]), "null" if case_id is None else _string(case_id),
                    "null" if channel is None else _string(channel),
                    "null" if confidence is None else repr(confidence), _string(row["event"]),
                    _string(row["outcome"]), _payload_digest(row["payload"]), seq, _string(row["ts"])))
    except TypeError:  # a field of another type: the generic encoder knows what to do
        return canonical_json(row)


def chain_hash(row: Dict[str, Any], prev_hash: str) -> str:
    """The plain hash of entries written before the keyed MAC; still verified."""
    return hashlib.sha256((canonical(row) + prev_hash).encode("utf-8")).hexdigest()


def is_mac(hash_value: str) -> bool:
    return hash_value.startswith(MAC_PREFIX)


def _missing(first: int, last: int, present: int, why: str) -> str:
    if present == 0:
        return f"all {last} entries are missing: the log was deleted{why}"
    span = f"entry {first} is" if first == last else f"entries {first}..{last} are"
    return f"{span} missing: the log was cut short{why}"


@dataclass(frozen=True)
class Checkpoint:
    log: str
    seq: int
    head_mac: str
    mac_from: int
    time: str


@dataclass
class Anchors:
    """What the checkpoint file says, as far as this key store signed it."""
    exists: bool
    unreadable: str = ""  # why an existing file could not be read
    latest: Dict[str, Checkpoint] = field(default_factory=dict)  # by log id
    forged: Dict[str, List[int]] = field(default_factory=dict)  # log id -> line numbers with a wrong signature


class CheckpointFile:
    """Signed checkpoints of the chain's head, one JSON line each, outside the database.
    Lines another key store signed (another deployment, a test) are not ours and are skipped."""

    def __init__(self, path: Path, key: bytes) -> None:
        self.path = path
        self._key = key

    def _signature(self, checkpoint: Checkpoint) -> str:
        message = json.dumps(asdict(checkpoint), sort_keys=True, separators=(",", ":"))
        return hmac.new(self._key, message.encode("utf-8"), hashlib.sha256).hexdigest()

    def write(self, checkpoint: Checkpoint) -> None:
        line = json.dumps({**asdict(checkpoint), "signature": self._signature(checkpoint)}, sort_keys=True) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        created = not self.path.exists()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # processes append whole lines, one at a time
            os.write(fd, line.encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:  # the new file's name must survive a crash too
            directory = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)

    @staticmethod
    def _parse(line: str) -> Optional[Tuple[Checkpoint, str]]:
        try:
            data = json.loads(line)
            signature = data.pop("signature")
            checkpoint = Checkpoint(**data)
        except (ValueError, TypeError, KeyError, AttributeError):
            return None
        types = (str, int, str, int, str, str)
        values = (checkpoint.log, checkpoint.seq, checkpoint.head_mac, checkpoint.mac_from, checkpoint.time, signature)
        if not all(type(value) is kind for value, kind in zip(values, types)):
            return None
        return checkpoint, signature

    def read(self) -> Anchors:
        try:
            handle = open(self.path, encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return Anchors(exists=False)
        except OSError as exc:
            return Anchors(exists=False, unreadable=exc.strerror or str(exc))
        anchors = Anchors(exists=True)
        with handle:
            for number, line in enumerate(handle, 1):
                parsed = self._parse(line)
                if parsed is None:
                    continue  # not a checkpoint (a torn line): anchors nothing
                checkpoint, signature = parsed
                if not hmac.compare_digest(signature.encode("utf-8"), self._signature(checkpoint).encode("ascii")):
                    anchors.forged.setdefault(checkpoint.log, []).append(number)
                    continue
                known = anchors.latest.get(checkpoint.log)
                # Processes write after their commit, so lines may come slightly out of order.
                if known is None or checkpoint.seq > known.seq:
                    anchors.latest[checkpoint.log] = checkpoint
        return anchors


@dataclass
class VerifyResult:
    ok: bool
    entries: int
    head: str
    first_bad_seq: Optional[int] = None
    reason: str = ""
    warnings: List[str] = field(default_factory=list)
    checkpoint_seq: Optional[int] = None  # the latest signed checkpoint, which the log matches
    checkpoint_written: Optional[int] = None  # the head this verify checkpointed

    def __str__(self) -> str:
        if self.ok:
            text = f"audit chain OK: {self.entries} entries, head {self.head}"
            if self.checkpoint_seq:
                text += f", signed checkpoint at seq={self.checkpoint_seq} matches"
        else:
            text = (f"audit chain BROKEN at entry seq={self.first_bad_seq}: {self.reason} "
                    f"({self.entries} entries checked)")
        lines = [text] + [f"warning: {warning}" for warning in self.warnings]
        if self.checkpoint_written:
            lines.append(f"signed checkpoint of seq={self.checkpoint_written} written")
        return "\n".join(lines)


@dataclass
class _Walk:
    """The chain as read: where it ends, or the first entry that does not fit."""
    entries: int = 0
    last_seq: int = 0
    last_hash: str = GENESIS
    macd: bool = False
    hash_at_anchor: Optional[str] = None
    bad_seq: Optional[int] = None
    reason: str = ""


class AuditLog:
    def __init__(self, keys: KeyStore, engine: Optional[Engine] = None, checkpoints: Optional[Path] = None,
                 checkpoint_every: int = CHECKPOINT_EVERY) -> None:
        self.keys = keys
        self.engine = engine or db.engine()
        self._mac_key = keys.derived_key("audit-mac")
        path = checkpoints or Path(os.environ.get(ENV_CHECKPOINTS) or DEFAULT_CHECKPOINTS)
        self.checkpoints = CheckpointFile(Path(path), keys.derived_key("audit-checkpoint"))
        self.checkpoint_every = checkpoint_every

    def entry_mac(self, row: Dict[str, Any], prev_hash: str) -> str:
        mac = hmac.digest(self._mac_key, (canonical(row) + prev_hash).encode("utf-8"), "sha256")
        return MAC_PREFIX + base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")

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
                    head = self._head_for_append(connection)
                    seq, prev = head["last_seq"] + 1, head["last_hash"]
                    row = {"seq": seq, "ts": _now(), "event": event, "actor": actor, "case_id": case_id,
                           "channel": channel, "confidence": None if confidence is None else round(float(confidence), 4),
                           "outcome": outcome, "key_id": sealed.key_id, "payload": sealed.token, "prev_hash": prev}
                    row["hash"] = self.entry_mac(row, prev)
                    connection.execute(insert(db.audit_log).values(**row))
                    connection.execute(update(db.audit_head).where(db.audit_head.c.id == HEAD)
                                       .values(last_seq=seq, last_hash=row["hash"]))
                break
            except (IntegrityError, OperationalError):
                # Another writer took this position (or held the lock too long): read the new head and retry.
                if attempt == attempts - 1:
                    raise
        if seq % self.checkpoint_every == 0:  # after the commit: a checkpoint never names an entry that is not there
            self._checkpoint(Checkpoint(head["log_id"], seq, row["hash"], head["mac_from"], _now()))
        return seq

    @staticmethod
    def _head_for_append(connection: Connection) -> Dict[str, Any]:
        """The counter row; made on the first append (after the entries of a log from before it)."""
        found = connection.execute(select(db.audit_head).where(db.audit_head.c.id == HEAD)).first()
        if found:
            return dict(found._mapping)
        last = connection.execute(select(db.audit_log.c.seq, db.audit_log.c.hash)
                                  .order_by(db.audit_log.c.seq.desc()).limit(1)).first()
        head = {"id": HEAD, "log_id": uuid.uuid4().hex, "last_seq": last.seq if last else 0,
                "last_hash": last.hash if last else GENESIS}
        head["mac_from"] = head["last_seq"] + 1
        connection.execute(insert(db.audit_head).values(**head))
        return head

    def _checkpoint(self, checkpoint: Checkpoint) -> bool:
        try:
            self.checkpoints.write(checkpoint)
            return True
        except OSError as exc:
            # The entry is committed; an audit write must never fail an escalation over its anchor.
            logger.error("audit checkpoint for seq=%s not written to %s: %s", checkpoint.seq,
                         self.checkpoints.path, exc.strerror or exc)
            return False

    def rows(self, since: Optional[str] = None, until: Optional[str] = None) -> Iterator[Dict[str, Any]]:
        query = select(db.audit_log).order_by(db.audit_log.c.seq)
        if since:
            query = query.where(db.audit_log.c.ts >= since)
        if until:
            query = query.where(db.audit_log.c.ts < until)
        with db.reading(self.engine) as connection:
            for row in connection.execution_options(stream_results=True, yield_per=2000).execute(query):
                yield dict(row._mapping)

    def _walk(self, rows: Iterable[Any], mac_from: Optional[int], anchor_seq: Optional[int]) -> _Walk:
        walk = _Walk()
        for item in rows:
            row = item._mapping
            walk.entries += 1
            seq, expected, prev = row["seq"], walk.last_seq + 1, walk.last_hash
            if seq != expected:
                walk.bad_seq, walk.reason = expected, f"entry seq={expected} is missing (next is seq={seq})"
            elif row["prev_hash"] != prev:
                walk.bad_seq, walk.reason = seq, "prev_hash does not match the entry before it"
            elif is_mac(row["hash"]):
                if self.entry_mac(row, prev) != row["hash"]:
                    walk.bad_seq, walk.reason = seq, "content does not match its MAC (altered)"
                walk.macd = True
            elif walk.macd or (mac_from is not None and seq >= mac_from):
                walk.bad_seq, walk.reason = seq, ("a plain hash where the log is MAC'd: altered, with the hashes "
                                                  "recomputed by someone without the audit key (MAC mismatch)")
            elif chain_hash(row, prev) != row["hash"]:
                walk.bad_seq, walk.reason = seq, "content does not match its hash (altered)"
            if walk.bad_seq is not None:
                return walk
            if seq == anchor_seq:
                walk.hash_at_anchor = row["hash"]
            walk.last_seq, walk.last_hash = seq, row["hash"]
        return walk

    def verify(self, checkpoint: bool = False) -> VerifyResult:
        """The chain, then the chain against its counter and the latest signed checkpoint.
        With ``checkpoint``, an intact log gets a new checkpoint of its head."""
        # Read before the database: every checkpoint in it then names an entry this snapshot holds.
        anchors = self.checkpoints.read()
        with db.reading(self.engine) as connection:
            if db.is_postgres(self.engine):  # counter and entries from one snapshot
                connection = connection.execution_options(isolation_level="REPEATABLE READ")
            found = connection.execute(select(db.audit_head).where(db.audit_head.c.id == HEAD)).first()
            head = dict(found._mapping) if found else None
            anchor = anchors.latest.get(head["log_id"]) if head else None
            mac_froms = [value["mac_from"] for value in (head, anchor and asdict(anchor)) if value]
            entries = connection.execution_options(stream_results=True, yield_per=2000).execute(
                select(db.audit_log).order_by(db.audit_log.c.seq))
            walk = self._walk(entries, min(mac_froms) if mac_froms else None, anchor.seq if anchor else None)
        result = VerifyResult(walk.bad_seq is None, walk.entries, walk.last_hash, walk.bad_seq, walk.reason)
        if result.ok:
            self._check_anchors(result, walk, head, anchor, anchors)
        if result.ok and checkpoint and head and walk.entries and self._checkpoint(
                Checkpoint(head["log_id"], walk.last_seq, walk.last_hash, min(mac_froms), _now())):
            result.checkpoint_written = walk.last_seq
        return result

    def _check_anchors(self, result: VerifyResult, walk: _Walk, head: Optional[Dict[str, Any]],
                       anchor: Optional[Checkpoint], anchors: Anchors) -> None:
        def broken(seq: int, reason: str) -> None:
            result.ok, result.first_bad_seq, result.reason = False, seq, reason

        if head and anchors.forged.get(head["log_id"]):
            lines = ", ".join(map(str, anchors.forged[head["log_id"]]))
            return broken(walk.last_seq, f"checkpoint file line(s) {lines} name this log with a wrong signature (forged)")
        if head is None:
            if walk.macd:
                return broken(walk.last_seq, "the sequence counter (audit_head) is missing: it was deleted")
            if walk.entries == 0 and anchors.latest:
                log, latest = max(anchors.latest.items(), key=lambda item: item[1].seq)
                return broken(1, _missing(1, latest.seq, 0, f" (this key store's checkpoint of log {log} is at "
                                                             f"seq={latest.seq}; or {self.checkpoints.path} belongs "
                                                             "to another database)"))
            if walk.entries:
                result.warnings.append("the entries predate the sequence counter and the MAC: "
                                       "the next entry starts both")
            return None
        if head["last_seq"] > walk.last_seq:
            return broken(walk.last_seq + 1, _missing(walk.last_seq + 1, head["last_seq"], walk.entries,
                                                      f" (the sequence counter is at seq={head['last_seq']})"))
        if head["last_seq"] < walk.last_seq:
            return broken(head["last_seq"] + 1, f"entries after seq={head['last_seq']}, where the sequence counter "
                                                "is, were not written through the log")
        if head["last_hash"] != walk.last_hash:
            return broken(walk.last_seq, "the last entry is not the one the sequence counter recorded (replaced)")
        if anchor:
            if anchor.seq > walk.last_seq:
                return broken(walk.last_seq + 1, _missing(walk.last_seq + 1, anchor.seq, walk.entries,
                                                          " after the last checkpoint"))
            if walk.hash_at_anchor != anchor.head_mac:
                return broken(anchor.seq, "the entry's MAC is not the one its signed checkpoint recorded: "
                                          "rewritten, with the hashes recomputed (MAC mismatch)")
            result.checkpoint_seq = anchor.seq
        elif walk.entries:
            if not anchors.exists:
                problem = f"cannot read {self.checkpoints.path} ({anchors.unreadable})" if anchors.unreadable \
                    else f"no checkpoint file at {self.checkpoints.path}"
                result.warnings.append(f"{problem}: nothing outside the database anchors the log, "
                                       "so a cut or rewritten log would go unseen")
            else:
                others = [log for log in anchors.latest if log != head["log_id"]]
                result.warnings.append(f"no checkpoint of this log in {self.checkpoints.path} yet"
                                       + (f"; it anchors other log(s) of this key store ({', '.join(others)}): "
                                          "if this database should hold one of them, the log was replaced"
                                          if others else ""))
        return None

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
