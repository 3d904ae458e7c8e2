"""triage/spool.py: an escalation made while the database is down still reaches staff."""
import logging

import pytest

from triage import db, handoff, keys, spool, worker
from triage.decision import Decision
from triage.services import Services
from triage.audit import AuditLog
from triage.cases import Cases
from triage.notify import Notifier
from triage.review import ReviewQueue

TEXT = "i took all my pills an hour ago and feel dizzy"


@pytest.fixture
def spool_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(spool.ENV_DIR, str(tmp_path / "spool"))
    return tmp_path / "spool"


@pytest.fixture
def down(keystore, monkeypatch):
    """The database is unreachable; the key store (a file) still works."""
    def broken():
        raise ConnectionError("database down")

    monkeypatch.setattr(keys, "_default", keystore)
    monkeypatch.setattr("triage.services.default", broken)


def _services(keystore, tmp_path):
    audit = AuditLog(keystore, db.engine(f"sqlite:///{tmp_path / 'triage.db'}"))
    return Services(keystore, audit, Cases(keystore, audit), Notifier(audit), ReviewQueue(keystore, audit))


def test_a_crisis_during_an_outage_becomes_an_urgent_case_when_the_database_is_back(
        spool_dir, down, keystore, tmp_path, caplog):
    decision = Decision("crisis", "crisis_self_harm", 0.93, "en")
    reply, case_id = handoff.escalate("patient-4", "messenger", decision, TEXT)
    assert case_id is None and "🚨" in reply and "pills" not in reply
    files = list(spool_dir.glob("*.sealed"))
    assert len(files) == 1 and spool.pending() == 1
    stored = files[0].read_text()
    assert "pills" not in stored and "patient-4" not in stored and "crisis" not in stored  # sealed at rest
    assert "spooled" in caplog.text and "pills" not in caplog.text and "patient-4" not in caplog.text

    svc = _services(keystore, tmp_path)
    assert worker.run_once(svc)["spooled_recorded"] == 1
    case = svc.cases.active_case("messenger", "patient-4")
    assert case["priority"] == "urgent" and case["paused"]
    assert svc.cases.first_patient_message(case["id"]) == TEXT
    assert [row["case_id"] for row in svc.audit.rows() if row["event"] == "replied"] == [case["id"]]
    assert spool.pending() == 0 and not list(spool_dir.iterdir())
    assert worker.run_once(svc)["spooled_recorded"] == 0  # recorded once, not again


def test_a_spooled_escalation_waits_while_the_database_is_still_down(spool_dir, down, keystore, caplog):
    handoff.escalate("patient-5", "x", Decision("private", "disclose_symptoms"), TEXT)

    def still_down(_):
        raise ConnectionError("database down")

    with caplog.at_level(logging.ERROR):
        assert spool.drain(still_down, keys=keystore) == 0
    assert spool.pending() == 1  # kept for the next try
    assert "still cannot be recorded (ConnectionError)" in caplog.text


def test_an_unreadable_file_is_set_aside_and_the_rest_recorded(spool_dir, down, keystore, tmp_path, caplog):
    handoff.escalate("patient-6", "rest", Decision("private"), TEXT)
    spool_dir.joinpath("0000.sealed").write_text("v1.k0.garbage.garbage.garbage")
    recorded = []
    assert spool.drain(recorded.append, keys=keystore) == 1
    assert recorded[0]["sender_id"] == "patient-6" and recorded[0]["text"] == TEXT
    assert recorded[0]["triage"]["decision"] == "private"
    assert [p.name for p in spool_dir.iterdir()] == ["0000.unreadable"]
    assert "cannot be opened" in caplog.text


def test_when_even_the_spool_fails_the_patient_still_gets_the_reply_and_it_is_logged(
        spool_dir, monkeypatch, caplog):
    def broken():
        raise ConnectionError("database down")

    def no_keys():
        raise keys.KeyStoreError("no master key")

    monkeypatch.setattr("triage.services.default", broken)
    monkeypatch.setattr(keys, "default", no_keys)
    reply, case_id = handoff.escalate("patient-7", "rest", Decision("crisis"), TEXT)
    assert case_id is None and "🚨" in reply
    assert not spool_dir.exists() or not list(spool_dir.iterdir())
    critical = [r for r in caplog.records if r.levelno == logging.CRITICAL]
    assert len(critical) == 1 and "nor spooled (KeyStoreError)" in critical[0].getMessage()
    assert "pills" not in caplog.text and "patient-7" not in caplog.text
