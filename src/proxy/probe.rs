//! Prewarm: a cheap, jittered `GET /v1/models` to every seller now and then
//! (never a paid completion). It keeps a warm connection in the pool, so the
//! next real request skips the TCP and TLS handshakes, and it notices a seller
//! that went down before an agent does. A probe that cannot reach a seller
//! counts as a health failure unless a live request succeeded since (the
//! newer, live result wins); a reachable seller is only noted, never judged
//! healthy on a probe alone.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderValue};
use tokio::task::JoinHandle;

use super::outcome::{classify, Outcome};
use super::Proxy;
use crate::pool::capacity;
use crate::pool::{Penalty, ProbeOutcome};
use crate::protocol::Protocol;
use crate::sellers::Seller;

/// Longest a probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Probes every seller about every `interval` (±20 %), until shutdown.
pub fn spawn(proxy: Proxy, interval: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        // The first round soon after start, to warm the connections.
        let mut wait = interval.mul_f64(0.05 * proxy.scheduler.roll());
        loop {
            tokio::select! {
                () = proxy.shutdown.cancelled() => return,
                () = tokio::time::sleep(wait) => {}
            }
            let set = proxy.sellers.snapshot();
            let probes = set.sellers.iter().map(|s| probe(&proxy, Arc::clone(s)));
            futures_util::future::join_all(probes).await;
            wait = interval.mul_f64(0.8 + 0.4 * proxy.scheduler.roll());
        }
    })
}

/// Probes one seller and records what it found.
async fn probe(proxy: &Proxy, seller: Arc<Seller>) {
    let mut request = proxy.client.get(seller.url("/v1/models"));
    let key = seller.api_key.expose();
    let openai = seller
        .protocols
        .iter()
        .any(|p| *p != Protocol::AnthropicMessages);
    if openai {
        request = request.bearer_auth(key);
    } else if let Ok(v) = HeaderValue::from_str(key) {
        request = request
            .header("x-api-key", v)
            .header("anthropic-version", "2023-06-01");
    }
    let request = request.header(header::ACCEPT, "application/json");
    let started = proxy.clock.now();
    let outcome = match tokio::time::timeout(PROBE_TIMEOUT, request.send()).await {
        Err(_) => failed(Outcome::Timeout, "no answer in time".into()),
        Ok(Err(e)) if e.is_connect() => failed(Outcome::Connect, "cannot connect".into()),
        Ok(Err(e)) => failed(Outcome::Connect, format!("request failed ({e})")),
        Ok(Ok(resp)) => {
            let code = resp.status().as_u16();
            let status = Outcome::Status {
                code,
                retry_after: capacity::hinted_block(resp.headers(), proxy.clock.wall()),
            };
            // Any answer means reachable; only what the error table holds
            // against a seller (bad key, no credit, overload) counts.
            match code {
                401..=403 | 429 | 500..=599 => failed(status, format!("HTTP {code}")),
                _ => ProbeOutcome {
                    error: None,
                    penalty: Penalty::None,
                },
            }
        }
    };
    let stats = proxy.pool.stats(&seller.id);
    stats.record_probe(&outcome, started, proxy.clock.now(), proxy.clock.wall());
    if let Some(error) = &outcome.error {
        tracing::debug!(seller = %seller.id, error, "probe failed");
    }
}

fn failed(outcome: Outcome, error: String) -> ProbeOutcome {
    ProbeOutcome {
        error: Some(error),
        penalty: classify(outcome).penalty,
    }
}
