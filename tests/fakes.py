"""A real HTTP server on 127.0.0.1 that records what it receives.

Stands in for staff webhooks and, later, for Meta's and X's APIs. It can be
down (nothing listening on its port: connection refused) or answer 5xx.
"""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional


class Recorder:
    def __init__(self, port: Optional[int] = None) -> None:
        from tests.servers import free_port

        self.port = port or free_port()
        port = self.port
        self.url = f"http://127.0.0.1:{port}"
        self.requests: List[Dict[str, Any]] = []
        self.status = 200
        self.responder: Optional[Callable[[Dict[str, Any]], tuple]] = None
        self._server: Optional[ThreadingHTTPServer] = None
        self._lock = threading.Lock()

    def start(self) -> "Recorder":
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                entry = {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body, "raw": raw}
                status, payload, headers = recorder.status, {"ok": recorder.status < 300}, {}
                if recorder.responder:
                    status, payload, headers = recorder.responder(entry)
                entry["status"] = status
                with recorder._lock:
                    recorder.requests.append(entry)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            do_POST = do_GET = do_DELETE = _handle

            def log_message(self, *args):
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def refuse(self, predicate: Callable[[Dict[str, Any]], bool], status: int = 403) -> None:
        """Requests matching ``predicate`` get ``status`` with a Graph-style error body; others 200."""
        def respond(entry):
            if predicate(entry):
                return status, {"error": {"message": "(#200) Permissions error", "type": "OAuthException",
                                          "code": 200}}, {}
            return 200, {"ok": True}, {}

        self.responder = respond

    def received(self, predicate=lambda r: True) -> List[Dict[str, Any]]:
        with self._lock:
            return [r for r in self.requests if predicate(r)]

    def wait_for(self, count: int, predicate=lambda r: True, timeout: float = 30) -> List[Dict[str, Any]]:
        deadline = time.time() + timeout
        while time.time() < deadline:
            found = self.received(predicate)
            if len(found) >= count:
                return found
            time.sleep(0.2)
        raise AssertionError(f"expected {count} request(s), got {len(self.received(predicate))}: {self.received()}")
