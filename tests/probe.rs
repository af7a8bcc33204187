//! Prewarm probes: a seller that is down is found out (its circuit opens)
//! before any agent sends it a request; a live one is reached with its key.

mod support;

use std::time::{Duration, Instant, SystemTime};

use support::{seller_yaml, sellers_file, Harness, HANG};
use tokenbuddy::protocol::Protocol;
use tokenbuddy::sim::{closed_port, Behavior, SimSeller};

#[tokio::test]
async fn probes_find_a_dead_seller_before_any_agent_does() {
    let live = SimSeller::start(Behavior::default()).await.expect("sim");
    let dead = format!("http://127.0.0.1:{}", closed_port().await);
    let yaml = sellers_file(&[
        seller_yaml("live", &live.base_url(), &Protocol::ALL),
        seller_yaml("dead", &dead, &Protocol::ALL),
    ]);
    let h = Harness::start_with(&yaml, |c| {
        c.probe_interval = Some(Duration::from_millis(50))
    })
    .await;
    let pool = h.running.pool();
    tokio::time::timeout(HANG, async {
        // Three failed probes in a row open the dead seller's circuit.
        while pool.stats(&"dead".into()).circuit(Instant::now()) != "open" {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the dead seller's circuit opens from probes alone");

    let snap = pool
        .stats(&"live".into())
        .snapshot(Instant::now(), SystemTime::now());
    assert_eq!(snap.errors, 0, "{snap:?}");
    assert!(
        snap.probe.is_some_and(|p| p.ok),
        "the live seller answered its probe"
    );
    let probe = live
        .requests()
        .into_iter()
        .find(|r| r.path == "/v1/models")
        .expect("a probe reached the live seller");
    assert_eq!(probe.method, "GET");
    assert_eq!(probe.header("authorization"), Some("Bearer sk-live-secret"));
    assert!(
        live.requests().iter().all(|r| r.method == "GET"),
        "never a paid completion"
    );
    h.running.stop().await.expect("stop");
}
