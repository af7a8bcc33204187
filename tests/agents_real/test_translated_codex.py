"""Real `codex exec` answers through TokenBuddy when the only seller speaks
chat completions: Codex speaks the Responses API (it refuses
`wire_api = "chat"`), so TokenBuddy translates both ways.

The seller is a Python stub (the outside world) that serves only
`POST /v1/chat/completions`. It scripts one tool turn: the first request gets
a streamed `exec_command` call, and once the conversation holds the call's
result it answers with a text. Codex is configured by `tokenbuddy agents
configure codex`, like the other real-agent tests, and nothing is passed on
the command line: configure itself turns Codex's web search off
(`web_search = "disabled"`) because no seller serves the model over the
Responses API, a chat seller runs no server tools and TokenBuddy refuses to
drop one silently. Its `multi_agent_v1` tool namespace stays on: it
translates (as `<namespace>__<name>` functions).
"""

from __future__ import annotations

import contextlib
import http.server
import json
import subprocess
import threading

from harness import Demo, check_answer, clean_env, record, run, tokenbuddy_bin
from request_log import assert_agent_logged

MODEL = "chat-only-model"
ANSWER = "The stub chat seller saw the command's output."
USAGE = {"prompt_tokens": 900, "completion_tokens": 12, "total_tokens": 912, "prompt_tokens_details": {"cached_tokens": 512}}


def _chunk(delta, finish=None):
    return {
        "id": "chatcmpl-codex", "object": "chat.completion.chunk", "created": 1, "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}], "usage": None,
    }


class _ChatOnly(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list = []

    def do_GET(self):  # noqa: N802 (the stdlib's name)
        body = json.dumps({"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "stub"}]}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        self.seen.append((self.path, body))
        if self.path != "/v1/chat/completions":
            self.send_response(404)
            self.send_header("content-length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("connection", "close")
        self.end_headers()

        def send(data):
            self.wfile.write(f"data: {data if isinstance(data, str) else json.dumps(data)}\n\n".encode())
            self.wfile.flush()

        send(_chunk({"role": "assistant", "content": ""}))
        if not any(m["role"] == "tool" for m in body["messages"]):
            args = json.dumps({"cmd": "echo translated-ok"})
            send(_chunk({"tool_calls": [{"index": 0, "id": "call_codex_1", "type": "function", "function": {"name": "exec_command", "arguments": ""}}]}))
            for piece in (args[:7], args[7:]):
                send(_chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}))
            send(_chunk({}, "tool_calls"))
        else:
            for piece in (ANSWER[:10], ANSWER[10:]):
                send(_chunk({"content": piece}))
            send(_chunk({}, "stop"))
        send({"id": "chatcmpl-codex", "object": "chat.completion.chunk", "created": 1, "model": MODEL, "choices": [], "usage": USAGE})
        send("[DONE]")
        self.close_connection = True

    def log_message(self, *_):
        pass


@contextlib.contextmanager
def _serve_with_chat_seller(root):
    seller = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ChatOnly)
    _ChatOnly.seen = []
    threading.Thread(target=seller.serve_forever, daemon=True).start()
    home, data = root / "home", root / "data"
    home.mkdir()
    data.mkdir()
    (data / "sellers.yaml").write_text(
        "sellers:\n"
        f"  - id: chatonly\n    base_url: http://127.0.0.1:{seller.server_port}/v1\n"
        f"    api_key: sk-chatonly\n    protocols: [openai-chat]\n    models: [{MODEL}]\n"
    )
    log = root / "serve.log"
    env = clean_env(home, TOKENBUDDY_DATA_DIR=str(data))
    with open(log, "w") as log_file:
        proc = subprocess.Popen(
            [tokenbuddy_bin(), "serve", "--port", "0"], stdout=subprocess.PIPE, stderr=log_file, env=env, text=True
        )
    try:
        line = proc.stdout.readline()
        prefix = "TokenBuddy listening on "
        assert line.startswith(prefix), f"unexpected first line: {line!r}; log:\n{log.read_text()}"
        url = line[len(prefix):].strip()
        threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
        token = subprocess.run(
            [tokenbuddy_bin(), "token"], env=env, capture_output=True, text=True, check=True, timeout=30
        ).stdout.strip()
        yield Demo(url, token, home, data, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        seller.shutdown()


def test_codex_through_a_chat_only_seller(tmp_path, codex_bin):
    with _serve_with_chat_seller(tmp_path) as server:
        configured = server.configure("codex", MODEL)
        assert 'web_search' in configured.stdout, configured.describe()
        config = (server.home / ".codex" / "config.toml").read_text()
        assert 'web_search = "disabled"' in config, config
        result = run(
            [
                codex_bin, "exec", "--skip-git-repo-check", "--color", "never",
                "-c", "analytics.enabled=false",
                "Run `echo translated-ok` and tell me what it printed.",
            ],
            env=clean_env(server.home),
            cwd=server.workdir,
        )
        record("codex exec (chat-only seller, translated)", result.seconds)
        context = f"{result.describe()}\n--- serve log ---\n{server.server_log()}"
        check_answer(result, "codex exec through translation")
        assert ANSWER in result.stdout, context

        posts = _ChatOnly.seen
        assert [p for p, _ in posts] == ["/v1/chat/completions"] * 2, f"{[p for p, _ in posts]}\n{context}"
        first, second = posts[0][1], posts[1][1]
        assert first["stream"] is True and first["stream_options"] == {"include_usage": True}
        names = [t["function"]["name"] for t in first["tools"]]
        assert "exec_command" in names, names
        # Codex's `multi_agent_v1` namespace goes as flat `<namespace>__<name>` functions.
        assert "multi_agent_v1__spawn_agent" in names, names
        # Codex's second turn carries the call and its result back, by id.
        calls = [c for m in second["messages"] if m["role"] == "assistant" for c in m.get("tool_calls") or []]
        assert [c["id"] for c in calls] == ["call_codex_1"], second["messages"][-3:]
        results = [m for m in second["messages"] if m["role"] == "tool"]
        assert [m["tool_call_id"] for m in results] == ["call_codex_1"]
        assert_agent_logged(server, "codex")
