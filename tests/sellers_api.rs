//! `POST /api/sellers`, `PUT|DELETE /api/sellers/{id}` against the real
//! `tokenbuddy serve`: the seller lands in `sellers.yaml` in place (the
//! user's comments and sellers byte for byte), the running TokenBuddy routes
//! to it with the typed key — which is in neither the file, the API's
//! answers nor the log — a restart keeps it working through the secrets
//! store, a broken hand edit is never overwritten, and removing the seller
//! puts the file back to the bytes it had and drops the stored key.

mod support;

use serde_json::{json, Value};
use support::process::Served;
use tokenbuddy::sim::{Behavior, SimSeller};

const KEY: &str = "sk-typed-SECRET-4242";

async fn call(
    client: &reqwest::Client,
    served: &Served,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = client
        .request(method, served.url(path))
        .bearer_auth(&served.token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    assert!(!text.contains(KEY), "the key is in an answer: {text}");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn served_by(client: &reqwest::Client, served: &Served, n: usize) -> String {
    let body = json!({"model": "m", "messages": [{"role": "user", "content": format!("conversation {n}")}]});
    let resp = client
        .post(served.url("/v1/chat/completions"))
        .bearer_auth(&served.token)
        .json(&body)
        .send()
        .await
        .expect("chat");
    let seller = resp
        .headers()
        .get("x-tokenbuddy-seller")
        .map(|v| v.to_str().unwrap_or_default().to_string())
        .unwrap_or_else(|| format!("status {}", resp.status()));
    let _ = resp.bytes().await;
    seller
}

fn seller_b(url: &str, priority: i32, key: bool) -> Value {
    let mut b = json!({
        "id": "b", "name": "Bee", "baseUrl": url, "protocols": ["openai-chat"],
        "models": ["m"], "priority": priority, "credits": 50.0
    });
    if key {
        b["apiKey"] = json!(KEY);
    }
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_edit_remove_through_the_api_in_place_with_the_key_outside_the_file() {
    let a = SimSeller::start(Behavior::default()).await.expect("a");
    let b = SimSeller::start(Behavior::default()).await.expect("b");
    let data = tempfile::tempdir().expect("data");
    let path = data.path().join("sellers.yaml");
    let original = format!(
        "# my sellers, by hand\nsellers:\n  # a: the old one\n  - id: a    # keep me\n    base_url: {}\n    api_key: sk-a\n    protocols: [openai-chat]\n    models: [m]\n",
        a.base_url()
    );
    std::fs::write(&path, &original).unwrap();
    let env = [("TOKENBUDDY_KEYSTORE", "file")];
    let served = Served::start(data.path(), &[], &env);
    let client = reqwest::Client::new();
    assert_eq!(served_by(&client, &served, 0).await, "a");

    // Add b, in front of a by priority.
    let (status, body) = call(
        &client,
        &served,
        reqwest::Method::POST,
        "/api/sellers",
        Some(seller_b(&b.base_url(), 10, true)),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["id"], "b");
    assert_eq!(body["keyRef"], "b");
    assert_eq!(body["keyStore"], "file");
    let file = std::fs::read_to_string(&path).unwrap();
    assert!(
        file.starts_with(&original),
        "the user's text stays byte for byte:\n{file}"
    );
    assert!(
        file.contains("api_key_ref: b") && !file.contains(KEY),
        "{file}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.path().join("secrets.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let (_, list) = call(&client, &served, reqwest::Method::GET, "/api/sellers", None).await;
    let ids: Vec<&str> = list["sellers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["b", "a"], "{list}");
    assert_eq!(list["sellers"][0]["keyRef"], "b");
    assert!(list["sellers"][1]["keyRef"].is_null());
    assert_eq!(served_by(&client, &served, 1).await, "b");
    let auth = b
        .requests()
        .last()
        .and_then(|r| r.header("authorization").map(str::to_string));
    assert_eq!(
        auth.as_deref(),
        Some(format!("Bearer {KEY}").as_str()),
        "the stored key goes upstream"
    );

    // Refusals, each with the field or reason, and the file untouched.
    let before = std::fs::read(&path).unwrap();
    for (method, url, body, want, needle) in [
        (
            reqwest::Method::POST,
            "/api/sellers",
            seller_b(&b.base_url(), 1, true),
            409,
            "exists",
        ),
        (
            reqwest::Method::POST,
            "/api/sellers",
            json!({"id": "c", "baseUrl": "ftp://x", "apiKey": "k", "protocols": ["openai-chat"]}),
            400,
            "baseUrl",
        ),
        (
            reqwest::Method::POST,
            "/api/sellers",
            json!({"id": "c", "baseUrl": "http://c.example", "apiKey": "k", "protocols": ["carrier-pigeon"]}),
            400,
            "protocols",
        ),
        (
            reqwest::Method::POST,
            "/api/sellers",
            json!({"id": "c", "baseUrl": "http://c.example", "apiKey": "k", "protocols": ["openai-chat"], "colour": 1}),
            400,
            "colour",
        ),
        (
            reqwest::Method::POST,
            "/api/sellers",
            json!({"id": "c", "baseUrl": "http://c.example", "protocols": ["openai-chat"]}),
            400,
            "apiKey",
        ),
        (
            reqwest::Method::PUT,
            "/api/sellers/nope",
            json!({"baseUrl": "http://c.example", "protocols": ["openai-chat"]}),
            404,
            "nope",
        ),
    ] {
        let (status, body) = call(&client, &served, method, url, Some(body)).await;
        assert_eq!(status, want, "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains(needle),
            "{needle}: {body}"
        );
    }
    let (status, _) = call(
        &client,
        &served,
        reqwest::Method::DELETE,
        "/api/sellers/nope",
        None,
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(std::fs::read(&path).unwrap(), before);

    // Edit without a key: the stored one stays; b drops behind a.
    let mut edit = seller_b(&b.base_url(), -1, false);
    edit.as_object_mut().unwrap().remove("id");
    let (status, body) = call(
        &client,
        &served,
        reqwest::Method::PUT,
        "/api/sellers/b",
        Some(edit),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["keyStore"].is_null(), "no key given: {body}");
    assert_eq!(served_by(&client, &served, 2).await, "a");
    let (status, _) = call(
        &client,
        &served,
        reqwest::Method::PUT,
        "/api/sellers/b",
        Some(seller_b(&b.base_url(), 10, false)),
    )
    .await;
    assert_eq!(status, 200);

    // A restart reads the key back from the secrets store.
    let log = served.log();
    assert!(served.stop().success());
    assert!(
        log.iter().all(|l| !l.contains(KEY)),
        "the key is in the log"
    );
    let served = Served::start(data.path(), &[], &env);
    assert_eq!(served_by(&client, &served, 3).await, "b");
    let auth = b
        .requests()
        .last()
        .and_then(|r| r.header("authorization").map(str::to_string));
    assert_eq!(auth.as_deref(), Some(format!("Bearer {KEY}").as_str()));

    // A variable TokenBuddy does not have would leave a file that does not load.
    let unset = json!({"id": "c", "baseUrl": "http://c.example", "apiKeyEnv": "TB_TEST_UNSET_KEY", "protocols": ["openai-responses"]});
    let (status, body) = call(
        &client,
        &served,
        reqwest::Method::POST,
        "/api/sellers",
        Some(unset),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("apiKeyEnv"),
        "{body}"
    );

    // Two adds at once both land.
    let c = json!({"id": "c", "baseUrl": "http://c.example", "apiKey": "sk-c", "protocols": ["openai-responses"]});
    let d = json!({"id": "d", "baseUrl": "http://d.example", "apiKey": "sk-d", "protocols": ["openai-responses"]});
    let (rc, rd) = tokio::join!(
        call(
            &client,
            &served,
            reqwest::Method::POST,
            "/api/sellers",
            Some(c)
        ),
        call(
            &client,
            &served,
            reqwest::Method::POST,
            "/api/sellers",
            Some(d)
        ),
    );
    assert_eq!((rc.0, rd.0), (201, 201), "{:?} {:?}", rc.1, rd.1);
    let file = std::fs::read_to_string(&path).unwrap();
    assert!(file.contains("id: c") && file.contains("id: d"), "{file}");
    for id in ["c", "d"] {
        let (status, body) = call(
            &client,
            &served,
            reqwest::Method::DELETE,
            &format!("/api/sellers/{id}"),
            None,
        )
        .await;
        assert_eq!(status, 204, "{body}");
    }

    // A broken hand edit is never overwritten: 409 with the file's own line.
    let good = std::fs::read(&path).unwrap();
    let broken = format!(
        "{}  - id: x\n    base_url: [oops\n",
        String::from_utf8_lossy(&good)
    );
    std::fs::write(&path, &broken).unwrap();
    let (status, body) = call(
        &client,
        &served,
        reqwest::Method::DELETE,
        "/api/sellers/b",
        None,
    )
    .await;
    assert_eq!(status, 409, "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("sellers.yaml:"), "{message}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), broken);
    std::fs::write(&path, &good).unwrap();

    // Remove b: the file is the user's again, byte for byte, and the key is gone.
    let (status, _) = call(
        &client,
        &served,
        reqwest::Method::DELETE,
        "/api/sellers/b",
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), original);
    let secrets = std::fs::read_to_string(data.path().join("secrets.json")).unwrap();
    assert!(
        !secrets.contains(KEY) && !secrets.contains("\"b\""),
        "{secrets}"
    );
    assert_eq!(served_by(&client, &served, 4).await, "a");
    let log = served.log();
    assert!(
        log.iter().all(|l| !l.contains(KEY)),
        "the key is in the log"
    );
    assert!(served.stop().success());
}
