//! Acceptance 3 of the control panel: a page served from another
//! `127.0.0.1` port cannot read `/api` data, open `/api/events` or change
//! the routing — at the HTTP level (an `Origin` that is not ours → 403, no
//! CORS header granting anything) and from a real page in headless
//! Chromium (when node, Chromium and playwright-core are installed). The
//! same page served from TokenBuddy's own origin can, so the proof is not
//! vacuous. The guard is the existing `host_guard` (src/proxy/access.rs).

mod support;

use serde_json::{json, Value};
use support::Harness;
use tokenbuddy::sim::{Behavior, SimSeller};

/// The `access-control-*` headers of a response.
fn cors_grants(resp: &reqwest::Response) -> Vec<String> {
    resp.headers()
        .keys()
        .map(|k| k.as_str().to_string())
        .filter(|k| k.starts_with("access-control-"))
        .collect()
}

async fn harness() -> (SimSeller, Harness, tempfile::TempDir) {
    let sim = SimSeller::start(Behavior::default()).await.expect("sim");
    let ui = tempfile::tempdir().expect("ui dir");
    std::fs::write(
        ui.path().join("index.html"),
        "<!doctype html><title>TokenBuddy</title>",
    )
    .expect("index.html");
    let yaml = support::sellers_file(&[support::seller_yaml(
        "a",
        &sim.base_url(),
        &tokenbuddy::protocol::Protocol::ALL,
    )]);
    let h = Harness::start_with(&yaml, |c| c.ui_dir = Some(ui.path().to_path_buf())).await;
    (sim, h, ui)
}

async fn routing(h: &Harness) -> Value {
    h.api("/api/routing").await
}

/// A free loopback port that is not TokenBuddy's.
fn other_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_origin_gets_403_and_no_cors_grant() {
    let (_sim, h, _ui) = harness().await;
    let before = routing(&h).await;
    let token = h.running.token().to_string();
    let other = other_port();
    for origin in [
        format!("http://127.0.0.1:{other}"),
        format!("http://localhost:{other}"),
        "null".to_string(),
        "https://evil.example".to_string(),
    ] {
        for with_token in [true, false] {
            let auth = |r: reqwest::RequestBuilder| match with_token {
                true => r.bearer_auth(&token),
                false => r,
            };
            let requests = [
                auth(h.client.get(h.url("/api/sellers"))),
                auth(h.client.get(h.url("/api/notices"))),
                auth(h.client.get(h.url("/api/events"))),
                auth(h.client.put(h.url("/api/routing")))
                    .header("content-type", "application/json")
                    .body(r#"{"mode":"fullAuto","scorer":"speed"}"#),
            ];
            for req in requests {
                let resp = req.header("origin", &origin).send().await.expect("answers");
                let path = resp.url().path().to_string();
                assert_eq!(resp.status(), 403, "{origin} {path} token={with_token}");
                assert!(cors_grants(&resp).is_empty(), "{origin} {path}");
                let body: Value = resp.json().await.expect("a JSON error");
                assert_eq!(body["error"]["code"], "forbidden_host", "{body}");
            }
        }
        for (path, method) in [
            ("/api/events", "GET"),
            ("/api/sellers", "GET"),
            ("/api/routing", "PUT"),
        ] {
            let resp = h
                .client
                .request(reqwest::Method::OPTIONS, h.url(path))
                .header("origin", &origin)
                .header("access-control-request-method", method)
                .header(
                    "access-control-request-headers",
                    "authorization, content-type",
                )
                .send()
                .await
                .expect("preflight");
            assert!(!resp.status().is_success(), "{origin} OPTIONS {path}");
            assert!(cors_grants(&resp).is_empty(), "{origin} OPTIONS {path}");
        }
    }
    assert_eq!(
        routing(&h).await,
        before,
        "a refused PUT changed the routing"
    );
    // Not vacuous: our own origin is served.
    let resp = h
        .client
        .get(h.url("/api/notices"))
        .bearer_auth(&token)
        .header("origin", h.running.url())
        .send()
        .await
        .expect("answers");
    assert_eq!(resp.status(), 200);
}

/// Runs the page script against TokenBuddy from `page_url`; `None` when the
/// browser tooling is missing.
async fn page_results(h: &Harness, page_url: String) -> Option<serde_json::Map<String, Value>> {
    let script = include_str!("cross_origin_page.mjs");
    let (tb, token) = (h.running.url(), h.running.token().to_string());
    support::browser::run_page(script, page_url, tb, token).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_on_another_port_cannot_read_listen_or_change_settings() {
    let (_sim, h, _ui) = harness().await;
    let before = routing(&h).await;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("bind the other page's port");
    let other = listener.local_addr().expect("addr").port();
    let page = axum::Router::new().route(
        "/",
        axum::routing::get(|| async {
            axum::response::Html("<!doctype html><title>elsewhere</title>")
        }),
    );
    let page_server = tokio::spawn(async move {
        let _ = axum::serve(listener, page).await;
    });
    let Some(results) = page_results(&h, format!("http://127.0.0.1:{other}/")).await else {
        return;
    };
    page_server.abort();
    assert!(results.len() >= 10, "{results:?}");
    for (call, outcome) in &results {
        let outcome = outcome.as_str().unwrap_or_default();
        // A no-cors call resolves, but only to an opaque answer the page cannot read.
        let blocked =
            outcome.starts_with("rejected") || outcome == "opaque 0" || outcome == "error";
        assert!(blocked, "{call}: the page on :{other} got {outcome}");
    }
    assert_eq!(routing(&h).await, before, "the page changed the routing");
    println!(
        "figures: headless Chromium on :{other}: {} calls, all blocked",
        results.len()
    );

    // The same page from TokenBuddy's own origin reads, listens and changes.
    let own = page_results(&h, format!("{}/", h.running.url()))
        .await
        .expect("tooling present");
    let got = |call: &str| own[call].as_str().unwrap_or_default().to_string();
    assert_eq!(
        got("GET /api/sellers with the token"),
        "basic 200",
        "{own:?}"
    );
    assert_eq!(
        got("GET /api/notices with the token"),
        "basic 200",
        "{own:?}"
    );
    assert_eq!(
        got("GET /api/events with the token"),
        "basic 200 snapshot",
        "{own:?}"
    );
    assert_eq!(
        got("PUT /api/routing with the token"),
        "basic 200",
        "{own:?}"
    );
    assert_eq!(got("GET /api/sellers"), "basic 401", "{own:?}");
    assert_eq!(routing(&h).await["scorer"], json!("speed"));
}
