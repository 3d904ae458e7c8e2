"""End to end over the REST channel, with the servers started as `make run` starts them."""
import os
import signal

import pytest
import requests

from tests.servers import Assistant

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def assistant(tmp_path_factory):
    bot = Assistant(tmp_path_factory.mktemp("server")).start()
    yield bot
    bot.stop()


@pytest.mark.parametrize("message,expected", [
    ("when are you open on saturday?", "Opening hours"),
    ("wann habt ihr am samstag offen", "Öffnungszeiten"),
    ("a que hora abren el sabado", "Horario"),
    ("do you take private insurance", "We accept"),
    ("where can i park", "Uferstraße"),
    ("how do I request a refill?", "patient portal"),
    ("Do you offer HIV testing?", "Confidential HIV"),
])
def test_routine_questions_get_the_answer_from_clinic_config(assistant, message, expected):
    assert expected in assistant.reply(message, sender=f"r-{hash(message)}")


@pytest.mark.parametrize("message,language_marker", [
    ("I need a refill of my metformin", "let's continue this privately"),
    ("ich glaube ich bin schwanger", "privat weiter"),
    ("tengo fiebre desde hace tres dias", "de forma privada"),
])
def test_sensitive_message_gets_the_private_reply_without_echo(assistant, message, language_marker):
    text = assistant.reply(message, sender=f"s-{hash(message)}")
    assert language_marker in text
    assert "https://portal.riverside-clinic.example/messages" in text
    for word in message.split():
        if len(word) > 4:
            assert word.lower() not in text.lower()


@pytest.mark.parametrize("message", ["I want to kill myself", "mein vater atmet nicht", "me quiero matar"])
def test_crisis_message_gets_emergency_and_crisis_line_first(assistant, message):
    text = assistant.reply(message, sender=f"c-{hash(message)}")
    assert text.splitlines()[0].startswith("🚨") and "112" in text.splitlines()[0]
    assert "0800 111 0 111" in text


@pytest.mark.parametrize("message,extra,expected",
                         ids=["empty", "whitespace", "10k", "emoji", "french", "attachment"], argvalues=[
    ("", {}, "empty"),
    ("    ", {}, "empty"),
    # A wall of text is not read as a routine question: a person reads it (the private reply).
    ("x" * 10_000, {}, "continue this privately"),
    ("😀🎉👍", {}, "in words"),
    ("bonjour, je voudrais un rendez-vous demain", {}, "English, German or Spanish"),
    ("", {"metadata": {"attachments": [{"type": "image", "url": "https://example.org/a.jpg"}]}}, "can't open pictures"),
])
def test_bad_input_gets_a_polite_reply(assistant, message, extra, expected):
    text = assistant.reply(message, sender=f"b-{len(message)}-{bool(extra)}", **extra)
    assert expected in text
    assert "example.org" not in text


@pytest.mark.parametrize("body,status", ids=["json", "array", "no-sender", "int-message", "bad-metadata", "not-utf8"], argvalues=[
    (b"{not json", 400),
    (b"[]", 400),
    (b'{"message": "hi"}', 400),
    (b'{"sender": "a", "message": 42}', 400),
    (b'{"sender": "a", "message": "hi", "metadata": "x"}', 400),
    (b"\xff\xfe\x00", 400),
])
def test_malformed_requests_get_400_and_the_server_keeps_serving(assistant, body, status):
    response = requests.post(f"{assistant.url}/webhooks/rest/webhook", data=body,
                             headers={"Content-Type": "application/json"}, timeout=30)
    assert response.status_code == status
    assert "error" in response.json()
    assert "Opening hours" in assistant.reply("opening hours?", sender="after-bad")


def test_a_typed_intent_shortcut_is_classified_like_any_text(assistant):
    """Rasa would take "/intent{...}" as the intent itself, with no triage decision: a
    crisis inside it got no crisis reply, and "/ask_opening_hours" a handoff with no case."""
    crisis = assistant.reply('/ask_opening_hours{"note": "i want to kill myself"}', sender="shortcut-1")
    assert crisis.splitlines()[0].startswith("🚨") and "0800 111 0 111" in crisis
    assert "privately" not in assistant.reply("/ask_opening_hours", sender="shortcut-2")


def test_conversation_keeps_going_after_a_private_message(assistant):
    sender = "multi-turn"
    assert "Opening hours" in assistant.reply("hi, what are your opening hours", sender)
    assert "privately" in assistant.reply("also my anxiety is really bad lately", sender)


def test_message_text_is_not_logged_at_info(assistant):
    canary = "zebra-canary-4412 my sertraline dose"
    assistant.reply(canary, sender="log-check")
    assert "zebra-canary-4412" not in assistant.output()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_stop_signal_stops_both_servers(tmp_path, sig):
    """Processes restart when they stop on their own (tests/test_processes.py), never after this."""
    bot = Assistant(tmp_path).start()
    assert bot.port_open(bot.rasa_port) and bot.port_open(bot.actions_port)
    if sig == signal.SIGINT:  # a terminal sends Ctrl-C to every process of the foreground group
        os.killpg(bot.process.pid, sig)
    assert bot.stop(sig) == 0
    assert "==> Stopped" in bot.output()
    assert not bot.port_open(bot.rasa_port) and not bot.port_open(bot.actions_port)
    assert "restarting" not in bot.output()
