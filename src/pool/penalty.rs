//! What one failed attempt does to a seller (decided by `proxy::outcome`).

use std::time::Duration;

/// What an outcome does to the seller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Penalty {
    /// Nothing: not the seller's fault.
    None,
    /// A health failure: feeds the circuit breaker and the error rate.
    Health,
    /// The seller is out for this long (rate limit, bad key, no credit),
    /// without touching its health: it works, just not for us right now.
    Block(Duration),
}
