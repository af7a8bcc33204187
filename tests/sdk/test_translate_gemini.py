"""The official `google-genai` SDK through TokenBuddy's translation: a
real `tokenbuddy serve` whose only seller speaks OpenAI chat (a stub here,
the outside world), called as Gemini — `generate_content` and
`generate_content_stream`, each with a function-calling round trip, and
`count_tokens`."""

import http.server
import json
import threading

import pytest
from google import genai
from google.genai import types

from conftest import serve_sellers

MODEL = "gemini-stub"


class _Chat(http.server.BaseHTTPRequestHandler):
    """A chat-only seller: calls `get_weather` until it has the result, then answers in text."""

    seen = []

    def do_POST(self):  # noqa: N802 (the stdlib's name)
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        _Chat.seen.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
        last = body["messages"][-1]
        if last["role"] == "tool":
            message = {"role": "assistant", "content": "It is 18C in Paris."}
            finish = "stop"
        else:
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [{
                    "id": "call_stub_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }],
            }
            finish = "tool_calls"
        usage = {"prompt_tokens": 30, "completion_tokens": 7, "total_tokens": 37,
                 "prompt_tokens_details": {"cached_tokens": 10}}
        if body.get("stream"):
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.end_headers()
            base = {"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 1, "model": "up"}
            chunks = [{"role": "assistant", "content": ""}]
            if message["content"]:
                chunks += [{"content": "It is 18C "}, {"content": "in Paris."}]
            else:
                call = message["tool_calls"][0]
                chunks += [
                    {"tool_calls": [{"index": 0, "id": call["id"], "type": "function",
                                     "function": {"name": "get_weather", "arguments": ""}}]},
                    {"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]},
                    {"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]},
                ]
            events = [dict(base, choices=[{"index": 0, "delta": d, "finish_reason": None}]) for d in chunks]
            events.append(dict(base, choices=[{"index": 0, "delta": {}, "finish_reason": finish}]))
            events.append(dict(base, choices=[], usage=usage))
            for e in events:
                self.wfile.write(f"data: {json.dumps(e)}\n\n".encode())
                self.wfile.flush()
            self.wfile.write(b"data: [DONE]\n\n")
            return
        answer = json.dumps({
            "id": "chatcmpl-s", "object": "chat.completion", "created": 1, "model": "up",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": usage,
        }).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *_):
        pass


@pytest.fixture(scope="module")
def served():
    seller = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Chat)
    threading.Thread(target=seller.serve_forever, daemon=True).start()
    sellers = (
        "sellers:\n"
        f"  - id: chat\n    base_url: http://127.0.0.1:{seller.server_port}/v1\n"
        f"    api_key: sk-chat\n    protocols: [openai-chat]\n    models: [{MODEL}]\n"
    )
    try:
        with serve_sellers(sellers, "tokenbuddy-sdk-gemini-") as served:
            yield served
    finally:
        seller.shutdown()


def _client(served):
    url, token = served
    return genai.Client(api_key=token, http_options=types.HttpOptions(base_url=url))


def _config():
    weather = types.FunctionDeclaration(
        name="get_weather",
        description="Current weather in a city",
        parameters=types.Schema(
            type="OBJECT",
            properties={"city": types.Schema(type="STRING")},
            required=["city"],
        ),
    )
    return types.GenerateContentConfig(
        system_instruction="Answer briefly.",
        tools=[types.Tool(function_declarations=[weather])],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        temperature=0.1,
    )


def _question():
    return types.Content(role="user", parts=[types.Part.from_text(text="Weather in Paris?")])


def _answer(call_content):
    return [
        _question(),
        call_content,
        types.Content(
            role="user",
            parts=[types.Part.from_function_response(name="get_weather", response={"temp": "18C"})],
        ),
    ]


def _check_seller_calls(token, first, second):
    """What the chat seller got: translated requests, its own key, never ours."""
    for call in (first, second):
        assert call["path"] == "/v1/chat/completions"
        assert call["headers"].get("authorization") == "Bearer sk-chat"
        assert all(token not in v for v in call["headers"].values())
        assert call["body"]["model"] == MODEL
        assert call["body"]["messages"][0] == {"role": "system", "content": "Answer briefly."}
        assert call["body"]["tools"][0]["function"]["parameters"]["properties"]["city"]["type"] == "string"
    tool = second["body"]["messages"][-1]
    assert tool["role"] == "tool" and tool["tool_call_id"] == "call_stub_1"
    assert json.loads(tool["content"]) == {"temp": "18C"}


def test_generate_content_with_a_function_call_round_trip(served):
    client = _client(served)
    _Chat.seen.clear()
    first = client.models.generate_content(model=MODEL, contents=[_question()], config=_config())
    assert first.function_calls and first.function_calls[0].name == "get_weather"
    assert first.function_calls[0].args == {"city": "Paris"}
    assert first.usage_metadata.prompt_token_count == 30
    assert first.usage_metadata.cached_content_token_count == 10
    second = client.models.generate_content(
        model=MODEL, contents=_answer(first.candidates[0].content), config=_config()
    )
    assert second.text == "It is 18C in Paris."
    assert second.candidates[0].finish_reason == types.FinishReason.STOP
    assert [c["body"].get("stream") for c in _Chat.seen] == [None, None]
    _check_seller_calls(served[1], *_Chat.seen)


def test_generate_content_stream_with_a_function_call_round_trip(served):
    client = _client(served)
    _Chat.seen.clear()
    chunks = list(client.models.generate_content_stream(model=MODEL, contents=[_question()], config=_config()))
    calls = [p.function_call for c in chunks for p in (c.candidates[0].content.parts or []) if p.function_call]
    assert len(calls) == 1 and calls[0].name == "get_weather" and calls[0].args == {"city": "Paris"}
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    assert chunks[-1].usage_metadata.total_token_count == 37
    call_content = types.Content(role="model", parts=[types.Part(function_call=calls[0])])
    text = "".join(
        c.text or "" for c in client.models.generate_content_stream(
            model=MODEL, contents=_answer(call_content), config=_config()
        )
    )
    assert text == "It is 18C in Paris."
    assert [c["body"].get("stream") for c in _Chat.seen] == [True, True]
    _check_seller_calls(served[1], *_Chat.seen)


def test_count_tokens_is_an_estimate_for_a_chat_seller(served):
    client = _client(served)
    n = client.models.count_tokens(model=MODEL, contents="Weather in Paris, please?")
    assert n.total_tokens and n.total_tokens > 0
