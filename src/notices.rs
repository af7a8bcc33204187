//! The notice feed: what happened lately, in plain words (a failover, a
//! circuit opening or closing, credits running low, a broken sellers file,
//! an agent drifting). Raised where it happens; kept in a bounded in-memory
//! ring for `GET /api/notices` and broadcast to connected `/api/events`
//! clients. Raising is a short lock and a broadcast send: with no client
//! listening the send finds no receiver and costs nothing more.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio::sync::broadcast;

use crate::clock::Clock;
use crate::store::ms_of;

/// Notices kept for `GET /api/notices`.
pub const KEPT: usize = 200;

/// Notices a slow `/api/events` client may fall behind by before it is resynced.
const BROADCAST_CAPACITY: usize = 64;

/// What kind of thing happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum NoticeKind {
    /// A request was served by another seller after one failed it.
    Failover,
    /// A seller's circuit opened: it gets nothing until its cooldown ends.
    CircuitOpened,
    /// A seller's circuit closed again after a good trial.
    CircuitClosed,
    /// A seller's credits are at least 80 % spent.
    CreditsLow,
    /// A seller's credits are spent: it is left out.
    CreditsExhausted,
    /// The sellers file could not be loaded; the last good set serves.
    SellersFileError,
    /// An agent's config changed since TokenBuddy configured it.
    AgentDrifted,
}

/// One notice, as `/api/notices` and the `notice` event show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Notice {
    /// When, in ms since the Unix epoch.
    pub at_ms: i64,
    /// What happened.
    pub kind: NoticeKind,
    /// The seller concerned, if one is.
    pub seller: Option<String>,
    /// What happened, in plain words.
    pub message: String,
}

/// The feed; shared by everything that raises notices.
pub struct Notices {
    clock: Arc<dyn Clock>,
    kept: Mutex<VecDeque<Arc<Notice>>>,
    live: broadcast::Sender<Arc<Notice>>,
}

impl std::fmt::Debug for Notices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notices").finish_non_exhaustive()
    }
}

impl Notices {
    /// An empty feed stamping notices with `clock`'s wall time.
    pub fn new(clock: Arc<dyn Clock>) -> Notices {
        Notices {
            clock,
            kept: Mutex::new(VecDeque::with_capacity(KEPT)),
            live: broadcast::channel(BROADCAST_CAPACITY).0,
        }
    }

    /// Records a notice and hands it to whoever listens now.
    pub fn raise(&self, kind: NoticeKind, seller: Option<&str>, message: impl Into<String>) {
        let notice = Arc::new(Notice {
            at_ms: ms_of(self.clock.wall()),
            kind,
            seller: seller.map(str::to_string),
            message: message.into(),
        });
        {
            let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
            if kept.len() == KEPT {
                kept.pop_front();
            }
            kept.push_back(Arc::clone(&notice));
        }
        // No receiver: nobody listens, nothing to do.
        let _ = self.live.send(notice);
    }

    /// The latest `limit` notices, newest first.
    pub fn latest(&self, limit: usize) -> Vec<Arc<Notice>> {
        let kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        kept.iter().rev().take(limit).cloned().collect()
    }

    /// Notices as they are raised.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Notice>> {
        self.live.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn keeps_the_latest_newest_first_and_bounded() {
        let feed = Notices::new(Arc::new(ManualClock::new()));
        for i in 0..(KEPT + 5) {
            feed.raise(NoticeKind::Failover, Some("a"), format!("n{i}"));
        }
        let all = feed.latest(usize::MAX);
        assert_eq!(all.len(), KEPT);
        assert_eq!(all[0].message, format!("n{}", KEPT + 4));
        assert_eq!(all[KEPT - 1].message, "n5");
        assert_eq!(feed.latest(2).len(), 2);
    }

    #[test]
    fn listeners_get_what_is_raised_and_the_shape_is_camel_case() {
        let feed = Notices::new(Arc::new(ManualClock::new()));
        let mut rx = feed.subscribe();
        feed.raise(NoticeKind::CircuitOpened, Some("s"), "opened");
        let n = rx.try_recv().unwrap();
        let v = serde_json::to_value(&*n).unwrap();
        assert_eq!(v["kind"], "circuitOpened");
        assert_eq!(v["seller"], "s");
        assert!(v["atMs"].is_i64());
        feed.raise(NoticeKind::SellersFileError, None, "bad");
        let v = serde_json::to_value(&*rx.try_recv().unwrap()).unwrap();
        assert_eq!(v["kind"], "sellersFileError");
        assert!(v["seller"].is_null());
    }
}
