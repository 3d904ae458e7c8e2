"""Per-message counts (triage/counts.py) from the Rasa server's NLG: one row per message
with decision, channel, language and times only; a broken database never fails a turn."""
import asyncio
import time

import pytest
from sqlalchemy import select

from tests.test_nlg import DOMAIN, tracker_with
from triage import counts, db
from triage.services import Services
from triage.audit import AuditLog
from triage.cases import Cases
from triage.rasa.nlg import TriageNLG
from triage.notify import Notifier


@pytest.fixture
def buffer(keystore, db_url, monkeypatch):
    engine = db.engine(db_url)
    audit = AuditLog(keystore, engine)
    services = Services(keystore, audit, Cases(keystore, audit), Notifier(audit, []))
    monkeypatch.setattr("triage.services.default", lambda: services)
    fresh = counts.CountBuffer(engine, flush_seconds=3600)  # flushed by the test
    monkeypatch.setattr(counts, "_buffer", fresh)
    return fresh


def generate(tracker, action):
    return asyncio.run(TriageNLG(None, DOMAIN).generate(action, tracker, "rest"))


def stored(buffer):
    buffer.flush()
    with buffer.engine.connect() as connection:
        return [dict(r._mapping) for r in connection.execute(select(db.message_counts).order_by(db.message_counts.c.id))]


def test_each_handled_message_is_counted_once_with_metadata_only(buffer):
    routine = tracker_with("CANARY-Wren when are you open", {"decision": "answer", "intent": "ask_opening_hours",
                                                            "language": "de", "confidence": 0.97})
    generate(routine, "utter_answer")
    crisis = tracker_with("CANARY-Wren i want to end it", {"decision": "crisis", "intent": "crisis_self_harm",
                                                          "language": "en", "confidence": 0.99})
    crisis.sender_id = "patient-10"
    generate(crisis, "utter_escalate")
    generate(crisis, "utter_answer")  # a second response in the same turn: still one message
    # a rule that sent a routine decision to utter_escalate is escalated, and counted, as private
    odd = tracker_with("CANARY-Wren hello", {"decision": "answer", "intent": "greet", "language": "es"})
    odd.sender_id = "patient-11"
    generate(odd, "utter_escalate")
    rows = stored(buffer)
    assert [(r["decision"], r["channel"], r["language"]) for r in rows] == [
        ("answer", "rest", "de"), ("crisis", "rest", "en"), ("private", "rest", "es")]
    assert set(rows[0]) == {"id", "ts", "channel", "language", "decision", "reply_ms"}
    assert all(r["reply_ms"] is not None and r["reply_ms"] >= 0 for r in rows)
    assert "CANARY" not in repr(rows)


def test_a_database_down_never_fails_the_turn_and_keeps_the_counts(buffer, monkeypatch):
    class Down:
        def begin(self):
            raise OSError("connection refused")

    engine = buffer.engine
    monkeypatch.setattr(buffer, "_engine", Down())
    message = generate(tracker_with("when are you open", {"decision": "answer", "intent": "ask_opening_hours",
                                                          "language": "en", "confidence": 0.97}), "utter_answer")
    assert "Opening hours" in message["text"]
    assert buffer.flush() == 0  # kept for the next try
    monkeypatch.setattr(buffer, "_engine", engine)
    assert len(stored(buffer)) == 1


def test_record_is_cheap():
    buffer = counts.CountBuffer(flush_seconds=3600)
    started = time.perf_counter()
    for i in range(10_000):
        buffer.record("answer", "rest", "en", message_key=f"m{i}")
    assert (time.perf_counter() - started) / 10_000 < 50e-6  # no database work in the turn
