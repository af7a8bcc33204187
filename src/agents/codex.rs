//! Codex CLI: `$CODEX_HOME/config.toml` (default `~/.codex`). We own the root
//! `model_provider` and `model` and the `[model_providers.tokenbuddy]` table
//! (Responses wire API — Codex refuses `chat` — with our token as a bearer
//! token). The profile the file selects (`profile = "x"`) overrides the root
//! keys, so its `model_provider` and `model` are ours too. Profiles that are
//! only used with `--profile`, and the separate `<name>.config.toml` profile
//! files, are left (and named in the result); `auth.json` is never touched.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::protocol::Protocol;

use super::doc::toml::TomlDoc;
use super::doc::ConfigDoc;
use super::spec::{
    string_at, AgentSpec, Context, Edit, Endpoint, Env, Format, Left, Plan, GUIDE_ONLY,
};

fn config_path(home: &Path, env: Env<'_>) -> Option<PathBuf> {
    let dir = env("CODEX_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".codex"));
    Some(dir.join("config.toml"))
}

/// `[profiles.*]` tables the file does not select, and `<name>.config.toml`
/// files beside it, that send Codex to another provider.
fn other_profiles(cx: &Context<'_>, selected: Option<&str>) -> Vec<Left> {
    let mut left = Vec::new();
    if let Some(Value::Object(profiles)) = cx.doc.value(&["profiles"]) {
        for (name, profile) in profiles {
            let provider = profile.get("model_provider").and_then(Value::as_str);
            match provider {
                Some(p) if p != "tokenbuddy" && Some(name.as_str()) != selected => {
                    left.push(Left::new(
                        format!("profiles.{name}.model_provider"),
                        format!(
                            "used only with `codex --profile {name}`, which sends its requests to {p}, not through TokenBuddy"
                        ),
                    ))
                }
                _ => {}
            }
        }
    }
    let dir = cx.path.parent().unwrap_or_else(|| Path::new("."));
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.ends_with(".config.toml"))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    for file in files {
        let provider = std::fs::read_to_string(&file)
            .ok()
            .and_then(|text| TomlDoc::parse(&text).ok())
            .and_then(|doc| string_at(&doc, &["model_provider"]));
        if let Some(p) = provider.filter(|p| p != "tokenbuddy") {
            left.push(Left::new(
                file.display().to_string(),
                format!(
                    "a profile file with model_provider = \"{p}\": TokenBuddy edits only config.toml, so requests under this profile do not go through TokenBuddy"
                ),
            ));
        }
    }
    left
}

fn edits(cx: &Context<'_>) -> Result<Plan, String> {
    let t = &cx.target;
    let mut edits = vec![
        Edit::new(&["model_provider"], "tokenbuddy"),
        Edit::new(&["model"], t.model),
        Edit::new(&["model_providers", "tokenbuddy", "name"], "TokenBuddy"),
        Edit::new(
            &["model_providers", "tokenbuddy", "base_url"],
            format!("{}/v1", t.url),
        ),
        Edit::new(&["model_providers", "tokenbuddy", "wire_api"], "responses"),
        Edit::new(
            &["model_providers", "tokenbuddy", "experimental_bearer_token"],
            t.token,
        ),
    ];
    let mut left = Vec::new();
    if !t.native.is_empty() && !t.native.contains(&Protocol::OpenAiResponses) {
        // Codex offers the model its `web_search` tool, which only a
        // Responses seller runs; through translation to chat TokenBuddy
        // would refuse every request that carries it.
        edits.push(Edit::new(&["web_search"], "disabled"));
        left.push(Left::new(
            "web_search",
            format!(
                "set to \"disabled\": no seller serves {} over openai-responses, and the chat sellers that do cannot run Codex's web search (configure again once a Responses seller serves it)",
                t.model
            ),
        ));
    }
    // The selected profile's keys win over the root ones.
    let selected = string_at(cx.doc, &["profile"]);
    if let Some(name) = selected.as_deref() {
        if let Some(Value::Object(profile)) = cx.doc.value(&["profiles", name]) {
            if profile.contains_key("model_provider") {
                edits.push(Edit::new(
                    &["profiles", name, "model_provider"],
                    "tokenbuddy",
                ));
            }
            if profile.contains_key("model") {
                edits.push(Edit::new(&["profiles", name, "model"], t.model));
            }
        }
    }
    left.extend(other_profiles(cx, selected.as_deref()));
    Ok(Plan { edits, left })
}

fn endpoint(doc: &dyn ConfigDoc) -> Option<Endpoint> {
    let provider = string_at(doc, &["model_provider"])?;
    let table = ["model_providers", provider.as_str()];
    Some(Endpoint {
        url: string_at(doc, &[table[0], table[1], "base_url"])?,
        token: string_at(doc, &[table[0], table[1], "experimental_bearer_token"]),
    })
}

fn current_model(doc: &dyn ConfigDoc) -> Option<String> {
    string_at(doc, &["model"])
}

/// Codex's entry in the table of agents.
pub const SPEC: AgentSpec = AgentSpec {
    id: "codex",
    name: "Codex CLI",
    binaries: &["codex"],
    install_dirs: &[".local/bin", ".npm-global/bin", ".bun/bin"],
    config_path,
    format: Format::Toml,
    edits,
    endpoint,
    current_model,
    ..GUIDE_ONLY
};
