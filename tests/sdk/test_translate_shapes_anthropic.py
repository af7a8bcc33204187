"""The Anthropic translations' golden outputs, read by the official SDKs.

Every `client.sse` / `client.json` under tests/translate/messages_via_chat
(an Anthropic client) and tests/translate/chat_via_messages (an OpenAI chat
client) must validate with the SDK's own pydantic types, event by event, and
a finished stream must accumulate, with the SDK's own accumulator, into the
message or completion it describes. No server: these read files only.
"""

import json
import pathlib

import anthropic
import openai
import pydantic
import pytest
from anthropic.lib.streaming._messages import accumulate_event
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletion, ChatCompletionChunk

ROOT = pathlib.Path(__file__).resolve().parents[1] / "translate"
MESSAGES = ROOT / "messages_via_chat"
CHAT = ROOT / "chat_via_messages"

STREAM_EVENT = pydantic.TypeAdapter(anthropic.types.RawMessageStreamEvent)
ERROR = pydantic.TypeAdapter(anthropic.types.ErrorResponse)


def sse_events(text: str):
    """(event name or None, data) of each event, as an SSE reader splits them."""
    out = []
    for block in text.split("\n\n"):
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip(" "))
        if data:
            out.append((name, "\n".join(data)))
    return out


def cases(pair: pathlib.Path, name: str):
    found = sorted(p for p in pair.glob(f"*/{name}"))
    assert found or not pair.exists(), f"no {name} under {pair}"
    return [pytest.param(p, id=p.parent.name) for p in found]


@pytest.mark.parametrize("path", cases(MESSAGES, "client.sse"))
def test_messages_stream_events_validate_and_accumulate(path):
    events = sse_events(path.read_text())
    assert events, path
    snapshot, bufs, finished, errored = None, {}, False, False
    for name, data in events:
        assert not finished, "an event after message_stop"
        if name == "error":
            err = ERROR.validate_json(data)
            assert err.error.message
            errored = True
            continue
        ev = STREAM_EVENT.validate_json(data)
        assert ev.type == name, (name, data)
        snapshot = accumulate_event(event=ev, current_snapshot=snapshot, json_bufs=bufs)
        finished = ev.type == "message_stop"
    if errored or not finished:
        # A stream the seller broke off: no closing events were made up.
        assert snapshot is None or snapshot.stop_reason is None
        return
    msg = anthropic.types.Message.model_validate(snapshot.to_dict())
    assert msg.id == "msg_test" and msg.role == "assistant"
    assert msg.stop_reason in {"end_turn", "max_tokens", "tool_use", "refusal"}
    assert msg.usage.output_tokens >= 0
    for block in msg.content:
        if block.type == "tool_use":
            assert isinstance(block.input, dict) and block.id and block.name
    if any(b.type == "tool_use" for b in msg.content):
        assert msg.stop_reason == "tool_use"


@pytest.mark.parametrize("path", cases(MESSAGES, "client.json"))
def test_messages_bodies_validate(path):
    text = path.read_text()
    if text.startswith("error:"):
        return  # a BadAnswer, recorded as such
    msg = anthropic.types.Message.model_validate_json(text)
    assert msg.id == "msg_test" and msg.type == "message"
    assert msg.stop_reason is not None


@pytest.mark.parametrize("path", cases(CHAT, "client.sse"))
def test_chat_stream_chunks_validate_and_accumulate(path):
    events = sse_events(path.read_text())
    assert events, path
    state = ChatCompletionStreamState()
    done, errored = False, False
    for name, data in events:
        assert name is None, "chat events have no event: line"
        assert not done, "a chunk after [DONE]"
        if data == "[DONE]":
            done = True
            continue
        body = json.loads(data)
        if "error" in body:
            assert body["error"]["message"]
            errored = True
            continue
        chunk = ChatCompletionChunk.model_validate_json(data)
        assert chunk.id == "chatcmpl-test" and chunk.object == "chat.completion.chunk"
        state.handle_chunk(chunk)
    if errored or not done:
        assert not done
        return
    try:
        final = state.get_final_completion()
    except openai.LengthFinishReasonError as e:
        # The SDK's own verdict on an answer cut at the token limit.
        final = e.completion
    ChatCompletion.model_validate(final.model_dump())
    choice = final.choices[0]
    assert choice.finish_reason in {"stop", "length", "tool_calls", "content_filter"}
    for call in choice.message.tool_calls or []:
        assert call.id and call.function.name
        assert isinstance(json.loads(call.function.arguments), dict)
    if choice.message.tool_calls:
        assert choice.finish_reason == "tool_calls"


@pytest.mark.parametrize("path", cases(CHAT, "client.json"))
def test_chat_bodies_validate(path):
    text = path.read_text()
    if text.startswith("error:"):
        return
    c = ChatCompletion.model_validate_json(text)
    assert c.id == "chatcmpl-test" and c.object == "chat.completion"
    assert c.choices[0].finish_reason is not None
    assert c.usage is not None and c.usage.total_tokens == c.usage.prompt_tokens + c.usage.completion_tokens
