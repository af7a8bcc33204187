//! Opening the store: migrations from empty and on reopen, and an unusable
//! database moved aside (garbage, a truncated real one) or, when it cannot
//! be, an in-memory store that still serves.

mod store_fixtures;

use std::path::Path;

use rusqlite::Connection;
use store_fixtures::{open, served, t0, HANG};
use tokenbuddy::store::{RequestQuery, Store};

const DB: &str = "tokenbuddy.db";

async fn rows(store: &Store) -> usize {
    store
        .requests(RequestQuery {
            limit: Some(1000),
            ..RequestQuery::default()
        })
        .await
        .unwrap()
        .requests
        .len()
}

/// Submits `n` records and waits until they are written.
async fn fill(store: &Store, n: usize) {
    for i in 0..n {
        store.submit(served(t0() + i as i64, "a", "codex", "m", Some(0.01)));
    }
    tokio::time::timeout(HANG, store.flush()).await.unwrap();
}

fn moved_aside(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("tokenbuddy.db.corrupt-"))
        .collect();
    names.sort();
    names
}

/// `tokenbuddy.db.corrupt-YYYYMMDDTHHMMSSZ` with an optional suffix.
fn is_stamped(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("tokenbuddy.db.corrupt-") else {
        return false;
    };
    let b = rest.as_bytes();
    b.len() >= 16
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[8] == b'T'
        && b[9..15].iter().all(u8::is_ascii_digit)
        && b[15] == b'Z'
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrates_from_empty_and_reopens_without_reapplying() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    fill(&store, 3).await;
    let status = store.status();
    assert!(status.enabled && !status.in_memory && status.last_integrity_event.is_none());
    assert_eq!((status.rows, status.written, status.dropped), (3, 3, 0));
    store.close().await;
    drop(store);

    let store = open(dir.path());
    assert_eq!(store.status().rows, 3, "rows survive the reopen");
    assert!(store.status().last_integrity_event.is_none());
    fill(&store, 2).await;
    assert_eq!(rows(&store).await, 5);
    store.close().await;

    let c = Connection::open(dir.path().join(DB)).unwrap();
    let applied: i64 = c
        .query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        applied,
        tokenbuddy::store::schema::latest(),
        "each migration once"
    );
    let mode: String = c
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_is_moved_aside_with_its_wal_and_a_fresh_database_serves() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = b"this is not a database, it is a shopping list\n".repeat(200);
    std::fs::write(dir.path().join(DB), &garbage).unwrap();
    std::fs::write(dir.path().join("tokenbuddy.db-wal"), b"wal garbage").unwrap();

    let store = open(dir.path());
    let status = store.status();
    assert!(!status.in_memory);
    let event = status.last_integrity_event.expect("the event is kept");
    let moved = event.moved_to.expect("moved aside");
    let name = moved.file_name().unwrap().to_str().unwrap().to_string();
    assert!(is_stamped(&name), "{name}");
    assert_eq!(
        std::fs::read(&moved).unwrap(),
        garbage,
        "the old file, untouched"
    );
    // SQLite itself may discard a -wal that is garbage when it gives up on
    // the file; either way the fresh database must not sit beside it.
    let wal = std::fs::read(dir.path().join("tokenbuddy.db-wal")).unwrap_or_default();
    assert_ne!(wal, b"wal garbage");
    assert!(!event.in_memory && !event.problem.is_empty());
    fill(&store, 4).await;
    assert_eq!(rows(&store).await, 4, "the fresh database serves");
    store.close().await;
    assert!(!moved_aside(dir.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_real_database_is_moved_aside() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    fill(&store, 3000).await;
    store.close().await;
    drop(store);
    let path = dir.path().join(DB);
    assert!(
        !dir.path().join("tokenbuddy.db-wal").exists(),
        "checkpointed on close"
    );
    let len = std::fs::metadata(&path).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(len / 2).unwrap();
    drop(f);

    let store = open(dir.path());
    let event = store
        .status()
        .last_integrity_event
        .expect("the event is kept");
    assert!(event.moved_to.is_some(), "{event:?}");
    assert_eq!(rows(&store).await, 0, "fresh");
    fill(&store, 1).await;
    assert_eq!(rows(&store).await, 1);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directory_in_its_place_is_left_alone_and_memory_serves() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(DB)).unwrap();
    std::fs::write(dir.path().join(DB).join("keep.txt"), b"mine").unwrap();

    let store = open(dir.path());
    let status = store.status();
    assert!(status.in_memory, "{status:?}");
    let event = status.last_integrity_event.expect("reported");
    assert!(event.in_memory && event.moved_to.is_none());
    assert!(dir.path().join(DB).join("keep.txt").is_file(), "not moved");
    fill(&store, 5).await;
    assert_eq!(rows(&store).await, 5, "the in-memory store serves reads");
    assert_eq!(store.status().rows, 5);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwritable_data_dir_falls_back_to_memory() {
    let dir = tempfile::tempdir().unwrap();
    // A plain file where the data dir should be: nothing can be created in it.
    let not_a_dir = dir.path().join("data");
    std::fs::write(&not_a_dir, b"x").unwrap();
    let store = open(&not_a_dir);
    assert!(store.status().in_memory);
    fill(&store, 2).await;
    assert_eq!(rows(&store).await, 2);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_schema_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    fill(&store, 1).await;
    store.close().await;
    drop(store);
    let c = Connection::open(dir.path().join(DB)).unwrap();
    c.execute(
        "INSERT INTO schema_migrations VALUES (999, 'from the future', 0)",
        [],
    )
    .unwrap();
    drop(c);

    let store = open(dir.path());
    let status = store.status();
    assert!(status.in_memory, "{status:?}");
    assert!(
        moved_aside(dir.path()).is_empty(),
        "a newer TokenBuddy's data is not moved"
    );
    store.close().await;
}

#[test]
fn disabled_keeps_nothing_and_counts_no_drops() {
    let rt = store_fixtures::runtime();
    let store = Store::disabled();
    store.submit(served(t0(), "a", "codex", "m", Some(1.0)));
    store.set_balances(&[("a".into(), Some(5.0))], t0());
    assert_eq!(store.credit("a"), None);
    let s = store.status();
    assert!(!s.enabled && s.dropped == 0 && s.rows == 0);
    rt.block_on(async {
        assert_eq!(rows(&store).await, 0);
        store.close().await;
    });
}
