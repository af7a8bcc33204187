//! THE error classification table: for each upstream outcome, whether the
//! request moves to the next seller and what it does to the seller.
//!
//! Invariant: the agent's own mistakes (400, 413, 422 and other 4xx not
//! listed) are passed through untouched and never hurt a seller.

use std::time::Duration;

use crate::pool::capacity;
pub use crate::pool::Penalty;

/// What happened when we sent a request to a seller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// TCP/TLS connect failed (refused, unreachable, DNS).
    Connect,
    /// No response headers within the time limit.
    Timeout,
    /// The seller answered with a non-success status.
    Status {
        /// The HTTP status.
        code: u16,
        /// How long the seller asked us to wait (Retry-After, reset headers).
        retry_after: Option<Duration>,
    },
    /// HTTP 200, but the stream's first event is an error.
    ErrorEvent,
    /// HTTP 200, but no first semantic event within the TTFT limit.
    TtftTimeout,
    /// HTTP 200, but the stream broke, ended or went silent before content.
    BrokenBeforeCommit,
    /// The body broke or went silent after the response was committed.
    StreamBroken,
}

/// The decision for one outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// Try the next seller (only possible before the client got a byte).
    pub failover: bool,
    /// What happens to the seller.
    pub penalty: Penalty,
}

const fn verdict(failover: bool, penalty: Penalty) -> Verdict {
    Verdict { failover, penalty }
}

/// Classifies one outcome.
pub fn classify(outcome: Outcome) -> Verdict {
    let secs = Duration::from_secs;
    let hinted = |hint: Option<Duration>, default: Duration| {
        Penalty::Block(hint.unwrap_or(default).min(capacity::MAX_BLOCK))
    };
    match outcome {
        Outcome::Connect
        | Outcome::Timeout
        | Outcome::ErrorEvent
        | Outcome::TtftTimeout
        | Outcome::BrokenBeforeCommit => verdict(true, Penalty::Health),
        Outcome::StreamBroken => verdict(false, Penalty::Health),
        Outcome::Status { code, retry_after } => match code {
            // Bad or revoked key, forbidden: the seller is misconfigured for us.
            401 | 403 => verdict(true, Penalty::Block(secs(60))),
            // Out of credit.
            402 => verdict(true, Penalty::Block(secs(300))),
            // This seller lacks the model after all: other models still work there.
            404 => verdict(true, Penalty::None),
            408 => verdict(true, Penalty::Health),
            429 => verdict(true, hinted(retry_after, capacity::DEFAULT_BLOCK)),
            // Overloaded (Anthropic's 529).
            529 => verdict(true, hinted(retry_after, secs(15))),
            500..=599 => match retry_after {
                Some(hint) => verdict(true, Penalty::Block(hint.min(capacity::MAX_BLOCK))),
                None => verdict(true, Penalty::Health),
            },
            // 400, 413, 422 and the rest: the request itself is wrong.
            _ => verdict(false, Penalty::None),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16, retry_after: Option<u64>) -> Verdict {
        classify(Outcome::Status {
            code,
            retry_after: retry_after.map(Duration::from_secs),
        })
    }

    #[test]
    fn table() {
        let s = Duration::from_secs;
        let rows: &[(&str, Verdict, bool, Penalty)] = &[
            ("connect", classify(Outcome::Connect), true, Penalty::Health),
            ("timeout", classify(Outcome::Timeout), true, Penalty::Health),
            (
                "broken stream",
                classify(Outcome::StreamBroken),
                false,
                Penalty::Health,
            ),
            ("401", status(401, None), true, Penalty::Block(s(60))),
            ("402", status(402, None), true, Penalty::Block(s(300))),
            ("403", status(403, None), true, Penalty::Block(s(60))),
            ("404", status(404, None), true, Penalty::None),
            ("408", status(408, None), true, Penalty::Health),
            (
                "429",
                status(429, None),
                true,
                Penalty::Block(capacity::DEFAULT_BLOCK),
            ),
            (
                "429 + Retry-After",
                status(429, Some(42)),
                true,
                Penalty::Block(s(42)),
            ),
            (
                "429 + absurd Retry-After",
                status(429, Some(86_400)),
                true,
                Penalty::Block(capacity::MAX_BLOCK),
            ),
            ("500", status(500, None), true, Penalty::Health),
            (
                "503 + Retry-After",
                status(503, Some(7)),
                true,
                Penalty::Block(s(7)),
            ),
            ("529", status(529, None), true, Penalty::Block(s(15))),
            ("400", status(400, None), false, Penalty::None),
            ("413", status(413, None), false, Penalty::None),
            ("422", status(422, None), false, Penalty::None),
        ];
        for (name, v, failover, penalty) in rows {
            assert_eq!((v.failover, v.penalty), (*failover, *penalty), "{name}");
        }
    }
}
