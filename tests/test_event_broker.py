"""The optional analytics broker publishes no PHI: unit table, then the real RabbitMQ."""
import asyncio
import json
import time
import uuid

import pytest

from tests.servers import Assistant
from triage.rasa.event_broker import phi_free

CANARY = "CANARY-Ottoline-4410 my hiv test came back positive"


def events_for(sender):
    return [
        {"sender_id": sender, "event": "user", "timestamp": 1.0, "text": CANARY, "input_channel": "rest",
         "message_id": "m-1", "metadata": {"name": "Ottoline"},
         "parse_data": {"text": CANARY, "intent": {"name": "disclose_diagnosis_results", "confidence": 0.97},
                        "entities": [{"value": "hiv"}],
                        "triage": {"decision": "private", "intent": "disclose_diagnosis_results",
                                   "language": "en", "reasons": ["model_sensitive"]}}},
        {"sender_id": sender, "event": "bot", "timestamp": 1.1, "text": "We have moved this to a private channel",
         "data": {"elements": None}, "metadata": {"utter_action": "utter_answer"}},
        {"sender_id": sender, "event": "action", "timestamp": 1.2, "name": "action_escalate", "policy": "RulePolicy",
         "confidence": 1.0},
        {"sender_id": sender, "event": "slot", "timestamp": 1.3, "name": "language", "value": "en"},
        {"sender_id": sender, "event": "pause", "timestamp": 1.4},
    ]


def test_only_allowed_fields_leave(keystore):
    sender = "psid-55501234"
    published = [phi_free(event, keystore) for event in events_for(sender)]
    dump = json.dumps(published)
    for secret in ("CANARY", "hiv", "Ottoline", "disclose_", sender, "private channel", "model_sensitive", "m-1"):
        assert secret not in dump, secret
    user, bot, action, slot, pause = published
    assert user == {"event": "user", "timestamp": 1.0, "conversation": user["conversation"], "decision": "private",
                    "language": "en", "input_channel": "rest"}
    assert set(bot) == {"event", "timestamp", "conversation"}
    assert action["name"] == "action_escalate"
    assert slot == {"event": "slot", "timestamp": 1.3, "conversation": user["conversation"], "name": "language"}
    assert pause == {"event": "pause", "timestamp": 1.4, "conversation": user["conversation"]}
    assert len({e["conversation"] for e in published}) == 1 and len(user["conversation"]) >= 32
    assert phi_free(events_for("someone-else")[0], keystore)["conversation"] != user["conversation"]


def drain(queue_name, timeout=60, quiet=3.0):
    """Every message on the queue, until none has come for ``quiet`` seconds."""
    import aio_pika

    async def run():
        connection = await aio_pika.connect_robust("amqp://guest:guest@127.0.0.1:5672/")
        received = []
        async with connection:
            channel = await connection.channel()
            queue = await channel.declare_queue(queue_name, durable=True)
            deadline, last = time.time() + timeout, time.time()
            while time.time() < deadline and (not received or time.time() - last < quiet):
                message = await queue.get(no_ack=True, fail=False)
                if message is None:
                    await asyncio.sleep(0.2)
                    continue
                received.append(json.loads(message.body))
                last = time.time()
            await queue.delete(if_unused=False, if_empty=False)
        return received

    return asyncio.run(run())


@pytest.mark.server
def test_events_on_the_real_rabbitmq_carry_no_phi(tmp_path):
    queue = f"triage_test_{uuid.uuid4().hex[:8]}"
    tracker = (f"tracker_store:\n  type: triage.rasa.tracker_store.EncryptedSQLTrackerStore\n  dialect: sqlite\n"
               f"  db: {tmp_path / 'tracker.db'}\n"
               f"event_broker:\n  type: triage.rasa.event_broker.PhiFreePikaEventBroker\n  url: 127.0.0.1\n"
               f"  username: guest\n  password: guest\n  queues:\n    - {queue}\n")
    bot = Assistant(tmp_path, tracker_yaml=tracker).start()
    try:
        sender = f"patient-{uuid.uuid4().hex[:8]}"
        assert "Opening hours" in bot.reply("when are you open on monday?", sender=f"{sender}-r")
        assert "privately" in bot.reply(CANARY, sender=sender)
        events = drain(queue)
    finally:
        bot.stop()
    dump = json.dumps(events)
    assert events and {"user", "bot", "action"} <= {e["event"] for e in events}
    for secret in ("CANARY", "hiv", "Ottoline", "disclose_", sender, "Opening hours", "monday"):
        assert secret not in dump, secret
    decisions = sorted(e["decision"] for e in events if e["event"] == "user")
    assert decisions == ["answer", "private"]
    assert "action_escalate" in {e.get("name") for e in events if e["event"] == "action"}
