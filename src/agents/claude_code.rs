//! Claude Code: `$CLAUDE_CONFIG_DIR/settings.json` (default `~/.claude`),
//! strict JSON. We own `env.ANTHROPIC_BASE_URL` (no `/v1`: Claude Code adds
//! it), `env.ANTHROPIC_AUTH_TOKEN` (sent as a bearer token), the model
//! variables, and `env.ANTHROPIC_API_KEY` set to "" when a key is set in the
//! file or the shell — a non-empty key wins over the token. Every request
//! goes to the one base URL, so side models cannot bypass us, but a model id
//! meant for the old provider would reach sellers that do not serve it: the
//! main and haiku (background) models are always ours, and the sonnet/opus
//! aliases, the old small-fast model and the subagent model are set to ours
//! wherever the file or the shell sets them (the file's `env` wins).

use std::path::{Path, PathBuf};

use super::doc::json::Dialect;
use super::doc::ConfigDoc;
use super::spec::{
    self, set_at, string_at, AgentSpec, Context, Edit, Endpoint, Env, Format, Plan, GUIDE_ONLY,
};

fn config_dir(home: &Path, env: Env<'_>) -> PathBuf {
    env("CLAUDE_CONFIG_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".claude"))
}

fn config_path(home: &Path, env: Env<'_>) -> Option<PathBuf> {
    Some(config_dir(home, env).join("settings.json"))
}

/// Model variables that are ours where the user sets them: the aliases
/// subagents, plan mode and `/model` resolve through, the old name of the
/// background model, and the subagents' own.
const SIDE_MODELS: &[&str] = &[
    "ANTHROPIC_DEFAULT_SONNET_MODEL",
    "ANTHROPIC_DEFAULT_OPUS_MODEL",
    "ANTHROPIC_SMALL_FAST_MODEL",
    "CLAUDE_CODE_SUBAGENT_MODEL",
];

/// Whether `var` is set to something in the file's `env` or the shell.
fn set_anywhere(cx: &Context<'_>, var: &str) -> bool {
    set_at(cx.doc, &["env", var]).is_some() || (cx.env)(var).is_some_and(|v| !v.is_empty())
}

fn edits(cx: &Context<'_>) -> Result<Plan, String> {
    let t = &cx.target;
    let mut edits = vec![
        Edit::new(&["env", "ANTHROPIC_BASE_URL"], t.url),
        Edit::new(&["env", "ANTHROPIC_AUTH_TOKEN"], t.token),
        Edit::new(&["env", "ANTHROPIC_MODEL"], t.model),
        // Background tasks use the small model: keep them on a served one.
        Edit::new(&["env", "ANTHROPIC_DEFAULT_HAIKU_MODEL"], t.model),
    ];
    for var in SIDE_MODELS {
        if set_anywhere(cx, var) {
            edits.push(Edit::new(&["env", var], t.model));
        }
    }
    if set_anywhere(cx, "ANTHROPIC_API_KEY") {
        edits.push(Edit::new(&["env", "ANTHROPIC_API_KEY"], ""));
    }
    Ok(edits.into())
}

fn endpoint(doc: &dyn ConfigDoc) -> Option<Endpoint> {
    let key = string_at(doc, &["env", "ANTHROPIC_API_KEY"]).filter(|k| !k.is_empty());
    Some(Endpoint {
        url: string_at(doc, &["env", "ANTHROPIC_BASE_URL"])?,
        token: key.or_else(|| string_at(doc, &["env", "ANTHROPIC_AUTH_TOKEN"])),
    })
}

fn current_model(doc: &dyn ConfigDoc) -> Option<String> {
    string_at(doc, &["env", "ANTHROPIC_MODEL"])
}

fn policy_files(env: Env<'_>) -> Vec<PathBuf> {
    vec![spec::system_path(
        env,
        "/Library/Application Support/ClaudeCode/managed-settings.json",
        "/etc/claude-code/managed-settings.json",
        "ClaudeCode/managed-settings.json",
    )]
}

/// Claude Code's entry in the table of agents.
pub const SPEC: AgentSpec = AgentSpec {
    id: "claude-code",
    name: "Claude Code",
    binaries: &["claude"],
    install_dirs: &[".local/bin", ".claude/local", ".npm-global/bin", ".bun/bin"],
    config_path,
    format: Format::Json(Dialect::Json),
    edits,
    endpoint,
    current_model,
    policy_files,
    ..GUIDE_ONLY
};
