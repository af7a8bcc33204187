//! `GET /api/events` and `GET /api/notices` over real sockets against an
//! in-process TokenBuddy with simulated sellers: the snapshot on connect
//! (and on reconnect), `request` rows then a coalesced `sellers`, routing
//! changes, and notices for a failover, an opened circuit and a broken
//! sellers file; 401 without the token.

mod support;

use futures_util::StreamExt;
use serde_json::{json, Value};
use support::{failing, seller_yaml, sellers_file, Harness, HANG};
use tokenbuddy::protocol::sse::SseSplitter;
use tokenbuddy::protocol::Protocol;
use tokenbuddy::sim::{Behavior, SimSeller};

/// A connected `/api/events` client.
struct Events {
    body: std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    splitter: SseSplitter,
    queued: std::collections::VecDeque<(String, Value)>,
}

impl Events {
    async fn connect(h: &Harness) -> Events {
        Self::connect_to(&h.client, &h.url("/api/events"), h.running.token()).await
    }

    async fn connect_to(client: &reqwest::Client, url: &str, token: &str) -> Events {
        let resp = client
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .expect("/api/events answers");
        assert_eq!(resp.status(), 200);
        let ct = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        assert!(ct.starts_with("text/event-stream"), "{ct}");
        Events {
            body: Box::pin(resp.bytes_stream()),
            splitter: SseSplitter::new(),
            queued: Default::default(),
        }
    }

    /// The next event (comments are skipped); panics on a hang.
    async fn next(&mut self) -> (String, Value) {
        tokio::time::timeout(HANG, async {
            loop {
                if let Some(e) = self.queued.pop_front() {
                    return e;
                }
                let chunk = self
                    .body
                    .next()
                    .await
                    .expect("the stream stays open")
                    .expect("a chunk");
                let queued = &mut self.queued;
                self.splitter.push(&chunk, |e| {
                    if let Some(name) = e.event {
                        let data = serde_json::from_str(e.data).expect("event data is JSON");
                        queued.push_back((name.to_string(), data));
                    }
                });
            }
        })
        .await
        .expect("an event in time")
    }

    /// Events up to and including the first named `name`.
    async fn until(&mut self, name: &str) -> Vec<(String, Value)> {
        let mut seen = Vec::new();
        loop {
            let e = self.next().await;
            let done = e.0 == name;
            seen.push(e);
            if done {
                return seen;
            }
        }
    }

    /// The next notice of `kind` (other events are skipped).
    async fn notice(&mut self, kind: &str) -> Value {
        loop {
            let (name, data) = self.next().await;
            if name == "notice" && data["kind"] == kind {
                return data;
            }
        }
    }
}

async fn one_good_seller() -> (SimSeller, Harness) {
    let sim = SimSeller::start(Behavior::default()).await.expect("sim");
    let h = Harness::start_one("a", &sim.base_url()).await;
    (sim, h)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_without_the_token() {
    let (_sim, h) = one_good_seller().await;
    for path in ["/api/events", "/api/notices"] {
        let resp = h.client.get(h.url(path)).send().await.expect("answers");
        assert_eq!(resp.status(), 401, "{path}");
        let resp = h
            .client
            .get(h.url(path))
            .bearer_auth("not-the-token")
            .send()
            .await
            .expect("answers");
        assert_eq!(resp.status(), 401, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_then_request_then_sellers_and_a_fresh_snapshot_on_reconnect() {
    let (_sim, h) = one_good_seller().await;
    let mut ev = Events::connect(&h).await;
    let (name, snap) = ev.next().await;
    assert_eq!(name, "snapshot");
    assert_eq!(snap["sellers"]["sellers"][0]["id"], "a");
    assert_eq!(snap["sellers"]["sellers"][0]["stats"]["requests"], 0);
    assert_eq!(snap["routing"], h.api("/api/routing").await);
    assert_eq!(snap["proxy"], json!({"enabled": true}));
    assert_eq!(snap["store"]["enabled"], true);

    let resp = h.call(Protocol::OpenAiChat, "m", true).await;
    assert_eq!(resp.status(), 200);
    support::read_all(resp).await;
    let seen = ev.until("requests").await;
    let rows = &seen.last().expect("the request").1;
    assert_eq!(rows.as_array().map(Vec::len), Some(1), "{rows}");
    let row = &rows[0];
    assert_eq!(row["seller"], "a");
    assert_eq!(row["status"], 200);
    assert_eq!(row["modelAsked"], "m");
    assert_eq!(row, &h.api(&format!("/api/requests/{}", row["id"])).await);
    let seen = ev.until("sellers").await;
    let sellers = &seen.last().expect("sellers").1;
    assert_eq!(sellers["sellers"][0]["stats"]["requests"], 1);
    drop(ev);

    // Reconnecting: a fresh snapshot, with what happened meanwhile.
    let resp = h.call(Protocol::AnthropicMessages, "m", false).await;
    assert_eq!(resp.status(), 200);
    support::read_all(resp).await;
    let mut ev = Events::connect(&h).await;
    let (name, snap) = ev.next().await;
    assert_eq!(name, "snapshot");
    assert_eq!(snap["sellers"]["sellers"][0]["stats"]["requests"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sellers_events_are_coalesced_with_one_after_the_last_request() {
    let (_sim, h) = one_good_seller().await;
    let mut ev = Events::connect(&h).await;
    assert_eq!(ev.next().await.0, "snapshot");
    const N: usize = 50;
    let calls = (0..N).map(|_| async {
        let resp = h.call(Protocol::OpenAiChat, "m", false).await;
        assert_eq!(resp.status(), 200);
        support::read_all(resp).await;
    });
    futures_util::future::join_all(calls).await;
    let (mut requests, mut batches, mut sellers, mut after_last) = (0, 0, 0, None);
    while after_last.is_none() {
        let (name, data) = ev.next().await;
        match name.as_str() {
            "requests" => {
                let n = data.as_array().map_or(0, Vec::len);
                assert!(n >= 1, "a requests event carries rows: {data}");
                requests += n;
                batches += 1;
            }
            "snapshot" => panic!("a client that reads along was resynced"),
            "sellers" => {
                sellers += 1;
                if requests == N {
                    after_last = Some(data);
                }
            }
            _ => {}
        }
    }
    let last = after_last.expect("a sellers event after the last request");
    assert_eq!(last["sellers"][0]["stats"]["requests"], N as u64);
    assert!(
        sellers * 5 <= N,
        "{sellers} sellers events for {N} requests: not coalesced"
    );
    // Rows come batched too: a few events, not one per request.
    assert!(
        batches * 5 <= N,
        "{batches} requests events for {N} requests: not batched"
    );
    println!("figures: {N} requests → {batches} requests events, {sellers} sellers events");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routing_change_is_pushed() {
    let (_sim, h) = one_good_seller().await;
    let mut ev = Events::connect(&h).await;
    assert_eq!(ev.next().await.0, "snapshot");
    let mut settings = h.api("/api/routing").await;
    settings["scorer"] = json!("discount");
    let resp = h
        .client
        .put(h.url("/api/routing"))
        .bearer_auth(h.running.token())
        .json(&settings)
        .send()
        .await
        .expect("PUT /api/routing");
    assert_eq!(resp.status(), 200);
    let seen = ev.until("routing").await;
    let routing = &seen.last().expect("routing").1;
    assert_eq!(routing["scorer"], "discount");
    assert_eq!(routing, &h.api("/api/routing").await);

    // Pausing the proxy is pushed too, with the state `GET /api/proxy` gives.
    let resp = h
        .client
        .put(h.url("/api/proxy"))
        .bearer_auth(h.running.token())
        .json(&json!({"enabled": false}))
        .send()
        .await
        .expect("PUT /api/proxy");
    assert_eq!(resp.status(), 200);
    let seen = ev.until("proxy").await;
    assert_eq!(seen.last().expect("proxy").1, json!({"enabled": false}));
    assert_eq!(h.api("/api/proxy").await, json!({"enabled": false}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failover_is_a_notice() {
    let a = SimSeller::start(failing(500, None)).await.expect("sim a");
    let b = SimSeller::start(Behavior::default()).await.expect("sim b");
    let h = Harness::start(&sellers_file(&[
        seller_yaml("a", &a.base_url(), &Protocol::ALL),
        seller_yaml("b", &b.base_url(), &Protocol::ALL),
    ]))
    .await;
    let mut ev = Events::connect(&h).await;
    assert_eq!(ev.next().await.0, "snapshot");
    let resp = h.call(Protocol::OpenAiChat, "m", false).await;
    assert_eq!(resp.status(), 200);
    support::read_all(resp).await;
    let notice = ev.notice("failover").await;
    assert_eq!(notice["seller"], "b");
    let message = notice["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("served by b after a: HTTP 500"),
        "{message}"
    );
    assert!(notice["atMs"].as_i64().is_some_and(|t| t > 0), "{notice}");
    let listed = h.api("/api/notices").await;
    assert_eq!(listed[0], notice, "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opened_circuit_is_a_notice() {
    let a = SimSeller::start(failing(500, None)).await.expect("sim a");
    let h = Harness::start_one("a", &a.base_url()).await;
    let mut ev = Events::connect(&h).await;
    assert_eq!(ev.next().await.0, "snapshot");
    // Three failures in a row open the circuit.
    for _ in 0..3 {
        let resp = h.call(Protocol::OpenAiChat, "m", false).await;
        assert_eq!(resp.status(), 502);
        support::read_all(resp).await;
    }
    let notice = ev.notice("circuitOpened").await;
    assert_eq!(notice["seller"], "a");
    let message = notice["message"].as_str().unwrap_or_default();
    assert!(message.contains("3 failures in a row"), "{message}");
    // And the sellers event shows the cooldown.
    loop {
        let (name, data) = ev.next().await;
        if name == "sellers" && data["sellers"][0]["stats"]["circuit"] == "open" {
            assert!(data["sellers"][0]["stats"]["cooldown"]["untilMs"].is_u64());
            break;
        }
    }
    // When the cooldown ends (a timer armed for its end) the sellers are
    // pushed again, half-open, with no traffic to prompt it.
    loop {
        let (name, data) = ev.next().await;
        if name == "sellers" && data["sellers"][0]["stats"]["cooldown"].is_null() {
            assert_eq!(data["sellers"][0]["stats"]["circuit"], "half-open");
            break;
        }
    }
    let listed = h.api("/api/notices?limit=1").await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
    assert_eq!(listed[0]["kind"], "circuitOpened");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_sellers_file_is_a_notice_and_a_sellers_event() {
    let (_sim, h) = one_good_seller().await;
    let mut ev = Events::connect(&h).await;
    assert_eq!(ev.next().await.0, "snapshot");
    h.rewrite_sellers("sellers:\n  - id: [unclosed\n").await;
    let notice = ev.notice("sellersFileError").await;
    assert!(notice["seller"].is_null());
    let message = notice["message"].as_str().unwrap_or_default();
    assert!(message.contains("sellers.yaml"), "{message}");
    loop {
        let (name, data) = ev.next().await;
        if name == "sellers" {
            assert!(data["file"]["error"].is_string(), "{data}");
            break;
        }
    }
    let listed = h.api("/api/notices").await;
    assert_eq!(listed[0]["kind"], "sellersFileError");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drifted_agent_is_an_agents_event_and_a_notice() {
    let home = tempfile::tempdir().expect("home");
    let data = tempfile::tempdir().expect("data");
    let config = home.path().join(".codex/config.toml");
    std::fs::create_dir_all(config.parent().expect("dir")).expect("mkdir");
    std::fs::write(&config, "model = \"gpt-5\"\n").expect("write");
    let home_dir = home.path().to_string_lossy().into_owned();
    let codex_home = format!("{home_dir}/.codex");
    let served = support::process::Served::start(
        data.path(),
        // No demo load: its failover notices would crowd the stream.
        &["--demo", "--demo-load", "off"],
        &[("HOME", &home_dir), ("CODEX_HOME", &codex_home)],
    );
    let client = reqwest::Client::new();
    let resp = client
        .post(served.url("/api/agents/codex/configure"))
        .bearer_auth(&served.token)
        .json(&json!({"model": "m1"}))
        .send()
        .await
        .expect("configure");
    assert_eq!(resp.status(), 200);
    // Listing the agents (as the panel does) has the watch follow the new file.
    let resp = client
        .get(served.url("/api/agents"))
        .bearer_auth(&served.token)
        .send()
        .await
        .expect("list");
    assert_eq!(resp.status(), 200);
    let mut ev = Events::connect_to(&client, &served.url("/api/events"), &served.token).await;
    assert_eq!(ev.next().await.0, "snapshot");
    // Another program points Codex elsewhere.
    let theirs = std::fs::read_to_string(&config).expect("read").replace(
        "model_provider = \"tokenbuddy\"",
        "model_provider = \"openai\"",
    );
    std::fs::write(&config, theirs).expect("write");
    let seen = ev.until("agents").await;
    let agents = &seen.last().expect("agents").1;
    assert_eq!(
        agents["drift"],
        json!([{"id": "codex", "state": "drifted"}]),
        "{agents}"
    );
    // The notice is raised as the drift is seen; the two travel through
    // different channels, so either may reach the stream first.
    let earlier = seen
        .iter()
        .find(|(name, data)| name == "notice" && data["kind"] == "agentDrifted")
        .map(|(_, data)| data.clone());
    let notice = match earlier {
        Some(n) => n,
        None => ev.notice("agentDrifted").await,
    };
    assert!(
        notice["message"]
            .as_str()
            .is_some_and(|m| m.contains("codex")),
        "{notice}"
    );
    let status = served.stop();
    assert!(status.success(), "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spent_credits_are_a_notice() {
    let sim = SimSeller::start(Behavior::default()).await.expect("sim");
    let mut entry = seller_yaml("a", &sim.base_url(), &Protocol::ALL);
    entry.push_str("    credits: 0.01\n    prices:\n      m: {input: 1000, output: 1000}\n");
    let h = Harness::start(&sellers_file(&[entry])).await;
    let mut ev = Events::connect(&h).await;
    assert_eq!(ev.next().await.0, "snapshot");
    let resp = h.call(Protocol::OpenAiChat, "m", false).await;
    assert_eq!(resp.status(), 200);
    support::read_all(resp).await;
    let notice = ev.notice("creditsExhausted").await;
    assert_eq!(notice["seller"], "a");
    let message = notice["message"].as_str().unwrap_or_default();
    assert!(message.contains("credits are spent"), "{message}");
}
