//! The `tokenbuddy` binary as a user runs it: the listening line, the token,
//! clean shutdown on SIGTERM, and a bad sellers file refused with file:line.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_tokenbuddy");

fn tokenbuddy(data: &std::path::Path) -> Command {
    let mut c = Command::new(BIN);
    c.env("TOKENBUDDY_DATA_DIR", data)
        .env_remove("TOKENBUDDY_LOG");
    c
}

/// Reads stdout lines until the listening line; returns the port.
fn wait_for_port(child: &mut std::process::Child) -> u16 {
    let stdout = child.stdout.take().expect("stdout piped");
    let mut lines = BufReader::new(stdout).lines();
    let line = lines.next().expect("a line").expect("utf-8 line");
    let port = line
        .strip_prefix("TokenBuddy listening on http://127.0.0.1:")
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .parse()
        .expect("port");
    let panel = lines.next().expect("panel line").expect("utf-8");
    assert!(
        panel.starts_with("Control panel: http://127.0.0.1:"),
        "{panel}"
    );
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    port
}

#[test]
fn serve_prints_port_answers_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = tokenbuddy(dir.path())
        .args(["serve", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let port = wait_for_port(&mut child);
    let health = std::net::TcpStream::connect(("127.0.0.1", port)).map(|mut s| {
        use std::io::{Read, Write};
        s.set_read_timeout(Some(Duration::from_secs(10))).ok();
        write!(
            s,
            "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
        )
        .ok();
        let mut out = String::new();
        s.read_to_string(&mut out).ok();
        out
    });
    assert!(health.expect("connect").starts_with("HTTP/1.1 200"));

    let token = tokenbuddy(dir.path()).arg("token").output().expect("token");
    assert!(token.status.success());
    let printed = String::from_utf8_lossy(&token.stdout).trim().to_string();
    let stored = std::fs::read_to_string(dir.path().join("token")).expect("token file");
    assert_eq!(printed, stored.trim());

    let explain = tokenbuddy(dir.path())
        .args([
            "route",
            "explain",
            "--model",
            "gpt-x",
            "--port",
            &port.to_string(),
        ])
        .output()
        .expect("route explain");
    let text = String::from_utf8_lossy(&explain.stdout);
    assert!(
        explain.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&explain.stderr)
    );
    assert!(
        text.starts_with("Routing for model gpt-x (openai-chat): mode fullAuto, scorer balanced"),
        "{text}"
    );
    assert!(text.contains("No seller would be tried."), "{text}");

    // SIGTERM: a clean exit, not a kill.
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let code = child.wait().expect("wait");
    assert!(code.success(), "exit status {code:?}");
}

#[test]
fn route_explain_lists_candidates_in_order_with_reasons() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = tokenbuddy(dir.path())
        // No simulated client load: the plan must stay unmeasured.
        .args(["serve", "--port", "0", "--demo", "--demo-load", "off"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let port = wait_for_port(&mut child).to_string();
    let run = |args: &[&str]| {
        let out = tokenbuddy(dir.path()).args(args).output().expect("run");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let text = run(&[
        "route",
        "explain",
        "--model",
        "m",
        "--protocol",
        "anthropic-messages",
        "--port",
        &port,
    ]);
    // Nothing measured yet: the balanced scorer goes by price.
    let order: Vec<&str> = text
        .lines()
        .skip(2)
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    assert_eq!(order, ["demo-cheap", "demo-flaky", "demo-fast"], "{text}");
    assert!(text.contains("no data: ttft, tokens_per_sec"), "{text}");
    let json: serde_json::Value = serde_json::from_str(&run(&[
        "route", "explain", "--model", "m", "--json", "--port", &port,
    ]))
    .expect("json");
    assert_eq!(json["ranked"][0]["seller"], "demo-cheap");
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

#[test]
fn bad_sellers_file_is_refused_with_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sellers.yaml");
    for (text, needle) in [
        ("sellers:\n  - id: a\n    base_url: http://x\n    api_key: k\n    protocols: [openai]\n", "openai"),
        ("sellers:\n  - id: a\n    base_url: [unclosed\n", "sellers.yaml:"),
        (
            "sellers:\n  - id: a\n    base_url: http://x\n    api_key: k\n    protocols: [openai-chat]\n  - id: a\n    base_url: http://y\n    api_key: k\n    protocols: [openai-chat]\n",
            ":6:",
        ),
        (
            "sellers:\n  - id: a\n    base_url: http://x\n    api_key_env: TOKENBUDDY_TEST_SURELY_UNSET\n    protocols: [openai-chat]\n",
            ":4:",
        ),
    ] {
        std::fs::write(&path, text).expect("write");
        let out = tokenbuddy(dir.path())
            .args(["serve", "--port", "0"])
            .env_remove("TOKENBUDDY_TEST_SURELY_UNSET")
            .output()
            .expect("run");
        assert!(!out.status.success(), "started on a bad file: {text}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr.lines().last().unwrap_or_default();
        assert!(last.contains(&path.display().to_string()), "names the file: {stderr}");
        assert!(last.contains(needle), "expected {needle:?} in: {last}");
        assert!(out.stdout.is_empty(), "no listening line on failure");
    }
}
