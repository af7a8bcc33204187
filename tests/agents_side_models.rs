//! Every model an agent uses goes through TokenBuddy once it is configured
//! (issue #8: opencode's title and summary requests went to `small_model`,
//! still on the old provider) — or the result names the setting it left and
//! why (`left` in the CLI output and the API's JSON). Through the real CLI in
//! a temporary HOME; restore gives back the original bytes.

mod support;

use serde_json::Value;
use support::agent_home::{configure_args, outcome, Home};
use tokenbuddy::agents::patch;
use tokenbuddy::agents::spec::{self, AgentSpec};

/// An agent's config in a temporary HOME.
struct Agent {
    home: Home,
    spec: &'static AgentSpec,
}

impl Agent {
    /// Agent `id` in a fresh HOME.
    fn new(id: &str) -> Agent {
        Agent {
            home: Home::new(),
            spec: spec::find(id).expect("agent"),
        }
    }

    /// Configures the agent for `tb-model`, with `env` added to the CLI's
    /// environment; its output.
    fn configure(&self, env: &[(&str, &str)]) -> String {
        let mut cmd = self.home.command(&configure_args(self.spec.id, "tb-model"));
        cmd.envs(env.iter().copied());
        let (ok, out) = outcome(&mut cmd);
        assert!(ok, "configure {}: {out}", self.spec.id);
        out
    }

    /// The value at `path` in the agent's config.
    fn value(&self, path: &[&str]) -> Option<Value> {
        let text = self.home.read(self.home.config(self.spec));
        let doc = patch::open_text(self.spec.format, &text).expect("parses");
        doc.value(path)
    }

    /// Restores the agent, which gives back `original` byte for byte.
    fn restores(&self, original: &str) {
        self.home.restore(self.spec.id);
        assert_eq!(
            self.home.read(self.home.config(self.spec)),
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
    let h = Agent::new("opencode");
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
    h.home.write(".config/opencode/opencode.json", original);
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
    let h = Agent::new("opencode");
    let plain = "{\n  \"model\": \"anthropic/claude-sonnet-4-5\"\n}\n";
    h.home.write(".config/opencode/opencode.json", plain);
    h.configure(&[]);
    assert_eq!(h.value(&["small_model"]), s("tokenbuddy/tb-model"));
    h.restores(plain);
}

#[test]
fn qwen_code_fast_model_goes_through_tokenbuddy() {
    let h = Agent::new("qwen-code");
    let original = "{\n  \"model\": {\"name\": \"qwen3-coder-plus\"},\n  \"fastModel\": \"qwen3-coder-flash\"\n}\n";
    h.home.write(".qwen/settings.json", original);
    h.configure(&[]);
    assert_eq!(h.value(&["fastModel"]), s("tb-model"));
    h.restores(original);
}

#[test]
fn claude_code_side_models_the_file_or_shell_sets_go_to_the_configured_model() {
    let h = Agent::new("claude-code");
    let original = r#"{
  "env": {
    "ANTHROPIC_BASE_URL": "https://api.z.ai/api/anthropic",
    "ANTHROPIC_DEFAULT_SONNET_MODEL": "glm-4.6",
    "ANTHROPIC_SMALL_FAST_MODEL": "glm-4.5-air",
    "CLAUDE_CODE_SUBAGENT_MODEL": "glm-4.6"
  }
}
"#;
    h.home.write(".claude/settings.json", original);
    // Exported in the shell: the file's env wins over it, so we set it there.
    h.configure(&[("ANTHROPIC_DEFAULT_OPUS_MODEL", "glm-4.6")]);
    for var in [
        "ANTHROPIC_MODEL",
        "ANTHROPIC_DEFAULT_HAIKU_MODEL",
        "ANTHROPIC_DEFAULT_SONNET_MODEL",
        "ANTHROPIC_DEFAULT_OPUS_MODEL",
        "ANTHROPIC_SMALL_FAST_MODEL",
        "CLAUDE_CODE_SUBAGENT_MODEL",
    ] {
        assert_eq!(h.value(&["env", var]), s("tb-model"), "{var}");
    }
    h.restores(original);
}

#[test]
fn codex_selected_profile_is_routed_and_other_profiles_are_named() {
    let h = Agent::new("codex");
    let original = r#"model = "gpt-5"
profile = "work"

[profiles.work]
model_provider = "azure"
model = "gpt-5-azure"

[profiles.other]
model_provider = "openai"
"#;
    h.home.write(".codex/config.toml", original);
    h.home.write(
        ".codex/ci.config.toml",
        "model_provider = \"openai\"\nmodel = \"o3\"\n",
    );
    let out = h.configure(&[]);
    assert_eq!(
        h.value(&["profiles", "work", "model_provider"]),
        s("tokenbuddy")
    );
    assert_eq!(h.value(&["profiles", "work", "model"]), s("tb-model"));
    assert_eq!(
        h.value(&["profiles", "other", "model_provider"]),
        s("openai")
    );
    assert!(
        out.contains("left as is: profiles.other") && out.contains("ci.config.toml"),
        "{out}"
    );
    h.restores(original);
}

#[test]
fn openclaw_fallbacks_and_image_model_are_named_with_the_reason() {
    let h = Agent::new("openclaw");
    let original = r#"{
  agents: {
    defaults: {
      model: { primary: "openai/gpt-5", fallbacks: ["anthropic/claude-sonnet-4-5", "tokenbuddy/x"] },
      imageModel: "openai/gpt-4o",
    },
  },
}
"#;
    h.home.write(".openclaw/openclaw.json", original);
    let out = h.configure(&[]);
    assert_eq!(
        h.value(&["agents", "defaults", "model", "primary"]),
        s("tokenbuddy/tb-model")
    );
    assert!(
        out.contains("left as is: agents.defaults.model.fallbacks")
            && out.contains("anthropic/claude-sonnet-4-5")
            && out.contains("left as is: agents.defaults.imageModel")
            && out.contains("image"),
        "{out}"
    );
    h.restores(original);
}

#[test]
fn hermes_auxiliary_tasks_are_routed_vision_and_fallback_are_named() {
    let h = Agent::new("hermes");
    let original = r#"model:
  default: anthropic/claude-opus-4.6
  provider: openrouter
auxiliary:
  compression:
    provider: openrouter
    model: google/gemini-2.5-flash
  web_extract:
    provider: auto
    model: ""
    base_url: "https://example.com/v1"
  approval:
    provider: main
  vision:
    provider: auto
    model: ""
fallback_model:
  provider: openrouter
  model: anthropic/claude-sonnet-4
"#;
    h.home.write(".hermes/config.yaml", original);
    let out = h.configure(&[]);
    for task in ["compression", "web_extract"] {
        assert_eq!(
            h.value(&["auxiliary", task, "provider"]),
            s("main"),
            "{task}"
        );
        assert_eq!(
            h.value(&["auxiliary", task, "model"]),
            s("tb-model"),
            "{task}"
        );
    }
    assert_eq!(h.value(&["auxiliary", "web_extract", "base_url"]), s(""));
    assert_eq!(
        h.value(&["auxiliary", "approval", "model"]),
        None,
        "already ours"
    );
    assert_eq!(h.value(&["auxiliary", "vision", "provider"]), s("auto"));
    assert!(
        out.contains("left as is: auxiliary.vision")
            && out.contains("left as is: fallback_model")
            && out.contains("openrouter"),
        "{out}"
    );
    h.restores(original);
}

#[test]
fn crush_small_model_goes_through_tokenbuddy() {
    let h = Agent::new("crush");
    let original = "{\n  \"models\": {\n    \"small\": {\"model\": \"gpt-4o-mini\", \"provider\": \"openai\"}\n  }\n}\n";
    h.home.write(".config/crush/crush.json", original);
    h.configure(&[]);
    assert_eq!(h.value(&["models", "small", "provider"]), s("tokenbuddy"));
    h.restores(original);
}

#[tokio::test]
async fn the_api_lists_what_it_left_with_the_reason() {
    let h = Agent::new("opencode");
    h.home.write(
        ".config/opencode/opencode.json",
        "{\n  \"agent\": {\"plan\": {\"model\": \"anthropic/claude-opus-4-1\"}}\n}\n",
    );
    let served = h.home.serve(&["--demo"], &[]);
    let done: Value = reqwest::Client::new()
        .post(served.url("/api/agents/opencode/configure"))
        .bearer_auth(&served.token)
        .json(&serde_json::json!({"model": "tb-model"}))
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    let left = done["left"].as_array().expect("left");
    assert_eq!(left.len(), 1, "{done}");
    assert_eq!(left[0]["key"], "agent.plan.model", "{done}");
    assert!(
        left[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("do not go through TokenBuddy")),
        "{done}"
    );
    assert_eq!(h.value(&["small_model"]), s("tokenbuddy/tb-model"));
}
