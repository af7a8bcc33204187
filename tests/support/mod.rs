//! Test harness: a real TokenBuddy on 127.0.0.1:0 with its own data dir,
//! simulated sellers as the outside world, and a reqwest client.
//!
//! Waits are on events (SSE frames, watch channels); `tokio::time::timeout`
//! only guards against hangs, it is never what a test asserts.

#![allow(dead_code)]

pub mod agent_home;
pub mod browser;
pub mod load;
pub mod process;
pub mod seeded;

use std::path::PathBuf;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use serde_json::{json, Value};
use tokenbuddy::config::Timeouts;
use tokenbuddy::protocol::sse::SseSplitter;
use tokenbuddy::protocol::{event, EventInfo, Protocol};
use tokenbuddy::sim::{Behavior, Failure};
use tokenbuddy::{App, Config, Running};

/// Longest any single step of a test may take before it counts as a hang.
pub const HANG: Duration = Duration::from_secs(20);

/// A running TokenBuddy with a temporary data dir.
pub struct Harness {
    pub running: Running,
    pub dir: tempfile::TempDir,
    pub client: reqwest::Client,
}

/// One seller entry for `sellers.yaml`.
pub fn seller_yaml(id: &str, base_url: &str, protocols: &[Protocol]) -> String {
    let protocols: Vec<&str> = protocols.iter().map(|p| p.as_str()).collect();
    format!(
        "  - id: {id}\n    base_url: {base_url}/v1\n    api_key: sk-{id}-secret\n    protocols: [{}]\n",
        protocols.join(", ")
    )
}

/// A whole sellers file from entries.
pub fn sellers_file(entries: &[String]) -> String {
    format!("sellers:\n{}", entries.concat())
}

/// A seller that answers every request with HTTP `code` (and a
/// `Retry-After` of that many seconds, if any).
pub fn failing(code: u16, retry_after_secs: Option<u64>) -> Behavior {
    Behavior {
        failure: Some(Failure::Status {
            code,
            retry_after_secs,
        }),
        ..Behavior::default()
    }
}

impl Harness {
    /// Starts TokenBuddy with `sellers_yaml` as its sellers file.
    pub async fn start(sellers_yaml: &str) -> Harness {
        Self::start_with(sellers_yaml, |_| {}).await
    }

    /// Starts with one seller, `id` at `base_url`, for every protocol.
    pub async fn start_one(id: &str, base_url: &str) -> Harness {
        Self::start(&sellers_file(&[seller_yaml(id, base_url, &Protocol::ALL)])).await
    }

    /// Starts with a chance to adjust the config.
    pub async fn start_with(sellers_yaml: &str, adjust: impl FnOnce(&mut Config)) -> Harness {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("sellers.yaml"), sellers_yaml).expect("write sellers");
        Self::start_in(dir, adjust).await
    }

    /// Stops gracefully and starts again on the same data dir.
    pub async fn restart(self) -> Harness {
        let Harness { running, dir, .. } = self;
        running.stop().await.expect("a clean stop");
        Self::start_in(dir, |_| {}).await
    }

    /// Starts on an existing data dir (its sellers file, store, token).
    pub async fn start_in(dir: tempfile::TempDir, adjust: impl FnOnce(&mut Config)) -> Harness {
        let mut config = Config::new(dir.path().to_path_buf());
        config.port = 0;
        config.ui_dir = None;
        config.timeouts = Timeouts {
            connect: Duration::from_secs(2),
            headers: Duration::from_secs(10),
            ttft: Duration::from_secs(10),
            idle: Duration::from_secs(10),
            failover_budget: Duration::from_secs(60),
        };
        // Deterministic routing: no random exploration in assertions.
        config.explore_chance = 0.0;
        config.load_spread = false;
        // No background probes: tests count the requests sellers get.
        config.probe_interval = None;
        adjust(&mut config);
        let running = App::start(config).await.expect("TokenBuddy starts");
        Harness {
            running,
            dir,
            client: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.running.url(), path)
    }

    pub fn sellers_path(&self) -> PathBuf {
        self.dir.path().join("sellers.yaml")
    }

    /// A POST with the access token.
    pub fn post(&self, path: &str, body: &Value) -> reqwest::RequestBuilder {
        self.client
            .post(self.url(path))
            .bearer_auth(self.running.token())
            .json(body)
    }

    /// Rewrites `sellers.yaml` and waits for the watcher's next reload attempt.
    pub async fn rewrite_sellers(&self, text: &str) {
        let mut rx = self.running.sellers().subscribe();
        rx.borrow_and_update();
        std::fs::write(self.sellers_path(), text).expect("write sellers.yaml");
        tokio::time::timeout(HANG, rx.changed())
            .await
            .expect("the watcher reloads the edited file")
            .expect("watch channel open");
    }

    /// Calls `protocol`'s endpoint with a minimal request for `model`.
    pub async fn call(&self, protocol: Protocol, model: &str, stream: bool) -> reqwest::Response {
        self.post(
            &call_path(protocol, model, stream),
            &request_body(protocol, model, stream),
        )
        .send()
        .await
        .expect("request reaches TokenBuddy")
    }

    /// `GET /api/sellers`.
    pub async fn api_sellers(&self) -> Value {
        self.client
            .get(self.url("/api/sellers"))
            .bearer_auth(self.running.token())
            .send()
            .await
            .expect("api/sellers")
            .json()
            .await
            .expect("api/sellers json")
    }

    /// `GET path` with the access token, as JSON (any status).
    pub async fn api(&self, path: &str) -> Value {
        self.client
            .get(self.url(path))
            .bearer_auth(self.running.token())
            .send()
            .await
            .expect("the API answers")
            .json()
            .await
            .expect("the API answers JSON")
    }

    /// The request log, newest first, once every finished request is written.
    pub async fn rows(&self) -> Vec<Value> {
        tokio::time::timeout(HANG, self.running.store().flush())
            .await
            .expect("the store writes");
        let page = self.api("/api/requests?limit=500").await;
        page["requests"]
            .as_array()
            .cloned()
            .unwrap_or_else(|| panic!("no requests in {page}"))
    }

    /// The stats object of seller `id` from `/api/sellers`.
    pub async fn stats(&self, id: &str) -> Value {
        seller_stats(&self.api_sellers().await, id)
    }
}

/// The stats object of seller `id` in an `/api/sellers` answer.
pub fn seller_stats(all: &Value, id: &str) -> Value {
    all["sellers"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["id"] == id))
        .map(|s| s["stats"].clone())
        .unwrap_or_else(|| panic!("no seller {id} in {all}"))
}

/// Which seller answered (TokenBuddy's `x-tokenbuddy-seller` header).
pub fn seller_of(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("x-tokenbuddy-seller")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// A minimal request body for `protocol`.
pub fn request_body(protocol: Protocol, model: &str, stream: bool) -> Value {
    match protocol {
        Protocol::OpenAiChat => json!({
            "model": model, "stream": stream,
            "stream_options": if stream { json!({"include_usage": true}) } else { Value::Null },
            "messages": [{"role": "user", "content": "Say hello"}],
        }),
        Protocol::OpenAiResponses => {
            json!({"model": model, "stream": stream, "input": "Say hello"})
        }
        Protocol::AnthropicMessages => json!({
            "model": model, "stream": stream, "max_tokens": 64,
            "messages": [{"role": "user", "content": "Say hello"}],
        }),
        // Gemini names the model and the stream in the path (see `gemini_path`).
        Protocol::Gemini => {
            json!({"contents": [{"role": "user", "parts": [{"text": "Say hello"}]}]})
        }
    }
}

/// The path a call of `protocol` for `model` goes to (Gemini's names both).
pub fn call_path(protocol: Protocol, model: &str, stream: bool) -> String {
    match protocol {
        Protocol::Gemini => gemini_path(model, stream),
        _ => protocol.path().to_string(),
    }
}

/// The path of a Gemini call for `model` (`stream`: `:streamGenerateContent?alt=sse`).
pub fn gemini_path(model: &str, stream: bool) -> String {
    let action = if stream {
        "streamGenerateContent"
    } else {
        "generateContent"
    };
    Protocol::gemini_path(model, action)
}

/// Reads a whole streamed body; panics on a hang.
pub async fn read_all(resp: reqwest::Response) -> Vec<u8> {
    tokio::time::timeout(HANG, async {
        let mut out = Vec::new();
        let mut body = resp.bytes_stream();
        while let Some(chunk) = body.next().await {
            match chunk {
                Ok(c) => out.extend_from_slice(&c),
                Err(_) => break,
            }
        }
        out
    })
    .await
    .expect("body did not end: the stream hung")
}

/// Reads `body` into `received` until it holds `protocol`'s first semantic
/// event (the commit point has passed); panics if the stream ends, breaks
/// or hangs first.
pub async fn read_to_first_delta<S, B>(protocol: Protocol, body: &mut S, received: &mut Vec<u8>)
where
    S: Stream<Item = reqwest::Result<B>> + Unpin,
    B: AsRef<[u8]>,
{
    tokio::time::timeout(HANG, async {
        while !events(protocol, received).iter().any(|e| e.semantic) {
            let chunk = body.next().await.expect("stream open").expect("chunk");
            received.extend_from_slice(chunk.as_ref());
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{protocol}: no first delta in time"));
}

/// The meter's reading of every event in `bytes`.
pub fn events(protocol: Protocol, bytes: &[u8]) -> Vec<EventInfo> {
    let mut out = Vec::new();
    SseSplitter::new().push(bytes, |e| {
        out.push(event::inspect(protocol, e.event, e.data))
    });
    out
}
