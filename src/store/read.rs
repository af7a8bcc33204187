//! The store's reads, as plain functions over a connection, and [`Reader`]:
//! the same reads on a read-only connection of its own, so the CLI can read
//! the database with no server running. [`super::Store`] runs these same
//! functions off the async workers.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OpenFlags, Row};

use super::config::DB_FILE;
use super::credits::CreditState;
use super::error::StoreError;
use super::minute::{minute_of, MINUTE_MS};
use super::query::{
    date, day_of, HistoryPoint, HistoryQuery, RequestPage, RequestQuery, RequestRow, UsageBy,
    UsageQuery, UsageRow, WarmStart, DAY_MS, DEFAULT_LIMIT, MAX_LIMIT, MAX_POINTS,
};
use super::record::RequestRecord;
use crate::protocol::Usage;
use crate::proxy::outcome::OutcomeClass;

/// The columns of `requests`, in the order [`row_to_request`] reads them.
pub(crate) const REQUEST_COLUMNS: &str = "id, at_ms, agent, protocol, endpoint, model_asked, \
    model_sent, stream, seller, status, outcome, ttft_ms, duration_ms, generating_ms, \
    input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, tokens_per_sec, cost, attempts";

fn u64_of(v: Option<i64>) -> Option<u64> {
    v.map(|n| n.max(0) as u64)
}

fn bad_column(i: usize, what: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, what.into())
}

/// One `requests` row selected with [`REQUEST_COLUMNS`].
fn row_to_request(r: &Row<'_>) -> rusqlite::Result<RequestRow> {
    let protocol: String = r.get(3)?;
    let outcome: String = r.get(10)?;
    let attempts: String = r.get(20)?;
    Ok(RequestRow {
        id: r.get(0)?,
        record: RequestRecord {
            at_ms: r.get(1)?,
            agent: r.get(2)?,
            protocol: protocol
                .parse()
                .map_err(|_| bad_column(3, format!("unknown protocol {protocol:?}")))?,
            endpoint: r.get(4)?,
            model_asked: r.get(5)?,
            model_sent: r.get(6)?,
            stream: r.get(7)?,
            seller: r.get(8)?,
            status: r.get(9)?,
            outcome: OutcomeClass::parse(&outcome)
                .ok_or_else(|| bad_column(10, format!("unknown outcome {outcome:?}")))?,
            ttft_ms: r.get(11)?,
            duration_ms: r.get(12)?,
            generating_ms: r.get(13)?,
            usage: Usage {
                input: u64_of(r.get(14)?),
                output: u64_of(r.get(15)?),
                cache_read: u64_of(r.get(16)?),
                cache_write: u64_of(r.get(17)?),
            },
            tokens_per_sec: r.get(18)?,
            cost: r.get(19)?,
            attempts: serde_json::from_str(&attempts)
                .map_err(|e| bad_column(20, format!("attempt trail: {e}")))?,
        },
    })
}

/// A page of the request log, newest first.
pub fn requests(conn: &Connection, q: &RequestQuery) -> Result<RequestPage, StoreError> {
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let mut sql = format!("SELECT {REQUEST_COLUMNS} FROM requests WHERE 1");
    let mut args: Vec<Value> = Vec::new();
    if let Some(before) = q.before {
        sql.push_str(" AND id < ?");
        args.push(Value::Integer(before));
    }
    for (column, value) in [("seller", &q.seller), ("agent", &q.agent)] {
        if let Some(v) = value {
            sql.push_str(&format!(" AND {column} = ?"));
            args.push(Value::Text(v.clone()));
        }
    }
    if let Some(m) = &q.model {
        sql.push_str(" AND (model_asked = ? OR model_sent = ?)");
        args.push(Value::Text(m.clone()));
        args.push(Value::Text(m.clone()));
    }
    if let Some(s) = q.status.as_deref().map(str::trim) {
        if let Ok(code) = s.parse::<u16>() {
            sql.push_str(" AND status = ?");
            args.push(Value::Integer(i64::from(code)));
        } else if let Some(class) = OutcomeClass::parse(s) {
            sql.push_str(" AND outcome = ?");
            args.push(Value::Text(class.as_str().to_string()));
        } else {
            let names: Vec<&str> = OutcomeClass::ALL.iter().map(|c| c.as_str()).collect();
            return Err(StoreError::BadQuery(format!(
                "status={s:?}: write an HTTP status (e.g. 429) or one of {}",
                names.join(", ")
            )));
        }
    }
    // One more than asked tells whether another page follows.
    sql.push_str(" ORDER BY id DESC LIMIT ?");
    args.push(Value::Integer(limit as i64 + 1));
    let mut stmt = conn
        .prepare_cached(&sql)
        .map_err(StoreError::sqlite("read the request log"))?;
    let mut rows: Vec<RequestRow> = stmt
        .query_map(params_from_iter(args), row_to_request)
        .and_then(|it| it.collect())
        .map_err(StoreError::sqlite("read the request log"))?;
    let next = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|r| r.id)
    } else {
        None
    };
    Ok(RequestPage {
        requests: rows,
        next,
    })
}

/// One request with its attempt trail.
pub fn request(conn: &Connection, id: i64) -> Result<Option<RequestRow>, StoreError> {
    let sql = format!("SELECT {REQUEST_COLUMNS} FROM requests WHERE id = ?1");
    let mut stmt = conn
        .prepare_cached(&sql)
        .map_err(StoreError::sqlite("read a request"))?;
    let mut rows = stmt
        .query_map([id], row_to_request)
        .map_err(StoreError::sqlite("read a request"))?;
    rows.next()
        .transpose()
        .map_err(StoreError::sqlite("read a request"))
}

/// Usage between two times, grouped, from the daily rollups (largest cost first).
pub fn usage(conn: &Connection, q: &UsageQuery, now_ms: i64) -> Result<Vec<UsageRow>, StoreError> {
    let to = q.to_ms.unwrap_or(now_ms);
    let from = day_of(q.from_ms.unwrap_or(to - 7 * DAY_MS));
    let key = match q.by {
        UsageBy::Seller => "seller",
        UsageBy::Model => "model",
        UsageBy::Agent => "agent",
        UsageBy::Day => "day_ms",
    };
    let order = if q.by == UsageBy::Day {
        "day_ms"
    } else {
        "SUM(cost) DESC, SUM(requests) DESC, k"
    };
    let sql = format!(
        "SELECT {key} AS k, SUM(requests), SUM(errors), SUM(input_tokens), SUM(output_tokens), \
         SUM(cache_read_tokens), SUM(cache_write_tokens), SUM(cost), SUM(unpriced) \
         FROM daily_usage WHERE day_ms >= ?1 AND day_ms <= ?2 GROUP BY k ORDER BY {order}"
    );
    let mut stmt = conn
        .prepare_cached(&sql)
        .map_err(StoreError::sqlite("read usage"))?;
    let rows = stmt
        .query_map(params![from, to], |r| {
            let key = match q.by {
                UsageBy::Day => Some(date(r.get(0)?)),
                _ => Some(r.get::<_, String>(0)?).filter(|k| !k.is_empty()),
            };
            let requests = u64_of(r.get(1)?).unwrap_or(0);
            let unpriced = u64_of(r.get(8)?).unwrap_or(0);
            Ok(UsageRow {
                key,
                requests,
                errors: u64_of(r.get(2)?).unwrap_or(0),
                input_tokens: u64_of(r.get(3)?).unwrap_or(0),
                output_tokens: u64_of(r.get(4)?).unwrap_or(0),
                cache_read_tokens: u64_of(r.get(5)?).unwrap_or(0),
                cache_write_tokens: u64_of(r.get(6)?).unwrap_or(0),
                cost: (requests > unpriced)
                    .then(|| r.get::<_, f64>(7))
                    .transpose()?,
                unpriced_requests: unpriced,
            })
        })
        .and_then(|it| it.collect::<rusqlite::Result<Vec<_>>>())
        .map_err(StoreError::sqlite("read usage"))?;
    Ok(rows)
}

/// Seller history in steps (oldest first, per seller).
pub fn history(
    conn: &Connection,
    q: &HistoryQuery,
    now_ms: i64,
) -> Result<Vec<HistoryPoint>, StoreError> {
    let to = q.to_ms.unwrap_or(now_ms);
    let from = minute_of(q.from_ms.unwrap_or(to - 60 * MINUTE_MS));
    let step = (q.step_ms.unwrap_or(MINUTE_MS) / MINUTE_MS).max(1) * MINUTE_MS;
    if to <= from {
        return Err(StoreError::BadQuery(format!(
            "from ({from}) must be before to ({to})"
        )));
    }
    if (to - from) / step > MAX_POINTS {
        return Err(StoreError::BadQuery(format!(
            "{} steps of {} s: at most {MAX_POINTS}; ask for a longer step",
            (to - from) / step,
            step / 1000
        )));
    }
    let sql =
        "SELECT seller, ?1 + ((minute_ms - ?1) / ?3) * ?3 AS at, SUM(requests), SUM(errors), \
        SUM(ttft_sum_ms), SUM(ttft_count), MAX(ttft_p95_ms), SUM(output_tokens), SUM(rate_tokens), \
        SUM(generating_ms) FROM minute_history \
        WHERE minute_ms >= ?1 AND minute_ms < ?2 AND (?4 IS NULL OR seller = ?4) \
        GROUP BY seller, at ORDER BY seller, at";
    let mut stmt = conn
        .prepare_cached(sql)
        .map_err(StoreError::sqlite("read seller history"))?;
    let rows = stmt
        .query_map(params![from, to, step, q.seller], |r| {
            let samples = u64_of(r.get(5)?).unwrap_or(0);
            let ttft_sum: f64 = r.get(4)?;
            Ok(HistoryPoint {
                seller: r.get(0)?,
                at_ms: r.get(1)?,
                requests: u64_of(r.get(2)?).unwrap_or(0),
                errors: u64_of(r.get(3)?).unwrap_or(0),
                ttft_ms: (samples > 0).then(|| ttft_sum / samples as f64),
                ttft_p95_ms: r.get(6)?,
                ttft_samples: samples,
                output_tokens: u64_of(r.get(7)?).unwrap_or(0),
                tokens_per_sec: rate(u64_of(r.get(8)?).unwrap_or(0), r.get(9)?),
            })
        })
        .and_then(|it| it.collect::<rusqlite::Result<Vec<_>>>())
        .map_err(StoreError::sqlite("read seller history"))?;
    Ok(rows)
}

fn rate(tokens: u64, generating_ms: f64) -> Option<f64> {
    (generating_ms > 0.0).then(|| tokens as f64 / (generating_ms / 1000.0))
}

/// Per seller, its most recent hour of history, however old.
pub fn warm_start(conn: &Connection) -> Result<Vec<WarmStart>, StoreError> {
    let sql = "SELECT h.seller, SUM(h.ttft_sum_ms), SUM(h.ttft_count), SUM(h.rate_tokens), \
        SUM(h.generating_ms), n.newest FROM minute_history h \
        JOIN (SELECT seller, MAX(minute_ms) AS newest FROM minute_history GROUP BY seller) n \
        ON h.seller = n.seller WHERE h.minute_ms > n.newest - ?1 \
        GROUP BY h.seller ORDER BY h.seller";
    let mut stmt = conn
        .prepare_cached(sql)
        .map_err(StoreError::sqlite("read the warm start"))?;
    let rows = stmt
        .query_map([60 * MINUTE_MS], |r| {
            let samples = u64_of(r.get(2)?).unwrap_or(0);
            let sum: f64 = r.get(1)?;
            Ok(WarmStart {
                seller: r.get(0)?,
                ttft_ms: (samples > 0).then(|| sum / samples as f64),
                ttft_samples: samples,
                tokens_per_sec: rate(u64_of(r.get(3)?).unwrap_or(0), r.get(4)?),
                newest_minute_ms: r.get(5)?,
            })
        })
        .and_then(|it| it.collect::<rusqlite::Result<Vec<_>>>())
        .map_err(StoreError::sqlite("read the warm start"))?;
    Ok(rows)
}

/// The stored credits of every seller.
pub fn credits(conn: &Connection) -> rusqlite::Result<Vec<(String, CreditState)>> {
    let mut stmt = conn.prepare("SELECT seller, balance, spent, since_ms FROM credits")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get(0)?,
            CreditState {
                balance: r.get(1)?,
                spent: r.get(2)?,
                since_ms: r.get(3)?,
            },
        ))
    })?;
    rows.collect()
}

/// Rows in the request log.
pub fn count_requests(conn: &Connection) -> rusqlite::Result<u64> {
    conn.query_row("SELECT COUNT(*) FROM requests", [], |r| r.get::<_, i64>(0))
        .map(|n| n.max(0) as u64)
}

/// The database read with no server running (the CLI's way in).
pub struct Reader {
    conn: Connection,
    path: PathBuf,
}

impl Reader {
    /// Opens `<data_dir>/tokenbuddy.db` read-only; `Ok(None)` when there is
    /// none yet (nothing recorded).
    pub fn open(data_dir: &Path) -> Result<Option<Reader>, StoreError> {
        let path = data_dir.join(DB_FILE);
        if !path.is_file() {
            return Ok(None);
        }
        let open = |path: &Path| -> rusqlite::Result<Connection> {
            let conn = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            conn.busy_timeout(Duration::from_secs(5))?;
            // A database no migration has touched yet has no tables to read.
            conn.query_row("SELECT COUNT(*) FROM requests", [], |_| Ok(()))?;
            Ok(conn)
        };
        let conn = open(&path).map_err(|source| StoreError::Open {
            path: path.clone(),
            source,
        })?;
        Ok(Some(Reader { conn, path }))
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// See [`requests`].
    pub fn requests(&self, q: &RequestQuery) -> Result<RequestPage, StoreError> {
        requests(&self.conn, q)
    }

    /// See [`request`].
    pub fn request(&self, id: i64) -> Result<Option<RequestRow>, StoreError> {
        request(&self.conn, id)
    }

    /// See [`usage`].
    pub fn usage(&self, q: &UsageQuery, now_ms: i64) -> Result<Vec<UsageRow>, StoreError> {
        usage(&self.conn, q, now_ms)
    }

    /// See [`history`].
    pub fn history(&self, q: &HistoryQuery, now_ms: i64) -> Result<Vec<HistoryPoint>, StoreError> {
        history(&self.conn, q, now_ms)
    }

    /// See [`warm_start`].
    pub fn warm_start(&self) -> Result<Vec<WarmStart>, StoreError> {
        warm_start(&self.conn)
    }
}
