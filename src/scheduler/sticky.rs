//! Stickiness: a conversation stays on the seller that served it (prompt
//! caches stay warm, answers stay consistent) while that seller is healthy.
//!
//! A binding (session key → seller) lasts `ttl` after its last use. It is
//! dropped — the session escapes — when the bound seller is out of rotation
//! (blocked, circuit open), no longer a candidate, or far slower than the
//! pool. A bound seller that is merely full gets a brief spill-over: this
//! request goes elsewhere and the binding stays.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::Plan;
use crate::sellers::{Seller, SellerId};

/// How long an unused binding lives.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);

/// A bound seller's TTFT above this multiple of the pool's median escapes.
pub const SLOW_FACTOR: f64 = 3.0;

/// Sweep expired bindings every this many binds.
const SWEEP_EVERY: u64 = 1024;

#[derive(Debug)]
struct Binding {
    seller: SellerId,
    expires: Instant,
}

/// Session bindings, shared by all requests: sharded by key, so requests of
/// different conversations rarely meet on a lock (and never hold one long).
#[derive(Debug)]
pub struct Bindings {
    ttl: Duration,
    shards: Vec<Mutex<Shard>>,
}

#[derive(Debug, Default)]
struct Shard {
    map: HashMap<u64, Binding>,
    binds: u64,
}

/// Number of lock shards.
const SHARDS: usize = 16;

impl Default for Bindings {
    fn default() -> Self {
        Self::new(DEFAULT_TTL)
    }
}

impl Bindings {
    /// Bindings that expire `ttl` after their last use.
    pub fn new(ttl: Duration) -> Self {
        Bindings {
            ttl,
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
        }
    }

    fn shard(&self, key: u64) -> std::sync::MutexGuard<'_, Shard> {
        // Keys are hashes already: their low bits spread evenly.
        let i = (key % SHARDS as u64) as usize;
        self.shards[i].lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The seller `key` is bound to at `now`.
    pub fn lookup(&self, key: u64, now: Instant) -> Option<SellerId> {
        let mut shard = self.shard(key);
        match shard.map.get(&key) {
            Some(b) if b.expires > now => Some(b.seller.clone()),
            Some(_) => {
                shard.map.remove(&key);
                None
            }
            None => None,
        }
    }

    /// Binds `key` to `seller` (or refreshes the binding) at `now`.
    pub fn bind(&self, key: u64, seller: &SellerId, now: Instant) {
        let mut shard = self.shard(key);
        shard.binds += 1;
        if shard.binds.is_multiple_of(SWEEP_EVERY) {
            shard.map.retain(|_, b| b.expires > now);
        }
        let expires = now + self.ttl;
        shard.map.insert(
            key,
            Binding {
                seller: seller.clone(),
                expires,
            },
        );
    }

    /// Drops `key`'s binding.
    pub fn unbind(&self, key: u64) {
        self.shard(key).map.remove(&key);
    }

    /// Live bindings (for observation).
    pub fn len(&self) -> usize {
        (0..SHARDS).map(|i| self.shard(i as u64).map.len()).sum()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What stickiness did to one plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stick {
    /// The bound seller goes first.
    Hit,
    /// The bound seller is full: go elsewhere this once, keep the binding.
    SpillOver,
    /// The binding is dropped, with the reason.
    Escape(&'static str),
}

/// Puts the bound seller first in `plan` when it is still a good choice.
/// `full` says whether a seller is at its concurrency limit.
pub fn apply(plan: &mut Plan, bound: &SellerId, full: impl Fn(&Seller) -> bool) -> Stick {
    let Some(i) = plan.ranked.iter().position(|r| &r.seller.id == bound) else {
        return Stick::Escape("no longer a candidate");
    };
    if plan.ranked[i].note.is_some() {
        return Stick::Escape("out of rotation");
    }
    let mut others: Vec<f64> = plan
        .ranked
        .iter()
        .filter(|r| &r.seller.id != bound && r.note.is_none())
        .filter_map(|r| r.inputs.ttft_ms)
        .collect();
    if let (Some(mine), false) = (plan.ranked[i].inputs.ttft_ms, others.is_empty()) {
        others.sort_by(f64::total_cmp);
        let median = others[others.len() / 2];
        if mine > SLOW_FACTOR * median {
            return Stick::Escape("far slower than the pool");
        }
    }
    if full(&plan.ranked[i].seller) {
        return Stick::SpillOver;
    }
    let r = plan.ranked.remove(i);
    plan.ranked.insert(0, r);
    Stick::Hit
}

/// Hard affinity: puts `seller` first when it is in `plan` and usable (not
/// out of rotation). Returns whether it did.
pub fn pin(plan: &mut Plan, seller: &SellerId) -> bool {
    match plan
        .ranked
        .iter()
        .position(|r| &r.seller.id == seller && r.note.is_none())
    {
        Some(i) => {
            let r = plan.ranked.remove(i);
            plan.ranked.insert(0, r);
            true
        }
        None => false,
    }
}

/// The key of a Responses API response id in [`Bindings`].
pub fn response_key(id: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    ("response", id).hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::fixtures::{candidate, order};
    use crate::scheduler::{plan, Candidate, RoutingSettings};

    fn cand(id: &str, ttft: f64, out: bool) -> Candidate {
        candidate(id, Some(ttft), 1.0, out.then_some("circuit open"))
    }

    #[test]
    fn bound_seller_goes_first_while_usable() {
        let mut p = plan(
            &RoutingSettings::default(),
            vec![cand("a", 200.0, false), cand("b", 300.0, false)],
            false,
        );
        assert_eq!(apply(&mut p, &"b".into(), |_| false), Stick::Hit);
        assert_eq!(order(&p), ["b", "a"]);
    }

    #[test]
    fn escapes_when_out_gone_or_far_slower() {
        let mut p = plan(
            &RoutingSettings::default(),
            vec![cand("a", 200.0, false), cand("b", 300.0, true)],
            false,
        );
        assert_eq!(
            apply(&mut p, &"b".into(), |_| false),
            Stick::Escape("out of rotation")
        );
        assert_eq!(
            apply(&mut p, &"gone".into(), |_| false),
            Stick::Escape("no longer a candidate")
        );
        let mut p = plan(
            &RoutingSettings::default(),
            vec![
                cand("a", 200.0, false),
                cand("c", 250.0, false),
                cand("slow", 2000.0, false),
            ],
            false,
        );
        assert_eq!(
            apply(&mut p, &"slow".into(), |_| false),
            Stick::Escape("far slower than the pool")
        );
    }

    #[test]
    fn pin_puts_the_producing_seller_first_only_while_usable() {
        let mut p = plan(
            &RoutingSettings::default(),
            vec![cand("a", 200.0, false), cand("b", 300.0, true)],
            false,
        );
        assert!(pin(&mut p, &"a".into()));
        assert!(!pin(&mut p, &"b".into()), "out of rotation");
        assert_eq!(order(&p)[0], "a");
        assert_ne!(response_key("resp_1"), response_key("resp_2"));
    }

    #[test]
    fn a_full_seller_spills_over_without_losing_the_session() {
        let mut p = plan(
            &RoutingSettings::default(),
            vec![cand("a", 200.0, false), cand("b", 300.0, false)],
            false,
        );
        assert_eq!(
            apply(&mut p, &"b".into(), |s| s.id.as_str() == "b"),
            Stick::SpillOver
        );
        assert_eq!(order(&p)[0], "a");
    }

    #[test]
    fn bindings_expire_after_ttl_since_last_use() {
        let b = Bindings::new(Duration::from_secs(60));
        let t0 = Instant::now();
        b.bind(7, &"a".into(), t0);
        assert_eq!(b.lookup(7, t0 + Duration::from_secs(59)), Some("a".into()));
        b.bind(7, &"a".into(), t0 + Duration::from_secs(59));
        assert_eq!(b.lookup(7, t0 + Duration::from_secs(100)), Some("a".into()));
        assert_eq!(b.lookup(7, t0 + Duration::from_secs(200)), None);
        assert!(b.is_empty());
    }
}
