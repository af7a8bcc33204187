//! Prewarm: a cheap, jittered `GET /v1/models` to every seller now and then
//! (never a paid completion). It keeps a warm connection in the pool, so the
//! next real request skips the TCP and TLS handshakes, and it notices a seller
//! that went down before an agent does. A probe that cannot reach a seller
//! counts as a health failure unless a live request succeeded since (the
//! newer, live result wins); a reachable seller is only noted, never judged
//! healthy on a probe alone. A successful probe's body (bounded) feeds the
//! model index (`pool/models.rs`); a failed one leaves the last list.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderValue};
use tokio::task::JoinHandle;

use super::outcome::{classify, Outcome};
use super::Proxy;
use crate::pool::{capacity, models};
use crate::pool::{Penalty, ProbeOutcome};
use crate::protocol::Protocol;
use crate::sellers::Seller;

/// Longest a probe may take, its body included.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest `/v1/models` body read; a longer one is not learned from.
pub const MAX_LIST_BYTES: usize = 1 << 20;

/// Asked of Anthropic-only sellers, whose list is paged (20 by default, 1000 at most).
const ANTHROPIC_LIST_LIMIT: &str = "1000";

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
    let key = seller.api_key.expose();
    // A Gemini-only seller lists its models at `/v1beta/models`, keyed by
    // `x-goog-api-key` (a bearer there is taken for an OAuth token).
    let gemini =
        !seller.protocols.is_empty() && seller.protocols.iter().all(|p| *p == Protocol::Gemini);
    let path = if gemini {
        "/v1beta/models"
    } else {
        "/v1/models"
    };
    let mut request = proxy.client.get(seller.url(path));
    let openai = seller
        .protocols
        .iter()
        .any(|p| !matches!(p, Protocol::AnthropicMessages | Protocol::Gemini));
    if gemini {
        if let Ok(v) = HeaderValue::from_str(key) {
            request = request.header("x-goog-api-key", v);
        }
    } else if openai {
        request = request.bearer_auth(key);
    } else {
        request = request.query(&[("limit", ANTHROPIC_LIST_LIMIT)]);
        if let Ok(v) = HeaderValue::from_str(key) {
            request = request
                .header("x-api-key", v)
                .header("anthropic-version", "2023-06-01");
        }
    }
    let request = request.header(header::ACCEPT, "application/json");
    let started = proxy.clock.now();
    let deadline = tokio::time::Instant::now() + PROBE_TIMEOUT;
    let mut listed = None;
    let outcome = match tokio::time::timeout_at(deadline, request.send()).await {
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
                _ => {
                    listed = resp.status().is_success().then_some(resp);
                    ProbeOutcome {
                        error: None,
                        penalty: Penalty::None,
                    }
                }
            }
        }
    };
    let stats = proxy.pool.stats(&seller.id);
    stats.record_probe(&outcome, started, proxy.clock.now(), proxy.clock.wall());
    if let Some(error) = &outcome.error {
        tracing::debug!(seller = %seller.id, error, "probe failed");
    }
    // After the record: the probe's latency is its answer's, not the list's.
    if let Some(resp) = listed {
        learn(proxy, &seller, resp, deadline).await;
    }
}

/// Reads the model list of a probe's answer into the index; a body that is
/// too long, too slow or not a list leaves the last one.
async fn learn(
    proxy: &Proxy,
    seller: &Seller,
    resp: reqwest::Response,
    deadline: tokio::time::Instant,
) {
    let body = match tokio::time::timeout_at(deadline, read_bounded(resp, MAX_LIST_BYTES)).await {
        Ok(Ok(body)) => body,
        Ok(Err(why)) => {
            tracing::debug!(seller = %seller.id, why, "model list not read");
            return;
        }
        Err(_) => {
            tracing::debug!(seller = %seller.id, "model list not read in time");
            return;
        }
    };
    match models::parse_list(&body) {
        Ok(list) => {
            proxy
                .pool
                .models()
                .learn(&seller.id, &seller.base_url, list, proxy.clock.wall());
        }
        Err(e) => tracing::debug!(seller = %seller.id, error = %e, "model list not learned"),
    }
}

/// The body, if it ends within `max` bytes.
async fn read_bounded(mut resp: reqwest::Response, max: usize) -> Result<Vec<u8>, String> {
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return Err(format!("longer than {max} bytes"));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| format!("body failed ({e})"))?
    {
        if body.len() + chunk.len() > max {
            return Err(format!("longer than {max} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn failed(outcome: Outcome, error: String) -> ProbeOutcome {
    ProbeOutcome {
        error: Some(error),
        penalty: classify(outcome).penalty,
    }
}
