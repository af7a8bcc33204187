//! Routing settings at runtime: `PUT /api/routing` changes who serves the
//! very next request, is saved, and `GET /api/route-plan` explains the order.

mod support;

use serde_json::{json, Value};
use support::Harness;
use tokenbuddy::protocol::Protocol;
use tokenbuddy::sim::{Behavior, SimSeller};

async fn put_routing(h: &Harness, body: Value) -> reqwest::Response {
    h.client
        .put(h.url("/api/routing"))
        .bearer_auth(h.running.token())
        .json(&body)
        .send()
        .await
        .expect("PUT /api/routing")
}

async fn served_by(h: &Harness) -> String {
    let resp = h.call(Protocol::OpenAiChat, "m", false).await;
    assert_eq!(resp.status(), 200);
    support::seller_of(&resp)
}

#[tokio::test]
async fn put_routing_switches_the_next_request_and_is_saved() {
    let cheap = SimSeller::start(Behavior::default()).await.expect("sim");
    let pricey = SimSeller::start(Behavior::default()).await.expect("sim");
    let yaml = format!(
        "sellers:\n  - id: pricey\n    base_url: {}\n    api_key: k\n    protocols: [openai-chat]\n    discount_ratio: 1.0\n  - id: cheap\n    base_url: {}\n    api_key: k\n    protocols: [openai-chat]\n    discount_ratio: 0.4\n",
        pricey.base_url(),
        cheap.base_url()
    );
    let h = Harness::start(&yaml).await;

    // Default (fullAuto, balanced): with no speed data yet, price decides.
    assert_eq!(served_by(&h).await, "cheap");

    let resp = put_routing(&h, json!({"mode": "fixed", "fixedSeller": "pricey"})).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(served_by(&h).await, "pricey");

    let resp = put_routing(
        &h,
        json!({"mode": "fixedSet", "fixedSet": ["cheap"], "scorer": "speed"}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(served_by(&h).await, "cheap");
    let plan: Value = h
        .client
        .get(h.url("/api/route-plan?model=m&protocol=openai-chat"))
        .bearer_auth(h.running.token())
        .send()
        .await
        .expect("route-plan")
        .json()
        .await
        .expect("json");
    assert_eq!(plan["ranked"][0]["seller"], "cheap", "{plan}");
    assert!(plan["ranked"][0]["score"]["total"].is_number(), "{plan}");
    assert_eq!(plan["excluded"][0]["seller"], "pricey", "{plan}");
    assert_eq!(
        plan["excluded"][0]["reason"], "not in the fixed set",
        "{plan}"
    );

    // A bad change is refused with a reason and changes nothing.
    let resp = put_routing(&h, json!({"mode": "fixed"})).await;
    assert_eq!(resp.status(), 400);
    let err: Value = resp.json().await.expect("json");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("fixedSeller"),
        "{err}"
    );
    assert_eq!(served_by(&h).await, "cheap");

    let saved: Value =
        serde_json::from_slice(&std::fs::read(h.dir.path().join("routing.json")).expect("saved"))
            .expect("json");
    assert_eq!(saved["mode"], "fixedSet");
    assert_eq!(saved["fixedSet"], json!(["cheap"]));

    // Fixed with failover off and the seller gone: a clear refusal, not a guess.
    let resp = put_routing(
        &h,
        json!({"mode": "fixed", "fixedSeller": "nobody", "fixedFailover": false}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let resp = h.call(Protocol::OpenAiChat, "m", false).await;
    assert_eq!(resp.status(), 503);
    let v: Value = resp.json().await.expect("json");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("no seller may take model"),
        "{v}"
    );
    h.running.stop().await.expect("stop");
}
