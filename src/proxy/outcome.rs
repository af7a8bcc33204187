//! THE error classification table: for each upstream outcome, whether the
//! request moves to the next seller, whether it counts against the seller,
//! and how long the seller sits out.
//!
//! Invariant: the agent's own mistakes (400, 413, 422 and other 4xx not
//! listed) are passed through untouched and never hurt a seller.

use std::time::Duration;

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
        /// From Retry-After / retry-after-ms, when present.
        retry_after: Option<Duration>,
    },
    /// The body broke or went silent after the response was committed.
    StreamBroken,
}

/// The decision for one outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// Try the next seller (only possible before the client got a byte).
    pub failover: bool,
    /// Count as an error against the seller.
    pub penalize: bool,
    /// Keep the seller out of rotation for this long.
    pub cooldown: Option<Duration>,
}

const PASS_THROUGH: Verdict = Verdict {
    failover: false,
    penalize: false,
    cooldown: None,
};

fn fail_over(cooldown: Option<Duration>) -> Verdict {
    Verdict {
        failover: true,
        penalize: true,
        cooldown,
    }
}

/// Cooldown when a rate limit gives no Retry-After.
pub const DEFAULT_RATE_LIMIT_COOLDOWN: Duration = Duration::from_secs(10);

/// Classifies one outcome.
pub fn classify(outcome: Outcome) -> Verdict {
    let secs = |s| Some(Duration::from_secs(s));
    match outcome {
        Outcome::Connect => fail_over(secs(5)),
        Outcome::Timeout => fail_over(secs(5)),
        Outcome::StreamBroken => Verdict {
            failover: false,
            penalize: true,
            cooldown: secs(5),
        },
        Outcome::Status { code, retry_after } => match code {
            // Bad or revoked key, forbidden: the seller is misconfigured.
            401 | 403 => fail_over(secs(60)),
            // Out of credit.
            402 => fail_over(secs(300)),
            // This seller does not have the model after all.
            404 => fail_over(None),
            408 => fail_over(None),
            429 => fail_over(Some(retry_after.unwrap_or(DEFAULT_RATE_LIMIT_COOLDOWN))),
            // Overloaded (Anthropic's 529).
            529 => fail_over(Some(retry_after.unwrap_or(Duration::from_secs(15)))),
            500..=599 => fail_over(Some(retry_after.unwrap_or(Duration::from_secs(3)))),
            // 400, 413, 422 and the rest: the request itself is wrong.
            _ => PASS_THROUGH,
        },
    }
}

/// Reads `retry-after-ms` or `Retry-After` (seconds) from response headers.
pub fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    let num = |name: &str| {
        headers
            .get(name)?
            .to_str()
            .ok()?
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
    };
    if let Some(ms) = num("retry-after-ms") {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    num("retry-after").map(Duration::from_secs_f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16) -> Verdict {
        classify(Outcome::Status {
            code,
            retry_after: None,
        })
    }

    #[test]
    fn table() {
        let s = Duration::from_secs;
        let rows: &[(Verdict, bool, bool, Option<Duration>)] = &[
            (classify(Outcome::Connect), true, true, Some(s(5))),
            (classify(Outcome::Timeout), true, true, Some(s(5))),
            (classify(Outcome::StreamBroken), false, true, Some(s(5))),
            (status(401), true, true, Some(s(60))),
            (status(402), true, true, Some(s(300))),
            (status(403), true, true, Some(s(60))),
            (status(404), true, true, None),
            (status(408), true, true, None),
            (status(429), true, true, Some(DEFAULT_RATE_LIMIT_COOLDOWN)),
            (status(500), true, true, Some(s(3))),
            (status(503), true, true, Some(s(3))),
            (status(529), true, true, Some(s(15))),
            (status(400), false, false, None),
            (status(413), false, false, None),
            (status(422), false, false, None),
        ];
        for (i, (v, failover, penalize, cooldown)) in rows.iter().enumerate() {
            assert_eq!(
                (v.failover, v.penalize, v.cooldown),
                (*failover, *penalize, *cooldown),
                "row {i}"
            );
        }
    }

    #[test]
    fn retry_after_is_honoured() {
        let v = classify(Outcome::Status {
            code: 429,
            retry_after: Some(Duration::from_secs(42)),
        });
        assert_eq!(v.cooldown, Some(Duration::from_secs(42)));
        let mut h = http::HeaderMap::new();
        h.insert("retry-after", "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert("retry-after-ms", "1500".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_millis(1500)));
        h.clear();
        h.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), None);
    }
}
