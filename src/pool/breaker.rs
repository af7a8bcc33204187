//! A seller's circuit breaker: closed → open → half-open → closed.
//!
//! Opens after `consecutive_failures` failures in a row, or when the
//! time-decayed error rate passes `error_rate` with enough recent traffic.
//! While open the seller gets nothing; after the cooldown one trial request
//! goes through (half-open). A good trial closes the circuit; a bad one opens
//! it again for twice as long, up to `max_cooldown`. Pure: callers pass `now`.

use std::time::{Duration, Instant};

use super::ewma::Ewma;

/// A half-open trial that has not reported back by then is given up.
pub const TRIAL_TIMEOUT: Duration = Duration::from_secs(60);

/// When the breaker opens and for how long.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakerPolicy {
    /// Failures in a row that open the circuit.
    pub consecutive_failures: u32,
    /// Time-decayed error rate (0–1) that opens the circuit…
    pub error_rate: f64,
    /// …once at least this much (decayed) traffic has been seen.
    pub min_weight: f64,
    /// Half-life of the error rate.
    pub half_life: Duration,
    /// First cooldown; doubles on every re-open.
    pub base_cooldown: Duration,
    /// Longest cooldown.
    pub max_cooldown: Duration,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        BreakerPolicy {
            consecutive_failures: 3,
            error_rate: 0.5,
            min_weight: 8.0,
            half_life: Duration::from_secs(30),
            base_cooldown: Duration::from_secs(5),
            max_cooldown: Duration::from_secs(300),
        }
    }
}

/// The breaker's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BreakerState {
    /// Traffic flows.
    Closed,
    /// No traffic until `until`.
    Open {
        /// End of the cooldown.
        until: Instant,
        /// Why it opened.
        cause: String,
    },
    /// One trial request may go through.
    HalfOpen {
        /// When the trial under way started, if one is.
        trial_since: Option<Instant>,
    },
}

/// What the breaker says to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Go ahead.
    Allow,
    /// Go ahead as the half-open trial.
    Trial,
    /// Not now.
    Deny,
}

/// One seller's circuit breaker.
#[derive(Debug, Clone)]
pub struct Breaker {
    policy: BreakerPolicy,
    state: BreakerState,
    consecutive: u32,
    /// Opens since the last close, for the growing cooldown.
    opens: u32,
    errors: Ewma,
}

impl Breaker {
    /// A closed breaker.
    pub fn new(policy: BreakerPolicy) -> Self {
        Breaker {
            policy,
            state: BreakerState::Closed,
            consecutive: 0,
            opens: 0,
            errors: Ewma::new(policy.half_life),
        }
    }

    /// The state at `now` (an expired cooldown reads as half-open).
    pub fn state(&mut self, now: Instant) -> &BreakerState {
        if let BreakerState::Open { until, .. } = self.state {
            if now >= until {
                self.state = BreakerState::HalfOpen { trial_since: None };
            }
        }
        &self.state
    }

    /// Time-decayed error rate, 0–1 (0 before any traffic).
    pub fn error_rate(&self) -> f64 {
        self.errors.value().unwrap_or(0.0)
    }

    /// Whether a request may go now; takes the half-open trial if it does.
    pub fn admit(&mut self, now: Instant) -> Admission {
        match self.state(now) {
            BreakerState::Closed => Admission::Allow,
            BreakerState::Open { .. } => Admission::Deny,
            BreakerState::HalfOpen {
                trial_since: Some(since),
            } if now.saturating_duration_since(*since) < TRIAL_TIMEOUT => Admission::Deny,
            // No trial yet, or one that never reported back (client gone,
            // passed-through 4xx): take a new one rather than stay stuck.
            BreakerState::HalfOpen { .. } => {
                self.state = BreakerState::HalfOpen {
                    trial_since: Some(now),
                };
                Admission::Trial
            }
        }
    }

    /// Whether a request could go now, without taking the trial.
    pub fn would_admit(&mut self, now: Instant) -> bool {
        match self.state(now) {
            BreakerState::Closed => true,
            BreakerState::Open { .. } => false,
            BreakerState::HalfOpen { trial_since } => trial_since
                .is_none_or(|since| now.saturating_duration_since(since) >= TRIAL_TIMEOUT),
        }
    }

    /// A request succeeded.
    pub fn on_success(&mut self, now: Instant) {
        self.errors.add(0.0, now);
        self.consecutive = 0;
        if matches!(self.state(now), BreakerState::HalfOpen { .. }) {
            self.state = BreakerState::Closed;
            self.opens = 0;
        }
    }

    /// A request failed in a way that counts against the seller.
    pub fn on_failure(&mut self, cause: &str, now: Instant) {
        self.errors.add(1.0, now);
        self.consecutive += 1;
        let state = self.state(now).clone();
        let rate = self.error_rate();
        let trip = match state {
            BreakerState::HalfOpen { .. } => Some(format!("half-open trial failed: {cause}")),
            BreakerState::Open { .. } => None,
            BreakerState::Closed if self.consecutive >= self.policy.consecutive_failures => Some(
                format!("{} failures in a row, last: {cause}", self.consecutive),
            ),
            BreakerState::Closed
                if self.errors.weight() >= self.policy.min_weight
                    && rate >= self.policy.error_rate =>
            {
                Some(format!("error rate {:.0} %, last: {cause}", rate * 100.0))
            }
            BreakerState::Closed => None,
        };
        if let Some(cause) = trip {
            let factor = 2u32.saturating_pow(self.opens.min(16));
            let cooldown = self
                .policy
                .base_cooldown
                .saturating_mul(factor)
                .min(self.policy.max_cooldown);
            self.opens += 1;
            self.state = BreakerState::Open {
                until: now + cooldown,
                cause,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> BreakerPolicy {
        BreakerPolicy::default()
    }

    #[test]
    fn opens_after_consecutive_failures_then_half_opens_then_closes() {
        let t0 = Instant::now();
        let mut b = Breaker::new(policy());
        b.on_failure("HTTP 500", t0);
        b.on_failure("HTTP 500", t0);
        assert_eq!(b.admit(t0), Admission::Allow);
        b.on_failure("HTTP 502", t0);
        assert!(
            matches!(b.state(t0), BreakerState::Open { cause, .. } if cause.contains("3 failures in a row, last: HTTP 502"))
        );
        assert_eq!(b.admit(t0 + Duration::from_secs(4)), Admission::Deny);
        let t5 = t0 + Duration::from_secs(5);
        assert!(b.would_admit(t5));
        assert_eq!(b.admit(t5), Admission::Trial);
        assert_eq!(b.admit(t5), Admission::Deny, "only one trial");
        assert_eq!(
            b.admit(t5 + TRIAL_TIMEOUT),
            Admission::Trial,
            "a trial that never reported back is given up"
        );
        b.on_success(t5);
        assert_eq!(b.state(t5), &BreakerState::Closed);
        assert_eq!(b.admit(t5), Admission::Allow);
    }

    #[test]
    fn failed_trial_reopens_for_longer_up_to_the_cap() {
        let mut now = Instant::now();
        let mut b = Breaker::new(policy());
        for _ in 0..3 {
            b.on_failure("x", now);
        }
        let mut expected = Duration::from_secs(5);
        for _ in 0..8 {
            let BreakerState::Open { until, .. } = b.state(now).clone() else {
                panic!("open expected");
            };
            assert_eq!(until - now, expected);
            now = until;
            assert_eq!(b.admit(now), Admission::Trial);
            b.on_failure("still down", now);
            expected = (expected * 2).min(Duration::from_secs(300));
        }
        assert_eq!(expected, Duration::from_secs(300));
    }

    #[test]
    fn high_error_rate_opens_even_without_a_streak() {
        let t0 = Instant::now();
        let mut b = Breaker::new(policy());
        // Alternate: never 3 in a row, but half the traffic fails.
        for i in 0..20 {
            if matches!(b.state(t0), BreakerState::Open { .. }) {
                break;
            }
            if i % 2 == 0 {
                b.on_failure("HTTP 500", t0);
            } else {
                b.on_success(t0);
            }
        }
        assert!(
            matches!(b.state(t0), BreakerState::Open { cause, .. } if cause.starts_with("error rate"))
        );
    }

    #[test]
    fn old_errors_fade_with_time() {
        let t0 = Instant::now();
        let mut b = Breaker::new(policy());
        b.on_failure("x", t0);
        b.on_failure("x", t0);
        b.on_success(t0);
        let later = t0 + Duration::from_secs(300);
        b.on_success(later);
        assert!(b.error_rate() < 0.01, "{}", b.error_rate());
    }
}
