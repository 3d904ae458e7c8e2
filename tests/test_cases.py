"""Cases, notices and the worker, without the servers."""
import datetime as dt
import json

import pytest
from sqlalchemy import update

from tests.fakes import Recorder
from triage import db, worker
from triage.audit import AuditLog
from triage.cases import CaseError, Cases, CasePolicy
from triage.services import Services
from triage.notify import Notifier, Target, backoff, targets_from_env


@pytest.fixture
def svc(keystore, tmp_path):
    engine = db.engine(f"sqlite:///{tmp_path / 'cases.db'}")
    audit = AuditLog(keystore, engine)
    cases = Cases(keystore, audit, CasePolicy({"urgent": 15, "normal": 240}))
    return Services(keystore, audit, cases, Notifier(audit, targets=[]))


PRIVATE = {"decision": "private", "intent": "disclose_symptoms", "confidence": 0.91, "language": "en"}
CRISIS = {"decision": "crisis", "intent": "crisis_self_harm", "confidence": 1.0, "language": "de"}


def test_case_fields_and_pseudonymous_sender(svc):
    case_id = svc.cases.open_case("messenger", "1234567890", PRIVATE, "my knee is swollen")
    case = svc.cases.get(case_id)
    assert case["status"] == "open" and case["priority"] == "normal" and case["channel"] == "messenger"
    assert case["sender_ref"] != "1234567890" and "1234567890" not in json.dumps(case, default=str)
    assert svc.cases.sender_id(case) == "1234567890"
    created, due = case["created_at"], case["sla_due_at"]
    assert dt.timedelta(minutes=239) < due - created <= dt.timedelta(minutes=240)
    urgent = svc.cases.get(svc.cases.open_case("x", "99", CRISIS, "..."))
    assert urgent["priority"] == "urgent"
    assert dt.timedelta(minutes=14) < urgent["sla_due_at"] - urgent["created_at"] <= dt.timedelta(minutes=15)


def test_list_sorts_urgent_first_then_by_time_to_sla(svc):
    a = svc.cases.open_case("rest", "a", PRIVATE, "x")
    b = svc.cases.open_case("rest", "b", CRISIS, "x")
    c = svc.cases.open_case("rest", "c", PRIVATE, "x")
    with svc.cases.engine.begin() as connection:  # c is due before a
        connection.execute(update(db.cases).where(db.cases.c.id == c).values(
            sla_due_at=dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)))
    assert [r["id"] for r in svc.cases.list_open()] == [b, c, a]


def test_claim_and_resolve_rules(svc):
    case_id = svc.cases.open_case("rest", "a", PRIVATE, "x")
    svc.cases.claim(case_id, "ana")
    with pytest.raises(CaseError, match="already claimed by ana"):
        svc.cases.claim(case_id, "ben")
    with pytest.raises(CaseError, match="only they can resolve"):
        svc.cases.resolve(case_id, "ben", "contacted")
    with pytest.raises(CaseError, match="unknown outcome"):
        svc.cases.resolve(case_id, "ana", "done-ish")
    with pytest.raises(CaseError, match="unknown intent"):
        svc.cases.resolve(case_id, "ana", "contacted", correct_intent="made_up")
    resolved = svc.cases.resolve(case_id, "ana", "contacted", correct_intent="ask_records", was_routine=True)
    assert resolved["status"] == "resolved" and resolved["resume_state"] == "pending"
    with pytest.raises(CaseError, match="already resolved"):
        svc.cases.claim(case_id, "ana")
    with pytest.raises(CaseError, match="no case"):
        svc.cases.get("nope")
    assert [r["event"] for r in svc.audit.rows()] == ["escalated", "claimed", "resolved"]
    assert svc.audit.verify().ok


def test_messages_are_sealed_and_show_is_audited(svc):
    case_id = svc.cases.open_case("rest", "a", PRIVATE, "first message")
    svc.cases.attach(case_id, "second message", channel="rest")
    with svc.cases.engine.connect() as connection:
        bodies = [r.body_sealed for r in connection.execute(db.case_messages.select())]
    assert all(b.startswith("v1.") and "message" not in b for b in bodies)
    shown = svc.cases.show(case_id, "ana")
    assert [m["text"] for m in shown["messages"]] == ["first message", "second message"]
    last = list(svc.audit.rows())[-1]
    assert (last["event"], last["actor"]) == ("viewed", "staff:ana")


def test_targets_from_env():
    targets = targets_from_env("https://staff.example/hook, slack:https://chat.example/x ,https://hooks.slack.com/services/T/B/C")
    assert [t.slack for t in targets] == [False, True, True]
    assert targets[2].label == "slack:https://hooks.slack.com"  # the secret path is not in the label
    with pytest.raises(ValueError, match="not an http"):
        targets_from_env("ftp://x")


def test_backoff_grows_and_is_capped():
    assert [backoff(n).total_seconds() for n in (1, 2, 3)] == [2, 4, 8]
    assert backoff(30).total_seconds() == 300


def test_notice_has_no_text_and_slack_form(svc):
    case_id = svc.cases.open_case("rest", "a", CRISIS, "I want to die tonight")
    hook = Recorder().start()
    try:
        notifier = Notifier(svc.audit, [Target(f"{hook.url}/g", False), Target(f"{hook.url}/s", True)])
        notifier.enqueue(svc.cases.get(case_id))
        assert notifier.deliver_due() == 2
        generic, slack = sorted(hook.received(), key=lambda r: r["path"])
        assert generic["body"]["priority"] == "urgent" and generic["body"]["case_id"] == case_id
        assert set(slack["body"]) == {"text"} and "URGENT" in slack["body"]["text"]
        for request in hook.received():
            assert b"die" not in request["raw"]
        assert notifier.pending() == 0
    finally:
        hook.stop()


def test_overdue_urgent_case_is_renotified_once_per_sla_period(svc):
    hook = Recorder().start()
    try:
        svc.notifier = Notifier(svc.audit, [Target(f"{hook.url}/g", False)])
        case_id = svc.cases.open_case("rest", "a", CRISIS, "x")
        with svc.cases.engine.begin() as connection:
            connection.execute(update(db.cases).where(db.cases.c.id == case_id).values(
                sla_due_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)))
        assert worker.run_once(svc)["renotified"] == 1
        assert worker.run_once(svc)["renotified"] == 0  # not again within the SLA period
        assert [r["body"]["type"] for r in hook.received()] == ["triage.case_overdue"]
        svc.cases.claim(case_id, "ana")
        with svc.cases.engine.begin() as connection:
            connection.execute(update(db.cases).where(db.cases.c.id == case_id).values(renotified_at=None))
        assert worker.run_once(svc)["renotified"] == 0  # claimed cases are not chased
    finally:
        hook.stop()


def test_idle_resume_sets_a_note_for_the_patient(svc, monkeypatch):
    svc.cases.policy = CasePolicy({"urgent": 15, "normal": 240}, idle_resume_minutes=30)
    case_id = svc.cases.open_case("rest", "a", PRIVATE, "x")
    with svc.cases.engine.begin() as connection:
        connection.execute(update(db.cases).where(db.cases.c.id == case_id).values(
            last_activity_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=31)))
    calls = []

    class FakeRasa:  # stands in for the Rasa HTTP API only; the store is real
        @staticmethod
        def post(url, **kwargs):
            calls.append((url, kwargs["json"]))
            return type("R", (), {"status_code": 200})()

    monkeypatch.setattr("triage.handback.requests", FakeRasa)
    monkeypatch.setattr("triage.handback.resume.__defaults__", (FakeRasa,))
    assert worker.run_once(svc)["resumed"] == 1
    assert calls and calls[0][1][0] == {"event": "resume"}
    assert svc.cases.get(case_id)["status"] == "open"  # staff still own it
    assert svc.cases.standing("rest", "a") == (svc.cases.active_case("rest", "a"), True)
    assert svc.cases.pending_idle_note("rest", "a") == case_id
    assert svc.cases.pending_idle_note("rest", "a") is None  # the note is given once
    assert svc.cases.standing("rest", "a") == (svc.cases.active_case("rest", "a"), False)


def test_standing_answers_both_per_message_questions_in_one_read(svc):
    """What intercept asks on every message: the active case, and a pending idle note."""
    assert svc.cases.standing("rest", "b") == (None, False)
    first = svc.cases.open_case("rest", "b", PRIVATE, "x")
    assert svc.cases.standing("rest", "b")[0]["id"] == first
    svc.cases.resolve(first, "ana", "callback_done")
    # A resolved case that still owes its note: no active case, but the note is pending.
    with svc.cases.engine.begin() as connection:
        connection.execute(update(db.cases).where(db.cases.c.id == first).values(idle_note_pending=True))
    assert svc.cases.standing("rest", "b") == (None, True)
    second = svc.cases.open_case("rest", "b", CRISIS, "y")
    active, note = svc.cases.standing("rest", "b")
    assert (active["id"], active["priority"], note) == (second, "urgent", True)
    assert svc.cases.standing("rest", "someone-else") == (None, False)
