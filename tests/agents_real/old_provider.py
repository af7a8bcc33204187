"""The provider a user's config pointed at before TokenBuddy: a loopback
HTTP server that records every request and refuses it with a 401.

A realistic existing config names another provider (a local Ollama, a
DashScope key) and may send side requests (titles, summaries, "fast model"
calls) to it. After `tokenbuddy agents configure`, nothing may reach it: the
recorded list must stay empty. A 401 (never retried by the agents) keeps a
run that still calls it short, so the test fails on the assertion, not on
the agent's retry loop.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_REFUSAL = json.dumps(
    {
        "error": {
            "message": "the user's old provider was called: this request bypassed TokenBuddy",
            "type": "invalid_request_error",
            "code": "invalid_api_key",
        }
    }
).encode()


class OldProvider:
    """Records `(method, path, model)` of every request it receives."""

    def __init__(self):
        self.requests: list[tuple[str, str, str | None]] = []
        lock = threading.Lock()
        calls = self.requests

        class Handler(BaseHTTPRequestHandler):
            def _refuse(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                try:
                    model = json.loads(body).get("model")
                except (ValueError, AttributeError):
                    model = None
                with lock:
                    calls.append((self.command, self.path, model))
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(_REFUSAL)))
                self.end_headers()
                self.wfile.write(_REFUSAL)

            do_GET = do_POST = do_HEAD = _refuse

            def log_message(self, *args):  # quiet: the list is the record
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
