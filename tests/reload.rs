//! Editing `sellers.yaml` while serving: valid edits take effect on the next
//! request, a broken edit is reported and the last good set keeps serving.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};

use support::{seller_yaml, sellers_file, Harness};
use tokenbuddy::protocol::Protocol;
use tokenbuddy::sim::{Behavior, SimSeller};

/// Who serves a new conversation (each call opens a new one, so stickiness
/// does not keep it on an earlier seller).
async fn served_by(h: &Harness) -> String {
    static CONVERSATION: AtomicUsize = AtomicUsize::new(0);
    let n = CONVERSATION.fetch_add(1, Ordering::Relaxed);
    let body = serde_json::json!({"model": "m", "messages": [{"role": "user", "content": format!("conversation {n}")}]});
    let resp = h
        .post("/v1/chat/completions", &body)
        .send()
        .await
        .expect("request");
    resp.headers()
        .get("x-tokenbuddy-seller")
        .map(|v| v.to_str().unwrap_or_default().to_string())
        .unwrap_or_else(|| format!("status {}", resp.status()))
}

#[tokio::test]
async fn edits_add_change_and_remove_sellers_without_restart() {
    let a = SimSeller::start(Behavior::default()).await.expect("a");
    let b = SimSeller::start(Behavior::default()).await.expect("b");
    let only_a = sellers_file(&[seller_yaml("a", &a.base_url(), &Protocol::ALL)]);
    let h = Harness::start(&only_a).await;
    assert_eq!(served_by(&h).await, "a");

    // Add b in front of a.
    h.rewrite_sellers(&sellers_file(&[
        seller_yaml("b", &b.base_url(), &Protocol::ALL),
        seller_yaml("a", &a.base_url(), &Protocol::ALL),
    ]))
    .await;
    assert_eq!(served_by(&h).await, "b");

    // Change b so it no longer speaks chat completions.
    h.rewrite_sellers(&sellers_file(&[
        seller_yaml("b", &b.base_url(), &[Protocol::AnthropicMessages]),
        seller_yaml("a", &a.base_url(), &Protocol::ALL),
    ]))
    .await;
    assert_eq!(served_by(&h).await, "a");

    // A broken edit: reported, and the last good set keeps serving.
    h.rewrite_sellers("sellers:\n  - id: a\n    base_url: [oops\n")
        .await;
    assert_eq!(served_by(&h).await, "a");
    let api = h.api_sellers().await;
    let err = api["file"]["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        err.contains("sellers.yaml:"),
        "error names the file and line: {api}"
    );
    assert_eq!(api["sellers"].as_array().map(Vec::len), Some(2));

    // Remove a: only b is left, and it does not serve chat.
    h.rewrite_sellers(&sellers_file(&[seller_yaml(
        "b",
        &b.base_url(),
        &Protocol::ALL,
    )]))
    .await;
    assert_eq!(served_by(&h).await, "b");
    let api = h.api_sellers().await;
    assert!(api["file"]["error"].is_null(), "{api}");
    h.running.stop().await.expect("stop");
}
