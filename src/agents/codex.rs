//! Codex CLI: `$CODEX_HOME/config.toml` (default `~/.codex`). We own the root
//! `model_provider` and `model` and the `[model_providers.tokenbuddy]` table
//! (Responses wire API — Codex refuses `chat` — with our token as a bearer
//! token). `auth.json` and profile files are never touched.

use std::path::{Path, PathBuf};

use super::doc::ConfigDoc;
use super::spec::{string_at, AgentSpec, Context, Edit, Endpoint, Env, Format, Plan, GUIDE_ONLY};

fn config_path(home: &Path, env: Env<'_>) -> Option<PathBuf> {
    let dir = env("CODEX_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".codex"));
    Some(dir.join("config.toml"))
}

fn edits(cx: &Context<'_>) -> Result<Plan, String> {
    key_edits(cx).map(Plan::from)
}

fn key_edits(cx: &Context<'_>) -> Result<Vec<Edit>, String> {
    let t = &cx.target;
    Ok(vec![
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
    ])
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
