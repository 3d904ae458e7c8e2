"""Per-message counts for the inbox reports and surge alerts: decision, channel,
language and times, nothing else (db.message_counts).

Written from the one place a message's triage decision meets its reply in the Rasa
server, triage/rasa/nlg.py. A turn never waits for it and never fails because of it:
``record`` only appends to a buffer in memory, and a daemon thread writes the buffer
in one batched insert every FLUSH_SECONDS (and at exit). Should the database be down,
the batch is kept for the next try, up to MAX_PENDING rows; older rows are dropped with
a warning, since a count is worth less than the server's memory.
"""
from __future__ import annotations

import atexit
import datetime as dt
import logging
import threading
from collections import OrderedDict
from typing import Any, Dict, List, Optional

from sqlalchemy import insert
from sqlalchemy.engine import Engine

from triage import DECISION_CRISIS, DECISION_PRIVATE, DECISION_ANSWER, db

logger = logging.getLogger(__name__)

DECISIONS = (DECISION_ANSWER, DECISION_PRIVATE, DECISION_CRISIS)
FLUSH_SECONDS = 2.0
MAX_PENDING = 50_000
_SEEN_MAX = 4096  # message ids already counted: Rasa may fill two responses in one turn


class CountBuffer:
    def __init__(self, engine: Optional[Engine] = None, flush_seconds: float = FLUSH_SECONDS) -> None:
        self._engine = engine
        self.flush_seconds = flush_seconds
        self._rows: List[Dict[str, Any]] = []
        self._seen: "OrderedDict[str, None]" = OrderedDict()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: Optional[threading.Thread] = None

    @property
    def engine(self) -> Engine:
        return self._engine or db.engine()

    def record(self, decision: str, channel: str, language: Optional[str], received: Optional[dt.datetime] = None,
               message_key: Optional[str] = None, now: Optional[dt.datetime] = None) -> None:
        """Counts one message. Never raises: a count must not cost a patient their reply."""
        try:
            now = now or db.utcnow()
            received = received or now
            row = {"ts": received, "channel": (channel or "unknown")[:32], "language": (language or "-")[:8],
                   "decision": decision if decision in DECISIONS else DECISION_PRIVATE,
                   "reply_ms": max(0, int((now - received).total_seconds() * 1000))}
            with self._lock:
                if message_key:
                    if message_key in self._seen:
                        return
                    self._seen[message_key] = None
                    if len(self._seen) > _SEEN_MAX:
                        self._seen.popitem(last=False)
                self._rows.append(row)
                if len(self._rows) > MAX_PENDING:
                    del self._rows[: len(self._rows) - MAX_PENDING]
                    logger.warning("message counts: database unreachable, oldest counts dropped")
            self._start()
        except Exception as exc:  # noqa: BLE001
            logger.warning("message count not recorded (%s)", type(exc).__name__)

    def flush(self) -> int:
        """Writes what is buffered; returns how many rows were written (0 on failure, kept)."""
        with self._lock:
            rows, self._rows = self._rows, []
        if not rows:
            return 0
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(db.message_counts), rows)
            return len(rows)
        except Exception as exc:  # noqa: BLE001
            logger.warning("message counts not written (%s); retrying later", type(exc).__name__)
            with self._lock:
                self._rows[:0] = rows
            return 0

    def _start(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="message-counts", daemon=True)
                    self._thread.start()
                    atexit.register(self.flush)

    def _run(self) -> None:
        while True:
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            self.flush()


_buffer = CountBuffer()


def record(decision: str, channel: str, language: Optional[str], received: Optional[dt.datetime] = None,
           message_key: Optional[str] = None) -> None:
    _buffer.record(decision, channel, language, received, message_key)


def flush() -> int:
    return _buffer.flush()


def from_tracker(tracker, decision: str, channel: str, language: Optional[str]) -> None:
    """Counts the tracker's latest message (for triage/rasa/nlg.py). Never raises."""
    try:
        message = tracker.latest_message
        stamp = getattr(message, "timestamp", None)
        received = dt.datetime.fromtimestamp(stamp, dt.timezone.utc) if stamp else None
        message_id = getattr(message, "message_id", None)
        key = f"{tracker.sender_id}\x00{message_id or stamp}"
        record(decision, channel, language, received, key)
    except Exception as exc:  # noqa: BLE001
        logger.warning("message count not recorded (%s)", type(exc).__name__)
