//! Opening the database so that TokenBuddy always has a store: a file that
//! is not a database, fails its integrity check or cannot be migrated is
//! moved aside (with its -wal and -shm) and replaced; when no file can be
//! used at all, an in-memory database serves. Each such event is kept for
//! `status()`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use rusqlite::{Connection, ErrorCode, OpenFlags};
use serde::Serialize;

use super::config::{StoreConfig, DB_FILE};
use super::schema;

/// Something that went wrong opening the database, and what was done about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntegrityEvent {
    /// When (ms since the epoch).
    pub at_ms: i64,
    /// What was wrong.
    pub problem: String,
    /// Where the unusable file was moved, if it was.
    #[schema(value_type = Option<String>)]
    pub moved_to: Option<PathBuf>,
    /// Whether the store runs in memory for now (nothing survives a restart).
    pub in_memory: bool,
}

/// The connections of an opened store.
pub struct Opened {
    /// The writer's connection.
    pub writer: Connection,
    /// The readers' connection.
    pub reader: Connection,
    /// The database file (the one intended, when in memory).
    pub path: PathBuf,
    /// Whether the database is in memory.
    pub in_memory: bool,
    /// What went wrong on the way, if anything.
    pub event: Option<IntegrityEvent>,
}

/// What to do about a database that would not open.
#[derive(Debug, PartialEq, Eq)]
enum Remedy {
    /// The file is unusable: move it aside and start a fresh one.
    MoveAside,
    /// The file may be fine but cannot be used now (locked, read-only, a
    /// newer schema, not a file): leave it alone and serve from memory.
    LeaveAlone,
}

struct Failure {
    problem: String,
    remedy: Remedy,
}

fn failure(what: &str, e: &rusqlite::Error, path: &Path) -> Failure {
    let code = e.sqlite_error_code();
    let remedy = match code {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => Remedy::MoveAside,
        Some(ErrorCode::CannotOpen) if path.is_file() => Remedy::MoveAside,
        Some(
            ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked
            | ErrorCode::ReadOnly
            | ErrorCode::PermissionDenied
            | ErrorCode::DiskFull
            | ErrorCode::CannotOpen
            | ErrorCode::TypeMismatch,
        ) => Remedy::LeaveAlone,
        _ => Remedy::MoveAside,
    };
    Failure {
        problem: format!("{what}: {e}"),
        remedy,
    }
}

/// The file's connections, checked and migrated.
fn open_file(path: &Path, config: &StoreConfig) -> Result<(Connection, Connection), Failure> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut writer =
        Connection::open_with_flags(path, flags).map_err(|e| failure("cannot open", &e, path))?;
    writer
        .busy_timeout(config.busy_timeout)
        .map_err(|e| failure("cannot set the busy timeout", &e, path))?;
    let mode: String = writer
        .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
        .map_err(|e| failure("cannot read it", &e, path))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(path = %path.display(), mode, "the store could not switch to WAL mode");
    }
    writer
        .pragma_update(None, "synchronous", "NORMAL")
        .map_err(|e| failure("cannot set synchronous", &e, path))?;
    let check: String = writer
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(|e| failure("integrity check failed", &e, path))?;
    if check != "ok" {
        return Err(Failure {
            problem: format!("integrity check failed: {check}"),
            remedy: Remedy::MoveAside,
        });
    }
    schema::migrate(&mut writer).map_err(|e| failure("cannot migrate the schema", &e, path))?;
    let reader = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| failure("cannot open for reading", &e, path))?;
    reader
        .busy_timeout(config.busy_timeout)
        .map_err(|e| failure("cannot set the busy timeout", &e, path))?;
    Ok((writer, reader))
}

static MEMORY_DBS: AtomicU64 = AtomicU64::new(0);

/// A fresh in-memory database shared by a writer and a reader connection.
fn open_memory() -> rusqlite::Result<(Connection, Connection)> {
    let n = MEMORY_DBS.fetch_add(1, Ordering::Relaxed);
    let uri = format!(
        "file:tokenbuddy-store-{}-{n}?mode=memory&cache=shared",
        std::process::id()
    );
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut writer = Connection::open_with_flags(&uri, flags)?;
    schema::migrate(&mut writer)?;
    let reader = Connection::open_with_flags(&uri, flags)?;
    // Shared-cache readers would otherwise wait on the writer's table locks.
    reader.pragma_update(None, "read_uncommitted", true)?;
    Ok((writer, reader))
}

/// `YYYYMMDDTHHMMSSZ` of `t` (no colons: the name must work on every OS).
fn stamp(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t)
        .to_string()
        .replace(['-', ':'], "")
}

/// Moves `path` and its -wal and -shm aside as `<name>.corrupt-<stamp>`.
fn move_aside(path: &Path, now: SystemTime) -> std::io::Result<PathBuf> {
    let base = format!("{}.corrupt-{}", path.display(), stamp(now));
    let mut target = PathBuf::from(&base);
    let mut n = 1;
    while target.exists() {
        n += 1;
        target = PathBuf::from(format!("{base}-{n}"));
    }
    std::fs::rename(path, &target)?;
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", path.display()));
        if side.exists() {
            let to = PathBuf::from(format!("{}{suffix}", target.display()));
            if let Err(e) = std::fs::rename(&side, &to) {
                tracing::warn!(from = %side.display(), error = %e, "could not move aside");
            }
        }
    }
    Ok(target)
}

/// Opens the store's database in `data_dir`; never fails (see the module doc).
pub fn open(data_dir: &Path, config: &StoreConfig) -> Result<Opened, String> {
    let path = data_dir.join(DB_FILE);
    let now = SystemTime::now();
    let at_ms = super::ms_of(now);
    let _ = std::fs::create_dir_all(data_dir);
    let first = match open_file(&path, config) {
        Ok((writer, reader)) => {
            return Ok(Opened {
                writer,
                reader,
                path,
                in_memory: false,
                event: None,
            })
        }
        Err(f) => f,
    };
    let mut problem = first.problem;
    let mut moved_to = None;
    if first.remedy == Remedy::MoveAside {
        match move_aside(&path, now) {
            Ok(to) => {
                tracing::error!(
                    path = %path.display(), moved_to = %to.display(), problem,
                    "the request database was unusable; moved it aside and started a fresh one"
                );
                moved_to = Some(to);
                match open_file(&path, config) {
                    Ok((writer, reader)) => {
                        return Ok(Opened {
                            writer,
                            reader,
                            path,
                            in_memory: false,
                            event: Some(IntegrityEvent {
                                at_ms,
                                problem,
                                moved_to,
                                in_memory: false,
                            }),
                        })
                    }
                    Err(f) => {
                        problem = format!("{problem}; the fresh database failed too: {}", f.problem)
                    }
                }
            }
            Err(e) => problem = format!("{problem}; could not move it aside: {e}"),
        }
    }
    tracing::error!(
        path = %path.display(), problem,
        "the request database cannot be used; keeping this run's requests in memory only"
    );
    let (writer, reader) = open_memory().map_err(|e| format!("{problem}; in memory too: {e}"))?;
    Ok(Opened {
        writer,
        reader,
        path,
        in_memory: true,
        event: Some(IntegrityEvent {
            at_ms,
            problem,
            moved_to,
            in_memory: true,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_have_no_colons() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        assert_eq!(stamp(t), "20231114T221320Z");
    }

    #[test]
    fn two_memory_stores_are_apart() {
        let (a, _ra) = open_memory().unwrap();
        let (_b, rb) = open_memory().unwrap();
        a.execute("INSERT INTO credits VALUES ('x', 1, 0, 0)", [])
            .unwrap();
        let n: i64 = rb
            .query_row("SELECT COUNT(*) FROM credits", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
    }
}
