//! The questions the store answers and the shapes of its answers (camelCase
//! JSON), with the parsing of times and defaults that belongs to them.

use std::str::FromStr;
use std::time::{Duration, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::error::StoreError;
use super::record::RequestRecord;

/// One day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;

/// One request log row: its id and the record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequestRow {
    /// The row's id (increasing; the cursor for paging).
    pub id: i64,
    /// What was recorded.
    #[serde(flatten)]
    pub record: RequestRecord,
}

/// Most rows one page of the request log returns.
pub const MAX_LIMIT: usize = 1000;
/// Rows a page returns unless told otherwise.
pub const DEFAULT_LIMIT: usize = 50;

/// A page of the request log: filters and cursor.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct RequestQuery {
    /// Rows per page ([`DEFAULT_LIMIT`], at most [`MAX_LIMIT`]).
    pub limit: Option<usize>,
    /// Only rows with an id below this (the previous page's `next`).
    pub before: Option<i64>,
    /// Only this seller.
    pub seller: Option<String>,
    /// Only this agent.
    pub agent: Option<String>,
    /// Only this model (asked or sent).
    pub model: Option<String>,
    /// Only this outcome class (`served`, `allFailed`, …) or HTTP status (`429`).
    pub status: Option<String>,
}

/// A request log page, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequestPage {
    /// The rows.
    pub requests: Vec<RequestRow>,
    /// `before` for the next page; `None` when this is the last.
    pub next: Option<i64>,
}

/// How usage is grouped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum UsageBy {
    /// Per seller.
    #[default]
    Seller,
    /// Per model asked.
    Model,
    /// Per agent.
    Agent,
    /// Per UTC day.
    Day,
}

impl UsageBy {
    /// The name in the API and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            UsageBy::Seller => "seller",
            UsageBy::Model => "model",
            UsageBy::Agent => "agent",
            UsageBy::Day => "day",
        }
    }
}

impl FromStr for UsageBy {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            UsageBy::Seller,
            UsageBy::Model,
            UsageBy::Agent,
            UsageBy::Day,
        ]
        .into_iter()
        .find(|b| b.as_str() == s)
        .ok_or_else(|| StoreError::BadQuery(format!("by={s:?}: write seller, model, agent or day")))
    }
}

/// Usage between two times, grouped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsageQuery {
    /// From (ms); rounded down to its UTC day. Default: 7 days before `to`.
    pub from_ms: Option<i64>,
    /// Until (ms, inclusive). Default: now.
    pub to_ms: Option<i64>,
    /// Grouping.
    pub by: UsageBy,
}

/// Usage of one group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageRow {
    /// The seller, model, agent or day (`YYYY-MM-DD`, UTC); `None` for
    /// requests no seller was tried for.
    pub key: Option<String>,
    /// Requests.
    pub requests: u64,
    /// Requests that ended in an error class (see `OutcomeClass::is_error`).
    pub errors: u64,
    /// Uncached input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Input tokens read from a prompt cache.
    pub cache_read_tokens: u64,
    /// Input tokens written to a prompt cache.
    pub cache_write_tokens: u64,
    /// Sum of the known costs; `None` when no request had a known cost.
    pub cost: Option<f64>,
    /// Requests whose cost is unknown (not in `cost`).
    pub unpriced_requests: u64,
}

/// Seller history between two times in steps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryQuery {
    /// Only this seller (default: all, one series each).
    pub seller: Option<String>,
    /// From (ms). Default: an hour before `to`.
    pub from_ms: Option<i64>,
    /// Until (ms, exclusive). Default: now.
    pub to_ms: Option<i64>,
    /// Step in ms, a whole number of minutes (rounded down, at least one). Default: a minute.
    pub step_ms: Option<i64>,
}

/// Most points one history answer holds per seller.
pub const MAX_POINTS: i64 = 10_000;

/// One step of one seller's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryPoint {
    /// The seller.
    pub seller: String,
    /// Start of the step (ms).
    pub at_ms: i64,
    /// Attempts sent to the seller.
    pub requests: u64,
    /// Attempts that failed.
    pub errors: u64,
    /// Mean TTFT over the step's samples.
    pub ttft_ms: Option<f64>,
    /// The highest per-minute p95 in the step (an upper bound of the step's p95).
    pub ttft_p95_ms: Option<f64>,
    /// Number of TTFT samples.
    pub ttft_samples: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Output tokens per generating second.
    pub tokens_per_sec: Option<f64>,
}

/// A seller's estimates from its most recent hour of history.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WarmStart {
    /// The seller.
    pub seller: String,
    /// Mean TTFT.
    pub ttft_ms: Option<f64>,
    /// How many TTFT samples the mean is over.
    pub ttft_samples: u64,
    /// Output tokens per generating second.
    pub tokens_per_sec: Option<f64>,
    /// The newest minute of its history (ms).
    pub newest_minute_ms: i64,
}

/// A time given as milliseconds since the epoch, a UTC date (`2025-01-31`)
/// or an RFC 3339 time (`2025-01-31T12:00:00Z`).
pub fn parse_time(s: &str) -> Result<i64, StoreError> {
    let s = s.trim();
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(ms);
    }
    let full = if s.len() == 10 {
        format!("{s}T00:00:00Z")
    } else {
        s.to_string()
    };
    humantime::parse_rfc3339_weak(&full)
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as i64)
        .ok_or_else(|| {
            StoreError::BadQuery(format!(
                "{s:?} is not a time: write milliseconds since the epoch, a date (2025-01-31) or 2025-01-31T12:00:00Z"
            ))
        })
}

/// The start of the UTC day `ms` falls in.
pub fn day_of(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS) * DAY_MS
}

/// `ms` as a UTC date, `YYYY-MM-DD`.
pub fn date(ms: i64) -> String {
    let mut s = time_utc(ms);
    s.truncate(10);
    s
}

/// `ms` as a UTC time, `YYYY-MM-DDTHH:MM:SSZ`.
pub fn time_utc(ms: i64) -> String {
    let t = UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_days() {
        assert_eq!(parse_time("1700000000000").unwrap(), 1_700_000_000_000);
        let d = parse_time("2025-01-31").unwrap();
        assert_eq!(date(d), "2025-01-31");
        assert_eq!(day_of(d + 5), d);
        assert_eq!(parse_time("2025-01-31T12:00:00Z").unwrap(), d + DAY_MS / 2);
        assert_eq!(time_utc(d + DAY_MS / 2), "2025-01-31T12:00:00Z");
        assert!(matches!(
            parse_time("yesterday"),
            Err(StoreError::BadQuery(_))
        ));
    }

    #[test]
    fn by_names() {
        assert_eq!("day".parse::<UsageBy>().unwrap(), UsageBy::Day);
        assert!("week".parse::<UsageBy>().is_err());
    }

    #[test]
    fn row_json_is_flat_camel_case() {
        let rec: RequestRecord = serde_json::from_value(serde_json::json!({
            "atMs": 1, "agent": "codex", "protocol": "openai-chat", "endpoint": "/v1/chat/completions",
            "modelAsked": "m", "modelSent": null, "stream": false, "seller": null, "status": 502,
            "outcome": "allFailed", "ttftMs": null, "durationMs": 3.0, "generatingMs": null,
            "usage": {"input": null, "output": null, "cacheRead": null, "cacheWrite": null},
            "tokensPerSec": null, "cost": null, "attempts": []
        }))
        .unwrap();
        let v = serde_json::to_value(RequestRow {
            id: 7,
            record: rec.clone(),
        })
        .unwrap();
        assert_eq!(v["id"], 7);
        assert_eq!(v["modelAsked"], "m");
        let back: RequestRow = serde_json::from_value(v).unwrap();
        assert_eq!(back.record, rec);
    }
}
