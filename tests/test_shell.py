"""`make shell` (scripts/shell): a terminal chat. It crashed with `KeyStoreError: no master
key` because it did not get the keyring (and secrets) that `make run` sets up."""
import os
import pty
import select
import subprocess
import time

import pytest

from tests.servers import ROOT, Assistant, free_port

pytestmark = pytest.mark.server


def read_until(fd, marker: str, timeout: float) -> str:
    seen = b""
    deadline = time.time() + timeout
    while time.time() < deadline and marker.encode() not in seen:
        ready, _, _ = select.select([fd], [], [], 1)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:  # the terminal closed: the shell exited
                break
    return seen.decode("utf-8", errors="replace")


def test_make_shell_answers_in_the_terminal(tmp_path):
    # the tests' environment (own stores and ports) without a keyring: scripts/shell must
    # set up the development keyring as `make run` does
    env = dict(Assistant(tmp_path).env)
    env.pop("TRIAGE_MASTER_KEY_FILE")
    env["RASA_PORT"] = str(free_port())
    # rasa shell needs a terminal (prompt_toolkit): give it one
    controller, terminal = pty.openpty()
    process = subprocess.Popen([str(ROOT / "scripts" / "shell")], cwd=ROOT, env=env, stdin=terminal,
                               stdout=terminal, stderr=terminal, start_new_session=True)
    os.close(terminal)
    try:
        started = read_until(controller, "Bot loaded", 240)
        assert "Bot loaded" in started, started[-3000:]
        os.write(controller, b"when are you open?\r")
        answer = read_until(controller, "Opening hours", 120)
        assert "Opening hours" in answer, answer[-3000:]
        os.write(controller, b"/stop\r")
        process.wait(60)
        output = started + answer + read_until(controller, "\0", 2)
        assert "KeyStoreError" not in output and "Traceback" not in output
    finally:
        if process.poll() is None:
            os.killpg(process.pid, 15)
            process.wait(30)
        os.close(controller)
