//! Qwen Code: `~/.qwen/settings.json` (JSON with comments). We own one entry
//! of `modelProviders.openai` (the one whose `envKey` is ours, created with
//! the list when there is none), the `env.TOKENBUDDY_API_KEY` it reads the
//! token from, `model.name`, the selected auth type, and `fastModel` (tool
//! summaries and prompt suggestions) when the file sets one. Qwen Code takes
//! the first entry with the model's id: when that is one of the user's, its
//! `baseUrl` and `envKey` are pointed at us instead (restore puts them back).

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::doc::json::Dialect;
use super::doc::ConfigDoc;
use super::spec::{
    self, set_at, string_at, AgentSpec, Context, Edit, Endpoint, Env, Format, Plan, GUIDE_ONLY,
};

/// The variable our provider entry reads its key from.
const KEY_VAR: &str = "TOKENBUDDY_API_KEY";
/// Selects our entry in `modelProviders.openai`.
const OURS: &str = "[envKey=TOKENBUDDY_API_KEY]";

fn config_path(home: &Path, env: Env<'_>) -> Option<PathBuf> {
    // `QWEN_HOME` moves the whole `~/.qwen` folder (Storage.getGlobalQwenDir).
    let dir = env("QWEN_HOME")
        .filter(|v| !v.is_empty())
        .map_or_else(|| home.join(".qwen"), PathBuf::from);
    Some(dir.join("settings.json"))
}

/// The settings format Qwen Code writes (`$version`), as of 0.24.
const SETTINGS_VERSION: u64 = 4;

fn edits(cx: &Context<'_>) -> Result<Plan, String> {
    let t = &cx.target;
    let base_url = format!("{}/v1", t.url);
    let list = cx.doc.value(&["modelProviders", "openai"]);
    let first_for_model = list.as_ref().and_then(Value::as_array).and_then(|l| {
        l.iter()
            .find(|e| e.get("id").and_then(Value::as_str) == Some(t.model))
    });
    let theirs =
        first_for_model.is_some_and(|e| e.get("envKey").and_then(Value::as_str) != Some(KEY_VAR));
    let mut edits = Vec::new();
    if spec::creating(cx.doc) {
        // Qwen Code stamps (and migrates) a settings file without a version;
        // only a file we create is known to be in the current format.
        edits.push(Edit::new(&["$version"], SETTINGS_VERSION));
    }
    edits.extend(if theirs {
        // Qwen Code would pick the user's entry for this id over ours.
        let select = format!("[id={}]", t.model);
        vec![
            Edit::new(&["modelProviders", "openai", &select, "baseUrl"], base_url),
            Edit::new(&["modelProviders", "openai", &select, "envKey"], KEY_VAR),
        ]
    } else {
        let entry = json!({
            "id": t.model,
            "name": format!("{} (TokenBuddy)", t.model),
            "baseUrl": base_url,
            "envKey": KEY_VAR,
        });
        vec![Edit::new(&["modelProviders", "openai", OURS], entry)]
    });
    edits.extend([
        Edit::new(&["env", KEY_VAR], t.token),
        Edit::new(&["model", "name"], t.model),
        Edit::new(&["security", "auth", "selectedType"], "openai"),
    ]);
    // Tool summaries and prompt suggestions; a no-op while unset.
    if set_at(cx.doc, &["fastModel"]).is_some() {
        edits.push(Edit::new(&["fastModel"], t.model));
    }
    Ok(edits.into())
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
