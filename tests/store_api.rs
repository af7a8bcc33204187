//! The store's `/api` over a real socket: the request log with its cursor,
//! one row with its attempt trail, the 404 shaped like every `/api` error,
//! usage, history, status, and `/api/requests/live` delivering a row
//! committed after the client connected.

mod store_fixtures;

use futures_util::StreamExt;
use serde_json::Value;
use store_fixtures::{attempt, config, served, t0, HANG};
use tokenbuddy::store::Store;
use tokio_util::sync::CancellationToken;

async fn serve(store: Store) -> String {
    serve_until(store, CancellationToken::new()).await
}

async fn serve_until(store: Store, shutdown: CancellationToken) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = tokenbuddy::control::store::router(store, shutdown);
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

async fn get(base: &str, path: &str) -> (u16, Value) {
    let resp = reqwest::get(format!("{base}{path}")).await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_its_rows_and_errors_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), config());
    for i in 0..5 {
        let mut r = served(t0() + i, "b", "codex", "gpt-5", Some(0.5));
        r.attempts = vec![
            attempt("a", "timeout", None),
            attempt("b", "served", Some(200)),
        ];
        store.submit(r);
    }
    store.flush().await;
    let base = serve(store.clone()).await;

    let (code, page) = get(&base, "/api/requests?limit=2&seller=b").await;
    assert_eq!(code, 200);
    let rows = page["requests"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert!(
        rows[0]["modelAsked"].is_string() && rows[0]["durationMs"].is_number(),
        "camelCase: {page}"
    );
    let next = page["next"].as_i64().unwrap();
    let (_, second) = get(&base, &format!("/api/requests?limit=2&before={next}")).await;
    assert!(second["requests"][0]["id"].as_i64().unwrap() < next);

    let id = rows[0]["id"].as_i64().unwrap();
    let (code, row) = get(&base, &format!("/api/requests/{id}")).await;
    assert_eq!(code, 200);
    assert_eq!(row["attempts"][0]["outcome"], "timeout");
    assert_eq!(row["attempts"][1]["seller"], "b");

    let (code, missing) = get(&base, "/api/requests/424242").await;
    assert_eq!(code, 404);
    assert!(
        missing["error"]["message"]
            .as_str()
            .unwrap()
            .contains("424242"),
        "{missing}"
    );
    let (code, bad) = get(&base, "/api/requests?status=nice").await;
    assert_eq!(code, 400);
    assert!(bad["error"]["message"].is_string());
    let (code, bad) = get(&base, "/api/requests?limit=lots").await;
    assert_eq!(code, 400, "{bad}");

    let (code, usage) = get(&base, "/api/usage?by=model").await;
    assert_eq!(code, 200);
    assert_eq!(usage[0]["key"], "gpt-5");
    assert_eq!(usage[0]["requests"], 5);
    assert_eq!(usage[0]["cost"], 2.5);
    assert_eq!(usage[0]["unpricedRequests"], 0);
    let (code, _) = get(&base, "/api/usage?by=week").await;
    assert_eq!(code, 400);
    let (code, _) = get(&base, "/api/usage?from=yesterday").await;
    assert_eq!(code, 400);

    let from = t0();
    let (code, history) = get(
        &base,
        &format!(
            "/api/history?seller=b&from={from}&to={}&step=5m",
            from + 600_000
        ),
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(history[0]["requests"], 5);
    assert!(history[0]["ttftP95Ms"].is_number(), "{history}");
    let (code, _) = get(&base, "/api/history?step=10").await;
    assert_eq!(code, 400, "a step under a minute");

    let (code, status) = get(&base, "/api/store").await;
    assert_eq!(code, 200);
    assert_eq!(status["rows"], 5);
    assert_eq!(status["dropped"], 0);
    assert!(status["sizeBytes"].as_u64().unwrap() > 0);
    assert!(status["lastIntegrityEvent"].is_null() && status["inMemory"] == false);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_delivers_rows_committed_after_connecting() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), config());
    store.submit(served(t0(), "a", "codex", "before", None));
    store.flush().await;
    let shutdown = CancellationToken::new();
    let base = serve_until(store.clone(), shutdown.clone()).await;
    let resp = tokio::time::timeout(HANG, reqwest::get(format!("{base}/api/requests/live")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    // Subscribed once the headers are out: rows from now on are delivered.
    store.submit(served(t0(), "a", "codex", "after", Some(0.25)));
    let mut body = resp.bytes_stream();
    let mut text = String::new();
    let frame = tokio::time::timeout(HANG, async {
        loop {
            if let Some(end) = text.find("\n\n") {
                let frame = text[..end].to_string();
                text.drain(..end + 2);
                if frame.starts_with(':') {
                    continue;
                }
                return frame;
            }
            let chunk = body.next().await.unwrap().unwrap();
            text.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    })
    .await
    .unwrap();
    let mut lines = frame.lines();
    assert_eq!(lines.next(), Some("event: request"), "{frame}");
    let data = lines.next().unwrap().strip_prefix("data: ").unwrap();
    let row: Value = serde_json::from_str(data).unwrap();
    assert_eq!(
        row["modelAsked"], "after",
        "the row committed after connecting, not the one before"
    );
    assert!(row["id"].as_i64().unwrap() > 1);
    assert_eq!(row["cost"], 0.25);

    // Shutdown ends the stream: a follower does not hold a stopping server up.
    shutdown.cancel();
    let rest = tokio::time::timeout(HANG, async {
        while let Some(chunk) = body.next().await {
            if chunk.is_err() {
                break;
            }
        }
    })
    .await;
    assert!(rest.is_ok(), "the live stream ended on shutdown");
    store.close().await;
}
