//! Files and folders TokenBuddy creates for an agent (issue #8: in a fresh
//! HOME, configure then restore left `{\n}\n` behind for Claude Code,
//! OpenClaw and opencode, and the folders for all). Through the real CLI in a
//! temporary HOME: the created file is private (0600: it holds our token),
//! restore removes it and the folders made for it; what the user or the
//! agent put there since is kept, only our keys go, and the result says so
//! (CLI output and the API's `kept`).

#[path = "support/process.rs"]
#[allow(dead_code)]
mod process;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use tokenbuddy::agents::doc::json::Dialect;
use tokenbuddy::agents::spec::{self, AgentSpec, Format};

const BIN: &str = env!("CARGO_BIN_EXE_tokenbuddy");
const FILE_AGENTS: &[&str] = &[
    "claude-code",
    "codex",
    "openclaw",
    "hermes",
    "opencode",
    "qwen-code",
    "crush",
];

struct Home {
    home: tempfile::TempDir,
    data: tempfile::TempDir,
    spec: &'static AgentSpec,
}

impl Home {
    fn new(id: &str) -> Home {
        Home {
            home: tempfile::tempdir().expect("home"),
            data: tempfile::tempdir().expect("data"),
            spec: spec::find(id).expect("agent"),
        }
    }

    fn config(&self) -> PathBuf {
        (self.spec.config_path)(self.home.path(), &|_| None).expect("a file agent")
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new(BIN)
            .args(args)
            .env_clear()
            .env("HOME", self.home.path())
            .env("TOKENBUDDY_DATA_DIR", self.data.path())
            .output()
            .expect("run tokenbuddy");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{args:?}: {text}");
        text
    }

    fn configure(&self) {
        self.run(&[
            "agents",
            "configure",
            self.spec.id,
            "--model",
            "tb-model",
            "--port",
            "7444",
        ]);
    }

    fn restore(&self) -> String {
        self.run(&["agents", "restore", self.spec.id])
    }
}

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
        let h = Home::new(id);
        h.configure();
        assert!(h.config().is_file(), "{id}: configure created its file");
        #[cfg(unix)]
        assert_eq!(mode(&h.config()), 0o600, "{id}: it holds our token");
        let out = h.restore();
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
        // Another key in the file: the file stays, with only that key.
        let h = Home::new(id);
        h.configure();
        let text = std::fs::read_to_string(h.config()).expect("config");
        std::fs::write(h.config(), add_user_key(h.spec.format, &text)).expect("write");
        let out = h.restore();
        assert!(
            out.contains("kept") && out.contains("holds other settings"),
            "{id}: {out}"
        );
        let left = std::fs::read_to_string(h.config()).expect("file kept");
        let doc = tokenbuddy::agents::patch::open_text(h.spec.format, &left).expect("parses");
        let root = doc.value(&[]).expect("a document");
        let keys: Vec<&String> = root.as_object().expect("object").keys().collect();
        assert_eq!(keys, vec!["user_key"], "{id}: only the user's key:\n{left}");

        // Another file in the folder: our file goes, the folder stays.
        let h = Home::new(id);
        h.configure();
        let dir = h.config().parent().expect("dir").to_path_buf();
        std::fs::write(dir.join("notes.txt"), "mine").expect("write");
        let out = h.restore();
        assert!(!h.config().exists(), "{id}: our file goes");
        assert!(
            out.contains("kept folder") && dir.join("notes.txt").is_file(),
            "{id}: {out}"
        );
    }
}

#[tokio::test]
async fn the_api_says_what_it_kept() {
    let home = tempfile::tempdir().expect("home");
    let data = tempfile::tempdir().expect("data");
    let home_str = home.path().to_string_lossy().into_owned();
    let served = process::Served::start(data.path(), &["--demo"], &[("HOME", &home_str)]);
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
    let settings = home.path().join(".claude/settings.json");
    let text = std::fs::read_to_string(&settings).expect("settings");
    std::fs::write(&settings, add_user_key(Format::Json(Dialect::Json), &text)).expect("write");
    let done = post("/api/agents/claude-code/restore", serde_json::json!({})).await;
    let kept = done["kept"].as_array().expect("kept list");
    assert!(
        kept.iter()
            .any(|k| k.as_str().is_some_and(|k| k.contains("settings.json"))),
        "{done}"
    );
    assert_eq!(done["left"], serde_json::json!([]), "{done}");
}
