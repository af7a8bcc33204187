//! What the pool tells an observer: a seller's circuit opening or closing,
//! a cooldown beginning. The observer (the notice feed and the panel's
//! event stream) is handed in at start; without one nothing is told.

use std::sync::Arc;

use crate::sellers::SellerId;

/// A change in one seller's state worth telling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolChange {
    /// The circuit opened (closed or half-open → open), with why.
    CircuitOpened {
        /// The breaker's cause, e.g. `3 failures in a row, last: HTTP 500`.
        cause: String,
    },
    /// The circuit closed after a good half-open trial.
    CircuitClosed,
    /// A block began (rate limit, bad key…): the seller is out for a while.
    CooldownBegan,
}

/// The observer's callback.
type Tell = dyn Fn(&SellerId, &PoolChange) + Send + Sync;

/// Called, outside the stats lock, for every [`PoolChange`].
#[derive(Clone)]
pub struct PoolWatch(Arc<Tell>);

impl PoolWatch {
    /// Wraps `f`; keep it cheap (it runs on the request path).
    pub fn new(f: impl Fn(&SellerId, &PoolChange) + Send + Sync + 'static) -> PoolWatch {
        PoolWatch(Arc::new(f))
    }

    /// Tells the observer.
    pub fn tell(&self, seller: &SellerId, change: &PoolChange) {
        (self.0)(seller, change)
    }
}

impl std::fmt::Debug for PoolWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PoolWatch")
    }
}
