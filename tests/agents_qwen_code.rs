//! Qwen Code configured through the real CLI from the files a new user has:
//! no file at all, `{}`, an empty file, and an ordinary `settings.json` with
//! `security`/`model`/`ui` keys but no `modelProviders` (issue #8: every one
//! of them failed with "an edit did not re-parse"). Each gets the provider
//! list created with our entry, and restore gives back the original bytes
//! (or removes the file TokenBuddy created). A user entry for the same model
//! id is the one Qwen Code picks, so that entry is pointed at TokenBuddy.

mod support;

use serde_json::{json, Value};
use support::agent_home::{self, outcome, Home};

const ORDINARY: &str = r#"{
  "security": {
    "auth": {
      "selectedType": "qwen-oauth"
    }
  },
  "model": {
    "name": "qwen3-coder-plus"
  },
  "ui": {
    "theme": "GitHub"
  }
}
"#;

/// Qwen Code's settings file, relative to HOME.
const SETTINGS: &str = ".qwen/settings.json";

/// A HOME with `settings` as Qwen Code's settings file (none: no file).
fn home(settings: Option<&str>) -> Home {
    Home::with_file(SETTINGS, settings)
}

/// The settings file, read as Qwen Code reads it.
fn parsed(h: &Home) -> Value {
    let text = h.read(SETTINGS);
    agent_home::parse_jsonc(&text).unwrap_or_else(|e| panic!("result does not parse: {e}\n{text}"))
}

fn assert_configured(h: &Home, model: &str) {
    let v = parsed(h);
    let list = v["modelProviders"]["openai"]
        .as_array()
        .unwrap_or_else(|| panic!("modelProviders.openai must be a list: {v}"));
    let ours = list
        .iter()
        .find(|e| e["id"] == model)
        .unwrap_or_else(|| panic!("no entry for {model}: {v}"));
    assert_eq!(ours["baseUrl"], "http://127.0.0.1:7444/v1", "{v}");
    assert_eq!(ours["envKey"], "TOKENBUDDY_API_KEY", "{v}");
    assert_eq!(v["env"]["TOKENBUDDY_API_KEY"], json!(h.token()), "{v}");
    assert_eq!(v["model"]["name"], model, "{v}");
    assert_eq!(v["security"]["auth"]["selectedType"], "openai", "{v}");
}

#[test]
fn configures_every_file_a_new_user_has_and_restores_it() {
    for start in [Some("{}"), Some(""), Some("{}\n"), Some(ORDINARY)] {
        let h = home(start);
        h.configure("qwen-code", "tb-model");
        assert_configured(&h, "tb-model");
        if start == Some(ORDINARY) {
            assert_eq!(parsed(&h)["ui"]["theme"], "GitHub", "other keys stay");
        }
        h.configure("qwen-code", "tb-model");
        assert_configured(&h, "tb-model");
        h.restore("qwen-code");
        assert_eq!(
            h.read(SETTINGS),
            start.unwrap_or_default(),
            "restore gives back the original bytes of {start:?}"
        );
    }
}

#[test]
fn configures_a_fresh_home() {
    let h = home(None);
    h.configure("qwen-code", "tb-model");
    assert_configured(&h, "tb-model");
    // Qwen Code stamps a file without `$version` (and so would keep it
    // from being TokenBuddy's alone): a file we create carries it.
    assert_eq!(parsed(&h)["$version"], 4);
    h.restore("qwen-code");
    assert!(
        !h.home.path().join(SETTINGS).exists(),
        "the file TokenBuddy created is gone"
    );
    assert!(!h.home.path().join(".qwen").exists(), "and its folder");
}

#[test]
fn qwen_home_moves_the_settings() {
    let h = home(None);
    let moved = h.home.path().join("elsewhere/qwen");
    let (ok, out) = outcome(
        h.command(&["agents", "configure", "qwen-code", "--model", "m"])
            .env("QWEN_HOME", &moved),
    );
    assert!(ok, "{out}");
    let text =
        std::fs::read_to_string(moved.join("settings.json")).expect("settings under QWEN_HOME");
    assert!(text.contains("TOKENBUDDY_API_KEY"), "{text}");
    assert!(
        !h.home.path().join(SETTINGS).exists(),
        "~/.qwen is not used when QWEN_HOME is set"
    );
}

#[test]
fn a_user_entry_for_the_same_model_is_pointed_at_tokenbuddy() {
    let text = r#"{
  "modelProviders": {
    "openai": [
      {
        "id": "qwen3-coder-plus",
        "name": "Qwen3 Coder Plus",
        "baseUrl": "https://dashscope.aliyuncs.com/compatible-mode/v1",
        "envKey": "DASHSCOPE_API_KEY"
      }
    ]
  },
  "model": { "name": "qwen3-coder-plus" }
}
"#;
    let h = home(Some(text));
    h.configure("qwen-code", "qwen3-coder-plus");
    let v = parsed(&h);
    // Qwen Code takes the first entry with the model's id.
    let first = v["modelProviders"]["openai"]
        .as_array()
        .and_then(|l| l.iter().find(|e| e["id"] == "qwen3-coder-plus"))
        .cloned()
        .expect("entry");
    assert_eq!(first["baseUrl"], "http://127.0.0.1:7444/v1", "{v}");
    assert_eq!(first["envKey"], "TOKENBUDDY_API_KEY", "{v}");
    assert_configured(&h, "qwen3-coder-plus");
    h.restore("qwen-code");
    assert_eq!(h.read(SETTINGS), text);
}
