//! What the scheduler did, counted: selections, sticky hits and escapes,
//! spill-overs, pinned continuations, switches, and how long deciding took.
//! Lock-free counters, read by `GET /api/scheduler`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

/// The scheduler's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    selections: AtomicU64,
    sticky_hits: AtomicU64,
    sticky_escapes: AtomicU64,
    spill_overs: AtomicU64,
    pinned: AtomicU64,
    switches: AtomicU64,
    all_failed: AtomicU64,
    decision_nanos: AtomicU64,
    decision_max_nanos: AtomicU64,
}

/// One thing the scheduler counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A conversation went to its bound seller.
    StickyHit,
    /// A conversation left its bound seller.
    StickyEscape,
    /// A bound seller was full; the request went elsewhere once.
    SpillOver,
    /// A continuation went to the seller of its previous response.
    Pinned,
    /// A request moved on to another seller after a failure.
    Switch,
    /// Every seller failed a request.
    AllFailed,
}

/// A copy for `/api/scheduler`.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetricsView {
    /// Requests planned.
    pub selections: u64,
    /// Requests served by their conversation's bound seller.
    pub sticky_hits: u64,
    /// Sticky hits per selection.
    pub sticky_hit_ratio: f64,
    /// Conversations moved off their seller (out of rotation, gone, slow).
    pub sticky_escapes: u64,
    /// Requests that spilled over from a full bound seller.
    pub spill_overs: u64,
    /// Continuations sent to the seller of their previous response.
    pub pinned: u64,
    /// Moves to another seller after a failure.
    pub switches: u64,
    /// Switches per selection.
    pub switch_rate: f64,
    /// Requests every seller failed.
    pub all_failed: u64,
    /// Mean time to plan one request, in µs.
    pub decision_mean_micros: f64,
    /// Longest time to plan one request, in µs.
    pub decision_max_micros: f64,
}

impl Metrics {
    /// Counts one planned request and how long planning took.
    pub fn selected(&self, took: Duration) {
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.selections.fetch_add(1, Ordering::Relaxed);
        self.decision_nanos.fetch_add(nanos, Ordering::Relaxed);
        self.decision_max_nanos.fetch_max(nanos, Ordering::Relaxed);
    }

    /// Counts one event.
    pub fn count(&self, event: Event) {
        let counter = match event {
            Event::StickyHit => &self.sticky_hits,
            Event::StickyEscape => &self.sticky_escapes,
            Event::SpillOver => &self.spill_overs,
            Event::Pinned => &self.pinned,
            Event::Switch => &self.switches,
            Event::AllFailed => &self.all_failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A consistent-enough copy (each counter read once).
    pub fn view(&self) -> MetricsView {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let selections = get(&self.selections);
        let per = |n: u64| {
            if selections == 0 {
                0.0
            } else {
                n as f64 / selections as f64
            }
        };
        MetricsView {
            selections,
            sticky_hits: get(&self.sticky_hits),
            sticky_hit_ratio: per(get(&self.sticky_hits)),
            sticky_escapes: get(&self.sticky_escapes),
            spill_overs: get(&self.spill_overs),
            pinned: get(&self.pinned),
            switches: get(&self.switches),
            switch_rate: per(get(&self.switches)),
            all_failed: get(&self.all_failed),
            decision_mean_micros: per(get(&self.decision_nanos)) / 1000.0,
            decision_max_micros: get(&self.decision_max_nanos) as f64 / 1000.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_ratios() {
        let m = Metrics::default();
        assert_eq!(m.view().sticky_hit_ratio, 0.0);
        for _ in 0..4 {
            m.selected(Duration::from_micros(2));
        }
        m.selected(Duration::from_micros(10));
        m.count(Event::StickyHit);
        m.count(Event::StickyHit);
        m.count(Event::Switch);
        let v = m.view();
        assert_eq!((v.selections, v.sticky_hits, v.switches), (5, 2, 1));
        assert_eq!((v.sticky_hit_ratio, v.switch_rate), (0.4, 0.2));
        assert_eq!((v.decision_mean_micros, v.decision_max_micros), (3.6, 10.0));
    }
}
