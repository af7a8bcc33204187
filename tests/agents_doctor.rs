//! `tokenbuddy doctor` through the real CLI (issue #8: with no TokenBuddy
//! listening it still said the agents "use TokenBuddy" and exited 0). A
//! configured agent pointing at a port where nothing answers is a failure,
//! with the fix; with a real `tokenbuddy serve` on that port it is fine.

#[path = "support/process.rs"]
#[allow(dead_code)]
mod process;

use std::path::Path;
use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_tokenbuddy");

fn run(home: &Path, data: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(BIN)
        .args(args)
        .env_clear()
        .env("HOME", home)
        .env("TOKENBUDDY_DATA_DIR", data)
        .output()
        .expect("run tokenbuddy");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn configure_codex(home: &Path, data: &Path, port: u16) {
    let config = home.join(".codex/config.toml");
    std::fs::create_dir_all(config.parent().expect("dir")).expect("mkdir");
    std::fs::write(&config, "model = \"gpt-5\"\n").expect("write");
    let port = port.to_string();
    let args = [
        "agents",
        "configure",
        "codex",
        "--model",
        "m",
        "--port",
        &port,
    ];
    let (ok, out) = run(home, data, &args);
    assert!(ok, "{out}");
}

fn doctor(home: &Path, data: &Path, port: u16) -> (bool, Value) {
    let (ok, out) = run(
        home,
        data,
        &["doctor", "--json", "--port", &port.to_string()],
    );
    let report: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    (ok, report)
}

fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == id))
        .unwrap_or_else(|| panic!("no {id} check: {report}"))
}

#[test]
fn a_configured_agent_with_nothing_listening_fails_with_the_fix() {
    let home = tempfile::tempdir().expect("home");
    let data = tempfile::tempdir().expect("data");
    // A port nothing listens on: taken from the OS, then let go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    configure_codex(home.path(), data.path(), port);
    let (ok, report) = doctor(home.path(), data.path(), port);
    assert!(!ok, "doctor must exit non-zero: {report}");
    assert_eq!(report["ok"], false, "{report}");
    let agent = check(&report, "agent:codex");
    assert_eq!(agent["status"], "fail", "{report}");
    let message = agent["message"].as_str().unwrap_or_default();
    assert!(message.contains("nothing answers"), "{report}");
    let fix = agent["fix"].as_str().unwrap_or_default();
    assert!(
        fix.contains("start TokenBuddy") && fix.contains("tokenbuddy agents restore codex"),
        "{report}"
    );
}

#[test]
fn a_configured_agent_with_tokenbuddy_running_is_fine() {
    let home = tempfile::tempdir().expect("home");
    let data = tempfile::tempdir().expect("data");
    let home_str = home.path().to_string_lossy().into_owned();
    let served = process::Served::start(data.path(), &[], &[("HOME", &home_str)]);
    configure_codex(home.path(), data.path(), served.port);
    let (ok, report) = doctor(home.path(), data.path(), served.port);
    assert_eq!(check(&report, "agent:codex")["status"], "ok", "{report}");
    assert_eq!(check(&report, "port")["status"], "ok", "{report}");
    assert!(ok, "{report}");
    drop(served);
}
