//! What the store answers: request log paging and filters, usage that sums
//! the rows (unknown cost counted, never zero), credits, minute history and
//! its steps, retention with an injected now, and the warm start.

mod store_fixtures;

use std::collections::BTreeMap;
use std::time::Duration;

use store_fixtures::{all_failed, attempt, config, served, t0, HANG};
use tokenbuddy::proxy::outcome::OutcomeClass;
use tokenbuddy::store::query::{date, DAY_MS};
use tokenbuddy::store::{
    HistoryQuery, RequestQuery, RequestRecord, Store, StoreConfig, StoreError, UsageBy, UsageQuery,
};

const MIN: i64 = 60_000;

/// Seeded xorshift, so the made-up traffic is the same every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn traffic(n: usize, base: i64) -> Vec<RequestRecord> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let sellers = ["alpha", "beta", "gamma"];
    let agents = ["claude-code", "codex", "opencode"];
    let models = ["sonnet", "gpt-5"];
    (0..n)
        .map(|i| {
            let at = base - rng.next(3) as i64 * DAY_MS + i as i64;
            let seller = sellers[rng.next(3) as usize];
            let agent = agents[rng.next(3) as usize];
            let model = models[rng.next(2) as usize];
            match rng.next(5) {
                0 => all_failed(at, &[seller, "beta"], agent, model),
                1 => served(at, seller, agent, model, None),
                _ => {
                    let mut r = served(
                        at,
                        seller,
                        agent,
                        model,
                        Some(0.25 * (1 + rng.next(4)) as f64),
                    );
                    r.usage.output = Some(10 + rng.next(100));
                    r
                }
            }
        })
        .collect()
}

async fn filled(records: &[RequestRecord]) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), config());
    for r in records {
        store.submit(r.clone());
    }
    tokio::time::timeout(HANG, store.flush()).await.unwrap();
    (dir, store)
}

fn q() -> RequestQuery {
    RequestQuery::default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_newest_first_by_cursor() {
    let records = traffic(57, t0());
    let (_dir, store) = filled(&records).await;
    let mut ids = Vec::new();
    let mut before = None;
    let mut pages = 0;
    loop {
        let page = store
            .requests(RequestQuery {
                limit: Some(10),
                before,
                ..q()
            })
            .await
            .unwrap();
        pages += 1;
        assert!(page.requests.len() <= 10);
        ids.extend(page.requests.iter().map(|r| r.id));
        match page.next {
            Some(n) => before = Some(n),
            None => break,
        }
    }
    assert_eq!(pages, 6);
    assert_eq!(ids.len(), 57);
    assert!(
        ids.windows(2).all(|w| w[0] > w[1]),
        "newest first, no repeats"
    );
    // The newest row is the last record submitted.
    let newest = store.request(ids[0]).await.unwrap().unwrap();
    assert_eq!(newest.record, records[56]);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_filter_selects_exactly_its_rows() {
    let records = traffic(80, t0());
    let (_dir, store) = filled(&records).await;
    let all = |query: RequestQuery| {
        let store = store.clone();
        async move {
            store
                .requests(RequestQuery {
                    limit: Some(1000),
                    ..query
                })
                .await
                .unwrap()
                .requests
        }
    };
    type Keep = Box<dyn Fn(&RequestRecord) -> bool>;
    let cases: Vec<(RequestQuery, Keep)> = vec![
        (
            RequestQuery {
                seller: Some("gamma".into()),
                ..q()
            },
            Box::new(|r| r.seller.as_deref() == Some("gamma")),
        ),
        (
            RequestQuery {
                agent: Some("codex".into()),
                ..q()
            },
            Box::new(|r| r.agent == "codex"),
        ),
        (
            RequestQuery {
                model: Some("sonnet".into()),
                ..q()
            },
            Box::new(|r| r.model_asked == "sonnet"),
        ),
        (
            RequestQuery {
                model: Some("gpt-5-upstream".into()),
                ..q()
            },
            Box::new(|r| r.model_sent.as_deref() == Some("gpt-5-upstream")),
        ),
        (
            RequestQuery {
                status: Some("allFailed".into()),
                ..q()
            },
            Box::new(|r| r.outcome == OutcomeClass::AllFailed),
        ),
        (
            RequestQuery {
                status: Some("502".into()),
                ..q()
            },
            Box::new(|r| r.status == 502),
        ),
        (
            RequestQuery {
                seller: Some("beta".into()),
                agent: Some("opencode".into()),
                status: Some("served".into()),
                ..q()
            },
            Box::new(|r| {
                r.seller.as_deref() == Some("beta")
                    && r.agent == "opencode"
                    && r.outcome == OutcomeClass::Served
            }),
        ),
    ];
    for (query, keep) in cases {
        let got: Vec<RequestRecord> = all(query.clone())
            .await
            .into_iter()
            .rev()
            .map(|r| r.record)
            .collect();
        let want: Vec<RequestRecord> = records.iter().filter(|r| keep(r)).cloned().collect();
        assert!(!want.is_empty(), "{query:?} selects something");
        assert_eq!(got, want, "{query:?}");
    }
    let bad = store
        .requests(RequestQuery {
            status: Some("fine".into()),
            ..q()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(bad, StoreError::BadQuery(ref m) if m.contains("served")),
        "{bad}"
    );
    assert_eq!(store.request(999_999).await.unwrap(), None);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_over_row_keeps_its_attempt_trail() {
    let mut r = served(t0(), "b", "codex", "m", Some(0.1));
    r.attempts = vec![
        attempt("a", "status", Some(503)),
        attempt("b", "served", Some(200)),
    ];
    let (_dir, store) = filled(std::slice::from_ref(&r)).await;
    let page = store.requests(q()).await.unwrap();
    let row = store.request(page.requests[0].id).await.unwrap().unwrap();
    assert_eq!(row.record.attempts, r.attempts);
    let json = serde_json::to_value(&row).unwrap();
    assert_eq!(json["attempts"][0]["outcome"], "status");
    assert_eq!(json["attempts"][0]["status"], 503);
    store.close().await;
}

#[derive(Default, Debug, PartialEq)]
struct Sums {
    requests: u64,
    errors: u64,
    input: u64,
    output: u64,
    cache_read: u64,
    cache_write: u64,
    cost: f64,
    unpriced: u64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_by_each_grouping_sums_the_rows() {
    let records = traffic(300, t0());
    let (_dir, store) = filled(&records).await;
    for by in [
        UsageBy::Seller,
        UsageBy::Model,
        UsageBy::Agent,
        UsageBy::Day,
    ] {
        let mut want: BTreeMap<Option<String>, Sums> = BTreeMap::new();
        for r in &records {
            let key = match by {
                UsageBy::Seller => r.seller.clone(),
                UsageBy::Model => Some(r.model_asked.clone()),
                UsageBy::Agent => Some(r.agent.clone()),
                UsageBy::Day => Some(date(r.at_ms)),
            };
            let s = want.entry(key).or_default();
            s.requests += 1;
            s.errors += u64::from(r.outcome.is_error());
            s.input += r.usage.input.unwrap_or(0);
            s.output += r.usage.output.unwrap_or(0);
            s.cache_read += r.usage.cache_read.unwrap_or(0);
            s.cache_write += r.usage.cache_write.unwrap_or(0);
            match r.cost {
                Some(c) => s.cost += c,
                None => s.unpriced += 1,
            }
        }
        let rows = store
            .usage(UsageQuery {
                by,
                ..UsageQuery::default()
            })
            .await
            .unwrap();
        let got: BTreeMap<Option<String>, Sums> = rows
            .iter()
            .map(|u| {
                (
                    u.key.clone(),
                    Sums {
                        requests: u.requests,
                        errors: u.errors,
                        input: u.input_tokens,
                        output: u.output_tokens,
                        cache_read: u.cache_read_tokens,
                        cache_write: u.cache_write_tokens,
                        cost: u.cost.unwrap_or(0.0),
                        unpriced: u.unpriced_requests,
                    },
                )
            })
            .collect();
        assert_eq!(got.len(), want.len(), "{by:?}");
        for (k, w) in &want {
            let g = &got[k];
            assert!((g.cost - w.cost).abs() < 1e-9, "{by:?} {k:?}");
            assert_eq!(
                Sums { cost: 0.0, ..*g },
                Sums { cost: 0.0, ..*w },
                "{by:?} {k:?}"
            );
        }
        assert!(want.values().any(|s| s.unpriced > 0), "some cost unknown");
    }
    // A group with no known cost has no cost, not zero.
    let only_unknown = served(t0(), "delta", "codex", "m", None);
    store.submit(only_unknown);
    store.flush().await;
    let rows = store.usage(UsageQuery::default()).await.unwrap();
    let delta = rows
        .iter()
        .find(|u| u.key.as_deref() == Some("delta"))
        .unwrap();
    assert_eq!((delta.cost, delta.unpriced_requests), (None, 1));
    // A range that ends before the traffic has none of it.
    let none = store
        .usage(UsageQuery {
            from_ms: Some(t0() - 30 * DAY_MS),
            to_ms: Some(t0() - 10 * DAY_MS),
            by: UsageBy::Day,
        })
        .await
        .unwrap();
    assert!(none.is_empty());
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credits_accumulate_flag_start_over_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), config());
    let since = t0();
    store.set_balances(&[("a".into(), Some(10.0)), ("b".into(), None)], since);
    assert_eq!(store.credit("b"), None);
    for _ in 0..3 {
        store.submit(served(t0(), "a", "codex", "m", Some(2.0)));
    }
    store.submit(served(t0(), "a", "codex", "m", None));
    let c = store.credit("a").unwrap();
    assert_eq!(
        (c.balance, c.spent, c.since_ms),
        (10.0, 6.0, since),
        "counted at submit"
    );
    assert!(!c.low() && !c.exhausted());
    store.submit(served(t0(), "a", "codex", "m", Some(2.5)));
    assert!(store.credit("a").unwrap().low(), "85 % spent");
    store.submit(served(t0(), "a", "codex", "m", Some(1.5)));
    let c = store.credit("a").unwrap();
    assert!(c.exhausted() && c.remaining() == 0.0);
    store.close().await;
    drop(store);

    let store = Store::open(dir.path(), config());
    let c = store.credit("a").unwrap();
    assert_eq!(
        (c.balance, c.spent, c.since_ms),
        (10.0, 10.0, since),
        "persisted"
    );
    store.set_balances(&[("a".into(), Some(10.0))], since + 5);
    assert_eq!(
        store.credit("a").unwrap().spent,
        10.0,
        "the same balance keeps its spend"
    );
    store.set_balances(&[("a".into(), Some(25.0))], since + 9);
    let c = store.credit("a").unwrap();
    assert_eq!(
        (c.balance, c.spent, c.since_ms),
        (25.0, 0.0, since + 9),
        "a raised balance starts over"
    );
    store.submit(served(t0(), "a", "codex", "m", Some(1.0)));
    store.close().await;
    drop(store);

    let store = Store::open(dir.path(), config());
    let c = store.credit("a").unwrap();
    assert_eq!((c.balance, c.spent, c.since_ms), (25.0, 1.0, since + 9));
    store.set_balances(&[("a".into(), None)], since + 10);
    store.close().await;
    drop(store);
    assert_eq!(
        Store::open(dir.path(), config()).credit("a"),
        None,
        "removal persisted"
    );
}

fn timed(at: i64, seller: &str, ttft: f64, output: u64, generating_ms: f64) -> RequestRecord {
    let mut r = served(at, seller, "codex", "m", None);
    r.ttft_ms = Some(ttft);
    r.usage.output = Some(output);
    r.generating_ms = Some(generating_ms);
    r.duration_ms = 1000.0;
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn minute_history_counts_attempts_errors_ttft_and_rate() {
    let m0 = t0();
    let mut failover = timed(m0, "b", 100.0, 50, 500.0);
    failover.attempts = vec![
        attempt("a", "connect", None),
        attempt("x", "full", None),
        attempt("b", "served", Some(200)),
    ];
    let mut broken = timed(m0 + 2000, "b", 500.0, 20, 500.0);
    broken.outcome = OutcomeClass::StreamBroken;
    let records = vec![
        failover,
        timed(m0 + 1000, "b", 300.0, 30, 1000.0),
        broken,
        timed(m0 + MIN, "b", 100.0, 100, 1000.0),
    ];
    let (_dir, store) = filled(&records).await;
    let per_minute = store
        .history(HistoryQuery {
            seller: Some("b".into()),
            from_ms: Some(m0),
            to_ms: Some(m0 + 2 * MIN),
            step_ms: None,
        })
        .await
        .unwrap();
    assert_eq!(per_minute.len(), 2, "{per_minute:?}");
    let p = &per_minute[0];
    assert_eq!(
        (p.seller.as_str(), p.at_ms, p.requests, p.errors),
        ("b", m0, 3, 1)
    );
    assert_eq!(
        (p.ttft_ms, p.ttft_p95_ms, p.ttft_samples),
        (Some(300.0), Some(500.0), 3)
    );
    assert_eq!((p.output_tokens, p.tokens_per_sec), (100, Some(50.0)));
    let all = store
        .history(HistoryQuery {
            from_ms: Some(m0),
            to_ms: Some(m0 + 2 * MIN),
            ..HistoryQuery::default()
        })
        .await
        .unwrap();
    let a: Vec<_> = all.iter().filter(|p| p.seller == "a").collect();
    assert_eq!((a.len(), a[0].requests, a[0].errors), (1, 1, 1));
    assert!(
        all.iter().all(|p| p.seller != "x"),
        "a full seller was never sent to"
    );

    let step = store
        .history(HistoryQuery {
            seller: Some("b".into()),
            from_ms: Some(m0),
            to_ms: Some(m0 + 2 * MIN),
            step_ms: Some(2 * MIN),
        })
        .await
        .unwrap();
    assert_eq!(step.len(), 1);
    let s = &step[0];
    assert_eq!(
        (s.at_ms, s.requests, s.errors, s.ttft_samples),
        (m0, 4, 1, 4)
    );
    assert_eq!(
        (s.ttft_ms, s.ttft_p95_ms),
        (Some(250.0), Some(500.0)),
        "weighted mean; max of p95s"
    );
    assert_eq!(
        (s.output_tokens, s.tokens_per_sec),
        (200, Some(200.0 / 3.0))
    );
    let too_fine = store
        .history(HistoryQuery {
            from_ms: Some(0),
            to_ms: Some(m0),
            ..HistoryQuery::default()
        })
        .await;
    assert!(matches!(too_fine, Err(StoreError::BadQuery(_))));
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_prunes_as_of_an_injected_now_and_keeps_rollups() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = StoreConfig {
        request_retention: Duration::from_secs(3600),
        history_retention: Duration::from_secs(90 * 60),
        ..config()
    };
    let store = Store::open(dir.path(), cfg);
    let old = t0();
    for i in 0..5 {
        store.submit(timed(old + i, "a", 100.0, 10, 100.0));
    }
    for i in 0..3 {
        store.submit(timed(old + 100 * MIN + i, "a", 100.0, 10, 100.0));
    }
    store.flush().await;
    assert_eq!(store.status().rows, 8);
    // As of 61 minutes after the old ones ended, only they are past an hour.
    store.prune(old + 61 * MIN + 2000).await;
    let s = store.status();
    let report = s.last_prune.unwrap();
    assert_eq!(
        (report.requests_removed, report.minutes_removed, s.rows),
        (5, 0, 3)
    );
    let left = store.requests(q()).await.unwrap().requests;
    assert!(left.iter().all(|r| r.record.at_ms >= old + 100 * MIN));
    store.prune(old + 92 * MIN).await;
    assert_eq!(
        store.status().last_prune.unwrap().minutes_removed,
        1,
        "the old minute"
    );
    let usage = store.usage(UsageQuery::default()).await.unwrap();
    assert_eq!(usage[0].requests, 8, "daily rollups are kept");
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warm_start_takes_each_sellers_most_recent_hour() {
    let base = t0();
    let records = vec![
        timed(base, "w", 1000.0, 10, 1000.0),
        timed(base + 90 * MIN, "w", 100.0, 30, 1000.0),
        timed(base + 100 * MIN, "w", 200.0, 50, 1000.0),
        timed(base + 5 * MIN, "v", 400.0, 10, 500.0),
    ];
    let (dir, store) = filled(&records).await;
    store.close().await;
    drop(store);
    let store = Store::open(dir.path(), config());
    let warm = store.warm_start();
    assert_eq!(warm.len(), 2, "{warm:?}");
    let v = &warm[0];
    assert_eq!(
        (
            v.seller.as_str(),
            v.ttft_ms,
            v.ttft_samples,
            v.tokens_per_sec
        ),
        ("v", Some(400.0), 1, Some(20.0))
    );
    let w = &warm[1];
    assert_eq!(
        (w.seller.as_str(), w.ttft_ms, w.ttft_samples),
        ("w", Some(150.0), 2)
    );
    assert_eq!(
        (w.tokens_per_sec, w.newest_minute_ms),
        (Some(40.0), base + 100 * MIN)
    );
    store.close().await;
}
