//! `tokenbuddy doctor` through the real CLI (issue #8: with no TokenBuddy
//! listening it still said the agents "use TokenBuddy" and exited 0). A
//! configured agent pointing at a port where nothing answers is a failure,
//! with the fix; with a real `tokenbuddy serve` on that port it is fine.

mod support;

use serde_json::Value;
use support::agent_home::Home;

/// Codex configured for `port`, from a file of the user's.
fn configure_codex(h: &Home, port: u16) {
    h.write(".codex/config.toml", "model = \"gpt-5\"\n");
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
    let (ok, out) = h.run(&args);
    assert!(ok, "{out}");
}

/// `tokenbuddy doctor --json` for `port`: whether it exited 0, and its report
/// (stdout alone: stderr is its log).
fn doctor(h: &Home, port: u16) -> (bool, Value) {
    let out = h
        .command(&["doctor", "--json", "--port", &port.to_string()])
        .output()
        .expect("run tokenbuddy doctor");
    let text = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    (out.status.success(), report)
}

fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == id))
        .unwrap_or_else(|| panic!("no {id} check: {report}"))
}

#[test]
fn a_configured_agent_with_nothing_listening_fails_with_the_fix() {
    let h = Home::new();
    // A port nothing listens on: taken from the OS, then let go.
    let port = support::process::free_port();
    configure_codex(&h, port);
    let (ok, report) = doctor(&h, port);
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
    let h = Home::new();
    let served = h.serve(&[], &[]);
    configure_codex(&h, served.port);
    let (ok, report) = doctor(&h, served.port);
    assert_eq!(check(&report, "agent:codex")["status"], "ok", "{report}");
    assert_eq!(check(&report, "port")["status"], "ok", "{report}");
    assert!(ok, "{report}");
    drop(served);
}
