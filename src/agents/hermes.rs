//! Hermes Agent: `config.yaml` in `$HERMES_HOME` (default `~/.hermes`, or the
//! active profile's directory). We own the keys of the top-level `model`
//! mapping that select a custom OpenAI-compatible endpoint; a plain-string
//! `model:` becomes that mapping (restore puts the string back). A `model`
//! that is a list is refused.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::doc::ConfigDoc;
use super::spec::{string_at, AgentSpec, Context, Edit, Endpoint, Env, Format, Plan, GUIDE_ONLY};

fn root(home: &Path, env: Env<'_>) -> PathBuf {
    if let Some(dir) = env("HERMES_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    if cfg!(windows) {
        if let Some(local) = env("LOCALAPPDATA") {
            return Path::new(&local).join("hermes");
        }
    }
    home.join(".hermes")
}

fn config_path(home: &Path, env: Env<'_>) -> Option<PathBuf> {
    let root = root(home, env);
    // A sticky profile moves the config: `<root>/profiles/<name>/`.
    let profile = std::fs::read_to_string(root.join("active_profile"))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && s != "default" && !s.contains(['/', '\\']) && s != "..");
    Some(match profile {
        Some(name) => root.join("profiles").join(name).join("config.yaml"),
        None => root.join("config.yaml"),
    })
}

fn edits(cx: &Context<'_>) -> Result<Plan, String> {
    key_edits(cx).map(Plan::from)
}

fn key_edits(cx: &Context<'_>) -> Result<Vec<Edit>, String> {
    let t = &cx.target;
    let base_url = format!("{}/v1", t.url);
    match cx.doc.value(&["model"]) {
        None | Some(Value::Null) | Some(Value::String(_)) => Ok(vec![Edit::new(
            &["model"],
            json!({
                "default": t.model,
                "provider": "custom",
                "base_url": base_url,
                "api_key": t.token,
                "api_mode": "chat_completions",
            }),
        )]),
        Some(Value::Object(map)) => {
            // `model:` is an accepted alias of `default:`; edit the one in use.
            let id = if !map.contains_key("default") && map.contains_key("model") {
                "model"
            } else {
                "default"
            };
            Ok(vec![
                Edit::new(&["model", id], t.model),
                Edit::new(&["model", "provider"], "custom"),
                Edit::new(&["model", "base_url"], base_url),
                Edit::new(&["model", "api_key"], t.token),
                Edit::new(&["model", "api_mode"], "chat_completions"),
            ])
        }
        Some(other) => Err(format!(
            "`model` is {}, not a model name or mapping; not touching it",
            if other.is_array() {
                "a list"
            } else {
                "an unexpected value"
            }
        )),
    }
}

fn endpoint(doc: &dyn ConfigDoc) -> Option<Endpoint> {
    if string_at(doc, &["model", "provider"]).as_deref() != Some("custom") {
        return None;
    }
    Some(Endpoint {
        url: string_at(doc, &["model", "base_url"])?,
        token: string_at(doc, &["model", "api_key"]),
    })
}

fn current_model(doc: &dyn ConfigDoc) -> Option<String> {
    string_at(doc, &["model"])
        .or_else(|| string_at(doc, &["model", "default"]))
        .or_else(|| string_at(doc, &["model", "model"]))
}

/// Hermes' entry in the table of agents.
pub const SPEC: AgentSpec = AgentSpec {
    id: "hermes",
    name: "Hermes Agent",
    binaries: &["hermes"],
    install_dirs: &[".local/bin", ".hermes/hermes-agent/venv/bin"],
    config_path,
    format: Format::Yaml,
    edits,
    endpoint,
    current_model,
    ..GUIDE_ONLY
};
