//! Choosing sellers for one request: the routing mode says who is eligible,
//! the scorer ranks them, sellers out of rotation go last. Every plan can be
//! explained: scores with their factors, and each excluded seller's reason.
//!
//! Pure: the proxy gathers the inputs and walks the plan.

#[cfg(test)]
pub(crate) mod fixtures;
pub mod live;
pub mod load;
pub mod metrics;
pub mod mode;
pub mod score;
pub mod settings;
pub mod sticky;
pub mod walk;

use std::sync::Arc;

use serde::Serialize;

pub use live::{Decision, Scheduler};
pub use mode::{Eligibility, RoutingMode, RoutingSettings, Scorer};
pub use score::{Breakdown, Inputs};

use crate::pool::Pool;
use crate::sellers::Seller;
use crate::translate::Via;
use std::time::{Instant, SystemTime};

/// Default share of requests that put a not-yet-measured seller first, so
/// new sellers get measured instead of sitting at a neutral score forever.
pub const EXPLORE_CHANCE: f64 = 0.05;

/// Health below which a seller is never explored (it is cold because it fails).
const EXPLORE_MIN_HEALTH: f64 = 0.5;

/// One compatible seller with what is known of it.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The seller.
    pub seller: Arc<Seller>,
    /// Scoring inputs.
    pub inputs: Inputs,
    /// Why it is out of rotation now (blocked, circuit open), if it is.
    pub out: Option<String>,
    /// Why it may not be tried at all (its credits are used up), if so.
    pub excluded: Option<String>,
    /// It does not speak the client's protocol and is reached through
    /// this translation.
    pub via: Option<Via>,
}

/// A seller in the order to try.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Ranked {
    /// The seller.
    #[serde(serialize_with = "seller_id")]
    #[schema(value_type = String)]
    pub seller: Arc<Seller>,
    /// Its score.
    pub score: Breakdown,
    /// What the score was made from.
    pub inputs: Inputs,
    /// Why it comes late: standby (fixed mode) or out of rotation.
    pub note: Option<String>,
    /// Put first to get measured.
    pub explored: bool,
    /// Reached through translation: `chat ← messages` (the seller's
    /// protocol, then the client's); `null` when it speaks the client's.
    #[serde(serialize_with = "via_label")]
    #[schema(value_type = Option<String>)]
    pub via: Option<Via>,
}

fn via_label<S: serde::Serializer>(via: &Option<Via>, s: S) -> Result<S::Ok, S::Error> {
    match via {
        Some(v) => s.serialize_some(&v.label()),
        None => s.serialize_none(),
    }
}

fn seller_id<S: serde::Serializer>(seller: &Arc<Seller>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(seller.id.as_str())
}

/// A seller that will not be tried, and why.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Excluded {
    /// Seller id.
    pub seller: String,
    /// Why.
    pub reason: String,
}

/// The order in which a request tries sellers.
#[derive(Debug, Clone, Serialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// Sellers to try, best first.
    pub ranked: Vec<Ranked>,
    /// Sellers never tried for this request.
    pub excluded: Vec<Excluded>,
}

/// Reads what the pool knows of each seller at `now`.
pub fn gather<'a>(
    pool: &Pool,
    sellers: impl Iterator<Item = &'a Arc<Seller>>,
    now: Instant,
    wall: SystemTime,
) -> Vec<Candidate> {
    sellers
        .map(|seller| {
            let stats = pool.stats(&seller.id);
            let (ttft_ms, tokens_per_sec, health) = stats.scoring_inputs(now);
            Candidate {
                seller: Arc::clone(seller),
                inputs: Inputs {
                    ttft_ms,
                    tokens_per_sec,
                    health,
                    price: seller.effective_price(),
                },
                out: stats.cooldown(now, wall).map(|c| c.cause),
                excluded: None,
                via: None,
            }
        })
        .collect()
}

/// Ranks `candidates` under `settings`. With `explore`, the best healthy
/// seller without a TTFT measurement goes first.
pub fn plan(settings: &RoutingSettings, candidates: Vec<Candidate>, explore: bool) -> Plan {
    let mut excluded = Vec::new();
    let mut kept = Vec::new();
    for c in candidates {
        if let Some(reason) = &c.excluded {
            excluded.push(Excluded {
                seller: c.seller.id.to_string(),
                reason: reason.clone(),
            });
            continue;
        }
        match settings.eligibility(c.seller.id.as_str()) {
            Eligibility::Excluded(reason) => excluded.push(Excluded {
                seller: c.seller.id.to_string(),
                reason: reason.to_string(),
            }),
            Eligibility::Eligible => kept.push((c, false)),
            Eligibility::Standby => kept.push((c, true)),
        }
    }
    let inputs: Vec<Inputs> = kept.iter().map(|(c, _)| c.inputs).collect();
    let scores = score::score_all(settings.scorer, &inputs);
    let mut ranked: Vec<(u8, Ranked)> = kept
        .into_iter()
        .zip(scores)
        .map(|((c, standby), score)| {
            // Tier: eligible, then standby, then out of rotation.
            let (tier, note) = match (&c.out, standby) {
                (Some(why), _) => (2, Some(format!("last resort: {why}"))),
                (None, true) => (1, Some("standby: not the fixed seller".to_string())),
                (None, false) => (0, None),
            };
            let ranked = Ranked {
                seller: c.seller,
                score,
                inputs: c.inputs,
                note,
                explored: false,
                via: c.via,
            };
            (tier, ranked)
        })
        .collect();
    // Stable: equal scores keep priority/file order, except that a seller
    // speaking the client's protocol goes before one reached through
    // translation (the answer passes through untouched, nothing is lost).
    ranked.sort_by(|(ta, a), (tb, b)| {
        ta.cmp(tb)
            .then(b.score.total.total_cmp(&a.score.total))
            .then(a.via.is_some().cmp(&b.via.is_some()))
    });
    let mut ranked: Vec<Ranked> = ranked.into_iter().map(|(_, r)| r).collect();
    if explore {
        let cold = ranked.iter().position(|r| {
            r.note.is_none()
                && r.score.missing.contains(&"ttft")
                && r.score.health >= EXPLORE_MIN_HEALTH
        });
        if let Some(i) = cold.filter(|&i| i > 0) {
            let mut r = ranked.remove(i);
            r.explored = true;
            ranked.insert(0, r);
        }
    }
    Plan { ranked, excluded }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{candidate, order};
    use super::*;

    fn cand(id: &str, ttft: Option<f64>, price: f64, out: Option<&str>) -> Candidate {
        candidate(id, ttft, price, out)
    }

    fn market() -> Vec<Candidate> {
        vec![
            cand("slow", Some(900.0), 0.4, None),
            cand("fast", Some(150.0), 1.0, None),
            cand("down", Some(100.0), 0.3, Some("circuit open")),
            cand("new", None, 0.7, None),
        ]
    }

    #[test]
    fn full_auto_ranks_by_scorer_and_puts_out_sellers_last() {
        let mut s = RoutingSettings {
            scorer: Scorer::Speed,
            ..RoutingSettings::default()
        };
        let p = plan(&s, market(), false);
        assert_eq!(order(&p), ["fast", "new", "slow", "down"]);
        assert_eq!(
            p.ranked[3].note.as_deref(),
            Some("last resort: circuit open")
        );
        s.scorer = Scorer::Discount;
        assert_eq!(
            order(&plan(&s, market(), false)),
            ["slow", "new", "fast", "down"]
        );
    }

    #[test]
    fn a_seller_out_of_credits_is_excluded_with_its_reason() {
        let mut m = market();
        m[0].excluded = Some("credits exhausted".into());
        let p = plan(&RoutingSettings::default(), m, false);
        assert!(!order(&p).contains(&"slow"));
        assert_eq!(p.excluded.len(), 1);
        assert_eq!(
            (p.excluded[0].seller.as_str(), p.excluded[0].reason.as_str()),
            ("slow", "credits exhausted")
        );
    }

    #[test]
    fn fixed_and_fixed_set_modes() {
        let fixed = RoutingSettings {
            mode: RoutingMode::Fixed,
            fixed_seller: Some("slow".into()),
            scorer: Scorer::Speed,
            ..RoutingSettings::default()
        };
        let p = plan(&fixed, market(), false);
        assert_eq!(order(&p), ["slow", "fast", "new", "down"]);
        assert!(p.ranked[1]
            .note
            .as_deref()
            .is_some_and(|n| n.starts_with("standby")));
        let strict = RoutingSettings {
            fixed_failover: false,
            ..fixed
        };
        let p = plan(&strict, market(), false);
        assert_eq!(order(&p), ["slow"]);
        assert_eq!(p.excluded.len(), 3);
        let set = RoutingSettings {
            mode: RoutingMode::FixedSet,
            fixed_set: vec!["slow".into(), "new".into()],
            scorer: Scorer::Speed,
            ..RoutingSettings::default()
        };
        let p = plan(&set, market(), false);
        // One measured seller is not thereby better than an unmeasured one: a tie, file order.
        assert_eq!(order(&p), ["slow", "new"]);
        assert!(p
            .excluded
            .iter()
            .all(|e| e.reason == "not in the fixed set"));
    }

    #[test]
    fn a_native_seller_goes_before_a_translated_one_when_scores_tie() {
        let via = crate::translate::via(
            crate::protocol::Protocol::AnthropicMessages,
            crate::protocol::Protocol::OpenAiChat,
        );
        let mut m = vec![
            cand("translated", Some(200.0), 1.0, None),
            cand("native", Some(200.0), 1.0, None),
            cand("better", Some(100.0), 0.5, None),
        ];
        m[0].via = via;
        m[2].via = via;
        let p = plan(&RoutingSettings::default(), m, false);
        // A better score still wins through translation; a tie goes native.
        assert_eq!(order(&p), ["better", "native", "translated"]);
        let json = serde_json::to_value(&p.ranked).expect("serialises");
        assert_eq!(json[0]["via"], "chat ← messages");
        assert_eq!(json[1]["via"], serde_json::Value::Null);
    }

    #[test]
    fn cold_sellers_are_explored_a_little() {
        let s = RoutingSettings {
            scorer: Scorer::Discount,
            ..RoutingSettings::default()
        };
        let p = plan(&s, market(), true);
        assert_eq!(order(&p)[0], "new");
        assert!(p.ranked[0].explored);
        let p = plan(&s, market(), false);
        assert_eq!(order(&p)[0], "slow");
    }
}
