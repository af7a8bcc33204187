//! Gemini's API on TokenBuddy over real sockets: native Gemini sellers
//! (streams and bodies passed through byte for byte, metered; the upstream
//! URL names the seller's model and carries `alt=sse`, the seller's key
//! goes as `x-goog-api-key` and ours never leaves), the access token as
//! `x-goog-api-key` or `?key=` (on `/v1beta/*` only), refusals and unknown
//! methods in Google's error shape, `countTokens`, and the model list.

mod support;

use serde_json::{json, Value};
use support::{events, gemini_path, read_all, request_body, sellers_file, Harness};
use tokenbuddy::protocol::Protocol;
use tokenbuddy::sim::{Behavior, SimSeller};

/// One Gemini seller serving `gemini-pro` as `gemini-2.5-pro` upstream,
/// with a base URL ending in `/v1beta` as Google documents it.
async fn gemini_seller() -> (SimSeller, Harness) {
    let sim = SimSeller::start(Behavior {
        tokens: 6,
        ..Behavior::default()
    })
    .await
    .expect("sim");
    let yaml = sellers_file(&[format!(
        "  - id: g\n    base_url: {}/v1beta\n    api_key: g-secret\n    protocols: [gemini]\n    models:\n      - gemini-pro: gemini-2.5-pro\n",
        sim.base_url()
    )]);
    (sim, Harness::start(&yaml).await)
}

fn gemini_body() -> Value {
    request_body(Protocol::Gemini, "unused", false)
}

/// Asserts Google's error shape with `code` and returns the message.
fn google_error(v: &Value, code: u16) -> String {
    assert_eq!(v["error"]["code"], code, "{v}");
    assert!(v["error"]["status"].is_string(), "{v}");
    v["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn a_native_stream_passes_through_metered_with_the_sellers_key_and_model() {
    let (sim, h) = gemini_seller().await;
    let token = h.running.token().to_string();
    let resp = h
        .client
        .post(h.url(&gemini_path("gemini-pro", true)))
        .header("x-goog-api-key", &token)
        .json(&gemini_body())
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let got = read_all(resp).await;
    let up = sim.requests().pop().expect("the seller was called");
    assert_eq!(got, up.response_bytes(), "byte for byte");
    let evs = events(Protocol::Gemini, &got);
    assert_eq!(evs.iter().filter(|e| e.semantic).count(), 6);
    assert!(evs.last().is_some_and(|e| e.terminal));

    assert_eq!(
        up.path,
        "/v1beta/models/gemini-2.5-pro:streamGenerateContent"
    );
    assert_eq!(up.query.as_deref(), Some("alt=sse"));
    assert_eq!(up.header("x-goog-api-key"), Some("g-secret"));
    assert_eq!(up.header("authorization"), None);
    assert!(
        up.headers.iter().all(|(_, v)| !v.contains(&token)),
        "our token never reaches a seller: {:?}",
        up.headers
    );
    assert_eq!(up.body, serde_json::to_vec(&gemini_body()).unwrap());

    let stats = h.stats("g").await;
    assert_eq!(stats["requests"], 1, "{stats}");
    assert_eq!(stats["outputTokens"], 6, "{stats}");
    let rows = h.rows().await;
    assert_eq!(rows[0]["modelAsked"], "gemini-pro", "{}", rows[0]);
    assert_eq!(rows[0]["modelSent"], "gemini-2.5-pro", "{}", rows[0]);
    assert_eq!(rows[0]["protocol"], "gemini", "{}", rows[0]);
    assert_eq!(rows[0]["usage"]["output"], 6, "{}", rows[0]);
    assert_eq!(rows[0]["stream"], true, "{}", rows[0]);
    h.running.stop().await.expect("stop");
}

#[tokio::test]
async fn a_body_with_the_key_in_the_query_never_forwards_the_query() {
    let (sim, h) = gemini_seller().await;
    let token = h.running.token().to_string();
    let resp = h
        .client
        .post(h.url(&format!(
            "/v1beta/models/gemini-pro:generateContent?key={token}"
        )))
        .json(&gemini_body())
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["candidates"][0]["finishReason"], "STOP", "{body}");
    let up = sim.requests().pop().expect("called");
    assert_eq!(up.path, "/v1beta/models/gemini-2.5-pro:generateContent");
    assert_eq!(
        up.query, None,
        "the client's query (with our key) stays here"
    );
    assert_eq!(h.stats("g").await["outputTokens"], 6);
    // google-genai 3 calls `/v1/models/<model>:…` by default: the same method.
    let resp = h
        .client
        .post(h.url(&format!(
            "/v1/models/gemini-pro:streamGenerateContent?alt=sse&key={token}"
        )))
        .json(&gemini_body())
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    let got = read_all(resp).await;
    assert!(events(Protocol::Gemini, &got)
        .last()
        .is_some_and(|e| e.terminal));
    let up = sim.requests().pop().expect("called");
    assert_eq!(
        up.path,
        "/v1beta/models/gemini-2.5-pro:streamGenerateContent"
    );
    let unknown = h
        .client
        .post(h.url(&format!("/v1/models/gemini-pro:embedContent?key={token}")))
        .json(&gemini_body())
        .send()
        .await
        .expect("request");
    assert_eq!(unknown.status(), 404);
    google_error(&unknown.json::<Value>().await.expect("json"), 404);
    h.running.stop().await.expect("stop");
}

#[tokio::test]
async fn refusals_are_in_googles_shape_and_key_queries_count_on_v1beta_only() {
    let (sim, h) = gemini_seller().await;
    let token = h.running.token().to_string();
    let post = |url: String| h.client.post(url).json(&gemini_body()).send();
    // No token, a wrong one, a wrong one in the query.
    for url in [
        h.url(&gemini_path("gemini-pro", false)),
        h.url("/v1beta/models/gemini-pro:generateContent?key=nope"),
    ] {
        let resp = post(url).await.expect("request");
        assert_eq!(resp.status(), 401);
        let v: Value = resp.json().await.expect("json");
        assert_eq!(v["error"]["status"], "UNAUTHENTICATED", "{v}");
        google_error(&v, 401);
    }
    let wrong = h
        .client
        .post(h.url(&gemini_path("gemini-pro", false)))
        .header("x-goog-api-key", "nope")
        .json(&gemini_body())
        .send()
        .await
        .expect("request");
    assert_eq!(wrong.status(), 401);
    // `?key=` is no way in elsewhere.
    for path in ["/v1/chat/completions", "/api/sellers"] {
        let resp = h
            .client
            .post(h.url(&format!("{path}?key={token}")))
            .json(&json!({"model": "gemini-pro", "messages": []}))
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 401, "{path}");
    }
    // An unknown method, and a stream without `alt=sse`.
    let resp = h
        .client
        .post(h.url("/v1beta/models/gemini-pro:embedContent"))
        .header("x-goog-api-key", &token)
        .json(&gemini_body())
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 404);
    let v: Value = resp.json().await.expect("json");
    assert!(google_error(&v, 404).contains("embedContent"), "{v}");
    assert_eq!(v["error"]["status"], "NOT_FOUND");
    let resp = h
        .client
        .post(h.url("/v1beta/models/gemini-pro:streamGenerateContent"))
        .header("x-goog-api-key", &token)
        .json(&gemini_body())
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 400);
    let v: Value = resp.json().await.expect("json");
    assert!(google_error(&v, 400).contains("alt=sse"), "{v}");
    // A model nobody serves.
    let resp = h
        .client
        .post(h.url(&gemini_path("nobody", false)))
        .header("x-goog-api-key", &token)
        .json(&gemini_body())
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 404);
    google_error(&resp.json::<Value>().await.expect("json"), 404);
    assert_eq!(sim.request_count(), 0, "no refused call reached the seller");
    h.running.stop().await.expect("stop");
}

#[tokio::test]
async fn models_are_listed_in_geminis_shape_and_count_tokens_is_forwarded_or_estimated() {
    let sim = SimSeller::start(Behavior::default()).await.expect("sim");
    let chat = SimSeller::start(Behavior::default()).await.expect("sim");
    let yaml = sellers_file(&[
        format!(
            "  - id: g\n    base_url: {}\n    api_key: g-secret\n    protocols: [gemini]\n    models: [gemini-pro]\n",
            sim.base_url()
        ),
        format!(
            "  - id: c\n    base_url: {}/v1\n    api_key: c-secret\n    protocols: [openai-chat]\n    models: [gpt-x]\n",
            chat.base_url()
        ),
    ]);
    let h = Harness::start(&yaml).await;
    let token = h.running.token().to_string();
    let get = |path: &str| {
        h.client
            .get(h.url(path))
            .header("x-goog-api-key", &token)
            .send()
    };
    let list: Value = get("/v1beta/models")
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    let names: Vec<&str> = list["models"]
        .as_array()
        .expect("models")
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    assert_eq!(names, ["models/gemini-pro", "models/gpt-x"], "{list}");
    assert!(list["models"][0]["supportedGenerationMethods"]
        .as_array()
        .is_some_and(|m| m.contains(&json!("streamGenerateContent"))));
    let one = get("/v1beta/models/gpt-x").await.expect("one");
    assert_eq!(one.status(), 200);
    assert_eq!(one.json::<Value>().await.unwrap()["name"], "models/gpt-x");
    let none = get("/v1beta/models/nope").await.expect("none");
    assert_eq!(none.status(), 404);
    google_error(&none.json::<Value>().await.expect("json"), 404);

    let count = |model: &str| {
        h.client
            .post(h.url(&format!("/v1beta/models/{model}:countTokens")))
            .header("x-goog-api-key", &token)
            .json(&gemini_body())
            .send()
    };
    let native = count("gemini-pro").await.expect("count");
    assert_eq!(native.status(), 200);
    assert!(native.headers().get("x-tokenbuddy-token-count").is_none());
    assert!(native.json::<Value>().await.unwrap()["totalTokens"].as_u64() > Some(0));
    let up = sim.requests().pop().expect("forwarded");
    assert_eq!(up.path, "/v1beta/models/gemini-pro:countTokens");
    let estimated = count("gpt-x").await.expect("count");
    assert_eq!(estimated.status(), 200);
    assert!(estimated.headers()["x-tokenbuddy-token-count"]
        .to_str()
        .unwrap()
        .starts_with("estimate"));
    assert!(estimated.json::<Value>().await.unwrap()["totalTokens"].as_u64() > Some(0));
    assert_eq!(
        chat.request_count(),
        0,
        "a chat seller has nothing to count with"
    );
    h.running.stop().await.expect("stop");
}
