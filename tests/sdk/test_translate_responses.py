"""The official `openai` SDK's Responses API through a real `tokenbuddy serve`
whose only sellers speak chat completions: TokenBuddy translates.

The sellers are Python stubs here (the outside world), each speaking only
`POST /v1/chat/completions`; what they answer is scripted by the model name:

- `weather`: a tool call `get_weather({"city": "Paris"})` until the
  conversation holds its result, then a text that quotes it;
- `story`: one piece of text, then an error event (a failure after commit);
- the `flaky` seller opens a stream and drops it before any content (a
  failure before commit), so TokenBuddy must fail over to `steady`.
"""

import http.server
import json
import os
import subprocess
import tempfile
import threading

import openai
import pytest

from conftest import _binary, _put_json

TOOLS = [
    {
        "type": "function",
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
        "strict": True,
    }
]


def _chunk(delta, finish=None, usage=None, choices=True):
    body = {"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": 1, "model": "stub-model"}
    body["choices"] = [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}] if choices else []
    body["usage"] = usage
    return body


USAGE = {"prompt_tokens": 40, "completion_tokens": 8, "total_tokens": 48, "prompt_tokens_details": {"cached_tokens": 32}}


def _answer(body):
    """What the stub answers a chat request: (message, finish_reason)."""
    results = [m["content"] for m in body["messages"] if m["role"] == "tool"]
    if body["model"] == "weather" and not results:
        call = {"id": "call_w1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}
        return {"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls"
    if body["model"] == "weather":
        return {"role": "assistant", "content": f"Paris: {results[-1]}"}, "stop"
    return {"role": "assistant", "content": "Hello from a chat seller."}, "stop"


def _stub(name, seen):
    class Seller(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):  # noqa: N802 (the stdlib's name)
            body = json.dumps({"object": "list", "data": []}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            seen.append((name, self.path, body))
            if self.path != "/v1/chat/completions":
                self.send_response(404)
                self.send_header("content-length", "0")
                self.end_headers()
                return
            if not body.get("stream"):
                message, finish = _answer(body)
                out = json.dumps({
                    "id": "chatcmpl-stub", "object": "chat.completion", "created": 1, "model": "stub-model",
                    "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
                    "usage": USAGE,
                }).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)
                return
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("connection", "close")
            self.end_headers()
            send = lambda data: (self.wfile.write(f"data: {data}\n\n".encode()), self.wfile.flush())
            send(json.dumps(_chunk({"role": "assistant", "content": ""})))
            if name == "flaky":
                self.close_connection = True
                return  # dropped before any content
            if body["model"] == "story":
                send(json.dumps(_chunk({"content": "Once upon a time"})))
                send(json.dumps({"error": {"message": "the stub seller broke mid-story", "type": "server_error"}}))
                self.close_connection = True
                return
            message, finish = _answer(body)
            if message.get("tool_calls"):
                call = message["tool_calls"][0]
                send(json.dumps(_chunk({"tool_calls": [{"index": 0, "id": call["id"], "type": "function", "function": {"name": call["function"]["name"], "arguments": ""}}]})))
                args = call["function"]["arguments"]
                for piece in (args[:5], args[5:]):
                    send(json.dumps(_chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})))
            else:
                text = message["content"]
                for piece in (text[:6], text[6:]):
                    send(json.dumps(_chunk({"content": piece})))
            send(json.dumps(_chunk({}, finish)))
            send(json.dumps(_chunk(None, usage=USAGE, choices=False)))
            send("[DONE]")
            self.close_connection = True

        def log_message(self, *_):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Seller)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class Translated:
    def __init__(self, url, token, seen):
        self.url, self.token, self.seen = url, token, seen

    def client(self):
        return openai.OpenAI(base_url=self.url + "/v1", api_key=self.token, max_retries=0)

    def route(self, seller, failover):
        _put_json(self.url + "/api/routing", self.token, {"mode": "fixed", "fixedSeller": seller, "fixedFailover": failover})


@pytest.fixture(scope="module")
def translated():
    seen = []
    sellers = {name: _stub(name, seen) for name in ("steady", "flaky")}
    data = tempfile.mkdtemp(prefix="tokenbuddy-sdk-translate-")
    with open(os.path.join(data, "sellers.yaml"), "w") as f:
        f.write("sellers:\n")
        for name, server in sellers.items():
            f.write(
                f"  - id: {name}\n    base_url: http://127.0.0.1:{server.server_port}/v1\n"
                f"    api_key: sk-{name}\n    protocols: [openai-chat]\n    models: [weather, story, hello]\n"
            )
    env = dict(os.environ, TOKENBUDDY_DATA_DIR=data)
    log = open(os.path.join(data, "serve.log"), "w")
    proc = subprocess.Popen([_binary(), "serve", "--port", "0"], stdout=subprocess.PIPE, stderr=log, env=env, text=True)
    try:
        line = proc.stdout.readline()
        prefix = "TokenBuddy listening on "
        assert line.startswith(prefix), f"unexpected first line: {line!r}"
        url = line[len(prefix):].strip()
        threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
        token = subprocess.run([_binary(), "token"], env=env, capture_output=True, text=True, check=True).stdout.strip()
        t = Translated(url, token, seen)
        t.route("steady", False)
        yield t
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
        for s in sellers.values():
            s.shutdown()


def _posts(t, since):
    return [(name, path, body) for name, path, body in t.seen[since:]]


def test_non_stream_round_trip_with_a_tool(translated):
    t = translated
    t.route("steady", False)
    oai = t.client()
    since = len(t.seen)
    first = oai.responses.create(model="weather", input="Weather in Paris?", tools=TOOLS, instructions="Use tools.")
    calls = [i for i in first.output if i.type == "function_call"]
    assert [(c.name, json.loads(c.arguments), c.call_id) for c in calls] == [("get_weather", {"city": "Paris"}, "call_w1")]
    assert first.status == "completed" and first.id.startswith("resp_")
    assert first.usage.input_tokens == 40 and first.usage.input_tokens_details.cached_tokens == 32

    second = oai.responses.create(
        model="weather",
        tools=TOOLS,
        input=[
            {"role": "user", "content": "Weather in Paris?"},
            *[c.model_dump(exclude_none=True) for c in calls],
            {"type": "function_call_output", "call_id": "call_w1", "output": "18C, cloudy"},
        ],
    )
    assert second.output_text == "Paris: 18C, cloudy"
    posts = _posts(t, since)
    assert [p[:2] for p in posts] == [("steady", "/v1/chat/completions")] * 2, posts
    sent = posts[1][2]
    assert sent["messages"][1]["tool_calls"][0]["id"] == "call_w1"
    assert sent["messages"][2] == {"role": "tool", "tool_call_id": "call_w1", "content": "18C, cloudy"}
    assert sent["tools"][0]["function"]["name"] == "get_weather"


def test_stream_round_trip_with_a_tool(translated):
    t = translated
    t.route("steady", False)
    oai = t.client()
    with oai.responses.stream(model="weather", input="Weather in Paris?", tools=TOOLS) as stream:
        types = [e.type for e in stream]
        first = stream.get_final_response()
    assert types[:2] == ["response.created", "response.in_progress"]
    assert "response.function_call_arguments.delta" in types and types[-1] == "response.completed"
    call = next(i for i in first.output if i.type == "function_call")
    assert (call.name, json.loads(call.arguments)) == ("get_weather", {"city": "Paris"})

    events = oai.responses.create(
        model="weather",
        tools=TOOLS,
        stream=True,
        input=[
            {"role": "user", "content": "Weather in Paris?"},
            call.model_dump(exclude_none=True),
            {"type": "function_call_output", "call_id": call.call_id, "output": "18C, cloudy"},
        ],
    )
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == "Paris: 18C, cloudy"


def test_previous_response_id_to_a_chat_only_seller_is_a_clear_400(translated):
    t = translated
    oai = t.client()
    since = len(t.seen)
    with pytest.raises(openai.BadRequestError) as err:
        oai.responses.create(model="hello", input="and then?", previous_response_id="resp_somewhere")
    assert err.value.status_code == 400
    body = err.value.body
    assert isinstance(body, dict) and "previous_response_id" in body.get("message", ""), body
    assert "openai-responses" in body["message"], body
    assert not _posts(t, since), "no seller may be tried"


def test_failover_before_the_first_content_is_invisible(translated):
    t = translated
    t.route("flaky", True)
    try:
        oai = t.client()
        since = len(t.seen)
        with oai.responses.stream(model="hello", input="hi") as stream:
            types = [e.type for e in stream]
            final = stream.get_final_response()
        assert final.output_text == "Hello from a chat seller."
        assert types.count("response.created") == 1, types
        assert [p[0] for p in _posts(t, since)] == ["flaky", "steady"]
    finally:
        t.route("steady", False)


def test_an_error_after_commit_is_the_sdks_error_event(translated):
    t = translated
    t.route("steady", False)
    events = list(t.client().responses.create(model="story", input="a story", stream=True))
    types = [e.type for e in events]
    assert "response.output_text.delta" in types
    assert types[-1] == "error", types
    # The seller's own message arrives as the SDK's error event. (The proxy
    # then adds its own for the stream that ended unfinished, as it does for
    # a native Responses seller: an `error` event is not terminal.)
    errors = [e.message for e in events if e.type == "error"]
    assert any("broke mid-story" in m for m in errors), errors
    assert types.index("error") > types.index("response.output_text.delta")
    assert "response.completed" not in types
