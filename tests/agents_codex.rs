//! Codex's config, configured and restored through the real CLI in a
//! temporary HOME: only our keys change, everything else stays byte for byte,
//! configure twice = once, restore gives back the original bytes, a user edit
//! in between survives, and a file that does not parse is never touched.

mod support;

use std::path::Path;

use support::agent_home::{configure_args, Home};
use tokenbuddy::agents::doc::toml::TomlDoc;
use tokenbuddy::agents::doc::ConfigDoc;

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

/// Codex's config file, relative to HOME.
const CONFIG_FILE: &str = ".codex/config.toml";

/// A HOME with `config` as Codex's config (none: no file).
fn home(config: Option<&str>) -> Home {
    Home::with_file(CONFIG_FILE, config)
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
    let h = home(Some(original));
    let (ok, out) = h.run(&configure_args("codex", "tb-model"));
    assert!(ok, "{out}");
    let edited = h.read(CONFIG_FILE);
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
        Some(format!("\"{}\"", h.token()))
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
    let (ok, out) = h.run(&configure_args("codex", "tb-model"));
    assert!(ok, "{out}");
    assert_eq!(h.read(CONFIG_FILE), edited);

    // Restore: the original bytes.
    let (ok, out) = h.run(&["agents", "restore", "codex"]);
    assert!(ok, "{out}");
    assert_eq!(h.read(CONFIG_FILE), original);
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
    let h = home(None);
    let (ok, out) = h.run(&["agents", "configure", "codex", "--model", "m"]);
    assert!(ok, "{out}");
    assert!(
        h.read(CONFIG_FILE)
            .starts_with("model_provider = \"tokenbuddy\"\nmodel = \"m\"\n"),
        "{}",
        h.read(CONFIG_FILE)
    );
    let (ok, out) = h.run(&["agents", "restore", "codex"]);
    assert!(ok, "{out}");
    assert!(
        !h.home.path().join(CONFIG_FILE).exists(),
        "the file we created is gone again"
    );
}

#[test]
fn a_user_edit_between_configure_and_restore_survives() {
    let h = home(Some(CONFIG));
    assert!(
        h.run(&["agents", "configure", "codex", "--model", "tb-model"])
            .0
    );
    // The user picks another model and adds a setting of their own.
    let edited = h
        .read(CONFIG_FILE)
        .replace("model = \"tb-model\"", "model = \"my-choice\"")
        + "\n[history]\npersistence = \"none\"\n";
    h.write(CONFIG_FILE, &edited);
    let (ok, out) = h.run(&["agents", "restore", "codex"]);
    assert!(ok, "{out}");
    assert!(
        out.contains("left alone (changed since TokenBuddy set it): model"),
        "{out}"
    );
    let restored = h.read(CONFIG_FILE);
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
    let h = home(Some(CONFIG));
    let (ok, out) = h.run(&[
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
    assert_eq!(h.read(CONFIG_FILE), CONFIG);
}

#[test]
fn a_truncated_file_is_refused_and_left_untouched() {
    let cut = &CONFIG[..CONFIG.find("wire_api = \"resp").expect("anchor") + 15];
    let h = home(Some(cut));
    let mtime = |p: &Path| {
        std::fs::metadata(p)
            .and_then(|m| m.modified())
            .expect("mtime")
    };
    let before = mtime(&h.home.path().join(CONFIG_FILE));
    let (ok, out) = h.run(&["agents", "configure", "codex", "--model", "m"]);
    assert!(!ok, "configured a broken file: {out}");
    assert!(out.contains("config.toml") && out.contains("line"), "{out}");
    assert_eq!(h.read(CONFIG_FILE), cut);
    assert_eq!(mtime(&h.home.path().join(CONFIG_FILE)), before);
}

/// With only chat sellers for the model, configure turns Codex's web search
/// off (chat sellers cannot run it, and every request offering it would be
/// refused through translation) and says why; with a Responses seller for
/// it, web search is left alone. Restore gives the original bytes back.
#[test]
fn web_search_is_turned_off_only_when_no_responses_seller_serves_the_model() {
    for (protocols, off) in [
        ("[openai-chat]", true),
        ("[openai-chat, openai-responses]", false),
    ] {
        let h = home(Some(CONFIG));
        h.write(
            h.data.path().join("sellers.yaml"),
            &format!("sellers:\n  - id: s\n    base_url: http://127.0.0.1:9\n    api_key: k\n    protocols: {protocols}\n    models: [tb-model]\n"),
        );
        let out = h.configure("codex", "tb-model");
        let edited = h.read(CONFIG_FILE);
        let doc = TomlDoc::parse(&edited).expect("parses");
        let web = doc.value(&["web_search"]);
        if off {
            assert_eq!(web, Some(serde_json::json!("disabled")), "{edited}");
            assert!(out.contains("web_search"), "{out}");
            // Above the first table: a root key, not one of `[model_providers.azure]`.
            let at = edited.find("web_search").expect("written");
            assert!(at < edited.find('[').expect("tables"), "{edited}");
        } else {
            assert_eq!(web, None, "{edited}");
        }
        h.restore("codex");
        assert_eq!(h.read(CONFIG_FILE), CONFIG);
    }
}
