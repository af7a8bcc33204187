//! Load on the real `tokenbuddy serve`: 256 concurrent paced streams (the
//! three protocols mixed) through two simulated sellers. Every stream ends
//! with its protocol's normal end, memory stays bounded, and afterwards the
//! in-flight counts are 0 and the descriptors are back to their baseline.
//!
//! The baseline, honestly: every descriptor that is not a connection to a
//! seller returns to exactly its count before the load. Connections to the
//! sellers stay in the upstream pool (idle for up to 90 s, at most one per
//! stream that ran at once), so they are counted apart, and they go as soon
//! as the sellers close them. A longer soak is `cargo bench --bench fault_soak`.

mod support;

use std::time::{Duration, Instant};

use support::load::{self, Descriptors, TwoSellers};
use support::process::settle;
use support::HANG;
use tokenbuddy::sim::Behavior;

const STREAMS: usize = 256;
/// Peak resident memory allowed, generously (idle it is ~15 MiB).
const RSS_CAP_KIB: u64 = 256 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_streams_end_normally_and_leave_nothing_behind() {
    // Paced: about 3 s a stream, so all of them are in flight together.
    let behavior = Behavior {
        ttft: Duration::from_millis(300),
        tokens_per_sec: Some(10.0),
        tokens: 25,
        failure: None,
        ..Behavior::default()
    };
    let scene = TwoSellers::start(behavior).await;
    let (served, seller_ports) = (&scene.served, scene.seller_ports);
    let client = reqwest::Client::new();
    assert_eq!(load::total_in_flight(&client, served).await, 0);
    drop(client);
    // The API call's connection is gone before the baseline is taken.
    let before = settle(
        "no client connection before the load",
        || Descriptors::now(served, &seller_ports),
        |d| d.clients == 0,
    )
    .await;
    let cpu_before = served.cpu_time();

    let round = tokio::time::timeout(
        Duration::from_secs(60),
        load::round(served, "load", STREAMS, "m"),
    )
    .await
    .expect("the load round ends");
    let peak_rss = served.peak_rss_kib();
    let cpu = served.cpu_time().saturating_sub(cpu_before);
    let during = Descriptors::now(served, &seller_ports);

    // The last bytes reach the client a moment before the server drops the
    // finished stream (and its in-flight count): poll briefly.
    let client = reqwest::Client::new();
    let deadline = Instant::now() + HANG;
    let in_flight_after = loop {
        let n = load::total_in_flight(&client, served).await;
        if n == 0 || Instant::now() > deadline {
            break n;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    drop(client);
    let after = settle(
        "every descriptor but pooled seller connections back to the baseline",
        || Descriptors::now(served, &seller_ports),
        |d| d.clients == 0 && d.other == before.other,
    )
    .await;
    // Let the sellers close their side: the pool empties.
    scene.a.shutdown().await;
    scene.b.shutdown().await;
    let closed = settle(
        "the seller connections closed",
        || Descriptors::now(served, &seller_ports),
        |d| d.upstream == 0 && d.clients == 0,
    )
    .await;

    println!(
        "figures: {} streams, {} errors, served by {:?}, peak in flight {}, peak RSS {:.1} MiB, \
         fds before {} (other {}), after {} (other {}, pooled upstream {}), after sellers closed {}, \
         duration {:.2} s, proxy CPU {:.2} s",
        round.streams,
        round.errors.len(),
        round.by_seller,
        round.peak_in_flight,
        peak_rss as f64 / 1024.0,
        before.total,
        before.other,
        after.total,
        after.other,
        after.upstream,
        closed.total,
        round.duration.as_secs_f64(),
        cpu.as_secs_f64(),
    );
    assert!(
        round.errors.is_empty(),
        "{} client-visible errors, e.g. {:?}",
        round.errors.len(),
        &round.errors[..round.errors.len().min(5)]
    );
    assert_eq!(round.by_seller.values().sum::<usize>(), STREAMS);
    assert!(
        round.by_seller.len() == 2,
        "both sellers served: {:?}",
        round.by_seller
    );
    assert_eq!(in_flight_after, 0, "in-flight counts back to 0");
    assert!(
        during.upstream <= STREAMS + 2,
        "at most one seller connection per stream (and a probe each): {during:?}"
    );
    assert!(
        peak_rss <= RSS_CAP_KIB,
        "peak RSS {peak_rss} KiB over the {RSS_CAP_KIB} KiB cap"
    );
    assert_eq!(closed.other, before.other, "{closed:?} vs {before:?}");
    assert_eq!(closed.total, before.total - before.upstream);
    let (status, log) = scene.served.stop_logged();
    assert!(status.success(), "{status:?}; log:\n{}", log.join("\n"));
}
