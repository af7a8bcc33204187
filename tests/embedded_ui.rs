//! The control panel embedded in the binary: a real `tokenbuddy serve`,
//! started from a directory outside the source tree with no UI override,
//! serves `/` and every asset the page references, with their content types
//! and caching (HTML `no-cache` with an ETag, hashed assets `immutable`);
//! `TOKENBUDDY_UI_DIR` still serves a folder from disk instead.
//!
//! The ignored test is the acceptance 5: `cargo install --path .
//! --debug` into a temporary root, run from another directory → the panel
//! loads (`scripts/test` runs it after building the UI; `--debug` keeps it to
//! an incremental build instead of a release one).

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use support::process;

/// A running serve started from `cwd`, with its port and the child.
struct Started {
    child: Child,
    port: u16,
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `cmd serve --port 0` in `cwd`, with `ui_dir` as the UI override
/// or none at all.
fn start(mut cmd: Command, cwd: &Path, ui_dir: Option<&Path>) -> Started {
    match ui_dir {
        Some(dir) => cmd.env("TOKENBUDDY_UI_DIR", dir),
        None => cmd.env_remove("TOKENBUDDY_UI_DIR"),
    };
    let mut child = cmd
        .args(["serve", "--port", "0"])
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn tokenbuddy serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    std::thread::spawn(move || lines.for_each(drop));
    let port = first
        .strip_prefix("TokenBuddy listening on http://127.0.0.1:")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line: {first:?}"));
    Started { child, port }
}

/// Every local `href="/…"` or `src="/…"` (or relative) in `html`.
fn references(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attr in ["href=\"", "src=\""] {
        for (i, _) in html.match_indices(attr) {
            let rest = &html[i + attr.len()..];
            let Some(end) = rest.find('"') else { continue };
            let target = &rest[..end];
            if target.contains("://") || target.starts_with('#') || target.starts_with("data:") {
                continue;
            }
            let path = format!(
                "/{}",
                target.trim_start_matches("./").trim_start_matches('/')
            );
            if !found.contains(&path) {
                found.push(path);
            }
        }
    }
    found
}

fn header<'a>(resp: &'a reqwest::Response, name: &str) -> &'a str {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// The page and every asset it references load, typed and cached right.
async fn check_panel(port: u16) {
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let page = client.get(format!("{base}/")).send().await.expect("GET /");
    assert_eq!(page.status(), 200);
    assert!(
        header(&page, "content-type").starts_with("text/html"),
        "{:?}",
        page.headers()
    );
    assert_eq!(header(&page, "cache-control"), "no-cache");
    let etag = header(&page, "etag").to_string();
    assert!(etag.starts_with('"') && etag.len() > 10, "{etag}");
    let html = page.text().await.expect("html");
    assert!(html.contains("TokenBuddy"), "{html}");
    // Revalidation: the same page is not sent again.
    let again = client
        .get(format!("{base}/index.html"))
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("GET again");
    assert_eq!(again.status(), 304);

    let assets = references(&html);
    assert!(!assets.is_empty(), "the page references no asset: {html}");
    for path in &assets {
        let resp = client
            .get(format!("{base}{path}"))
            .send()
            .await
            .expect("asset");
        assert_eq!(resp.status(), 200, "{path}");
        let ty = header(&resp, "content-type").to_string();
        let expected = match path.rsplit('.').next() {
            Some("css") => "text/css",
            Some("js" | "mjs") => "javascript",
            Some("svg") => "image/svg+xml",
            Some("png") => "image/png",
            Some("ico") => "image/",
            Some("woff2") => "font/woff2",
            _ => "",
        };
        assert!(ty.contains(expected), "{path}: {ty}");
        if path.starts_with("/assets/") {
            assert_eq!(
                header(&resp, "cache-control"),
                "public, max-age=31536000, immutable",
                "{path}"
            );
        }
        assert!(!resp.bytes().await.expect("bytes").is_empty(), "{path}");
    }
    // Misses stay fast JSON 404s, and only GET/HEAD read files.
    let miss = client
        .get(format!("{base}/assets/nope.js"))
        .send()
        .await
        .expect("miss");
    assert_eq!(miss.status(), 404);
    assert!(header(&miss, "content-type").starts_with("application/json"));
    let climb = client
        .get(format!("{base}/..%2Fsecret"))
        .send()
        .await
        .expect("climb");
    assert_eq!(climb.status(), 404);
    let post = client.post(format!("{base}/")).send().await.expect("post");
    assert_eq!(post.status(), 404);
}

#[tokio::test]
async fn the_embedded_panel_is_served_from_anywhere() {
    let data = tempfile::tempdir().expect("data");
    let elsewhere = tempfile::tempdir().expect("cwd");
    let served = start(process::command(data.path()), elsewhere.path(), None);
    check_panel(served.port).await;
}

#[tokio::test]
async fn the_ui_dir_override_serves_from_disk() {
    let data = tempfile::tempdir().expect("data");
    let ui = tempfile::tempdir().expect("ui");
    std::fs::write(
        ui.path().join("index.html"),
        "<!doctype html><p>override-marker",
    )
    .expect("write");
    let served = start(process::command(data.path()), data.path(), Some(ui.path()));
    let body = reqwest::get(format!("http://127.0.0.1:{}/", served.port))
        .await
        .expect("GET /")
        .text()
        .await
        .expect("text");
    assert!(body.contains("override-marker"), "{body}");
}

#[tokio::test]
#[ignore = "builds and installs the binary (scripts/test runs it)"]
async fn an_installed_build_serves_the_panel_with_no_source_tree() {
    let root = tempfile::tempdir().expect("install root");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["install", "--debug", "--locked", "--force", "--path"])
        .arg(env!("CARGO_MANIFEST_DIR"))
        .arg("--root")
        .arg(root.path())
        .status()
        .expect("cargo install");
    assert!(status.success(), "cargo install failed");
    let installed = root.path().join("bin").join("tokenbuddy");
    let data = tempfile::tempdir().expect("data");
    let elsewhere = tempfile::tempdir().expect("cwd");
    let mut cmd = Command::new(&installed);
    cmd.env("TOKENBUDDY_DATA_DIR", data.path())
        .env_remove("TOKENBUDDY_LOG");
    let served = start(cmd, elsewhere.path(), None);
    check_panel(served.port).await;
}
