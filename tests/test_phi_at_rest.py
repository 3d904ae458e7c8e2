"""Canary, end to end: a unique sensitive sentence goes through the running
server (message, follow-ups, restart, pause, staff resolve). Afterwards it is
nowhere in clear: not in any file the run wrote, not in a pg_dump."""
import subprocess
import uuid
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from tests.conftest import empty_pg
from tests.servers import ROOT, Assistant
from triage import db

pytestmark = pytest.mark.server


def cli(env, *args):
    return subprocess.run([str(ROOT / ".venv/bin/triage"), *args], env=env, capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def files_under(*roots):
    for root in roots:
        for path in Path(root).rglob("*"):
            if path.is_file():
                yield path


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_canary_conversation_leaves_no_plaintext(backend, tmp_path, request):
    canary = f"quokka-{uuid.uuid4().hex[:10]} my biopsy showed a tumour"
    sender = f"canary-{uuid.uuid4().hex[:6]}"
    env, tracker_yaml = {}, None
    if backend == "postgres":
        pg = empty_pg(request.getfixturevalue("pg_url"))
        url = sa.engine.make_url(pg)
        env["TRIAGE_DB_URL"] = pg
        tracker_yaml = (f"tracker_store:\n  type: triage.rasa.tracker_store.EncryptedSQLTrackerStore\n"
                        f"  dialect: postgresql\n  url: {url.host}\n  port: {url.port}\n"
                        f"  db: {url.database}\n  username: {url.username}\n")
    token = uuid.uuid4().hex
    env["RASA_AUTH_TOKEN"] = token

    bot = Assistant(tmp_path, env, tracker_yaml=tracker_yaml).start()
    try:
        assert "privately" in bot.reply(canary, sender)
        assert bot.send(f"{canary} (again)", sender).json() == []
    finally:
        bot.stop()

    # Restart between two messages of one conversation: paused state and slots survive.
    bot = Assistant(tmp_path, env, tracker_yaml=tracker_yaml).start()
    try:
        assert bot.send("are you open on saturday?", sender).json() == []
        tracker = requests.get(f"{bot.url}/conversations/{sender}/tracker", params={"token": bot.env["RASA_AUTH_TOKEN"]},
                               timeout=30).json()
        assert tracker["paused"] is True and tracker["slots"]["language"] == "en"
        assert [e["text"] for e in tracker["events"] if e["event"] == "user"][0] == canary  # read back transparently

        case_line = next(line for line in cli(bot.env, "cases", "list").stdout.splitlines() if "rest" in line)
        result = cli(bot.env, "cases", "resolve", case_line.split()[0], "--staff", "nurse-9", "--outcome", "contacted")
        assert result.returncode == 0, result.stderr
        assert "Opening hours" in bot.reply("are you open on saturday?", sender)
        assert cli(bot.env, "audit", "verify").returncode == 0
    finally:
        bot.stop()

    needles = [canary.split()[0].encode(), b"tumour", b"disclose_", sender.encode()]
    scanned = 0
    for path in files_under(tmp_path, ROOT / "models"):
        data = path.read_bytes()
        scanned += 1
        for needle in needles:
            assert needle not in data, f"{needle!r} found in clear in {path}"
    assert scanned >= 4  # tracker db, triage db, run log, keyring, models
    assert any(p.name.startswith("tracker.db") for p in files_under(tmp_path)) == (backend == "sqlite")
    if backend == "postgres":
        dump = subprocess.run(["pg_dump", "--no-owner", request.getfixturevalue("pg_url")], capture_output=True,
                              timeout=120)
        assert dump.returncode == 0, dump.stderr
        assert b"CREATE TABLE public.events" in dump.stdout and b"CREATE TABLE public.cases" in dump.stdout
        for needle in needles:
            assert needle not in dump.stdout, f"{needle!r} found in pg_dump"


def test_forget_me_command_and_retention_keep_the_chain(tmp_path):
    import time

    import jwt

    # REST open as in development, plus a JWT secret: only a sender's own token makes "forget me" act.
    secret = uuid.uuid4().hex
    bot = Assistant(tmp_path, {"TRIAGE_REST_AUTH": "open", "TRIAGE_REST_JWT_SECRET": secret}).start()
    try:
        keep, leave = f"keep-{uuid.uuid4().hex[:6]}", f"leave-{uuid.uuid4().hex[:6]}"
        bot.reply("my migraine is back, can I see someone", keep)
        bot.reply("i think my medication is wrong", leave)
        assert "Nothing has been deleted" in bot.reply("forget me", leave)  # no token: anyone could send it
        bearer = jwt.encode({"sub": leave, "exp": int(time.time()) + 300}, secret, algorithm="HS256")
        response = requests.post(f"{bot.url}/webhooks/rest/webhook", json={"sender": leave, "message": "forget me"},
                                 headers={"Authorization": f"Bearer {bearer}"}, timeout=60)
        assert response.status_code == 200 and "deleted" in response.json()[0]["text"]
        tracker = requests.get(f"{bot.url}/conversations/{leave}/tracker",
                               params={"token": bot.env["RASA_AUTH_TOKEN"]}, timeout=30).json()
        assert not [e for e in tracker["events"] if e["event"] == "user"]
        kept = requests.get(f"{bot.url}/conversations/{keep}/tracker",
                            params={"token": bot.env["RASA_AUTH_TOKEN"]}, timeout=30).json()
        assert [e for e in kept["events"] if e["event"] == "user"]

        result = cli(bot.env, "retention", "purge", "--days", "1", "--case-days", "1", "--staff", "admin-1")
        assert result.returncode == 0, result.stderr
        result = cli(bot.env, "audit", "verify")
        assert result.returncode == 0 and "OK" in result.stdout
        from triage.audit import AuditLog
        from triage.keys import KeyStore
        log = AuditLog(KeyStore.load_file(Path(bot.env["TRIAGE_MASTER_KEY_FILE"])), db.engine(bot.env["TRIAGE_DB_URL"]))
        assert {"forgotten", "retention_purged"} <= {row["event"] for row in log.rows()}
        # The forgotten sender's case keeps its metadata but no text.
        show = [line for line in cli(bot.env, "cases", "list").stdout.splitlines() if "rest" in line]
        texts = [cli(bot.env, "cases", "show", line.split()[0], "--staff", "admin-1").stdout for line in show]
        assert any("[removed at the patient's request]" in t for t in texts)
        assert any("migraine" in t for t in texts)
    finally:
        bot.stop()
