//! Retention: request rows and minute history older than their retention
//! are deleted; daily usage rollups are kept for good.

use rusqlite::{params, Connection};
use serde::Serialize;

use super::config::StoreConfig;

/// Rows deleted per statement, so one prune never holds the write lock long.
const CHUNK: i64 = 5_000;

/// What one prune removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PruneReport {
    /// When it ran (ms since the epoch, as given).
    pub at_ms: i64,
    /// Request rows removed.
    pub requests_removed: u64,
    /// Minute history rows removed.
    pub minutes_removed: u64,
}

/// Deletes what is older than its retention at `now_ms`.
pub fn prune(
    conn: &Connection,
    config: &StoreConfig,
    now_ms: i64,
) -> rusqlite::Result<PruneReport> {
    let requests_before = now_ms.saturating_sub(config.request_retention.as_millis() as i64);
    let minutes_before = now_ms.saturating_sub(config.history_retention.as_millis() as i64);
    let mut report = PruneReport {
        at_ms: now_ms,
        requests_removed: 0,
        minutes_removed: 0,
    };
    loop {
        let n = conn.execute(
            "DELETE FROM requests WHERE id IN \
             (SELECT id FROM requests WHERE at_ms < ?1 ORDER BY at_ms LIMIT ?2)",
            params![requests_before, CHUNK],
        )?;
        report.requests_removed += n as u64;
        if (n as i64) < CHUNK {
            break;
        }
    }
    loop {
        let n = conn.execute(
            "DELETE FROM minute_history WHERE (seller, minute_ms) IN \
             (SELECT seller, minute_ms FROM minute_history WHERE minute_ms < ?1 LIMIT ?2)",
            params![minutes_before, CHUNK],
        )?;
        report.minutes_removed += n as u64;
        if (n as i64) < CHUNK {
            break;
        }
    }
    Ok(report)
}
