//! How a seller is scored.
//!
//! Each factor is normalised across the candidates of one request to 0–1
//! (1 is best): TTFT and price lower-is-better, throughput higher-is-better,
//! health as is. So a 2 s seller and a 3 s seller still differ, and 300 tok/s
//! beats 150 tok/s — unlike fixed scales that flatten everything past a cap.
//! A factor a seller has no data for scores a neutral 0.5 (a new seller is
//! neither best nor worst) and is named in `missing`; so does a factor with
//! no spread (a single measured seller is not thereby the best).
//!
//! Weights: speed = 0.65·TTFT + 0.25·throughput + 0.10·health;
//! balanced = 0.35·health + 0.20·TTFT + 0.20·throughput + 0.25·price;
//! discount = 0.80·price + 0.15·(speed's TTFT/throughput mix) + 0.05·health,
//! so price leads and speed and health decide between near-equal prices.
//!
//! [`standing`] weighs the same factors as ratios to the best candidate
//! instead: scale-free and stable, for deciding whether a conversation's
//! seller has fallen far behind (min–max would call a 160 ms seller the
//! worst next to a 150 ms one).

use serde::Serialize;

use super::mode::Scorer;

/// What is known about one candidate when it is scored.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Inputs {
    /// Time-decayed TTFT in ms.
    pub ttft_ms: Option<f64>,
    /// Output tokens/s over the recent window.
    pub tokens_per_sec: Option<f64>,
    /// 0–1: one minus the time-decayed error rate.
    pub health: f64,
    /// Effective price multiplier (discount × (1 + fee)).
    pub price: f64,
}

/// A candidate's score and how it was made.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Breakdown {
    /// Weighted total, 0–1.
    pub total: f64,
    /// Normalised TTFT factor.
    pub ttft: f64,
    /// Normalised throughput factor.
    pub throughput: f64,
    /// Health factor.
    pub health: f64,
    /// Normalised price factor.
    pub price: f64,
    /// Inputs that were missing and scored neutral.
    pub missing: Vec<&'static str>,
}

/// The neutral score of a factor without data.
pub const NEUTRAL: f64 = 0.5;

/// Normalises `values` to 0–1 with 1 the best; `None` stays `None`.
fn normalise(values: &[Option<f64>], lower_is_better: bool) -> Vec<Option<f64>> {
    let known = values.iter().flatten().copied().filter(|v| v.is_finite());
    let (min, max) = known.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    values
        .iter()
        .map(|v| {
            let v = (*v)?;
            if !v.is_finite() {
                return None;
            }
            if max - min < 1e-9 {
                // One measured seller, or all alike: nothing to tell them
                // apart, so no one is "best" on this factor.
                return Some(NEUTRAL);
            }
            let t = (v - min) / (max - min);
            Some(if lower_is_better { 1.0 - t } else { t })
        })
        .collect()
}

/// How much each factor counts under one scorer (they sum to 1).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Weights {
    ttft: f64,
    throughput: f64,
    health: f64,
    price: f64,
}

fn weights(scorer: Scorer) -> Weights {
    let w = |ttft, throughput, health, price| Weights {
        ttft,
        throughput,
        health,
        price,
    };
    match scorer {
        Scorer::Speed => w(0.65, 0.25, 0.10, 0.0),
        Scorer::Balanced => w(0.20, 0.20, 0.35, 0.25),
        // 0.15 of speed's own TTFT/throughput mix (0.65 : 0.25).
        Scorer::Discount => w(0.15 * 0.65 / 0.90, 0.15 * 0.25 / 0.90, 0.05, 0.80),
    }
}

impl Weights {
    fn total(&self, ttft: f64, throughput: f64, health: f64, price: f64) -> f64 {
        self.ttft * ttft + self.throughput * throughput + self.health * health + self.price * price
    }
}

/// Each candidate's standing under `scorer`, in the same order: the
/// scorer's weights over ratios to the best candidate on each factor
/// (TTFT and price best/own, throughput own/best, health as is). 1 means
/// best on everything; a factor a seller has no data for counts 1 (no
/// evidence that it is behind).
pub fn standing(scorer: Scorer, inputs: &[Inputs]) -> Vec<f64> {
    let usable = |v: Option<f64>| v.filter(|v| v.is_finite() && *v > 0.0);
    let best_low = |f: &dyn Fn(&Inputs) -> Option<f64>| {
        inputs
            .iter()
            .filter_map(|i| usable(f(i)))
            .fold(f64::INFINITY, f64::min)
    };
    let best_ttft = best_low(&|i| i.ttft_ms);
    let best_price = best_low(&|i| Some(i.price));
    let best_tps = inputs
        .iter()
        .filter_map(|i| usable(i.tokens_per_sec))
        .fold(0.0, f64::max);
    let w = weights(scorer);
    inputs
        .iter()
        .map(|i| {
            let low =
                |own: Option<f64>, best: f64| usable(own).map_or(1.0, |v| (best / v).min(1.0));
            let tps = usable(i.tokens_per_sec).map_or(1.0, |v| (v / best_tps).min(1.0));
            w.total(
                low(i.ttft_ms, best_ttft),
                tps,
                i.health.clamp(0.0, 1.0),
                low(Some(i.price), best_price),
            )
        })
        .collect()
}

/// Scores every candidate of one request, in the same order.
pub fn score_all(scorer: Scorer, inputs: &[Inputs]) -> Vec<Breakdown> {
    let w = weights(scorer);
    let ttft = normalise(&inputs.iter().map(|i| i.ttft_ms).collect::<Vec<_>>(), true);
    let tps = normalise(
        &inputs.iter().map(|i| i.tokens_per_sec).collect::<Vec<_>>(),
        false,
    );
    let price = normalise(
        &inputs.iter().map(|i| Some(i.price)).collect::<Vec<_>>(),
        true,
    );
    inputs
        .iter()
        .enumerate()
        .map(|(i, input)| {
            let mut missing = Vec::new();
            let ttft = ttft[i].unwrap_or_else(|| {
                missing.push("ttft");
                NEUTRAL
            });
            let throughput = tps[i].unwrap_or_else(|| {
                missing.push("tokens_per_sec");
                NEUTRAL
            });
            let price = price[i].unwrap_or(NEUTRAL);
            let health = input.health.clamp(0.0, 1.0);
            Breakdown {
                total: w.total(ttft, throughput, health, price),
                ttft,
                throughput,
                health,
                price,
                missing,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(ttft: Option<f64>, tps: Option<f64>, health: f64, price: f64) -> Inputs {
        Inputs {
            ttft_ms: ttft,
            tokens_per_sec: tps,
            health,
            price,
        }
    }

    fn best(scorer: Scorer, inputs: &[Inputs]) -> usize {
        let scores = score_all(scorer, inputs);
        (0..inputs.len())
            .max_by(|&a, &b| scores[a].total.total_cmp(&scores[b].total))
            .unwrap()
    }

    #[test]
    fn slow_sellers_still_differ_and_fast_ones_too() {
        // The old fixed scales scored every TTFT over 1 s as 0 and every
        // throughput over 100 tok/s as 100: these would all have tied.
        let slow = [
            input(Some(2000.0), Some(50.0), 1.0, 1.0),
            input(Some(3000.0), Some(50.0), 1.0, 1.0),
        ];
        assert_eq!(best(Scorer::Speed, &slow), 0);
        let fast = [
            input(Some(300.0), Some(150.0), 1.0, 1.0),
            input(Some(300.0), Some(300.0), 1.0, 1.0),
        ];
        assert_eq!(best(Scorer::Speed, &fast), 1);
    }

    #[test]
    fn each_scorer_picks_its_own_winner() {
        let market = [
            input(Some(200.0), Some(120.0), 1.0, 1.0), // fast, full price
            input(Some(900.0), Some(40.0), 1.0, 0.4),  // slow, cheap
            input(Some(400.0), Some(90.0), 0.6, 0.7),  // middling, flaky
        ];
        assert_eq!(best(Scorer::Speed, &market), 0);
        assert_eq!(best(Scorer::Discount, &market), 1);
        assert_eq!(best(Scorer::Balanced, &market), 0);
    }

    #[test]
    fn discount_breaks_near_price_ties_by_speed() {
        let near = [
            input(Some(900.0), Some(40.0), 1.0, 0.41),
            input(Some(200.0), Some(120.0), 1.0, 0.40),
            input(Some(200.0), Some(120.0), 1.0, 0.405),
        ];
        assert_eq!(best(Scorer::Discount, &near), 1);
        let tie = [
            input(Some(900.0), None, 1.0, 0.5),
            input(Some(300.0), None, 1.0, 0.5),
        ];
        assert_eq!(
            best(Scorer::Discount, &tie),
            1,
            "equal price: the faster wins"
        );
    }

    #[test]
    fn missing_data_is_neutral_not_zero() {
        let s = score_all(
            Scorer::Speed,
            &[
                input(Some(100.0), Some(100.0), 1.0, 1.0),
                input(None, None, 1.0, 1.0),
                input(Some(900.0), Some(10.0), 1.0, 1.0),
            ],
        );
        assert_eq!(s[1].missing, vec!["ttft", "tokens_per_sec"]);
        assert_eq!((s[1].ttft, s[1].throughput), (NEUTRAL, NEUTRAL));
        assert!(s[0].total > s[1].total && s[1].total > s[2].total, "{s:?}");
    }

    #[test]
    fn standing_is_a_ratio_to_the_best_per_scorer() {
        let close = [
            input(Some(150.0), Some(120.0), 1.0, 1.0),
            input(Some(160.0), Some(110.0), 1.0, 1.0),
        ];
        let s = standing(Scorer::Speed, &close);
        assert!((s[0] - 1.0).abs() < 1e-9, "{s:?}");
        // Min-max would put it at 0.1 (health only); it is nearly as good.
        assert!(s[1] > 0.9, "{s:?}");
        let market = [
            input(Some(150.0), Some(120.0), 1.0, 1.0), // fast, full price
            input(Some(1100.0), Some(30.0), 1.0, 0.3), // slow, cheap
            input(Some(400.0), Some(80.0), 1.0, 0.6),  // middling
        ];
        let d = standing(Scorer::Discount, &market);
        assert!(d[1] > d[2] && d[2] > d[0], "price leads: {d:?}");
        assert!(d[0] < 0.6 * d[1], "the fast seller is far behind: {d:?}");
        let sp = standing(Scorer::Speed, &market);
        assert!(sp[1] < 0.5 * sp[0], "the slow seller is far behind: {sp:?}");
        let missing = standing(
            Scorer::Speed,
            &[
                input(Some(100.0), None, 1.0, 1.0),
                input(None, None, 1.0, 1.0),
            ],
        );
        assert_eq!(
            missing,
            vec![1.0, 1.0],
            "no data is no evidence of being behind"
        );
    }

    #[test]
    fn health_matters_for_balanced() {
        let same_but_sick = [
            input(Some(300.0), Some(100.0), 0.2, 1.0),
            input(Some(300.0), Some(100.0), 1.0, 1.0),
        ];
        assert_eq!(best(Scorer::Balanced, &same_but_sick), 1);
        assert_eq!(best(Scorer::Speed, &same_but_sick), 1);
    }
}
