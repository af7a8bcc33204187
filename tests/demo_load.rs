//! `tokenbuddy serve --demo` shows life: its simulated client load sends
//! requests through the real proxy, across the three protocols and the
//! priced demo models, and the request log names their agent `demo`; with
//! `--demo-load off` or `TOKENBUDDY_DEMO_LOAD=0` no demo request is made.
//! Rows are read as the store commits them (`/api/requests/live`).

mod support;

use std::collections::BTreeSet;

use futures_util::StreamExt;
use serde_json::Value;
use support::process::Served;
use support::{request_body, HANG};
use tokenbuddy::protocol::sse::SseSplitter;
use tokenbuddy::protocol::Protocol;

/// Subscribes to `/api/requests/live` (rows committed from now on).
async fn live(served: &Served) -> reqwest::Response {
    let resp = reqwest::Client::new()
        .get(served.url("/api/requests/live"))
        .bearer_auth(&served.token)
        .send()
        .await
        .expect("live");
    assert_eq!(resp.status(), 200);
    resp
}

/// Reads committed rows from `live` until `enough` says so.
async fn follow(live: reqwest::Response, mut enough: impl FnMut(&Value) -> bool) {
    let mut body = live.bytes_stream();
    let mut splitter = SseSplitter::new();
    let read = async {
        while let Some(chunk) = body.next().await {
            let chunk = chunk.expect("chunk");
            let mut done = false;
            splitter.push(&chunk, |e| {
                if e.event == Some("request") {
                    let row: Value = serde_json::from_str(e.data).expect("row json");
                    done |= enough(&row);
                }
            });
            if done {
                return;
            }
        }
        panic!("the live stream ended");
    };
    tokio::time::timeout(HANG * 2, read)
        .await
        .expect("rows arrive before the hang guard");
}

#[tokio::test]
async fn the_demo_load_shows_in_the_request_log_as_agent_demo() {
    let dir = tempfile::tempdir().expect("tempdir");
    let served = Served::start(dir.path(), &["--demo"], &[]);
    let mut protocols = BTreeSet::new();
    let mut models = BTreeSet::new();
    let mut priced = false;
    follow(live(&served).await, |row| {
        assert_eq!(row["agent"], "demo", "only the demo load calls: {row}");
        protocols.insert(row["protocol"].as_str().unwrap_or("?").to_string());
        models.insert(row["modelAsked"].as_str().unwrap_or("?").to_string());
        priced |= row["cost"].as_f64().is_some_and(|c| c > 0.0);
        protocols.len() == 3 && models.contains("demo-small") && priced
    })
    .await;
    assert!(models.is_subset(
        &["gpt-demo", "claude-demo", "demo-small"]
            .map(String::from)
            .into()
    ));
    // The demo models are listed for model pickers.
    let listed: Value = reqwest::Client::new()
        .get(served.url("/v1/models"))
        .bearer_auth(&served.token)
        .send()
        .await
        .expect("models")
        .json()
        .await
        .expect("json");
    let ids: Vec<&str> = listed["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert_eq!(ids, ["claude-demo", "demo-small", "gpt-demo"], "{listed}");
    served.stop();
}

/// With the load off, the only requests are the test's own `n`.
async fn only_our_requests(served: &Served, n: usize) {
    let client = reqwest::Client::new();
    let rows = live(served).await;
    for _ in 0..n {
        let resp = client
            .post(served.url("/v1/chat/completions"))
            .bearer_auth(&served.token)
            .json(&request_body(Protocol::OpenAiChat, "gpt-demo", false))
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status(), 200);
    }
    let mut seen = 0;
    follow(rows, |row| {
        assert_ne!(row["agent"], "demo", "{row}");
        seen += 1;
        seen == n
    })
    .await;
    // The load, when on, sends its first request at start, before any of ours.
    let page: Value = client
        .get(served.url("/api/requests?agent=demo"))
        .bearer_auth(&served.token)
        .send()
        .await
        .expect("requests")
        .json()
        .await
        .expect("json");
    assert_eq!(page["requests"], Value::Array(Vec::new()), "{page}");
}

#[tokio::test]
async fn the_demo_load_can_be_switched_off_by_flag_or_environment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let served = Served::start(dir.path(), &["--demo", "--demo-load", "off"], &[]);
    only_our_requests(&served, 3).await;
    served.stop();
    let dir = tempfile::tempdir().expect("tempdir");
    let served = Served::start(dir.path(), &["--demo"], &[("TOKENBUDDY_DEMO_LOAD", "0")]);
    only_our_requests(&served, 3).await;
    served.stop();
}
