//! The database's schema as numbered migrations, applied in order, each in
//! its own transaction and recorded in `schema_migrations`; reopening applies
//! only those not yet recorded.
//!
//! The attempt trail is a JSON text column of `requests`, not a child table:
//! it is always read whole with its row and never filtered on, and the
//! minute history is computed by the writer from the record in memory, so a
//! child table would only add an insert per attempt on the write path.

use rusqlite::{params, Connection};

/// One step of the schema.
struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "requests, minute history, daily usage, credits",
    sql: "
        CREATE TABLE requests (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at_ms INTEGER NOT NULL,
            agent TEXT NOT NULL,
            protocol TEXT NOT NULL,
            endpoint TEXT NOT NULL,
            model_asked TEXT NOT NULL,
            model_sent TEXT,
            stream INTEGER NOT NULL,
            seller TEXT,
            status INTEGER NOT NULL,
            outcome TEXT NOT NULL,
            ttft_ms REAL,
            duration_ms REAL NOT NULL,
            generating_ms REAL,
            input_tokens INTEGER,
            output_tokens INTEGER,
            cache_read_tokens INTEGER,
            cache_write_tokens INTEGER,
            tokens_per_sec REAL,
            cost REAL,
            attempts TEXT NOT NULL
        );
        CREATE INDEX requests_at ON requests(at_ms);
        CREATE INDEX requests_seller ON requests(seller, id);
        CREATE TABLE minute_history (
            seller TEXT NOT NULL,
            minute_ms INTEGER NOT NULL,
            requests INTEGER NOT NULL,
            errors INTEGER NOT NULL,
            ttft_sum_ms REAL NOT NULL,
            ttft_count INTEGER NOT NULL,
            ttft_p95_ms REAL,
            output_tokens INTEGER NOT NULL,
            rate_tokens INTEGER NOT NULL,
            generating_ms REAL NOT NULL,
            PRIMARY KEY (seller, minute_ms)
        ) WITHOUT ROWID;
        CREATE INDEX minute_history_at ON minute_history(minute_ms);
        CREATE TABLE daily_usage (
            day_ms INTEGER NOT NULL,
            seller TEXT NOT NULL,
            model TEXT NOT NULL,
            agent TEXT NOT NULL,
            requests INTEGER NOT NULL,
            errors INTEGER NOT NULL,
            input_tokens INTEGER NOT NULL,
            output_tokens INTEGER NOT NULL,
            cache_read_tokens INTEGER NOT NULL,
            cache_write_tokens INTEGER NOT NULL,
            cost REAL NOT NULL,
            unpriced INTEGER NOT NULL,
            PRIMARY KEY (day_ms, seller, model, agent)
        ) WITHOUT ROWID;
        CREATE TABLE credits (
            seller TEXT PRIMARY KEY,
            balance REAL NOT NULL,
            spent REAL NOT NULL,
            since_ms INTEGER NOT NULL
        );
    ",
}];

/// The newest schema version this build knows.
pub fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Applies every migration not yet applied; returns how many ran. A
/// database from a newer TokenBuddy (a version this build does not know) is
/// an error, so it is not written with an older schema's assumptions.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<usize> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            applied_ms INTEGER NOT NULL
        )",
    )?;
    let newest: i64 = conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )?;
    if newest > latest() {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_MISMATCH),
            Some(format!(
                "the database has schema version {newest}, newer than this TokenBuddy knows ({})",
                latest()
            )),
        ));
    }
    let mut ran = 0;
    for m in MIGRATIONS.iter().filter(|m| m.version > newest) {
        let tx = conn.transaction()?;
        tx.execute_batch(m.sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_ms) VALUES (?1, ?2, ?3)",
            params![m.version, m.name, super::now_ms()],
        )?;
        tx.pragma_update(None, "user_version", m.version)?;
        tx.commit()?;
        ran += 1;
    }
    Ok(ran)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_once() {
        let mut c = Connection::open_in_memory().unwrap();
        assert_eq!(migrate(&mut c).unwrap(), MIGRATIONS.len());
        assert_eq!(migrate(&mut c).unwrap(), 0);
        let v: i64 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, latest());
    }

    #[test]
    fn refuses_a_newer_schema() {
        let mut c = Connection::open_in_memory().unwrap();
        migrate(&mut c).unwrap();
        c.execute(
            "INSERT INTO schema_migrations VALUES (?1, 'future', 0)",
            [latest() + 1],
        )
        .unwrap();
        assert!(migrate(&mut c).is_err());
    }
}
