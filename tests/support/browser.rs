//! Running a page script (`tests/*_page.mjs`) in headless Chromium through
//! playwright-core, for the tests that prove what a page on another origin
//! cannot do.

use std::path::Path;
use std::process::Command;

use serde_json::{Map, Value};

/// Runs `script` with `node` (arguments: the page's URL, TokenBuddy's URL,
/// the token) and returns the `{call: outcome}` object it prints; `None`
/// (said on stderr) when node, Chromium or playwright-core is missing.
pub async fn run_page(
    script: &'static str,
    page_url: String,
    tb: String,
    token: String,
) -> Option<Map<String, Value>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf();
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let node_ok = Command::new("node").arg("--version").output().is_ok();
    if !node_ok
        || !Path::new(&chromium).exists()
        || !root.join("node_modules/playwright-core").is_dir()
    {
        eprintln!(
            "skipped the Chromium page: node, {chromium} or node_modules/playwright-core missing"
        );
        return None;
    }
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .args(["--input-type=module", "-e", script])
            .arg(page_url)
            .arg(tb)
            .arg(token)
            .env("CHROMIUM", chromium)
            .current_dir(root)
            .output()
    })
    .await
    .expect("node task")
    .expect("run node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the page script failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let results: Value = serde_json::from_str(stdout.trim()).expect("results JSON");
    Some(results.as_object().expect("an object").clone())
}
