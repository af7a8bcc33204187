"""The official OpenAI and Anthropic Python SDKs, pointed at
`tokenbuddy serve --demo`, complete streaming and non-streaming calls on all
three protocols. They are the judges of protocol correctness."""

import anthropic
import openai
import pytest

MODEL_OPENAI = "gpt-demo"
MODEL_ANTHROPIC = "claude-demo"


def test_chat_completions_non_stream(oai):
    for _ in range(4):  # enough calls to meet the flaky demo seller
        r = oai.chat.completions.create(
            model=MODEL_OPENAI, messages=[{"role": "user", "content": "Say hello"}]
        )
        assert r.choices[0].message.role == "assistant"
        assert r.choices[0].message.content
        assert r.usage.completion_tokens > 0
        assert r.model == MODEL_OPENAI


def test_chat_completions_stream(oai):
    for _ in range(4):
        stream = oai.chat.completions.create(
            model=MODEL_OPENAI,
            messages=[{"role": "user", "content": "Say hello"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        text, usage = "", None
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                text += chunk.choices[0].delta.content
            if chunk.usage:
                usage = chunk.usage
        assert text
        assert usage is not None and usage.completion_tokens > 0


def test_responses_non_stream(oai):
    r = oai.responses.create(model=MODEL_OPENAI, input="Say hello")
    assert r.status == "completed"
    assert r.output_text
    assert r.usage.output_tokens > 0


def test_responses_stream(oai):
    for _ in range(4):
        deltas, completed = [], None
        with oai.responses.stream(model=MODEL_OPENAI, input="Say hello") as stream:
            for event in stream:
                if event.type == "response.output_text.delta":
                    deltas.append(event.delta)
            completed = stream.get_final_response()
        assert "".join(deltas)
        assert completed.output_text == "".join(deltas)
        assert completed.usage.output_tokens > 0


def test_messages_non_stream(ant):
    for _ in range(4):
        m = ant.messages.create(
            model=MODEL_ANTHROPIC,
            max_tokens=128,
            messages=[{"role": "user", "content": "Say hello"}],
        )
        assert m.role == "assistant"
        assert m.content[0].type == "text" and m.content[0].text
        assert m.usage.output_tokens > 0
        assert m.model == MODEL_ANTHROPIC


def test_messages_stream(ant):
    for _ in range(4):
        with ant.messages.stream(
            model=MODEL_ANTHROPIC,
            max_tokens=128,
            messages=[{"role": "user", "content": "Say hello"}],
        ) as stream:
            text = "".join(stream.text_stream)
            final = stream.get_final_message()
        assert text
        assert final.content[0].text == text
        assert final.usage.output_tokens > 0
        assert final.stop_reason == "end_turn"


def test_count_tokens(ant):
    r = ant.messages.count_tokens(
        model=MODEL_ANTHROPIC, messages=[{"role": "user", "content": "Say hello"}]
    )
    assert r.input_tokens > 0


def test_models_list_and_wrong_token(server, oai):
    assert isinstance(list(oai.models.list()), list)
    bad = openai.OpenAI(base_url=server.url + "/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model=MODEL_OPENAI, messages=[{"role": "user", "content": "x"}])
    bad_ant = anthropic.Anthropic(base_url=server.url, api_key="wrong", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError):
        bad_ant.messages.create(
            model=MODEL_ANTHROPIC, max_tokens=8, messages=[{"role": "user", "content": "x"}]
        )


def test_both_sdks_list_the_demo_models(oai, ant):
    """The demo sellers take any model and price the demo models; their
    simulated `/v1/models` reports the same three, so nothing is marked
    learned (a priced name wins like a declared one)."""
    expected = ["claude-demo", "demo-small", "gpt-demo"]
    listed = list(oai.models.list())
    assert sorted(m.id for m in listed) == expected
    assert all("tokenbuddy" not in (m.model_extra or {}) for m in listed)
    page = ant.models.list()
    assert sorted(m.id for m in page.data) == expected
    assert page.has_more is False


def test_flaky_sellers_failures_never_reached_a_client(server):
    """Runs last: every call above succeeded with SDK retries off, yet the
    flaky demo seller failed some of them: failover hid those failures."""
    import json
    import urllib.request

    req = urllib.request.Request(
        server.url + "/api/sellers", headers={"Authorization": f"Bearer {server.token}"}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        sellers = {s["id"]: s["stats"] for s in json.load(resp)["sellers"]}
    assert sellers["demo-flaky"]["errors"] > 0, sellers["demo-flaky"]
    assert sellers["demo-flaky"]["requests"] > sellers["demo-flaky"]["errors"]
    # Each failure was served by a standby seller instead.
    standby = sellers["demo-fast"]["requests"] + sellers["demo-cheap"]["requests"]
    assert standby >= sellers["demo-flaky"]["errors"], sellers
