//! The load test, held for longer: rounds of 256 concurrent streams through
//! the real `tokenbuddy serve` and two simulated sellers, with the process's
//! resident memory and descriptors after every round, so a leak shows as a
//! climb. Too long for the test suite; the one-round version with asserts is
//! `tests/fault_load.rs`.
//!
//! Run: `cargo bench --bench fault_soak` (`-- --rounds N`, default 30;
//! `-- --quick` for 3). Prints figures; asserts only that no stream failed.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use support::load::{self, Descriptors, TwoSellers};
use tokenbuddy::sim::Behavior;

const STREAMS: usize = 256;

fn rounds() -> usize {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--quick") {
        return 3;
    }
    args.iter()
        .position(|a| a == "--rounds")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(30)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(soak(rounds()));
}

async fn soak(rounds: usize) {
    let behavior = Behavior {
        ttft: Duration::from_millis(100),
        tokens_per_sec: Some(40.0),
        tokens: 40,
        failure: None,
        ..Behavior::default()
    };
    let scene = TwoSellers::start(behavior).await;
    let (served, ports) = (&scene.served, scene.seller_ports);
    let started = Instant::now();
    let first = Descriptors::now(served, &ports);
    println!(
        "soak: {rounds} rounds of {STREAMS} streams; start RSS {} KiB, fds {}",
        served.rss_kib(),
        first.total
    );
    let mut failed = 0;
    for r in 0..rounds {
        let round = load::round(served, &format!("soak{r}"), STREAMS, "m").await;
        failed += round.errors.len();
        let d = Descriptors::now(served, &ports);
        println!(
            "round {r:>3}: {:.2} s, {} errors, peak in flight {}, RSS {} KiB (peak {}), fds {} (clients {}, upstream {}, other {}), CPU {:.1} s",
            round.duration.as_secs_f64(),
            round.errors.len(),
            round.peak_in_flight,
            served.rss_kib(),
            served.peak_rss_kib(),
            d.total,
            d.clients,
            d.upstream,
            d.other,
            served.cpu_time().as_secs_f64(),
        );
        for e in round.errors.iter().take(3) {
            println!("    {e}");
        }
    }
    println!(
        "soak: {} streams in {:.0} s, {failed} errors, final RSS {} KiB, peak {} KiB",
        rounds * STREAMS,
        started.elapsed().as_secs_f64(),
        served.rss_kib(),
        served.peak_rss_kib()
    );
    let (status, _) = scene.served.stop_logged();
    assert!(status.success(), "{status:?}");
    assert_eq!(failed, 0, "streams failed during the soak");
}
