//! Many configures and restores at once, from the real CLI and from a real
//! `tokenbuddy serve` (its API), all on one data dir and one HOME (issue #8:
//! the journal was loaded, changed and saved without a lock, so two
//! configures at once could drop an entry — then restore said "not
//! configured" and the user's original values were gone). Afterwards every
//! agent's entry is there, and restore gives back each original file byte
//! for byte.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Barrier;

use support::agent_home::{fixture, Home};
use tokenbuddy::agents::journal::Journal;
use tokenbuddy::agents::patch;
use tokenbuddy::agents::spec::{self, AgentSpec};

/// The agents and the realistic files they start from.
const AGENTS: &[(&str, &str)] = &[
    ("claude-code", "claude-code.settings.json"),
    ("codex", "codex.config.toml"),
    ("openclaw", "openclaw.object-model.json5"),
    ("hermes", "hermes.mapping.yaml"),
    ("opencode", "opencode.opencode.jsonc"),
    ("qwen-code", "qwen-code.settings.json"),
    ("crush", "crush.crush.json"),
];

/// One CLI run; `Err` with its output when it failed.
fn cli(h: &Home, args: &[&str]) -> Result<(), String> {
    match h.run(args) {
        (true, _) => Ok(()),
        (false, out) => Err(format!("{args:?}: {out}")),
    }
}

/// One API call (plain HTTP/1.1, so threads need no runtime); `Err` with
/// the status and body unless it answered 200.
fn api(port: u16, token: &str, path: &str, body: &str) -> Result<(), String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
    let mut reply = String::new();
    s.read_to_string(&mut reply).map_err(|e| e.to_string())?;
    if reply.starts_with("HTTP/1.1 200") {
        Ok(())
    } else {
        Err(format!("{path}: {reply}"))
    }
}

/// Runs each of `runs` on a thread of its own, all released at the same
/// moment; what the failed ones said.
fn all_at_once<F>(runs: Vec<F>) -> Vec<String>
where
    F: FnOnce() -> Result<(), String> + Send,
{
    let barrier = Barrier::new(runs.len());
    std::thread::scope(|s| {
        let handles: Vec<_> = runs
            .into_iter()
            .map(|run| {
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    run()
                })
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().expect("thread").err())
            .collect()
    })
}

#[test]
fn concurrent_cli_and_api_runs_lose_no_entry_and_restore_every_original() {
    let h = Home::new();
    let specs: Vec<(&'static AgentSpec, String)> = AGENTS
        .iter()
        .map(|(id, file)| (spec::find(id).expect("agent"), fixture(file)))
        .collect();
    for (spec, text) in &specs {
        h.write(h.config(spec), text);
    }
    let served = h.serve(&[], &[]);
    let (port, token) = (served.port, served.token.clone());

    // 21 configures at once: every agent three times, from the CLI and the API.
    let runs: Vec<(usize, &str, bool)> = (0..21)
        .map(|i| (i % specs.len(), specs[i % specs.len()].0.id, i % 3 != 1))
        .collect();
    let failures = all_at_once(
        runs.iter()
            .map(|&(_, id, by_cli)| {
                let (h, token) = (&h, &token);
                move || {
                    if by_cli {
                        let args = ["agents", "configure", id, "--model", "tb-model"];
                        let port = port.to_string();
                        cli(h, &[&args[..], &["--port", &port]].concat())
                    } else {
                        let path = format!("/api/agents/{id}/configure");
                        api(port, token, &path, r#"{"model": "tb-model"}"#)
                    }
                }
            })
            .collect(),
    );
    assert!(failures.is_empty(), "configures failed: {failures:#?}");

    let journal = Journal::new(h.data.path());
    let entries = journal.all().expect("journal");
    for (spec, _) in &specs {
        let entry = entries
            .get(spec.id)
            .unwrap_or_else(|| panic!("{}: its journal entry was lost", spec.id));
        assert!(entry.pending.is_none(), "{}: left pending", spec.id);
        let text = h.read(h.config(spec));
        let doc = patch::open_text(spec.format, &text).expect("parses");
        assert!(
            patch::holds(doc.as_ref(), entry),
            "{}: not patched:\n{text}",
            spec.id
        );
    }

    // Every agent restored at once, half from the CLI, half from the API.
    let failures = all_at_once(
        specs
            .iter()
            .enumerate()
            .map(|(i, (spec, _))| {
                let (h, token, id) = (&h, &token, spec.id);
                move || {
                    if i % 2 == 0 {
                        cli(h, &["agents", "restore", id])
                    } else {
                        api(port, token, &format!("/api/agents/{id}/restore"), "{}")
                    }
                }
            })
            .collect(),
    );
    assert!(failures.is_empty(), "restores failed: {failures:#?}");
    for (spec, original) in &specs {
        assert_eq!(
            &h.read(h.config(spec)),
            original,
            "{}: restore gives back the original bytes",
            spec.id
        );
    }
    assert!(journal.all().expect("journal").is_empty());
    drop(served);
}
