//! One request's way through its plan: which seller to try next, whether
//! there is still time, what a failed try does to that seller, and the trail
//! of why each seller was left.
//!
//! Pure — no sockets, no clock reads: the caller sends (or, in the market
//! simulation, simulates) each try and reports how it went; this decides.
//! The proxy (`forward.rs`) and `tests/market.rs` drive this same piece, so
//! the simulation measures the real failover loop, not a copy of it.
//!
//! A failed try goes through the one outcome table (`outcome.rs`): it says
//! whether the request may move on and what the seller's statistics take.
//! A seller that was merely full is moved past without a mark against it.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::outcome::{classify, Outcome, Penalty, Verdict};
use crate::pool::{Pool, SellerStats};
use crate::scheduler::walk::{Step, Walk};
use crate::scheduler::{Decision, Scheduler};
use crate::sellers::Seller;

/// One seller that did not serve the request, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The seller's id.
    pub seller: String,
    /// Why it was left, in words.
    pub why: String,
    /// How long the seller asked us to wait, if it said.
    pub retry_after: Option<Duration>,
    /// It answered 429.
    pub rate_limited: bool,
    /// The outcome's name in the attempt trail (`full`, or [`Outcome::name`]).
    pub outcome: &'static str,
    /// The seller's HTTP status, when it answered with one.
    pub status: Option<u16>,
}

/// The next try: a seller of the plan, and how to treat it.
#[derive(Debug, Clone)]
pub struct Try {
    /// The seller.
    pub seller: Arc<Seller>,
    /// Its statistics.
    pub stats: Arc<SellerStats>,
    /// Where the walk is: `last` (never cut off by the TTFT limit) and
    /// `last_resort` (wait briefly for a slot if it is full).
    pub step: Step,
    /// The translation that reaches it, when it does not speak the client's protocol.
    pub via: Option<crate::translate::Via>,
}

/// Whether `seller` takes a request at `now`: not at its concurrency limit,
/// and its circuit and blocks let it (a half-open circuit admits one trial).
pub fn admits(seller: &Seller, stats: &SellerStats, now: Instant) -> bool {
    let full = seller
        .max_concurrency
        .is_some_and(|max| stats.in_flight() >= max);
    !full && stats.admit(now)
}

/// The failover state of one request over its plan.
#[derive(Debug)]
pub struct Failover<'d> {
    decision: &'d Decision,
    walk: Walk,
    started: Instant,
    budget: Duration,
    trail: Vec<Failure>,
}

impl<'d> Failover<'d> {
    /// Starts walking `decision`'s plan; the request began at `started` and
    /// may spend `budget` failing over before the client is told.
    pub fn new(decision: &'d Decision, started: Instant, budget: Duration) -> Self {
        Failover {
            decision,
            walk: Walk::new(decision.plan.ranked.len()),
            started,
            budget,
            trail: Vec::new(),
        }
    }

    /// The next seller to try at `now`, or `None` when the plan is used up
    /// or, after a failure, the failover budget is spent (a clear error now
    /// beats a hung agent).
    pub fn next(&mut self, pool: &Pool, now: Instant) -> Option<Try> {
        if !self.trail.is_empty() && now.saturating_duration_since(self.started) > self.budget {
            return None;
        }
        let ranked = &self.decision.plan.ranked;
        let step = self.walk.next(|i| {
            let seller = &ranked[i].seller;
            admits(seller, &pool.stats(&seller.id), now)
        })?;
        let seller = Arc::clone(&ranked[step.index].seller);
        let stats = pool.stats(&seller.id);
        Some(Try {
            seller,
            stats,
            step,
            via: ranked[step.index].via,
        })
    }

    /// The try could not start: the seller was at its `max_concurrency`
    /// (not its fault; nothing is recorded against it).
    pub fn full(&mut self, at: &Try) {
        self.trail.push(Failure {
            seller: at.seller.id.to_string(),
            why: "at its max_concurrency".to_string(),
            retry_after: None,
            rate_limited: false,
            outcome: "full",
            status: None,
        });
    }

    /// The try failed with `outcome` (`why` in words): the outcome table
    /// decides what the seller takes (nothing, for our own shutdown) and
    /// whether the request may go on; the failure joins the trail and is
    /// returned with the verdict.
    pub fn failed(
        &mut self,
        at: &Try,
        outcome: Outcome,
        why: String,
        now: Instant,
        wall: SystemTime,
    ) -> (Verdict, &Failure) {
        let verdict = classify(outcome);
        let why = match (outcome, verdict.penalty) {
            (Outcome::Status { .. }, Penalty::Block(d)) => {
                format!("{why} (out for {} s)", d.as_secs().max(1))
            }
            _ => why,
        };
        verdict.charge(&at.stats, &why, now, wall);
        let (retry_after, rate_limited, status) = match outcome {
            Outcome::Status { code, retry_after } => (retry_after, code == 429, Some(code)),
            _ => (None, false, None),
        };
        self.trail.push(Failure {
            seller: at.seller.id.to_string(),
            why,
            retry_after,
            rate_limited,
            outcome: outcome.name(),
            status,
        });
        (verdict, &self.trail[self.trail.len() - 1])
    }

    /// `at` served the request: the conversation is bound to it (unless it
    /// only spilled over or explored), switches are counted.
    pub fn served(&self, scheduler: &Scheduler, at: &Try, now: Instant) {
        scheduler.served(self.decision, &at.seller.id, self.trail.len(), now);
    }

    /// No seller served the request.
    pub fn exhausted(&self, scheduler: &Scheduler) {
        scheduler.all_failed(self.trail.len());
    }

    /// Every seller left so far, in order.
    pub fn trail(&self) -> &[Failure] {
        &self.trail
    }

    /// The trail in words: `seller: why; seller: why`.
    pub fn trail_text(&self) -> String {
        let parts: Vec<String> = self
            .trail
            .iter()
            .map(|f| format!("{}: {}", f.seller, f.why))
            .collect();
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::fixtures::candidate;
    use crate::scheduler::{plan, RoutingSettings};

    fn decision(ids: &[&str]) -> Decision {
        let candidates = ids
            .iter()
            .map(|id| candidate(id, Some(100.0), 1.0, None))
            .collect();
        Decision {
            plan: plan(&RoutingSettings::default(), candidates, false),
            session: 1,
            spill_over: false,
            stick: None,
            epoch: 0,
        }
    }

    fn ids(tries: &[Try]) -> Vec<&str> {
        tries.iter().map(|t| t.seller.id.as_str()).collect()
    }

    #[test]
    fn failures_move_on_through_the_table_and_mark_the_seller() {
        let d = decision(&["a", "b", "c"]);
        let pool = Pool::new();
        let t0 = Instant::now();
        let wall = SystemTime::UNIX_EPOCH;
        let mut f = Failover::new(&d, t0, Duration::from_secs(60));
        let a = f.next(&pool, t0).expect("a first");
        let (v, _) = f.failed(
            &a,
            Outcome::Status {
                code: 429,
                retry_after: Some(Duration::from_secs(30)),
            },
            "HTTP 429".into(),
            t0,
            wall,
        );
        assert!(v.failover);
        assert!(!pool.stats(&"a".into()).admit(t0), "blocked by the table");
        let b = f.next(&pool, t0).expect("then b");
        f.full(&b);
        assert_eq!(pool.stats(&"b".into()).snapshot(t0, wall).errors, 0);
        let c = f.next(&pool, t0).expect("then c");
        assert!(c.step.last);
        assert_eq!(ids(&[a, b, c]), ["a", "b", "c"]);
        assert_eq!(
            f.trail_text(),
            "a: HTTP 429 (out for 30 s); b: at its max_concurrency"
        );
        assert!(f.trail()[0].rate_limited);
        assert_eq!(f.trail()[0].retry_after, Some(Duration::from_secs(30)));
    }

    #[test]
    fn the_budget_ends_the_walk_only_after_a_failure() {
        let d = decision(&["a", "b"]);
        let pool = Pool::new();
        let t0 = Instant::now();
        let late = t0 + Duration::from_secs(61);
        let mut f = Failover::new(&d, t0, Duration::from_secs(60));
        let a = f.next(&pool, late).expect("a first try is always made");
        f.failed(
            &a,
            Outcome::Connect,
            "refused".into(),
            late,
            SystemTime::now(),
        );
        assert!(f.next(&pool, late).is_none(), "out of time after a failure");
    }

    #[test]
    fn a_blocked_seller_is_a_last_resort() {
        let d = decision(&["a", "b"]);
        let pool = Pool::new();
        let t0 = Instant::now();
        pool.stats(&"a".into()).record_failure(
            "HTTP 401",
            Penalty::Block(Duration::from_secs(60)),
            t0,
            SystemTime::now(),
        );
        let mut f = Failover::new(&d, t0, Duration::from_secs(60));
        let b = f.next(&pool, t0).expect("b first");
        assert_eq!(b.seller.id.as_str(), "b");
        f.failed(
            &b,
            Outcome::Connect,
            "refused".into(),
            t0,
            SystemTime::now(),
        );
        let a = f.next(&pool, t0).expect("a as a last resort");
        assert!(a.step.last_resort && a.step.last);
        assert!(f.next(&pool, t0).is_none());
    }
}
