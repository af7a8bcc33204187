//! `tokenbuddy requests` and `tokenbuddy usage` as a user runs them: the real
//! binary on a data dir whose database was filled through `Store`; CSV read
//! back strictly (header, field count, numbers); `--follow` attached to a
//! live server, ended by Ctrl-C; clear messages when nothing is recorded or
//! no server runs.

mod store_fixtures;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use store_fixtures::{all_failed, attempt, config, served, t0, HANG};
use tokenbuddy::store::{RequestRecord, Store, UsageBy, UsageQuery};

const BIN: &str = env!("CARGO_BIN_EXE_tokenbuddy");

fn tokenbuddy(data: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args)
        .arg("--data-dir")
        .arg(data)
        .env_remove("TOKENBUDDY_DATA_DIR")
        .env_remove("TOKENBUDDY_LOG");
    c
}

fn run(data: &Path, args: &[&str]) -> Output {
    let out = tokenbuddy(data, args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn records() -> Vec<RequestRecord> {
    let base = t0();
    let mut failover = served(base + 3, "beta", "codex", "gpt-5", Some(0.125));
    failover.attempts = vec![
        attempt("alpha", "status", Some(503)),
        attempt("beta", "served", Some(200)),
    ];
    vec![
        served(base, "alpha", "claude-code", "sonnet", Some(0.5)),
        served(base + 1, "alpha", "claude-code", "odd,\"model\"", None),
        all_failed(base + 2, &["alpha", "beta"], "opencode", "sonnet"),
        failover,
        served(base + 4, "gamma", "codex", "gpt-5", Some(1.0)),
    ]
}

async fn filled(dir: &Path) -> Store {
    let store = Store::open(dir, config());
    for r in records() {
        store.submit(r);
    }
    tokio::time::timeout(HANG, store.flush()).await.unwrap();
    store
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_prints_the_newest_oldest_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = filled(dir.path()).await;
    store.close().await;

    let out = run(dir.path(), &["requests", "--json", "--limit", "3"]);
    let rows: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 3);
    let want = records();
    let got: Vec<RequestRecord> = rows
        .iter()
        .map(|r| serde_json::from_value(r.clone()).unwrap())
        .collect();
    assert_eq!(got, want[2..].to_vec(), "the newest three, oldest first");
    assert!(rows
        .windows(2)
        .all(|w| w[0]["id"].as_i64() < w[1]["id"].as_i64()));

    let out = run(dir.path(), &["requests"]);
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 6, "header and five rows:\n{text}");
    assert!(lines[0].starts_with("time (UTC)") && lines[0].contains("tokens in/out"));
    assert!(
        lines[2].contains("odd,\"model\"") && lines[2].contains(" ?"),
        "unknown cost is ?: {}",
        lines[2]
    );
    assert!(lines[3].contains("502 allFailed"), "{}", lines[3]);
    assert!(
        lines[4].trim_end().ends_with(" 2"),
        "two attempts: {}",
        lines[4]
    );
    assert!(
        lines[1].contains("115/40") && lines[1].contains("200ms"),
        "{}",
        lines[1]
    );
}

/// A strict RFC 4180 reader: CRLF records, quoted fields with doubled quotes.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    assert!(text.ends_with("\r\n"), "every record ends with CRLF");
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => {
                    quoted = false;
                    assert!(
                        matches!(chars.peek(), Some(',') | Some('\r')),
                        "text after a closing quote"
                    );
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => quoted = true,
            '"' => panic!("a quote inside an unquoted field"),
            ',' => record.push(std::mem::take(&mut field)),
            '\r' => {
                assert_eq!(chars.next(), Some('\n'), "CR without LF");
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            '\n' => panic!("LF without CR"),
            _ => field.push(c),
        }
    }
    assert!(!quoted && field.is_empty() && record.is_empty());
    records
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_csv_reads_back_as_the_stores_usage() {
    let dir = tempfile::tempdir().unwrap();
    let store = filled(dir.path()).await;
    for by in [
        UsageBy::Seller,
        UsageBy::Model,
        UsageBy::Agent,
        UsageBy::Day,
    ] {
        let out = run(
            dir.path(),
            &["usage", "--csv", "--by", by.as_str(), "--since", "3d"],
        );
        let records = parse_csv(&String::from_utf8(out.stdout).unwrap());
        let header = &records[0];
        assert_eq!(header[0], by.as_str());
        assert_eq!(
            header[1..].join(","),
            "requests,errors,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,cost,unpriced_requests"
        );
        let want = store
            .usage(UsageQuery {
                by,
                ..UsageQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(records.len() - 1, want.len(), "{by:?}");
        for (rec, w) in records[1..].iter().zip(&want) {
            assert_eq!(rec.len(), header.len(), "field count");
            assert_eq!(rec[0], w.key.clone().unwrap_or_else(|| "(none)".into()));
            let n: Vec<u64> = [1, 2, 3, 4, 5, 6, 8]
                .iter()
                .map(|&i| rec[i].parse().unwrap())
                .collect();
            assert_eq!(
                n,
                vec![
                    w.requests,
                    w.errors,
                    w.input_tokens,
                    w.output_tokens,
                    w.cache_read_tokens,
                    w.cache_write_tokens,
                    w.unpriced_requests
                ]
            );
            match w.cost {
                Some(c) => assert!((rec[7].parse::<f64>().unwrap() - c).abs() < 1e-6),
                None => assert_eq!(rec[7], "", "unknown cost is empty, not 0"),
            }
        }
    }
    let out = run(dir.path(), &["usage", "--csv", "--by", "model"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("\"odd,\"\"model\"\"\",1,"), "quoted: {text}");

    let out = run(dir.path(), &["usage", "--json", "--by", "seller"]);
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    let alpha = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == "alpha")
        .unwrap();
    assert_eq!(
        (
            alpha["requests"].as_u64(),
            alpha["unpricedRequests"].as_u64()
        ),
        (Some(2), Some(1))
    );
    let out = run(dir.path(), &["usage"]);
    assert!(String::from_utf8(out.stdout).unwrap().starts_with("seller"));
    let bad = tokenbuddy(dir.path(), &["usage", "--by", "week"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("seller, model, agent or day"));
    store.close().await;
}

#[test]
fn nothing_recorded_is_a_message_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&["requests"][..], &["usage"][..]] {
        let out = run(dir.path(), args);
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains("Nothing recorded yet"), "{args:?}: {err}");
        assert!(!err.contains("panicked"));
    }
    let out = run(dir.path(), &["usage", "--csv"]);
    assert_eq!(
        parse_csv(&String::from_utf8(out.stdout).unwrap()).len(),
        1,
        "just the header"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_without_a_server_says_so() {
    let dir = tempfile::tempdir().unwrap();
    tokenbuddy::token::load_or_create(dir.path()).unwrap();
    let store = filled(dir.path()).await;
    store.close().await;
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = tokenbuddy(
        dir.path(),
        &["requests", "--follow", "--port", &port.to_string()],
    )
    .output()
    .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("not running on port"), "{err}");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().lines().count(),
        6,
        "the recorded rows first"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_prints_new_rows_and_ends_on_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    tokenbuddy::token::load_or_create(dir.path()).unwrap();
    let store = filled(dir.path()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = tokenbuddy::control::store::router(store.clone(), Default::default());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let mut child = tokenbuddy(
        dir.path(),
        &[
            "requests",
            "--follow",
            "--json",
            "-n",
            "1",
            "--port",
            &port.to_string(),
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let first: Value = serde_json::from_str(
        &tokio::time::timeout(HANG, rx.recv())
            .await
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(first["seller"], "gamma", "the newest recorded row");
    // The CLI subscribed before reading the database, so this row comes live.
    let mut new = served(t0() + 10, "delta", "hermes", "live-model", Some(0.01));
    new.attempts = vec![attempt("delta", "served", Some(200))];
    store.submit(new);
    let live: Value = serde_json::from_str(
        &tokio::time::timeout(HANG, rx.recv())
            .await
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(live["modelAsked"], "live-model");
    assert!(live["id"].as_i64() > first["id"].as_i64());
    // Ctrl-C ends it cleanly.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = tokio::time::timeout(HANG, tokio::task::spawn_blocking(move || child.wait()))
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
    store.close().await;
}
