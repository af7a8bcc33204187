//! opencode: `opencode.json[c]` in `$XDG_CONFIG_HOME/opencode` (or the file
//! `OPENCODE_CONFIG` names), JSONC with a strict schema. We own
//! `provider.tokenbuddy` (OpenAI-compatible package, base URL and key in
//! `options`), the top-level `model` and `small_model` (titles and
//! summaries: without it they go to the old provider). A model pinned by an
//! agent or mode of the user's (`agent.<name>.model`) is theirs: it is left,
//! and named in the result.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::doc::json::Dialect;
use super::doc::ConfigDoc;
use super::spec::{
    self, string_at, AgentSpec, Context, Edit, Endpoint, Env, Format, Left, Plan, GUIDE_ONLY,
};

fn config_dir(home: &Path, env: Env<'_>) -> PathBuf {
    env("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map_or_else(|| home.join(".config"), PathBuf::from)
        .join("opencode")
}

fn config_path(home: &Path, env: Env<'_>) -> Option<PathBuf> {
    if let Some(file) = env("OPENCODE_CONFIG").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(file));
    }
    let dir = config_dir(home, env);
    let found = ["opencode.jsonc", "opencode.json", "config.json"]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.exists());
    Some(found.unwrap_or_else(|| dir.join("opencode.json")))
}

/// Agents and modes pinned to a model of another provider.
fn pinned_elsewhere(doc: &dyn ConfigDoc) -> Vec<Left> {
    let mut left = Vec::new();
    for section in ["agent", "mode"] {
        let Some(serde_json::Value::Object(entries)) = doc.value(&[section]) else {
            continue;
        };
        for (name, entry) in entries {
            let Some(model) = entry.get("model").and_then(|m| m.as_str()) else {
                continue;
            };
            if model.starts_with("tokenbuddy/") {
                continue;
            }
            left.push(Left::new(
                format!("{section}.{name}.model"),
                format!(
                    "`{name}` is pinned to {model}: left as is — its requests do not go through TokenBuddy (set it to tokenbuddy/<model> to route it)"
                ),
            ));
        }
    }
    left
}

/// The schema opencode stamps into its config files.
const SCHEMA: &str = "https://opencode.ai/config.json";

fn edits(cx: &Context<'_>) -> Result<Plan, String> {
    let t = &cx.target;
    let provider = json!({
        "npm": "@ai-sdk/openai-compatible",
        "name": "TokenBuddy",
        "options": {"baseURL": format!("{}/v1", t.url), "apiKey": t.token},
        "models": {t.model: {"name": t.model}},
    });
    let ours = format!("tokenbuddy/{}", t.model);
    let mut edits = Vec::new();
    if spec::creating(cx.doc) {
        // opencode writes this into any config it finds without one.
        edits.push(Edit::new(&["$schema"], SCHEMA));
    }
    edits.extend([
        Edit::new(&["provider", "tokenbuddy"], provider),
        Edit::new(&["model"], ours.as_str()),
        // Titles and summaries: opencode's small model, else they bypass us.
        Edit::new(&["small_model"], ours.as_str()),
    ]);
    Ok(Plan {
        edits,
        left: pinned_elsewhere(cx.doc),
    })
}

fn endpoint(doc: &dyn ConfigDoc) -> Option<Endpoint> {
    let model = string_at(doc, &["model"])?;
    let (provider, _) = model.split_once('/')?;
    Some(Endpoint {
        url: string_at(doc, &["provider", provider, "options", "baseURL"])?,
        token: string_at(doc, &["provider", provider, "options", "apiKey"]),
    })
}

fn current_model(doc: &dyn ConfigDoc) -> Option<String> {
    let model = string_at(doc, &["model"])?;
    Some(
        model
            .split_once('/')
            .map_or(model.as_str(), |(_, m)| m)
            .to_string(),
    )
}

fn policy_files(env: Env<'_>) -> Vec<PathBuf> {
    ["opencode.json", "opencode.jsonc"]
        .iter()
        .map(|n| {
            spec::system_path(
                env,
                &format!("/Library/Application Support/opencode/{n}"),
                &format!("/etc/opencode/{n}"),
                &format!("opencode/{n}"),
            )
        })
        .collect()
}

/// opencode's entry in the table of agents.
pub const SPEC: AgentSpec = AgentSpec {
    id: "opencode",
    name: "opencode",
    binaries: &["opencode"],
    install_dirs: &[".opencode/bin", ".local/bin", ".npm-global/bin", ".bun/bin"],
    config_path,
    format: Format::Json(Dialect::Jsonc),
    edits,
    endpoint,
    current_model,
    policy_files,
    ..GUIDE_ONLY
};
