//! Who may use the proxy: token, Host and Origin checks, and fast 404s.

mod support;

use support::{request_body, Harness};
use tokenbuddy::protocol::Protocol;

#[tokio::test]
async fn token_is_required_with_errors_in_the_protocols_shape() {
    let h = Harness::start("").await;
    let c = &h.client;
    let resp = c
        .post(h.url("/v1/chat/completions"))
        .json(&request_body(Protocol::OpenAiChat, "m", false))
        .send()
        .await
        .expect("req");
    assert_eq!(resp.status(), 401);
    assert!(resp.headers().get("www-authenticate").is_none());
    let v: serde_json::Value = resp.json().await.expect("json");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("token"),
        "{v}"
    );

    let resp = c
        .post(h.url("/v1/messages"))
        .header("x-api-key", "wrong")
        .json(&request_body(Protocol::AnthropicMessages, "m", false))
        .send()
        .await
        .expect("req");
    assert_eq!(resp.status(), 401);
    let v: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "authentication_error");

    for path in ["/api/sellers", "/v1/models"] {
        let resp = c.get(h.url(path)).send().await.expect("req");
        assert_eq!(resp.status(), 401, "{path}");
    }
    let resp = c.get(h.url("/healthz")).send().await.expect("req");
    assert_eq!(resp.status(), 200);
    h.running.stop().await.expect("stop");
}

#[tokio::test]
async fn foreign_host_or_origin_is_refused() {
    let h = Harness::start("").await;
    let port = h.running.addr().port();
    let resp = h
        .client
        .get(h.url("/v1/models"))
        .bearer_auth(h.running.token())
        .header("host", format!("evil.example:{port}"))
        .send()
        .await
        .expect("req");
    assert_eq!(resp.status(), 403);
    let resp = h
        .client
        .get(h.url("/v1/models"))
        .bearer_auth(h.running.token())
        .header("origin", "https://evil.example")
        .send()
        .await
        .expect("req");
    assert_eq!(resp.status(), 403);
    let resp = h
        .client
        .get(h.url("/v1/models"))
        .bearer_auth(h.running.token())
        .header("host", format!("localhost:{port}"))
        .send()
        .await
        .expect("req");
    assert_eq!(resp.status(), 200);
    h.running.stop().await.expect("stop");
}

#[tokio::test]
async fn unknown_paths_get_a_fast_json_404_without_auth_challenge() {
    let h = Harness::start("").await;
    for (method, path) in [
        (reqwest::Method::GET, "/api/tags"),
        (reqwest::Method::GET, "/props"),
        (reqwest::Method::HEAD, "/api/hello"),
        (reqwest::Method::POST, "/v1/completions"),
        (reqwest::Method::GET, "/v1/nope"),
    ] {
        let resp = h
            .client
            .request(method.clone(), h.url(path))
            .send()
            .await
            .expect("req");
        assert_eq!(resp.status(), 404, "{method} {path}");
        assert!(resp.headers().get("www-authenticate").is_none());
        if method != reqwest::Method::HEAD {
            let v: serde_json::Value = resp.json().await.expect("json");
            assert!(v["error"]["message"].is_string(), "{v}");
        }
    }
    h.running.stop().await.expect("stop");
}
