"""Errors TokenBuddy answers itself — also those its HTTP framework makes
(a body over the limit, a method the path does not take) — reach the
official SDKs in their protocol's shape: the SDK raises its own error class
for the status, and shows our message."""

import anthropic
import openai
import pytest

# One byte over TokenBuddy's 64 MiB request limit, as a message's text.
TOO_LONG = "x" * (64 << 20)


def test_openai_sdk_reads_a_413_for_a_body_over_the_limit(oai):
    with pytest.raises(openai.APIStatusError) as raised:
        oai.chat.completions.create(
            model="gpt-demo", messages=[{"role": "user", "content": TOO_LONG}]
        )
    e = raised.value
    assert e.status_code == 413
    assert e.code == "request_too_large"
    assert "over TokenBuddy's limit of 64 MiB" in e.message


def test_anthropic_sdk_reads_a_413_for_a_body_over_the_limit(ant):
    with pytest.raises(anthropic.ContentTooLargeError) as raised:
        ant.messages.create(
            model="claude-demo", max_tokens=8, messages=[{"role": "user", "content": TOO_LONG}]
        )
    e = raised.value
    assert e.body["type"] == "error"
    assert e.body["error"]["type"] == "request_too_large"
    assert "over TokenBuddy's limit of 64 MiB" in e.body["error"]["message"]


def test_a_method_the_path_does_not_take_is_an_sdk_error_with_our_message(oai, ant):
    with pytest.raises(openai.APIStatusError) as raised:
        oai.get("/chat/completions", cast_to=object)
    assert raised.value.status_code == 405
    assert "GET is not allowed on /v1/chat/completions" in raised.value.message
    with pytest.raises(anthropic.APIStatusError) as raised:
        ant.get("/v1/messages", cast_to=object)
    assert raised.value.status_code == 405
    assert raised.value.body["error"]["message"] == "GET is not allowed on /v1/messages"


def test_a_body_that_is_not_json_is_a_bad_request(oai):
    with pytest.raises(openai.BadRequestError) as raised:
        oai.post(
            "/chat/completions",
            cast_to=object,
            content=b"{not json",
            options={"headers": {"Content-Type": "application/json"}},
        )
    assert "not valid JSON" in raised.value.message
