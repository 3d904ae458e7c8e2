"""One SQLAlchemy database for the audit log, cases, the notice outbox, and the inbox's
message counts, incident notices and surge alerts.

SQLite by default (a file under var/), PostgreSQL through one URL in
TRIAGE_DB_URL. Written in SQLAlchemy 2.0 style (Core, `future=True`).
"""
from __future__ import annotations

import datetime as dt
import fcntl
import os
import threading
from pathlib import Path
from typing import Dict, Optional

from sqlalchemy import (Boolean, Column, DateTime, Float, ForeignKey, Index, Integer, MetaData, String, Table,
                        Text, create_engine, event, text)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import QueuePool

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_URL = "TRIAGE_DB_URL"
DEFAULT_URL = f"sqlite:///{PROJECT_ROOT / 'var' / 'triage.db'}"

metadata = MetaData()

audit_log = Table(
    "audit_log", metadata,
    # seq is the position in the hash chain; a second writer racing for the same
    # position fails on the primary key instead of forking the chain.
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("ts", String(32), nullable=False),
    Column("event", String(32), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("case_id", String(36), index=True),
    Column("channel", String(32)),
    Column("confidence", Float),
    Column("outcome", String(64), nullable=False),
    Column("key_id", String(16)),
    # intent, details: sealed, since an intent name such as "disclose_mental_health" is itself PHI
    Column("payload", Text),
    Column("prev_hash", String(64), nullable=False, unique=True),
    Column("hash", String(64), nullable=False),
)

# The chain's head, one row (id 1): the last sequence number ever given out and that
# entry's hash. Appends advance it under the chain lock and never move it back, so a
# deleted tail leaves a gap instead of being taken over by the next entry. log_id names
# this log in the checkpoint file (triage/audit.py), which may also hold other logs.
audit_head = Table(
    "audit_head", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("log_id", String(32), nullable=False),
    Column("last_seq", Integer, nullable=False),
    Column("last_hash", String(64), nullable=False),
    Column("mac_from", Integer, nullable=False),  # the first entry chained with the keyed MAC
)

cases = Table(
    "cases", metadata,
    Column("id", String(36), primary_key=True),
    Column("channel", String(32), nullable=False),
    Column("sender_ref", String(64), nullable=False, index=True),  # keyed HMAC of channel + user id
    Column("sender_sealed", Text, nullable=False),  # the raw id, sealed: needed to reply and resume
    Column("decision", String(16), nullable=False),
    Column("intent_sealed", Text, nullable=False),
    Column("confidence", Float),
    Column("language", String(8)),
    Column("priority", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sla_due_at", DateTime(timezone=True), nullable=False),
    Column("last_activity_at", DateTime(timezone=True), nullable=False),
    Column("claimed_by", String(64)),
    Column("claimed_at", DateTime(timezone=True)),
    Column("resolved_by", String(64)),
    Column("resolved_at", DateTime(timezone=True)),
    Column("outcome", String(64)),
    Column("correction_sealed", Text),
    Column("renotified_at", DateTime(timezone=True)),
    Column("resume_state", String(16)),  # pending | done | failed
    Column("resume_reason", String(16)),  # resolved | idle
    Column("paused", Boolean, nullable=False, default=True),  # the bot is paused for this sender
    Column("idle_note_pending", Boolean, nullable=False, default=False),
    Column("key_id", String(16)),
)
Index("ix_cases_open", cases.c.status, cases.c.priority, cases.c.sla_due_at)

case_messages = Table(
    "case_messages", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", String(36), ForeignKey("cases.id"), nullable=False, index=True),
    Column("ts", DateTime(timezone=True), nullable=False),
    Column("author", String(64), nullable=False),  # patient | bot | staff:<id>
    Column("key_id", String(16)),
    Column("body_sealed", Text),  # NULL once purged by retention
)

# Messages worth an admin's look (low confidence, fallback, staff corrections).
# Only the de-identified text is kept, and sealed: the original never reaches the queue.
review_items = Table(
    "review_items", metadata,
    Column("id", String(16), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("source", String(24), nullable=False),  # low_confidence | nlu_fallback | staff_correction
    Column("channel", String(32)),
    Column("sender_ref", String(64), index=True),  # for "forget me"
    Column("case_id", String(36)),
    Column("language", String(8)),
    Column("key_id", String(16)),
    Column("payload_sealed", Text, nullable=False),  # de-identified text, decision, intents, confidence
    Column("status", String(16), nullable=False),  # open | labelled | dismissed
    Column("labelled_by", String(64)),
    Column("labelled_at", DateTime(timezone=True)),
)

outbox = Table(
    "outbox", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("case_id", String(36), index=True),
    Column("target", Text, nullable=False),
    Column("payload", Text, nullable=False),  # JSON, never message text
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True)),
    Column("last_error", String(200)),
)

# Messages to patients waiting to go out (triage/outbox.py): crisis first, then private,
# then routine. Recipient and text sealed like case text; the rest is metadata for staff.
outbound_messages = Table(
    "outbound_messages", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ref", String(36), nullable=False, unique=True),  # binds the sealed fields to this row
    Column("channel", String(32), nullable=False),
    Column("priority", Integer, nullable=False),  # 0 crisis, 1 private, 2 routine
    Column("kind", String(32), nullable=False),  # bot_reply | staff_reply | ...
    Column("state", String(16), nullable=False, index=True),  # waiting | sent | failed
    Column("case_id", String(36)),
    Column("language", String(8)),
    Column("key_id", String(16)),
    Column("recipient_sealed", Text, nullable=False),
    Column("body_sealed", Text),  # NULL once sent or failed: the text is not kept
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("lease_until", DateTime(timezone=True)),  # a sender has taken it until then
    Column("attempts", Integer, nullable=False, default=0),
    Column("sent_at", DateTime(timezone=True)),
    Column("last_error", String(200)),  # why, never text
    Index("ix_outbound_due", "state", "channel", "priority", "id"),
)

# Staff console (triage/console): accounts, server-side sessions, failed sign-ins.
console_accounts = Table(
    "console_accounts", metadata,
    Column("username", String(64), primary_key=True),
    Column("role", String(16), nullable=False),  # staff | admin | auditor
    Column("password_hash", String(200), nullable=False),  # scrypt, see triage/console/accounts.py
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("password_changed_at", DateTime(timezone=True), nullable=False),
)

console_sessions = Table(
    "console_sessions", metadata,
    # SHA-256 of the cookie value: a copy of this table does not let anyone sign in.
    Column("token_hash", String(64), primary_key=True),
    Column("username", String(64), ForeignKey("console_accounts.username"), nullable=False, index=True),
    Column("csrf", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
)

console_login_failures = Table(
    "console_login_failures", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, index=True),
    Column("client", String(64), nullable=False, index=True),
    Column("ts", DateTime(timezone=True), nullable=False, index=True),
)

# Inbox reports and surge alerts (triage/counts.py, inbox_report.py, surge.py): one row per
# patient message the bot handled, with its decision, channel, language and times only.
# No text, no sender, no case: a report or a surge check never needs to open anything sealed.
message_counts = Table(
    "message_counts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts", DateTime(timezone=True), nullable=False, index=True),  # when the message arrived
    Column("channel", String(32), nullable=False),
    Column("language", String(8), nullable=False),
    Column("decision", String(16), nullable=False),  # answer | private | crisis
    Column("reply_ms", Integer),  # from arrival to the bot's reply being built
)

# Incident notices (triage/incidents.py): an admin's short text per language, appended to
# the chosen replies while active. Not PHI; validated and length-limited.
incident_notices = Table(
    "incident_notices", metadata,
    Column("id", String(16), primary_key=True),
    Column("scope", String(16), nullable=False),  # routine | escalation | public | all
    Column("texts", Text, nullable=False),  # JSON {en, de, es, bg}
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Surge alerts sent (triage/surge.py): figures only, for the cooldown and the console banner.
surge_alerts = Table(
    "surge_alerts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts", DateTime(timezone=True), nullable=False, index=True),
    Column("reasons", String(64), nullable=False),  # volume, crisis_share, private_share
    Column("figures", Text, nullable=False),  # JSON: counts and shares, never text
)

# Webhook events already handled (triage/channels/webhook.py), so a platform's redelivery
# is not answered twice; purged after clinic.yml retention.seen_event_days (triage/retention.py).
seen_events = Table(
    "seen_events", metadata,
    Column("key", String(64), primary_key=True),  # SHA-256 of channel + platform event id
    Column("seen_at", DateTime(timezone=True), nullable=False),
)

# Training runs started from the console (triage/deploy.py): one at a time, who started it,
# and how it ended. The model's name and its gate report only; the log is a file beside the models.
training_jobs = Table(
    "training_jobs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("actor", String(64), nullable=False),
    Column("state", String(16), nullable=False, index=True),  # running | accepted | refused | unchanged | failed
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True)),
    Column("model", String(64)),  # triage-<fingerprint>
    Column("report_path", String(300)),  # models/candidates/<model>.gate.json
    Column("error", String(200)),  # why it failed: our own message or an error type, never text
)

_engines: Dict[str, Engine] = {}
_lock = threading.Lock()


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def aware(value: Optional[dt.datetime]) -> Optional[dt.datetime]:
    """SQLite returns naive datetimes; every time stored here is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value


def url_from_env() -> str:
    return os.environ.get(ENV_URL) or DEFAULT_URL


def _sqlite_serialised_writes(engine: Engine) -> None:
    """pysqlite starts transactions lazily, which lets two writers read the same
    chain head. BEGIN IMMEDIATE takes the write lock at the start instead."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection):
        read_only = connection.get_execution_options().get(_READ_ONLY)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def engine(url: Optional[str] = None) -> Engine:
    """The engine for ``url`` (default TRIAGE_DB_URL), with tables created."""
    url = url or url_from_env()
    with _lock:
        if url not in _engines:
            if url.startswith("sqlite:///"):
                path = Path(url[len("sqlite:///"):])
                path.parent.mkdir(parents=True, exist_ok=True)
                # A pool, not SQLAlchemy 1.4's open-and-close per use: every patient message
                # runs two lookups here, and each new connection runs three PRAGMAs.
                eng = create_engine(url, future=True, poolclass=QueuePool, pool_size=4,
                                    connect_args={"timeout": 30, "check_same_thread": False})
                _sqlite_serialised_writes(eng)
                # Processes starting together on a new file: switching it to WAL needs the file
                # to itself, and SQLite answers "database is locked" at once instead of waiting
                # (4 rounds in 150 of tests/test_db.py's race, 0 with this lock). One process at a time sets it up.
                with open(path.with_name(path.name + ".init-lock"), "a") as lock:
                    fcntl.flock(lock, fcntl.LOCK_EX)
                    try:
                        create_tables(eng)
                    finally:
                        fcntl.flock(lock, fcntl.LOCK_UN)
            else:
                eng = create_engine(url, future=True, pool_pre_ping=True)
                create_tables(eng)
            _engines[url] = eng
        return _engines[url]


_READ_ONLY = "triage_read_only"


def reading(eng: Engine) -> Connection:
    """A connection for reads. On SQLite it begins a deferred transaction, which under WAL
    never waits for the write lock: every patient message looks up its sender's case, and
    with BEGIN IMMEDIATE that lookup queued behind every write in every process."""
    return eng.connect().execution_options(**{_READ_ONLY: True})


def is_postgres(eng: Engine) -> bool:
    return eng.dialect.name == "postgresql"


def create_tables(eng: Engine) -> None:
    """Creates missing tables. Sanic workers and replicas start together: on an empty
    PostgreSQL database two concurrent CREATE TABLEs make the loser fail with a duplicate
    pg_type row, so creation is serialised across processes."""
    if is_postgres(eng):
        with eng.begin() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(727101)"))
            metadata.create_all(connection)
    else:
        metadata.create_all(eng)


def lock_chain(connection, eng: Engine) -> None:
    """Serialises audit appends across processes for the current transaction."""
    if is_postgres(eng):
        connection.execute(text("SELECT pg_advisory_xact_lock(727100)"))
    # SQLite: BEGIN IMMEDIATE already holds the database write lock.


def dispose_all() -> None:
    with _lock:
        for eng in _engines.values():
            eng.dispose()
        _engines.clear()
