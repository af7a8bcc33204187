//! Editing `sellers.yaml` while serving: valid edits take effect on the next
//! request, a broken edit is reported and the last good set keeps serving.

mod support;

use support::{seller_yaml, sellers_file, Harness, HANG};
use tokenbuddy::protocol::Protocol;
use tokenbuddy::sim::{Behavior, SimSeller};

/// Writes the file and waits for the watcher's next reload attempt.
async fn edit(h: &Harness, text: &str) {
    let mut rx = h.running.sellers().subscribe();
    rx.borrow_and_update();
    std::fs::write(h.sellers_path(), text).expect("write");
    tokio::time::timeout(HANG, rx.changed())
        .await
        .expect("the watcher reloads the edited file")
        .expect("watch channel open");
}

async fn served_by(h: &Harness) -> String {
    let resp = h.call(Protocol::OpenAiChat, "m", false).await;
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
    edit(
        &h,
        &sellers_file(&[
            seller_yaml("b", &b.base_url(), &Protocol::ALL),
            seller_yaml("a", &a.base_url(), &Protocol::ALL),
        ]),
    )
    .await;
    assert_eq!(served_by(&h).await, "b");

    // Change b so it no longer speaks chat completions.
    edit(
        &h,
        &sellers_file(&[
            seller_yaml("b", &b.base_url(), &[Protocol::AnthropicMessages]),
            seller_yaml("a", &a.base_url(), &Protocol::ALL),
        ]),
    )
    .await;
    assert_eq!(served_by(&h).await, "a");

    // A broken edit: reported, and the last good set keeps serving.
    edit(&h, "sellers:\n  - id: a\n    base_url: [oops\n").await;
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
    edit(
        &h,
        &sellers_file(&[seller_yaml("b", &b.base_url(), &Protocol::ALL)]),
    )
    .await;
    assert_eq!(served_by(&h).await, "b");
    let api = h.api_sellers().await;
    assert!(api["file"]["error"].is_null(), "{api}");
    h.running.stop().await.expect("stop");
}
