//! `tokenbuddy usage`: tokens and cost by seller, model, agent or day, read
//! from the database directly; a table, JSON, or CSV a spreadsheet opens
//! (RFC 4180: a header row, CRLF line ends, quoted fields, `.` decimals).

use std::path::Path;

use tokenbuddy::store::query::parse_time;
use tokenbuddy::store::read::Reader;
use tokenbuddy::store::{now_ms, UsageBy, UsageQuery, UsageRow};

/// How to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned columns.
    Table,
    /// A JSON array.
    Json,
    /// RFC 4180 CSV.
    Csv,
}

/// Prints usage since `since` (a duration back from now, `7d`, or a date).
pub fn run(data_dir: &Path, since: &str, by: &str, format: Format) -> Result<(), String> {
    let by: UsageBy = by
        .parse()
        .map_err(|e: tokenbuddy::store::StoreError| e.to_string())?;
    let now = now_ms();
    let from = since_ms(since, now)?;
    let Some(reader) = Reader::open(data_dir).map_err(|e| e.to_string())? else {
        eprintln!(
            "Nothing recorded yet: no request database in {} (TokenBuddy records requests while it serves).",
            data_dir.display()
        );
        if format == Format::Json {
            println!("[]");
        } else if format == Format::Csv {
            print!("{}", csv(by, &[]));
        }
        return Ok(());
    };
    let q = UsageQuery {
        from_ms: Some(from),
        to_ms: Some(now),
        by,
    };
    let rows = reader.usage(&q, now).map_err(|e| e.to_string())?;
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&rows).map_err(|e| e.to_string())?
        ),
        Format::Csv => print!("{}", csv(by, &rows)),
        Format::Table => print!("{}", table(by, &rows)),
    }
    Ok(())
}

/// `7d`, `12h` back from `now_ms`, or a date / time / ms.
fn since_ms(since: &str, now_ms: i64) -> Result<i64, String> {
    if let Ok(d) = humantime::parse_duration(since.trim()) {
        return Ok(now_ms - d.as_millis() as i64);
    }
    parse_time(since).map_err(|_| {
        format!(
            "--since {since:?}: write a duration back from now (7d, 12h) or a date (2025-01-31)"
        )
    })
}

fn key(r: &UsageRow) -> String {
    r.key.clone().unwrap_or_else(|| "(none)".into())
}

fn cost(c: Option<f64>) -> String {
    // Fixed decimals, never exponents: a spreadsheet reads these as numbers.
    c.map_or(String::new(), |c| format!("{c:.6}"))
}

/// One CSV field, quoted when it must be (RFC 4180).
fn field(s: &str) -> String {
    if s.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The CSV text: a header row, then one row per group; an unknown cost is an empty field.
fn csv(by: UsageBy, rows: &[UsageRow]) -> String {
    let mut out = format!(
        "{},requests,errors,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,cost,unpriced_requests\r\n",
        by.as_str()
    );
    for r in rows {
        let fields = [
            field(&key(r)),
            r.requests.to_string(),
            r.errors.to_string(),
            r.input_tokens.to_string(),
            r.output_tokens.to_string(),
            r.cache_read_tokens.to_string(),
            r.cache_write_tokens.to_string(),
            cost(r.cost),
            r.unpriced_requests.to_string(),
        ];
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
    out
}

fn table(by: UsageBy, rows: &[UsageRow]) -> String {
    if rows.is_empty() {
        return "No requests in that time.\n".into();
    }
    let mut out = format!(
        "{:<24} {:>8} {:>7} {:>12} {:>12} {:>12} {:>12} {:>12}\n",
        by.as_str(),
        "requests",
        "errors",
        "input",
        "output",
        "cache read",
        "cache write",
        "cost"
    );
    for r in rows {
        let mut c = r.cost.map_or("?".to_string(), |c| format!("{c:.4}"));
        if r.cost.is_some() && r.unpriced_requests > 0 {
            c.push_str(&format!(" (+{} ?)", r.unpriced_requests));
        }
        out.push_str(&format!(
            "{:<24} {:>8} {:>7} {:>12} {:>12} {:>12} {:>12} {:>12}\n",
            key(r),
            r.requests,
            r.errors,
            r.input_tokens,
            r.output_tokens,
            r.cache_read_tokens,
            r.cache_write_tokens,
            c
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_as_rfc_4180_says() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
    }

    #[test]
    fn since_reads_durations_and_dates() {
        assert_eq!(since_ms("7d", 10 * 86_400_000).unwrap(), 3 * 86_400_000);
        assert_eq!(since_ms("1970-01-02", 0).unwrap(), 86_400_000);
        assert!(since_ms("last week", 0).is_err());
    }

    #[test]
    fn unknown_cost_is_an_empty_field_not_zero() {
        let row = UsageRow {
            key: None,
            requests: 2,
            errors: 0,
            input_tokens: 1,
            output_tokens: 2,
            cache_read_tokens: 0,
            cache_write_tokens: 0,
            cost: None,
            unpriced_requests: 2,
        };
        let text = csv(UsageBy::Seller, &[row]);
        assert!(text.ends_with("\r\n(none),2,0,1,2,0,0,,2\r\n"), "{text}");
    }
}
