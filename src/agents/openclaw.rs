//! OpenClaw: `openclaw.json` (JSON5, strict schema) in its state dir. We own
//! `models.providers.tokenbuddy` (only keys the schema accepts) and the
//! default model — a string, or `.primary` of the `{primary, fallbacks}`
//! form so fallbacks survive — plus our entry in the `agents.defaults.models`
//! allowlist when that map exists. A target inside an `$include` is refused.
//! Fallbacks to other providers are left: OpenClaw tries them only when
//! TokenBuddy fails (and TokenBuddy already fails over between sellers), so
//! they are the user's safety net; an image model is left because our
//! provider entry declares text input only. Both are named in the result,
//! as are per-agent model overrides.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::doc::json::Dialect;
use super::doc::ConfigDoc;
use super::spec::{
    string_at, AgentSpec, Context, Edit, Endpoint, Env, Format, Left, Plan, GUIDE_ONLY,
};
use crate::proxy::client_agent;

const LEGACY_DIRS: &[&str] = &[".clawdbot", ".moldbot", ".moltbot"];
const FILE_NAMES: &[&str] = &[
    "openclaw.json",
    "clawdbot.json",
    "moldbot.json",
    "moltbot.json",
];

fn var(env: Env<'_>, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| env(n).filter(|v| !v.is_empty()))
}

fn state_dir(home: &Path, env: Env<'_>) -> PathBuf {
    if let Some(dir) = var(env, &["OPENCLAW_STATE_DIR", "CLAWDBOT_STATE_DIR"]) {
        return PathBuf::from(dir);
    }
    let home = var(env, &["OPENCLAW_HOME"]).map_or_else(|| home.to_path_buf(), PathBuf::from);
    let main = home.join(".openclaw");
    if main.is_dir() {
        return main;
    }
    LEGACY_DIRS
        .iter()
        .map(|d| home.join(d))
        .find(|d| d.is_dir())
        .unwrap_or(main)
}

fn config_path(home: &Path, env: Env<'_>) -> Option<PathBuf> {
    if let Some(file) = var(env, &["OPENCLAW_CONFIG_PATH", "CLAWDBOT_CONFIG_PATH"]) {
        return Some(PathBuf::from(file));
    }
    let dir = state_dir(home, env);
    let found = FILE_NAMES.iter().map(|n| dir.join(n)).find(|p| p.exists());
    Some(found.unwrap_or_else(|| dir.join(FILE_NAMES[0])))
}

/// The object paths our keys live under; an `$include` in any of them means
/// the real values are in another file.
const ANCESTORS: &[&[&str]] = &[
    &[],
    &["models"],
    &["models", "providers"],
    &["agents"],
    &["agents", "defaults"],
    &["agents", "defaults", "model"],
    &["agents", "defaults", "models"],
];

/// A model reference that does not go through TokenBuddy.
fn elsewhere(reference: &str) -> bool {
    !reference.starts_with("tokenbuddy/")
}

/// The references of a `"provider/model"` or `{primary, fallbacks}` value.
fn references(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Object(m) => m
            .get("primary")
            .into_iter()
            .chain(
                m.get("fallbacks")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten(),
            )
            .filter_map(|r| r.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// The model settings configure leaves, and why.
fn side_models(doc: &dyn ConfigDoc) -> Vec<Left> {
    let mut left = Vec::new();
    let defaults = ["agents", "defaults"];
    let fallbacks: Vec<String> = doc
        .value(&[defaults[0], defaults[1], "model", "fallbacks"])
        .as_ref()
        .and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .filter_map(|r| r.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let fallbacks: Vec<String> = fallbacks.into_iter().filter(|r| elsewhere(r)).collect();
    if !fallbacks.is_empty() {
        left.push(Left::new(
            "agents.defaults.model.fallbacks",
            format!(
                "{}: left as is — OpenClaw tries them only when TokenBuddy fails (TokenBuddy already fails over between its sellers), and those requests do not go through TokenBuddy",
                fallbacks.join(", ")
            ),
        ));
    }
    if let Some(image) = doc.value(&[defaults[0], defaults[1], "imageModel"]) {
        let refs: Vec<String> = references(&image)
            .into_iter()
            .filter(|r| elsewhere(r))
            .collect();
        if !refs.is_empty() {
            left.push(Left::new(
                "agents.defaults.imageModel",
                format!(
                    "{}: left as is — TokenBuddy's provider entry declares text input only, so image requests keep going there, not through TokenBuddy",
                    refs.join(", ")
                ),
            ));
        }
    }
    if let Some(Value::Array(list)) = doc.value(&["agents", "list"]) {
        for agent in &list {
            let id = agent.get("id").and_then(Value::as_str).unwrap_or("?");
            let refs: Vec<String> = agent
                .get("model")
                .map(references)
                .unwrap_or_default()
                .into_iter()
                .filter(|r| elsewhere(r))
                .collect();
            if !refs.is_empty() {
                left.push(Left::new(
                    format!("agents.list[id={id}].model"),
                    format!(
                        "agent `{id}` pins {}: left as is — its requests do not go through TokenBuddy",
                        refs.join(", ")
                    ),
                ));
            }
        }
    }
    left
}

fn edits(cx: &Context<'_>) -> Result<Plan, String> {
    Ok(Plan {
        edits: key_edits(cx)?,
        left: side_models(cx.doc),
    })
}

fn key_edits(cx: &Context<'_>) -> Result<Vec<Edit>, String> {
    for path in ANCESTORS {
        if let Some(include) = cx.doc.value(path).and_then(|v| v.get("$include").cloned()) {
            let at = if path.is_empty() {
                "the top level".to_string()
            } else {
                format!("`{}`", path.join("."))
            };
            return Err(format!(
                "{at} comes from an $include ({include}); TokenBuddy does not edit included files — move it inline or add the tokenbuddy provider there"
            ));
        }
    }
    let t = &cx.target;
    let reference = format!("tokenbuddy/{}", t.model);
    let provider = json!({
        "baseUrl": format!("{}/v1", t.url),
        "apiKey": t.token,
        "api": "openai-completions",
        // OpenClaw sends the plain OpenAI JS SDK's headers, the same as any
        // script using that SDK: this marker is how the request log names it.
        "headers": {(client_agent::MARKER): "openclaw"},
        "models": [{"id": t.model, "name": t.model, "input": ["text"]}],
    });
    let mut edits = vec![Edit::new(&["models", "providers", "tokenbuddy"], provider)];
    match cx.doc.value(&["agents", "defaults", "model"]) {
        None | Some(Value::String(_)) => {
            edits.push(Edit::new(&["agents", "defaults", "model"], reference.as_str()))
        }
        Some(Value::Object(_)) => {
            edits.push(Edit::new(&["agents", "defaults", "model", "primary"], reference.as_str()))
        }
        Some(other) => {
            return Err(format!(
                "`agents.defaults.model` is {other}, not a model reference or {{primary, fallbacks}}; not touching it"
            ))
        }
    }
    if cx
        .doc
        .value(&["agents", "defaults", "models"])
        .is_some_and(|v| v.is_object())
    {
        edits.push(Edit::new(
            &["agents", "defaults", "models", reference.as_str()],
            json!({}),
        ));
    }
    let allow = cx
        .doc
        .value(&["agents", "defaults", "modelPolicy", "allow"]);
    if allow
        .as_ref()
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty())
    {
        return Err(format!(
            "`agents.defaults.modelPolicy.allow` restricts the models OpenClaw may use: add \"{reference}\" (or \"tokenbuddy/*\") to it, then configure again"
        ));
    }
    Ok(edits)
}

fn primary(doc: &dyn ConfigDoc) -> Option<String> {
    string_at(doc, &["agents", "defaults", "model"])
        .or_else(|| string_at(doc, &["agents", "defaults", "model", "primary"]))
}

fn endpoint(doc: &dyn ConfigDoc) -> Option<Endpoint> {
    let reference = primary(doc)?;
    let (provider, _) = reference.split_once('/')?;
    let base = ["models", "providers", provider];
    Some(Endpoint {
        url: string_at(doc, &[base[0], base[1], base[2], "baseUrl"])?,
        token: string_at(doc, &[base[0], base[1], base[2], "apiKey"]),
    })
}

fn current_model(doc: &dyn ConfigDoc) -> Option<String> {
    let reference = primary(doc)?;
    Some(
        reference
            .split_once('/')
            .map_or(reference.as_str(), |(_, m)| m)
            .to_string(),
    )
}

/// OpenClaw's entry in the table of agents.
pub const SPEC: AgentSpec = AgentSpec {
    id: "openclaw",
    name: "OpenClaw",
    binaries: &["openclaw"],
    install_dirs: &[".local/bin", ".npm-global/bin", ".bun/bin"],
    config_path,
    format: Format::Json(Dialect::Json5),
    edits,
    endpoint,
    current_model,
    ..GUIDE_ONLY
};
