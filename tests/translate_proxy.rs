//! Translation through the real proxy: a client of one protocol served by
//! simulated sellers declared for another, over real sockets — the answer
//! in the client's protocol (streamed and whole), what the seller was sent,
//! the metering, failover before the commit point staying invisible, errors
//! after it and the seller's own refusals said in the client's shape, the
//! switches that turn translation off, the plan saying "via translation",
//! native sellers first on a tie, `count_tokens` estimated, and requests
//! that cannot be translated refused before any seller is tried.

mod support;

use serde_json::{json, Value};
use support::{events, read_all, request_body, seller_of, seller_yaml, sellers_file, Harness};
use tokenbuddy::protocol::Protocol;
use tokenbuddy::sim::{Behavior, Failure, SimSeller};

/// Sellers on simulated servers, each declared for `protocols` only.
async fn sellers(specs: &[(&str, Behavior, &[Protocol])]) -> (Vec<SimSeller>, Harness) {
    let mut sims = Vec::new();
    let mut entries = Vec::new();
    for (id, behavior, protocols) in specs {
        let sim = SimSeller::start(behavior.clone()).await.expect("sim");
        entries.push(seller_yaml(id, &sim.base_url(), protocols));
        sims.push(sim);
    }
    let h = Harness::start(&sellers_file(&entries)).await;
    (sims, h)
}

const CHAT: &[Protocol] = &[Protocol::OpenAiChat];
const MESSAGES: &[Protocol] = &[Protocol::AnthropicMessages];

fn header(resp: &reqwest::Response, name: &str) -> String {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// A client of `client` served by one seller of `seller` only: the answer
/// is in the client's protocol, streamed or whole, the seller got its own
/// protocol's request, and the request log has the seller's usage.
async fn served_through(client: Protocol, seller: &'static [Protocol], via: &str) {
    let (sims, h) = sellers(&[("a", Behavior::default(), seller)]).await;
    for stream in [true, false] {
        let resp = h.call(client, "m", stream).await;
        assert_eq!(resp.status(), 200, "{client} stream={stream}");
        assert_eq!(header(&resp, "x-tokenbuddy-via"), via);
        let kind = header(&resp, "content-type");
        let bytes = read_all(resp).await;
        if stream {
            assert!(kind.starts_with("text/event-stream"), "{kind}");
            let seen = events(client, &bytes);
            assert!(
                seen.iter().any(|e| e.semantic),
                "{client}: {}",
                String::from_utf8_lossy(&bytes)
            );
            assert_eq!(
                seen.iter().filter(|e| e.terminal).count(),
                1,
                "{client}: {}",
                String::from_utf8_lossy(&bytes)
            );
            assert!(!seen.iter().any(|e| e.error));
        } else {
            assert_eq!(kind, "application/json");
            let v: Value = serde_json::from_slice(&bytes).expect("a JSON answer");
            let text = v.to_string();
            assert!(text.contains("Hello"), "{client}: {v}");
        }
        let sent = sims[0].requests();
        let last = sent.last().expect("the seller was asked");
        assert_eq!(last.path, seller[0].path(), "sent in the seller's protocol");
        assert_eq!(last.stream, stream);
        let names: Vec<&str> = last.headers.iter().map(|(n, _)| n.as_str()).collect();
        if seller[0] == Protocol::AnthropicMessages {
            assert!(names.contains(&"anthropic-version"), "{names:?}");
            assert!(names.contains(&"x-api-key"));
        } else {
            assert!(!names.contains(&"anthropic-version"), "{names:?}");
        }
    }
    let rows = h.rows().await;
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert_eq!(row["outcome"], "served", "{row}");
        let usage = &row["usage"];
        // The simulated seller reports 16 output tokens and the input it read.
        assert_eq!(usage["output"], 16, "{row}");
        assert!(usage["input"].as_u64() > Some(0), "{row}");
    }
    h.running.stop().await.expect("stop");
}

#[tokio::test]
async fn a_messages_client_is_served_by_a_chat_seller() {
    served_through(Protocol::AnthropicMessages, CHAT, "chat <- messages").await;
}

#[tokio::test]
async fn a_chat_client_is_served_by_a_messages_seller() {
    served_through(Protocol::OpenAiChat, MESSAGES, "messages <- chat").await;
}

#[tokio::test]
async fn a_responses_client_is_served_by_a_chat_seller() {
    served_through(Protocol::OpenAiResponses, CHAT, "chat <- responses").await;
}

#[tokio::test]
async fn failover_before_content_is_invisible_through_translation() {
    let failing = Behavior {
        failure: Some(Failure::FirstEventError),
        ..Behavior::default()
    };
    let (_sims, h) = sellers(&[("a", failing, CHAT), ("b", Behavior::default(), CHAT)]).await;
    let resp = h.call(Protocol::AnthropicMessages, "m", true).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(seller_of(&resp), "b");
    let bytes = read_all(resp).await;
    let seen = events(Protocol::AnthropicMessages, &bytes);
    assert!(
        !seen.iter().any(|e| e.error),
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    assert!(seen.iter().any(|e| e.terminal));
    let rows = h.rows().await;
    let attempts = &rows[0]["attempts"];
    assert_eq!(attempts[0]["seller"], "a", "{}", rows[0]);
    assert_eq!(attempts[0]["outcome"], "errorEvent", "{}", rows[0]);
    assert_eq!(attempts[1]["outcome"], "served", "{}", rows[0]);
    h.running.stop().await.expect("stop");
}

#[tokio::test]
async fn a_stream_broken_after_commit_ends_with_the_clients_error_event() {
    let breaking = Behavior {
        failure: Some(Failure::DropAfter { tokens: 3 }),
        ..Behavior::default()
    };
    let (_sims, h) = sellers(&[("a", breaking, CHAT)]).await;
    let resp = h.call(Protocol::AnthropicMessages, "m", true).await;
    assert_eq!(resp.status(), 200);
    let bytes = read_all(resp).await;
    let text = String::from_utf8_lossy(&bytes);
    let seen = events(Protocol::AnthropicMessages, &bytes);
    assert!(seen.iter().any(|e| e.semantic), "{text}");
    assert!(seen.last().is_some_and(|e| e.error), "{text}");
    assert!(text.contains("event: error"), "{text}");
    h.running.stop().await.expect("stop");
}

#[tokio::test]
async fn the_sellers_own_refusal_is_said_in_the_clients_shape() {
    let refusing = Behavior {
        failure: Some(Failure::Status {
            code: 400,
            retry_after_secs: None,
        }),
        ..Behavior::default()
    };
    let (_sims, h) = sellers(&[("a", refusing, CHAT)]).await;
    let resp = h.call(Protocol::AnthropicMessages, "m", false).await;
    assert_eq!(resp.status(), 400);
    let v: Value = resp.json().await.expect("json");
    assert_eq!(v["type"], "error", "{v}");
    assert_eq!(v["error"]["type"], "invalid_request_error", "{v}");
    assert!(!v["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .is_empty());
    h.running.stop().await.expect("stop");
}

#[tokio::test]
async fn the_plan_says_via_translation_and_the_switch_turns_it_off() {
    let (sims, h) = sellers(&[("a", Behavior::default(), CHAT)]).await;
    let plan = h
        .api("/api/route-plan?model=m&protocol=anthropic-messages")
        .await;
    assert_eq!(plan["ranked"][0]["via"], "chat ← messages", "{plan}");
    let routing = h.api("/api/routing").await;
    assert_eq!(routing["translation"], true);
    let mut off = routing.clone();
    off["translation"] = json!(false);
    let put = h
        .client
        .put(h.url("/api/routing"))
        .bearer_auth(h.running.token())
        .json(&off)
        .send()
        .await
        .expect("put");
    assert_eq!(put.status(), 200);
    let resp = h.call(Protocol::AnthropicMessages, "m", false).await;
    assert_eq!(resp.status(), 503);
    let v: Value = resp.json().await.expect("json");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("translation is off in the routing settings"),
        "{v}"
    );
    let plan = h
        .api("/api/route-plan?model=m&protocol=anthropic-messages")
        .await;
    assert_eq!(plan["ranked"], json!([]), "{plan}");
    assert_eq!(plan["excluded"][0]["seller"], "a");
    assert!(sims[0].requests().is_empty(), "never tried");
    h.running.stop().await.expect("stop");
}

#[tokio::test]
async fn a_native_seller_goes_first_on_a_tie() {
    // Both unmeasured (a tie); the chat-only seller is first in the file.
    let (sims, h) = sellers(&[
        ("translated", Behavior::default(), CHAT),
        ("native", Behavior::default(), MESSAGES),
    ])
    .await;
    let resp = h.call(Protocol::AnthropicMessages, "m", false).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(seller_of(&resp), "native");
    assert!(sims[0].requests().is_empty());
    h.running.stop().await.expect("stop");
}

#[tokio::test]
async fn count_tokens_without_a_seller_that_counts_is_an_estimate() {
    let (sims, h) = sellers(&[("a", Behavior::default(), CHAT)]).await;
    let body = json!({"model": "m", "system": "x".repeat(400),
        "messages": [{"role": "user", "content": "abcd"}]});
    let resp = h
        .post("/v1/messages/count_tokens", &body)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 200);
    assert!(header(&resp, "x-tokenbuddy-token-count").starts_with("estimate"));
    let v: Value = resp.json().await.expect("json");
    assert_eq!(v, json!({"input_tokens": 101}));
    assert!(sims[0].requests().is_empty(), "no seller asked");
    let rows = h.rows().await;
    assert_eq!(rows[0]["outcome"], "estimated", "{}", rows[0]);
    h.running.stop().await.expect("stop");
}

#[tokio::test]
async fn an_untranslatable_request_is_refused_before_any_seller_is_tried() {
    let (sims, h) = sellers(&[("a", Behavior::default(), CHAT)]).await;
    let mut body = request_body(Protocol::AnthropicMessages, "m", false);
    body["messages"][0]["content"] = json!([
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="}},
        {"type": "text", "text": "Summarise this"}
    ]);
    let resp = h.post("/v1/messages", &body).send().await.expect("send");
    assert_eq!(resp.status(), 400);
    let v: Value = resp.json().await.expect("json");
    assert_eq!(v["error"]["type"], "invalid_request_error", "{v}");
    let message = v["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("via translation chat ← messages"), "{v}");
    assert!(message.contains("document"), "{v}");
    assert!(sims[0].requests().is_empty(), "never tried");
    h.running.stop().await.expect("stop");
}
