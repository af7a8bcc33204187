//! The one writer thread: takes finished records off the bounded channel,
//! writes them in batches (by count or a short interval) in one transaction
//! together with the minute history, the daily rollups and the credit spend,
//! then tells subscribers. It blocks on the channel when nothing comes (idle
//! is free) and prunes at start and then at most hourly, after a batch.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::Instant;

use rusqlite::{params, Connection, TransactionBehavior};

use super::config::StoreConfig;
use super::credits::CreditChange;
use super::minute::MinuteBook;
use super::prune::prune;
use super::query::{day_of, RequestRow};
use super::record::RequestRecord;
use super::Shared;

/// How often pruning runs at most.
const PRUNE_EVERY_MS: i64 = 3_600_000;

/// What the writer is sent.
// Records travel unboxed: submit must not allocate beyond the record itself.
#[allow(clippy::large_enum_variant)]
pub enum Msg {
    /// A finished request.
    Record(RequestRecord),
    /// Credits changed: persist them.
    Wake,
    /// Write what is queued, then answer.
    Flush(tokio::sync::oneshot::Sender<()>),
    /// Prune as of this time now, then answer.
    Prune(i64, tokio::sync::oneshot::Sender<()>),
    /// Write what is queued, answer and stop.
    Close(tokio::sync::oneshot::Sender<()>),
}

/// The writer's state.
pub struct Writer {
    conn: Connection,
    shared: Arc<Shared>,
    config: StoreConfig,
    minutes: MinuteBook,
    last_prune_ms: Option<i64>,
    logged: HashSet<String>,
}

/// Daily rollup key: day, seller, model, agent.
type DayKey<'a> = (i64, &'a str, &'a str, &'a str);

#[derive(Default)]
struct DayDelta {
    requests: i64,
    errors: i64,
    input: i64,
    output: i64,
    cache_read: i64,
    cache_write: i64,
    cost: f64,
    unpriced: i64,
}

fn tokens(n: Option<u64>) -> i64 {
    n.map_or(0, |n| i64::try_from(n).unwrap_or(i64::MAX))
}

fn opt_tokens(n: Option<u64>) -> Option<i64> {
    n.map(|n| i64::try_from(n).unwrap_or(i64::MAX))
}

impl Writer {
    /// A writer on `conn`.
    pub fn new(conn: Connection, shared: Arc<Shared>, config: StoreConfig) -> Writer {
        Writer {
            conn,
            shared,
            config,
            minutes: MinuteBook::default(),
            last_prune_ms: None,
            logged: HashSet::new(),
        }
    }

    /// Runs until [`Msg::Close`] or until every sender is gone.
    pub fn run(mut self, rx: Receiver<Msg>) {
        self.prune_due(super::now_ms());
        let mut records: Vec<RequestRecord> = Vec::with_capacity(self.config.batch_size);
        let mut acks: Vec<tokio::sync::oneshot::Sender<()>> = Vec::new();
        loop {
            let Ok(first) = rx.recv() else { break };
            let mut closing = None;
            let mut open_batch = self.take(first, &mut records, &mut acks, &mut closing);
            let deadline = Instant::now() + self.config.batch_interval;
            while open_batch && records.len() < self.config.batch_size {
                let left = deadline.saturating_duration_since(Instant::now());
                match rx.recv_timeout(left) {
                    Ok(m) => open_batch = self.take(m, &mut records, &mut acks, &mut closing),
                    Err(RecvTimeoutError::Timeout) => break,
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            }
            if closing.is_some() {
                // Write what was queued behind the close too.
                while let Ok(m) = rx.try_recv() {
                    self.take(m, &mut records, &mut acks, &mut closing);
                }
            }
            self.write(&mut records);
            for ack in acks.drain(..) {
                let _ = ack.send(());
            }
            if let Some(ack) = closing {
                let _ = ack.send(());
                break;
            }
            self.prune_due(super::now_ms());
        }
        // Every sender gone: write what is left.
        self.write(&mut records);
    }

    /// Takes one message; whether the batch stays open for more.
    fn take(
        &mut self,
        m: Msg,
        records: &mut Vec<RequestRecord>,
        acks: &mut Vec<tokio::sync::oneshot::Sender<()>>,
        closing: &mut Option<tokio::sync::oneshot::Sender<()>>,
    ) -> bool {
        match m {
            Msg::Record(r) => {
                records.push(r);
                true
            }
            Msg::Wake => true,
            Msg::Flush(ack) => {
                acks.push(ack);
                false
            }
            Msg::Prune(now_ms, ack) => {
                self.write(records);
                self.prune_now(now_ms);
                let _ = ack.send(());
                false
            }
            Msg::Close(ack) => {
                *closing = Some(ack);
                false
            }
        }
    }

    fn prune_due(&mut self, now_ms: i64) {
        if self
            .last_prune_ms
            .is_none_or(|last| now_ms - last >= PRUNE_EVERY_MS)
        {
            self.prune_now(now_ms);
        }
    }

    fn prune_now(&mut self, now_ms: i64) {
        self.last_prune_ms = Some(now_ms);
        match prune(&self.conn, &self.config, now_ms) {
            Ok(report) => {
                let s = &self.shared;
                let _ = s
                    .rows
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                        Some(n.saturating_sub(report.requests_removed))
                    });
                if report.requests_removed + report.minutes_removed > 0 {
                    tracing::info!(
                        requests = report.requests_removed,
                        minutes = report.minutes_removed,
                        "store: pruned rows past their retention"
                    );
                }
                *s.last_prune.lock().unwrap_or_else(|p| p.into_inner()) = Some(report);
            }
            Err(e) => self.failed("prune", &e, 0),
        }
    }

    /// Writes the records (and the credits) in one transaction; on failure
    /// the batch is dropped and counted.
    fn write(&mut self, records: &mut Vec<RequestRecord>) {
        let changes = self.shared.credits.take_changes();
        if records.is_empty() && changes.is_empty() {
            return;
        }
        match self.commit(records, &changes) {
            Ok(ids) => {
                let n = records.len() as u64;
                let s = &self.shared;
                s.written.fetch_add(n, Ordering::Relaxed);
                s.rows.fetch_add(n, Ordering::Relaxed);
                s.batches.fetch_add(1, Ordering::Relaxed);
                if s.events.receiver_count() > 0 {
                    for (id, record) in ids.into_iter().zip(records.drain(..)) {
                        let _ = s.events.send(Arc::new(RequestRow { id, record }));
                    }
                }
                records.clear();
            }
            Err(e) => {
                // What the failed batch added to the minutes goes with it.
                let _ = self.minutes.take_deltas();
                self.shared.credits.restore_changes(&changes);
                let n = records.len() as u64;
                self.shared.dropped.fetch_add(n, Ordering::Relaxed);
                records.clear();
                self.failed("write a batch", &e, n);
            }
        }
    }

    /// Counts a failure and logs it once per kind.
    fn failed(&mut self, what: &'static str, e: &rusqlite::Error, dropped: u64) {
        self.shared.write_errors.fetch_add(1, Ordering::Relaxed);
        let kind = format!(
            "{what}: {}",
            e.sqlite_error_code()
                .map_or_else(|| "other".to_string(), |c| format!("{c:?}"))
        );
        if self.logged.insert(kind) {
            tracing::error!(
                error = %e, dropped,
                "store: could not {what} (further errors of this kind are counted, not logged)"
            );
        }
    }

    fn commit(
        &mut self,
        records: &[RequestRecord],
        credits: &[CreditChange],
    ) -> rusqlite::Result<Vec<i64>> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut ids = Vec::with_capacity(records.len());
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO requests (at_ms, agent, protocol, endpoint, model_asked, model_sent, \
                 stream, seller, status, outcome, ttft_ms, duration_ms, generating_ms, input_tokens, \
                 output_tokens, cache_read_tokens, cache_write_tokens, tokens_per_sec, cost, attempts) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
            )?;
            let mut days: HashMap<DayKey<'_>, DayDelta> = HashMap::new();
            for r in records {
                let attempts = serde_json::to_string(&r.attempts)
                    .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
                insert.execute(params![
                    r.at_ms,
                    r.agent,
                    r.protocol.as_str(),
                    r.endpoint,
                    r.model_asked,
                    r.model_sent,
                    r.stream,
                    r.seller,
                    r.status,
                    r.outcome.as_str(),
                    r.ttft_ms,
                    r.duration_ms,
                    r.generating_ms,
                    opt_tokens(r.usage.input),
                    opt_tokens(r.usage.output),
                    opt_tokens(r.usage.cache_read),
                    opt_tokens(r.usage.cache_write),
                    r.tokens_per_sec,
                    r.cost,
                    attempts,
                ])?;
                ids.push(tx.last_insert_rowid());
                self.minutes.add(r);
                let key = (
                    day_of(r.at_ms),
                    r.seller.as_deref().unwrap_or(""),
                    r.model_asked.as_str(),
                    r.agent.as_str(),
                );
                let d = days.entry(key).or_default();
                d.requests += 1;
                d.errors += i64::from(r.outcome.is_error());
                d.input += tokens(r.usage.input);
                d.output += tokens(r.usage.output);
                d.cache_read += tokens(r.usage.cache_read);
                d.cache_write += tokens(r.usage.cache_write);
                match r.cost {
                    Some(c) if c.is_finite() => d.cost += c,
                    _ => d.unpriced += 1,
                }
            }
            let mut day = tx.prepare_cached(
                "INSERT INTO daily_usage VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) \
                 ON CONFLICT (day_ms, seller, model, agent) DO UPDATE SET \
                 requests = requests + excluded.requests, errors = errors + excluded.errors, \
                 input_tokens = input_tokens + excluded.input_tokens, \
                 output_tokens = output_tokens + excluded.output_tokens, \
                 cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens, \
                 cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens, \
                 cost = cost + excluded.cost, unpriced = unpriced + excluded.unpriced",
            )?;
            for ((d_ms, seller, model, agent), d) in &days {
                day.execute(params![
                    d_ms,
                    seller,
                    model,
                    agent,
                    d.requests,
                    d.errors,
                    d.input,
                    d.output,
                    d.cache_read,
                    d.cache_write,
                    d.cost,
                    d.unpriced
                ])?;
            }
            let mut minute = tx.prepare_cached(
                "INSERT INTO minute_history VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) \
                 ON CONFLICT (seller, minute_ms) DO UPDATE SET \
                 requests = requests + excluded.requests, errors = errors + excluded.errors, \
                 ttft_sum_ms = ttft_sum_ms + excluded.ttft_sum_ms, \
                 ttft_count = ttft_count + excluded.ttft_count, \
                 ttft_p95_ms = COALESCE(excluded.ttft_p95_ms, ttft_p95_ms), \
                 output_tokens = output_tokens + excluded.output_tokens, \
                 rate_tokens = rate_tokens + excluded.rate_tokens, \
                 generating_ms = generating_ms + excluded.generating_ms",
            )?;
            for (seller, m_ms, d, p95) in self.minutes.take_deltas() {
                minute.execute(params![
                    seller,
                    m_ms,
                    tokens(Some(d.requests)),
                    tokens(Some(d.errors)),
                    d.ttft_sum_ms,
                    tokens(Some(d.ttft_count)),
                    p95,
                    tokens(Some(d.output_tokens)),
                    tokens(Some(d.rate_tokens)),
                    d.generating_ms
                ])?;
            }
            for c in credits {
                match c {
                    CreditChange::Set(seller, s) => tx.execute(
                        "INSERT INTO credits VALUES (?1, ?2, ?3, ?4) ON CONFLICT (seller) DO UPDATE \
                         SET balance = excluded.balance, spent = excluded.spent, since_ms = excluded.since_ms",
                        params![seller, s.balance, s.spent, s.since_ms],
                    )?,
                    CreditChange::Remove(seller) => {
                        tx.execute("DELETE FROM credits WHERE seller = ?1", [seller])?
                    }
                };
            }
        }
        tx.commit()?;
        Ok(ids)
    }
}
