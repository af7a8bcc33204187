//! A market simulation: six simulated sellers that differ in TTFT,
//! throughput, price and failure pattern, many concurrent conversations, a
//! virtual clock, a fixed seed — seconds to run, the same result every time.
//!
//! The sellers' behaviour is simulated; everything that decides is ours: the
//! pool (breakers, blocks, stats), the scheduler (plan, stickiness,
//! exploration) and the proxy's own failover loop (`proxy::failover`: the
//! walk over the plan, the budget, the error table) — the very piece
//! `forward.rs` drives, not a copy. For each scorer it prints mean TTFT,
//! mean price, client-visible errors, load share, stickiness and max
//! in-flight, and asserts what the scheduler promises.

mod support;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use support::seeded::SplitMix as Rng;
use tokenbuddy::pool::{InFlight, Pool, Sample};
use tokenbuddy::protocol::Protocol;
use tokenbuddy::proxy::failover::Failover;
use tokenbuddy::proxy::outcome::Outcome;
use tokenbuddy::scheduler::sticky::Stick;
use tokenbuddy::scheduler::{gather, RoutingSettings, Scheduler, Scorer};
use tokenbuddy::sellers::{Secret, Seller};

/// How a simulated seller fails.
#[derive(Clone, Copy)]
enum Pattern {
    Steady,
    /// Refuses connections between these virtual seconds.
    DownBetween(f64, f64),
    /// Answers 429 with Retry-After (s) between these virtual seconds.
    StormBetween(f64, f64, u64),
}

struct Model {
    id: &'static str,
    ttft_ms: f64,
    tokens_per_sec: f64,
    price: f64,
    max_concurrency: u32,
    pattern: Pattern,
    /// Starts with measurements (a seller running for a while) or none (new).
    seeded: bool,
}

fn market() -> Vec<Model> {
    let m = |id, ttft_ms, tokens_per_sec, price, max_concurrency, pattern, seeded| Model {
        id,
        ttft_ms,
        tokens_per_sec,
        price,
        max_concurrency,
        pattern,
        seeded,
    };
    vec![
        m("mid", 400.0, 80.0, 0.6, 6, Pattern::Steady, true),
        m(
            "flapper",
            160.0,
            110.0,
            0.9,
            6,
            Pattern::DownBetween(120.0, 220.0),
            true,
        ),
        m(
            "storm",
            300.0,
            90.0,
            0.5,
            6,
            Pattern::StormBetween(60.0, 150.0, 20),
            true,
        ),
        m("cheap", 1100.0, 30.0, 0.3, 40, Pattern::Steady, true),
        m("fast", 150.0, 120.0, 1.0, 40, Pattern::Steady, true),
        m("newbie", 220.0, 100.0, 0.8, 6, Pattern::Steady, false),
    ]
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Ask { session: usize },
    Done { request: u64 },
}

struct Running {
    session: usize,
    seller: usize,
    ttft: Duration,
    generating: Duration,
    _slot: InFlight,
}

#[derive(Default, Debug)]
struct Report {
    requests: u64,
    errors: u64,
    ttft_ms: Vec<f64>,
    oracle_ttft_ms: Vec<f64>,
    price: Vec<f64>,
    oracle_price: Vec<f64>,
    served: HashMap<&'static str, u64>,
    max_in_flight: HashMap<&'static str, u32>,
    over_limit: u64,
    open_circuit_tries: u64,
    stays: u64,
    stay_chances: u64,
    failures: HashMap<&'static str, u64>,
    sticky_hit_ratio: f64,
    /// Requests of a conversation whose bound seller was healthy, had a free
    /// slot and a closed circuit — and of those, the ones stickiness kept.
    healthy_bound: u64,
    healthy_hits: u64,
}

const SECONDS: f64 = 300.0;
const SESSIONS: usize = 48;
const TOKENS: u64 = 120;

fn healthy(m: &Model, t: f64) -> bool {
    match m.pattern {
        Pattern::Steady => true,
        Pattern::DownBetween(a, b) | Pattern::StormBetween(a, b, _) => !(a..b).contains(&t),
    }
}

fn simulate(scorer: Scorer, seed: u64) -> Report {
    let dir = tempfile::tempdir().expect("tempdir");
    let scheduler = Scheduler::new(
        dir.path(),
        tokenbuddy::scheduler::EXPLORE_CHANCE,
        true,
        seed,
    );
    scheduler
        .set_routing(RoutingSettings {
            scorer,
            ..RoutingSettings::default()
        })
        .expect("routing");
    let models = market();
    let sellers: Vec<Arc<Seller>> = models
        .iter()
        .map(|m| {
            Arc::new(Seller {
                id: m.id.into(),
                name: m.id.into(),
                base_url: "http://sim".into(),
                api_key: Secret::new("k"),
                protocols: vec![Protocol::OpenAiChat],
                models: vec![],
                discount_ratio: m.price,
                service_fee_ratio: 0.0,
                priority: 0,
                max_concurrency: Some(m.max_concurrency),
                prices: Default::default(),
                credits: None,
                translation: true,
            })
        })
        .collect();
    let t0 = Instant::now();
    let w0 = SystemTime::now();
    let at = |secs: f64| t0 + Duration::from_secs_f64(secs);
    let pool = Pool::new();
    for (m, s) in models.iter().zip(&sellers) {
        if m.seeded {
            for _ in 0..3 {
                pool.stats(&s.id).record(
                    &Sample {
                        ttft: Some(Duration::from_secs_f64(m.ttft_ms / 1000.0)),
                        output_tokens: Some(TOKENS),
                        generating: Some(Duration::from_secs_f64(TOKENS as f64 / m.tokens_per_sec)),
                    },
                    t0,
                );
            }
        }
    }
    let mut rng = Rng(seed);
    let mut events = BinaryHeap::new();
    let mut seq = 0u64;
    let mut push = |events: &mut BinaryHeap<_>, t: f64, e: Event| {
        seq += 1;
        events.push(Reverse(((t * 1e9) as u64, seq, e)));
    };
    // Each session is a series of conversations of a few turns each.
    let mut conversation: Vec<(u64, u32)> = (0..SESSIONS).map(|s| (s as u64 * 1000, 0)).collect();
    for s in 0..SESSIONS {
        let t = rng.between(0.0, 5.0);
        push(&mut events, t, Event::Ask { session: s });
    }
    let mut running: HashMap<u64, Running> = HashMap::new();
    let mut report = Report::default();
    let mut next_request = 0u64;

    while let Some(Reverse((nanos, _, event))) = events.pop() {
        let t = nanos as f64 / 1e9;
        if t > SECONDS {
            break;
        }
        let now = at(t);
        let wall = w0 + Duration::from_secs_f64(t);
        match event {
            Event::Done { request } => {
                let Some(r) = running.remove(&request) else {
                    continue;
                };
                let stats = pool.stats(&sellers[r.seller].id);
                stats.record(
                    &Sample {
                        ttft: Some(r.ttft),
                        output_tokens: Some(TOKENS),
                        generating: Some(r.generating),
                    },
                    now,
                );
                let think = rng.between(2.0, 8.0);
                push(&mut events, t + think, Event::Ask { session: r.session });
            }
            Event::Ask { session } => {
                report.requests += 1;
                let (key, turns) = &mut conversation[session];
                if *turns >= 3 + (rng.unit() * 8.0) as u32 {
                    *key += 1;
                    *turns = 0;
                }
                *turns += 1;
                // Could the conversation stay where it was? (Healthy, circuit
                // closed, a free slot: a full seller's spill-over is allowed.)
                let bound = scheduler
                    .sessions
                    .lookup(*key, now)
                    .and_then(|b| sellers.iter().position(|s| s.id == b.seller));
                let could_stay = bound.filter(|&prev| {
                    let stats = pool.stats(&sellers[prev].id);
                    healthy(&models[prev], t)
                        && stats.circuit(now) == "closed"
                        && stats.in_flight() < models[prev].max_concurrency
                });
                let decision = scheduler.decide(
                    &pool,
                    gather(&pool, sellers.iter(), now, wall),
                    *key,
                    None,
                    now,
                );
                scheduler.metrics.selected(Duration::ZERO);
                if could_stay.is_some() {
                    report.healthy_bound += 1;
                    report.healthy_hits += u64::from(decision.stick == Some(Stick::Hit));
                }
                // The oracles: the fastest and the cheapest healthy seller now.
                let up: Vec<&Model> = models.iter().filter(|m| healthy(m, t)).collect();
                report
                    .oracle_ttft_ms
                    .push(up.iter().map(|m| m.ttft_ms).fold(f64::INFINITY, f64::min));
                report
                    .oracle_price
                    .push(up.iter().map(|m| m.price).fold(f64::INFINITY, f64::min));

                // The proxy's own failover loop, fed simulated outcomes.
                let mut failover = Failover::new(&decision, now, Duration::from_secs(180));
                let mut served = None;
                while let Some(at) = failover.next(&pool, now) {
                    let idx = sellers
                        .iter()
                        .position(|s| s.id == at.seller.id)
                        .expect("known seller");
                    let model = &models[idx];
                    if at.stats.circuit(now) == "open" {
                        report.open_circuit_tries += 1;
                    }
                    let Some(slot) = at.stats.try_begin(at.seller.max_concurrency) else {
                        failover.full(&at);
                        continue;
                    };
                    let in_flight = at.stats.in_flight();
                    let max = report.max_in_flight.entry(model.id).or_default();
                    *max = (*max).max(in_flight);
                    if in_flight > model.max_concurrency {
                        report.over_limit += 1;
                    }
                    let failure = match model.pattern {
                        Pattern::DownBetween(a, b) if (a..b).contains(&t) => Some(Outcome::Connect),
                        Pattern::StormBetween(a, b, retry) if (a..b).contains(&t) => {
                            Some(Outcome::Status {
                                code: 429,
                                retry_after: Some(Duration::from_secs(retry)),
                            })
                        }
                        _ => None,
                    };
                    if let Some(outcome) = failure {
                        *report.failures.entry(model.id).or_default() += 1;
                        failover.failed(&at, outcome, "simulated".into(), now, wall);
                        drop(slot);
                        continue;
                    }
                    at.stats.record_success(now);
                    let ttft =
                        Duration::from_secs_f64(model.ttft_ms * rng.between(0.9, 1.1) / 1000.0);
                    let generating = Duration::from_secs_f64(TOKENS as f64 / model.tokens_per_sec);
                    next_request += 1;
                    running.insert(
                        next_request,
                        Running {
                            session,
                            seller: idx,
                            ttft,
                            generating,
                            _slot: slot,
                        },
                    );
                    push(
                        &mut events,
                        t + (ttft + generating).as_secs_f64(),
                        Event::Done {
                            request: next_request,
                        },
                    );
                    failover.served(&scheduler, &at, now);
                    served = Some(idx);
                    break;
                }
                match served {
                    Some(idx) => {
                        let m = &models[idx];
                        report.ttft_ms.push(m.ttft_ms);
                        report.price.push(m.price);
                        *report.served.entry(m.id).or_default() += 1;
                        if let Some(prev) = could_stay {
                            report.stay_chances += 1;
                            report.stays += u64::from(prev == idx);
                        }
                    }
                    None => {
                        report.errors += 1;
                        failover.exhausted(&scheduler);
                        push(&mut events, t + 1.0, Event::Ask { session });
                    }
                }
            }
        }
    }
    report.sticky_hit_ratio = scheduler.metrics.view().sticky_hit_ratio;
    report
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

/// Of the requests whose conversation's seller was healthy and free, the
/// share stickiness kept there.
fn stickiness(r: &Report) -> f64 {
    r.healthy_hits as f64 / r.healthy_bound.max(1) as f64
}

fn print(name: &str, r: &Report) {
    let mut share: Vec<String> = r
        .served
        .iter()
        .map(|(id, n)| format!("{id} {:.0}%", 100.0 * *n as f64 / r.requests as f64))
        .collect();
    share.sort();
    println!(
        "{name:>8}: {} requests, mean TTFT {:.0} ms (oracle {:.0}), mean price {:.3} (cheapest {:.3}), errors {}, stays {:.1}%, stickiness {:.1}% (hits per selection {:.0}%), max in flight {:?}, seller failures {:?}; load: {}",
        r.requests,
        mean(&r.ttft_ms),
        mean(&r.oracle_ttft_ms),
        mean(&r.price),
        mean(&r.oracle_price),
        r.errors,
        100.0 * r.stays as f64 / r.stay_chances.max(1) as f64,
        100.0 * stickiness(r),
        100.0 * r.sticky_hit_ratio,
        r.max_in_flight,
        r.failures,
        share.join(", ")
    );
}

fn common(name: &str, r: &Report) {
    print(name, r);
    assert!(
        r.requests > 1000,
        "{name}: the market ran ({} requests)",
        r.requests
    );
    assert_eq!(
        r.errors, 0,
        "{name}: no client-visible errors while healthy sellers exist"
    );
    assert_eq!(
        r.over_limit, 0,
        "{name}: no seller above its max_concurrency"
    );
    assert_eq!(
        r.open_circuit_tries, 0,
        "{name}: an open circuit gets only half-open trials"
    );
    let stays = r.stays as f64 / r.stay_chances.max(1) as f64;
    assert!(
        stays >= 0.95,
        "{name}: conversations stay on a healthy seller ({stays:.3})"
    );
    assert!(
        stickiness(r) >= 0.90,
        "{name}: stickiness while the bound seller is healthy ({:.3})",
        stickiness(r)
    );
    assert!(
        r.served.get("newbie").copied().unwrap_or(0) > 0,
        "{name}: the new seller gets measured"
    );
}

#[test]
fn speed_scorer_stays_near_the_fastest_healthy_seller() {
    let r = simulate(Scorer::Speed, 7);
    common("speed", &r);
    let (got, oracle) = (mean(&r.ttft_ms), mean(&r.oracle_ttft_ms));
    assert!(
        got <= oracle * 1.15,
        "mean TTFT {got:.0} ms vs oracle {oracle:.0} ms"
    );
}

#[test]
fn discount_scorer_stays_near_the_cheapest_healthy_seller() {
    let r = simulate(Scorer::Discount, 7);
    common("discount", &r);
    let (got, oracle) = (mean(&r.price), mean(&r.oracle_price));
    assert!(
        got <= oracle * 1.10,
        "mean price {got:.3} vs cheapest {oracle:.3}"
    );
}

#[test]
fn balanced_scorer_keeps_its_promises() {
    let r = simulate(Scorer::Balanced, 7);
    common("balanced", &r);
    // The storm seller (well scored, so wanted) rate-limited for 90 s with
    // Retry-After 20 s: it was kept out for that long each time.
    let storm = r.failures.get("storm").copied().unwrap_or(0);
    assert!(
        (1..=8).contains(&storm),
        "429s from the storm seller: {storm}"
    );
}
