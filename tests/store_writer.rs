//! The writer: batching into few transactions, drops counted when its queue
//! is full, a batch that cannot be written dropped and counted, committed
//! rows broadcast, and nothing lost on close.

mod store_fixtures;

use std::time::Duration;

use rusqlite::Connection;
use store_fixtures::{config, served, t0, HANG};
use tokenbuddy::store::{Store, StoreConfig};

fn count(dir: &std::path::Path) -> i64 {
    let c = Connection::open(dir.join("tokenbuddy.db")).unwrap();
    c.query_row("SELECT COUNT(*) FROM requests", [], |r| r.get(0))
        .unwrap()
}

/// A second connection holding the write lock, so the writer stalls.
fn lock(dir: &std::path::Path) -> Connection {
    let c = Connection::open(dir.join("tokenbuddy.db")).unwrap();
    c.execute_batch("BEGIN EXCLUSIVE").unwrap();
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_records_go_in_few_transactions() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), config());
    let n = 3000;
    for i in 0..n {
        store.submit(served(t0() + i, "a", "codex", "m", Some(0.001)));
    }
    tokio::time::timeout(HANG, store.close()).await.unwrap();
    let s = store.status();
    assert_eq!((s.written, s.dropped, s.rows), (n as u64, 0, n as u64));
    assert!(
        s.batches >= n as u64 / 512,
        "at most 512 a batch: {}",
        s.batches
    );
    assert!(
        s.batches < n as u64 / 10,
        "batched: {} transactions",
        s.batches
    );
    assert_eq!(count(dir.path()), n);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_drops_and_counts_without_blocking_submit() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = StoreConfig {
        channel_capacity: 4,
        batch_size: 2,
        busy_timeout: Duration::from_secs(60),
        ..config()
    };
    let store = Store::open(dir.path(), cfg);
    let held = lock(dir.path());
    let n = 100u64;
    for i in 0..n {
        store.submit(served(t0() + i as i64, "a", "codex", "m", None));
    }
    // The writer holds at most one batch and the queue four: the rest is dropped.
    let dropped = store.status().dropped;
    assert!(dropped >= n - 4 - 2, "dropped {dropped}");
    held.execute_batch("COMMIT").unwrap();
    drop(held);
    tokio::time::timeout(HANG, store.close()).await.unwrap();
    let s = store.status();
    assert_eq!(s.written + s.dropped, n, "{s:?}");
    assert_eq!(count(dir.path()) as u64, s.written);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_that_cannot_be_written_is_dropped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = StoreConfig {
        busy_timeout: Duration::from_millis(50),
        ..config()
    };
    let store = Store::open(dir.path(), cfg);
    // Let the start-up prune finish before the lock is taken.
    tokio::time::timeout(HANG, store.flush()).await.unwrap();
    let held = lock(dir.path());
    for i in 0..10 {
        store.submit(served(t0() + i, "a", "codex", "m", None));
    }
    tokio::time::timeout(HANG, store.flush()).await.unwrap();
    let s = store.status();
    assert_eq!((s.written, s.dropped), (0, 10), "{s:?}");
    assert!(s.write_errors >= 1);
    drop(held);
    for i in 0..5 {
        store.submit(served(t0() + i, "a", "codex", "m", None));
    }
    tokio::time::timeout(HANG, store.close()).await.unwrap();
    assert_eq!(store.status().written, 5, "the writer carries on");
    assert_eq!(count(dir.path()), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_rows_are_broadcast_with_their_ids() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), config());
    let mut rx = store.subscribe();
    let r = served(t0(), "a", "codex", "m", Some(0.5));
    store.submit(r.clone());
    let row = tokio::time::timeout(HANG, rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.record, r);
    let stored = store.request(row.id).await.unwrap().unwrap();
    assert_eq!(stored.record, r);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_every_handle_still_writes_what_was_queued() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), config());
    let mut rx = store.subscribe();
    for i in 0..50 {
        store.submit(served(t0() + i, "a", "codex", "m", None));
    }
    drop(store);
    // The writer drains the queue, then the channel closes.
    let mut seen = 0;
    while let Ok(Ok(_)) = tokio::time::timeout(HANG, rx.recv()).await {
        seen += 1;
    }
    assert_eq!(seen, 50);
    assert_eq!(count(dir.path()), 50);
}
