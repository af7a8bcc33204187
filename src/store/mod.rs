//! The store: request log, usage and cost, credits and per-minute seller
//! history in SQLite (`<data dir>/tokenbuddy.db`), written off the request
//! path by one writer thread and read off the async workers.
//!
//! Prompts and answers are never stored: only what routing, metering and
//! billing need ([`record::RequestRecord`]).

pub mod config;
pub mod credits;
pub mod error;
pub mod minute;
pub mod open;
pub mod prune;
pub mod query;
pub mod read;
pub mod record;
pub mod schema;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::Connection;
use serde::Serialize;
use tokio::sync::{broadcast, oneshot};

pub use config::StoreConfig;
pub use credits::CreditState;
pub use error::StoreError;
pub use open::IntegrityEvent;
pub use prune::PruneReport;
pub use query::{
    HistoryPoint, HistoryQuery, RequestPage, RequestQuery, RequestRow, UsageBy, UsageQuery,
    UsageRow, WarmStart,
};
pub use record::{Attempt, RequestRecord};

use credits::Credits;
use writer::{Msg, Writer};

/// Committed rows kept for a slow subscriber before it starts missing some.
const EVENTS_CAPACITY: usize = 1024;

/// Milliseconds since the epoch of `t`.
pub fn ms_of(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    ms_of(SystemTime::now())
}

/// What the writer and the handles share.
struct Shared {
    credits: Credits,
    written: AtomicU64,
    dropped: AtomicU64,
    batches: AtomicU64,
    write_errors: AtomicU64,
    rows: AtomicU64,
    drop_logged: AtomicBool,
    last_prune: Mutex<Option<PruneReport>>,
    integrity: Option<IntegrityEvent>,
    events: broadcast::Sender<Arc<RequestRow>>,
    path: Option<PathBuf>,
    in_memory: bool,
}

struct Inner {
    shared: Arc<Shared>,
    tx: Option<SyncSender<Msg>>,
    reader: Option<Arc<Mutex<Connection>>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// The store's handle; cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

/// How the store is doing (`GET /api/store`, doctor).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StoreStatus {
    /// Whether the store keeps anything.
    pub enabled: bool,
    /// The database file.
    #[schema(value_type = Option<String>)]
    pub path: Option<PathBuf>,
    /// Whether it runs in memory (nothing survives a restart).
    pub in_memory: bool,
    /// Size of the database file and its write-ahead log, in bytes.
    pub size_bytes: u64,
    /// Rows in the request log.
    pub rows: u64,
    /// Records written since start.
    pub written: u64,
    /// Records dropped since start (queue full, or a batch that failed to write).
    pub dropped: u64,
    /// Transactions written since start.
    pub batches: u64,
    /// Write or prune failures since start.
    pub write_errors: u64,
    /// The last prune.
    pub last_prune: Option<PruneReport>,
    /// What went wrong opening the database, if anything.
    pub last_integrity_event: Option<IntegrityEvent>,
}

fn shared(path: Option<PathBuf>, in_memory: bool, integrity: Option<IntegrityEvent>) -> Shared {
    Shared {
        credits: Credits::default(),
        written: AtomicU64::new(0),
        dropped: AtomicU64::new(0),
        batches: AtomicU64::new(0),
        write_errors: AtomicU64::new(0),
        rows: AtomicU64::new(0),
        drop_logged: AtomicBool::new(false),
        last_prune: Mutex::new(None),
        integrity,
        events: broadcast::channel(EVENTS_CAPACITY).0,
        path,
        in_memory,
    }
}

impl Store {
    /// Opens `<data_dir>/tokenbuddy.db` and starts the writer; never fails:
    /// an unusable file is moved aside and replaced, and if no file can be
    /// used an in-memory database serves (see [`open`]).
    pub fn open(data_dir: &Path, config: StoreConfig) -> Store {
        if !config.enabled {
            return Store::disabled();
        }
        let opened = match open::open(data_dir, &config) {
            Ok(o) => o,
            Err(problem) => {
                tracing::error!(
                    problem,
                    "the store cannot run at all; requests are not recorded"
                );
                let event = IntegrityEvent {
                    at_ms: now_ms(),
                    problem,
                    moved_to: None,
                    in_memory: false,
                };
                return Store::without_writer(shared(None, false, Some(event)));
            }
        };
        let mut s = shared(Some(opened.path), opened.in_memory, opened.event);
        match read::credits(&opened.writer) {
            Ok(stored) => s.credits = Credits::from_stored(stored),
            Err(e) => tracing::error!(error = %e, "store: could not read the stored credits"),
        }
        if let Ok(n) = read::count_requests(&opened.writer) {
            s.rows = AtomicU64::new(n);
        }
        let shared = Arc::new(s);
        let (tx, rx) = sync_channel(config.channel_capacity.max(1));
        let writer = Writer::new(opened.writer, shared.clone(), config);
        let handle = std::thread::Builder::new()
            .name("tokenbuddy-store".into())
            .spawn(move || writer.run(rx));
        let handle = match handle {
            Ok(h) => Some(h),
            Err(e) => {
                tracing::error!(error = %e, "store: could not start the writer thread");
                None
            }
        };
        Store {
            inner: Arc::new(Inner {
                shared,
                tx: handle.is_some().then_some(tx),
                reader: Some(Arc::new(Mutex::new(opened.reader))),
                writer: Mutex::new(handle),
            }),
        }
    }

    fn without_writer(shared: Shared) -> Store {
        Store {
            inner: Arc::new(Inner {
                shared: Arc::new(shared),
                tx: None,
                reader: None,
                writer: Mutex::new(None),
            }),
        }
    }

    /// The store turned off: submit does nothing (not counted as dropped),
    /// reads return nothing.
    pub fn disabled() -> Store {
        Store::without_writer(shared(None, false, None))
    }

    fn enabled(&self) -> bool {
        self.inner.reader.is_some()
    }

    /// Hands a finished record to the writer without waiting: when the
    /// queue is full the record is dropped and counted. Adds its cost to
    /// its seller's credit spend.
    pub fn submit(&self, record: RequestRecord) {
        let Some(tx) = &self.inner.tx else { return };
        let s = &self.inner.shared;
        if let (Some(seller), Some(cost)) = (record.seller.as_deref(), record.cost) {
            s.credits.spend(seller, cost);
        }
        if let Err(e) = tx.try_send(Msg::Record(record)) {
            s.dropped.fetch_add(1, Ordering::Relaxed);
            if !s.drop_logged.swap(true, Ordering::Relaxed) {
                let why = match e {
                    TrySendError::Full(_) => "its queue is full",
                    TrySendError::Disconnected(_) => "its writer has stopped",
                };
                tracing::warn!(
                    "store: dropping request records because {why} (counted in /api/store; logged once)"
                );
            }
        }
    }

    /// Sets the prepaid balances the sellers file states (`None`: no
    /// credits). A changed balance starts over (spent 0, since `now_ms`);
    /// persisted by the writer.
    pub fn set_balances(&self, balances: &[(String, Option<f64>)], now_ms: i64) {
        if !self.enabled() {
            return;
        }
        if self.inner.shared.credits.set_balances(balances, now_ms) {
            if let Some(tx) = &self.inner.tx {
                // A full queue is being written anyway; the change goes with it.
                let _ = tx.try_send(Msg::Wake);
            }
        }
    }

    /// A seller's credits, if it has any.
    pub fn credit(&self, seller: &str) -> Option<CreditState> {
        self.inner.shared.credits.get(seller)
    }

    /// Per seller, estimates from its most recent hour of minute history.
    pub fn warm_start(&self) -> Vec<WarmStart> {
        let Some(reader) = &self.inner.reader else {
            return Vec::new();
        };
        let conn = reader.lock().unwrap_or_else(|p| p.into_inner());
        read::warm_start(&conn).unwrap_or_else(|e| {
            tracing::error!(error = %e, "store: no warm start");
            Vec::new()
        })
    }

    /// Rows as they are committed.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<RequestRow>> {
        self.inner.shared.events.subscribe()
    }

    /// How the store is doing.
    pub fn status(&self) -> StoreStatus {
        let s = &self.inner.shared;
        let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
        let size_bytes = match (&s.path, s.in_memory) {
            (Some(p), false) => size(p) + size(&PathBuf::from(format!("{}-wal", p.display()))),
            _ => 0,
        };
        StoreStatus {
            enabled: self.enabled(),
            path: s.path.clone(),
            in_memory: s.in_memory,
            size_bytes,
            rows: s.rows.load(Ordering::Relaxed),
            written: s.written.load(Ordering::Relaxed),
            dropped: s.dropped.load(Ordering::Relaxed),
            batches: s.batches.load(Ordering::Relaxed),
            write_errors: s.write_errors.load(Ordering::Relaxed),
            last_prune: *s.last_prune.lock().unwrap_or_else(|p| p.into_inner()),
            last_integrity_event: s.integrity.clone(),
        }
    }

    /// Sends `msg` (made with a fresh answer channel) and waits for the answer.
    async fn ask(&self, msg: impl FnOnce(oneshot::Sender<()>) -> Msg) {
        let Some(tx) = self.inner.tx.clone() else {
            return;
        };
        let (ack, done) = oneshot::channel();
        let m = msg(ack);
        // A full queue makes the send wait: off the async workers.
        let sent = tokio::task::spawn_blocking(move || tx.send(m).is_ok()).await;
        if matches!(sent, Ok(true)) {
            let _ = done.await;
        }
    }

    /// Waits until everything submitted so far is written.
    pub async fn flush(&self) {
        self.ask(Msg::Flush).await;
    }

    /// Writes what is queued, then prunes as of `now_ms` (retention is
    /// otherwise applied at start and hourly).
    pub async fn prune(&self, now_ms: i64) {
        self.ask(|ack| Msg::Prune(now_ms, ack)).await;
    }

    /// Writes what is queued and stops the writer.
    pub async fn close(&self) {
        self.ask(Msg::Close).await;
        let handle = self
            .inner
            .writer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(h) = handle {
            let _ = tokio::task::spawn_blocking(move || h.join()).await;
        }
    }

    /// Runs `f` on the read connection off the async workers.
    async fn read<T: Send + 'static>(
        &self,
        empty: T,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let Some(reader) = self.inner.reader.clone() else {
            return Ok(empty);
        };
        tokio::task::spawn_blocking(move || {
            let conn = reader.lock().unwrap_or_else(|p| p.into_inner());
            f(&conn)
        })
        .await
        .map_err(|e| StoreError::Cancelled(e.to_string()))?
    }

    /// A page of the request log, newest first.
    pub async fn requests(&self, q: RequestQuery) -> Result<RequestPage, StoreError> {
        let empty = RequestPage {
            requests: Vec::new(),
            next: None,
        };
        self.read(empty, move |c| read::requests(c, &q)).await
    }

    /// One request with its attempt trail.
    pub async fn request(&self, id: i64) -> Result<Option<RequestRow>, StoreError> {
        self.read(None, move |c| read::request(c, id)).await
    }

    /// Usage grouped, from the daily rollups.
    pub async fn usage(&self, q: UsageQuery) -> Result<Vec<UsageRow>, StoreError> {
        self.read(Vec::new(), move |c| read::usage(c, &q, now_ms()))
            .await
    }

    /// Seller history in steps.
    pub async fn history(&self, q: HistoryQuery) -> Result<Vec<HistoryPoint>, StoreError> {
        self.read(Vec::new(), move |c| read::history(c, &q, now_ms()))
            .await
    }
}
