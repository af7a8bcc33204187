//! Qwen Code: `~/.qwen/settings.json` (JSON with comments). We own one entry
//! of `modelProviders.openai` (the one whose `envKey` is ours), the
//! `env.TOKENBUDDY_API_KEY` it reads the token from, `model.name` and the
//! selected auth type.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::doc::json::Dialect;
use super::doc::ConfigDoc;
use super::spec::{self, string_at, AgentSpec, Context, Edit, Endpoint, Env, Format, GUIDE_ONLY};

/// The variable our provider entry reads its key from.
const KEY_VAR: &str = "TOKENBUDDY_API_KEY";
/// Selects our entry in `modelProviders.openai`.
const OURS: &str = "[envKey=TOKENBUDDY_API_KEY]";

fn config_path(home: &Path, _env: Env<'_>) -> Option<PathBuf> {
    Some(home.join(".qwen").join("settings.json"))
}

fn edits(cx: &Context<'_>) -> Result<Vec<Edit>, String> {
    let t = &cx.target;
    let entry = json!({
        "id": t.model,
        "name": format!("{} (TokenBuddy)", t.model),
        "baseUrl": format!("{}/v1", t.url),
        "envKey": KEY_VAR,
    });
    Ok(vec![
        Edit::new(&["modelProviders", "openai", OURS], entry),
        Edit::new(&["env", KEY_VAR], t.token),
        Edit::new(&["model", "name"], t.model),
        Edit::new(&["security", "auth", "selectedType"], "openai"),
    ])
}

fn endpoint(doc: &dyn ConfigDoc) -> Option<Endpoint> {
    if string_at(doc, &["security", "auth", "selectedType"]).as_deref() != Some("openai") {
        return None;
    }
    let model = string_at(doc, &["model", "name"])?;
    let select = format!("[id={model}]");
    let entry = doc.value(&["modelProviders", "openai", select.as_str()])?;
    let key = entry
        .get("envKey")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    Some(Endpoint {
        url: entry.get("baseUrl")?.as_str()?.to_string(),
        token: key.and_then(|k| string_at(doc, &["env", k.as_str()])),
    })
}

fn current_model(doc: &dyn ConfigDoc) -> Option<String> {
    string_at(doc, &["model", "name"])
}

fn policy_files(env: Env<'_>) -> Vec<PathBuf> {
    vec![spec::system_path(
        env,
        "/Library/Application Support/QwenCode/settings.json",
        "/etc/qwen-code/settings.json",
        "qwen-code/settings.json",
    )]
}

/// Qwen Code's entry in the table of agents.
pub const SPEC: AgentSpec = AgentSpec {
    id: "qwen-code",
    name: "Qwen Code",
    binaries: &["qwen"],
    install_dirs: &[".local/bin", ".npm-global/bin", ".bun/bin"],
    config_path,
    format: Format::Json(Dialect::Jsonc),
    edits,
    endpoint,
    current_model,
    policy_files,
    ..GUIDE_ONLY
};
