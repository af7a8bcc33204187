//! The scheduler's live state, shared by every request: the routing
//! settings, conversation and response bindings, counters, and the draws
//! for exploration and jitter.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use super::metrics::{Event, Metrics};
use super::mode::RoutingSettings;
use super::settings::{RoutingStore, SaveError};
use super::sticky::{self, Bindings, Stick};
use super::{load, plan, Candidate, Plan};
use crate::pool::Pool;
use crate::sellers::{Seller, SellerId};

/// Where one request goes.
#[derive(Debug)]
pub struct Decision {
    /// Sellers in the order to try.
    pub plan: Plan,
    /// The conversation's key for stickiness.
    pub session: u64,
    /// The bound seller was full: do not rebind to whoever serves.
    pub spill_over: bool,
    /// What stickiness did, when the conversation was bound.
    pub stick: Option<Stick>,
    /// The routing settings' epoch the plan was made under.
    pub epoch: u64,
}

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
    /// Share new conversations among the best few sellers.
    spread: bool,
    draws: AtomicU64,
    /// Bumped after every change of the routing settings: bindings made
    /// under older settings are re-planned.
    epoch: AtomicU64,
    /// Bumped after every routing or proxy change, for whoever shows them live.
    changes: tokio::sync::watch::Sender<u64>,
}

impl Scheduler {
    /// Loads the routing settings from `data_dir`; `seed` starts the draws.
    pub fn new(data_dir: &Path, explore_chance: f64, spread: bool, seed: u64) -> Self {
        Scheduler {
            routing: RoutingStore::open(data_dir),
            sessions: Bindings::default(),
            responses: Bindings::default(),
            metrics: Metrics::default(),
            explore_chance,
            spread,
            draws: AtomicU64::new(seed),
            epoch: AtomicU64::new(0),
            changes: tokio::sync::watch::Sender::new(0),
        }
    }

    /// A generation counter bumped on every routing or proxy change (the
    /// receiver sees the latest; several quick changes may show as one).
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Whether the proxy answers generation calls (off: paused).
    pub fn proxy_enabled(&self) -> bool {
        self.routing.proxy_enabled()
    }

    /// Saves and applies the proxy switch; a no-op change writes nothing
    /// and signals nothing.
    pub fn set_proxy_enabled(&self, enabled: bool) -> Result<(), SaveError> {
        if self.routing.proxy_enabled() == enabled {
            return Ok(());
        }
        self.routing.set_proxy_enabled(enabled)?;
        tracing::info!(enabled, "proxy switched");
        self.changes.send_modify(|g| *g += 1);
        Ok(())
    }

    /// Saves and applies new routing settings; every conversation is
    /// re-planned under them on its next request (hard affinity to a
    /// previous response still holds).
    pub fn set_routing(&self, settings: RoutingSettings) -> Result<(), SaveError> {
        self.routing.set(settings)?;
        // After the store: a request that sees the new epoch sees the new settings.
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.changes.send_modify(|g| *g += 1);
        Ok(())
    }

    /// The order to try sellers in for one request: the plan for the
    /// routing settings, then hard affinity (the seller of the previous
    /// response) or stickiness (the conversation's seller) on top.
    pub fn decide(
        &self,
        pool: &Pool,
        candidates: Vec<Candidate>,
        session: u64,
        previous_response: Option<&str>,
        now: Instant,
    ) -> Decision {
        // The epoch before the settings: a binding never gets a newer epoch
        // than the settings it was planned under.
        let epoch = self.epoch.load(Ordering::SeqCst);
        let settings = self.routing.get();
        let mut plan = plan(&settings, candidates, self.explore());
        let mut spill_over = false;
        let mut stick = None;
        let pinned = previous_response
            .and_then(|id| self.responses.lookup(sticky::response_key(id), now))
            .is_some_and(|bound| sticky::pin(&mut plan, &bound.seller));
        if pinned {
            self.metrics.count(Event::Pinned);
        } else if let Some(bound) = self.sessions.lookup(session, now) {
            let full = |s: &Seller| {
                s.max_concurrency
                    .is_some_and(|max| pool.stats(&s.id).in_flight() >= max)
            };
            let outcome = if bound.epoch != epoch {
                Stick::Escape("the routing settings changed")
            } else {
                sticky::apply(&mut plan, &bound.seller, settings.scorer, full)
            };
            match &outcome {
                Stick::Hit => self.metrics.count(Event::StickyHit),
                Stick::SpillOver => {
                    self.metrics.count(Event::SpillOver);
                    spill_over = true;
                }
                Stick::Escape(why) => {
                    self.metrics.count(Event::StickyEscape);
                    tracing::debug!(seller = %bound.seller, why, "session leaves its seller");
                    self.sessions.unbind(session);
                    if self.spread {
                        load::spread(&mut plan, session);
                    }
                }
            }
            stick = Some(outcome);
        } else if self.spread {
            // A new conversation: share it among the best few.
            load::spread(&mut plan, session);
        }
        Decision {
            plan,
            session,
            spill_over,
            stick,
            epoch,
        }
    }

    /// A request of `decision` was served by `seller` after `switches`
    /// failed tries: bind the conversation (unless it only spilled over or
    /// was exploring).
    pub fn served(&self, decision: &Decision, seller: &SellerId, switches: usize, now: Instant) {
        // An exploratory try measures a seller; it does not move the conversation.
        let explored = decision
            .plan
            .ranked
            .iter()
            .any(|r| r.explored && &r.seller.id == seller);
        if !decision.spill_over && !explored {
            self.sessions
                .bind(decision.session, seller, decision.epoch, now);
        }
        for _ in 0..switches {
            self.metrics.count(Event::Switch);
        }
    }

    /// Every seller failed a request after `tries` tries.
    pub fn all_failed(&self, tries: usize) {
        self.metrics.count(Event::AllFailed);
        for _ in 1..tries {
            self.metrics.count(Event::Switch);
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
    use crate::scheduler::fixtures::{candidate, order};
    use crate::scheduler::Scorer;

    #[test]
    fn a_routing_change_re_plans_bound_conversations() {
        let dir = tempfile::tempdir().unwrap();
        let s = Scheduler::new(dir.path(), 0.0, false, 1);
        let pool = Pool::new();
        let now = Instant::now();
        let market = || {
            vec![
                candidate("a", Some(200.0), 1.0, None),
                candidate("b", Some(240.0), 1.0, None),
            ]
        };
        s.sessions.bind(9, &"b".into(), 0, now);
        let d = s.decide(&pool, market(), 9, None, now);
        assert_eq!(d.stick, Some(Stick::Hit), "b is not far behind a");
        assert_eq!(order(&d.plan)[0], "b");
        s.set_routing(RoutingSettings {
            scorer: Scorer::Speed,
            ..RoutingSettings::default()
        })
        .unwrap();
        let d = s.decide(&pool, market(), 9, None, now);
        assert_eq!(d.stick, Some(Stick::Escape("the routing settings changed")));
        assert_eq!(order(&d.plan)[0], "a", "planned afresh under speed");
        s.served(&d, &"a".into(), 0, now);
        let d = s.decide(&pool, market(), 9, None, now);
        assert_eq!(
            d.stick,
            Some(Stick::Hit),
            "bound again, under the new epoch"
        );
    }

    #[test]
    fn draws_are_uniform_enough_and_exploration_can_be_off() {
        let dir = tempfile::tempdir().unwrap();
        let s = Scheduler::new(dir.path(), 0.05, true, 42);
        let draws: Vec<f64> = (0..10_000).map(|_| s.roll()).collect();
        assert!(draws.iter().all(|d| (0.0..1.0).contains(d)));
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        assert!((mean - 0.5).abs() < 0.02, "{mean}");
        let explored = (0..10_000).filter(|_| s.explore()).count();
        assert!((300..700).contains(&explored), "{explored}");
        let off = Scheduler::new(dir.path(), 0.0, true, 42);
        assert!((0..1000).all(|_| !off.explore()));
    }

    #[test]
    fn routing_and_proxy_changes_bump_the_signal() {
        let dir = tempfile::tempdir().unwrap();
        let s = Scheduler::new(dir.path(), 0.0, false, 1);
        let mut rx = s.subscribe();
        assert_eq!(*rx.borrow_and_update(), 0);
        s.set_routing(RoutingSettings::default()).unwrap();
        assert!(rx.has_changed().unwrap());
        assert_eq!(*rx.borrow_and_update(), 1);
        s.set_proxy_enabled(false).unwrap();
        assert_eq!(*rx.borrow_and_update(), 2);
        assert!(!s.proxy_enabled());
        s.set_proxy_enabled(false).unwrap();
        assert!(!rx.has_changed().unwrap(), "no change, no signal");
        let bad = RoutingSettings {
            mode: crate::scheduler::RoutingMode::FixedSet,
            ..RoutingSettings::default()
        };
        assert!(s.set_routing(bad).is_err());
        assert!(
            !rx.has_changed().unwrap(),
            "a refused change signals nothing"
        );
    }
}
