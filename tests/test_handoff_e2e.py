"""Escalation end to end through the running servers' REST channel, with the
audit log and cases on SQLite and on the real PostgreSQL."""
import os
import subprocess
import time
import uuid

import pytest

from tests.conftest import empty_pg
from tests.fakes import Recorder
from tests.servers import ROOT, Assistant
from triage import db
from triage.audit import AuditLog
from triage.cases import Cases
from triage.keys import KeyStore

pytestmark = pytest.mark.server


def triage_cli(env, *args):
    return subprocess.run([str(ROOT / ".venv/bin/triage"), *args], env=env, capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def make_stack(kind, tmp_path, pg_url=None):
    """The assistant with its own keyring, database and staff webhook."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'triage.db'}"
    else:
        url = empty_pg(pg_url)
    keyring = tmp_path / "keys.json"
    keys = KeyStore.create_file(keyring)
    hook = Recorder().start()
    env = {"TRIAGE_DB_URL": url, "TRIAGE_MASTER_KEY_FILE": str(keyring),
           "TRIAGE_STAFF_WEBHOOKS": f"{hook.url}/staff,slack:{hook.url}/slack",
           "RASA_AUTH_TOKEN": uuid.uuid4().hex, "TRIAGE_NOTICE_BACKOFF_SECONDS": "0.5",
           "TRIAGE_WORKER_INTERVAL": "0.5"}
    bot = Assistant(tmp_path, env).start()
    engine = db.engine(url)
    audit = AuditLog(keys, engine)
    return {"bot": bot, "hook": hook, "audit": audit, "cases": Cases(keys, audit, engine=engine), "url": url,
            "env": bot.env, "tmp": tmp_path, "kind": kind}


def teardown(stack):
    stack["bot"].stop()
    stack["hook"].stop()


@pytest.fixture(params=["sqlite", "postgres"])
def stack(request, tmp_path):
    pg = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    built = make_stack(request.param, tmp_path, pg)
    yield built
    teardown(built)


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One SQLite-backed assistant for the tests that need no fresh store."""
    built = make_stack("sqlite", tmp_path_factory.mktemp("handoff"))
    yield built
    teardown(built)


def events(audit):
    return [row["event"] for row in audit.rows()]


def test_private_message_reply_case_notice_audit_pause_and_resume(stack):
    bot, hook, audit, cases = stack["bot"], stack["hook"], stack["audit"], stack["cases"]
    canary = f"canary-{uuid.uuid4().hex[:8]} my sertraline makes me shake"
    sender = f"patient-{uuid.uuid4().hex[:6]}"

    reply = bot.reply(canary, sender)
    assert "privately" in reply and "canary" not in reply

    notices = hook.wait_for(2)  # generic and Slack
    generic = next(r["body"] for r in notices if r["path"] == "/staff")
    slack = next(r["body"] for r in notices if r["path"] == "/slack")
    assert generic["priority"] == "normal" and generic["channel"] == "rest"
    assert generic["open"].startswith("triage cases show ")
    assert "text" in slack and generic["case_id"] in slack["text"]
    for request in notices:
        assert b"canary" not in request["raw"] and b"sertraline" not in request["raw"]

    open_cases = cases.list_open()
    assert len(open_cases) == 1
    case_id = open_cases[0]["id"]
    assert open_cases[0]["sla_due_at"] > open_cases[0]["created_at"]
    for event in ("escalated", "replied", "notified"):
        assert event in events(audit)

    # While staff hold the case: no automatic answer, the message is attached.
    assert bot.send("are you open on saturday?", sender).json() == []
    shown = cases.show(case_id, "nurse-1")
    assert [m["text"] for m in shown["messages"]] == [canary, "are you open on saturday?"]
    assert shown["intent"].startswith("disclose_")

    # Staff resolve through the CLI: the bot answers again.
    result = triage_cli(stack["env"], "cases", "resolve", case_id, "--staff", "nurse-1", "--outcome", "contacted")
    assert result.returncode == 0, result.stderr
    assert "handed back to the bot" in result.stdout
    assert "Opening hours" in bot.reply("are you open on saturday?", sender)
    assert {"viewed", "resolved", "resumed"} <= set(events(audit))
    assert audit.verify().ok

    # The unique text is nowhere in clear in the audit/case store.
    if stack["kind"] == "sqlite":
        path = stack["url"][len("sqlite:///"):]
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                data = open(path + suffix, "rb").read()
                assert canary.encode() not in data and b"sertraline" not in data
                assert b"disclose_" not in data
    else:
        dump = subprocess.run(["pg_dump", "--no-owner", stack["url"]], capture_output=True, timeout=120)
        assert dump.returncode == 0, dump.stderr
        assert canary.encode() not in dump.stdout and b"sertraline" not in dump.stdout
        assert b"disclose_" not in dump.stdout


def test_crisis_during_a_held_conversation_is_still_answered_and_made_urgent(shared):
    bot, hook, cases = shared["bot"], shared["hook"], shared["cases"]
    sender = f"patient-{uuid.uuid4().hex[:6]}"
    bot.reply("I think I might be pregnant", sender)
    case_id = cases.active_case("rest", sender)["id"]
    reply = bot.reply("i cant do this anymore i want to kill myself", sender)
    assert reply.startswith("🚨") and "112" in reply
    assert cases.get(case_id)["priority"] == "urgent"
    hook.wait_for(1, lambda r: r["path"] == "/staff" and r["body"]["type"] == "triage.case_urgent")


def test_staff_webhook_down_then_500_then_back(shared):
    bot, hook, audit = shared["bot"], shared["hook"], shared["audit"]
    hook.stop()  # connection refused
    failures_before = events(audit).count("notice_failed")
    delivered_before = len(hook.received(lambda r: r["status"] == 200))
    started = time.time()
    reply = bot.reply("I have a lump in my breast", f"p-{uuid.uuid4().hex[:6]}")
    assert "privately" in reply and time.time() - started < 10
    deadline = time.time() + 30
    while events(audit).count("notice_failed") == failures_before and time.time() < deadline:
        time.sleep(0.3)
    assert events(audit).count("notice_failed") > failures_before
    hook.status = 500
    hook.start()
    hook.wait_for(1, lambda r: r["status"] == 500)
    hook.status = 200
    delivered = hook.wait_for(delivered_before + 2, lambda r: r["status"] == 200, timeout=60)[delivered_before:]
    assert {r["path"] for r in delivered} == {"/staff", "/slack"}
    assert events(audit).count("notice_failed") >= failures_before + 3
    assert audit.verify().ok


def test_staff_cli_verify_and_wrong_key(shared, tmp_path):
    bot, cases, stack = shared["bot"], shared["cases"], shared
    sender = f"p-{uuid.uuid4().hex[:6]}"
    bot.reply("my depression is getting worse", sender)
    case_id = cases.active_case("rest", sender)["id"]
    result = triage_cli(stack["env"], "audit", "verify")
    assert result.returncode == 0 and "audit chain OK" in result.stdout

    wrong = dict(stack["env"], TRIAGE_MASTER_KEY_FILE=str(tmp_path / "wrong.json"))
    KeyStore.create_file(tmp_path / "wrong.json")
    result = triage_cli(wrong, "cases", "show", case_id, "--staff", "nurse-2")
    assert result.returncode == 1
    assert "not in the keyring" in result.stderr
    assert "v1." not in result.stdout + result.stderr  # never prints ciphertext as text

    # Rotation: new key, old entries re-wrapped and still readable.
    result = triage_cli(stack["env"], "keys", "rotate", "--staff", "admin-1")
    assert result.returncode == 0, result.stderr
    result = triage_cli(stack["env"], "cases", "show", case_id, "--staff", "nurse-2")
    assert result.returncode == 0 and "my depression is getting worse" in result.stdout
    assert triage_cli(stack["env"], "audit", "verify").returncode == 0
