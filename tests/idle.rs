//! An idle TokenBuddy does nothing: reading its files (`cat`, an editor
//! opening them, `tokenbuddy agents`) wakes neither the sellers watch nor
//! the agents' drift watch, while an actual edit still reloads, once.
//!
//! The real `tokenbuddy serve` process, its log at debug level (both
//! watches log when they act) and its CPU time from /proc.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::process::{command, Served};
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

fn configure(home: &Path, data: &Path, agent: &str) {
    let out = command(data)
        .env("HOME", home)
        .env_remove("CLAUDE_CONFIG_DIR")
        .env_remove("CODEX_HOME")
        .args(["agents", "configure", agent, "--model", "m"])
        .output()
        .expect("run configure");
    assert!(
        out.status.success(),
        "configure {agent}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// r1: reads caused a reload storm (13 reloads a second, forever).
#[tokio::test]
async fn reads_wake_nothing_and_an_edit_reloads_once_r1() {
    let seller = SimSeller::start(Behavior::default()).await.expect("seller");
    let home = tempfile::tempdir().expect("home");
    let data = tempfile::tempdir().expect("data");
    let sellers = data.path().join("sellers.yaml");
    let one = sellers_file(&[seller_yaml("a", &seller.base_url(), &Protocol::ALL)]);
    std::fs::write(&sellers, &one).expect("sellers file");
    configure(home.path(), data.path(), "claude-code");
    configure(home.path(), data.path(), "codex");
    let home_s = home.path().to_string_lossy().into_owned();
    let served = Served::start(
        data.path(),
        &[],
        &[
            ("HOME", home_s.as_str()),
            ("TOKENBUDDY_LOG", "tokenbuddy=debug"),
        ],
    );
    // Let start-up finish (its own log lines, first drift check).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = served.log().len();
    let cpu_before = served.cpu_time();

    let agent_files = [
        home.path().join(".claude/settings.json"),
        home.path().join(".codex/config.toml"),
    ];
    for _ in 0..5 {
        std::fs::read(&sellers).expect("read sellers");
        for f in &agent_files {
            std::fs::read(f).expect("read an agent's file");
        }
        let listed = command(data.path())
            .env("HOME", home.path())
            .args(["agents", "--json"])
            .output()
            .expect("tokenbuddy agents");
        assert!(listed.status.success());
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
    let deadline = Instant::now() + support::HANG;
    while !served
        .log()
        .iter()
        .any(|l| l.contains("sellers file reloaded"))
    {
        assert!(Instant::now() < deadline, "the edit was not reloaded");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let reloads = served
        .log()
        .iter()
        .filter(|l| l.contains("sellers file reloaded"))
        .count();
    assert_eq!(
        reloads,
        1,
        "one edit, one reload:\n{}",
        served.log().join("\n")
    );
    assert!(served.stop().success());
}
