//! Claude Desktop's config library configured through the real CLI in a
//! temporary HOME (on Linux the library is `~/.config/Claude-3p/
//! configLibrary/`, the same code as macOS's and Windows' paths): our entry
//! file is created, our entry is added to `_meta.json` and applied; the
//! user's other entries and their files are untouched byte for byte; restore
//! switches `appliedId` back, gives back `_meta.json` byte for byte and
//! deletes our file. A managed-preferences plist blocks it (the guide says
//! what to do by hand); an unparseable `_meta.json` is refused, untouched.

mod support;

use serde_json::Value;
use support::agent_home::{configure_args, outcome, Home};
use tokenbuddy::agents::claude_desktop::ENTRY_ID;

const LIBRARY: &str = ".config/Claude-3p/configLibrary";

/// Two entries of the user's, the second one applied.
const META: &str = r#"{
  "appliedId": "7c1d3f0e-1111-4a2b-9c3d-000000000002",
  "entries": [
    { "id": "5a0b2c4d-1111-4a2b-9c3d-000000000001", "name": "Work gateway" },
    { "id": "7c1d3f0e-1111-4a2b-9c3d-000000000002", "name": "Bedrock" }
  ]
}
"#;
const WORK: &str = "{\n  \"inferenceProvider\": \"gateway\",\n  \"inferenceGatewayBaseUrl\": \"https://llm.example.com\",\n  \"inferenceGatewayApiKey\": \"sk-work\"\n}\n";
const BEDROCK: &str =
    "{\"inferenceProvider\":\"bedrock\",\"inferenceBedrockRegion\":\"us-east-1\"}";

fn lib(name: &str) -> String {
    format!("{LIBRARY}/{name}")
}

fn ours() -> String {
    lib(&format!("{ENTRY_ID}.json"))
}

fn json(h: &Home, name: &str) -> Value {
    serde_json::from_str(&h.read(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn user_library() -> Home {
    let h = Home::new();
    h.write(lib("_meta.json"), META);
    h.write(lib("5a0b2c4d-1111-4a2b-9c3d-000000000001.json"), WORK);
    h.write(lib("7c1d3f0e-1111-4a2b-9c3d-000000000002.json"), BEDROCK);
    h
}

fn assert_configured(h: &Home) {
    let meta = json(h, &lib("_meta.json"));
    assert_eq!(meta["appliedId"], ENTRY_ID, "{meta}");
    let entries = meta["entries"].as_array().expect("entries");
    let mine: Vec<&Value> = entries.iter().filter(|e| e["id"] == ENTRY_ID).collect();
    assert_eq!(mine.len(), 1, "our entry once: {meta}");
    assert_eq!(mine[0]["name"], "TokenBuddy");
    let entry = json(h, &ours());
    assert_eq!(entry["inferenceProvider"], "gateway", "{entry}");
    assert_eq!(entry["inferenceGatewayBaseUrl"], "http://127.0.0.1:7444");
    assert_eq!(entry["inferenceGatewayApiKey"], Value::String(h.token()));
    assert_eq!(entry["inferenceGatewayAuthScheme"], "bearer");
    assert_eq!(entry["modelDiscoveryEnabled"], true);
    assert_eq!(entry["inferenceModels"][0]["name"], "claude-tb");
}

#[test]
fn configures_the_library_and_restores_it_byte_for_byte() {
    let h = user_library();
    let out = h.configure("claude-desktop", "claude-tb");
    assert!(out.contains("only at launch"), "the restart note: {out}");
    assert_configured(&h);
    let meta = json(&h, &lib("_meta.json"));
    assert_eq!(meta["entries"].as_array().map(Vec::len), Some(3), "{meta}");
    let once = (h.read(lib("_meta.json")), h.read(ours()));
    h.configure("claude-desktop", "claude-tb");
    assert_eq!(
        (h.read(lib("_meta.json")), h.read(ours())),
        once,
        "configure twice = once (same id, same file)"
    );
    h.restore("claude-desktop");
    assert_eq!(h.read(lib("_meta.json")), META, "appliedId switched back");
    assert!(
        !h.home.path().join(ours()).exists(),
        "our entry file is gone"
    );
    assert_eq!(
        h.read(lib("5a0b2c4d-1111-4a2b-9c3d-000000000001.json")),
        WORK
    );
    assert_eq!(
        h.read(lib("7c1d3f0e-1111-4a2b-9c3d-000000000002.json")),
        BEDROCK
    );
}

#[test]
fn a_fresh_home_gets_a_library_and_restore_removes_it() {
    let h = Home::new();
    h.configure("claude-desktop", "claude-tb");
    assert_configured(&h);
    let (ok, out) = h.run(&["agents", "--json", "--port", "7444"]);
    assert!(ok, "{out}");
    let list: Value = serde_json::from_str(&out).expect("json");
    let me = list
        .as_array()
        .and_then(|l| l.iter().find(|a| a["id"] == "claude-desktop"))
        .cloned()
        .expect("listed");
    assert_eq!(me["state"], "configured", "{me}");
    assert_eq!(
        me["installed"], true,
        "the Claude-3p folder means installed: {me}"
    );
    assert_eq!(me["model"], "claude-tb");
    h.restore("claude-desktop");
    assert!(
        !h.home.path().join(".config").exists(),
        "the files and folders TokenBuddy created are gone"
    );
}

#[test]
fn no_applied_entry_before_means_none_after_restore() {
    let h = Home::new();
    let meta =
        "{\"entries\": [{\"id\": \"5a0b2c4d-1111-4a2b-9c3d-000000000001\", \"name\": \"Work\"}]}";
    h.write(lib("_meta.json"), meta);
    h.configure("claude-desktop", "claude-tb");
    assert_configured(&h);
    h.restore("claude-desktop");
    assert_eq!(h.read(lib("_meta.json")), meta);
}

#[test]
fn a_user_switch_back_in_the_app_survives_restore() {
    let h = user_library();
    h.configure("claude-desktop", "claude-tb");
    // The user picks their Bedrock entry again in the app.
    let switched = h.read(lib("_meta.json")).replace(
        &format!("\"appliedId\": \"{ENTRY_ID}\""),
        "\"appliedId\": \"7c1d3f0e-1111-4a2b-9c3d-000000000002\"",
    );
    h.write(lib("_meta.json"), &switched);
    let meta = json(&h, &lib("_meta.json"));
    assert_eq!(
        meta["appliedId"], "7c1d3f0e-1111-4a2b-9c3d-000000000002",
        "{meta}"
    );
    let out = h.restore("claude-desktop");
    assert!(
        out.contains("left alone") && out.contains("appliedId"),
        "{out}"
    );
    let meta = json(&h, &lib("_meta.json"));
    assert_eq!(meta["appliedId"], "7c1d3f0e-1111-4a2b-9c3d-000000000002");
    assert!(
        !meta["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .any(|e| e["id"] == ENTRY_ID),
        "our entry is gone: {meta}"
    );
}

#[test]
fn an_unparseable_meta_is_refused_and_untouched() {
    let h = Home::new();
    let cut = &META[..META.len() / 2];
    h.write(lib("_meta.json"), cut);
    let (ok, out) = h.run(&configure_args("claude-desktop", "claude-tb"));
    assert!(!ok, "{out}");
    assert!(
        out.contains("_meta.json") && out.contains("did not touch") && out.contains("line"),
        "{out}"
    );
    assert_eq!(h.read(lib("_meta.json")), cut);
    assert!(
        !h.home.path().join(ours()).exists(),
        "no entry file written"
    );
    let h = Home::new();
    h.write(lib("_meta.json"), "{\"entries\": {\"a\": 1}}");
    let (ok, out) = h.run(&configure_args("claude-desktop", "claude-tb"));
    assert!(!ok && out.contains("`entries` is not a list"), "{out}");
}

#[test]
fn a_managed_profile_blocks_it_and_the_guide_stays() {
    let h = user_library();
    let root = tempfile::tempdir().expect("system root");
    let plist = root
        .path()
        .join("Library/Managed Preferences/com.anthropic.claudefordesktop.plist");
    std::fs::create_dir_all(plist.parent().expect("dir")).expect("mkdir");
    std::fs::write(&plist, "<?xml version=\"1.0\"?>\n<plist><dict><key>inferenceProvider</key><string>vertex</string></dict></plist>\n").expect("plist");
    let (ok, out) = outcome(
        h.command(&configure_args("claude-desktop", "claude-tb"))
            .env("TOKENBUDDY_SYSTEM_ROOT", root.path()),
    );
    assert!(!ok && out.contains("managed by policy"), "{out}");
    assert_eq!(h.read(lib("_meta.json")), META, "untouched");
    let (ok, out) = outcome(
        h.command(&["agents", "--json", "--port", "7444"])
            .env("TOKENBUDDY_SYSTEM_ROOT", root.path()),
    );
    assert!(ok, "{out}");
    let list: Value = serde_json::from_str(&out).expect("json");
    let me = list
        .as_array()
        .and_then(|l| l.iter().find(|a| a["id"] == "claude-desktop"))
        .cloned()
        .expect("listed");
    assert_eq!(me["state"], "policy", "{me}");
    assert!(
        me["guide"]
            .as_str()
            .is_some_and(|g| g.contains("127.0.0.1:7444")),
        "the guide, for the policy-blocked case: {me}"
    );
}

/// Restore killed after `_meta.json` went and before our entry file did:
/// the next start finishes it (found by `crash_agents`, run 23, which
/// failed before reconciliation knew two files).
#[test]
fn a_restore_killed_between_the_two_files_is_finished_at_the_next_start() {
    use std::io::{BufRead, BufReader};
    let h = Home::new();
    h.configure("claude-desktop", "claude-tb");
    let mut child = h
        .command(&["agents", "restore", "claude-desktop"])
        .env("TOKENBUDDY_PAUSE_AT", "restore-removed")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("paused at") {
                let _ = tx.send(());
            }
        }
    });
    let paused = rx.recv_timeout(std::time::Duration::from_secs(30));
    child.kill().expect("kill");
    child.wait().expect("wait");
    assert!(paused.is_ok(), "restore never paused");
    assert!(
        h.home.path().join(ours()).exists(),
        "killed before our entry file went"
    );
    tokenbuddy::agents::patch::reconcile_at_startup(h.data.path());
    let journal = tokenbuddy::agents::journal::Journal::new(h.data.path());
    assert_eq!(journal.get("claude-desktop").expect("journal"), None);
    assert!(
        !h.home.path().join(".config").exists(),
        "a fresh HOME again"
    );
}
