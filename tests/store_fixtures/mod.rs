//! Records and stores for the `store_*` suites: a real database file in a
//! temporary data dir, records made up with the fields a test cares about.

#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use tokenbuddy::protocol::{Protocol, Usage};
use tokenbuddy::proxy::outcome::OutcomeClass;
use tokenbuddy::store::{Attempt, RequestRecord, Store, StoreConfig};

/// Longest any single step may take before it counts as a hang.
pub const HANG: Duration = Duration::from_secs(20);

/// A time two hours ago on a whole minute: recent enough that the start-up
/// prune keeps it, old enough that tests can place records after it.
pub fn t0() -> i64 {
    let now = tokenbuddy::store::now_ms();
    now - now % 60_000 - 2 * 3_600_000
}

/// An attempt.
pub fn attempt(seller: &str, outcome: &str, status: Option<u16>) -> Attempt {
    Attempt {
        seller: seller.into(),
        outcome: outcome.into(),
        status,
        why: (outcome != "served").then(|| format!("{outcome} from {seller}")),
        via: None,
    }
}

/// A served request by `seller` at `at_ms`, with tokens and a cost.
pub fn served(
    at_ms: i64,
    seller: &str,
    agent: &str,
    model: &str,
    cost: Option<f64>,
) -> RequestRecord {
    RequestRecord {
        at_ms,
        agent: agent.into(),
        protocol: Protocol::OpenAiChat,
        endpoint: "/v1/chat/completions".into(),
        model_asked: model.into(),
        model_sent: Some(format!("{model}-upstream")),
        stream: true,
        seller: Some(seller.into()),
        status: 200,
        outcome: OutcomeClass::Served,
        ttft_ms: Some(200.0),
        duration_ms: 1500.0,
        generating_ms: Some(1000.0),
        usage: Usage {
            input: Some(100),
            output: Some(40),
            cache_read: Some(10),
            cache_write: Some(5),
        },
        tokens_per_sec: Some(40.0),
        cost,
        attempts: vec![attempt(seller, "served", Some(200))],
    }
}

/// A request every seller failed (502).
pub fn all_failed(at_ms: i64, sellers: &[&str], agent: &str, model: &str) -> RequestRecord {
    RequestRecord {
        seller: sellers.last().map(|s| s.to_string()),
        status: 502,
        outcome: OutcomeClass::AllFailed,
        ttft_ms: None,
        generating_ms: None,
        usage: Usage::default(),
        tokens_per_sec: None,
        cost: None,
        model_sent: None,
        attempts: sellers
            .iter()
            .map(|s| attempt(s, "connect", None))
            .collect(),
        ..served(at_ms, "x", agent, model, None)
    }
}

/// A config for tests: small batches, long busy timeout unless told.
pub fn config() -> StoreConfig {
    StoreConfig {
        batch_interval: Duration::from_millis(20),
        ..StoreConfig::default()
    }
}

/// A store on `dir` with [`config`].
pub fn open(dir: &Path) -> Store {
    Store::open(dir, config())
}

/// A multi-thread runtime for a sync test body.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}
