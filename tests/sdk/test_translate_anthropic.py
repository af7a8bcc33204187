"""Anthropic ⇄ OpenAI chat translation end to end: a real `tokenbuddy
serve` in front of Python stub sellers (the outside world) that speak only
one protocol, and the official SDKs speaking the other.

- The `anthropic` SDK through a chat-only seller; the `openai` SDK through a
  Messages-only seller: non-stream and stream calls with a tool, a full
  tool round trip (the stub answers with a tool call first, and with text
  once the tool result comes back).
- Failover before the first semantic event stays invisible through
  translation (the first seller answers 500, or an error event before any
  content; the second answers).
- An error after the commit point arrives in the client's protocol: the
  SDK raises its own error type mid-stream.
"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import tempfile
import threading
import urllib.request

import anthropic
import openai
import pytest

from conftest import _binary

WEATHER_TOOL_ANTHROPIC = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
WEATHER_TOOL_OPENAI = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
TOOL_RESULT = "18C and cloudy"
FINAL = f"In Paris it is {TOOL_RESULT}."


# --------------------------------------------------------------------------
# Stub sellers
# --------------------------------------------------------------------------


def _chunk(delta, finish=None):
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "stub",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


def chat_answer(body: dict):
    """What a chat seller says: a tool call, or text once a tool result is in."""
    last = body["messages"][-1]
    if last["role"] == "tool":
        return {"content": f"In Paris it is {last['content']}."}, "stop"
    return {"tool_calls": [{"id": "call_w1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]}, "tool_calls"


def chat_stream(body: dict, mode: str):
    if mode == "error_first":
        yield {"error": {"message": "stub overloaded", "type": "server_error"}}
        return
    message, finish = chat_answer(body)
    yield _chunk({"role": "assistant", "content": ""})
    if "content" in message:
        text = message["content"]
        for piece in (text[:5], text[5:]):
            yield _chunk({"content": piece})
    else:
        call = message["tool_calls"][0]
        yield _chunk({"tool_calls": [{"index": 0, "id": call["id"], "type": "function", "function": {"name": call["function"]["name"], "arguments": ""}}]})
        args = call["function"]["arguments"]
        for piece in (args[:4], args[4:]):
            yield _chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
    if mode == "error_after":
        yield {"error": {"message": "stub broke mid-answer", "type": "server_error"}}
        return
    yield _chunk({}, finish)
    yield {"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": 1, "model": "stub", "choices": [],
           "usage": {"prompt_tokens": 40, "completion_tokens": 9, "total_tokens": 49, "prompt_tokens_details": {"cached_tokens": 16}}}
    yield "[DONE]"


def messages_answer(body: dict):
    last = body["messages"][-1]
    results = [b for b in last["content"] if isinstance(b, dict) and b.get("type") == "tool_result"] if isinstance(last["content"], list) else []
    if results:
        return [{"type": "text", "text": f"In Paris it is {results[0]['content']}."}], "end_turn"
    return [{"type": "tool_use", "id": "toolu_w1", "name": "get_weather", "input": {"city": "Paris"}}], "tool_use"


def messages_stream(body: dict, mode: str):
    usage = {"input_tokens": 24, "cache_read_input_tokens": 16, "cache_creation_input_tokens": 0, "output_tokens": 1}
    yield "message_start", {"type": "message_start", "message": {"id": "msg_stub", "type": "message", "role": "assistant", "model": "stub",
                                                                 "content": [], "stop_reason": None, "stop_sequence": None, "usage": usage}}
    if mode == "error_first":
        yield "error", {"type": "error", "error": {"type": "overloaded_error", "message": "stub overloaded"}}
        return
    blocks, stop = messages_answer(body)
    yield "ping", {"type": "ping"}
    for i, b in enumerate(blocks):
        if b["type"] == "text":
            yield "content_block_start", {"type": "content_block_start", "index": i, "content_block": {"type": "text", "text": ""}}
            for piece in (b["text"][:5], b["text"][5:]):
                yield "content_block_delta", {"type": "content_block_delta", "index": i, "delta": {"type": "text_delta", "text": piece}}
        else:
            yield "content_block_start", {"type": "content_block_start", "index": i, "content_block": {"type": "tool_use", "id": b["id"], "name": b["name"], "input": {}}}
            args = json.dumps(b["input"])
            for piece in (args[:4], args[4:]):
                yield "content_block_delta", {"type": "content_block_delta", "index": i, "delta": {"type": "input_json_delta", "partial_json": piece}}
        if mode == "error_after":
            yield "error", {"type": "error", "error": {"type": "api_error", "message": "stub broke mid-answer"}}
            return
        yield "content_block_stop", {"type": "content_block_stop", "index": i}
    yield "message_delta", {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None}, "usage": {"output_tokens": 9}}
    yield "message_stop", {"type": "message_stop"}


class Stub:
    """A seller that speaks only `protocol` ("chat" or "messages"); `mode`
    is "ok", "fail500", "error_first" or "error_after". Every POST body it
    received is in `bodies`."""

    def __init__(self, protocol: str, mode: str = "ok"):
        self.protocol, self.mode, self.bodies = protocol, mode, []
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802
                body = json.dumps({"object": "list", "data": [{"id": "stub-model", "object": "model", "owned_by": "stub"}]}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):  # noqa: N802
                n = int(self.headers.get("content-length", "0"))
                body = json.loads(self.rfile.read(n) or b"{}")
                path = self.path
                want = "/v1/chat/completions" if stub.protocol == "chat" else "/v1/messages"
                if path != want:
                    return self._send(404, {"error": {"message": f"{stub.protocol} stub has no {path}"}})
                stub.bodies.append(body)
                if stub.mode == "fail500":
                    return self._send(500, {"error": {"message": "stub is down", "type": "server_error"}})
                if body.get("stream"):
                    return self._stream(body)
                if stub.protocol == "chat":
                    message, finish = chat_answer(body)
                    return self._send(200, {"id": "chatcmpl-stub", "object": "chat.completion", "created": 1, "model": "stub",
                                            "choices": [{"index": 0, "message": {"role": "assistant", "content": None, **message}, "finish_reason": finish}],
                                            "usage": {"prompt_tokens": 40, "completion_tokens": 9, "total_tokens": 49}})
                blocks, stop = messages_answer(body)
                return self._send(200, {"id": "msg_stub", "type": "message", "role": "assistant", "model": "stub", "content": blocks,
                                        "stop_reason": stop, "stop_sequence": None, "usage": {"input_tokens": 24, "output_tokens": 9}})

            def _send(self, status, obj):
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, body):
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("connection", "close")
                self.end_headers()
                if stub.protocol == "chat":
                    for ev in chat_stream(body, stub.mode):
                        data = ev if isinstance(ev, str) else json.dumps(ev)
                        self.wfile.write(f"data: {data}\n\n".encode())
                        self.wfile.flush()
                else:
                    for name, ev in messages_stream(body, stub.mode):
                        self.wfile.write(f"event: {name}\ndata: {json.dumps(ev)}\n\n".encode())
                        self.wfile.flush()
                self.close_connection = True

            def log_message(self, *_):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.port = self.server.server_port

    def close(self):
        self.server.shutdown()


# --------------------------------------------------------------------------
# A real serve in front of them
# --------------------------------------------------------------------------


class Serve:
    def __init__(self, sellers: list[tuple[str, Stub]], fixed: str | None = None):
        self.data = tempfile.mkdtemp(prefix="tokenbuddy-sdk-translate-")
        protocol = {"chat": "openai-chat", "messages": "anthropic-messages"}
        lines = ["sellers:"]
        for sid, stub in sellers:
            lines += [f"  - id: {sid}", f"    base_url: http://127.0.0.1:{stub.port}/v1", "    api_key: sk-stub",
                      f"    protocols: [{protocol[stub.protocol]}]"]
        with open(os.path.join(self.data, "sellers.yaml"), "w") as f:
            f.write("\n".join(lines) + "\n")
        env = dict(os.environ, TOKENBUDDY_DATA_DIR=self.data)
        self.log = open(os.path.join(self.data, "serve.log"), "w")
        self.proc = subprocess.Popen([_binary(), "serve", "--port", "0"], stdout=subprocess.PIPE, stderr=self.log, env=env, text=True)
        found = {}
        reader = threading.Thread(target=lambda: found.setdefault("line", self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout=30)
        line = found.get("line", "")
        prefix = "TokenBuddy listening on "
        assert line.startswith(prefix), f"unexpected first line: {line!r}"
        self.url = line[len(prefix):].strip()
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()
        self.token = subprocess.run([_binary(), "token"], env=env, capture_output=True, text=True, check=True).stdout.strip()
        if fixed:
            req = urllib.request.Request(self.url + "/api/routing", method="PUT",
                                         data=json.dumps({"mode": "fixed", "fixedSeller": fixed, "fixedFailover": True}).encode(),
                                         headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=10) as resp:
                assert resp.status == 200

    def anthropic(self):
        return anthropic.Anthropic(base_url=self.url, api_key=self.token, max_retries=0, timeout=30)

    def openai(self):
        return openai.OpenAI(base_url=self.url + "/v1", api_key=self.token, max_retries=0, timeout=30)

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()

    def server_log(self) -> str:
        with open(os.path.join(self.data, "serve.log")) as f:
            return f.read()[-3000:]


@pytest.fixture()
def stubs():
    made = []

    def make(protocol, mode="ok"):
        s = Stub(protocol, mode)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


@pytest.fixture()
def serve():
    made = []

    def make(sellers, fixed=None):
        s = Serve(sellers, fixed)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


# --------------------------------------------------------------------------
# anthropic SDK → chat-only seller
# --------------------------------------------------------------------------


def _anthropic_round_trip(client, stream: bool):
    messages = [{"role": "user", "content": "What is the weather in Paris?"}]
    kwargs = dict(model="claude-sonnet-4-5", max_tokens=256, tools=[WEATHER_TOOL_ANTHROPIC], system=[{"type": "text", "text": "Use tools.", "cache_control": {"type": "ephemeral"}}])

    def call(msgs):
        if stream:
            with client.messages.stream(messages=msgs, **kwargs) as s:
                return s.get_final_message()
        return client.messages.create(messages=msgs, **kwargs)

    first = call(messages)
    assert first.stop_reason == "tool_use", first
    use = [b for b in first.content if b.type == "tool_use"]
    assert len(use) == 1 and use[0].name == "get_weather" and use[0].input == {"city": "Paris"}, first
    messages += [
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use[0].id, "content": TOOL_RESULT}]},
    ]
    second = call(messages)
    assert second.stop_reason == "end_turn", second
    assert "".join(b.text for b in second.content if b.type == "text") == FINAL
    return first, second


@pytest.mark.parametrize("stream", [False, True], ids=["body", "stream"])
def test_anthropic_sdk_through_a_chat_seller(stubs, serve, stream):
    chat = stubs("chat")
    s = serve([("chat-only", chat)])
    first, second = _anthropic_round_trip(s.anthropic(), stream)
    assert first.id.startswith("msg_") and first.model == "claude-sonnet-4-5"
    # What the chat seller received: a chat request, the tool result as a
    # `tool` message with the call's id.
    assert len(chat.bodies) == 2, chat.bodies
    sent = chat.bodies[1]
    assert sent["messages"][0] == {"role": "system", "content": "Use tools."}
    assert sent["tools"][0]["function"]["name"] == "get_weather"
    assert sent["messages"][-1] == {"role": "tool", "tool_call_id": "call_w1", "content": TOOL_RESULT}
    assert sent["messages"][-2]["tool_calls"][0]["id"] == "call_w1"
    if stream:
        assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
        # The usage the seller reported: 40 prompt tokens, 16 of them cached.
        assert second.usage.input_tokens == 24 and second.usage.cache_read_input_tokens == 16
        assert second.usage.output_tokens == 9


@pytest.mark.parametrize("failure", ["fail500", "error_first"])
def test_anthropic_failover_before_content_is_invisible(stubs, serve, failure):
    bad, good = stubs("chat", failure), stubs("chat")
    s = serve([("bad", bad), ("good", good)], fixed="bad")
    first, _ = _anthropic_round_trip(s.anthropic(), stream=True)
    assert first.stop_reason == "tool_use"
    assert bad.bodies and good.bodies, "the failing seller was tried first, then the other"


def test_anthropic_error_after_commit_is_an_anthropic_error(stubs, serve):
    broken, spare = stubs("chat", "error_after"), stubs("chat")
    s = serve([("broken", broken), ("spare", spare)], fixed="broken")
    client = s.anthropic()
    with pytest.raises(anthropic.APIStatusError) as err:
        with client.messages.stream(model="claude-sonnet-4-5", max_tokens=64, tools=[WEATHER_TOOL_ANTHROPIC],
                                    messages=[{"role": "user", "content": "Weather in Paris?"}]) as st:
            for _ in st:
                pass
    assert "stub broke mid-answer" in str(err.value), s.server_log()
    assert not spare.bodies, "after the commit point there is no failover"


# --------------------------------------------------------------------------
# openai SDK → Messages-only seller
# --------------------------------------------------------------------------


def _openai_round_trip(client, stream: bool):
    messages = [{"role": "system", "content": "Use tools."}, {"role": "user", "content": "What is the weather in Paris?"}]
    kwargs = dict(model="gpt-4o", tools=[WEATHER_TOOL_OPENAI])

    def call(msgs):
        if stream:
            with client.chat.completions.stream(messages=msgs, stream_options={"include_usage": True}, **kwargs) as s:
                for _ in s:
                    pass
                return s.get_final_completion()
        return client.chat.completions.create(messages=msgs, **kwargs)

    first = call(messages)
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls", first
    calls = choice.message.tool_calls
    assert len(calls) == 1 and calls[0].function.name == "get_weather"
    assert json.loads(calls[0].function.arguments) == {"city": "Paris"}
    messages += [
        {"role": "assistant", "content": None, "tool_calls": [c.model_dump(include={"id", "type", "function"}) for c in calls]},
        {"role": "tool", "tool_call_id": calls[0].id, "content": TOOL_RESULT},
    ]
    second = call(messages)
    assert second.choices[0].finish_reason == "stop"
    assert second.choices[0].message.content == FINAL
    return first, second


@pytest.mark.parametrize("stream", [False, True], ids=["body", "stream"])
def test_openai_sdk_through_a_messages_seller(stubs, serve, stream):
    msgs = stubs("messages")
    s = serve([("messages-only", msgs)])
    first, second = _openai_round_trip(s.openai(), stream)
    assert first.id.startswith("chatcmpl-") and first.model == "gpt-4o"
    assert len(msgs.bodies) == 2
    sent = msgs.bodies[1]
    assert sent["system"] == "Use tools." and sent["max_tokens"] == 4096
    assert sent["tools"][0]["input_schema"]["required"] == ["city"]
    assert sent["messages"][-1]["content"] == [{"type": "tool_result", "tool_use_id": "toolu_w1", "content": TOOL_RESULT}]
    assert sent["messages"][-2]["content"][0]["type"] == "tool_use"
    if stream:
        # 24 uncached + 16 cached input tokens, as the seller reported them.
        assert second.usage.prompt_tokens == 40 and second.usage.prompt_tokens_details.cached_tokens == 16
        assert second.usage.completion_tokens == 9


@pytest.mark.parametrize("failure", ["fail500", "error_first"])
def test_openai_failover_before_content_is_invisible(stubs, serve, failure):
    bad, good = stubs("messages", failure), stubs("messages")
    s = serve([("bad", bad), ("good", good)], fixed="bad")
    first, _ = _openai_round_trip(s.openai(), stream=True)
    assert first.choices[0].finish_reason == "tool_calls"
    assert bad.bodies and good.bodies


def test_openai_error_after_commit_is_an_openai_error(stubs, serve):
    broken, spare = stubs("messages", "error_after"), stubs("messages")
    s = serve([("broken", broken), ("spare", spare)], fixed="broken")
    client = s.openai()
    with pytest.raises(openai.APIError) as err:
        for _ in client.chat.completions.create(model="gpt-4o", tools=[WEATHER_TOOL_OPENAI], stream=True,
                                                messages=[{"role": "user", "content": "Weather in Paris?"}]):
            pass
    assert "stub broke mid-answer" in str(err.value), s.server_log()
    assert not spare.bodies
