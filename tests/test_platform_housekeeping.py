"""Both X payload formats and the user check (x_events.py), the seen_events purge
(retention.py) and the automated-assistant line of a conversation's first reply
(disclosure.py through the NLG). No Rasa server; tests/test_x_activity.py has one."""
import asyncio
import datetime as dt
import hashlib

import pytest
from rasa.shared.core.events import BotUttered, Restarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import insert, select

from tests import channel_payloads as p
from triage import db, retention
from triage.channels import x_events
from triage.db import seen_events

PATIENT = "918273645"


# -- X payloads ---------------------------------------------------------------

@pytest.mark.parametrize("payload", [
    p.x_dm(PATIENT, "when are you open?", "111"),
    p.x_activity_dm(PATIENT, "when are you open?", "111"),
    p.x_activity_dm(PATIENT, "when are you open?", "111", legacy_payload=True),
], ids=["account-activity", "xaa-v2-event", "xaa-legacy-payload"])
def test_a_received_dm_reads_the_same_in_every_format(payload):
    events = x_events.parse(payload, p.X_USER)
    assert [(e.kind, e.event_id, e.sender_id, e.text) for e in events] == [
        ("dm", "111", PATIENT, "when are you open?")]


@pytest.mark.parametrize("payload", [
    {**p.x_dm(PATIENT, "hello"), "for_user_id": "5550001"},
    p.x_activity_dm(PATIENT, "hello", user="5550001"),
    p.x_chat(PATIENT, user="5550001"),
], ids=["account-activity", "xaa", "xchat"])
def test_a_payload_for_another_account_is_ignored(payload):
    assert x_events.parse(payload, p.X_USER) == []


def test_our_own_dms_other_activity_events_and_encrypted_chats():
    assert [e.kind for e in x_events.parse(p.x_activity_dm(p.X_USER, "our reply"), p.X_USER)] == ["ignored"]
    sent = p.x_activity_dm(PATIENT, "x")
    sent["data"]["event_type"] = "dm.read"
    assert [e.kind for e in x_events.parse(sent, p.X_USER)] == ["ignored"]
    chat = x_events.parse(p.x_chat(PATIENT), p.X_USER)
    assert [(e.kind, e.sender_id, e.text) for e in chat] == [("encrypted", PATIENT, "")]
    assert chat[0].event_id.startswith("chat:")
    with pytest.raises(x_events.PayloadError):
        x_events.parse({"data": {"event_type": "dm.received", "payload": {}}}, None)  # whose?


# -- seen_events purge ----------------------------------------------------------

def test_retention_purges_seen_events_past_the_redelivery_window(svc):
    now = db.utcnow()
    ages = {"fresh": 1, "six-days": 6, "eight-days": 8, "old": 40}
    with svc.cases.engine.begin() as connection:
        for name, days in ages.items():
            connection.execute(insert(seen_events).values(key=hashlib.sha256(name.encode()).hexdigest(),
                                                          seen_at=now - dt.timedelta(days=days)))
    policy = retention.RetentionPolicy()
    assert policy.seen_event_days == 7
    result = retention.purge(svc, None, policy, actor="staff:admin", now=now)
    assert result["seen_events_deleted"] == 2 and result["seen_event_days"] == 7
    with db.reading(svc.cases.engine) as connection:
        kept = set(connection.execute(select(seen_events.c.key)).scalars())
    assert kept == {hashlib.sha256(n.encode()).hexdigest() for n in ("fresh", "six-days")}


def test_retention_deletes_finished_outbox_rows_with_the_conversations(svc):
    from triage.outbox import Outbox

    box = Outbox(svc.keys, svc.cases.engine)
    old_sent, old_waiting, new_sent = (box.enqueue("x", "123", text, "answer") for text in ("a", "b", "c"))
    for row_id in (old_sent, new_sent):
        box._finish(type("Row", (), {"id": row_id, "attempts": 0})(), "sent", None)
    now = db.utcnow()
    with svc.cases.engine.begin() as connection:
        connection.execute(db.outbound_messages.update().where(db.outbound_messages.c.id.in_([old_sent, old_waiting]))
                           .values(created_at=now - dt.timedelta(days=31)))
    assert retention.purge(svc, None, retention.RetentionPolicy(), actor="staff:admin", now=now)["outbox_rows_deleted"] == 1
    with db.reading(svc.cases.engine) as connection:
        left = set(connection.execute(select(db.outbound_messages.c.id)).scalars())
    assert left == {old_waiting, new_sent}  # a waiting reply is never dropped


def test_the_seen_event_window_comes_from_clinic_yml():
    class Clinic:
        def get(self, *_keys, default=None):
            return {"conversation_days": 30, "case_message_days": 30, "seen_event_days": 3}

    assert retention.RetentionPolicy.from_clinic(Clinic()).seen_event_days == 3


# -- the automated-assistant line ------------------------------------------------

LINES = {"en": "automated assistant", "de": "automatischen Assistenten", "es": "asistente automático",
         "bg": "автоматичния асистент"}


def generate(tracker, action="utter_answer"):
    from tests.test_nlg import DOMAIN
    from triage.rasa.nlg import TriageNLG

    return asyncio.run(TriageNLG(None, DOMAIN).generate(action, tracker, "x"))


def user(tracker, text, triage):
    tracker.update(UserUttered(text, intent={"name": triage.get("intent"), "confidence": 0.9},
                               parse_data={"intent": {"name": triage.get("intent")}, "triage": triage, "text": text},
                               input_channel="x"))


@pytest.mark.parametrize("language", sorted(LINES))
def test_the_first_reply_of_a_conversation_says_it_is_automated_once(language):
    tracker = DialogueStateTracker(f"patient-{language}", [])
    routine = {"decision": "answer", "intent": "ask_opening_hours", "language": language, "confidence": 0.97}
    user(tracker, "opening hours?", routine)
    first = generate(tracker)
    assert LINES[language] in first["text"] and first["text"].index(LINES[language]) > 0  # after the answer
    assert first["triage_decision"] == "answer"
    tracker.update(BotUttered(first["text"]))
    user(tracker, "and on saturday?", routine)
    assert LINES[language] not in generate(tracker)["text"]
    tracker.update(Restarted())  # a new conversation: said again
    user(tracker, "opening hours?", routine)
    assert LINES[language] in generate(tracker)["text"]


def test_a_crisis_first_reply_still_starts_with_the_emergency_number(svc):
    tracker = DialogueStateTracker("patient-crisis", [])
    user(tracker, "i want to kill myself", {"decision": "crisis", "intent": "crisis_self_harm", "language": "en"})
    reply = generate(tracker, "utter_escalate")
    assert reply["text"].startswith("🚨") and "112" in reply["text"].split("\n")[0]
    assert reply["text"].rstrip().endswith(")") and LINES["en"] in reply["text"].split("\n\n")[-1]
    assert reply["triage_decision"] == "crisis"


def test_the_legacy_action_escalate_reply_carries_the_line_and_the_decision_too(svc):
    """A model trained before utter_escalate answers a crisis from the action server."""
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    from actions.actions import ActionEscalate

    latest = {"text": "quiero morir", "triage": {"decision": "crisis", "language": "es"}}
    for earlier, says in (([{"event": "user", "text": "quiero morir"}], True),
                          ([{"event": "bot", "text": "hola"}, {"event": "user", "text": "quiero morir"}], False)):
        dispatcher = CollectingDispatcher()
        asyncio.run(ActionEscalate().run(dispatcher, Tracker("patient-es", {}, latest, earlier, False, None, {},
                                                             "action_listen"), {}))
        message = dispatcher.messages[0]
        assert message["text"].startswith("🚨") and (LINES["es"] in message["text"]) is says
        assert message["triage_decision"] == "crisis"
