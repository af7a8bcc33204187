"""Every golden Gemini output of the gemini ← chat translation
(`tests/translate/gemini_via_chat/*/client.{json,sse}`) read with the
official `google-genai` SDK's own types, as a Gemini client reads it.
Needs no server."""

import json
import pathlib

import pytest
from google.genai import errors, types

PAIR = pathlib.Path(__file__).resolve().parents[1] / "translate" / "gemini_via_chat"


def _cases(name):
    return sorted(p for p in PAIR.glob(f"*/{name}"))


def _events(path):
    """The `data:` payloads of an SSE file, one per event."""
    out = []
    for block in path.read_text().split("\n\n"):
        lines = [l for l in block.splitlines() if l.startswith("data: ")]
        if lines:
            out.append("\n".join(l[len("data: "):] for l in lines))
    return out


def test_there_are_cases():
    assert _cases("client.json") and _cases("client.sse")


@pytest.mark.parametrize("path", _cases("client.json"), ids=lambda p: p.parent.name)
def test_bodies_are_generate_content_responses(path):
    text = path.read_text()
    if text.startswith("error:"):
        pytest.skip("a refused answer, not a body")
    r = types.GenerateContentResponse.model_validate_json(text)
    assert r.candidates and r.candidates[0].finish_reason is not None
    assert r.response_id == "test" and r.model_version
    # The SDK's own accessors work on it.
    assert r.text is not None or r.function_calls


@pytest.mark.parametrize("path", _cases("client.sse"), ids=lambda p: p.parent.name)
def test_streams_parse_event_by_event_and_end_properly(path):
    events = _events(path)
    assert events
    text, calls, finishes, usage = "", [], [], None
    for i, data in enumerate(events):
        if data.startswith('{"error":'):
            # What google-genai raises for an error chunk; it ends the stream.
            body = json.loads(data)
            with pytest.raises(errors.ServerError):
                errors.APIError.raise_error(body["error"]["code"], body, None)
            assert i == len(events) - 1, "nothing follows an error"
            return
        r = types.GenerateContentResponse.model_validate_json(data)
        for part in r.candidates[0].content.parts or []:
            if part.function_call:
                assert isinstance(part.function_call.args, dict)
                calls.append(part.function_call)
            elif part.text and not part.thought:
                text += part.text
        if r.candidates[0].finish_reason is not None:
            finishes.append(i)
        if r.usage_metadata is not None:
            usage = r.usage_metadata
    # Gemini's stream has one end: the event with the finish reason, last.
    assert finishes == [len(events) - 1], finishes
    assert text or calls
    body = path.parent / "client.json"
    if usage is not None and body.exists() and not body.read_text().startswith("error:"):
        whole = types.GenerateContentResponse.model_validate_json(body.read_text())
        assert usage.prompt_token_count == whole.usage_metadata.prompt_token_count
