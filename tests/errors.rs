//! Every error TokenBuddy itself answers on `/v1/*` comes in the called
//! protocol's JSON shape — also those the HTTP framework makes (a body over
//! the limit, a method the path does not take, a body that is not JSON) —
//! while a seller's own error body is passed through as it is.

mod support;

use serde_json::Value;
use support::{call_path, failing, request_body, Harness};
use tokenbuddy::protocol::Protocol;
use tokenbuddy::sim::SimSeller;

/// The largest body TokenBuddy accepts (`server::router`'s limit).
const LIMIT: usize = tokenbuddy::proxy::routes::MAX_BODY;

/// Asserts `v` is `protocol`'s error shape and returns its message.
fn shaped(protocol: Protocol, status: u16, v: &Value) -> String {
    if protocol.is_anthropic() {
        assert_eq!(v["type"], "error", "{v}");
        assert!(v["error"]["type"].is_string(), "{v}");
        assert_eq!(v.as_object().map(|o| o.len()), Some(2), "{v}");
    } else if protocol == Protocol::Gemini {
        // Google's: the HTTP status as `code`, its canonical name as `status`.
        assert_eq!(v["error"]["code"], status, "{v}");
        assert!(v["error"]["status"].is_string(), "{v}");
    } else {
        let e = &v["error"];
        for field in ["message", "type", "param", "code"] {
            assert!(e.get(field).is_some(), "{field} missing in {v}");
        }
        assert!(e["code"].is_string(), "{v}");
    }
    assert!(status >= 400);
    v["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no message in {v}"))
        .to_string()
}

/// POSTs `body` as it is, with the token and a JSON content type, to
/// `protocol`'s endpoint.
async fn post_raw(h: &Harness, protocol: Protocol, body: String) -> reqwest::Response {
    h.client
        .post(h.url(&call_path(protocol, "m", false)))
        .bearer_auth(h.running.token())
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("TokenBuddy answers before the connection closes")
}

async fn json_of(resp: reqwest::Response) -> (u16, String, Value) {
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let text = resp.text().await.expect("body");
    let v = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("HTTP {status} body is not JSON ({e}): {text:?}"));
    (status, ct, v)
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413_in_the_protocols_shape() {
    let h = Harness::start("").await;
    // Valid JSON one byte over the limit: only the size is wrong.
    let filler = "x".repeat(LIMIT);
    for protocol in Protocol::ALL {
        let body =
            format!(r#"{{"model":"m","messages":[{{"role":"user","content":"{filler}"}}]}}"#);
        assert!(body.len() > LIMIT);
        let resp = post_raw(&h, protocol, body).await;
        let (status, ct, v) = json_of(resp).await;
        assert_eq!(status, 413, "{protocol}: {v}");
        assert!(ct.starts_with("application/json"), "{protocol}: {ct}");
        let message = shaped(protocol, status, &v);
        assert!(message.contains("64 MiB"), "{protocol}: {message}");
        if protocol.is_anthropic() {
            assert_eq!(v["error"]["type"], "request_too_large", "{v}");
        } else if protocol == Protocol::Gemini {
            assert_eq!(v["error"]["details"][0]["reason"], "request_too_large");
        } else {
            assert_eq!(v["error"]["code"], "request_too_large", "{v}");
        }
    }
    h.running.stop().await.expect("stop");
}

#[tokio::test]
async fn a_method_the_path_does_not_take_is_a_405_in_the_protocols_shape() {
    let h = Harness::start("").await;
    let cases = [
        (
            reqwest::Method::GET,
            "/v1/chat/completions",
            Protocol::OpenAiChat,
        ),
        (
            reqwest::Method::PUT,
            "/v1/responses",
            Protocol::OpenAiResponses,
        ),
        (
            reqwest::Method::GET,
            "/v1/messages",
            Protocol::AnthropicMessages,
        ),
        (
            reqwest::Method::DELETE,
            "/v1/messages/count_tokens",
            Protocol::AnthropicMessages,
        ),
        (reqwest::Method::POST, "/v1/models", Protocol::OpenAiChat),
        (
            reqwest::Method::DELETE,
            "/v1beta/models/m:generateContent",
            Protocol::Gemini,
        ),
        (reqwest::Method::POST, "/v1beta/models", Protocol::Gemini),
    ];
    for (method, path, protocol) in cases {
        let resp = h
            .client
            .request(method.clone(), h.url(path))
            .bearer_auth(h.running.token())
            .send()
            .await
            .expect("request");
        let allow = resp
            .headers()
            .get("allow")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let (status, _, v) = json_of(resp).await;
        assert_eq!(status, 405, "{method} {path}: {v}");
        let message = shaped(protocol, status, &v);
        assert!(
            message.contains(method.as_str()) && message.contains(path),
            "{method} {path}: {message}"
        );
        assert!(!allow.is_empty(), "{method} {path}: the Allow header stays");
    }
    h.running.stop().await.expect("stop");
}

#[tokio::test]
async fn bodies_that_are_not_json_are_400s_in_the_protocols_shape() {
    let h = Harness::start("").await;
    for protocol in Protocol::ALL {
        for body in ["{not json", "", "[1,2]", r#"{"messages":[]}"#] {
            // Gemini's model is in the path: a body without one is no mistake.
            if protocol == Protocol::Gemini && body.starts_with("{\"") {
                continue;
            }
            let resp = post_raw(&h, protocol, body.to_string()).await;
            let (status, _, v) = json_of(resp).await;
            assert_eq!(status, 400, "{protocol} {body:?}: {v}");
            shaped(protocol, status, &v);
        }
    }
    h.running.stop().await.expect("stop");
}

/// The seller's own 400 is the agent's mistake: passed through byte for
/// byte, not rewritten into ours.
#[tokio::test]
async fn a_sellers_own_error_body_is_passed_through_untouched() {
    let sim = SimSeller::start(failing(400, None)).await.expect("sim");
    let h = Harness::start_one("s", &sim.base_url()).await;
    for protocol in Protocol::ALL {
        let resp = h
            .post(
                &call_path(protocol, "m", false),
                &request_body(protocol, "m", false),
            )
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 400, "{protocol}");
        let got = resp.bytes().await.expect("body");
        let sent = sim
            .requests()
            .pop()
            .expect("seller got it")
            .response_bytes();
        assert_eq!(got.as_ref(), sent.as_slice(), "{protocol}");
    }
    h.running.stop().await.expect("stop");
}
