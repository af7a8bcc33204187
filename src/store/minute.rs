//! Per-seller, per-minute history from finished requests: what one batch
//! adds to each minute, and the TTFT p95 over the samples of a minute.
//!
//! A request counts in the minute it finished (`at_ms + duration_ms`), so
//! the writer sees minutes in order and holds the samples of only the last
//! few. A minute that an earlier process also wrote has its p95 recomputed
//! from this process's samples only (its mean and counts stay exact).

use std::collections::HashMap;

use super::record::{Attempt, RequestRecord};
use crate::proxy::outcome::OutcomeClass;

/// One minute in milliseconds.
pub const MINUTE_MS: i64 = 60_000;

/// How many minutes back the writer keeps TTFT samples for p95.
const SAMPLE_MINUTES: i64 = 3;

/// The start of the minute `ms` falls in.
pub fn minute_of(ms: i64) -> i64 {
    ms.div_euclid(MINUTE_MS) * MINUTE_MS
}

/// What a batch adds to one seller's minute.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MinuteDelta {
    /// Attempts sent to the seller (`full` ones were not sent).
    pub requests: u64,
    /// Attempts that failed, and served ones whose stream then broke.
    pub errors: u64,
    /// Sum of the TTFT samples.
    pub ttft_sum_ms: f64,
    /// Number of TTFT samples.
    pub ttft_count: u64,
    /// Output tokens of the answers the seller gave.
    pub output_tokens: u64,
    /// Output tokens of answers whose generating time is known (tokens/s numerator).
    pub rate_tokens: u64,
    /// Generating time of those answers.
    pub generating_ms: f64,
}

/// Whether an attempt counts as the seller's error in its history.
fn attempt_failed(a: &Attempt, is_last: bool, class: OutcomeClass) -> bool {
    match a.outcome.as_str() {
        "served" => class == OutcomeClass::StreamBroken,
        // TokenBuddy's own shutdown is no one's fault.
        "shutdown" => false,
        // The client's own mistake passed through: not the seller's error.
        _ if is_last && class == OutcomeClass::ClientError => false,
        _ => true,
    }
}

/// Per (seller, minute): what a batch adds, and the TTFT samples of the last few minutes.
#[derive(Debug, Default)]
pub struct MinuteBook {
    /// What the current batch adds (taken by [`MinuteBook::take_deltas`]).
    deltas: HashMap<(String, i64), MinuteDelta>,
    /// TTFT samples by (seller, minute), across batches.
    samples: HashMap<(String, i64), Vec<f64>>,
    newest_minute: i64,
}

impl MinuteBook {
    /// Adds one finished request.
    pub fn add(&mut self, r: &RequestRecord) {
        let end_ms = r.at_ms.saturating_add(r.duration_ms.max(0.0) as i64);
        let minute = minute_of(end_ms);
        self.newest_minute = self.newest_minute.max(minute);
        let last = r.attempts.len().saturating_sub(1);
        for (i, a) in r.attempts.iter().enumerate() {
            if a.outcome == "full" {
                continue;
            }
            let d = self.delta(&a.seller, minute);
            d.requests += 1;
            if attempt_failed(a, i == last, r.outcome) {
                d.errors += 1;
            }
        }
        let Some(seller) = r.seller.as_deref() else {
            return;
        };
        let output = r.usage.output.unwrap_or(0);
        let generating = r.generating_ms.filter(|g| *g > 0.0);
        let ttft = r.ttft_ms.filter(|t| t.is_finite() && *t >= 0.0);
        if ttft.is_none() && output == 0 {
            return;
        }
        let d = self.delta(seller, minute);
        d.output_tokens += output;
        if let (Some(g), Some(out)) = (generating, r.usage.output) {
            d.rate_tokens += out;
            d.generating_ms += g;
        }
        if let Some(t) = ttft {
            d.ttft_sum_ms += t;
            d.ttft_count += 1;
            self.samples
                .entry((seller.to_string(), minute))
                .or_default()
                .push(t);
        }
    }

    fn delta(&mut self, seller: &str, minute: i64) -> &mut MinuteDelta {
        let key = (seller.to_string(), minute);
        self.deltas.entry(key).or_default()
    }

    /// The batch's deltas, each with the p95 of its minute's samples so
    /// far; forgets samples of minutes too old to be written again.
    pub fn take_deltas(&mut self) -> Vec<(String, i64, MinuteDelta, Option<f64>)> {
        let out = self
            .deltas
            .drain()
            .map(|((seller, minute), d)| {
                let p = self
                    .samples
                    .get_mut(&(seller.clone(), minute))
                    .and_then(|s| p95(s));
                (seller, minute, d, p)
            })
            .collect();
        let keep_from = self.newest_minute - SAMPLE_MINUTES * MINUTE_MS;
        self.samples.retain(|(_, m), _| *m >= keep_from);
        out
    }
}

/// The 95th percentile by nearest rank (sorts `samples` in place).
pub fn p95(samples: &mut [f64]) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_by(f64::total_cmp);
    let rank = (samples.len() as f64 * 0.95).ceil() as usize;
    samples.get(rank.saturating_sub(1)).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Protocol, Usage};

    fn attempt(seller: &str, outcome: &str) -> Attempt {
        Attempt {
            seller: seller.into(),
            outcome: outcome.into(),
            status: None,
            why: None,
            via: None,
        }
    }

    fn record(at_ms: i64, attempts: Vec<Attempt>, class: OutcomeClass) -> RequestRecord {
        RequestRecord {
            at_ms,
            agent: "codex".into(),
            protocol: Protocol::OpenAiChat,
            endpoint: "/v1/chat/completions".into(),
            model_asked: "m".into(),
            model_sent: Some("m".into()),
            stream: true,
            seller: attempts.last().map(|a| a.seller.clone()),
            status: 200,
            outcome: class,
            ttft_ms: Some(100.0),
            duration_ms: 1000.0,
            generating_ms: Some(500.0),
            usage: Usage {
                output: Some(50),
                ..Usage::default()
            },
            tokens_per_sec: Some(100.0),
            cost: None,
            attempts,
        }
    }

    #[test]
    fn nearest_rank_p95() {
        let mut v: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        assert_eq!(p95(&mut v), Some(95.0));
        assert_eq!(p95(&mut [7.0]), Some(7.0));
        assert_eq!(p95(&mut []), None);
    }

    #[test]
    fn attempts_count_for_their_sellers() {
        let mut b = MinuteBook::default();
        b.add(&record(
            0,
            vec![
                attempt("a", "connect"),
                attempt("x", "full"),
                attempt("b", "served"),
            ],
            OutcomeClass::Served,
        ));
        b.add(&record(
            1_000,
            vec![attempt("b", "served")],
            OutcomeClass::StreamBroken,
        ));
        let mut d = b.take_deltas();
        d.sort_by(|x, y| x.0.cmp(&y.0));
        assert_eq!(d.len(), 2, "the full seller was never sent to: {d:?}");
        let (a, b_) = (&d[0], &d[1]);
        assert_eq!((a.2.requests, a.2.errors, a.2.ttft_count), (1, 1, 0));
        assert_eq!((b_.2.requests, b_.2.errors, b_.2.ttft_count), (2, 1, 2));
        assert_eq!(
            (b_.2.output_tokens, b_.2.rate_tokens, b_.2.generating_ms),
            (100, 100, 1000.0)
        );
        assert_eq!(b_.3, Some(100.0));
    }

    #[test]
    fn p95_spans_batches_of_one_minute() {
        let mut b = MinuteBook::default();
        for t in 1..=19 {
            let mut r = record(0, vec![attempt("a", "served")], OutcomeClass::Served);
            r.ttft_ms = Some(f64::from(t));
            b.add(&r);
        }
        b.take_deltas();
        let mut r = record(0, vec![attempt("a", "served")], OutcomeClass::Served);
        r.ttft_ms = Some(1000.0);
        b.add(&r);
        let d = b.take_deltas();
        assert_eq!(d[0].2.ttft_count, 1, "deltas are per batch");
        // Nearest rank of 20 is the 19th: 19 when the first batch's samples
        // count, 1000 if only this batch's did.
        assert_eq!(d[0].3, Some(19.0), "p95 over all 20 samples of the minute");
        // A much later minute forgets the old samples.
        b.add(&record(
            10 * MINUTE_MS,
            vec![attempt("a", "served")],
            OutcomeClass::Served,
        ));
        b.take_deltas();
        assert!(b.samples.keys().all(|(_, m)| *m >= 9 * MINUTE_MS));
    }

    #[test]
    fn a_passed_through_client_error_is_not_the_sellers() {
        let mut b = MinuteBook::default();
        let mut r = record(0, vec![attempt("a", "status")], OutcomeClass::ClientError);
        r.ttft_ms = None;
        b.add(&r);
        let d = b.take_deltas();
        assert_eq!((d[0].2.requests, d[0].2.errors), (1, 0));
    }
}
