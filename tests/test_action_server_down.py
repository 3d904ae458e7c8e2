"""A crisis is never silent, even with the action server down (issue 15): the reply and the
staff case come from the Rasa server (utter_escalate, triage/rasa/nlg.py); action_escalate only
pauses, and our channels hold the conversation by its case when that pause is lost.

Needs a model trained on the current data/rules.yml (escalating intents -> utter_escalate)."""
import re
import uuid

import pytest

from tests.fakes import Recorder
from tests.servers import Assistant, free_port
from triage import db
from triage.audit import AuditLog
from triage.cases import Cases
from triage.keys import KeyStore

pytestmark = pytest.mark.server


def without_action_server(bot: Assistant) -> Assistant:
    """Points Rasa's action endpoint at a port nobody listens on."""
    closed = free_port()
    text = bot.endpoints.read_text()
    bot.endpoints.write_text(re.sub(r'url: "http://127\.0\.0\.1:\d+/webhook"',
                                    f'url: "http://127.0.0.1:{closed}/webhook"', text))
    assert not bot.port_open(closed)
    return bot


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("no-actions")
    keys = KeyStore.create_file(tmp / "keys.json")
    hook = Recorder().start()
    url = f"sqlite:///{tmp / 'triage.db'}"
    bot = without_action_server(Assistant(tmp, {"TRIAGE_DB_URL": url, "TRIAGE_MASTER_KEY_FILE": str(tmp / "keys.json"),
                                                "TRIAGE_STAFF_WEBHOOKS": f"{hook.url}/staff"})).start()
    audit = AuditLog(keys, db.engine(url))
    yield {"bot": bot, "cases": Cases(keys, audit, engine=db.engine(url)), "hook": hook}
    bot.stop()
    hook.stop()


@pytest.mark.parametrize("text", ["i want to kill myself", "quiero matarme"])
def test_a_crisis_gets_its_reply_and_an_urgent_case_without_the_action_server(stack, text):
    bot, cases = stack["bot"], stack["cases"]
    sender = f"patient-{uuid.uuid4().hex[:6]}"
    reply = bot.reply(text, sender)
    assert reply.startswith("🚨") and "112" in reply.splitlines()[0]
    assert "matarme" not in reply and "kill" not in reply
    case = cases.active_case("rest", sender)
    assert case is not None and case["priority"] == "urgent" and case["paused"]
    assert cases.first_patient_message(case["id"]) == text
    stack["hook"].wait_for(1, lambda r: r["body"].get("case_id") == case["id"])


def test_a_private_message_gets_its_reply_and_a_case_and_the_case_holds_the_conversation(stack):
    bot, cases = stack["bot"], stack["cases"]
    sender = f"patient-{uuid.uuid4().hex[:6]}"
    reply = bot.reply("my sertraline makes me shake", sender)
    assert "privately" in reply and "sertraline" not in reply
    case = cases.active_case("rest", sender)
    assert case is not None and case["priority"] == "normal"
    # Rasa never got the pause (the action failed), yet no automatic answer follows: the case holds it.
    assert bot.send("are you open on saturday?", sender).json() == []
    assert len(cases.list_open()) >= 1 and cases.active_case("rest", sender)["id"] == case["id"]
    # A routine conversation is answered in the Rasa server as before.
    assert "Opening hours" in bot.reply("are you open on saturday?", f"p-{uuid.uuid4().hex[:6]}")


def test_with_the_database_down_too_the_crisis_is_answered_and_spooled(tmp_path):
    """The assistant starts on its own PostgreSQL database, which is then dropped: every
    case write fails (scripts/run refuses to start without a database at all)."""
    from sqlalchemy import create_engine, text

    from tests.conftest import PG_ADMIN_URL

    name = f"triage_down_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, future=True, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    spool_dir = tmp_path / "spool"
    bot = without_action_server(Assistant(tmp_path, {"TRIAGE_DB_URL": PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name,
                                                     "TRIAGE_SPOOL_DIR": str(spool_dir),
                                                     "TRIAGE_STAFF_WEBHOOKS": ""}))
    try:
        bot.start()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        reply = bot.reply("i want to kill myself", f"patient-{uuid.uuid4().hex[:6]}")
        assert reply.startswith("🚨") and "112" in reply.splitlines()[0]
        assert len(list(spool_dir.glob("*.sealed"))) == 1
    finally:
        bot.stop()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
