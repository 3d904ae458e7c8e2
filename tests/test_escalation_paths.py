"""Every escalation path goes through handoff.escalate, the one function that gives the
reply and opens the case (notice, audit, review) or spools it when the database is down.

The paths: the NLG's utter_escalate (a REST message), a Messenger DM and an X DM (the
channel's deliver, then Rasa's turn, which ends in the NLG), a Messenger comment, an X
mention, and the legacy action_escalate. Each is checked twice: through a spy on
handoff.escalate (called once, with the path's channel and the decision), and by its
effect: a case for that channel and sender, or, with the database down, a sealed file in
the spool and still the reply. No model is needed: the decision is what the pipeline
would have put on the message.
"""
import asyncio
from types import SimpleNamespace

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.actions import ActionEscalate
from tests import channel_payloads as p
from triage import handoff, spool
from triage.channels import messenger, x_dm, x_events
from triage.channels.base import deliver
from triage.decision import Decision
from triage.rasa.nlg import TriageNLG

TEXT = "i took all my pills and i want to die"
CRISIS = {"decision": "crisis", "intent": "crisis_overdose", "language": "en", "confidence": 1.0,
          "reasons": ["red_flag"]}
DOMAIN = Domain.from_yaml("""
version: "3.1"
responses:
  utter_escalate:
    - text: "domain fallback: call your local emergency number now"
""")


@pytest.fixture
def escalations(monkeypatch):
    """A spy on the one public function; it still does the work."""
    calls = []
    real = handoff.escalate

    def spy(sender_id, channel, decision, text):
        calls.append((channel, decision))
        return real(sender_id, channel, decision, text)

    monkeypatch.setattr(handoff, "escalate", spy)
    return calls


def tracker_for(sender_id, channel, text):
    tracker = DialogueStateTracker(sender_id, [])
    tracker.update(UserUttered(text, intent={"name": CRISIS["intent"], "confidence": 1.0},
                               parse_data={"intent": {"name": CRISIS["intent"]}, "triage": CRISIS, "text": text},
                               input_channel=channel))
    return tracker


async def rasa_turn(message: UserMessage) -> None:
    """Stands in for Rasa's turn on a crisis: the rules run utter_escalate, the NLG fills it."""
    tracker = tracker_for(message.sender_id, message.input_channel, message.text)
    response = await TriageNLG(None, DOMAIN).generate("utter_escalate", tracker, message.input_channel)
    await message.output_channel.send_text_message(message.sender_id, response["text"])


def crisis_agent():
    async def parse_message(text):
        return {"text": text, "triage": dict(CRISIS)}

    return SimpleNamespace(ctx=SimpleNamespace(agent=SimpleNamespace(parse_message=parse_message)))


class Platform:
    """A platform client that records the public and private replies it is asked for."""

    def __init__(self):
        self.sent = []

    def __getattr__(self, name):
        return lambda *args: self.sent.append((name, args))


def nlg(sender):
    tracker = tracker_for(sender, "rest", TEXT)
    return asyncio.run(TriageNLG(None, DOMAIN).generate("utter_escalate", tracker, "rest"))["text"]


def direct_message(channel):
    def run(sender):
        output = CollectingOutputChannel()
        asyncio.run(deliver(rasa_turn, UserMessage(TEXT, output, sender, input_channel=channel)))
        return output.messages[0]["text"]
    return run


def messenger_comment(sender):
    channel = messenger.MessengerInput("verify", "secret", "page-token")
    channel.client = Platform()
    event = messenger.parse(p.fb_batch(changes=[p.fb_comment(sender, TEXT)]))[0]

    async def not_queued(*args, **kwargs):
        return False

    with pytest.MonkeyPatch.context() as patch:  # sent directly, as without the outbox: the client records them
        patch.setattr(messenger, "queue", not_queued)
        asyncio.run(channel._comment(crisis_agent(), event))
    return dict(channel.client.sent)["private_reply"][1]


def x_mention(sender):
    channel = x_dm.XInput("key", "secret", "token", "token-secret", p.X_USER)
    channel.client = Platform()
    event = x_events.parse(p.x_mention(sender, TEXT), p.X_USER)[0]
    asyncio.run(channel._mention(crisis_agent(), event))
    return dict(channel.client.sent)["reply_publicly"][1]  # public: the emergency number and "DM us"


def action(sender):
    latest = {"text": TEXT, "triage": CRISIS, "intent": {"name": CRISIS["intent"]}}
    tracker = Tracker(sender, {}, latest, [{"event": "user", "text": TEXT, "parse_data": latest}], False, None, {},
                      "action_listen")
    tracker.get_latest_input_channel = lambda: "rest"
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionEscalate().run(dispatcher, tracker, {}))
    return dispatcher.messages[0]["text"]


PATHS = {
    "nlg": (nlg, "rest"),
    "messenger_dm": (direct_message("facebook"), "facebook"),
    "x_dm": (direct_message("x"), "x"),
    "messenger_comment": (messenger_comment, messenger.COMMENT_CHANNEL),
    "x_mention": (x_mention, "x_mention"),
    "action": (action, "rest"),
}


@pytest.mark.parametrize("path", sorted(PATHS))
def test_every_path_escalates_through_the_one_function(svc, escalations, path):
    run, channel = PATHS[path]
    sender = f"sender-{path}"
    reply = run(sender)
    assert reply.startswith("🚨") or (path == "x_mention" and "112" in reply)
    assert "pills" not in reply
    assert len(escalations) == 1
    called_channel, decision = escalations[0]
    assert called_channel == channel and isinstance(decision, Decision) and decision.is_crisis
    case = svc.cases.active_case(channel, sender)
    assert case is not None and case["priority"] == "urgent"
    assert [row["case_id"] for row in svc.audit.rows() if row["event"] == "replied"] == [case["id"]]
    assert spool.pending() == 0


@pytest.mark.parametrize("path", sorted(PATHS))
def test_with_the_database_down_every_path_spools_and_still_replies(svc, escalations, monkeypatch, path):
    def down():
        raise ConnectionError("database down")

    monkeypatch.setattr("triage.services.default", down)
    run, channel = PATHS[path]
    reply = run(f"down-{path}")
    assert reply.startswith("🚨") or (path == "x_mention" and "112" in reply)
    assert [c for c, _ in escalations] == [channel]
    assert spool.pending() == 1
    # the worker records it as soon as the database answers
    from triage import worker

    monkeypatch.setattr("triage.services.default", lambda: svc)
    assert worker.run_once(svc)["spooled_recorded"] == 1
    assert svc.cases.active_case(channel, f"down-{path}")["priority"] == "urgent"
