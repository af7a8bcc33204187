"""Real coding agents answered through protocol translation: the only
seller speaks another protocol than the agent, and TokenBuddy translates
both ways.

Claude Code (`claude -p`, Anthropic Messages) through a stub seller that
speaks only OpenAI chat: the stub answers the first turn with a call to
Claude Code's own `Read` tool on a file in the project, checks that the
file's text came back as a `tool` message in the next request, and only
then answers with the text the test looks for.

The stub seller (Python, in this file) stands in for the outside world;
everything else is real: the `tokenbuddy serve` binary, `tokenbuddy agents
configure`, and the pinned Claude Code.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import pathlib
import subprocess
import threading

from harness import Demo, clean_env, record, run, tokenbuddy_bin
from request_log import assert_agent_logged

SECRET = "tokenbuddy-tool-ok-7f3a"
FINAL = "TRANSLATED-ROUND-TRIP-DONE"


class ChatOnlySeller:
    """An OpenAI-chat-only seller that scripts one `Read` round trip per
    conversation. `bodies` holds every chat request it received."""

    def __init__(self, file_path: pathlib.Path):
        self.bodies: list[dict] = []
        seller = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802 - models probe
                self._json(200, {"object": "list", "data": [{"id": "stub-model", "object": "model", "owned_by": "stub"}]})

            def do_HEAD(self):  # noqa: N802
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))) or b"{}")
                if self.path != "/v1/chat/completions":
                    return self._json(404, {"error": {"message": f"chat-only seller: no {self.path}"}})
                seller.bodies.append(body)
                delta, finish = seller.answer(body)
                if not body.get("stream"):
                    message = {"role": "assistant", "content": delta.get("content")}
                    if "tool_calls" in delta:
                        message["tool_calls"] = delta["tool_calls"]
                    return self._json(200, {"id": "chatcmpl-stub", "object": "chat.completion", "created": 1, "model": "stub",
                                            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                                            "usage": {"prompt_tokens": 30, "completion_tokens": 5, "total_tokens": 35}})
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("connection", "close")
                self.end_headers()
                for chunk in seller.chunks(delta, finish):
                    self.wfile.write(f"data: {chunk}\n\n".encode())
                    self.wfile.flush()
                self.close_connection = True

            def _json(self, status, obj):
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_):
                pass

        self.file_path = file_path
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.port = self.server.server_port

    def answer(self, body: dict):
        """A `Read` call when the agent offers that tool and has no result
        yet; the final text once the file's text came back; else a short
        text (Claude Code's side requests, such as a title)."""
        messages = body.get("messages", [])
        tools = {t.get("function", {}).get("name") for t in body.get("tools", [])}
        last = messages[-1] if messages else {}
        if last.get("role") == "tool":
            if SECRET in str(last.get("content")):
                return {"content": f"{FINAL}: the file says {SECRET}."}, "stop"
            return {"content": f"the tool result lacked the file's text: {last.get('content')!r}"}, "stop"
        if "Read" in tools:
            args = json.dumps({"file_path": str(self.file_path)})
            return {"tool_calls": [{"index": 0, "id": "call_read_1", "type": "function",
                                    "function": {"name": "Read", "arguments": args}}]}, "tool_calls"
        return {"content": "ok"}, "stop"

    @staticmethod
    def chunks(delta: dict, finish: str):
        def chunk(d, f=None):
            return json.dumps({"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": 1, "model": "stub",
                               "choices": [{"index": 0, "delta": d, "logprobs": None, "finish_reason": f}]})

        yield chunk({"role": "assistant", "content": ""})
        if "content" in delta:
            text = delta["content"]
            for piece in (text[:7], text[7:]):
                yield chunk({"content": piece})
        for call in delta.get("tool_calls", []):
            args = call["function"]["arguments"]
            yield chunk({"tool_calls": [{**call, "function": {"name": call["function"]["name"], "arguments": ""}}]})
            for piece in (args[:9], args[9:]):
                yield chunk({"tool_calls": [{"index": call["index"], "function": {"arguments": piece}}]})
        yield chunk({}, finish)
        yield json.dumps({"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": 1, "model": "stub", "choices": [],
                          "usage": {"prompt_tokens": 30, "completion_tokens": 5, "total_tokens": 35}})
        yield "[DONE]"

    def close(self):
        self.server.shutdown()


@contextlib.contextmanager
def serve_with(root: pathlib.Path, seller: ChatOnlySeller):
    """`tokenbuddy serve --port 0` whose only seller is `seller` (chat only)."""
    home, data = root / "home", root / "data"
    home.mkdir()
    data.mkdir()
    (data / "sellers.yaml").write_text(
        "sellers:\n"
        f"  - id: chat-only\n    base_url: http://127.0.0.1:{seller.port}/v1\n"
        "    api_key: sk-stub\n    protocols: [openai-chat]\n"
    )
    log = root / "serve.log"
    env = clean_env(home, TOKENBUDDY_DATA_DIR=str(data))
    with open(log, "w") as log_file:
        proc = subprocess.Popen([tokenbuddy_bin(), "serve", "--port", "0"], stdout=subprocess.PIPE, stderr=log_file, env=env, text=True)
    try:
        found = {}
        reader = threading.Thread(target=lambda: found.setdefault("line", proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout=30)
        line = found.get("line", "")
        prefix = "TokenBuddy listening on "
        assert line.startswith(prefix), f"unexpected first line: {line!r}; log:\n{log.read_text()}"
        url = line[len(prefix):].strip()
        threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
        token = subprocess.run([tokenbuddy_bin(), "token"], env=env, capture_output=True, text=True, check=True, timeout=30).stdout.strip()
        yield Demo(url, token, home, data, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_claude_code_through_a_chat_only_seller(tmp_path, claude_bin):
    note = tmp_path / "home" / "project" / "note.txt"
    seller = ChatOnlySeller(note)
    try:
        with serve_with(tmp_path, seller) as server:
            note.write_text(f"{SECRET}\n")
            model = "claude-translated"
            server.configure("claude-code", model)
            result = run(
                [claude_bin, "-p", "Read note.txt in this directory and tell me what it says."],
                env=clean_env(server.home, CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1"),
                cwd=server.workdir,
            )
            record("claude -p through a chat-only seller (Read round trip)", result.seconds)
            sent = "\n".join(json.dumps(b)[:600] for b in seller.bodies)
            context = f"{result.describe()}\n--- chat seller received ---\n{sent}\n--- serve log ---\n{server.server_log()}"
            assert not result.timed_out and result.returncode == 0, context
            # The tool call went out and its result came back as a chat `tool` message.
            reads = [b for b in seller.bodies if b.get("messages") and b["messages"][-1].get("role") == "tool"]
            assert reads, f"no request carried the Read result back.\n{context}"
            tool_msg = reads[-1]["messages"][-1]
            assert tool_msg["tool_call_id"] == "call_read_1" and SECRET in str(tool_msg["content"]), context
            assert reads[-1]["model"] == model, "the seller got the configured model (no mapping in the sellers file)"
            assert FINAL in result.stdout, context
            assert_agent_logged(server, "claude-code")
    finally:
        seller.close()
