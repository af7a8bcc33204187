//! Live state of one seller: TTFT, throughput, counts, its circuit breaker
//! and any block (rate limit, bad key) with its cause and end.
//!
//! Updated once per request (never per chunk) under a short, uncontended
//! mutex that is never held across an `.await`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::breaker::{Admission, Breaker, BreakerPolicy, BreakerState};
use super::change::{PoolChange, PoolWatch};
use super::ewma::Ewma;
use super::penalty::Penalty;
use super::window::ThroughputWindow;
use crate::sellers::SellerId;

/// How fast TTFT samples fade.
const TTFT_HALF_LIFE: Duration = Duration::from_secs(60);
/// The throughput window.
const THROUGHPUT_SPAN: Duration = Duration::from_secs(600);

/// What one finished request measured.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sample {
    /// From sending upstream to the first semantic event (streams only).
    pub ttft: Option<Duration>,
    /// Output tokens (from usage, else counted deltas).
    pub output_tokens: Option<u64>,
    /// From the first to the last semantic event.
    pub generating: Option<Duration>,
}

/// Why a seller is being skipped, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cooldown {
    /// Human-readable cause, e.g. `HTTP 429 (Retry-After 30 s)`.
    pub cause: String,
    /// Monotonic end.
    pub until: Instant,
    /// Wall-clock end, for display.
    pub until_wall: SystemTime,
}

#[derive(Debug)]
struct Inner {
    requests: u64,
    errors: u64,
    output_tokens: u64,
    ttft_last: Option<Duration>,
    ttft: Ewma,
    throughput: ThroughputWindow,
    /// Out of rotation until a time (rate limit, bad key, no credit).
    block: Option<Cooldown>,
    /// When a real request last succeeded (a newer live result beats a probe).
    last_success: Option<Instant>,
    /// The latest probe.
    probe: Option<ProbeRecord>,
    breaker: Breaker,
    last_error: Option<String>,
}

/// One seller's live statistics, shared by all requests.
#[derive(Debug)]
pub struct SellerStats {
    in_flight: AtomicU32,
    /// Woken whenever a request ends, for those waiting for a free slot.
    slot_freed: tokio::sync::Notify,
    /// Requests waiting for a slot now.
    waiting: AtomicU32,
    inner: Mutex<Inner>,
    /// Who to tell of circuit and cooldown changes, and as which seller.
    watch: Option<(SellerId, PoolWatch)>,
}

impl Default for SellerStats {
    fn default() -> Self {
        SellerStats {
            in_flight: AtomicU32::new(0),
            slot_freed: tokio::sync::Notify::new(),
            waiting: AtomicU32::new(0),
            inner: Mutex::new(Inner {
                requests: 0,
                errors: 0,
                output_tokens: 0,
                ttft_last: None,
                ttft: Ewma::new(TTFT_HALF_LIFE),
                throughput: ThroughputWindow::new(THROUGHPUT_SPAN),
                block: None,
                last_success: None,
                probe: None,
                breaker: Breaker::new(BreakerPolicy::default()),
                last_error: None,
            }),
            watch: None,
        }
    }
}

/// Counts one request in flight until dropped.
#[derive(Debug)]
pub struct InFlight(Arc<SellerStats>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.0.slot_freed.notify_waiters();
    }
}

/// A point-in-time copy of a seller's statistics (the control plane's
/// `StatsView` is how the API shows it).
#[derive(Debug, Clone, PartialEq)]
pub struct StatsSnapshot {
    /// Attempts sent to this seller.
    pub requests: u64,
    /// Attempts that failed (connect, timeout, 429, 5xx, broken stream…).
    pub errors: u64,
    /// Requests running now.
    pub in_flight: u32,
    /// Requests waiting for a free slot (at `max_concurrency`).
    pub waiting: u32,
    /// Output tokens served in total.
    pub output_tokens: u64,
    /// TTFT of the latest stream, in ms.
    pub ttft_last_ms: Option<f64>,
    /// Time-decayed mean TTFT, in ms.
    pub ttft_ewma_ms: Option<f64>,
    /// Output tokens/s over the last 10 minutes.
    pub tokens_per_sec: Option<f64>,
    /// Why the seller is out of rotation now, and until when.
    pub cooldown: Option<CooldownUntil>,
    /// Circuit breaker: `closed`, `open` or `half-open`.
    pub circuit: &'static str,
    /// Time-decayed error rate, 0–1.
    pub error_rate: f64,
    /// The latest failure, for display.
    pub last_error: Option<String>,
    /// The latest background probe.
    pub probe: Option<ProbeRecord>,
}

/// What one probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeOutcome {
    /// Why the seller did not answer well, if it did not.
    pub error: Option<String>,
    /// What that does to the seller (from the error table).
    pub penalty: super::penalty::Penalty,
}

/// The latest probe: when, how long, and what went wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeRecord {
    /// The seller answered.
    pub ok: bool,
    /// Round trip, in ms.
    pub latency_ms: f64,
    /// When, in ms since the Unix epoch.
    pub at_ms: u64,
    /// What went wrong.
    pub error: Option<String>,
}

/// A cooldown: why, and until when on the wall clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CooldownUntil {
    /// Why.
    pub cause: String,
    /// Until when, in ms since the Unix epoch.
    pub until_ms: u64,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl SellerStats {
    /// Statistics of seller `id` that tell `watch` of their changes.
    pub fn watched(id: SellerId, watch: PoolWatch) -> SellerStats {
        SellerStats {
            watch: Some((id, watch)),
            ..SellerStats::default()
        }
    }

    /// Tells the watch, if any (called with the lock released).
    fn tell(&self, change: Option<PoolChange>) {
        if let (Some((id, watch)), Some(change)) = (&self.watch, change) {
            watch.tell(id, &change);
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere must not take the router down with it.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Marks one request as started; the guard ends it.
    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.lock().requests += 1;
        InFlight(Arc::clone(self))
    }

    /// Starts a request unless `max` are already in flight (checked and
    /// taken in one step, so two requests cannot both take the last slot).
    pub fn try_begin(self: &Arc<Self>, max: Option<u32>) -> Option<InFlight> {
        let Some(max) = max else {
            return Some(self.begin());
        };
        self.in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()?;
        self.lock().requests += 1;
        Some(InFlight(Arc::clone(self)))
    }

    /// Waits until fewer than `max` requests are in flight, or `limit` passes;
    /// returns whether a slot is free.
    pub async fn wait_for_slot(&self, max: u32, limit: std::time::Duration) -> bool {
        struct Waiting<'a>(&'a AtomicU32);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::AcqRel);
            }
        }
        self.waiting.fetch_add(1, Ordering::AcqRel);
        let _waiting = Waiting(&self.waiting);
        let wait = async {
            loop {
                let freed = self.slot_freed.notified();
                if self.in_flight() < max {
                    return;
                }
                freed.await;
            }
        };
        tokio::time::timeout(limit, wait).await.is_ok()
    }

    /// Requests waiting for a slot now.
    pub fn waiting(&self) -> u32 {
        self.waiting.load(Ordering::Acquire)
    }

    /// Requests running now.
    pub fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Records what a successful (or cleanly ended) request measured.
    pub fn record(&self, sample: &Sample, now: Instant) {
        let mut s = self.lock();
        if let Some(ttft) = sample.ttft {
            s.ttft_last = Some(ttft);
            s.ttft.add(ms(ttft), now);
        }
        if let Some(tokens) = sample.output_tokens {
            s.output_tokens += tokens;
            if let Some(gen) = sample.generating.filter(|g| !g.is_zero()) {
                if tokens >= 2 {
                    s.throughput.add(tokens, gen, now);
                }
            }
        }
    }

    /// Seeds the estimates from history (the store's last hour of this
    /// seller) when nothing live is known yet: one TTFT sample's weight, so
    /// live samples take over within a minute, and a throughput sample the
    /// window forgets after its span. `ttft_last` stays empty: no request
    /// of this run has measured it.
    pub fn warm_start(&self, ttft_ms: Option<f64>, tokens_per_sec: Option<f64>, now: Instant) {
        let mut s = self.lock();
        if let Some(t) = ttft_ms.filter(|t| t.is_finite() && *t >= 0.0) {
            if s.ttft.value().is_none() {
                s.ttft.add(t, now);
            }
        }
        if let Some(tps) = tokens_per_sec.filter(|v| v.is_finite() && *v > 0.0) {
            if s.throughput.tokens_per_sec(now).is_none() {
                // Ten seconds' worth keeps the rate's precision in whole tokens.
                let span = Duration::from_secs(10);
                s.throughput
                    .add((tps * span.as_secs_f64()).round() as u64, span, now);
            }
        }
    }

    /// A request reached the seller and was answered well.
    pub fn record_success(&self, now: Instant) {
        let mut s = self.lock();
        let was_closed = matches!(s.breaker.state(now), BreakerState::Closed);
        s.breaker.on_success(now);
        s.last_success = Some(now);
        let closed = !was_closed && matches!(s.breaker.state(now), BreakerState::Closed);
        drop(s);
        self.tell(closed.then_some(PoolChange::CircuitClosed));
    }

    /// Records a background probe started at `started`. A probe that could
    /// not reach the seller is a health failure — unless a real request
    /// succeeded since it started: the newer, live result wins.
    pub fn record_probe(
        &self,
        outcome: &ProbeOutcome,
        started: Instant,
        now: Instant,
        wall: SystemTime,
    ) {
        let mut s = self.lock();
        s.probe = Some(ProbeRecord {
            ok: outcome.error.is_none(),
            latency_ms: ms(now.saturating_duration_since(started)),
            at_ms: wall
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0),
            error: outcome.error.clone(),
        });
        let Some(error) = &outcome.error else {
            return;
        };
        if s.last_success.is_some_and(|t| t >= started) {
            return;
        }
        let cause = format!("probe: {error}");
        drop(s);
        self.record_failure(&cause, outcome.penalty, now, wall);
    }

    /// Records a failed attempt and applies its penalty.
    pub fn record_failure(&self, cause: &str, penalty: Penalty, now: Instant, wall: SystemTime) {
        let mut s = self.lock();
        s.errors += 1;
        s.last_error = Some(cause.to_string());
        let change = match penalty {
            Penalty::None => None,
            Penalty::Health => {
                let was_open = matches!(s.breaker.state(now), BreakerState::Open { .. });
                s.breaker.on_failure(cause, now);
                match s.breaker.state(now) {
                    BreakerState::Open { cause, .. } if !was_open => {
                        Some(PoolChange::CircuitOpened {
                            cause: cause.clone(),
                        })
                    }
                    _ => None,
                }
            }
            Penalty::Block(d) => {
                let until = now + d;
                // Never shorten a block already running.
                let longer = s.block.as_ref().is_none_or(|c| c.until < until);
                if longer {
                    s.block = Some(Cooldown {
                        cause: cause.to_string(),
                        until,
                        until_wall: wall + d,
                    });
                }
                longer.then_some(PoolChange::CooldownBegan)
            }
        };
        drop(s);
        self.tell(change);
    }

    /// Why the seller is out at `now`, if it is: a block, or an open circuit.
    /// A half-open circuit is not out: it is waiting for its trial.
    pub fn cooldown(&self, now: Instant, wall: SystemTime) -> Option<Cooldown> {
        let mut s = self.lock();
        if s.block.as_ref().is_some_and(|b| b.until <= now) {
            s.block = None;
        }
        if let Some(b) = &s.block {
            return Some(b.clone());
        }
        match s.breaker.state(now) {
            BreakerState::Open { until, cause } => Some(Cooldown {
                cause: format!("circuit open: {cause}"),
                until: *until,
                until_wall: wall + until.saturating_duration_since(now),
            }),
            _ => None,
        }
    }

    /// Whether the seller may take a request now: closed circuit and no
    /// block, or the half-open trial (which this call takes).
    pub fn admit(&self, now: Instant) -> bool {
        let mut s = self.lock();
        if s.block.as_ref().is_some_and(|b| b.until > now) {
            return false;
        }
        s.breaker.admit(now) != Admission::Deny
    }

    /// The circuit's state for display: `closed`, `open` or `half-open`.
    pub fn circuit(&self, now: Instant) -> &'static str {
        match self.lock().breaker.state(now) {
            BreakerState::Closed => "closed",
            BreakerState::Open { .. } => "open",
            BreakerState::HalfOpen { .. } => "half-open",
        }
    }

    /// What the scheduler scores: TTFT average (ms), tokens/s, health (0–1).
    pub fn scoring_inputs(&self, now: Instant) -> (Option<f64>, Option<f64>, f64) {
        let mut s = self.lock();
        let health = 1.0 - s.breaker.error_rate();
        (s.ttft.value(), s.throughput.tokens_per_sec(now), health)
    }

    /// Time-decayed error rate, 0–1.
    pub fn error_rate(&self) -> f64 {
        self.lock().breaker.error_rate()
    }

    /// A copy for display.
    pub fn snapshot(&self, now: Instant, wall: SystemTime) -> StatsSnapshot {
        let in_flight = self.in_flight();
        let cooldown = self.cooldown(now, wall);
        let circuit = self.circuit(now);
        let mut s = self.lock();
        StatsSnapshot {
            requests: s.requests,
            errors: s.errors,
            in_flight,
            waiting: self.waiting(),
            output_tokens: s.output_tokens,
            ttft_last_ms: s.ttft_last.map(ms),
            ttft_ewma_ms: s.ttft.value(),
            tokens_per_sec: s.throughput.tokens_per_sec(now),
            cooldown: cooldown.map(|c| CooldownUntil {
                cause: c.cause,
                until_ms: c
                    .until_wall
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_millis() as u64)
                    .unwrap_or(0),
            }),
            circuit,
            error_rate: s.breaker.error_rate(),
            last_error: s.last_error.clone(),
            probe: s.probe.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_ttft_throughput_and_counts() {
        let stats = Arc::new(SellerStats::default());
        let t0 = Instant::now();
        {
            let _g = stats.begin();
            assert_eq!(stats.in_flight(), 1);
        }
        assert_eq!(stats.in_flight(), 0);
        stats.record(
            &Sample {
                ttft: Some(Duration::from_millis(200)),
                output_tokens: Some(100),
                generating: Some(Duration::from_secs(2)),
            },
            t0,
        );
        let s = stats.snapshot(t0, SystemTime::now());
        assert_eq!(s.requests, 1);
        assert_eq!(s.ttft_last_ms, Some(200.0));
        assert_eq!(s.ttft_ewma_ms, Some(200.0));
        assert_eq!(s.tokens_per_sec, Some(50.0));
        assert_eq!(s.output_tokens, 100);
    }

    #[test]
    fn warm_start_seeds_only_what_is_unknown_and_live_samples_take_over() {
        let stats = SellerStats::default();
        let t0 = Instant::now();
        stats.warm_start(Some(400.0), Some(42.5), t0);
        let (ttft, tps, _) = stats.scoring_inputs(t0);
        assert_eq!((ttft, tps), (Some(400.0), Some(42.5)));
        assert_eq!(stats.snapshot(t0, SystemTime::now()).ttft_last_ms, None);
        // A second seed (a reload, say) changes nothing once known.
        stats.warm_start(Some(9.0), Some(1.0), t0);
        assert_eq!(stats.scoring_inputs(t0).0, Some(400.0));
        let later = t0 + Duration::from_secs(180);
        stats.record(
            &Sample {
                ttft: Some(Duration::from_millis(100)),
                output_tokens: None,
                generating: None,
            },
            later,
        );
        let ttft = stats.scoring_inputs(later).0.unwrap();
        assert!(
            ttft < 160.0,
            "three half-lives on, the live sample dominates: {ttft}"
        );
        stats.warm_start(Some(f64::NAN), Some(-1.0), later);
    }

    #[test]
    fn concurrency_limit_is_taken_atomically() {
        let stats = Arc::new(SellerStats::default());
        let first = stats.try_begin(Some(2)).unwrap();
        let _second = stats.try_begin(Some(2)).unwrap();
        assert!(stats.try_begin(Some(2)).is_none());
        drop(first);
        assert!(stats.try_begin(Some(2)).is_some());
        assert!(stats.try_begin(None).is_some(), "no limit");
    }

    #[tokio::test]
    async fn waiting_for_a_slot_ends_when_one_frees() {
        let stats = Arc::new(SellerStats::default());
        let busy = stats.try_begin(Some(1)).unwrap();
        let waiter = {
            let stats = Arc::clone(&stats);
            tokio::spawn(async move {
                stats
                    .wait_for_slot(1, std::time::Duration::from_secs(30))
                    .await
            })
        };
        drop(busy);
        assert!(waiter.await.unwrap(), "the freed slot ends the wait");
        let _busy = stats.try_begin(Some(1)).unwrap();
        tokio::time::pause();
        assert!(
            !stats
                .wait_for_slot(1, std::time::Duration::from_secs(2))
                .await,
            "bounded"
        );
    }

    #[test]
    fn a_failed_probe_hurts_unless_a_live_success_is_newer() {
        let stats = SellerStats::default();
        let t0 = Instant::now();
        let w0 = SystemTime::now();
        let down = ProbeOutcome {
            error: Some("cannot connect".into()),
            penalty: Penalty::Health,
        };
        stats.record_probe(&down, t0, t0 + Duration::from_millis(5), w0);
        assert_eq!(stats.snapshot(t0, w0).errors, 1);
        // A real request succeeded while the next probe was on its way: it wins.
        stats.record_success(t0 + Duration::from_secs(1));
        stats.record_probe(
            &down,
            t0 + Duration::from_millis(900),
            t0 + Duration::from_secs(2),
            w0,
        );
        let snap = stats.snapshot(t0, w0);
        assert_eq!(snap.errors, 1);
        assert_eq!(snap.probe.as_ref().map(|p| p.ok), Some(false));
        let up = ProbeOutcome {
            error: None,
            penalty: Penalty::None,
        };
        stats.record_probe(&up, t0, t0 + Duration::from_millis(30), w0);
        let probe = stats.snapshot(t0, w0).probe.unwrap();
        assert!(probe.ok && (probe.latency_ms - 30.0).abs() < 1e-6);
    }

    #[test]
    fn blocks_end_on_time_are_never_shortened_and_spare_health() {
        let stats = SellerStats::default();
        let t0 = Instant::now();
        let w0 = SystemTime::now();
        let s = Duration::from_secs;
        stats.record_failure("HTTP 429", Penalty::Block(s(30)), t0, w0);
        stats.record_failure("HTTP 429", Penalty::Block(s(1)), t0, w0);
        assert!(!stats.admit(t0 + s(29)));
        let c = stats.cooldown(t0 + s(29), w0).unwrap();
        assert_eq!(c.cause, "HTTP 429");
        assert!(stats.cooldown(t0 + s(30), w0).is_none());
        assert!(stats.admit(t0 + s(30)));
        assert_eq!(stats.circuit(t0), "closed");
        assert_eq!(stats.snapshot(t0, w0).errors, 2);
    }

    #[test]
    fn health_failures_open_the_circuit_and_a_trial_closes_it() {
        let stats = SellerStats::default();
        let t0 = Instant::now();
        let w0 = SystemTime::now();
        for _ in 0..3 {
            stats.record_failure("HTTP 500", Penalty::Health, t0, w0);
        }
        assert_eq!(stats.circuit(t0), "open");
        let c = stats.cooldown(t0, w0).unwrap();
        assert!(
            c.cause.starts_with("circuit open: 3 failures in a row"),
            "{}",
            c.cause
        );
        assert!(!stats.admit(t0));
        let later = c.until;
        assert!(stats.admit(later), "the half-open trial");
        assert!(!stats.admit(later), "only one trial");
        stats.record_success(later);
        assert_eq!(stats.circuit(later), "closed");
    }

    #[test]
    fn the_watch_hears_a_circuit_open_and_close_and_a_block_once_each() {
        let heard: Arc<Mutex<Vec<(String, PoolChange)>>> = Arc::default();
        let log = Arc::clone(&heard);
        let watch = PoolWatch::new(move |id, c| {
            log.lock().unwrap().push((id.to_string(), c.clone()));
        });
        let stats = SellerStats::watched("s".into(), watch);
        let (t0, w0) = (Instant::now(), SystemTime::now());
        for _ in 0..4 {
            stats.record_failure("HTTP 500", Penalty::Health, t0, w0);
        }
        stats.record_success(t0);
        let later = t0 + Duration::from_secs(6);
        assert!(stats.admit(later), "the half-open trial");
        stats.record_success(later);
        stats.record_success(later);
        let block = Penalty::Block(Duration::from_secs(30));
        stats.record_failure("HTTP 429", block, later, w0);
        stats.record_failure(
            "HTTP 429",
            Penalty::Block(Duration::from_secs(1)),
            later,
            w0,
        );
        let heard = heard.lock().unwrap().clone();
        let changes: Vec<&PoolChange> = heard.iter().map(|(_, c)| c).collect();
        assert!(heard.iter().all(|(id, _)| id == "s"));
        assert_eq!(changes.len(), 3, "{changes:?}");
        assert!(
            matches!(changes[0], PoolChange::CircuitOpened { cause } if cause.contains("3 failures in a row"))
        );
        assert_eq!(changes[1], &PoolChange::CircuitClosed);
        assert_eq!(changes[2], &PoolChange::CooldownBegan);
    }
}
