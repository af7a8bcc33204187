//! A conversation stays on its seller while that seller is usable, and moves
//! (rebinding) when it is not.

mod support;

use serde_json::json;
use support::{sellers_file, Harness};
use tokenbuddy::sim::{Behavior, SimSeller};

fn sellers(a: &SimSeller, b: &SimSeller, b_priority: i32) -> String {
    sellers_file(&[
        format!("  - id: a\n    base_url: {}\n    api_key: k\n    protocols: [anthropic-messages]\n", a.base_url()),
        format!(
            "  - id: b\n    base_url: {}\n    api_key: k\n    protocols: [anthropic-messages]\n    priority: {b_priority}\n",
            b.base_url()
        ),
    ])
}

async fn ask(h: &Harness, session: Option<&str>, text: &str) -> String {
    let mut req = h.post(
        "/v1/messages",
        &json!({"model": "m", "max_tokens": 16, "messages": [{"role": "user", "content": text}]}),
    );
    if let Some(id) = session {
        req = req.header("x-claude-code-session-id", id);
    }
    let resp = req.send().await.expect("request");
    assert_eq!(resp.status(), 200);
    support::seller_of(&resp)
}

/// The response id in a streamed Responses answer (its `response.created`
/// carries it first).
fn response_id(stream: &[u8]) -> String {
    String::from_utf8_lossy(stream)
        .split("\"id\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("response.created carries an id")
        .to_string()
}

/// Which seller answered `resp`, once its body is read to the end.
async fn answered_by(resp: reqwest::Response) -> String {
    let seller = support::seller_of(&resp);
    drop(support::read_all(resp).await);
    seller
}

#[tokio::test]
async fn sessions_stick_to_their_seller_until_it_becomes_unusable() {
    let a = SimSeller::start(Behavior::default()).await.expect("a");
    let b = SimSeller::start(Behavior::default()).await.expect("b");
    let h = Harness::start(&sellers(&a, &b, 0)).await;
    assert_eq!(ask(&h, Some("s1"), "hello").await, "a");

    // b is now preferred: new conversations go there, s1 stays on a.
    h.rewrite_sellers(&sellers(&a, &b, 10)).await;
    assert_eq!(ask(&h, None, "a new conversation").await, "b");
    assert_eq!(ask(&h, Some("s1"), "hello again").await, "a");
    // Without a session header, the conversation's opening is its key.
    assert_eq!(ask(&h, None, "hello").await, "b");

    // a starts rate-limiting: s1 moves to b at once and stays there.
    a.set_behavior(support::failing(429, Some(600)));
    assert_eq!(ask(&h, Some("s1"), "and again").await, "b");
    let tried_a = a.request_count();
    a.set_behavior(Behavior::default());
    assert_eq!(ask(&h, Some("s1"), "still there?").await, "b");
    assert_eq!(
        a.request_count(),
        tried_a,
        "a is blocked and s1 rebound to b"
    );

    // The scheduler counted it: 6 requests, s1 hit its seller 3 times, one switch.
    let m: serde_json::Value = h
        .client
        .get(h.url("/api/scheduler"))
        .bearer_auth(h.running.token())
        .send()
        .await
        .expect("scheduler")
        .json()
        .await
        .expect("json");
    let counts = (
        m["selections"].as_u64(),
        m["stickyHits"].as_u64(),
        m["switches"].as_u64(),
    );
    assert_eq!(counts, (Some(6), Some(3), Some(1)), "{m}");
    assert_eq!(m["allFailed"], 0, "{m}");
    assert!(
        m["decisionMeanMicros"].as_f64().is_some_and(|v| v > 0.0),
        "{m}"
    );
    h.running.stop().await.expect("stop");
}

#[tokio::test]
async fn a_full_seller_is_never_overloaded_and_is_waited_for_when_alone() {
    let a = SimSeller::start(Behavior::default()).await.expect("a");
    let yaml = sellers_file(&[format!(
        "  - id: a\n    base_url: {}\n    api_key: k\n    protocols: [anthropic-messages]\n    max_concurrency: 1\n",
        a.base_url()
    )]);
    let h = Harness::start(&yaml).await;
    let hold = a.hold();
    // The first stream takes a's only slot and is held there.
    let first = h
        .post(
            "/v1/messages",
            &json!({"model": "m", "max_tokens": 16, "stream": true, "messages": [{"role": "user", "content": "one"}]}),
        )
        .send()
        .await
        .expect("first");
    assert_eq!(first.status(), 200);
    // The second waits for the slot instead of overloading a…
    let second = tokio::spawn({
        let req = h.post(
            "/v1/messages",
            &json!({"model": "m", "max_tokens": 16, "messages": [{"role": "user", "content": "two"}]}),
        );
        async move { req.send().await.expect("second").status() }
    });
    // (wait until it is queued at TokenBuddy, not yet sent to a)…
    tokio::time::timeout(support::HANG, async {
        while h.stats("a").await["waiting"] != 1 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the second request queues for a's slot");
    assert_eq!(a.request_count(), 1);
    // …and gets it when the first ends.
    hold.release();
    let _ = support::read_all(first).await;
    assert_eq!(second.await.expect("task"), 200);
    assert_eq!(a.request_count(), 2);
    assert_eq!(a.max_concurrent(), 1, "never two at once");
    h.running.stop().await.expect("stop");
}

#[tokio::test]
async fn previous_response_id_goes_to_the_seller_that_produced_it() {
    let a = SimSeller::start(Behavior::default()).await.expect("a");
    let b = SimSeller::start(Behavior::default()).await.expect("b");
    let both = |b_priority: i32| {
        sellers_file(&[
            format!("  - id: a\n    base_url: {}\n    api_key: k\n    protocols: [openai-responses]\n", a.base_url()),
            format!(
                "  - id: b\n    base_url: {}\n    api_key: k\n    protocols: [openai-responses]\n    priority: {b_priority}\n",
                b.base_url()
            ),
        ])
    };
    let h = Harness::start(&both(0)).await;
    let respond = |input: &str, previous: Option<&str>| {
        let mut body = json!({"model": "m", "stream": true, "input": input});
        if let Some(id) = previous {
            body["previous_response_id"] = json!(id);
        }
        h.post("/v1/responses", &body).send()
    };
    let resp = respond("first question", None).await.expect("first");
    assert_eq!(resp.headers()["x-tokenbuddy-seller"], "a");
    let id = response_id(&support::read_all(resp).await);
    assert!(id.starts_with("resp_"), "{id}");

    // b is preferred now; a fresh conversation goes there…
    h.rewrite_sellers(&both(10)).await;
    let fresh = respond("another topic", None).await.expect("fresh");
    assert_eq!(fresh.headers()["x-tokenbuddy-seller"], "b");
    // …but a continuation of a's response goes back to a.
    let cont = respond("follow-up", Some(&id)).await.expect("continuation");
    assert_eq!(cont.headers()["x-tokenbuddy-seller"], "a");
    h.running.stop().await.expect("stop");
}

/// r11: after `PUT /api/routing`, a conversation bound under the old
/// settings is re-planned under the new ones on its next request (the same
/// body went on to the pricier seller before); hard affinity to a previous
/// response still holds.
#[tokio::test]
async fn a_change_of_routing_moves_bound_conversations_r11() {
    let fast = SimSeller::start(Behavior::default()).await.expect("fast");
    let cheap = SimSeller::start(Behavior::default()).await.expect("cheap");
    let h = Harness::start(&sellers_file(&[
        format!("  - id: fast\n    base_url: {}\n    api_key: k\n    protocols: [openai-responses]\n", fast.base_url()),
        format!(
            "  - id: cheap\n    base_url: {}\n    api_key: k\n    protocols: [openai-responses]\n    discount_ratio: 0.3\n",
            cheap.base_url()
        ),
    ]))
    .await;
    let routing = |scorer: &str| {
        h.client
            .put(h.url("/api/routing"))
            .bearer_auth(h.running.token())
            .json(&json!({"scorer": scorer}))
            .send()
    };
    let ask = |previous: Option<&str>| {
        let mut body = json!({"model": "m", "stream": true, "input": "the same question"});
        if let Some(id) = previous {
            body["previous_response_id"] = json!(id);
        }
        h.post("/v1/responses", &body).send()
    };
    assert_eq!(routing("speed").await.expect("put").status(), 200);
    let first = ask(None).await.expect("first");
    assert_eq!(
        support::seller_of(&first),
        "fast",
        "a tie on speed: file order"
    );
    let id = response_id(&support::read_all(first).await);
    let again = ask(None).await.expect("again");
    assert_eq!(answered_by(again).await, "fast", "the conversation sticks");

    assert_eq!(routing("discount").await.expect("put").status(), 200);
    for turn in 0..3 {
        let resp = ask(None).await.expect("after the switch");
        assert_eq!(
            answered_by(resp).await,
            "cheap",
            "turn {turn} after the switch to discount"
        );
    }
    let cont = ask(Some(&id)).await.expect("continuation");
    assert_eq!(
        answered_by(cont).await,
        "fast",
        "a continuation of fast's response still goes to fast"
    );
    h.running.stop().await.expect("stop");
}
