//! Failover before the first byte, and errors after it: the client sees an
//! error only when every seller failed, and a broken stream ends with a
//! protocol-correct error event instead of a hang.

mod support;

use support::{events, failing, read_all, request_body, seller_yaml, sellers_file, Harness};
use tokenbuddy::protocol::Protocol;
use tokenbuddy::sim::{closed_port, Behavior, Failure, SimSeller};

async fn pair(first: Behavior) -> (SimSeller, SimSeller, Harness) {
    let a = SimSeller::start(first).await.expect("sim a");
    let b = SimSeller::start(Behavior::default()).await.expect("sim b");
    let yaml = sellers_file(&[
        seller_yaml("a", &a.base_url(), &Protocol::ALL),
        seller_yaml("b", &b.base_url(), &Protocol::ALL),
    ]);
    let h = Harness::start(&yaml).await;
    (a, b, h)
}

/// `a` fails with `failure`, `b` answers.
async fn pair_failing_with(failure: Failure) -> (SimSeller, SimSeller, Harness) {
    pair(Behavior {
        failure: Some(failure),
        ..Behavior::default()
    })
    .await
}

/// Seller `a` was counted as failing, once.
async fn assert_a_penalised(h: &Harness, protocol: Protocol) {
    let stats = h.stats("a").await;
    assert_eq!(stats["errors"], 1, "{protocol}: {stats}");
    assert!(
        stats["errorRate"].as_f64() > Some(0.0),
        "{protocol}: {stats}"
    );
}

#[tokio::test]
async fn connection_refused_fails_over() {
    let port = closed_port().await;
    let b = SimSeller::start(Behavior::default()).await.expect("sim b");
    let yaml = sellers_file(&[
        seller_yaml("dead", &format!("http://127.0.0.1:{port}"), &Protocol::ALL),
        seller_yaml("b", &b.base_url(), &Protocol::ALL),
    ]);
    let h = Harness::start(&yaml).await;
    for protocol in Protocol::ALL {
        let resp = h.call(protocol, "m", true).await;
        assert_eq!(resp.status(), 200, "{protocol}");
        assert_eq!(resp.headers()["x-tokenbuddy-seller"], "b");
        let got = read_all(resp).await;
        assert!(
            events(protocol, &got).iter().any(|e| e.terminal),
            "{protocol}"
        );
    }
    // One refused connection costs the seller its health score: the
    // scheduler sends the later requests straight to `b`.
    let dead = h.stats("dead").await;
    assert_eq!(dead["requests"], 1, "{dead}");
    assert_eq!(dead["errorRate"], 1.0, "{dead}");
    assert!(dead["errors"].as_u64() >= Some(1), "{dead}");
    assert!(
        dead["lastError"]
            .as_str()
            .unwrap_or("")
            .contains("cannot connect"),
        "{dead}"
    );
    h.running.stop().await.expect("stop");
}

#[tokio::test]
async fn http_500_before_first_byte_fails_over_invisibly() {
    for protocol in Protocol::ALL {
        let (a, b, h) = pair(failing(500, None)).await;
        let resp = h.call(protocol, "m", true).await;
        assert_eq!(resp.status(), 200, "{protocol}");
        assert_eq!(resp.headers()["x-tokenbuddy-seller"], "b");
        let got = read_all(resp).await;
        assert_eq!(
            got,
            b.requests().pop().expect("b served").response_bytes(),
            "{protocol}"
        );
        assert_eq!(a.request_count(), 1, "{protocol}: a was tried first");
        h.running.stop().await.expect("stop");
    }
}

#[tokio::test]
async fn http_429_fails_over_and_keeps_the_seller_out_for_retry_after() {
    let (a, _b, h) = pair(failing(429, Some(120))).await;
    let body = request_body(Protocol::OpenAiChat, "m", false);
    let resp = h
        .post("/v1/chat/completions", &body)
        .send()
        .await
        .expect("req");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-tokenbuddy-seller"], "b");
    let stats = h.stats("a").await;
    let cause = stats["cooldown"]["cause"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(cause.contains("429") && cause.contains("120"), "{stats}");
    // The next request does not even try `a`.
    let resp = h
        .post("/v1/chat/completions", &body)
        .send()
        .await
        .expect("req");
    assert_eq!(resp.headers()["x-tokenbuddy-seller"], "b");
    assert_eq!(a.request_count(), 1);
    h.running.stop().await.expect("stop");
}

#[tokio::test]
async fn all_failed_gives_one_clear_error_in_the_protocols_shape() {
    let a = SimSeller::start(failing(503, None)).await.expect("a");
    let b = SimSeller::start(failing(500, None)).await.expect("b");
    let yaml = sellers_file(&[
        seller_yaml("a", &a.base_url(), &Protocol::ALL),
        seller_yaml("b", &b.base_url(), &Protocol::ALL),
    ]);
    let h = Harness::start(&yaml).await;
    let resp = h.call(Protocol::AnthropicMessages, "m", true).await;
    assert_eq!(resp.status(), 502);
    let v: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(v["type"], "error");
    let msg = v["error"]["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("a: HTTP 503") && msg.contains("b: HTTP 500"),
        "{msg}"
    );
    let resp = h.call(Protocol::OpenAiChat, "m", false).await;
    let v: serde_json::Value = resp.json().await.expect("json");
    assert!(v["error"]["message"].as_str().is_some(), "{v}");
    h.running.stop().await.expect("stop");
}

#[tokio::test]
async fn clients_own_400_passes_through_and_does_not_hurt_the_seller() {
    let (a, b, h) = pair(failing(400, None)).await;
    let resp = h.call(Protocol::OpenAiChat, "m", false).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(
        b.request_count(),
        0,
        "no failover for the client's own mistake"
    );
    assert_eq!(a.request_count(), 1);
    let stats = h.stats("a").await;
    assert_eq!(stats["errors"], 0, "{stats}");
    assert!(stats["cooldown"].is_null(), "{stats}");
    h.running.stop().await.expect("stop");
}

#[tokio::test]
async fn seller_dying_mid_stream_ends_with_an_error_event() {
    for protocol in Protocol::ALL {
        let (_a, b, h) = pair(Behavior {
            tokens: 10,
            failure: Some(Failure::DropAfter { tokens: 3 }),
            ..Behavior::default()
        })
        .await;
        let resp = h.call(protocol, "m", true).await;
        assert_eq!(resp.status(), 200, "{protocol}");
        assert_eq!(resp.headers()["x-tokenbuddy-seller"], "a", "committed to a");
        let got = read_all(resp).await;
        let evs = events(protocol, &got);
        assert_eq!(evs.iter().filter(|e| e.semantic).count(), 3, "{protocol}");
        assert!(
            evs.last().is_some_and(|e| e.error),
            "{protocol}: last event must be an error: {}",
            String::from_utf8_lossy(&got)
        );
        assert_eq!(b.request_count(), 0, "{protocol}: no failover after commit");
        let stats = h.stats("a").await;
        assert_eq!(stats["errors"], 1, "{protocol}: {stats}");
        h.running.stop().await.expect("stop");
    }
}

#[tokio::test]
async fn no_seller_for_model_is_a_clear_error() {
    let a = SimSeller::start(Behavior::default()).await.expect("a");
    let yaml = format!(
        "sellers:\n  - id: a\n    base_url: {}\n    api_key: k\n    protocols: [openai-chat]\n    models: [gpt-a]\n",
        a.base_url()
    );
    let h = Harness::start(&yaml).await;
    let resp = h.call(Protocol::OpenAiChat, "gpt-b", false).await;
    assert_eq!(resp.status(), 404);
    let v: serde_json::Value = resp.json().await.expect("json");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("no seller configured for model \"gpt-b\""),
        "{v}"
    );
    h.running.stop().await.expect("stop");
}

#[tokio::test]
async fn a_seller_that_refuses_translation_is_excluded_with_the_reason() {
    let a = SimSeller::start(Behavior::default()).await.expect("a");
    let yaml = format!(
        "sellers:\n  - id: a\n    base_url: {}\n    api_key: k\n    protocols: [openai-chat]\n    models: [gpt-a]\n    translation: false\n",
        a.base_url()
    );
    let h = Harness::start(&yaml).await;
    // Declared for chat only and refusing translation: a Messages request
    // is told why no seller takes it, in Anthropic's shape.
    let resp = h.call(Protocol::AnthropicMessages, "gpt-a", false).await;
    assert_eq!(resp.status(), 503);
    let v: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(v["error"]["type"], "overloaded_error");
    let message = v["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(
            "a: speaks openai-chat, not anthropic-messages, and has `translation: false`"
        ),
        "{v}"
    );
    assert!(a.requests().is_empty(), "never tried");
    h.running.stop().await.expect("stop");
}

#[tokio::test]
async fn shutdown_closes_streams_in_flight_with_an_error_event() {
    let (a, _b, h) = pair(Behavior {
        tokens: 5,
        ..Behavior::default()
    })
    .await;
    let hold = a.hold();
    let protocol = Protocol::AnthropicMessages;
    let resp = h.call(protocol, "m", true).await;
    assert_eq!(resp.status(), 200);
    h.running.shutdown();
    let got = read_all(resp).await;
    let evs = events(protocol, &got);
    assert!(
        evs.last().is_some_and(|e| e.error),
        "{}",
        String::from_utf8_lossy(&got)
    );
    drop(hold);
    tokio::time::timeout(support::HANG, h.running.wait())
        .await
        .expect("server stops")
        .expect("clean stop");
}

/// Issue #8: an HTTP 200 whose body is the protocol's error object is a
/// failure like its streaming twin (an error event first): the client gets
/// the next seller's answer, byte for byte, and the seller is penalised.
#[tokio::test]
async fn an_http_200_with_an_error_body_fails_over_invisibly() {
    for protocol in Protocol::ALL {
        let (a, b, h) = pair_failing_with(Failure::OkErrorBody).await;
        let resp = h.call(protocol, "m", false).await;
        assert_eq!(resp.status(), 200, "{protocol}");
        assert_eq!(resp.headers()["x-tokenbuddy-seller"], "b", "{protocol}");
        let got = read_all(resp).await;
        assert_eq!(
            got,
            b.requests().pop().expect("b served").response_bytes(),
            "{protocol}: b's body, byte for byte"
        );
        assert_eq!(a.request_count(), 1, "{protocol}");
        assert_a_penalised(&h, protocol).await;
        let served = h.stats("b").await;
        assert_eq!(served["outputTokens"], 16, "{protocol}: b's usage metered");
        h.running.stop().await.expect("stop");
    }
}

/// An HTML page with status 200 (a proxy's error page) is no answer: fail
/// over, penalise — for streamed and whole-body requests alike.
#[tokio::test]
async fn an_html_page_with_status_200_fails_over() {
    for (protocol, stream) in [
        (Protocol::OpenAiChat, true),
        (Protocol::OpenAiResponses, false),
        (Protocol::AnthropicMessages, true),
    ] {
        let (a, _b, h) = pair_failing_with(Failure::Html { code: 200 }).await;
        let resp = h.call(protocol, "m", stream).await;
        assert_eq!(resp.status(), 200, "{protocol}");
        assert_eq!(resp.headers()["x-tokenbuddy-seller"], "b", "{protocol}");
        let got = read_all(resp).await;
        assert!(
            !String::from_utf8_lossy(&got).contains("<html"),
            "{protocol}"
        );
        assert_eq!(a.request_count(), 1);
        assert_a_penalised(&h, protocol).await;
        h.running.stop().await.expect("stop");
    }
}

/// A redirect is never followed: the seller is misconfigured (its
/// base_url), so it is taken out for a while and the next seller answers.
#[tokio::test]
async fn a_redirect_fails_over_and_takes_the_seller_out() {
    for code in [301, 302, 307, 308] {
        let (a, _b, h) = pair_failing_with(Failure::Redirect { code }).await;
        let resp = h.call(Protocol::OpenAiChat, "m", false).await;
        assert_eq!(resp.status(), 200, "{code}");
        assert_eq!(resp.headers()["x-tokenbuddy-seller"], "b", "{code}");
        let stats = h.stats("a").await;
        let cause = stats["cooldown"]["cause"].as_str().unwrap_or_default();
        assert!(
            cause.contains(&code.to_string()) && cause.contains("redirect"),
            "{code}: {stats}"
        );
        assert_eq!(a.request_count(), 1, "{code}");
        h.running.stop().await.expect("stop");
    }
}
