//! The scheduler's live state, shared by every request: the routing
//! settings, conversation and response bindings, counters, and the draws
//! for exploration and jitter.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use super::metrics::Metrics;
use super::settings::RoutingStore;
use super::sticky::Bindings;

/// Everything the scheduler keeps between requests.
#[derive(Debug)]
pub struct Scheduler {
    /// The user's routing mode and scorer.
    pub routing: RoutingStore,
    /// Which conversation is on which seller.
    pub sessions: Bindings,
    /// Which seller produced which Responses API response.
    pub responses: Bindings,
    /// What the scheduler did, counted.
    pub metrics: Metrics,
    /// Share of requests that try an unmeasured seller first.
    explore_chance: f64,
    draws: AtomicU64,
}

impl Scheduler {
    /// Loads the routing settings from `data_dir`; `seed` starts the draws.
    pub fn new(data_dir: &Path, explore_chance: f64, seed: u64) -> Self {
        Scheduler {
            routing: RoutingStore::open(data_dir),
            sessions: Bindings::default(),
            responses: Bindings::default(),
            metrics: Metrics::default(),
            explore_chance,
            draws: AtomicU64::new(seed),
        }
    }

    /// Whether this request explores (a draw against the explore chance).
    pub fn explore(&self) -> bool {
        self.explore_chance > 0.0 && self.roll() < self.explore_chance
    }

    /// A uniform draw in [0, 1).
    pub fn roll(&self) -> f64 {
        // splitmix64 over a counter: well spread, no lock, no RNG crate.
        let mut z = self
            .draws
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_uniform_enough_and_exploration_can_be_off() {
        let dir = tempfile::tempdir().unwrap();
        let s = Scheduler::new(dir.path(), 0.05, 42);
        let draws: Vec<f64> = (0..10_000).map(|_| s.roll()).collect();
        assert!(draws.iter().all(|d| (0.0..1.0).contains(d)));
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        assert!((mean - 0.5).abs() < 0.02, "{mean}");
        let explored = (0..10_000).filter(|_| s.explore()).count();
        assert!((300..700).contains(&explored), "{explored}");
        let off = Scheduler::new(dir.path(), 0.0, 42);
        assert!((0..1000).all(|_| !off.explore()));
    }
}
