//! The proxy's on/off switch on the real `tokenbuddy serve`: paused, every
//! `/v1/*` call that would reach a seller answers 503 `paused` in its
//! protocol's shape and no seller is called, while `/v1/models`, `/api` and
//! the panel keep working; the pause survives a restart; `tokenbuddy pause`
//! and `tokenbuddy resume` switch it and say clearly when none runs.

mod support;

use serde_json::{json, Value};
use support::process::{self, Served};
use support::{request_body, seller_yaml, sellers_file};
use tokenbuddy::protocol::Protocol;
use tokenbuddy::sim::{closed_port, Behavior, SimSeller};

/// The message every paused answer carries.
const PAUSED: &str = "TokenBuddy is paused: resume it in the control panel, with `tokenbuddy resume` or PUT /api/proxy {\"enabled\": true}";

async fn call(served: &Served, protocol: Protocol, stream: bool) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(served.url(&support::call_path(protocol, "m", stream)))
        .bearer_auth(&served.token)
        .header("anthropic-version", "2023-06-01")
        .json(&request_body(protocol, "m", stream))
        .send()
        .await
        .expect("send");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn api(
    served: &Served,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .request(method, served.url(path))
        .bearer_auth(&served.token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("send");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// `tokenbuddy <args> --port <port>` on `served`'s data dir: (success, stdout, stderr).
fn cli(data: &std::path::Path, args: &[&str], port: u16) -> (bool, String, String) {
    let out = process::command(data)
        .args(args)
        .args(["--port", &port.to_string()])
        .output()
        .expect("run tokenbuddy");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_paused(protocol: Protocol, status: u16, body: &Value) {
    assert_eq!(status, 503, "{protocol}: {body}");
    match protocol {
        Protocol::AnthropicMessages => {
            assert_eq!(body["type"], "error", "{body}");
            assert_eq!(body["error"]["type"], "overloaded_error", "{body}");
            assert_eq!(body["error"]["message"], PAUSED, "{body}");
        }
        Protocol::Gemini => {
            assert_eq!(body["error"]["status"], "UNAVAILABLE", "{body}");
            assert_eq!(body["error"]["details"][0]["reason"], "paused", "{body}");
            assert_eq!(body["error"]["message"], PAUSED, "{body}");
        }
        _ => {
            assert_eq!(body["error"]["code"], "paused", "{protocol}: {body}");
            assert_eq!(body["error"]["type"], "api_error", "{body}");
            assert_eq!(body["error"]["message"], PAUSED, "{body}");
        }
    }
}

#[tokio::test]
async fn paused_refuses_every_protocol_keeps_the_api_and_survives_a_restart() {
    let seller = SimSeller::start(Behavior::default()).await.expect("seller");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("sellers.yaml"),
        sellers_file(&[seller_yaml("s", &seller.base_url(), &Protocol::ALL)]),
    )
    .expect("sellers.yaml");
    let served = Served::start(dir.path(), &[], &[]);
    assert_eq!(
        api(&served, reqwest::Method::GET, "/api/proxy", None).await,
        (200, json!({"enabled": true}))
    );
    for p in Protocol::ALL {
        assert_eq!(call(&served, p, false).await.0, 200, "{p} before the pause");
    }

    let (ok, out, err) = cli(dir.path(), &["pause"], served.port);
    assert!(ok, "{err}");
    assert!(out.contains("paused"), "{out}");
    assert_eq!(
        api(&served, reqwest::Method::GET, "/api/proxy", None).await,
        (200, json!({"enabled": false}))
    );
    let upstream = seller.request_count();
    for p in Protocol::ALL {
        for stream in [false, true] {
            let (status, body) = call(&served, p, stream).await;
            assert_paused(p, status, &body);
        }
    }
    let count_tokens = reqwest::Client::new()
        .post(served.url("/v1/messages/count_tokens"))
        .bearer_auth(&served.token)
        .json(&json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .expect("send");
    assert_eq!(count_tokens.status(), 503);
    assert_eq!(
        seller.request_count(),
        upstream,
        "no seller is called while paused"
    );
    // What keeps working: the model list, the API, the panel.
    let models = reqwest::Client::new()
        .get(served.url("/v1/models"))
        .bearer_auth(&served.token)
        .send()
        .await
        .expect("models");
    assert_eq!(models.status(), 200);
    assert_eq!(
        api(&served, reqwest::Method::GET, "/api/routing", None)
            .await
            .0,
        200
    );
    let panel = reqwest::get(served.url("/")).await.expect("panel");
    assert_eq!(panel.status(), 200);
    // The access check comes first: no token, no hint that it is paused.
    let anon = reqwest::Client::new()
        .post(served.url("/v1/chat/completions"))
        .json(&request_body(Protocol::OpenAiChat, "m", false))
        .send()
        .await
        .expect("send");
    assert_eq!(anon.status(), 401);

    // A bad body is refused and changes nothing.
    let (status, body) = api(
        &served,
        reqwest::Method::PUT,
        "/api/proxy",
        Some(json!({"enabled": "no"})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("enabled")),
        "{body}"
    );

    // Restart: still paused.
    served.stop();
    let served = Served::start(dir.path(), &[], &[]);
    assert_eq!(
        api(&served, reqwest::Method::GET, "/api/proxy", None).await,
        (200, json!({"enabled": false})),
        "the pause survives a restart"
    );
    let (status, body) = call(&served, Protocol::OpenAiChat, false).await;
    assert_paused(Protocol::OpenAiChat, status, &body);

    let (ok, out, err) = cli(dir.path(), &["resume"], served.port);
    assert!(ok, "{err}");
    assert!(out.contains("again"), "{out}");
    for p in Protocol::ALL {
        assert_eq!(call(&served, p, true).await.0, 200, "{p} after resuming");
    }
    // PUT answers the new state.
    assert_eq!(
        api(
            &served,
            reqwest::Method::PUT,
            "/api/proxy",
            Some(json!({"enabled": true}))
        )
        .await,
        (200, json!({"enabled": true}))
    );
    served.stop();
    seller.shutdown().await;
}

#[tokio::test]
async fn pause_says_clearly_when_no_tokenbuddy_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ok, _, err) = cli(dir.path(), &["pause"], 1);
    assert!(!ok);
    assert!(
        err.contains("has TokenBuddy run with this data dir?"),
        "{err}"
    );
    // A token but nobody listening.
    process::command(dir.path())
        .arg("token")
        .output()
        .expect("token");
    let port = closed_port().await;
    let (ok, _, err) = cli(dir.path(), &["resume"], port);
    assert!(!ok);
    assert!(
        err.contains(&format!(
            "TokenBuddy is not answering on http://127.0.0.1:{port}"
        )) && err.contains("tokenbuddy serve"),
        "{err}"
    );
}
