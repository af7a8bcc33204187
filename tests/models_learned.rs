//! The model index learned from the sellers, over real sockets: a seller
//! that declares no models has its own `/v1/models` read by the prewarm
//! probe, and TokenBuddy's `/v1/models` lists those ids marked as learned;
//! declared models stay unmarked and win over the same id learned; a probe
//! that fails later keeps the list; the learned list never narrows routing.

mod support;

use serde_json::Value;
use std::time::Duration;
use support::{seller_yaml, sellers_file, Harness, HANG};
use tokenbuddy::protocol::Protocol;
use tokenbuddy::sim::{Behavior, ModelsAnswer, SimSeller};

async fn listed(h: &Harness) -> Value {
    let resp = h
        .client
        .get(h.url("/v1/models"))
        .bearer_auth(h.running.token())
        .send()
        .await
        .expect("models");
    assert_eq!(resp.status(), 200);
    resp.json().await.expect("json")
}

fn entry<'a>(list: &'a Value, id: &str) -> Option<&'a Value> {
    list["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|m| m["id"] == id)
}

/// Waits until `/v1/models` satisfies `done`, and returns that list.
async fn until(h: &Harness, done: impl Fn(&Value) -> bool) -> Value {
    tokio::time::timeout(HANG, async {
        loop {
            let list = listed(h).await;
            if done(&list) {
                return list;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the model list fills in from the probes")
}

fn ids(list: &Value) -> Vec<&str> {
    list["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect()
}

/// A valid OpenAI list of more than `MAX_LIST_BYTES` (1 MiB).
fn huge_list() -> String {
    let pad = "x".repeat(600);
    let data: Vec<Value> = (0..2000)
        .map(|i| serde_json::json!({"id": format!("h-{i:04}"), "pad": pad}))
        .collect();
    let body = serde_json::json!({"object": "list", "data": data}).to_string();
    assert!(body.len() > tokenbuddy::proxy::probe::MAX_LIST_BYTES);
    body
}

/// Waits until each seller got three more probes: one may have read the
/// old answer as it was being changed, a round starts only once the last one
/// ended, so the third proves the second (with the new answer) was handled.
async fn more_probes(sellers: &[&SimSeller]) {
    let probes = |s: &SimSeller| {
        s.requests()
            .iter()
            .filter(|r| r.path == "/v1/models")
            .count()
    };
    let seen: Vec<usize> = sellers.iter().map(|s| probes(s)).collect();
    tokio::time::timeout(HANG, async {
        while sellers.iter().zip(&seen).any(|(s, n)| probes(s) < n + 3) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("more probes reach the sellers");
}

#[tokio::test]
async fn learned_models_are_listed_marked_and_kept_when_a_probe_fails() {
    let any = SimSeller::start(Behavior::default()).await.expect("sim");
    any.set_models(ModelsAnswer::List(vec![
        "m-b".into(),
        "m-a".into(),
        "shared".into(),
    ]));
    let other = SimSeller::start(Behavior::default()).await.expect("sim");
    other.set_models(ModelsAnswer::List(vec!["m-a".into(), "m-c".into()]));
    let declared = SimSeller::start(Behavior::default()).await.expect("sim");
    declared.set_models(ModelsAnswer::List(vec!["upstream-only".into()]));
    let yaml = sellers_file(&[
        seller_yaml("any", &any.base_url(), &[Protocol::OpenAiChat]),
        seller_yaml("other", &other.base_url(), &[Protocol::AnthropicMessages]),
        format!(
            "{}    models: [shared, {{alias: vendor/x}}]\n",
            seller_yaml("declared", &declared.base_url(), &[Protocol::OpenAiChat])
        ),
    ]);
    let h = Harness::start_with(&yaml, |c| {
        c.probe_interval = Some(Duration::from_millis(50))
    })
    .await;

    let list = until(&h, |l| {
        entry(l, "m-b").is_some() && entry(l, "m-c").is_some()
    })
    .await;
    assert_eq!(
        ids(&list),
        ["alias", "m-a", "m-b", "m-c", "shared"],
        "the union, sorted; a declaring seller's own list is not added: {list}"
    );
    assert_eq!(list["object"], "list");
    assert_eq!(list["has_more"], false);
    assert_eq!(list["first_id"], "alias");
    assert_eq!(list["last_id"], "shared");
    let m_a = entry(&list, "m-a").expect("m-a");
    assert_eq!(m_a["tokenbuddy"]["source"], "learned");
    assert_eq!(
        m_a["tokenbuddy"]["sellers"],
        serde_json::json!(["any", "other"])
    );
    assert_eq!(m_a["object"], "model");
    assert_eq!(m_a["type"], "model");
    assert_eq!(
        entry(&list, "m-c").expect("m-c")["tokenbuddy"]["sellers"],
        serde_json::json!(["other"])
    );
    // Declared names (aliases too) are listed unmarked and win.
    for declared_id in ["alias", "shared"] {
        let e = entry(&list, declared_id).expect("declared");
        assert!(e.get("tokenbuddy").is_none(), "{e}");
    }
    // The Anthropic-only seller was probed the Anthropic way (with `limit=1000`).
    let probe = other
        .requests()
        .into_iter()
        .find(|r| r.path == "/v1/models")
        .expect("probed");
    assert_eq!(probe.header("x-api-key"), Some("sk-other-secret"));
    assert_eq!(probe.query.as_deref(), Some("limit=1000"));
    let openai_probe = any
        .requests()
        .into_iter()
        .find(|r| r.path == "/v1/models")
        .expect("probed");
    assert_eq!(openai_probe.query, None, "OpenAI lists are not paged");

    // A failed probe, a body that is not a list and a list over the size
    // bound (valid, and new) all keep the last list.
    any.set_models(ModelsAnswer::Status(503));
    other.set_models(ModelsAnswer::Body(huge_list()));
    more_probes(&[&any, &other]).await;
    assert_eq!(ids(&listed(&h).await), ids(&list), "the last lists stay");
    any.set_models(ModelsAnswer::Body("<html>gateway</html>".into()));
    more_probes(&[&any]).await;
    assert_eq!(ids(&listed(&h).await), ids(&list), "the last lists stay");

    // A newer list replaces the old one.
    any.set_models(ModelsAnswer::List(vec!["m-new".into()]));
    let list = until(&h, |l| entry(l, "m-b").is_none()).await;
    assert_eq!(ids(&list), ["alias", "m-a", "m-c", "m-new", "shared"]);
    assert_eq!(
        entry(&list, "m-a").expect("m-a")["tokenbuddy"]["sellers"],
        serde_json::json!(["other"])
    );
    h.running.stop().await.expect("stop");
}

#[tokio::test]
async fn a_model_no_seller_reported_still_goes_to_any_model_sellers() {
    let any = SimSeller::start(Behavior::default()).await.expect("sim");
    any.set_models(ModelsAnswer::List(vec!["m-a".into()]));
    let yaml = sellers_file(&[seller_yaml("any", &any.base_url(), &[Protocol::OpenAiChat])]);
    let h = Harness::start_with(&yaml, |c| {
        c.probe_interval = Some(Duration::from_millis(50))
    })
    .await;
    until(&h, |l| entry(l, "m-a").is_some()).await;
    let resp = h.call(Protocol::OpenAiChat, "never-reported", false).await;
    assert_eq!(resp.status(), 200);
    assert!(any
        .requests()
        .iter()
        .any(|r| r.model.as_deref() == Some("never-reported")));
    h.running.stop().await.expect("stop");
}
