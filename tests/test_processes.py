"""The processes `make run` starts (scripts/run): supervised, no secret on a command line,
listening on 127.0.0.1 only, an action server that runs actions for Rasa only."""
import re
import os
import signal
import time
from pathlib import Path

import pytest
import requests

from tests.servers import Assistant
from triage import db
from triage.audit import AuditLog
from triage.cases import Cases
from triage.keys import KeyStore

pytestmark = pytest.mark.server


def group(bot):
    """pid -> command line of every process of the run (scripts/run leads its own session)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[2]) == bot.process.pid:  # pgrp
            found[int(entry.name)] = cmdline
    return found


def pid_of(bot, marker: bytes) -> int:
    pids = [pid for pid, cmdline in group(bot).items() if marker in cmdline]
    assert len(pids) == 1, (marker, group(bot))
    return pids[0]


def listeners(port: int):
    """Local addresses listening on the port, from /proc/net/tcp and tcp6 (state 0A = LISTEN)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.append(address)
    return found


def wait_for(check, timeout: float, what: str):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if check():
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise AssertionError(f"not within {timeout} s: {what}")


@pytest.fixture(scope="module")
def bot(tmp_path_factory):
    # One restart allowed per minute, so that the last test can see the run give up.
    assistant = Assistant(tmp_path_factory.mktemp("processes"), {"TRIAGE_MAX_RESTARTS_PER_MINUTE": "1"}).start()
    yield assistant
    assistant.stop()


def test_no_secret_on_any_command_line(bot):
    """The Rasa API token was an argument of `rasa run` (readable by every local user)."""
    secrets = [bot.env["RASA_AUTH_TOKEN"].encode(), bot.env["TRIAGE_ACTION_TOKEN"].encode()]
    processes = group(bot)
    assert any(b"triage.serve\x00rasa" in cmdline for cmdline in processes.values()), processes
    assert any(b"triage.serve\x00actions" in cmdline for cmdline in processes.values()), processes
    for pid, cmdline in processes.items():
        for secret in secrets:
            assert secret not in cmdline, pid
    # and the API does need the token: it reached Rasa some other way
    status = f"{bot.url}/status"
    assert requests.get(status, timeout=10).status_code == 401
    assert requests.get(status, params={"token": bot.env["RASA_AUTH_TOKEN"]}, timeout=10).status_code == 200


def test_rasa_action_server_and_console_listen_on_localhost_only(bot):
    for port in (bot.rasa_port, bot.actions_port, bot.console_port):
        assert listeners(port) == ["0100007F"], (port, listeners(port))  # 127.0.0.1, nothing on :: or 0.0.0.0


def action_call(sender):
    """What Rasa posts to run action_escalate, for a made-up conversation."""
    return {"next_action": "action_escalate", "sender_id": sender, "version": "3.6.21", "domain": {},
            "tracker": {"sender_id": sender, "slots": {}, "latest_message": {
                "text": "I want to kill myself", "intent": {"name": "self_harm"}, "entities": [],
                "triage": {"decision": "crisis", "language": "en"}},
                "events": [], "paused": False, "followup_action": None, "active_loop": {},
                "latest_action_name": "action_listen"}}


@pytest.mark.parametrize("params", [{}, {"token": "wrong"}, {"token": ""}], ids=["none", "wrong", "empty"])
def test_action_server_refuses_calls_without_the_token(bot, params):
    url = f"http://127.0.0.1:{bot.actions_port}"
    response = requests.post(f"{url}/webhook", params=params, json=action_call("intruder"), timeout=30)
    assert response.status_code == 401
    assert requests.get(f"{url}/actions", params=params, timeout=30).status_code == 401
    assert requests.get(f"{url}/health", timeout=30).status_code == 200  # for the supervisor and load balancers
    keys = KeyStore.load_file(Path(bot.env["TRIAGE_MASTER_KEY_FILE"]))
    engine = db.engine(bot.env["TRIAGE_DB_URL"])
    assert Cases(keys, AuditLog(keys, engine), engine=engine).active_case("rest", "intruder") is None
    # the same call with the token is one the server runs: the 401 is the token's doing
    accepted = requests.post(f"{url}/webhook", params={"token": bot.env["TRIAGE_ACTION_TOKEN"]},
                             json=action_call("intruder"), timeout=30)
    assert accepted.status_code == 200 and {"event": "pause"} in [
        {"event": e["event"]} for e in accepted.json()["events"]]


def escalation_pauses(bot, sender) -> bool:
    """A private message, end to end: action_escalate (run by the action server, which only
    Rasa can call) pauses the conversation."""
    assert bot.send("my anxiety is really bad lately", sender).status_code == 200
    tracker = requests.get(f"{bot.url}/conversations/{sender}/tracker",
                           params={"token": bot.env["RASA_AUTH_TOKEN"]}, timeout=30).json()
    return tracker["paused"] is True and any(e.get("name") == "action_escalate" for e in tracker["events"])


def test_rasa_calls_the_action_server_with_the_token(bot):
    assert escalation_pauses(bot, "escalated-1")
    # Rasa logs a refused action call with its status; a random port such as 40195 is not one.
    assert not re.search(r"\b401\b", bot.output())


def test_a_killed_action_server_is_restarted_while_rasa_stays_up(bot):
    """Before, killing the action server stopped the whole run ("a process exited; stopping the others")."""
    rasa, actions = pid_of(bot, b"triage.serve\x00rasa"), pid_of(bot, b"triage.serve\x00actions")
    os.kill(actions, signal.SIGKILL)
    health = f"http://127.0.0.1:{bot.actions_port}/health"
    wait_for(lambda: actions not in group(bot) and requests.get(health, timeout=5).status_code == 200,
             90, "the action server answers again")
    assert pid_of(bot, b"triage.serve\x00rasa") == rasa
    assert bot.process.poll() is None
    assert "the action server on port" in bot.output() and "killed by signal 9" in bot.output()
    assert escalation_pauses(bot, "after-restart")


def test_too_many_restarts_stop_the_whole_run_with_a_clear_message(bot):
    # runs last: the second stop within a minute (limit 1 in this module) gives up
    os.kill(pid_of(bot, b"triage.serve\x00actions"), signal.SIGKILL)
    bot.process.wait(60)
    assert bot.process.returncode != 0
    assert "stopped 2 times within a minute" in bot.output()
    assert "==> Stopped" in bot.output()
    assert not any(bot.port_open(port) for port in (bot.rasa_port, bot.actions_port, bot.console_port))
