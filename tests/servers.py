"""Starts the assistant the way `make run` does (scripts/run), on free ports."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import Dict, Optional

import requests

from tests import channel_payloads as p
from triage.keys import KeyStore

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def platform_env(api_url: str, graph: str = "v21.0") -> Dict[str, str]:
    """Messenger and X settings with the secrets of tests/channel_payloads.py, both APIs at the fake ``api_url``."""
    return {"FACEBOOK_VERIFY_TOKEN": p.FB_VERIFY, "FACEBOOK_APP_SECRET": p.FB_SECRET,
            "FACEBOOK_PAGE_ACCESS_TOKEN": "page-token", "FACEBOOK_GRAPH_URL": f"{api_url}/{graph}",
            "X_CONSUMER_KEY": "ck", "X_CONSUMER_SECRET": p.X_SECRET, "X_ACCESS_TOKEN": "at",
            "X_ACCESS_TOKEN_SECRET": "ats", "X_USER_ID": p.X_USER, "X_API_URL": api_url}


def wait(fn, count: int = 1, timeout: float = 60):
    """``fn()`` once it has ``count`` items (replies reach the fake APIs after the webhook's answer), else its last value."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = fn()
        if len(found) >= count:
            return found
        time.sleep(0.2)
    return fn()


# The header each platform signs its webhook bodies in, and how (with the secrets of platform_env).
SIGNED_WEBHOOKS = {"facebook": ("X-Hub-Signature-256", p.fb_signature),
                   "x": ("x-twitter-webhooks-signature", p.x_signature)}


class Assistant:
    def __init__(self, workdir: Path, extra_env: Optional[Dict[str, str]] = None,
                 tracker_type: str = "triage.rasa.tracker_store.EncryptedSQLTrackerStore",
                 tracker_yaml: Optional[str] = None) -> None:
        self.workdir = workdir
        self.rasa_port, self.actions_port, self.console_port = free_port(), free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.rasa_port}"
        self.console_url = f"http://127.0.0.1:{self.console_port}"
        endpoints = workdir / "endpoints.yml"
        tracker_yaml = tracker_yaml or (f"tracker_store:\n  type: {tracker_type}\n  dialect: sqlite\n"
                                        f"  db: {workdir / 'tracker.db'}\n")
        endpoints.write_text(f'action_endpoint:\n  url: "http://127.0.0.1:{self.actions_port}/webhook"\n'
                             "  token: ${TRIAGE_ACTION_TOKEN}\n  enable_selective_domain: true\n"
                             "nlg:\n  type: triage.rasa.nlg.TriageNLG\n"
                             + tracker_yaml + "lock_store:\n  type: in_memory\n")
        self.endpoints = endpoints
        defaults = {"TRIAGE_DB_URL": f"sqlite:///{workdir / 'triage.db'}", "TRIAGE_STAFF_WEBHOOKS": "",
                    "RASA_AUTH_TOKEN": uuid.uuid4().hex, "TRIAGE_ACTION_TOKEN": uuid.uuid4().hex,
                    # per run: the start-up key check reads it, and each run has its own keyring
                    "TRIAGE_SPOOL_DIR": str(workdir / "spool")}
        if not (extra_env or {}).get("TRIAGE_MASTER_KEY_FILE"):
            keyring = workdir / "keys.json"
            if not keyring.exists():
                KeyStore.create_file(keyring)
            defaults["TRIAGE_MASTER_KEY_FILE"] = str(keyring)
        self.env = {**os.environ, "RASA_PORT": str(self.rasa_port), "ACTIONS_PORT": str(self.actions_port),
                    "TRIAGE_CONSOLE_PORT": str(self.console_port),
                    "TRIAGE_ENDPOINTS": str(endpoints), "PYTHONPATH": str(ROOT), **defaults, **(extra_env or {})}
        self.log_path = workdir / "run.log"
        self.process: Optional[subprocess.Popen] = None

    script = "run"

    def start(self, timeout: float = 180) -> "Assistant":
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen([str(ROOT / "scripts" / self.script)], cwd=ROOT, env=self.env,
                                        stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if "==> Serving" in self.log_path.read_text(errors="replace"):
                return self
            if self.process.poll() is not None:
                raise RuntimeError("scripts/run exited during start-up:\n" + self.output()[-3000:])
            time.sleep(0.5)
        raise RuntimeError("assistant did not start in time:\n" + self.output()[-3000:])

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def send(self, message, sender="patient-1", **extra) -> requests.Response:
        body = {"sender": sender, "message": message, **extra}
        return requests.post(f"{self.url}/webhooks/rest/webhook", json=body, timeout=60)

    def post_webhook(self, channel: str, payload, signature: Optional[str] = None,
                     content_type: str = "application/json", timeout: float = 30) -> requests.Response:
        """POSTs a payload (or raw bytes) to the "facebook" or "x" webhook, signed as the platform signs it;
        ``signature`` replaces that signature, and "" sends none."""
        body = payload if isinstance(payload, bytes) else p.encode(payload)
        header, sign = SIGNED_WEBHOOKS[channel]
        headers = {"Content-Type": content_type}
        signature = sign(body) if signature is None else signature
        if signature:
            headers[header] = signature
        return requests.post(f"{self.url}/webhooks/{channel}/webhook", data=body, headers=headers, timeout=timeout)

    def reply(self, message, sender="patient-1", **extra) -> str:
        response = self.send(message, sender, **extra)
        assert response.status_code == 200, response.text
        return "\n".join(m.get("text", "") for m in response.json())

    def stop(self, sig=signal.SIGTERM, timeout: float = 30) -> int:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()
        return self.process.returncode

    def port_open(self, port: int) -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", port)) == 0


class Cluster(Assistant):
    """scripts/run-prod: two replicas on PostgreSQL and Redis behind nginx."""

    script = "run-prod"

    def __init__(self, workdir: Path, pg_url: str, extra_env: Optional[Dict[str, str]] = None) -> None:
        from sqlalchemy.engine import make_url

        super().__init__(workdir, extra_env)
        self.replica_ports = [free_port(), free_port()]
        self.replica_urls = [f"http://127.0.0.1:{port}" for port in self.replica_ports]
        url = make_url(pg_url)
        self.env.update({
            "TRIAGE_REPLICA_PORTS": " ".join(map(str, self.replica_ports)), "TRIAGE_DB_URL": pg_url,
            "TRIAGE_TRACKER_DB_HOST": url.host, "TRIAGE_TRACKER_DB_PORT": str(url.port),
            "TRIAGE_TRACKER_DB_NAME": url.database, "TRIAGE_TRACKER_DB_USER": url.username,
            "TRIAGE_TRACKER_DB_PASSWORD": "", "TRIAGE_ENDPOINTS": str(ROOT / "endpoints.prod.yml"),
            # A killed replica's ticket must not hold its conversations for Rasa's default 60 s.
            "TICKET_LOCK_LIFETIME": "10",
            # The topology under test, with REST open as in development (run-prod requires a
            # JWT: tests/test_forget_auth.py); tests and the bench send as any sender.
            "TRIAGE_REST_AUTH": "open",
        })
        self.env.pop("TRIAGE_RASA_URL", None)

    def send_to(self, base_url: str, message: str, sender: str) -> requests.Response:
        return requests.post(f"{base_url}/webhooks/rest/webhook", json={"sender": sender, "message": message},
                             timeout=120)
