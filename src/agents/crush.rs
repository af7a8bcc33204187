//! Crush: `$XDG_CONFIG_HOME/crush/crush.json` (JSON). We own
//! `providers.tokenbuddy` (OpenAI-compatible) and the `models.large` /
//! `models.small` selections.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::doc::json::Dialect;
use super::doc::ConfigDoc;
use super::spec::{string_at, AgentSpec, Context, Edit, Endpoint, Env, Format, Plan, GUIDE_ONLY};

fn config_path(home: &Path, env: Env<'_>) -> Option<PathBuf> {
    let base = env("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map_or_else(|| home.join(".config"), PathBuf::from);
    Some(base.join("crush").join("crush.json"))
}

fn edits(cx: &Context<'_>) -> Result<Plan, String> {
    let t = &cx.target;
    let provider = json!({
        "type": "openai-compat",
        "base_url": format!("{}/v1", t.url),
        "api_key": t.token,
        "models": [{"id": t.model, "name": t.model, "context_window": 131072, "default_max_tokens": 8192}],
    });
    let pick = json!({"model": t.model, "provider": "tokenbuddy"});
    Ok(vec![
        Edit::new(&["providers", "tokenbuddy"], provider),
        Edit::new(&["models", "large"], pick.clone()),
        Edit::new(&["models", "small"], pick),
    ]
    .into())
}

fn endpoint(doc: &dyn ConfigDoc) -> Option<Endpoint> {
    let provider = string_at(doc, &["models", "large", "provider"])?;
    Some(Endpoint {
        url: string_at(doc, &["providers", provider.as_str(), "base_url"])?,
        token: string_at(doc, &["providers", provider.as_str(), "api_key"]),
    })
}

fn current_model(doc: &dyn ConfigDoc) -> Option<String> {
    string_at(doc, &["models", "large", "model"])
}

/// Crush's entry in the table of agents.
pub const SPEC: AgentSpec = AgentSpec {
    id: "crush",
    name: "Crush",
    binaries: &["crush"],
    install_dirs: &[".local/bin", ".npm-global/bin", "go/bin"],
    config_path,
    format: Format::Json(Dialect::Json),
    edits,
    endpoint,
    current_model,
    ..GUIDE_ONLY
};
