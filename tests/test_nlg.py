"""triage/rasa/nlg.py: utter_answer is filled from clinic.yml, and never answers an escalation."""
import asyncio

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from triage import handoff
from triage.services import Services
from triage.audit import AuditLog
from triage.cases import Cases
from triage.rasa.nlg import TriageNLG
from triage.notify import Notifier
from triage.review import ReviewQueue

DOMAIN = Domain.from_yaml("""
version: "3.1"
responses:
  utter_answer:
    - text: "placeholder"
  utter_other:
    - text: "a plain response"
  utter_escalate:
    - text: "domain fallback: call your local emergency number now"
""")


def tracker_with(text, triage):
    tracker = DialogueStateTracker("patient-9", [])
    tracker.update(UserUttered(text, intent={"name": triage.get("intent"), "confidence": 0.9},
                               parse_data={"intent": {"name": triage.get("intent")}, "triage": triage,
                                           "text": text}, input_channel="rest"))
    return tracker


def generate(tracker, action="utter_answer"):
    return asyncio.run(TriageNLG(None, DOMAIN).generate(action, tracker, "rest"))


def test_routine_answer_comes_from_the_clinic_facts():
    message = generate(tracker_with("when are you open?", {"decision": "answer", "intent": "ask_opening_hours",
                                                          "language": "en", "confidence": 0.97}))
    assert "Opening hours" in message["text"] and "placeholder" not in message["text"]
    german = generate(tracker_with("wo kann ich parken", {"decision": "answer", "intent": "ask_location",
                                                          "language": "de", "confidence": 0.95}))
    assert "Uferstraße" in german["text"]


@pytest.fixture
def svc(keystore, tmp_path, monkeypatch):
    from triage import db

    audit = AuditLog(keystore, db.engine(f"sqlite:///{tmp_path / 'triage.db'}"))
    services = Services(keystore, audit, Cases(keystore, audit), Notifier(audit),
                                ReviewQueue(keystore, audit))
    monkeypatch.setattr("triage.services.default", lambda: services)
    return services


@pytest.mark.parametrize("triage,expected,priority", [
    ({"decision": "private", "intent": "disclose_symptoms", "language": "en"}, "privately", "normal"),
    ({"decision": "crisis", "intent": "crisis_self_harm", "language": "en"}, "🚨", "urgent"),
    ({}, "privately", "normal"),  # no decision at all: treated as private
])
def test_an_escalated_message_never_gets_an_automatic_answer_and_opens_a_case(svc, triage, expected, priority):
    text = "/ask_opening_hours my chest hurts"
    message = generate(tracker_with(text, triage))
    assert expected in message["text"] and "Opening hours" not in message["text"]
    assert "chest" not in message["text"]
    case = svc.cases.active_case("rest", "patient-9")
    assert case is not None and case["priority"] == priority and case["paused"]
    assert svc.cases.first_patient_message(case["id"]) == text
    replied = [row for row in svc.audit.rows() if row["event"] == "replied"]
    assert len(replied) == 1 and replied[0]["case_id"] == case["id"]


def test_the_escalation_reply_does_not_wait_on_the_database(monkeypatch, caplog, tmp_path):
    monkeypatch.setenv("TRIAGE_SPOOL_DIR", str(tmp_path / "spool"))  # tests/test_spool.py: what happens to it

    def broken():
        raise RuntimeError("database down")

    monkeypatch.setattr("triage.services.default", broken)
    message = generate(tracker_with("/ask_opening_hours i feel dizzy", {"decision": "private", "language": "en"}))
    assert "privately" in message["text"] and "dizzy" not in message["text"]
    assert "escalation could not be recorded (RuntimeError)" in caplog.text and "dizzy" not in caplog.text


def test_other_responses_are_rasas_templates():
    # (a new conversation's first reply: the automated-assistant line follows, tests/test_platform_housekeeping.py)
    assert generate(tracker_with("hi", {"decision": "answer", "intent": "greet"}), "utter_other")["text"].split(
        "\n\n")[0] == "a plain response"


def test_a_low_confidence_answer_is_queued_for_review(svc):
    generate(tracker_with("can i bring my dog Rex Miller to visit", {
        "decision": "answer", "intent": "ask_visiting_hours", "language": "en", "confidence": 0.6, "review": True}))
    generate(tracker_with("when are you open", {"decision": "answer", "intent": "ask_opening_hours",
                                                "language": "en", "confidence": 0.99}))
    items = svc.review.list()
    assert len(items) == 1 and items[0]["intent"] == "ask_visiting_hours"


@pytest.mark.parametrize("triage,expected,priority", [
    ({"decision": "crisis", "intent": "crisis_self_harm", "language": "en"}, "🚨", "urgent"),
    ({"decision": "private", "intent": "disclose_symptoms", "language": "en"}, "privately", "normal"),
    ({"decision": "answer", "intent": "ask_opening_hours", "language": "en"}, "privately", "normal"),  # never downgraded
])
def test_utter_escalate_gives_the_reply_and_opens_one_case_in_the_rasa_server(svc, triage, expected, priority):
    message = generate(tracker_with("i want to kill myself", triage), "utter_escalate")
    assert expected in message["text"] and "kill" not in message["text"]
    case = svc.cases.active_case("rest", "patient-9")
    assert case is not None and case["priority"] == priority and case["paused"]
    assert [row["case_id"] for row in svc.audit.rows() if row["event"] == "replied"] == [case["id"]]


def test_the_crisis_reply_survives_everything_behind_it_failing(monkeypatch, caplog):
    """Database down and key store missing: no case and no spool, but the crisis reply."""
    from triage import spool

    def broken(*_args, **_kwargs):
        raise RuntimeError("down")

    monkeypatch.setattr("triage.services.default", broken)
    monkeypatch.setattr(spool.keystore, "default", broken)
    message = generate(tracker_with("i want to kill myself", {"decision": "crisis", "language": "en"}),
                       "utter_escalate")
    assert message["text"].startswith("🚨") and "112" in message["text"].split("\n")[0]
    assert "nor spooled" in caplog.text and "kill" not in caplog.text
    # Even the reply itself failing (clinic.yml unreadable) leaves the domain's emergency text.
    monkeypatch.setattr(handoff, "reply_for", broken)
    for action in ("utter_escalate", "utter_answer"):
        message = generate(tracker_with("i want to kill myself", {"decision": "crisis", "language": "en"}), action)
        assert message["text"].startswith("domain fallback: call your local emergency number")


def test_action_escalate_only_pauses_and_opens_no_case(svc):
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    from actions.actions import ActionEscalate

    latest = {"text": "i want to die", "triage": {"decision": "crisis", "language": "de"}}
    turn = [{"event": "user", "text": "i want to die"}, {"event": "action", "name": "utter_escalate"},
            {"event": "bot", "text": "🚨 ..."}]
    tracker = Tracker("patient-9", {}, latest, turn, False, None, {}, "utter_escalate")
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionEscalate().run(dispatcher, tracker, {}))
    assert [e["event"] for e in events] == ["slot", "pause"] and events[0]["value"] == "de"
    assert dispatcher.messages == [] and svc.cases.active_case("rest", "patient-9") is None


def test_action_escalate_still_answers_for_a_model_trained_before_utter_escalate(svc):
    """An older model routes the escalation straight to action_escalate: reply and case, once."""
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    from actions.actions import ActionEscalate

    latest = {"text": "i want to die", "triage": {"decision": "crisis", "language": "en"}}
    earlier = [{"event": "action", "name": "utter_escalate"}, {"event": "user", "text": "i want to die"}]
    tracker = Tracker("patient-9", {}, latest, earlier, False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionEscalate().run(dispatcher, tracker, {}))
    assert len(dispatcher.messages) == 1 and dispatcher.messages[0]["text"].startswith("🚨")
    assert svc.cases.active_case("rest", "patient-9") is None  # no input channel in this tracker
    assert svc.cases.active_case("unknown", "patient-9")["priority"] == "urgent"
