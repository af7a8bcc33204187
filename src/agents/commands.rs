//! Configure and restore by agent id, as the CLI and the control API call
//! them: resolve the file, pick the model, run the patcher.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::journal::Journal;
use super::patch::{self, Outcome, PatchError};
use super::spec::{self, AgentSpec, Env, Left, Target};
use crate::sellers::Seller;

/// What configure or restore did, for the API and `--json`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Done {
    /// The agent.
    pub id: &'static str,
    /// The file.
    #[schema(value_type = String)]
    pub path: PathBuf,
    /// Whether the file changed (or would, in a dry run).
    pub changed: bool,
    /// A unified diff of the change.
    pub diff: String,
    /// Keys left alone because the user changed them since.
    pub skipped: Vec<String>,
    /// Model settings configure left as they are (their requests do not go
    /// through TokenBuddy), each with the reason.
    pub left: Vec<Left>,
    /// What restore kept that TokenBuddy had created (a file or folder that
    /// holds something else now), a sentence each.
    pub kept: Vec<String>,
    /// The model configured (configure only).
    pub model: Option<String>,
    /// Whether nothing was written.
    pub dry_run: bool,
}

impl Done {
    fn new(spec: &AgentSpec, o: &Outcome, model: Option<String>, dry_run: bool) -> Done {
        Done {
            id: spec.id,
            path: o.path.clone(),
            changed: o.changes(),
            diff: o.diff(),
            skipped: o.skipped.clone(),
            left: o.left.clone(),
            kept: o.kept.clone(),
            model,
            dry_run,
        }
    }
}

/// Why a command failed before or while patching.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// No such agent.
    #[error("unknown agent `{0}` (known: {known})", known = known())]
    Unknown(String),
    /// No model could be picked.
    #[error("{0}")]
    Model(String),
    /// No home directory to find the agents' files in.
    #[error("no home directory found (set HOME)")]
    NoHome,
    /// The patcher refused or failed.
    #[error(transparent)]
    Patch(#[from] PatchError),
}

fn known() -> String {
    spec::AGENTS
        .iter()
        .map(|a| a.id)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The agent with this id.
pub fn agent(id: &str) -> Result<&'static AgentSpec, CommandError> {
    spec::find(id).ok_or_else(|| CommandError::Unknown(id.to_string()))
}

/// What configure needs to know about this TokenBuddy and machine.
pub struct Setup<'a> {
    /// Home directory.
    pub home: &'a Path,
    /// Environment.
    pub env: Env<'a>,
    /// Data directory (journal).
    pub data_dir: &'a Path,
    /// Port on 127.0.0.1.
    pub port: u16,
    /// Access token.
    pub token: &'a str,
    /// The sellers, for the default model.
    pub sellers: &'a [Seller],
}

/// Points agent `id` at TokenBuddy.
pub fn configure(
    setup: &Setup<'_>,
    id: &str,
    model: Option<&str>,
    dry_run: bool,
) -> Result<Done, CommandError> {
    let spec = agent(id)?;
    let path = patch::config_path(spec, setup.home, setup.env)?;
    let current = patch::read_all(spec, &path)
        .ok()
        .and_then(|read| (spec.current_model)(&read.doc));
    let model = super::model::choose(model, current.as_deref(), setup.sellers)
        .map_err(CommandError::Model)?;
    let url = format!("http://127.0.0.1:{}", setup.port);
    let mut native: Vec<crate::protocol::Protocol> = setup
        .sellers
        .iter()
        .filter(|s| s.upstream_model(&model).is_some())
        .flat_map(|s| s.protocols.iter().copied())
        .collect();
    native.sort();
    native.dedup();
    let target = Target {
        url: &url,
        token: setup.token,
        model: &model,
        native: &native,
    };
    let journal = Journal::new(setup.data_dir);
    let outcome = patch::configure(spec, path, &target, setup.env, &journal, dry_run)?;
    Ok(Done::new(spec, &outcome, Some(model), dry_run))
}

/// Puts agent `id`'s config back.
pub fn restore(data_dir: &Path, id: &str, dry_run: bool) -> Result<Done, CommandError> {
    let spec = agent(id)?;
    let outcome = patch::restore(spec, &Journal::new(data_dir), dry_run)?;
    Ok(Done::new(spec, &outcome, None, dry_run))
}

/// The ids of every agent TokenBuddy has configured.
pub fn configured_ids(data_dir: &Path) -> Result<Vec<String>, CommandError> {
    let all = Journal::new(data_dir).all().map_err(PatchError::from)?;
    Ok(all.into_keys().collect())
}
