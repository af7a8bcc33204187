//! Codex's config, configured and restored through the real CLI in a
//! temporary HOME: only our keys change, everything else stays byte for byte,
//! configure twice = once, restore gives back the original bytes, a user edit
//! in between survives, and a file that does not parse is never touched.

use std::path::Path;
use std::process::Command;

use tokenbuddy::agents::doc::toml::TomlDoc;
use tokenbuddy::agents::doc::ConfigDoc;

const BIN: &str = env!("CARGO_BIN_EXE_tokenbuddy");

/// A realistic Codex config: comments, another provider, MCP servers, a
/// profile, unicode escapes, underscores in numbers.
const CONFIG: &str = r#"# Codex settings — hand-written, please keep my comments
model = "gpt-5.1-codex"   # the default model
model_provider = "openai"
approval_policy = "on-request"
notice = "caf\u00e9"

[model_providers.azure]
name = "Azure"
base_url = "https://example.openai.azure.com/openai"
env_key = "AZURE_OPENAI_API_KEY"
wire_api = "responses"

[mcp_servers.docs]
command = "npx"
args = ["-y", "docs-mcp"]   # keep this
startup_timeout_ms = 20_000

[profiles.fast]
model = "gpt-5.1-codex-mini"
"#;

/// Configure Codex for model `tb-model` on port 7444.
const CONFIGURE: &[&str] = &[
    "agents",
    "configure",
    "codex",
    "--model",
    "tb-model",
    "--port",
    "7444",
];

struct Env {
    home: tempfile::TempDir,
    data: tempfile::TempDir,
}

impl Env {
    fn new(config: Option<&str>) -> Env {
        let env = Env {
            home: tempfile::tempdir().expect("home"),
            data: tempfile::tempdir().expect("data"),
        };
        if let Some(text) = config {
            std::fs::create_dir_all(env.home.path().join(".codex")).expect("dir");
            std::fs::write(env.config(), text).expect("write");
        }
        env
    }

    fn config(&self) -> std::path::PathBuf {
        self.home.path().join(".codex/config.toml")
    }

    fn run(&self, args: &[&str]) -> (bool, String) {
        let out = Command::new(BIN)
            .args(args)
            .env("HOME", self.home.path())
            .env_remove("CODEX_HOME")
            .env("TOKENBUDDY_DATA_DIR", self.data.path())
            .output()
            .expect("run tokenbuddy");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    fn read(&self) -> String {
        std::fs::read_to_string(self.config()).expect("config")
    }

    fn token(&self) -> String {
        std::fs::read_to_string(self.data.path().join("token"))
            .expect("token")
            .trim()
            .to_string()
    }
}

/// Every line of `original` is in `edited`, in order, except those of the
/// root keys we own.
fn keeps_other_lines(original: &str, edited: &str) {
    let mut rest = edited.lines();
    for line in original.lines() {
        if line.starts_with("model =") || line.starts_with("model_provider =") {
            continue;
        }
        assert!(
            rest.any(|l| l == line),
            "line {line:?} lost or moved in:\n{edited}"
        );
    }
}

fn configure_restore_round_trip(original: &str) {
    let env = Env::new(Some(original));
    let (ok, out) = env.run(CONFIGURE);
    assert!(ok, "{out}");
    let edited = env.read();
    let doc = TomlDoc::parse(&edited).expect("still valid TOML");
    assert_eq!(
        doc.get(&["model_provider"]).as_deref(),
        Some("\"tokenbuddy\"")
    );
    assert_eq!(doc.get(&["model"]).as_deref(), Some("\"tb-model\""));
    let p = |k: &str| doc.get(&["model_providers", "tokenbuddy", k]);
    assert_eq!(
        p("base_url").as_deref(),
        Some("\"http://127.0.0.1:7444/v1\"")
    );
    assert_eq!(p("wire_api").as_deref(), Some("\"responses\""));
    assert_eq!(
        p("experimental_bearer_token"),
        Some(format!("\"{}\"", env.token()))
    );
    // Untouched: the other provider, the profile's own model.
    if original.contains("[model_providers.azure]") {
        assert_eq!(
            doc.get(&["model_providers", "azure", "name"]).as_deref(),
            Some("\"Azure\"")
        );
        assert_eq!(
            doc.get(&["profiles", "fast", "model"]).as_deref(),
            Some("\"gpt-5.1-codex-mini\"")
        );
    }
    if !original.ends_with('\n') {
        assert!(
            !edited.ends_with('\n'),
            "a missing final newline stays missing"
        );
    }
    keeps_other_lines(original, &edited);
    if original.contains("\r\n") {
        assert!(
            !edited.replace("\r\n", "").contains('\n'),
            "CRLF stays CRLF"
        );
    }

    // Configure twice = configure once.
    let (ok, out) = env.run(CONFIGURE);
    assert!(ok, "{out}");
    assert_eq!(env.read(), edited);

    // Restore: the original bytes.
    let (ok, out) = env.run(&["agents", "restore", "codex"]);
    assert!(ok, "{out}");
    assert_eq!(env.read(), original);
}

#[test]
fn configure_then_restore_gives_back_the_original_bytes() {
    configure_restore_round_trip(CONFIG);
}

#[test]
fn crlf_and_a_missing_final_newline_are_kept() {
    configure_restore_round_trip(&CONFIG.replace('\n', "\r\n"));
    configure_restore_round_trip(CONFIG.trim_end_matches('\n'));
}

#[test]
fn a_file_without_our_keys_gets_them_and_loses_them_again() {
    configure_restore_round_trip(
        "# only a comment\napproval_policy = \"never\"\n\n[tui]\nnotifications = true\n",
    );
}

#[test]
fn no_config_yet_is_created_and_removed_keys_leave_no_trace() {
    let env = Env::new(None);
    let (ok, out) = env.run(&["agents", "configure", "codex", "--model", "m"]);
    assert!(ok, "{out}");
    assert!(
        env.read()
            .starts_with("model_provider = \"tokenbuddy\"\nmodel = \"m\"\n"),
        "{}",
        env.read()
    );
    let (ok, out) = env.run(&["agents", "restore", "codex"]);
    assert!(ok, "{out}");
    assert!(!env.config().exists(), "the file we created is gone again");
}

#[test]
fn a_user_edit_between_configure_and_restore_survives() {
    let env = Env::new(Some(CONFIG));
    assert!(
        env.run(&["agents", "configure", "codex", "--model", "tb-model"])
            .0
    );
    // The user picks another model and adds a setting of their own.
    let edited = env
        .read()
        .replace("model = \"tb-model\"", "model = \"my-choice\"")
        + "\n[history]\npersistence = \"none\"\n";
    std::fs::write(env.config(), &edited).expect("user edit");
    let (ok, out) = env.run(&["agents", "restore", "codex"]);
    assert!(ok, "{out}");
    assert!(
        out.contains("left alone (changed since TokenBuddy set it): model"),
        "{out}"
    );
    let restored = env.read();
    let doc = TomlDoc::parse(&restored).expect("valid");
    assert_eq!(
        doc.get(&["model"]).as_deref(),
        Some("\"my-choice\""),
        "the user's model stays"
    );
    assert_eq!(
        doc.get(&["model_provider"]).as_deref(),
        Some("\"openai\""),
        "ours is undone"
    );
    assert_eq!(
        doc.get(&["model_providers", "tokenbuddy", "base_url"]),
        None
    );
    assert_eq!(
        doc.get(&["history", "persistence"]).as_deref(),
        Some("\"none\"")
    );
}

#[test]
fn dry_run_shows_a_diff_and_writes_nothing() {
    let env = Env::new(Some(CONFIG));
    let (ok, out) = env.run(&[
        "agents",
        "configure",
        "codex",
        "--model",
        "tb-model",
        "--dry-run",
    ]);
    assert!(ok, "{out}");
    assert!(
        out.contains("-model_provider = \"openai\"")
            && out.contains("+model_provider = \"tokenbuddy\""),
        "{out}"
    );
    assert!(out.contains("+[model_providers.tokenbuddy]"), "{out}");
    assert_eq!(env.read(), CONFIG);
}

#[test]
fn a_truncated_file_is_refused_and_left_untouched() {
    let cut = &CONFIG[..CONFIG.find("wire_api = \"resp").expect("anchor") + 15];
    let env = Env::new(Some(cut));
    let mtime = |p: &Path| {
        std::fs::metadata(p)
            .and_then(|m| m.modified())
            .expect("mtime")
    };
    let before = mtime(&env.config());
    let (ok, out) = env.run(&["agents", "configure", "codex", "--model", "m"]);
    assert!(!ok, "configured a broken file: {out}");
    assert!(out.contains("config.toml") && out.contains("line"), "{out}");
    assert_eq!(env.read(), cut);
    assert_eq!(mtime(&env.config()), before);
}
