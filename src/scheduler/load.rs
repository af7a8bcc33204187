//! Load spreading: a new conversation does not always go to the single best
//! seller (which would fill up and leave the others idle). The top K eligible
//! sellers are put in a weighted-random order — weights fall off steeply with
//! the distance from the best score — drawn from the conversation's key, so
//! the order is stable for a conversation and varied across conversations.

use std::hash::{Hash, Hasher};

use super::Plan;

/// How many of the best sellers share new conversations.
pub const TOP_K: usize = 3;

/// Score distance at which a seller's weight falls by a factor e.
const TEMPERATURE: f64 = 0.03;

/// A uniform draw in (0, 1) from `seed` and `salt`.
fn draw(seed: u64, salt: &str) -> f64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (seed, salt).hash(&mut h);
    ((h.finish() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
}

/// Reorders the best [`TOP_K`] eligible sellers of `plan` (of the best's
/// priority) for the conversation `seed`. Sellers put first to explore,
/// standby or out of rotation keep their places.
pub fn spread(plan: &mut Plan, seed: u64) {
    let start = plan.ranked.iter().take_while(|r| r.explored).count();
    // Only among equals in the user's eyes: the same priority as the best.
    let priority = plan.ranked.get(start).map(|r| r.seller.priority);
    let end = plan.ranked[start..]
        .iter()
        .take(TOP_K)
        .take_while(|r| r.note.is_none() && Some(r.seller.priority) == priority)
        .count()
        + start;
    let Some(best) = plan.ranked.get(start).map(|r| r.score.total) else {
        return;
    };
    // Efraimidis–Spirakis: order by u^(1/w), a weighted draw without replacement.
    let mut keyed: Vec<(f64, usize)> = (start..end)
        .map(|i| {
            let r = &plan.ranked[i];
            let weight = ((r.score.total - best) / TEMPERATURE).exp();
            (
                draw(seed, r.seller.id.as_str()).powf(1.0 / weight.max(1e-9)),
                i,
            )
        })
        .collect();
    keyed.sort_by(|a, b| b.0.total_cmp(&a.0));
    let order: Vec<usize> = keyed.into_iter().map(|(_, i)| i).collect();
    let mut top: Vec<_> = plan.ranked.drain(start..end).collect();
    let reordered: Vec<_> = order.iter().map(|&i| top[i - start].clone()).collect();
    top.clear();
    plan.ranked.splice(start..start, reordered);
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::scheduler::fixtures::candidate;
    use crate::scheduler::{plan, Candidate, RoutingSettings, Scorer};

    fn cand(id: &str, ttft: f64) -> Candidate {
        candidate(id, Some(ttft), 1.0, None)
    }

    fn firsts(n: u64) -> HashMap<String, u64> {
        let settings = RoutingSettings {
            scorer: Scorer::Speed,
            ..RoutingSettings::default()
        };
        let mut count = HashMap::new();
        for seed in 0..n {
            let mut p = plan(
                &settings,
                vec![
                    cand("best", 150.0),
                    cand("close", 160.0),
                    cand("far", 900.0),
                    cand("worst", 1000.0),
                ],
                false,
            );
            spread(&mut p, seed);
            *count.entry(p.ranked[0].seller.id.to_string()).or_default() += 1;
            assert_eq!(p.ranked.len(), 4);
        }
        count
    }

    #[test]
    fn new_conversations_share_the_close_best_and_rarely_the_far() {
        let count = firsts(2000);
        let best = count.get("best").copied().unwrap_or(0);
        let close = count.get("close").copied().unwrap_or(0);
        let far = count.get("far").copied().unwrap_or(0);
        assert!(best > close && close > 200, "{count:?}");
        assert!(far < 20, "{count:?}");
        assert_eq!(count.get("worst"), None, "outside the top K");
    }

    #[test]
    fn the_order_is_stable_for_a_conversation() {
        let settings = RoutingSettings::default();
        let make = || {
            plan(
                &settings,
                vec![cand("a", 150.0), cand("b", 155.0), cand("c", 160.0)],
                false,
            )
        };
        let (mut p1, mut p2) = (make(), make());
        spread(&mut p1, 42);
        spread(&mut p2, 42);
        let ids = |p: &Plan| {
            p.ranked
                .iter()
                .map(|r| r.seller.id.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&p1), ids(&p2));
    }
}
