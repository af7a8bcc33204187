"""The golden outputs of the Responses ← chat translation, read by the
official `openai` SDK: every `client.sse` event validates as a
`ResponseStreamEvent`, the SDK's own stream accumulator rebuilds the final
response from the events alone and it matches the terminal event's, and every
`client.json` validates as a `Response`. No server: these read the files
`tests/translate_golden.rs` checks."""

import json
import pathlib

import pydantic
import pytest
from openai import omit
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.responses import Response, ResponseStreamEvent

CASES = pathlib.Path(__file__).parents[1] / "translate" / "responses_via_chat"
EVENTS = pydantic.TypeAdapter(ResponseStreamEvent)


def _cases(name):
    found = sorted(p for p in CASES.glob(f"*/{name}"))
    assert found, f"no {name} under {CASES}"
    return found


def _unparsed(v):
    """`v` without the fields the SDK adds when it parses (`parsed`, `parsed_arguments`)."""
    if isinstance(v, dict):
        return {k: _unparsed(x) for k, x in v.items() if not k.startswith("parsed")}
    if isinstance(v, list):
        return [_unparsed(x) for x in v]
    return v


def _events(path):
    """(event name, data) of each SSE event in the file."""
    out = []
    for block in path.read_text().split("\n\n"):
        if not block.strip():
            continue
        name, data = None, []
        for line in block.splitlines():
            if line.startswith("event: "):
                name = line[len("event: "):]
            elif line.startswith("data: "):
                data.append(line[len("data: "):])
        out.append((name, "\n".join(data)))
    return out


@pytest.mark.parametrize("path", _cases("client.sse"), ids=lambda p: p.parent.name)
def test_every_event_is_a_response_stream_event(path):
    events = _events(path)
    assert events, path
    state = ResponseStreamState(input_tools=json.loads((path.parent / "request.json").read_text()).get("tools", []), text_format=omit)
    terminal = None
    for name, data in events:
        event = EVENTS.validate_json(data)
        assert event.type == name, (name, data)
        state.handle_event(event)
        if event.type in ("response.completed", "response.incomplete"):
            terminal = event
    if terminal is None:
        # A stream the seller did not finish (or that ended in an error):
        # no terminal event, and nothing claims to be complete.
        assert all(e[0] not in ("response.completed", "response.incomplete") for e in events)
        return
    final = terminal.response
    if terminal.type == "response.incomplete":
        # The SDK completes only `response.completed`; an incomplete one stays
        # its running snapshot (items still in progress): the text must agree.
        snapshot = state._ResponseStreamState__current_snapshot
        assert snapshot.output_text == final.output_text and final.output_text
        return
    rebuilt = state._completed_response
    assert rebuilt is not None, "the SDK did not rebuild the response"
    assert _unparsed([i.model_dump() for i in rebuilt.output]) == _unparsed([i.model_dump() for i in final.output])
    assert final.usage is not None


def test_error_after_text_is_the_sdk_error_event():
    events = [EVENTS.validate_json(d) for _, d in _events(CASES / "error_after_text" / "client.sse")]
    assert events[-1].type == "error"
    assert "server had an error" in events[-1].message
    assert [e.type for e in events].count("response.output_text.delta") == 1


def test_tool_calls_stream_arguments_and_ids():
    events = [EVENTS.validate_json(d) for _, d in _events(CASES / "tools" / "client.sse")]
    done = [e.item for e in events if e.type == "response.output_item.done"]
    assert [(i.type, i.call_id, i.name, json.loads(i.arguments)) for i in done] == [
        ("function_call", "call_o", "get_weather", {"city": "Oslo"}),
        ("function_call", "call_b", "get_weather", {"city": "Bern"}),
    ]


@pytest.mark.parametrize("path", _cases("client.json"), ids=lambda p: p.parent.name)
def test_every_body_is_a_response(path):
    body = Response.model_validate_json(path.read_text())
    assert body.object == "response"
    assert body.id == "resp_test"
    assert body.usage is not None
    if body.status == "incomplete":
        assert body.incomplete_details is not None and body.incomplete_details.reason == "max_output_tokens"
    # The SDK's convenience reader sees the text.
    texts = [c.text for i in body.output if i.type == "message" for c in i.content if c.type == "output_text"]
    assert body.output_text == "".join(texts)
