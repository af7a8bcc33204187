//! THE error classification table: for each upstream outcome, whether the
//! request moves to the next seller and what it does to the seller.
//!
//! Invariants: the agent's own mistakes (400, 413, 422 and other 4xx not
//! listed) are passed through untouched and never hurt a seller; what
//! TokenBuddy does itself (its own shutdown) is never held against one.
//! The README's failover section has a copy of this table: keep them equal.

use std::time::{Duration, Instant, SystemTime};

use crate::pool::capacity;
pub use crate::pool::Penalty;
use crate::pool::SellerStats;

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
    /// HTTP 200, but the stream's first event, or the whole body, is the
    /// protocol's error object (some sellers answer errors with a 200).
    ErrorEvent,
    /// HTTP 200, but the body is no answer of the protocol: not JSON (an
    /// HTML error page, a proxy's login page, garbage).
    NotAnAnswer,
    /// HTTP 200, but no first semantic event within the TTFT limit.
    TtftTimeout,
    /// HTTP 200, but the stream broke, ended or went silent before content.
    BrokenBeforeCommit,
    /// The body broke or went silent after the response was committed.
    StreamBroken,
    /// TokenBuddy itself is shutting down: the request ends here, and it is
    /// no one's fault.
    Shutdown,
}

impl Outcome {
    /// The outcome's name in the request log's attempt trail (camelCase;
    /// a status is `status`, its code kept beside it).
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Connect => "connect",
            Outcome::Timeout => "timeout",
            Outcome::Status { .. } => "status",
            Outcome::ErrorEvent => "errorEvent",
            Outcome::NotAnAnswer => "notAnAnswer",
            Outcome::TtftTimeout => "ttftTimeout",
            Outcome::BrokenBeforeCommit => "brokenBeforeCommit",
            Outcome::StreamBroken => "streamBroken",
            Outcome::Shutdown => "shutdown",
        }
    }
}

/// How one client request ended, as the request log classes it. Derived
/// from the table above: a request fails over while its outcomes say so,
/// and ends in exactly one of these.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum OutcomeClass {
    /// A seller's answer reached the client whole.
    Served,
    /// The seller's answer was an error that is the client's own (a 4xx
    /// passed through untouched).
    ClientError,
    /// The answer broke after it began (the client got an error event).
    StreamBroken,
    /// The client hung up before the answer ended.
    ClientGone,
    /// Every seller tried failed (502 to the client).
    AllFailed,
    /// Every seller tried was rate limited (429 to the client).
    RateLimited,
    /// No seller serves the model, or the routing mode allows none.
    NoSeller,
    /// The request could not be read (not JSON, no model).
    BadRequest,
    /// TokenBuddy was shutting down.
    Shutdown,
    /// TokenBuddy answered itself with an estimate (`count_tokens` when no
    /// seller of the client's protocol serves the model).
    Estimated,
}

impl OutcomeClass {
    /// Every class, in a stable order.
    pub const ALL: [OutcomeClass; 10] = [
        OutcomeClass::Served,
        OutcomeClass::ClientError,
        OutcomeClass::StreamBroken,
        OutcomeClass::ClientGone,
        OutcomeClass::AllFailed,
        OutcomeClass::RateLimited,
        OutcomeClass::NoSeller,
        OutcomeClass::BadRequest,
        OutcomeClass::Shutdown,
        OutcomeClass::Estimated,
    ];

    /// The name the API, the database and `/metrics` use.
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeClass::Served => "served",
            OutcomeClass::ClientError => "clientError",
            OutcomeClass::StreamBroken => "streamBroken",
            OutcomeClass::ClientGone => "clientGone",
            OutcomeClass::AllFailed => "allFailed",
            OutcomeClass::RateLimited => "rateLimited",
            OutcomeClass::NoSeller => "noSeller",
            OutcomeClass::BadRequest => "badRequest",
            OutcomeClass::Shutdown => "shutdown",
            OutcomeClass::Estimated => "estimated",
        }
    }

    /// The class named `name` ([`OutcomeClass::as_str`]).
    pub fn parse(name: &str) -> Option<OutcomeClass> {
        OutcomeClass::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// Whether the request counts as an error in rates and charts (the
    /// client's own mistakes and a client hanging up do not).
    pub fn is_error(self) -> bool {
        matches!(
            self,
            OutcomeClass::StreamBroken
                | OutcomeClass::AllFailed
                | OutcomeClass::RateLimited
                | OutcomeClass::NoSeller
        )
    }
}

/// What a request cut short by TokenBuddy's own shutdown is told.
pub const SHUTTING_DOWN: &str = "TokenBuddy is shutting down";

/// The decision for one outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// Try the next seller (only possible before the client got a byte).
    pub failover: bool,
    /// What happens to the seller's health or rotation.
    pub penalty: Penalty,
    /// Whether the attempt counts as the seller's failure at all (its error
    /// count and last error), even when its health is spared.
    pub blames_seller: bool,
}

const fn verdict(failover: bool, penalty: Penalty) -> Verdict {
    Verdict {
        failover,
        penalty,
        blames_seller: true,
    }
}

impl Verdict {
    /// Records this verdict against the seller whose attempt ended with `cause`.
    pub fn charge(&self, stats: &SellerStats, cause: &str, now: Instant, wall: SystemTime) {
        if self.blames_seller {
            stats.record_failure(cause, self.penalty, now, wall);
        }
    }
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
        | Outcome::NotAnAnswer
        | Outcome::TtftTimeout
        | Outcome::BrokenBeforeCommit => verdict(true, Penalty::Health),
        Outcome::StreamBroken => verdict(false, Penalty::Health),
        Outcome::Shutdown => Verdict {
            failover: false,
            penalty: Penalty::None,
            blames_seller: false,
        },
        Outcome::Status { code, retry_after } => match code {
            // A redirect (never followed: sellers are APIs, not web sites)
            // means a wrong base_url, e.g. http:// for https://.
            300..=399 => verdict(true, Penalty::Block(secs(60))),
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
                "200 + error event or error body",
                classify(Outcome::ErrorEvent),
                true,
                Penalty::Health,
            ),
            (
                "200 + HTML page",
                classify(Outcome::NotAnAnswer),
                true,
                Penalty::Health,
            ),
            (
                "no first token in time",
                classify(Outcome::TtftTimeout),
                true,
                Penalty::Health,
            ),
            (
                "broken before commit",
                classify(Outcome::BrokenBeforeCommit),
                true,
                Penalty::Health,
            ),
            (
                "broken stream",
                classify(Outcome::StreamBroken),
                false,
                Penalty::Health,
            ),
            (
                "our own shutdown",
                classify(Outcome::Shutdown),
                false,
                Penalty::None,
            ),
            ("301", status(301, None), true, Penalty::Block(s(60))),
            ("302", status(302, None), true, Penalty::Block(s(60))),
            ("307", status(307, None), true, Penalty::Block(s(60))),
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
            // Only our own shutdown is no one's failure.
            assert_eq!(v.blames_seller, *name != "our own shutdown", "{name}");
        }
    }

    #[test]
    fn shutdown_leaves_the_seller_as_it_was() {
        let stats = SellerStats::default();
        let (now, wall) = (Instant::now(), SystemTime::now());
        classify(Outcome::Shutdown).charge(&stats, "TokenBuddy is shutting down", now, wall);
        let snap = stats.snapshot(now, wall);
        assert_eq!(
            (snap.errors, snap.last_error, snap.error_rate),
            (0, None, 0.0)
        );
        classify(Outcome::StreamBroken).charge(&stats, "cut", now, wall);
        let snap = stats.snapshot(now, wall);
        assert_eq!((snap.errors, snap.last_error.as_deref()), (1, Some("cut")));
        assert!(snap.error_rate > 0.0);
    }
}
