//! Usage read through the real proxy over real sockets: simulated sellers
//! report input, output and cache tokens the way each protocol does, the
//! meter reads them from what the client received (stream and whole body),
//! and the pool counts the output tokens the seller reported.

mod support;

use serde_json::{json, Value};
use support::{read_all, request_body, Harness};
use tokenbuddy::protocol::{event, Protocol, Usage};
use tokenbuddy::proxy::meter::Meter;
use tokenbuddy::sim::{Behavior, SimSeller};

/// What the client received, read as the meter reads it.
fn metered(protocol: Protocol, stream: bool, bytes: &[u8]) -> Usage {
    if stream {
        let mut m = Meter::new(protocol);
        m.feed(bytes, std::time::Instant::now());
        assert!(m.ended(), "{protocol}: the stream ended properly");
        m.usage()
    } else {
        event::body_usage(protocol, bytes)
    }
}

/// The simulator's prompt size for a request body (a token per 4 bytes).
fn prompt_tokens(body: &[u8]) -> u64 {
    (body.len() as u64 / 4).max(1)
}

/// A request with a prompt long enough to have a cached part.
fn long_request(protocol: Protocol, stream: bool) -> Value {
    let mut body = request_body(protocol, "m-1", stream);
    let long = "Say hello to every one of the many readers of this prompt. ".repeat(8);
    match protocol {
        Protocol::OpenAiResponses => body["input"] = json!(long),
        Protocol::Gemini => body["contents"][0]["parts"][0]["text"] = json!(long),
        _ => body["messages"][0]["content"] = json!(long),
    }
    body
}

async fn output_tokens(h: &Harness) -> u64 {
    h.stats("s1").await["outputTokens"].as_u64().unwrap_or(0)
}

#[tokio::test]
async fn every_protocol_streamed_or_not_reports_input_output_and_cache() {
    let sim = SimSeller::start(Behavior {
        tokens: 9,
        cache_read_tokens: 40,
        cache_write_tokens: 10,
        ..Behavior::default()
    })
    .await
    .expect("sim starts");
    let h = Harness::start_one("s1", &sim.base_url()).await;
    let mut counted = 0;
    for protocol in Protocol::ALL {
        for stream in [true, false] {
            let case = format!("{protocol} stream={stream}");
            let resp = h
                .post(
                    &support::call_path(protocol, "m-1", stream),
                    &long_request(protocol, stream),
                )
                .send()
                .await
                .expect("request reaches TokenBuddy");
            assert_eq!(resp.status(), 200, "{case}");
            let got = read_all(resp).await;
            let sent = sim.requests().last().expect("the seller got it").clone();
            assert_eq!(
                got,
                sent.response_bytes(),
                "{case}: bytes as the seller sent them"
            );

            let prompt = prompt_tokens(&sent.body);
            assert!(prompt > 50, "{case}: prompt of {prompt} tokens");
            // Anthropic alone reports cache writes; OpenAI folds the cached
            // part into its prompt count, and `input` is the rest either way.
            let write = (protocol == Protocol::AnthropicMessages).then_some(10);
            let want = Usage {
                input: Some(prompt - 40 - write.unwrap_or(0)),
                output: Some(9),
                cache_read: Some(40),
                cache_write: write,
            };
            assert_eq!(metered(protocol, stream, &got), want, "{case}");

            counted += 9;
            assert_eq!(output_tokens(&h).await, counted, "{case}: the pool's count");
        }
    }
}

#[tokio::test]
async fn an_anthropic_cache_breakpoint_reads_half_the_prompt_from_the_cache() {
    let sim = SimSeller::start(Behavior::default())
        .await
        .expect("sim starts");
    let h = Harness::start_one("s1", &sim.base_url()).await;
    for stream in [true, false] {
        let mut body = long_request(Protocol::AnthropicMessages, stream);
        body["system"] = json!([{
            "type": "text",
            "text": "You are terse.",
            "cache_control": {"type": "ephemeral"},
        }]);
        let resp = h.post("/v1/messages", &body).send().await.expect("sent");
        assert_eq!(resp.status(), 200);
        let got = read_all(resp).await;
        let prompt = prompt_tokens(&sim.requests().last().expect("got it").body);
        let usage = metered(Protocol::AnthropicMessages, stream, &got);
        assert_eq!(usage.cache_read, Some(prompt / 2), "stream={stream}");
        assert_eq!(usage.input, Some(prompt - prompt / 2), "stream={stream}");
        assert_eq!(usage.output, Some(16), "stream={stream}");
    }
}

#[tokio::test]
async fn a_chat_stream_without_include_usage_has_none_and_deltas_are_counted() {
    let sim = SimSeller::start(Behavior {
        tokens: 5,
        ..Behavior::default()
    })
    .await
    .expect("sim starts");
    let h = Harness::start_one("s1", &sim.base_url()).await;
    let mut body = request_body(Protocol::OpenAiChat, "m-1", true);
    body["stream_options"] = Value::Null;
    let resp = h
        .post("/v1/chat/completions", &body)
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), 200);
    let got = read_all(resp).await;
    assert!(metered(Protocol::OpenAiChat, true, &got).is_empty());
    // The meter falls back to one token per delta.
    assert_eq!(output_tokens(&h).await, 5);
}
