//! An idle TokenBuddy does nothing: reading its files (`cat`, an editor
//! opening them, `tokenbuddy agents`) wakes neither the sellers watch nor
//! the agents' drift watch, while an actual edit still reloads, once.
//!
//! The real `tokenbuddy serve` process, its log at debug level (both
//! watches log when they act) and its CPU time from /proc.

mod support;

use std::time::Duration;

use support::agent_home::Home;
use support::process::settle;
use support::{seller_yaml, sellers_file};
use tokenbuddy::protocol::Protocol;
use tokenbuddy::sim::{Behavior, SimSeller};

/// Log lines of either watch acting.
fn watch_lines(log: &[String]) -> Vec<String> {
    log.iter()
        .filter(|l| l.contains("sellers file") || l.contains("re-checking drift"))
        .cloned()
        .collect()
}

/// r1: reads caused a reload storm (13 reloads a second, forever).
#[tokio::test]
async fn reads_wake_nothing_and_an_edit_reloads_once_r1() {
    let seller = SimSeller::start(Behavior::default()).await.expect("seller");
    let h = Home::new();
    let sellers = h.data.path().join("sellers.yaml");
    let one = sellers_file(&[seller_yaml("a", &seller.base_url(), &Protocol::ALL)]);
    std::fs::write(&sellers, &one).expect("sellers file");
    h.configure("claude-code", "m");
    h.configure("codex", "m");
    let served = h.serve(&[], &[("TOKENBUDDY_LOG", "tokenbuddy=debug")]);
    // Let start-up finish (its own log lines, first drift check).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = served.log().len();
    let cpu_before = served.cpu_time();

    let agent_files = [
        h.home.path().join(".claude/settings.json"),
        h.home.path().join(".codex/config.toml"),
    ];
    for _ in 0..5 {
        std::fs::read(&sellers).expect("read sellers");
        for f in &agent_files {
            std::fs::read(f).expect("read an agent's file");
        }
        let (listed, out) = h.run(&["agents", "--json"]);
        assert!(listed, "{out}");
    }
    // A storm shows within a few settle periods; give it ample time to.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let log = served.log();
    let woke = watch_lines(&log[before..]);
    let cpu = served.cpu_time().saturating_sub(cpu_before);
    println!(
        "idle after reads: {} watch log lines, {cpu:?} CPU over 2 s",
        woke.len()
    );
    assert!(woke.is_empty(), "reads woke a watch:\n{}", woke.join("\n"));
    assert!(cpu < Duration::from_millis(100), "CPU while idle: {cpu:?}");

    // An actual edit reloads, once.
    let mut two = one.clone();
    two.push_str(&seller_yaml("b", &seller.base_url(), &Protocol::ALL));
    std::fs::write(&sellers, &two).expect("edit");
    settle(
        "the edit is reloaded",
        || served.logged("sellers file reloaded"),
        |&n| n > 0,
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let reloads = served.logged("sellers file reloaded");
    assert_eq!(
        reloads,
        1,
        "one edit, one reload:\n{}",
        served.log().join("\n")
    );
    assert!(served.stop().success());
}
