//! The commit point: until the first semantic event nothing reaches the
//! client, so a seller that errors, breaks or stays silent before it is
//! replaced invisibly; the last seller left is never cut off.

mod support;

use std::time::Duration;

use support::{events, read_all, seller_yaml, sellers_file, Harness};
use tokenbuddy::protocol::Protocol;
use tokenbuddy::sim::{Behavior, Failure, SimSeller};

async fn pair(first: Behavior, ttft_limit: Duration) -> (SimSeller, SimSeller, Harness) {
    let a = SimSeller::start(first).await.expect("sim a");
    let b = SimSeller::start(Behavior::default()).await.expect("sim b");
    let yaml = sellers_file(&[
        seller_yaml("a", &a.base_url(), &Protocol::ALL),
        seller_yaml("b", &b.base_url(), &Protocol::ALL),
    ]);
    let h = Harness::start_with(&yaml, |c| c.timeouts.ttft = ttft_limit).await;
    (a, b, h)
}

/// `a` fails before content in some way; the client gets exactly `b`'s stream.
async fn replaced_invisibly(failure: Behavior, why: &str) {
    for protocol in Protocol::ALL {
        let (a, b, h) = pair(failure.clone(), Duration::from_secs(10)).await;
        let resp = h.call(protocol, "m", true).await;
        assert_eq!(resp.status(), 200, "{why} {protocol}");
        assert_eq!(
            resp.headers()["x-tokenbuddy-seller"],
            "b",
            "{why} {protocol}"
        );
        let got = read_all(resp).await;
        let sent_by_b = b.requests().pop().expect("b served").response_bytes();
        assert_eq!(
            got, sent_by_b,
            "{why} {protocol}: nothing of a's reached the client"
        );
        assert_eq!(a.request_count(), 1, "{why} {protocol}");
        let stats = h.stats("a").await;
        assert_eq!(stats["errors"], 1, "{why} {protocol}: {stats}");
        h.running.stop().await.expect("stop");
    }
}

#[tokio::test]
async fn an_error_event_before_content_fails_over_invisibly() {
    let failure = Behavior {
        failure: Some(Failure::FirstEventError),
        ..Behavior::default()
    };
    replaced_invisibly(failure, "HTTP 200 + error event").await;
}

#[tokio::test]
async fn a_stream_dropped_before_content_fails_over_invisibly() {
    let failure = Behavior {
        failure: Some(Failure::DropAfter { tokens: 0 }),
        ..Behavior::default()
    };
    replaced_invisibly(failure, "dropped after the preamble").await;
}

#[tokio::test]
async fn no_first_token_in_time_moves_on_but_the_last_seller_is_never_cut_off() {
    let slow = Behavior {
        ttft: Duration::from_secs(3),
        ..Behavior::default()
    };
    let (a, _b, h) = pair(slow.clone(), Duration::from_millis(200)).await;
    let resp = h.call(Protocol::OpenAiChat, "m", true).await;
    assert_eq!(resp.headers()["x-tokenbuddy-seller"], "b");
    assert!(events(Protocol::OpenAiChat, &read_all(resp).await)
        .iter()
        .any(|e| e.terminal));
    assert_eq!(a.request_count(), 1);
    let stats = h.stats("a").await;
    assert!(
        stats["lastError"]
            .as_str()
            .unwrap_or_default()
            .contains("no first token in time"),
        "{stats}"
    );
    h.running.stop().await.expect("stop");

    // Alone, the same slow seller is waited for.
    let only = SimSeller::start(Behavior {
        ttft: Duration::from_millis(600),
        ..Behavior::default()
    })
    .await
    .expect("sim");
    let yaml = sellers_file(&[seller_yaml("only", &only.base_url(), &Protocol::ALL)]);
    let h = Harness::start_with(&yaml, |c| c.timeouts.ttft = Duration::from_millis(100)).await;
    let resp = h.call(Protocol::AnthropicMessages, "m", true).await;
    assert_eq!(resp.status(), 200);
    let evs = events(Protocol::AnthropicMessages, &read_all(resp).await);
    assert!(evs.iter().any(|e| e.semantic) && evs.iter().any(|e| e.terminal));
    assert!(evs.iter().all(|e| !e.error));
    h.running.stop().await.expect("stop");
}
