//! Streaming and non-streaming pass-through for all three protocols over real
//! sockets: exact bytes, no buffering, metering on the side.

mod support;

use futures_util::{Stream, StreamExt};
use support::{events, read_all, read_to_first_delta, request_body, Harness, HANG};
use tokenbuddy::pool::StatsSnapshot;
use tokenbuddy::protocol::Protocol;
use tokenbuddy::sim::{Behavior, SimSeller};

async fn one_seller(behavior: Behavior) -> (SimSeller, Harness) {
    let sim = SimSeller::start(behavior).await.expect("sim starts");
    let h = Harness::start_one("s1", &sim.base_url()).await;
    (sim, h)
}

fn recorded_response(sim: &SimSeller) -> Vec<u8> {
    let reqs = sim.requests();
    let last = reqs.last().expect("the seller got a request");
    last.response_bytes()
}

/// Reads the rest of `body` into `received`, every chunk whole; panics on a
/// hang.
async fn read_rest<S, B>(body: &mut S, received: &mut Vec<u8>)
where
    S: Stream<Item = reqwest::Result<B>> + Unpin,
    B: AsRef<[u8]>,
{
    while let Some(chunk) = tokio::time::timeout(HANG, body.next())
        .await
        .expect("no hang")
    {
        received.extend_from_slice(chunk.expect("chunk").as_ref());
    }
}

/// Seller `s1`'s stats now, from the pool itself.
fn s1_stats(h: &Harness) -> StatsSnapshot {
    h.running
        .pool()
        .stats(&"s1".into())
        .snapshot(std::time::Instant::now(), std::time::SystemTime::now())
}

#[tokio::test]
async fn streams_arrive_byte_for_byte_and_are_metered() {
    for protocol in Protocol::ALL {
        let (sim, h) = one_seller(Behavior {
            tokens: 12,
            ..Behavior::default()
        })
        .await;
        let resp = h.call(protocol, "m-1", true).await;
        assert_eq!(resp.status(), 200, "{protocol}");
        assert_eq!(resp.headers()["x-tokenbuddy-seller"], "s1");
        assert!(resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
        let got = read_all(resp).await;
        assert_eq!(
            got,
            recorded_response(&sim),
            "{protocol}: bytes differ from what the seller sent"
        );
        let evs = events(protocol, &got);
        assert_eq!(evs.iter().filter(|e| e.semantic).count(), 12, "{protocol}");
        assert!(evs.iter().all(|e| !e.error), "{protocol}");

        let stats = h.stats("s1").await;
        assert_eq!(stats["requests"], 1, "{protocol}: {stats}");
        assert_eq!(stats["errors"], 0, "{protocol}: {stats}");
        assert_eq!(stats["outputTokens"], 12, "{protocol}: {stats}");
        assert!(
            stats["ttftLastMs"].as_f64().is_some_and(|v| v >= 0.0),
            "{protocol}: {stats}"
        );
        assert!(
            stats["ttftEwmaMs"].as_f64().is_some(),
            "{protocol}: {stats}"
        );
        assert!(
            stats["tokensPerSec"].as_f64().is_some_and(|v| v > 0.0),
            "{protocol}: {stats}"
        );
        h.running.stop().await.expect("stop");
    }
}

#[tokio::test]
async fn non_stream_bodies_arrive_unchanged_with_usage_metered() {
    for protocol in Protocol::ALL {
        let (sim, h) = one_seller(Behavior {
            tokens: 7,
            ..Behavior::default()
        })
        .await;
        let resp = h.call(protocol, "m-2", false).await;
        assert_eq!(resp.status(), 200, "{protocol}");
        assert!(resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"));
        let got = read_all(resp).await;
        assert_eq!(got, recorded_response(&sim), "{protocol}");
        let body: serde_json::Value = serde_json::from_slice(&got).expect("json");
        let model = match protocol {
            Protocol::Gemini => &body["modelVersion"],
            _ => &body["model"],
        };
        assert_eq!(model, "m-2", "{protocol}");
        let stats = h.stats("s1").await;
        assert_eq!(stats["outputTokens"], 7, "{protocol}: {stats}");
        h.running.stop().await.expect("stop");
    }
}

/// The client holds the first delta while the seller still holds back the
/// rest: proof that nothing in between buffers the stream.
#[tokio::test]
async fn first_delta_reaches_client_while_seller_holds_the_rest() {
    for protocol in Protocol::ALL {
        let (sim, h) = one_seller(Behavior {
            tokens: 5,
            ..Behavior::default()
        })
        .await;
        let hold = sim.hold();
        let resp = h.call(protocol, "m", true).await;
        let mut body = resp.bytes_stream();
        let mut received = Vec::new();
        // The first delta arrives while the seller holds the rest.
        read_to_first_delta(protocol, &mut body, &mut received).await;
        let semantic = events(protocol, &received)
            .iter()
            .filter(|e| e.semantic)
            .count();
        // The seller has not sent its terminal event yet: it is still held.
        let sent_so_far = recorded_response(&sim);
        assert!(
            !events(protocol, &sent_so_far).iter().any(|e| e.terminal),
            "{protocol}: seller finished before release"
        );
        assert_eq!(semantic, 1, "{protocol}");
        hold.release();
        read_rest(&mut body, &mut received).await;
        let evs = events(protocol, &received);
        assert_eq!(evs.iter().filter(|e| e.semantic).count(), 5, "{protocol}");
        assert_eq!(received, recorded_response(&sim), "{protocol}");
        h.running.stop().await.expect("stop");
    }
}

#[tokio::test]
async fn count_tokens_and_models_pass_through() {
    let sim = SimSeller::start(Behavior::default()).await.expect("sim");
    let yaml = format!(
        "sellers:\n  - id: a\n    base_url: {}\n    api_key: k\n    protocols: [anthropic-messages]\n    models: [claude-x, {{sonnet: vendor/claude-sonnet}}]\n",
        sim.base_url()
    );
    let h = Harness::start(&yaml).await;
    let resp = h
        .post(
            "/v1/messages/count_tokens",
            &serde_json::json!({"model": "sonnet", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .send()
        .await
        .expect("count_tokens");
    assert_eq!(resp.status(), 200);
    let v: serde_json::Value = resp.json().await.expect("json");
    assert!(v["input_tokens"].as_u64().is_some(), "{v}");
    let req = sim.requests().pop().expect("seller got it");
    assert_eq!(req.path, "/v1/messages/count_tokens");
    assert_eq!(
        req.model.as_deref(),
        Some("vendor/claude-sonnet"),
        "model mapped upstream"
    );
    let key = req
        .headers
        .iter()
        .find(|(k, _)| k == "x-api-key")
        .map(|(_, v)| v.as_str());
    assert_eq!(key, Some("k"), "the seller's key replaces ours");

    let models: serde_json::Value = h
        .client
        .get(h.url("/v1/models"))
        .header("x-api-key", h.running.token())
        .send()
        .await
        .expect("models")
        .json()
        .await
        .expect("json");
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["claude-x", "sonnet"]);
    assert_eq!(models["object"], "list");
    h.running.stop().await.expect("stop");
}

#[tokio::test]
async fn client_headers_pass_and_hop_by_hop_and_our_token_do_not() {
    let (sim, h) = one_seller(Behavior::default()).await;
    let resp = h
        .post(
            "/v1/messages",
            &request_body(Protocol::AnthropicMessages, "m", false),
        )
        .header("anthropic-version", "2023-06-01")
        .header("anthropic-beta", "tools-2024")
        .header("x-session-id", "abc")
        .header("connection", "keep-alive, x-drop-me")
        .header("x-drop-me", "1")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    let req = sim.requests().pop().expect("seller got it");
    let get = |name: &str| {
        req.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(get("anthropic-version").as_deref(), Some("2023-06-01"));
    assert_eq!(get("anthropic-beta").as_deref(), Some("tools-2024"));
    assert_eq!(get("x-session-id").as_deref(), Some("abc"));
    assert_eq!(get("x-drop-me"), None);
    assert_eq!(get("x-api-key").as_deref(), Some("sk-s1-secret"));
    assert_eq!(get("authorization"), None, "our token never goes upstream");
    h.running.stop().await.expect("stop");
}

/// Issue #8: a stream cut by TokenBuddy's own shutdown ends with the
/// protocol's error event, and it is not the seller's fault — its errors,
/// circuit, error rate and last error stay as they were.
#[tokio::test]
async fn our_own_shutdown_ends_streams_without_blaming_the_seller() {
    for protocol in Protocol::ALL {
        let (sim, h) = one_seller(Behavior {
            tokens: 5,
            ..Behavior::default()
        })
        .await;
        let hold = sim.hold();
        let resp = h.call(protocol, "m", true).await;
        assert_eq!(resp.status(), 200, "{protocol}");
        let mut body = resp.bytes_stream();
        let mut received = Vec::new();
        // Committed: the first delta reached us while the seller holds the rest.
        read_to_first_delta(protocol, &mut body, &mut received).await;
        h.running.shutdown();
        tokio::time::timeout(HANG, async {
            while let Some(Ok(chunk)) = body.next().await {
                received.extend_from_slice(&chunk);
            }
        })
        .await
        .expect("the stream ends on shutdown, never hangs");
        let evs = events(protocol, &received);
        assert!(
            evs.last().is_some_and(|e| e.error),
            "{protocol}: the stream ends with an error event: {}",
            String::from_utf8_lossy(&received)
        );
        assert!(
            String::from_utf8_lossy(&received).contains("TokenBuddy is shutting down"),
            "{protocol}"
        );
        let stats = s1_stats(&h);
        assert_eq!(stats.errors, 0, "{protocol}: {stats:?}");
        assert_eq!(stats.last_error, None, "{protocol}: {stats:?}");
        assert_eq!(stats.circuit, "closed", "{protocol}: {stats:?}");
        assert_eq!(stats.error_rate, 0.0, "{protocol}: {stats:?}");
        assert_eq!(stats.in_flight, 0, "{protocol}: {stats:?}");
        drop(hold);
        h.running.wait().await.expect("stopped");
    }
}

/// Shutdown while a request still waits for its seller's first token (or
/// whole body): the client is told at once, in its protocol's shape, and the
/// seller is not blamed.
#[tokio::test]
async fn shutdown_before_the_commit_point_answers_at_once_without_blame() {
    for (protocol, stream) in [
        (Protocol::OpenAiChat, true),
        (Protocol::OpenAiResponses, false),
        (Protocol::AnthropicMessages, true),
    ] {
        let (sim, h) = one_seller(Behavior {
            ttft: std::time::Duration::from_secs(60),
            ..Behavior::default()
        })
        .await;
        let call = h.call(protocol, "m", stream);
        let shutdown = async {
            // The request is with the seller, which waits before answering.
            tokio::time::timeout(HANG, async {
                while sim.request_count() == 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                }
            })
            .await
            .expect("the seller gets the request");
            h.running.shutdown();
        };
        let (resp, ()) = tokio::time::timeout(HANG, async { tokio::join!(call, shutdown) })
            .await
            .expect("answered before the shutdown grace ends");
        assert_eq!(resp.status(), 503, "{protocol}");
        let v: serde_json::Value = resp.json().await.expect("a JSON error");
        let message = v["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("shutting down"), "{protocol}: {v}");
        assert_eq!(
            v["type"] == "error",
            protocol.is_anthropic(),
            "{protocol}: {v}"
        );
        let stats = s1_stats(&h);
        assert_eq!(
            (stats.errors, stats.last_error.as_deref()),
            (0, None),
            "{protocol}"
        );
        assert_eq!(stats.in_flight, 0, "{protocol}");
        h.running.wait().await.expect("stopped");
    }
}

/// A stream labelled `text/plain` (some gateways do) is still a stream:
/// held only to its first token, then passed through as it comes — never
/// held whole as a body would be.
#[tokio::test]
async fn a_stream_labelled_as_plain_text_still_streams() {
    for protocol in Protocol::ALL {
        let (sim, h) = one_seller(Behavior {
            tokens: 5,
            failure: Some(tokenbuddy::sim::Failure::MislabelledStream),
            ..Behavior::default()
        })
        .await;
        let hold = sim.hold();
        let resp = h.call(protocol, "m", true).await;
        assert_eq!(resp.status(), 200, "{protocol}");
        assert!(resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"));
        let mut body = resp.bytes_stream();
        let mut received = Vec::new();
        // The first delta arrives while the seller holds the rest.
        read_to_first_delta(protocol, &mut body, &mut received).await;
        hold.release();
        read_rest(&mut body, &mut received).await;
        assert_eq!(received, recorded_response(&sim), "{protocol}");
        let stats = h.stats("s1").await;
        assert_eq!(
            stats["outputTokens"], 5,
            "{protocol}: metered as a stream: {stats}"
        );
        assert!(
            stats["ttftLastMs"].as_f64().is_some(),
            "{protocol}: {stats}"
        );
        h.running.stop().await.expect("stop");
    }
}

/// A compressed answer (we never ask for one, some servers send it anyway)
/// cannot be judged: it is passed on as it is, not mistaken for an error page.
#[tokio::test]
async fn a_compressed_answer_is_passed_on_as_it_is() {
    use tokenbuddy::sim::{RawEnd, RawReply, RawSeller};
    let body: &[u8] = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03compressed";
    let mut bytes = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-encoding: gzip\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(body);
    let raw = RawSeller::start(RawReply {
        bytes,
        end: RawEnd::Close,
    })
    .await
    .expect("raw seller");
    let h = Harness::start_one("s1", &raw.base_url()).await;
    let client = reqwest::Client::builder().build().expect("client");
    let resp = client
        .post(h.url("/v1/chat/completions"))
        .bearer_auth(h.running.token())
        .json(&request_body(Protocol::OpenAiChat, "m", false))
        .send()
        .await
        .expect("answer");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-encoding"], "gzip");
    assert_eq!(resp.bytes().await.expect("body").as_ref(), body);
    assert_eq!(h.stats("s1").await["errors"], 0);
    h.running.stop().await.expect("stop");
}
