"""A patient's "/restart": Rasa's restart, never a private case; words while staff hold the conversation."""
import asyncio

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.policies.rule_policy import DEFAULT_ACTION_MAPPINGS
from rasa.shared.core.constants import ACTION_RESTART_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

from tests.servers import ROOT
from triage import db
from triage.rasa import tracker_store
from triage.audit import AuditLog
from triage.cases import Cases, CasePolicy
from triage.channels.base import deliver
from triage.services import Services
from triage.notify import Notifier
from triage.shortcuts import GUARD, RESTART, without_shortcut

PRIVATE = {"decision": "private", "intent": "disclose_symptoms", "confidence": 0.9, "language": "en"}


@pytest.fixture
def svc(keystore, tmp_path, monkeypatch):
    audit = AuditLog(keystore, db.engine(f"sqlite:///{tmp_path / 'triage.db'}"))
    services = Services(keystore, audit, Cases(keystore, audit, CasePolicy({"urgent": 15, "normal": 240})),
                        Notifier(audit, targets=[]))
    monkeypatch.setattr("triage.services.default", lambda: services)
    monkeypatch.setattr(tracker_store, "from_endpoints", lambda *a, **k: None)
    return services


def intent_of(text):
    domain = Domain.load(str(ROOT / "domain.yml"))
    return YAMLStoryReader.unpack_regex_message(Message({TEXT: text}), domain).get(INTENT, {}).get("name")


@pytest.mark.parametrize("text", ["/restart", " /RESTART ", "/Restart\n"])
def test_a_bare_restart_stays_rasas_restart_command(text):
    assert without_shortcut(text, allow_restart=True) == RESTART
    assert intent_of(RESTART) == "restart"
    # RulePolicy's default rule: restart -> action_restart (no reply, no escalation rule involved)
    assert DEFAULT_ACTION_MAPPINGS["restart"] == ACTION_RESTART_NAME


@pytest.mark.parametrize("text", ['/restart{"x": 1}', "/restart please", "/restart@1.0", "/back"])
def test_anything_else_is_still_words(text):
    guarded = without_shortcut(text, allow_restart=True)
    assert guarded.startswith(GUARD) and intent_of(guarded) is None


def test_without_permission_restart_is_words_too():
    assert without_shortcut("/restart").startswith(GUARD)


def send(text, sender="patient-r"):
    reached = []

    async def on_new_message(message):
        reached.append(message.text)

    asyncio.run(deliver(on_new_message, UserMessage(text, CollectingOutputChannel(), sender, input_channel="rest")))
    return reached


def test_restart_reaches_rasa_as_the_command_when_no_case_holds_the_conversation(svc):
    assert send("/restart") == [RESTART]


def test_restart_while_staff_hold_the_conversation_is_words_on_the_case(svc):
    """Rasa lets a restart through a pause: it would give the bot back a conversation staff hold."""
    case_id = svc.cases.open_case("rest", "patient-r", PRIVATE, "my knee is swollen")
    reached = send("/restart")
    # A held message stops at the case (triage.handoff.intercept): Rasa never sees it, so no
    # restart can reach Rasa; the patient's words are on the case.
    assert reached == []
    texts = [m["text"] for m in svc.cases.show(case_id, "ana")["messages"]]
    assert texts == ["my knee is swollen", "/restart"]


@pytest.mark.server
def test_restart_against_the_running_server(tmp_path):
    """The patient's '/restart' opens no case; while staff hold the conversation it un-pauses nothing."""
    import subprocess

    from tests.servers import Assistant

    def open_cases(bot):
        result = subprocess.run([str(ROOT / ".venv/bin/triage"), "cases", "list"], env=bot.env, cwd=ROOT,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return [line for line in result.stdout.splitlines() if " rest " in f" {line} "]

    bot = Assistant(tmp_path).start()
    try:
        response = bot.send("/restart", "restarter")
        assert response.status_code == 200 and response.json() == []
        assert open_cases(bot) == []
        assert "Opening hours" in bot.reply("are you open on saturday?", "restarter")  # a fresh conversation

        assert bot.reply("my chest x-ray results came back, what do they mean", "held")  # private: a case
        assert len(open_cases(bot)) == 1
        assert bot.send("/restart", "held").json() == []
        assert bot.send("are you open on saturday?", "held").json() == []  # still held by staff
        assert len(open_cases(bot)) == 1
    finally:
        bot.stop()
