//! Qwen Code configured through the real CLI from the files a new user has:
//! no file at all, `{}`, an empty file, and an ordinary `settings.json` with
//! `security`/`model`/`ui` keys but no `modelProviders` (issue #8: every one
//! of them failed with "an edit did not re-parse"). Each gets the provider
//! list created with our entry, and restore gives back the original bytes
//! (or removes the file TokenBuddy created). A user entry for the same model
//! id is the one Qwen Code picks, so that entry is pointed at TokenBuddy.

use std::path::PathBuf;
use std::process::Command;

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_tokenbuddy");

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

struct Home {
    home: tempfile::TempDir,
    data: tempfile::TempDir,
}

impl Home {
    fn new(settings: Option<&str>) -> Home {
        let h = Home {
            home: tempfile::tempdir().expect("home"),
            data: tempfile::tempdir().expect("data"),
        };
        if let Some(text) = settings {
            std::fs::create_dir_all(h.home.path().join(".qwen")).expect("mkdir");
            std::fs::write(h.settings(), text).expect("write");
        }
        h
    }

    fn settings(&self) -> PathBuf {
        self.home.path().join(".qwen/settings.json")
    }

    fn run(&self, args: &[&str]) -> (bool, String) {
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
        (out.status.success(), text)
    }

    fn configure(&self, model: &str) -> String {
        let (ok, out) = self.run(&[
            "agents",
            "configure",
            "qwen-code",
            "--model",
            model,
            "--port",
            "7444",
        ]);
        assert!(ok, "configure qwen-code must succeed: {out}");
        out
    }

    fn parsed(&self) -> Value {
        let text = std::fs::read_to_string(self.settings()).expect("settings");
        let options = jsonc_parser::ParseOptions {
            allow_comments: true,
            allow_trailing_commas: true,
            allow_loose_object_property_names: false,
            allow_missing_commas: false,
            allow_single_quoted_strings: false,
            allow_hexadecimal_numbers: false,
            allow_unary_plus_numbers: false,
            allow_bare_decimal_point_numbers: false,
            allow_non_finite_numbers: false,
            allow_extended_string_escapes: false,
        };
        jsonc_parser::parse_to_serde_value::<Value>(&text, &options)
            .unwrap_or_else(|e| panic!("result does not parse: {e}\n{text}"))
    }

    fn token(&self) -> String {
        std::fs::read_to_string(self.data.path().join("token"))
            .expect("token")
            .trim()
            .to_string()
    }
}

fn assert_configured(h: &Home, model: &str) {
    let v = h.parsed();
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
        let h = Home::new(start);
        h.configure("tb-model");
        assert_configured(&h, "tb-model");
        if start == Some(ORDINARY) {
            assert_eq!(h.parsed()["ui"]["theme"], "GitHub", "other keys stay");
        }
        h.configure("tb-model");
        assert_configured(&h, "tb-model");
        let (ok, out) = h.run(&["agents", "restore", "qwen-code"]);
        assert!(ok, "{out}");
        assert_eq!(
            std::fs::read_to_string(h.settings()).expect("settings"),
            start.unwrap_or_default(),
            "restore gives back the original bytes of {start:?}"
        );
    }
}

#[test]
fn configures_a_fresh_home() {
    let h = Home::new(None);
    h.configure("tb-model");
    assert_configured(&h, "tb-model");
    // Qwen Code stamps a file without `$version` (and so would keep it
    // from being TokenBuddy's alone): a file we create carries it.
    assert_eq!(h.parsed()["$version"], 4);
    let (ok, out) = h.run(&["agents", "restore", "qwen-code"]);
    assert!(ok, "{out}");
    assert!(
        !h.settings().exists(),
        "the file TokenBuddy created is gone"
    );
    assert!(!h.home.path().join(".qwen").exists(), "and its folder");
}

#[test]
fn qwen_home_moves_the_settings() {
    let h = Home::new(None);
    let moved = h.home.path().join("elsewhere/qwen");
    let out = Command::new(BIN)
        .args(["agents", "configure", "qwen-code", "--model", "m"])
        .env_clear()
        .env("HOME", h.home.path())
        .env("QWEN_HOME", &moved)
        .env("TOKENBUDDY_DATA_DIR", h.data.path())
        .output()
        .expect("run tokenbuddy");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text =
        std::fs::read_to_string(moved.join("settings.json")).expect("settings under QWEN_HOME");
    assert!(text.contains("TOKENBUDDY_API_KEY"), "{text}");
    assert!(
        !h.settings().exists(),
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
    let h = Home::new(Some(text));
    h.configure("qwen3-coder-plus");
    let v = h.parsed();
    // Qwen Code takes the first entry with the model's id.
    let first = v["modelProviders"]["openai"]
        .as_array()
        .and_then(|l| l.iter().find(|e| e["id"] == "qwen3-coder-plus"))
        .cloned()
        .expect("entry");
    assert_eq!(first["baseUrl"], "http://127.0.0.1:7444/v1", "{v}");
    assert_eq!(first["envKey"], "TOKENBUDDY_API_KEY", "{v}");
    assert_configured(&h, "qwen3-coder-plus");
    let (ok, out) = h.run(&["agents", "restore", "qwen-code"]);
    assert!(ok, "{out}");
    assert_eq!(
        std::fs::read_to_string(h.settings()).expect("settings"),
        text
    );
}
