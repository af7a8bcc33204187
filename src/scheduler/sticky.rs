//! Stickiness: a conversation stays on the seller that served it (prompt
//! caches stay warm, answers stay consistent) while that seller is healthy.
//!
//! A binding (session key → seller) lasts `ttl` after its last use. It is
//! dropped — the session escapes — when the bound seller is out of rotation
//! (blocked, circuit open, standby), no longer a candidate, when the user
//! changed the routing since it was made (the conversation is re-planned
//! under the new settings), or when, by the current scorer, the bound
//! seller has fallen far behind the best candidate ([`score::standing`]:
//! scale-free, so a cheap seller is not thrown off for being slow under
//! `discount`, nor a 160 ms seller for not being the 150 ms one). A bound
//! seller that is merely full gets a brief spill-over: this request goes
//! elsewhere and the binding stays.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::score;
use super::{Plan, Scorer};
use crate::sellers::{Seller, SellerId};

/// How long an unused binding lives.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);

/// A bound seller whose standing by the current scorer is below this share
/// of the best candidate's escapes. Wide on purpose: load spreading places
/// conversations on near-best sellers, and small swings in measurements
/// must not move a conversation (and lose its prompt cache).
pub const ESCAPE_BELOW: f64 = 0.7;

/// Sweep expired bindings every this many binds.
const SWEEP_EVERY: u64 = 1024;

#[derive(Debug)]
struct Binding {
    seller: SellerId,
    epoch: u64,
    expires: Instant,
}

/// What a key is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    /// The seller.
    pub seller: SellerId,
    /// The routing settings' epoch when it was bound.
    pub epoch: u64,
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

    /// What `key` is bound to at `now`.
    pub fn lookup(&self, key: u64, now: Instant) -> Option<Bound> {
        let mut shard = self.shard(key);
        match shard.map.get(&key) {
            Some(b) if b.expires > now => Some(Bound {
                seller: b.seller.clone(),
                epoch: b.epoch,
            }),
            Some(_) => {
                shard.map.remove(&key);
                None
            }
            None => None,
        }
    }

    /// Binds `key` to `seller` (or refreshes the binding) at `now`, under
    /// the routing settings of `epoch`.
    pub fn bind(&self, key: u64, seller: &SellerId, epoch: u64, now: Instant) {
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
                epoch,
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

/// Puts the bound seller first in `plan` when it is still a good choice
/// under `scorer`. `full` says whether a seller is at its concurrency limit.
pub fn apply(
    plan: &mut Plan,
    bound: &SellerId,
    scorer: Scorer,
    full: impl Fn(&Seller) -> bool,
) -> Stick {
    let Some(i) = plan.ranked.iter().position(|r| &r.seller.id == bound) else {
        return Stick::Escape("no longer a candidate");
    };
    if plan.ranked[i].note.is_some() {
        return Stick::Escape("out of rotation");
    }
    // Standing among the sellers in rotation (the bound one included).
    let usable: Vec<usize> = (0..plan.ranked.len())
        .filter(|&j| plan.ranked[j].note.is_none())
        .collect();
    let inputs: Vec<_> = usable.iter().map(|&j| plan.ranked[j].inputs).collect();
    let standing = score::standing(scorer, &inputs);
    let best = standing.iter().copied().fold(0.0, f64::max);
    let mine = usable
        .iter()
        .position(|&j| j == i)
        .map_or(best, |k| standing[k]);
    if mine < ESCAPE_BELOW * best {
        return Stick::Escape("far behind the best seller by the current scorer");
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
    use crate::scheduler::{plan, Candidate, RoutingSettings, Scorer};

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
        assert_eq!(
            apply(&mut p, &"b".into(), Scorer::Balanced, |_| false),
            Stick::Hit
        );
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
            apply(&mut p, &"b".into(), Scorer::Balanced, |_| false),
            Stick::Escape("out of rotation")
        );
        assert_eq!(
            apply(&mut p, &"gone".into(), Scorer::Balanced, |_| false),
            Stick::Escape("no longer a candidate")
        );
        let speed = RoutingSettings {
            scorer: Scorer::Speed,
            ..RoutingSettings::default()
        };
        let mut p = plan(
            &speed,
            vec![
                cand("a", 200.0, false),
                cand("c", 250.0, false),
                cand("slow", 2000.0, false),
            ],
            false,
        );
        assert_eq!(
            apply(&mut p, &"slow".into(), Scorer::Speed, |_| false),
            Stick::Escape("far behind the best seller by the current scorer")
        );
        let mut p = plan(
            &speed,
            vec![cand("a", 200.0, false), cand("c", 215.0, false)],
            false,
        );
        assert_eq!(
            apply(&mut p, &"c".into(), Scorer::Speed, |_| false),
            Stick::Hit,
            "a little slower is not far behind"
        );
    }

    #[test]
    fn a_cheap_slow_seller_keeps_its_conversations_under_discount() {
        // r12: the old escape (TTFT over 3x the pool's median) threw every
        // conversation off the cheap seller under the discount scorer.
        let market = || {
            vec![
                candidate("fast", Some(150.0), 1.0, None),
                candidate("mid", Some(300.0), 0.6, None),
                candidate("cheap", Some(1100.0), 0.3, None),
            ]
        };
        let discount = RoutingSettings {
            scorer: Scorer::Discount,
            ..RoutingSettings::default()
        };
        let mut p = plan(&discount, market(), false);
        assert_eq!(
            apply(&mut p, &"cheap".into(), Scorer::Discount, |_| false),
            Stick::Hit
        );
        // The same slow seller under speed, and the pricey one under discount, escape.
        let mut p = plan(&discount, market(), false);
        assert!(matches!(
            apply(&mut p, &"fast".into(), Scorer::Discount, |_| false),
            Stick::Escape(_)
        ));
        let mut p = plan(
            &RoutingSettings {
                scorer: Scorer::Speed,
                ..discount
            },
            market(),
            false,
        );
        assert!(matches!(
            apply(&mut p, &"cheap".into(), Scorer::Speed, |_| false),
            Stick::Escape(_)
        ));
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
            apply(&mut p, &"b".into(), Scorer::Balanced, |s| s.id.as_str()
                == "b"),
            Stick::SpillOver
        );
        assert_eq!(order(&p)[0], "a");
    }

    #[test]
    fn bindings_expire_after_ttl_since_last_use() {
        let b = Bindings::new(Duration::from_secs(60));
        let t0 = Instant::now();
        let a = Some(Bound {
            seller: "a".into(),
            epoch: 3,
        });
        b.bind(7, &"a".into(), 3, t0);
        assert_eq!(b.lookup(7, t0 + Duration::from_secs(59)), a);
        b.bind(7, &"a".into(), 3, t0 + Duration::from_secs(59));
        assert_eq!(b.lookup(7, t0 + Duration::from_secs(100)), a);
        assert_eq!(b.lookup(7, t0 + Duration::from_secs(200)), None);
        assert!(b.is_empty());
    }
}
