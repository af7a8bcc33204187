//! Every model an agent uses goes through TokenBuddy once it is configured
//! (issue #8: opencode's title and summary requests went to `small_model`,
//! still on the old provider) — or the result names the setting it left and
//! why (`left` in the CLI output and the API's JSON). Through the real CLI in
//! a temporary HOME; restore gives back the original bytes.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use tokenbuddy::agents::patch;
use tokenbuddy::agents::spec::{self, AgentSpec};

const BIN: &str = env!("CARGO_BIN_EXE_tokenbuddy");

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

    fn write(&self, rel: &str, text: &str) {
        let path = self.home.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> String {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env_clear()
            .env("HOME", self.home.path())
            .env("TOKENBUDDY_DATA_DIR", self.data.path());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run tokenbuddy");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{args:?}: {text}");
        text
    }

    fn configure(&self, env: &[(&str, &str)]) -> String {
        let id = self.spec.id;
        self.run(
            &[
                "agents",
                "configure",
                id,
                "--model",
                "tb-model",
                "--port",
                "7444",
            ],
            env,
        )
    }

    fn value(&self, path: &[&str]) -> Option<Value> {
        let text = std::fs::read_to_string(self.config()).expect("config");
        let doc = patch::open_text(self.spec.format, &text).expect("parses");
        doc.value(path)
    }

    fn restores(&self, original: &str) {
        self.run(&["agents", "restore", self.spec.id], &[]);
        assert_eq!(
            std::fs::read_to_string(self.config()).expect("config"),
            original,
            "{}: restore gives back the original bytes",
            self.spec.id
        );
    }
}

fn s(v: &str) -> Option<Value> {
    Some(Value::from(v))
}

#[test]
fn opencode_small_model_goes_through_tokenbuddy_and_pinned_agents_are_named() {
    let h = Home::new("opencode");
    let original = r#"{
  "$schema": "https://opencode.ai/config.json",
  "model": "anthropic/claude-sonnet-4-5",
  "small_model": "anthropic/claude-haiku-4-5",
  "agent": {
    "plan": { "model": "anthropic/claude-opus-4-1" },
    "build": { "model": "tokenbuddy/other" }
  }
}
"#;
    h.write(".config/opencode/opencode.json", original);
    let out = h.configure(&[]);
    assert_eq!(h.value(&["model"]), s("tokenbuddy/tb-model"));
    assert_eq!(h.value(&["small_model"]), s("tokenbuddy/tb-model"));
    assert!(
        out.contains("left as is: agent.plan.model")
            && out.contains("anthropic/claude-opus-4-1")
            && !out.contains("agent.build.model"),
        "{out}"
    );
    h.restores(original);

    // No small_model before: one is added (and removed again by restore).
    let h = Home::new("opencode");
    let plain = "{\n  \"model\": \"anthropic/claude-sonnet-4-5\"\n}\n";
    h.write(".config/opencode/opencode.json", plain);
    h.configure(&[]);
    assert_eq!(h.value(&["small_model"]), s("tokenbuddy/tb-model"));
    h.restores(plain);
}

#[test]
fn qwen_code_fast_model_goes_through_tokenbuddy() {
    let h = Home::new("qwen-code");
    let original = "{\n  \"model\": {\"name\": \"qwen3-coder-plus\"},\n  \"fastModel\": \"qwen3-coder-flash\"\n}\n";
    h.write(".qwen/settings.json", original);
    h.configure(&[]);
    assert_eq!(h.value(&["fastModel"]), s("tb-model"));
    h.restores(original);
}
