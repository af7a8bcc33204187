//! What an idle TokenBuddy costs: the real `tokenbuddy serve` with a
//! sellers file of three (simulated) sellers and three configured agents
//! (Claude Code, Codex, opencode) in a temporary HOME, left alone for 60 s
//! after start at the default log level, probes on as shipped.
//!
//! Budget (the Reliability issue): under 50 ms of CPU in total, start-up
//! and probes included, and no log line after the first seconds. Prints the
//! figures and exits non-zero when over budget.
//!
//! Run: `cargo bench --bench idle` (`TOKENBUDDY_IDLE_SECS=10` for a short run).
//! Linux (reads /proc, reaps the process with `wait4` for its CPU time).

#[allow(dead_code)]
#[path = "../tests/support/process.rs"]
mod process;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use process::{command, Served};
use tokenbuddy::sim::{Behavior, SimSeller};

/// The CPU budget for the whole idle period.
const CPU_BUDGET: Duration = Duration::from_millis(50);
/// Log lines are allowed during this start-up window only.
const QUIET_AFTER: Duration = Duration::from_secs(5);

/// Sends SIGTERM to `pid` and reaps it: its whole life's CPU time (all
/// threads, microsecond precision, from the kernel's rusage at exit).
fn stop_and_measure(pid: u32) -> Option<(Duration, bool)> {
    process::signal(pid, "TERM");
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our own child; status and usage outlive the call.
    let reaped = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) };
    if reaped != pid as libc::pid_t {
        return None;
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    let clean = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    Some((tv(usage.ru_utime) + tv(usage.ru_stime), clean))
}

fn main() -> ExitCode {
    let secs: u64 = std::env::var("TOKENBUDDY_IDLE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let sellers: Vec<SimSeller> = runtime.block_on(async {
        let mut v = Vec::new();
        for _ in 0..3 {
            v.push(SimSeller::start(Behavior::default()).await.expect("seller"));
        }
        v
    });
    let home = tempfile::tempdir().expect("home");
    let data = tempfile::tempdir().expect("data");
    let mut yaml = String::from("sellers:\n");
    for (i, s) in sellers.iter().enumerate() {
        yaml += &format!(
            "  - id: s{i}\n    base_url: {}/v1\n    api_key: sk-idle-{i}\n    protocols: [openai-chat, openai-responses, anthropic-messages]\n    models: [m]\n",
            s.base_url()
        );
    }
    std::fs::write(data.path().join("sellers.yaml"), yaml).expect("sellers file");
    for agent in ["claude-code", "codex", "opencode"] {
        let out = command(data.path())
            .env("HOME", home.path())
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("CLAUDE_CONFIG_DIR")
            .env_remove("CODEX_HOME")
            .env_remove("OPENCODE_CONFIG")
            .args(["agents", "configure", agent, "--model", "m"])
            .output()
            .expect("configure");
        if !out.status.success() {
            eprintln!(
                "configure {agent}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            return ExitCode::FAILURE;
        }
    }
    let home_s = home.path().to_string_lossy().into_owned();
    let started = Instant::now();
    let served = Served::start(data.path(), &[], &[("HOME", home_s.as_str())]);
    let ready = started.elapsed();
    let at_ready = served.cpu_time();
    std::thread::sleep(QUIET_AFTER.saturating_sub(started.elapsed()));
    let early_lines = served.log().len();
    let after_start = served.cpu_time();
    std::thread::sleep(Duration::from_secs(secs).saturating_sub(started.elapsed()));
    let at_end = served.cpu_time();
    let log = served.log();
    let late: Vec<&String> = log[early_lines..].iter().collect();
    let probes: usize = sellers
        .iter()
        .map(|s| {
            s.requests()
                .iter()
                .filter(|r| r.path.ends_with("/models"))
                .count()
        })
        .sum();
    let rss = served.rss_kib();
    let Some((total, clean)) = stop_and_measure(served.pid()) else {
        eprintln!("could not reap tokenbuddy serve");
        return ExitCode::FAILURE;
    };
    println!("idle {secs} s: ready in {ready:.1?}; CPU (clock ticks) at ready {at_ready:?}, after {QUIET_AFTER:?} {after_start:?}, at {secs} s {at_end:?}; in total with the stop {total:.1?} (budget {CPU_BUDGET:?}); probes answered {probes}; log lines {} in the first {QUIET_AFTER:?}, {} after; RSS {rss} KiB; clean exit {clean}",
        early_lines,
        late.len(),
    );
    for l in &late {
        println!("  late log line: {l}");
    }
    if total >= CPU_BUDGET || !late.is_empty() || !clean {
        eprintln!("over budget");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
