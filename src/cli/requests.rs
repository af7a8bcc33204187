//! `tokenbuddy requests`: the newest rows of the request log, oldest first
//! like `tail`, read from the database directly; `--follow` then attaches to
//! the running server's `/api/requests/live` and prints rows as they come.

use std::fmt::Write as _;
use std::path::Path;

use futures_util::StreamExt;
use tokenbuddy::store::query::time_utc;
use tokenbuddy::store::read::Reader;
use tokenbuddy::store::{RequestQuery, RequestRow};

/// What to print.
pub struct Tail {
    /// How many of the newest rows.
    pub limit: usize,
    /// Keep printing new rows until Ctrl-C.
    pub follow: bool,
    /// One JSON object per line instead of a table.
    pub json: bool,
    /// Port of the running TokenBuddy (for `--follow`).
    pub port: u16,
}

/// Prints the tail of the request log (and follows it).
pub fn run(data_dir: &Path, tail: &Tail) -> Result<(), String> {
    if !tail.follow {
        let rows = recorded(data_dir, tail.limit)?;
        print_rows(&rows, tail.json, true);
        return Ok(());
    }
    let (token, runtime) = super::api_client(data_dir)?;
    runtime.block_on(follow(data_dir, tail, &token))
}

/// The newest `limit` rows, oldest first; a message when nothing is recorded yet.
fn recorded(data_dir: &Path, limit: usize) -> Result<Vec<RequestRow>, String> {
    let Some(reader) = Reader::open(data_dir).map_err(|e| e.to_string())? else {
        eprintln!(
            "Nothing recorded yet: no request database in {} (TokenBuddy records requests while it serves).",
            data_dir.display()
        );
        return Ok(Vec::new());
    };
    let page = reader
        .requests(&RequestQuery {
            limit: Some(limit),
            ..RequestQuery::default()
        })
        .map_err(|e| e.to_string())?;
    let mut rows = page.requests;
    rows.reverse();
    Ok(rows)
}

async fn follow(data_dir: &Path, tail: &Tail, token: &str) -> Result<(), String> {
    let base = format!("http://127.0.0.1:{}", tail.port);
    // Subscribe first, then read the database: a row committed in between
    // comes on the stream, and ids tell which were printed already.
    let resp = reqwest::Client::new()
        .get(format!("{base}/api/requests/live"))
        .bearer_auth(token)
        .send()
        .await;
    let rows = recorded(data_dir, tail.limit)?;
    print_rows(&rows, tail.json, true);
    let mut last = rows.last().map_or(0, |r| r.id);
    let resp = resp.map_err(|_| {
        format!(
            "TokenBuddy is not running on port {} (start it with `tokenbuddy serve`, or pass --port): cannot follow",
            tail.port
        )
    })?;
    if !resp.status().is_success() {
        return Err(format!(
            "{base}/api/requests/live answered {}",
            resp.status()
        ));
    }
    let mut body = resp.bytes_stream();
    let mut buf: Vec<u8> = Vec::new();
    let mut header = rows.is_empty();
    // One listener for the whole run: a Ctrl-C between two chunks is not missed.
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        let chunk = tokio::select! {
            chunk = body.next() => chunk,
            _ = &mut ctrl_c => return Ok(()),
        };
        let Some(chunk) = chunk else {
            return Err("TokenBuddy stopped; the live request log ended".into());
        };
        let chunk = chunk.map_err(|e| format!("the live request log broke: {e}"))?;
        buf.extend_from_slice(&chunk);
        while let Some(end) = find_frame_end(&buf) {
            let frame: Vec<u8> = buf.drain(..end).collect();
            let Some(row) = row_of(&frame) else { continue };
            if row.id <= last {
                continue;
            }
            last = row.id;
            print_rows(std::slice::from_ref(&row), tail.json, header);
            header = false;
        }
    }
}

/// Where the first SSE frame ends (after its blank line), if it is complete.
fn find_frame_end(buf: &[u8]) -> Option<usize> {
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The row in a `request` frame (comments and other events: none).
fn row_of(frame: &[u8]) -> Option<RequestRow> {
    let text = std::str::from_utf8(frame).ok()?;
    let mut event = None;
    let mut data = String::new();
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("event:") {
            event = Some(v.trim());
        } else if let Some(v) = line.strip_prefix("data:") {
            data.push_str(v.strip_prefix(' ').unwrap_or(v));
        }
    }
    (event == Some("request"))
        .then(|| serde_json::from_str(&data).ok())
        .flatten()
}

fn print_rows(rows: &[RequestRow], json: bool, header: bool) {
    let mut out = String::new();
    if json {
        for r in rows {
            let _ = writeln!(out, "{}", serde_json::to_string(r).unwrap_or_default());
        }
    } else {
        if header && !rows.is_empty() {
            out.push_str(&line_of(&HEADER.map(String::from)));
        }
        for r in rows {
            out.push_str(&line_of(&columns(r)));
        }
    }
    print!("{out}");
}

const HEADER: [&str; 10] = [
    "time (UTC)",
    "agent",
    "model",
    "seller",
    "outcome",
    "ttft",
    "duration",
    "tokens in/out",
    "cost",
    "attempts",
];

fn line_of(c: &[String; 10]) -> String {
    format!(
        "{:<19}  {:<12} {:<22} {:<14} {:<17} {:>7} {:>8} {:>13} {:>9} {}\n",
        c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9]
    )
    .replace(" \n", "\n")
    .trim_end_matches(' ')
    .to_string()
}

fn millis(ms: f64) -> String {
    if ms >= 10_000.0 {
        format!("{:.0}s", ms / 1000.0)
    } else if ms >= 1000.0 {
        format!("{:.1}s", ms / 1000.0)
    } else {
        format!("{ms:.0}ms")
    }
}

fn count(n: Option<u64>) -> String {
    n.map_or("?".into(), |n| n.to_string())
}

/// The table columns of one row.
fn columns(r: &RequestRow) -> [String; 10] {
    let rec = &r.record;
    let time = time_utc(rec.at_ms).replace('T', " ").replace('Z', "");
    let input = rec
        .usage
        .input
        .map(|i| i + rec.usage.cache_read.unwrap_or(0) + rec.usage.cache_write.unwrap_or(0));
    [
        time,
        rec.agent.clone(),
        rec.model_asked.clone(),
        rec.seller.clone().unwrap_or_else(|| "-".into()),
        format!("{} {}", rec.status, rec.outcome.as_str()),
        rec.ttft_ms.map_or("-".into(), millis),
        millis(rec.duration_ms),
        format!("{}/{}", count(input), count(rec.usage.output)),
        rec.cost.map_or("?".into(), |c| format!("{c:.4}")),
        if rec.attempts.len() > 1 {
            rec.attempts.len().to_string()
        } else {
            String::new()
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_on_blank_lines() {
        assert_eq!(
            find_frame_end(b"event: request\ndata: {}\n\nrest"),
            Some(25)
        );
        assert_eq!(find_frame_end(b": keep-alive\r\n\r\n"), Some(16));
        assert_eq!(find_frame_end(b"event: request\ndata: {"), None);
        assert!(row_of(b": keep-alive\n\n").is_none());
    }

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(millis(350.4), "350ms");
        assert_eq!(millis(1234.0), "1.2s");
        assert_eq!(millis(65_000.0), "65s");
    }
}
