//! What TokenBuddy knows of one agent: data and a few small functions,
//! consumed by the generic patcher and detector. Adding an agent is one
//! module and one line in [`AGENTS`].

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::doc::json::Dialect;
use super::doc::{ConfigDoc, DocError};

/// The config file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// TOML, edited with `toml_edit`.
    Toml,
    /// JSON, JSONC or JSON5, edited by span.
    Json(Dialect),
    /// YAML, edited by span.
    Yaml,
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
    /// The protocols some seller serves that model in natively (the rest
    /// reach it only through translation).
    pub native: &'a [crate::protocol::Protocol],
}

/// One key we own and the value it gets.
#[derive(Debug, Clone, PartialEq)]
pub struct Edit {
    /// Key path, outermost first (`[field=value]` selects a list element).
    pub key: Vec<String>,
    /// The value.
    pub value: Value,
}

impl Edit {
    /// An edit of `key` to `value`.
    pub fn new(key: &[&str], value: impl Into<Value>) -> Edit {
        Edit {
            key: key.iter().map(|k| k.to_string()).collect(),
            value: value.into(),
        }
    }
}

/// A model setting of the agent that configure leaves as it is, and why: its
/// requests do not go through TokenBuddy (shown by the CLI and the API).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Left {
    /// Where (a dotted key, or a file).
    pub key: String,
    /// Why it is left, and what that means for its requests.
    pub reason: String,
}

impl Left {
    /// `key` left for `reason`.
    pub fn new(key: impl Into<String>, reason: impl Into<String>) -> Left {
        Left {
            key: key.into(),
            reason: reason.into(),
        }
    }
}

/// What configure does to an agent's file: the keys it sets, and the model
/// settings it leaves alone (with the reason).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// The keys we own and their values.
    pub edits: Vec<Edit>,
    /// Model settings left as they are.
    pub left: Vec<Left>,
}

impl From<Vec<Edit>> for Plan {
    fn from(edits: Vec<Edit>) -> Plan {
        Plan {
            edits,
            left: Vec::new(),
        }
    }
}

/// Looks up an environment variable (injected, so tests use their own).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// What an agent's edit function sees.
pub struct Context<'a> {
    /// Where to point it.
    pub target: Target<'a>,
    /// Its config as it is now (its side files' keys under their first
    /// step, see [`SideFile`]).
    pub doc: &'a dyn ConfigDoc,
    /// Where that config is (some agents keep more files beside it).
    pub path: &'a Path,
    /// The environment.
    pub env: Env<'a>,
}

/// Where an agent's config currently sends it, as far as TokenBuddy can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The base URL.
    pub url: String,
    /// The key it sends, when it is in the file.
    pub token: Option<String>,
}

/// Where the agent's files are, from the home directory and the environment.
pub type PathFn = fn(home: &Path, env: Env<'_>) -> Option<PathBuf>;

/// A second file an agent keeps beside its config that configure edits too
/// (Gemini CLI's `.env`, Claude Desktop's entry file). Its keys appear in the
/// agent's document under the first step [`side`]`(name)`, so the edits, the
/// journal, restore and the drift check treat the files as one document.
#[derive(Debug, Clone, Copy)]
pub struct SideFile {
    /// Its name, in the config file's folder.
    pub name: &'static str,
    /// Reads its text.
    pub parse: fn(&str) -> Result<Box<dyn ConfigDoc>, DocError>,
}

/// The first key step of side file `name` (`["@.env", "GEMINI_API_KEY"]`).
pub fn side(name: &str) -> String {
    super::doc::files::side_step(name)
}

/// One supported agent.
#[derive(Clone, Copy)]
pub struct AgentSpec {
    /// Stable id (`claude-code`), used by the CLI and the API.
    pub id: &'static str,
    /// Display name.
    pub name: &'static str,
    /// Executable names looked up on PATH.
    pub binaries: &'static [&'static str],
    /// Known install directories, relative to the home directory, that hold
    /// those executables when PATH does not (a GUI app's PATH is short).
    pub install_dirs: &'static [&'static str],
    /// App bundles or install folders that mean "installed" (absolute, or
    /// `~/…` relative to home).
    pub apps: &'static [&'static str],
    /// The config file TokenBuddy edits; `None` for guide-only agents.
    pub config_path: PathFn,
    /// Its format.
    pub format: Format,
    /// Files beside it that configure edits too, written before it and
    /// restored after it.
    pub side_files: &'static [SideFile],
    /// The keys we own, set to point the agent at the target (every model
    /// it uses, or a note for each one left); an `Err` refuses with a
    /// reason (nothing is written).
    pub edits: fn(&Context<'_>) -> Result<Plan, String>,
    /// Where the config sends the agent now.
    pub endpoint: fn(&dyn ConfigDoc) -> Option<Endpoint>,
    /// The model the config selects now.
    pub current_model: fn(&dyn ConfigDoc) -> Option<String>,
    /// Managed-settings files that override the user's file.
    pub policy_files: fn(env: Env<'_>) -> Vec<PathBuf>,
    /// How to set it up by hand, for agents TokenBuddy cannot (or should
    /// not) configure by editing a file, or whose file managed settings block.
    pub guide: Option<&'static str>,
}

impl std::fmt::Debug for AgentSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentSpec").field("id", &self.id).finish()
    }
}

fn no_path(_: &Path, _: Env<'_>) -> Option<PathBuf> {
    None
}

fn no_edits(_: &Context<'_>) -> Result<Plan, String> {
    Err("this agent is set up by hand; see its guide".into())
}

fn no_endpoint(_: &dyn ConfigDoc) -> Option<Endpoint> {
    None
}

fn no_model(_: &dyn ConfigDoc) -> Option<String> {
    None
}

fn no_policy(_: Env<'_>) -> Vec<PathBuf> {
    Vec::new()
}

/// The defaults of a guide-only entry: detection and a guide, no file edits.
pub const GUIDE_ONLY: AgentSpec = AgentSpec {
    id: "",
    name: "",
    binaries: &[],
    install_dirs: &[],
    apps: &[],
    config_path: no_path,
    format: Format::Json(Dialect::Json),
    side_files: &[],
    edits: no_edits,
    endpoint: no_endpoint,
    current_model: no_model,
    policy_files: no_policy,
    guide: None,
};

/// Whether TokenBuddy is about to create this config (the file is absent
/// or empty): agents that stamp a file they find without their marker
/// (opencode's `$schema`, Qwen Code's `$version`) get it from us instead,
/// so the file stays ours alone and restore can remove it again.
pub fn creating(doc: &dyn ConfigDoc) -> bool {
    doc.render().trim().is_empty()
}

/// A string at `path` in `doc`.
pub fn string_at(doc: &dyn ConfigDoc, path: &[&str]) -> Option<String> {
    doc.value(path)?.as_str().map(str::to_string)
}

/// A non-empty string at `path` in `doc`.
pub fn set_at(doc: &dyn ConfigDoc, path: &[&str]) -> Option<String> {
    string_at(doc, path).filter(|s| !s.is_empty())
}

/// A system-wide file, per OS: `mac` and `linux` are absolute paths,
/// `windows` is relative to `%ProgramData%`. `TOKENBUDDY_SYSTEM_ROOT`
/// re-roots it, so tests can plant managed-settings files.
pub fn system_path(env: Env<'_>, mac: &str, linux: &str, windows: &str) -> PathBuf {
    let (root, rest) = if cfg!(target_os = "macos") {
        ("/".to_string(), mac)
    } else if cfg!(windows) {
        let data = env("ProgramData").unwrap_or_else(|| r"C:\ProgramData".into());
        (data, windows)
    } else {
        ("/".to_string(), linux)
    };
    let root = env("TOKENBUDDY_SYSTEM_ROOT").unwrap_or(root);
    Path::new(&root).join(rest.trim_start_matches('/'))
}

/// Every supported agent, in the order the UI lists them.
pub const AGENTS: &[AgentSpec] = &[
    super::claude_code::SPEC,
    super::codex::SPEC,
    super::openclaw::SPEC,
    super::hermes::SPEC,
    super::opencode::SPEC,
    super::qwen_code::SPEC,
    super::crush::SPEC,
    super::claude_desktop::SPEC,
    super::gemini_cli::SPEC,
    super::guides::CURSOR,
    super::guides::CLINE,
    super::guides::ROO_CODE,
];

/// The agent with this id.
pub fn find(id: &str) -> Option<&'static AgentSpec> {
    AGENTS.iter().find(|a| a.id == id)
}
