//! Files and folders TokenBuddy creates for an agent (issue #8: in a fresh
//! HOME, configure then restore left `{\n}\n` behind for Claude Code,
//! OpenClaw and opencode, and the folders for all). Through the real CLI in a
//! temporary HOME: the created file is private (0600: it holds our token),
//! restore removes it and the folders made for it; what the user or the
//! agent put there since is kept, only our keys go, and the result says so
//! (CLI output and the API's `kept`).

mod support;

use std::path::Path;

use serde_json::Value;
use support::agent_home::Home;
use tokenbuddy::agents::doc::json::Dialect;
use tokenbuddy::agents::spec::{self, Format};

const FILE_AGENTS: &[&str] = &[
    "claude-code",
    "codex",
    "openclaw",
    "hermes",
    "opencode",
    "qwen-code",
    "crush",
    "gemini-cli",
    "claude-desktop",
];

/// Everything under `dir`, relative.
fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir").flatten() {
            let p = e.path();
            out.push(p.strip_prefix(dir).expect("inside").display().to_string());
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
    out.sort();
    out
}

/// A key of the user's own, in the file's format, added to `text`.
fn add_user_key(format: Format, text: &str) -> String {
    match format {
        Format::Toml => format!("user_key = 1\n{text}"),
        Format::Yaml => format!("{text}user_key: 1\n"),
        Format::Json(_) => text.replacen('{', "{\n  \"user_key\": 1,", 1),
    }
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).expect("meta").permissions().mode() & 0o777
}

#[test]
fn restore_removes_the_file_and_folders_configure_created() {
    for id in FILE_AGENTS {
        let spec = spec::find(id).expect("agent");
        let h = Home::new();
        h.configure(id, "tb-model");
        assert!(h.config(spec).is_file(), "{id}: configure created its file");
        #[cfg(unix)]
        assert_eq!(mode(&h.config(spec)), 0o600, "{id}: it holds our token");
        let out = h.restore(id);
        assert!(!out.contains("kept"), "{id}: {out}");
        assert_eq!(
            tree(h.home.path()),
            Vec::<String>::new(),
            "{id}: restore leaves the fresh HOME as it was"
        );
    }
}

#[test]
fn what_was_put_there_since_is_kept_and_said() {
    for id in FILE_AGENTS {
        let spec = spec::find(id).expect("agent");
        // Another key in the file: the file stays, with only that key.
        let h = Home::new();
        h.configure(id, "tb-model");
        let file = h.config(spec);
        h.write(&file, &add_user_key(spec.format, &h.read(&file)));
        let out = h.restore(id);
        assert!(
            out.contains("kept") && out.contains("holds other settings"),
            "{id}: {out}"
        );
        let left = std::fs::read_to_string(&file).expect("file kept");
        let doc = tokenbuddy::agents::patch::open_text(spec.format, &left).expect("parses");
        let root = doc.value(&[]).expect("a document");
        let keys: Vec<&String> = root.as_object().expect("object").keys().collect();
        assert_eq!(keys, vec!["user_key"], "{id}: only the user's key:\n{left}");

        // Another file in the folder: our file goes, the folder stays.
        let h = Home::new();
        h.configure(id, "tb-model");
        let file = h.config(spec);
        let dir = file.parent().expect("dir").to_path_buf();
        std::fs::write(dir.join("notes.txt"), "mine").expect("write");
        let out = h.restore(id);
        assert!(!file.exists(), "{id}: our file goes");
        assert!(
            out.contains("kept folder") && dir.join("notes.txt").is_file(),
            "{id}: {out}"
        );
    }
}

#[tokio::test]
async fn the_api_says_what_it_kept() {
    let h = Home::new();
    let served = h.serve(&["--demo"], &[]);
    let client = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        let request = client
            .post(served.url(path))
            .bearer_auth(&served.token)
            .json(&body);
        async move {
            let r = request.send().await.expect("post");
            assert_eq!(r.status().as_u16(), 200);
            r.json::<Value>().await.expect("json")
        }
    };
    post(
        "/api/agents/claude-code/configure",
        serde_json::json!({"model": "m"}),
    )
    .await;
    let settings = ".claude/settings.json";
    let text = h.read(settings);
    h.write(settings, &add_user_key(Format::Json(Dialect::Json), &text));
    let done = post("/api/agents/claude-code/restore", serde_json::json!({})).await;
    let kept = done["kept"].as_array().expect("kept list");
    assert!(
        kept.iter()
            .any(|k| k.as_str().is_some_and(|k| k.contains("settings.json"))),
        "{done}"
    );
    assert_eq!(done["left"], serde_json::json!([]), "{done}");
}
