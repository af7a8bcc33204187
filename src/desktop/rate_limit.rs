//! How often the desktop may notify: at most one notification per kind and
//! seller per [`PER_KEY_GAP`], and at most [`GLOBAL_MAX`] in any
//! [`GLOBAL_WINDOW`], so a flapping seller cannot flood the desktop. Pure:
//! the caller passes the time.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// The shortest gap between two notifications of one kind about one seller.
pub const PER_KEY_GAP: Duration = Duration::from_secs(60);
/// The window of the global cap.
pub const GLOBAL_WINDOW: Duration = Duration::from_secs(60);
/// Notifications allowed in one global window.
pub const GLOBAL_MAX: usize = 5;

/// The limiter's memory.
#[derive(Debug, Default)]
pub struct RateLimit {
    last: HashMap<String, Instant>,
    recent: VecDeque<Instant>,
}

impl RateLimit {
    /// Whether a notification with `key` (kind + seller) may go out at `now`;
    /// a `true` counts it.
    pub fn allow(&mut self, key: &str, now: Instant) -> bool {
        while self
            .recent
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) >= GLOBAL_WINDOW)
        {
            self.recent.pop_front();
        }
        if self
            .last
            .get(key)
            .is_some_and(|&t| now.saturating_duration_since(t) < PER_KEY_GAP)
        {
            return false;
        }
        if self.recent.len() >= GLOBAL_MAX {
            return false;
        }
        // Forget keys that can no longer block, so the map stays small.
        self.last
            .retain(|_, &mut t| now.saturating_duration_since(t) < PER_KEY_GAP);
        self.last.insert(key.to_string(), now);
        self.recent.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_per_key_per_minute() {
        let t0 = Instant::now();
        let mut rl = RateLimit::default();
        assert!(rl.allow("circuitOpened:a", t0));
        assert!(!rl.allow("circuitOpened:a", t0 + Duration::from_secs(59)));
        assert!(rl.allow("circuitOpened:b", t0 + Duration::from_secs(1)));
        assert!(rl.allow("circuitClosed:a", t0 + Duration::from_secs(1)));
        assert!(rl.allow("circuitOpened:a", t0 + Duration::from_secs(60)));
    }

    #[test]
    fn a_global_cap_per_window() {
        let t0 = Instant::now();
        let mut rl = RateLimit::default();
        for i in 0..GLOBAL_MAX {
            assert!(rl.allow(&format!("k{i}"), t0));
        }
        assert!(!rl.allow("another", t0 + Duration::from_secs(30)));
        // Refused ones do not count against their key later.
        assert!(rl.allow("another", t0 + GLOBAL_WINDOW));
    }
}
