//! Per-seller live state shared by all requests: statistics, cooldowns and
//! in-flight counts. Pure bookkeeping: callers pass `now`.

pub mod breaker;
pub mod capacity;
pub mod change;
pub mod ewma;
pub mod models;
pub mod penalty;
pub mod seller_stats;
pub mod window;

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::sellers::SellerId;
pub use change::{PoolChange, PoolWatch};
pub use models::ModelIndex;
pub use penalty::Penalty;
pub use seller_stats::{
    Cooldown, CooldownUntil, InFlight, ProbeOutcome, ProbeRecord, Sample, SellerStats,
    StatsSnapshot,
};

/// Statistics of every seller ever seen, by id (they survive reloads).
#[derive(Debug, Default)]
pub struct Pool {
    // Copy-on-write: lookups on the request path are lock-free; inserting a
    // new seller (rare) copies the map.
    stats: ArcSwap<HashMap<SellerId, Arc<SellerStats>>>,
    /// Told of circuit and cooldown changes, if anyone asked.
    watch: Option<PoolWatch>,
    /// The models each seller reported (by the probe).
    models: ModelIndex,
}

impl Pool {
    /// An empty pool.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty pool whose sellers tell `watch` of their changes.
    pub fn watched(watch: PoolWatch) -> Self {
        Pool {
            stats: ArcSwap::default(),
            watch: Some(watch),
            models: ModelIndex::default(),
        }
    }

    /// The models sellers reported of themselves.
    pub fn models(&self) -> &ModelIndex {
        &self.models
    }

    /// The statistics of `id`, created on first use.
    pub fn stats(&self, id: &SellerId) -> Arc<SellerStats> {
        if let Some(s) = self.stats.load().get(id) {
            return Arc::clone(s);
        }
        let mut created = None;
        self.stats.rcu(|map| {
            let mut map = HashMap::clone(map);
            let entry = map.entry(id.clone()).or_insert_with(|| match &self.watch {
                Some(w) => Arc::new(SellerStats::watched(id.clone(), w.clone())),
                None => Arc::default(),
            });
            created = Some(Arc::clone(entry));
            map
        });
        created.unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_id_same_stats() {
        let pool = Pool::new();
        let a = pool.stats(&"a".into());
        let a2 = pool.stats(&"a".into());
        assert!(Arc::ptr_eq(&a, &a2));
        assert!(!Arc::ptr_eq(&a, &pool.stats(&"b".into())));
    }
}
