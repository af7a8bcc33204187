//! What the request log says of one client request, gathered as it goes:
//! what is known at arrival (time, agent, protocol, endpoint, model), the
//! sellers tried (the failover trail) and, at the end, how it went. Pure:
//! the measurements come in as arguments and a [`RequestRecord`] comes out;
//! the proxy hands it to a [`RecordSink`] (the store, `/metrics`).

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::failover::Failure;
use super::outcome::OutcomeClass;
use crate::pool::Sample;
use crate::protocol::{Protocol, Usage};
use crate::sellers::Seller;
use crate::store::record::{Attempt, RequestRecord};

/// Where finished records go; called once per request, never blocking.
pub type RecordSink = Arc<dyn Fn(RequestRecord) + Send + Sync>;

/// One request as far as it has come.
#[derive(Debug, Clone)]
pub struct Journey {
    at_ms: i64,
    arrived: Instant,
    agent: &'static str,
    protocol: Protocol,
    endpoint: &'static str,
    model_asked: String,
    stream: bool,
}

/// The answer a seller gave, as measured when its body ended.
#[derive(Debug)]
pub struct Answered<'a> {
    /// The seller that answered.
    pub seller: &'a Seller,
    /// The model name it was sent.
    pub model_sent: &'a str,
    /// The translation it was reached through, if any.
    pub via: Option<crate::translate::Via>,
    /// The HTTP status passed to the client.
    pub status: u16,
    /// How it ended.
    pub outcome: OutcomeClass,
    /// What the meter measured from sending to this seller.
    pub sample: Sample,
    /// The tokens the seller reported.
    pub usage: Usage,
    /// What it cost (`None`: a price is unknown).
    pub cost: Option<f64>,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl Journey {
    /// A request that arrived at `arrived` (`wall` on the calendar).
    pub fn begin(
        arrived: Instant,
        wall: SystemTime,
        agent: &'static str,
        protocol: Protocol,
        endpoint: &'static str,
    ) -> Self {
        Journey {
            at_ms: wall
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0),
            arrived,
            agent,
            protocol,
            endpoint,
            model_asked: String::new(),
            stream: false,
        }
    }

    /// What the body asked for, once it was read.
    pub fn asked(&mut self, model: &str, stream: bool) {
        self.model_asked = model.to_string();
        self.stream = stream;
    }

    /// The model the client asked for.
    pub fn model_asked(&self) -> &str {
        &self.model_asked
    }

    fn record(&self, status: u16, outcome: OutcomeClass, now: Instant) -> RequestRecord {
        RequestRecord {
            at_ms: self.at_ms,
            agent: self.agent.to_string(),
            protocol: self.protocol,
            endpoint: self.endpoint.to_string(),
            model_asked: self.model_asked.clone(),
            model_sent: None,
            stream: self.stream,
            seller: None,
            status,
            outcome,
            ttft_ms: None,
            duration_ms: ms(now.saturating_duration_since(self.arrived)),
            generating_ms: None,
            usage: Usage::default(),
            tokens_per_sec: None,
            cost: None,
            attempts: Vec::new(),
        }
    }

    /// The request ended without an answer from any seller: `trail` holds
    /// those tried (the last one is the row's seller).
    pub fn unanswered(
        &self,
        status: u16,
        outcome: OutcomeClass,
        trail: &[Failure],
        now: Instant,
    ) -> RequestRecord {
        let mut r = self.record(status, outcome, now);
        r.attempts = attempts(trail);
        r.seller = trail.last().map(|f| f.seller.clone());
        r
    }

    /// A seller answered after `trail` failed; its body has ended at `now`.
    pub fn answered(&self, trail: &[Failure], a: Answered<'_>, now: Instant) -> RequestRecord {
        let mut r = self.record(a.status, a.outcome, now);
        let mut tried = attempts(trail);
        tried.push(Attempt {
            seller: a.seller.id.to_string(),
            outcome: "served".to_string(),
            status: Some(a.status),
            why: None,
            via: a.via.map(|v| v.label()),
        });
        r.attempts = tried;
        r.seller = Some(a.seller.id.to_string());
        r.model_sent = Some(a.model_sent.to_string());
        r.ttft_ms = a.sample.ttft.map(ms);
        r.generating_ms = a.sample.generating.map(ms);
        // As the pool counts throughput: two tokens at least, over real time.
        r.tokens_per_sec = a
            .sample
            .output_tokens
            .zip(a.sample.generating)
            .filter(|(tokens, gen)| *tokens >= 2 && !gen.is_zero())
            .map(|(tokens, gen)| tokens as f64 / gen.as_secs_f64());
        r.usage = a.usage;
        r.cost = a.cost;
        r
    }
}

fn attempts(trail: &[Failure]) -> Vec<Attempt> {
    trail
        .iter()
        .map(|f| Attempt {
            seller: f.seller.clone(),
            outcome: f.outcome.to_string(),
            status: f.status,
            why: Some(f.why.clone()),
            via: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::fixtures::seller;

    fn failure(seller: &str, outcome: &'static str, status: Option<u16>) -> Failure {
        Failure {
            seller: seller.into(),
            why: format!("{outcome} at {seller}"),
            retry_after: None,
            rate_limited: false,
            outcome,
            status,
        }
    }

    fn journey() -> (Journey, Instant) {
        let t0 = Instant::now();
        let wall = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let mut j = Journey::begin(
            t0,
            wall,
            "codex",
            Protocol::OpenAiChat,
            "/v1/chat/completions",
        );
        j.asked("gpt-x", true);
        (j, t0)
    }

    #[test]
    fn an_answer_after_failover_lists_every_seller_in_order() {
        let (j, t0) = journey();
        let trail = [
            failure("a", "status", Some(503)),
            failure("b", "full", None),
        ];
        let c = seller("c", 1.0, None);
        let r = j.answered(
            &trail,
            Answered {
                seller: &c,
                model_sent: "up/gpt-x",
                via: None,
                status: 200,
                outcome: OutcomeClass::Served,
                sample: Sample {
                    ttft: Some(Duration::from_millis(120)),
                    output_tokens: Some(50),
                    generating: Some(Duration::from_millis(500)),
                },
                usage: Usage {
                    output: Some(50),
                    ..Usage::default()
                },
                cost: Some(0.01),
            },
            t0 + Duration::from_millis(900),
        );
        assert_eq!(r.at_ms, 1_700_000_000_123);
        assert_eq!(
            (r.agent.as_str(), r.model_asked.as_str()),
            ("codex", "gpt-x")
        );
        assert_eq!(r.model_sent.as_deref(), Some("up/gpt-x"));
        assert_eq!(r.seller.as_deref(), Some("c"));
        let tried: Vec<(&str, &str, Option<u16>)> = r
            .attempts
            .iter()
            .map(|a| (a.seller.as_str(), a.outcome.as_str(), a.status))
            .collect();
        assert_eq!(
            tried,
            [
                ("a", "status", Some(503)),
                ("b", "full", None),
                ("c", "served", Some(200))
            ]
        );
        assert_eq!(r.attempts[0].why.as_deref(), Some("status at a"));
        assert_eq!(r.attempts[2].why, None);
        assert_eq!((r.ttft_ms, r.duration_ms), (Some(120.0), 900.0));
        assert_eq!(r.tokens_per_sec, Some(100.0));
        assert!(r.stream && r.cost == Some(0.01));
    }

    #[test]
    fn no_answer_names_the_last_seller_tried_and_one_token_gives_no_rate() {
        let (j, t0) = journey();
        let r = j.unanswered(
            502,
            OutcomeClass::AllFailed,
            &[failure("a", "connect", None), failure("b", "timeout", None)],
            t0,
        );
        assert_eq!((r.seller.as_deref(), r.status), (Some("b"), 502));
        assert_eq!(r.attempts.len(), 2);
        assert!(r.model_sent.is_none() && r.ttft_ms.is_none());
        let c = seller("c", 1.0, None);
        let one = j.answered(
            &[],
            Answered {
                seller: &c,
                model_sent: "gpt-x",
                via: None,
                status: 200,
                outcome: OutcomeClass::Served,
                sample: Sample {
                    ttft: None,
                    output_tokens: Some(1),
                    generating: Some(Duration::from_millis(5)),
                },
                usage: Usage::default(),
                cost: None,
            },
            t0,
        );
        assert_eq!(one.tokens_per_sec, None);
        assert_eq!(one.cost, None);
    }
}
