//! Hermes Agent: `config.yaml` in `$HERMES_HOME` (default `~/.hermes`, or the
//! active profile's directory). We own the keys of the top-level `model`
//! mapping that select a custom OpenAI-compatible endpoint; a plain-string
//! `model:` becomes that mapping (restore puts the string back). A `model`
//! that is a list is refused.
//!
//! Side models: an `auxiliary.<task>` the file configures (with a provider,
//! model or base URL) that does not already use the main endpoint gets
//! `provider: main` and our model (and an empty `base_url`, which would
//! override the provider), so titles, compression, web extraction… go
//! through TokenBuddy — except `vision`, which needs a model that takes
//! images: it is left, like `fallback_model`/`fallback_providers` (used
//! only when TokenBuddy fails: the user's safety net) and a `delegation`
//! provider. Each one left is named in the result.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::doc::ConfigDoc;
use super::spec::{
    string_at, AgentSpec, Context, Edit, Endpoint, Env, Format, Left, Plan, GUIDE_ONLY,
};

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

/// Auxiliary tasks that need a model that takes images.
const IMAGE_TASKS: &[&str] = &["vision"];

/// Where a model slot (`{provider, model, base_url}`) sends its requests,
/// or `None` when that is the main endpoint (ours, once configured).
fn elsewhere(slot: &serde_json::Map<String, Value>) -> Option<String> {
    let base_url = slot
        .get("base_url")
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty());
    if let Some(url) = base_url {
        return Some(url.to_string());
    }
    match slot.get("provider").and_then(Value::as_str) {
        Some("main") => None,
        Some(p) if !p.is_empty() => Some(format!("provider {p}")),
        _ => Some("provider auto (Hermes picks one from your credentials)".into()),
    }
}

/// The auxiliary tasks routed to TokenBuddy, and the model slots left.
fn side_models(cx: &Context<'_>) -> (Vec<Edit>, Vec<Left>) {
    let (mut edits, mut left) = (Vec::new(), Vec::new());
    if let Some(Value::Object(tasks)) = cx.doc.value(&["auxiliary"]) {
        for (task, slot) in &tasks {
            let Value::Object(slot) = slot else { continue };
            let configured = ["provider", "model", "base_url"]
                .iter()
                .any(|k| slot.contains_key(*k));
            let Some(target) = elsewhere(slot).filter(|_| configured) else {
                continue;
            };
            if IMAGE_TASKS.contains(&task.as_str()) {
                left.push(Left::new(
                    format!("auxiliary.{task}"),
                    format!("uses {target}: left as is — image analysis needs a model that takes images, which TokenBuddy's sellers may not serve; its requests do not go through TokenBuddy"),
                ));
                continue;
            }
            edits.push(Edit::new(&["auxiliary", task, "provider"], "main"));
            edits.push(Edit::new(&["auxiliary", task, "model"], cx.target.model));
            if slot
                .get("base_url")
                .and_then(Value::as_str)
                .is_some_and(|u| !u.is_empty())
            {
                edits.push(Edit::new(&["auxiliary", task, "base_url"], ""));
            }
        }
    }
    if let Some(Value::Object(slot)) = cx.doc.value(&["fallback_model"]) {
        if let Some(target) = elsewhere(&slot).filter(|_| slot.contains_key("provider")) {
            left.push(Left::new(
                "fallback_model",
                format!("uses {target}: left as is — Hermes uses it only when TokenBuddy fails, and requests for it do not go through TokenBuddy"),
            ));
        }
    }
    if cx
        .doc
        .value(&["fallback_providers"])
        .as_ref()
        .and_then(Value::as_array)
        .is_some_and(|l| !l.is_empty())
    {
        left.push(Left::new(
            "fallback_providers",
            "left as is — Hermes uses them only when TokenBuddy fails, and those requests do not go through TokenBuddy",
        ));
    }
    if let Some(Value::Object(slot)) = cx.doc.value(&["delegation"]) {
        let routed = ["provider", "base_url"].iter().any(|k| {
            slot.get(*k)
                .and_then(Value::as_str)
                .is_some_and(|v| !v.is_empty())
        });
        if let Some(target) = elsewhere(&slot).filter(|_| routed) {
            left.push(Left::new(
                "delegation",
                format!("subagents use {target}: left as is — their requests do not go through TokenBuddy"),
            ));
        }
    }
    (edits, left)
}

fn edits(cx: &Context<'_>) -> Result<Plan, String> {
    let mut edits = key_edits(cx)?;
    let (side, left) = side_models(cx);
    edits.extend(side);
    Ok(Plan { edits, left })
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
