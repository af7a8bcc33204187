//! A seller's live statistics as the API shows them: the pool keeps the
//! numbers ([`StatsSnapshot`]), this is their `/api` shape (camelCase, the
//! circuit as a named state), described in the OpenAPI document.

use serde::Serialize;
use utoipa::ToSchema;

use crate::pool::{CooldownUntil, ProbeRecord, StatsSnapshot};

/// A seller's live statistics.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Stats)]
pub struct StatsView {
    /// Attempts sent to this seller.
    pub requests: u64,
    /// Attempts that failed (connect, timeout, 429, 5xx, broken stream…).
    pub errors: u64,
    /// Requests running now.
    pub in_flight: u32,
    /// Requests waiting for a free slot (at `max_concurrency`).
    pub waiting: u32,
    /// Output tokens served in total.
    pub output_tokens: u64,
    /// TTFT of the latest stream, in ms.
    pub ttft_last_ms: Option<f64>,
    /// Time-decayed mean TTFT, in ms.
    pub ttft_ewma_ms: Option<f64>,
    /// Output tokens/s over the last 10 minutes.
    pub tokens_per_sec: Option<f64>,
    /// Why the seller is out of rotation now, and until when.
    pub cooldown: Option<CooldownView>,
    /// The circuit breaker's state.
    pub circuit: Circuit,
    /// Time-decayed error rate, 0–1.
    pub error_rate: f64,
    /// The latest failure, for display.
    pub last_error: Option<String>,
    /// The latest background probe.
    pub probe: Option<ProbeView>,
}

/// A circuit breaker's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Circuit {
    /// Requests flow.
    Closed,
    /// Nothing is sent until the cooldown ends.
    Open,
    /// One trial request decides.
    HalfOpen,
}

/// Why a seller is out of rotation, and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Cooldown)]
pub struct CooldownView {
    /// Why.
    pub cause: String,
    /// Until when, in ms since the Unix epoch.
    pub until_ms: u64,
}

/// The latest background probe.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Probe)]
pub struct ProbeView {
    /// The seller answered.
    pub ok: bool,
    /// Round trip, in ms.
    pub latency_ms: f64,
    /// When, in ms since the Unix epoch.
    pub at_ms: u64,
    /// What went wrong.
    pub error: Option<String>,
}

impl From<StatsSnapshot> for StatsView {
    fn from(s: StatsSnapshot) -> Self {
        StatsView {
            requests: s.requests,
            errors: s.errors,
            in_flight: s.in_flight,
            waiting: s.waiting,
            output_tokens: s.output_tokens,
            ttft_last_ms: s.ttft_last_ms,
            ttft_ewma_ms: s.ttft_ewma_ms,
            tokens_per_sec: s.tokens_per_sec,
            cooldown: s.cooldown.map(CooldownView::from),
            circuit: match s.circuit {
                "open" => Circuit::Open,
                "half-open" => Circuit::HalfOpen,
                _ => Circuit::Closed,
            },
            error_rate: s.error_rate,
            last_error: s.last_error,
            probe: s.probe.map(ProbeView::from),
        }
    }
}

impl From<CooldownUntil> for CooldownView {
    fn from(c: CooldownUntil) -> Self {
        CooldownView {
            cause: c.cause,
            until_ms: c.until_ms,
        }
    }
}

impl From<ProbeRecord> for ProbeView {
    fn from(p: ProbeRecord) -> Self {
        ProbeView {
            ok: p.ok,
            latency_ms: p.latency_ms,
            at_ms: p.at_ms,
            error: p.error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_circuit_is_named_as_the_pool_names_it() {
        let snapshot = |circuit| StatsSnapshot {
            requests: 0,
            errors: 0,
            in_flight: 0,
            waiting: 0,
            output_tokens: 0,
            ttft_last_ms: None,
            ttft_ewma_ms: None,
            tokens_per_sec: None,
            cooldown: None,
            circuit,
            error_rate: 0.0,
            last_error: None,
            probe: None,
        };
        for name in ["closed", "open", "half-open"] {
            let view = StatsView::from(snapshot(name));
            assert_eq!(serde_json::to_value(view.circuit).unwrap(), name);
        }
    }
}
