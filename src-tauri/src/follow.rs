//! The tray follows the core: one task on the core's runtime waits on the
//! core's change signals (routing and proxy switch, notices, the agents'
//! drift watch, the desktop settings, sellers-file reloads, finished
//! requests, and a poke from the tray's own actions), and after any of them
//! re-reads the core and updates the tray — at most once a second. Notices
//! also become desktop notifications (switchable, rate-limited). With
//! nothing happening the task sleeps on its receivers: no timer runs,
//! except one that fires once a minute after the last request so the
//! tokens/min line falls back to zero.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tauri::{AppHandle, Runtime};
use tauri_plugin_notification::NotificationExt;
use tokenbuddy::desktop::rate_limit::RateLimit;
use tokenbuddy::desktop::status::{TokenRate, RATE_WINDOW};
use tokenbuddy::notices::{Notice, NoticeKind};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;

use crate::core::Handles;
use crate::snapshot::{self, Snapshot, Traffic};

/// The shortest gap between two tray updates.
const UPDATE_GAP: Duration = Duration::from_secs(1);

/// Asks the follower for a fresh look (after a tray action the core does
/// not signal, such as autostart).
#[derive(Clone)]
pub struct Poke(Arc<watch::Sender<u64>>);

impl Poke {
    /// Marks the tray stale.
    pub fn poke(&self) {
        self.0.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// A poke handle and its receiver.
pub fn poke() -> (Poke, watch::Receiver<u64>) {
    let (tx, rx) = watch::channel(0);
    (Poke(Arc::new(tx)), rx)
}

/// Whether `TOKENBUDDY_DESKTOP_TRACE_MENU=1` asks for a line per menu rebuild.
fn tracing_menu() -> bool {
    std::env::var("TOKENBUDDY_DESKTOP_TRACE_MENU").is_ok_and(|v| v == "1")
}

/// The notification title for a notice.
fn title(kind: NoticeKind) -> &'static str {
    match kind {
        NoticeKind::Failover => "Request served after failover",
        NoticeKind::CircuitOpened => "Seller down",
        NoticeKind::CircuitClosed => "Seller back",
        NoticeKind::CreditsLow => "Credits 80 % spent",
        NoticeKind::CreditsExhausted => "Credits exhausted",
        NoticeKind::SellersFileError => "Sellers file error",
        NoticeKind::AgentDrifted => "Agent config changed",
    }
}

/// Shows a desktop notification if they are on and the limit allows.
pub fn notify<R: Runtime>(
    app: &AppHandle<R>,
    h: &Handles,
    limit: &std::sync::Mutex<RateLimit>,
    key: &str,
    title: &str,
    body: &str,
) {
    if !h.desktop.settings.get().notifications {
        return;
    }
    let allowed = limit
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .allow(key, Instant::now());
    if !allowed {
        tracing::debug!(key, "notification held back by the rate limit");
        return;
    }
    if let Err(e) = app.notification().builder().title(title).body(body).show() {
        tracing::warn!("cannot show a notification: {e}");
    }
}

fn notice_key(n: &Notice) -> String {
    format!(
        "{}:{}",
        serde_json::to_value(n.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        n.seller.as_deref().unwrap_or("")
    )
}

/// Runs the follower until the core shuts down. `apply` puts a new snapshot
/// on the tray and says whether it did (no tray yet, or none at all: false,
/// so the next look applies it again).
pub fn spawn<R: Runtime>(
    app: AppHandle<R>,
    h: Handles,
    mut pokes: watch::Receiver<u64>,
    limit: Arc<std::sync::Mutex<RateLimit>>,
    autostart: impl Fn() -> Option<bool> + Send + Sync + 'static,
    apply: impl Fn(&Snapshot) -> bool + Send + Sync + 'static,
) {
    // Subscribed here, not in the task: nothing raised from now on is missed.
    let mut routing = h.proxy.scheduler.subscribe();
    let mut notices = h.proxy.notices.subscribe();
    let mut drift = h.agents.drift.subscribe();
    let mut desktop = h.desktop.settings.subscribe();
    let mut sellers = h.proxy.sellers.subscribe();
    let mut rows = h.proxy.store.subscribe();
    let shutdown = h.proxy.shutdown.clone();
    let runtime = h.runtime.clone();
    runtime.spawn(async move {
        let trace = tracing_menu();
        let mut rate = TokenRate::default();
        let mut traffic = Traffic::default();
        let mut decay: Option<tokio::time::Instant> = None;
        let mut last_update: Option<tokio::time::Instant> = None;
        let mut shown: Option<Snapshot> = None;
        let mut traced: Option<Snapshot> = None;
        let autostart = Arc::new(autostart);
        let mut first = true;
        // Agents are read from their files only after something that can
        // change them (not on every finished request).
        let mut agents_stale = true;
        loop {
            if !first {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    r = routing.changed() => if r.is_err() { return },
                    r = drift.changed() => { if r.is_err() { return } agents_stale = true; }
                    r = desktop.changed() => { if r.is_err() { return } agents_stale = true; }
                    r = sellers.changed() => { if r.is_err() { return } agents_stale = true; }
                    r = pokes.changed() => { if r.is_err() { return } agents_stale = true; }
                    r = notices.recv() => match r {
                        Ok(n) => notify(&app, &h, &limit, &notice_key(&n), title(n.kind), &n.message),
                        Err(RecvError::Lagged(_)) => {}
                        Err(RecvError::Closed) => return,
                    },
                    r = rows.recv() => match r {
                        Ok(row) => {
                            let u = &row.record.usage;
                            rate.add(Instant::now(), u.input.unwrap_or(0) + u.output.unwrap_or(0));
                            if row.record.seller.is_some() {
                                traffic.serving_now = row.record.seller.clone();
                            }
                            decay = Some(tokio::time::Instant::now() + RATE_WINDOW + Duration::from_secs(1));
                        }
                        Err(RecvError::Lagged(_)) => {}
                        Err(RecvError::Closed) => return,
                    },
                    () = async {
                        match decay {
                            Some(at) => tokio::time::sleep_until(at).await,
                            None => std::future::pending().await,
                        }
                    } => decay = None,
                }
            }
            first = false;
            // Coalesce: what arrives meanwhile shows in this one update.
            if let Some(last) = last_update {
                tokio::time::sleep_until(last + UPDATE_GAP).await;
            }
            last_update = Some(tokio::time::Instant::now());
            traffic.tokens_per_min = rate.per_minute(Instant::now());
            let (hh, tt, auto) = (h.clone(), traffic.clone(), Arc::clone(&autostart));
            let known = (!agents_stale)
                .then(|| shown.as_ref().or(traced.as_ref()).map(|s| s.agents.clone()))
                .flatten();
            let Ok(snap) =
                tokio::task::spawn_blocking(move || snapshot::gather(&hh, &tt, auto(), known)).await
            else {
                continue;
            };
            agents_stale = false;
            if shown.as_ref() == Some(&snap) {
                continue;
            }
            if trace && traced.as_ref() != Some(&snap) {
                println!("{}", snap.trace());
                traced = Some(snap.clone());
            }
            // Tray calls wait on the UI thread: keep them off the runtime's workers.
            if tokio::task::block_in_place(|| apply(&snap)) {
                shown = Some(snap);
            }
        }
    });
}
