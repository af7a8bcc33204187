//! Codex CLI: `$CODEX_HOME/config.toml` (default `~/.codex`). We own the root
//! `model_provider` and `model` and the `[model_providers.tokenbuddy]` table
//! (Responses wire API — Codex refuses `chat` — with our token as a bearer
//! token). `auth.json` and profile files are never touched.

use std::path::{Path, PathBuf};

use super::spec::{AgentSpec, Edit, Env, Format, Target};

/// Where Codex reads its config: `CODEX_HOME`, else `~/.codex`.
fn config_path(home: &Path, env: Env<'_>) -> PathBuf {
    env("CODEX_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".codex"))
        .join("config.toml")
}

/// The keys pointing Codex at TokenBuddy.
fn edits(target: &Target<'_>) -> Vec<Edit> {
    vec![
        Edit::new(&["model_provider"], "tokenbuddy"),
        Edit::new(&["model"], target.model),
        Edit::new(&["model_providers", "tokenbuddy", "name"], "TokenBuddy"),
        Edit::new(
            &["model_providers", "tokenbuddy", "base_url"],
            &format!("{}/v1", target.url),
        ),
        Edit::new(&["model_providers", "tokenbuddy", "wire_api"], "responses"),
        Edit::new(
            &["model_providers", "tokenbuddy", "experimental_bearer_token"],
            target.token,
        ),
    ]
}

/// Codex's entry in the table of agents.
pub const SPEC: AgentSpec = AgentSpec {
    id: "codex",
    name: "Codex CLI",
    format: Format::Toml,
    config_path,
    edits,
};
