//! `GET /metrics`: Prometheus counters and histograms fed by every
//! finished request (the same records the request log keeps), in the
//! OpenMetrics text format that Prometheus scrapes.
//!
//! Labels stay bounded: a model is labelled only when a seller was tried
//! for it (a client cannot mint series by asking for made-up models), the
//! agent comes from a fixed table, the outcome from the outcome table.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::store::record::RequestRecord;

/// The model label of a request no seller was tried for.
const UNROUTED: &str = "unrouted";
/// The seller label of a request no seller was tried for.
const NO_SELLER: &str = "none";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    seller: String,
    model: String,
    agent: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TokenLabels {
    seller: String,
    model: String,
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SellerModel {
    seller: String,
    model: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AttemptLabels {
    seller: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SellerLabel {
    seller: String,
}

type Histograms = Family<SellerLabel, Histogram, fn() -> Histogram>;

fn ttft_buckets() -> Histogram {
    // 50 ms … ~100 s.
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.05, 2.0, 12,
    ))
}

fn throughput_buckets() -> Histogram {
    // 2 … ~4000 tokens/s.
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        2.0, 2.0, 12,
    ))
}

fn duration_buckets() -> Histogram {
    // 100 ms … ~30 min.
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.1, 2.0, 15,
    ))
}

/// Every metric TokenBuddy exports.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    failures: Family<AttemptLabels, Counter>,
    tokens: Family<TokenLabels, Counter>,
    cost: Family<SellerModel, Counter<f64, AtomicU64>>,
    unpriced: Family<SellerModel, Counter>,
    ttft: Histograms,
    throughput: Histograms,
    duration: Histograms,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// The registered metrics, all at zero.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "tokenbuddy_requests",
            "Client requests by the seller that answered (or was tried last), model, agent and outcome",
            requests.clone(),
        );
        let failures = Family::<AttemptLabels, Counter>::default();
        registry.register(
            "tokenbuddy_seller_failures",
            "Attempts a seller failed, by the outcome table's name for how",
            failures.clone(),
        );
        let tokens = Family::<TokenLabels, Counter>::default();
        registry.register(
            "tokenbuddy_tokens",
            "Tokens the sellers reported, by kind: input (uncached), output, cache_read, cache_write",
            tokens.clone(),
        );
        let cost = Family::<SellerModel, Counter<f64, AtomicU64>>::default();
        registry.register(
            "tokenbuddy_cost",
            "Cost of requests with a known price, in the sellers file's currency",
            cost.clone(),
        );
        let unpriced = Family::<SellerModel, Counter>::default();
        registry.register(
            "tokenbuddy_unpriced_requests",
            "Answered requests whose cost is unknown (no price for the model)",
            unpriced.clone(),
        );
        let ttft: Histograms = Family::new_with_constructor(ttft_buckets);
        registry.register_with_unit(
            "tokenbuddy_ttft",
            "Time from sending to a seller to its first token",
            Unit::Seconds,
            ttft.clone(),
        );
        let throughput: Histograms = Family::new_with_constructor(throughput_buckets);
        registry.register(
            "tokenbuddy_output_tokens_per_second",
            "Output tokens per second while a seller was generating",
            throughput.clone(),
        );
        let duration: Histograms = Family::new_with_constructor(duration_buckets);
        registry.register_with_unit(
            "tokenbuddy_request_duration",
            "Time from a request's arrival to the end of its answer",
            Unit::Seconds,
            duration.clone(),
        );
        Metrics {
            registry,
            requests,
            failures,
            tokens,
            cost,
            unpriced,
            ttft,
            throughput,
            duration,
        }
    }

    /// Counts one finished request.
    pub fn observe(&self, r: &RequestRecord) {
        let seller = r.seller.as_deref().unwrap_or(NO_SELLER);
        let model = match r.seller {
            Some(_) => r.model_asked.as_str(),
            None => UNROUTED,
        };
        self.requests
            .get_or_create(&RequestLabels {
                seller: seller.to_string(),
                model: model.to_string(),
                agent: r.agent.clone(),
                outcome: r.outcome.as_str(),
            })
            .inc();
        for a in r
            .attempts
            .iter()
            .filter(|a| a.why.is_some() && a.outcome != "full")
        {
            self.failures
                .get_or_create(&AttemptLabels {
                    seller: a.seller.clone(),
                    outcome: a.outcome.clone(),
                })
                .inc();
        }
        let by_seller = SellerLabel {
            seller: seller.to_string(),
        };
        self.duration
            .get_or_create(&by_seller)
            .observe(r.duration_ms / 1000.0);
        let Some(seller) = &r.seller else {
            return;
        };
        if r.model_sent.is_none() {
            return;
        }
        let u = &r.usage;
        for (kind, n) in [
            ("input", u.input),
            ("output", u.output),
            ("cache_read", u.cache_read),
            ("cache_write", u.cache_write),
        ] {
            if let Some(n) = n.filter(|n| *n > 0) {
                self.tokens
                    .get_or_create(&TokenLabels {
                        seller: seller.clone(),
                        model: model.to_string(),
                        kind,
                    })
                    .inc_by(n);
            }
        }
        let pair = SellerModel {
            seller: seller.clone(),
            model: model.to_string(),
        };
        match r.cost {
            Some(c) => {
                self.cost.get_or_create(&pair).inc_by(c);
            }
            None => {
                self.unpriced.get_or_create(&pair).inc();
            }
        }
        if let Some(t) = r.ttft_ms {
            self.ttft.get_or_create(&by_seller).observe(t / 1000.0);
        }
        if let Some(tps) = r.tokens_per_sec {
            self.throughput.get_or_create(&by_seller).observe(tps);
        }
    }

    /// The metrics in the OpenMetrics text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// `GET /metrics` (layered under the token check by the server).
pub fn router(metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(metrics)
}

async fn scrape(State(m): State<Arc<Metrics>>) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        m.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Protocol, Usage};
    use crate::proxy::outcome::OutcomeClass;
    use crate::store::record::Attempt;

    fn record(seller: Option<&str>, outcome: OutcomeClass) -> RequestRecord {
        RequestRecord {
            at_ms: 0,
            agent: "codex".into(),
            protocol: Protocol::OpenAiResponses,
            endpoint: "/v1/responses".into(),
            model_asked: "made-up".into(),
            model_sent: seller.map(|_| "gpt-5".into()),
            stream: true,
            seller: seller.map(Into::into),
            status: 200,
            outcome,
            ttft_ms: Some(250.0),
            duration_ms: 1500.0,
            generating_ms: Some(1000.0),
            usage: Usage {
                input: Some(100),
                output: Some(40),
                cache_read: Some(10),
                cache_write: None,
            },
            tokens_per_sec: Some(40.0),
            cost: Some(0.25),
            attempts: vec![
                Attempt {
                    seller: "a".into(),
                    outcome: "status".into(),
                    status: Some(503),
                    why: Some("HTTP 503".into()),
                    via: None,
                },
                Attempt {
                    seller: "b".into(),
                    outcome: "served".into(),
                    status: Some(200),
                    why: None,
                    via: None,
                },
            ],
        }
    }

    #[test]
    fn requests_tokens_cost_and_histograms_are_exported() {
        let m = Metrics::new();
        m.observe(&record(Some("b"), OutcomeClass::Served));
        m.observe(&record(Some("b"), OutcomeClass::Served));
        let mut unrouted = record(None, OutcomeClass::NoSeller);
        unrouted.attempts.clear();
        m.observe(&unrouted);
        let text = m.render();
        for line in [
            r#"tokenbuddy_requests_total{seller="b",model="made-up",agent="codex",outcome="served"} 2"#,
            r#"tokenbuddy_requests_total{seller="none",model="unrouted",agent="codex",outcome="noSeller"} 1"#,
            r#"tokenbuddy_seller_failures_total{seller="a",outcome="status"} 2"#,
            r#"tokenbuddy_tokens_total{seller="b",model="made-up",kind="input"} 200"#,
            r#"tokenbuddy_tokens_total{seller="b",model="made-up",kind="cache_read"} 20"#,
            r#"tokenbuddy_cost_total{seller="b",model="made-up"} 0.5"#,
            r#"tokenbuddy_ttft_seconds_count{seller="b"} 2"#,
            r#"tokenbuddy_output_tokens_per_second_count{seller="b"} 2"#,
            "# TYPE tokenbuddy_ttft_seconds histogram",
            "# EOF",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
        assert!(
            !text.contains(r#"kind="cache_write""#),
            "zero counts are not series"
        );
    }
}
