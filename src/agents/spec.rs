//! What TokenBuddy needs to know of one agent: data and two small hooks,
//! consumed by the generic patcher. Adding an agent is one file and one line
//! in `AGENTS`.

use std::path::{Path, PathBuf};

/// The config file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// TOML, edited with `toml_edit`.
    Toml,
}

/// Where to point an agent.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// `http://127.0.0.1:<port>`.
    pub url: &'a str,
    /// The access token.
    pub token: &'a str,
    /// The model the agent should ask for.
    pub model: &'a str,
}

/// One key we own and the string it gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// Key path, outermost first.
    pub key: Vec<String>,
    /// The string value.
    pub value: String,
}

impl Edit {
    /// An edit of `key` to `value`.
    pub fn new(key: &[&str], value: &str) -> Edit {
        Edit {
            key: key.iter().map(|k| k.to_string()).collect(),
            value: value.to_string(),
        }
    }
}

/// Looks up an environment variable (injected, so tests use their own).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// One supported agent.
#[derive(Debug, Clone, Copy)]
pub struct AgentSpec {
    /// Stable id (`codex`), used by the CLI and the API.
    pub id: &'static str,
    /// Display name.
    pub name: &'static str,
    /// Config format.
    pub format: Format,
    /// The config file, from the home directory and the environment
    /// (each tool's own overrides, such as `CODEX_HOME`).
    pub config_path: fn(home: &Path, env: Env<'_>) -> PathBuf,
    /// The keys we own, set to point the agent at `target`.
    pub edits: fn(target: &Target<'_>) -> Vec<Edit>,
}

/// Every supported agent.
pub const AGENTS: &[AgentSpec] = &[super::codex::SPEC];

/// The agent with this id.
pub fn find(id: &str) -> Option<&'static AgentSpec> {
    AGENTS.iter().find(|a| a.id == id)
}
