//! Many concurrent streams through the real `tokenbuddy serve` (all three
//! protocols, a session each so they spread over the sellers) with two
//! simulated sellers behind it, and the process's descriptors sorted by what
//! they are. Shared by the load test (`tests/fault_load.rs`) and the soak
//! bench (`benches/fault_soak.rs`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::Value;
use tokenbuddy::protocol::Protocol;
use tokenbuddy::sim::{Behavior, SimSeller};

use super::process::Served;
use super::{events, request_body, seller_yaml, sellers_file, HANG};

/// Two simulated sellers, `a` and `b`, answering alike, and the real
/// `tokenbuddy serve` on a data dir of its own, routing to both.
pub struct TwoSellers {
    /// The process under load (stopped first when dropped).
    pub served: Served,
    /// Seller `a`.
    pub a: SimSeller,
    /// Seller `b`.
    pub b: SimSeller,
    /// Their ports, to tell connections to them apart.
    pub seller_ports: [u16; 2],
    _data: tempfile::TempDir,
}

impl TwoSellers {
    /// Starts both sellers with `behavior`, then the process.
    pub async fn start(behavior: Behavior) -> TwoSellers {
        let a = SimSeller::start(behavior.clone()).await.expect("sim a");
        let b = SimSeller::start(behavior).await.expect("sim b");
        let seller_ports = [a.addr().port(), b.addr().port()];
        let data = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            data.path().join("sellers.yaml"),
            sellers_file(&[
                seller_yaml("a", &a.base_url(), &Protocol::ALL),
                seller_yaml("b", &b.base_url(), &Protocol::ALL),
            ]),
        )
        .expect("sellers.yaml");
        let served = Served::start(data.path(), &[], &[]);
        TwoSellers {
            served,
            a,
            b,
            seller_ports,
            _data: data,
        }
    }
}

/// What one round of concurrent streams saw.
#[derive(Debug, Default)]
pub struct Round {
    /// Streams started.
    pub streams: usize,
    /// Every client-visible failure, described.
    pub errors: Vec<String>,
    /// Streams served per seller id.
    pub by_seller: BTreeMap<String, usize>,
    /// The most requests `/api/sellers` showed in flight at once.
    pub peak_in_flight: u64,
    /// Start of the first request to the end of the last stream.
    pub duration: Duration,
}

/// A seller's in-flight count from its `/api/sellers` stats.
pub fn in_flight(stats: &Value) -> Option<u64> {
    stats.get("inFlight").and_then(Value::as_u64)
}

/// The sum of every seller's in-flight count.
pub async fn total_in_flight(client: &reqwest::Client, served: &Served) -> u64 {
    let all: Value = client
        .get(served.url("/api/sellers"))
        .bearer_auth(&served.token)
        .send()
        .await
        .expect("GET /api/sellers")
        .json()
        .await
        .expect("/api/sellers is JSON");
    let sellers = all["sellers"].as_array().expect("a sellers list");
    sellers
        .iter()
        .map(|s| in_flight(&s["stats"]).unwrap_or_else(|| panic!("no in-flight count in {s}")))
        .sum()
}

/// Runs `streams` concurrent streams (named `tag-<i>`), each for `model`,
/// and waits for all of them to end.
pub async fn round(served: &Served, tag: &str, streams: usize, model: &str) -> Round {
    let client = reqwest::Client::new();
    let done = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let watcher = {
        let (client, done, peak) = (client.clone(), Arc::clone(&done), Arc::clone(&peak));
        let (url, token) = (served.url("/api/sellers"), served.token.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::Acquire) {
                if let Ok(resp) = client.get(&url).bearer_auth(&token).send().await {
                    if let Ok(all) = resp.json::<Value>().await {
                        let now: u64 = all["sellers"]
                            .as_array()
                            .map(|a| a.iter().filter_map(|s| in_flight(&s["stats"])).sum())
                            .unwrap_or(0);
                        peak.fetch_max(now, Ordering::AcqRel);
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let started = Instant::now();
    let tasks: Vec<_> = (0..streams)
        .map(|i| {
            let protocol = Protocol::ALL[i % Protocol::ALL.len()];
            let request = client
                .post(served.url(&super::call_path(protocol, model, true)))
                .bearer_auth(&served.token)
                .header("session_id", format!("{tag}-{i}"))
                .json(&request_body(protocol, model, true));
            tokio::spawn(async move { one_stream(protocol, request).await })
        })
        .collect();
    let mut out = Round {
        streams,
        ..Round::default()
    };
    for (i, task) in tasks.into_iter().enumerate() {
        match task.await {
            Ok(Ok(seller)) => *out.by_seller.entry(seller).or_default() += 1,
            Ok(Err(e)) => out.errors.push(format!("stream {i}: {e}")),
            Err(e) => out.errors.push(format!("stream {i}: task failed: {e}")),
        }
    }
    out.duration = started.elapsed();
    done.store(true, Ordering::Release);
    let _ = watcher.await;
    out.peak_in_flight = peak.load(Ordering::Acquire);
    out
}

/// One stream to its end; the seller that served it, or what went wrong.
async fn one_stream(
    protocol: Protocol,
    request: reqwest::RequestBuilder,
) -> Result<String, String> {
    let resp = tokio::time::timeout(HANG, request.send())
        .await
        .map_err(|_| "no response headers in time".to_string())?
        .map_err(|e| format!("request failed: {e}"))?;
    let status = resp.status();
    let seller = super::seller_of(&resp);
    let mut body = resp.bytes_stream();
    let mut bytes = Vec::new();
    let read = tokio::time::timeout(HANG, async {
        while let Some(chunk) = body.next().await {
            bytes.extend_from_slice(&chunk.map_err(|e| format!("body broke: {e}"))?);
        }
        Ok::<_, String>(())
    })
    .await;
    let text = || String::from_utf8_lossy(&bytes).into_owned();
    match read {
        Err(_) => return Err(format!("{protocol}: the stream hung")),
        Ok(Err(e)) => return Err(format!("{protocol}: {e}")),
        Ok(Ok(())) => {}
    }
    if !status.is_success() {
        return Err(format!("{protocol}: HTTP {status}: {}", text()));
    }
    let evs = events(protocol, &bytes);
    if evs.iter().any(|e| e.error) {
        return Err(format!("{protocol}: an error event: {}", text()));
    }
    if !evs.last().is_some_and(|e| e.terminal) {
        return Err(format!("{protocol}: no normal end: {}", text()));
    }
    Ok(seller)
}

/// The process's open descriptors, sorted by what they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Descriptors {
    /// Every open descriptor.
    pub total: usize,
    /// Connections from clients (to its port).
    pub clients: usize,
    /// Connections to the sellers (in flight or pooled).
    pub upstream: usize,
    /// Everything else: the listener, files, the runtime's own.
    pub other: usize,
}

impl Descriptors {
    /// Reads them now; `seller_ports` tells upstream connections apart.
    pub fn now(served: &Served, seller_ports: &[u16]) -> Descriptors {
        let sockets = served.tcp_sockets();
        let total = served.fds();
        let clients = super::process::client_sockets(served.port, &sockets);
        let upstream = sockets
            .iter()
            .filter(|s| seller_ports.contains(&s.remote_port))
            .count();
        Descriptors {
            total,
            clients,
            upstream,
            other: total.saturating_sub(clients + upstream),
        }
    }
}
