"""Gemini CLI answers through TokenBuddy after `tokenbuddy agents configure
gemini-cli`, and `restore` gives the user's two files back.

Gemini CLI keeps its settings in `~/.gemini/settings.json` (comments
allowed: it strips them, then `JSON.parse`) and reads `~/.gemini/.env` —
only in a trusted folder, so a run without a terminal sets
`GEMINI_CLI_TRUST_WORKSPACE=true`; a variable already in the environment
wins over the file. It speaks only Gemini's native API: one
`POST /v1beta/models/<model>:streamGenerateContent?alt=sse` per `gemini -p`,
with the key as `x-goog-api-key`.

`test_gemini_cli_sends_its_request_where_the_files_say` proves the CLI reads
what TokenBuddy wrote (a recorder stands on the configured port);
`test_gemini_cli_answers_through_tokenbuddy` gets the demo sellers' answer
and restores both files byte for byte; and
`test_gemini_cli_answers_through_a_chat_only_seller` is answered by a seller
that speaks only OpenAI chat, through translation (`chat ← gemini`).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jsonc
from harness import DEMO_TEXT, PROMPT, Demo, check_answer, clean_env, record, run, tokenbuddy_bin
from request_log import assert_agent_logged
from test_translated import ChatOnlySeller, serve_with

MODEL = "gpt-demo"

# A Google-login user: comments, other settings, OAuth selected.
# In the form Gemini CLI 0.61 itself writes it: on start it migrates
# deprecated keys (`disableAutoUpdate` becomes `enableAutoUpdate: false`) and
# rewrites the file in its own layout, comments kept, so a user who has run it
# has this form, and restore can be held to byte for byte.
SETTINGS = """\
// ~/.gemini/settings.json: Gemini CLI user settings, edited by hand.
{
  "general": {
    "vimMode": true,
    "enableAutoUpdate": false
  },
  "ui": {
    "theme": "GitHub" // the light one
  },
  "privacy": {
    "usageStatisticsEnabled": false
  },
  "security": {
    "auth": {
      "selectedType": "oauth-personal"
    }
  },
  "model": {
    "name": "gemini-2.5-pro",
    "maxSessionTurns": 30
  }
}"""

# Other variables and comments, and an old AI Studio key that ours replaces.
ENV = """\
# ~/.gemini/.env
export GOOGLE_CLOUD_PROJECT=my-project
GEMINI_API_KEY='AIza-an-old-key' # from AI Studio

NO_BROWSER=true
"""


def _home_files(demo: Demo) -> tuple[str, str]:
    gemini = demo.home / ".gemini"
    return (gemini / "settings.json").read_text(), (gemini / ".env").read_text()


def _write_user_files(demo: Demo) -> None:
    gemini = demo.home / ".gemini"
    gemini.mkdir(parents=True, exist_ok=True)
    (gemini / "settings.json").write_text(SETTINGS)
    (gemini / ".env").write_text(ENV)


def _gemini(gemini_bin, demo: Demo):
    env = clean_env(demo.home, GEMINI_CLI_TRUST_WORKSPACE="true")
    return run([gemini_bin, "-p", PROMPT], env=env, cwd=demo.workdir)


class _Recorder:
    """A loopback server that records each request whole and answers 404
    (the CLI does not retry a 404)."""

    def __init__(self):
        self.requests: list[dict] = []
        calls, lock = self.requests, threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with lock:
                    calls.append({"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body})
                msg = b'{"error": {"code": 404, "message": "recorded", "status": "NOT_FOUND"}}'
                self.send_response(404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(msg)))
                self.end_headers()
                self.wfile.write(msg)

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self):
        self._server.shutdown()
        self._server.server_close()


def test_gemini_cli_sends_its_request_where_the_files_say(gemini_cli, demo):
    _write_user_files(demo)
    recorder = _Recorder()
    try:
        # TokenBuddy's configure, pointed at the recorder's port instead of its own.
        env = clean_env(demo.home, TOKENBUDDY_DATA_DIR=str(demo.data))
        done = run(
            [tokenbuddy_bin(), "agents", "configure", "gemini-cli", "--port", str(recorder.port), "--model", MODEL],
            env=env,
            cwd=demo.workdir,
            timeout=60,
        )
        assert done.returncode == 0, done.describe()
        result = _gemini(gemini_cli, demo)
        record("gemini -p (recorder)", result.seconds)
    finally:
        recorder.close()
    posts = [r for r in recorder.requests if r["method"] == "POST"]
    assert posts, f"Gemini CLI sent nothing to the configured port:\n{result.describe()}"
    first = posts[0]
    assert first["path"] == f"/v1beta/models/{MODEL}:streamGenerateContent?alt=sse", first["path"]
    headers = {k.lower(): v for k, v in first["headers"].items()}
    assert headers.get("x-goog-api-key") == demo.token, "the key from ~/.gemini/.env, as x-goog-api-key"
    body = json.loads(first["body"])
    texts = [p.get("text", "") for c in body["contents"] for p in c["parts"]]
    assert PROMPT in texts, texts


def test_gemini_cli_answers_through_tokenbuddy(gemini_cli, demo):
    _write_user_files(demo)
    demo.configure("gemini-cli", MODEL)
    settings, env = _home_files(demo)
    parsed = jsonc.loads(settings)
    assert parsed["security"]["auth"]["selectedType"] == "gemini-api-key"
    assert parsed["model"] == {"name": MODEL, "maxSessionTurns": 30}
    assert parsed["ui"] == {"theme": "GitHub"}
    assert f"GOOGLE_GEMINI_BASE_URL={demo.url}\n" in env and f"GEMINI_API_KEY={demo.token}" in env, env
    assert "export GOOGLE_CLOUD_PROJECT=my-project\n" in env and "NO_BROWSER=true\n" in env, env

    result = _gemini(gemini_cli, demo)
    record("gemini -p", result.seconds)
    check_answer(result, "gemini -p through TokenBuddy", DEMO_TEXT)
    served = [r for r in demo.posts() if r["model"] == MODEL]
    assert served, f"no demo seller got a request for {MODEL}:\n{demo.failure_context(result)}"

    demo.restore("gemini-cli")
    assert _home_files(demo) == (SETTINGS, ENV), "restore gives back both files byte for byte"


class _GeminiOnChat(ChatOnlySeller):
    """The chat-only stub seller of `test_translated.py`, answering every
    turn with one text the test looks for."""

    def answer(self, body: dict):
        return {"content": f"{THROUGH_CHAT} (asked in chat)"}, "stop"


THROUGH_CHAT = "GEMINI-CLI-THROUGH-A-CHAT-SELLER"


def test_gemini_cli_answers_through_a_chat_only_seller(gemini_cli, tmp_path):
    """Gemini CLI speaks only Gemini's native API; the only seller speaks only
    OpenAI chat: TokenBuddy translates both ways (`chat ← gemini`)."""
    seller = _GeminiOnChat(tmp_path / "unused")
    try:
        with serve_with(tmp_path, seller) as server:
            server.configure("gemini-cli", "gemini-translated")
            result = _gemini(gemini_cli, server)
            record("gemini -p (chat-only seller, translated)", result.seconds)
            context = f"{result.describe()}\n--- serve log ---\n{server.server_log()}"
            check_answer(result, "gemini -p through translation", THROUGH_CHAT)
            assert seller.bodies, f"the chat seller got nothing:\n{context}"
            first = seller.bodies[0]
            assert first["model"] == "gemini-translated", first.get("model")
            assert first["stream"] is True and first["messages"], context
            assert first["messages"][0]["role"] == "system", first["messages"][:1]
            # Gemini CLI offers its tools; they reach the chat seller as functions.
            assert all(t["type"] == "function" for t in first.get("tools", [])), first.get("tools")
            assert_agent_logged(server, "gemini-cli")
    finally:
        seller.close()
