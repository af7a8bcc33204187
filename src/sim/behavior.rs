//! How a simulated seller behaves: speed, length and injected failures.

use std::time::Duration;

/// A simulated seller's behaviour; changeable while it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Behavior {
    /// Delay between the preamble events and the first token.
    pub ttft: Duration,
    /// Pace of the tokens after the first; `None` sends them as fast as possible.
    pub tokens_per_sec: Option<f64>,
    /// Output length in tokens.
    pub tokens: usize,
    /// An injected failure.
    pub failure: Option<Failure>,
}

impl Default for Behavior {
    fn default() -> Self {
        Behavior {
            ttft: Duration::ZERO,
            tokens_per_sec: None,
            tokens: 16,
            failure: None,
        }
    }
}

/// A failure a simulated seller can inject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Answer every request with this status and a protocol-shaped error body.
    Status {
        /// HTTP status.
        code: u16,
        /// Sent as `Retry-After` when set.
        retry_after_secs: Option<u64>,
    },
    /// Send this many token deltas, then cut the connection mid-body.
    DropAfter {
        /// Deltas sent before the cut.
        tokens: usize,
    },
    /// HTTP 200 with a stream whose first event is an error.
    FirstEventError,
    /// Every n-th request (n, 2n, …) fails with `code`; the others succeed.
    EveryNth {
        /// The period.
        n: u64,
        /// HTTP status of the failing requests.
        code: u16,
    },
}

impl Behavior {
    /// Delay between two tokens after the first.
    pub fn token_gap(&self) -> Option<Duration> {
        self.tokens_per_sec
            .filter(|r| r.is_finite() && *r > 0.0)
            .map(|r| Duration::from_secs_f64(1.0 / r))
    }
}
