//! `/api/agents`, `/api/terminals` and `/api/doctor`: the agents and their
//! state, one-click configure and restore (with `dryRun`), terminals, and
//! the set-up checks. File work runs on blocking threads.

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ApiError;
use crate::agents::commands::{self, CommandError, Done, Setup};
use crate::agents::detect::{self, AgentReport};
use crate::agents::journal::Journal;
use crate::agents::patch::PatchError;
use crate::agents::state::Ours;
use crate::agents::watch::{Drift, DriftWatch};
use crate::atomic_file::WriteError;
use crate::sellers::Sellers;
use crate::terminals::{self, Os, TerminalReport};

/// What the agents API needs.
#[derive(Clone)]
pub struct AgentsApi {
    /// Data directory (journal, token).
    pub data_dir: PathBuf,
    /// This TokenBuddy's port and token.
    pub port: u16,
    /// The access token.
    pub token: String,
    /// The live sellers (for the default model).
    pub sellers: Arc<Sellers>,
    /// The drift watch over configured files.
    pub drift: Arc<DriftWatch>,
}

type Shared = Arc<AgentsApi>;

/// The routes.
pub fn router(api: AgentsApi) -> Router {
    Router::new()
        .route("/api/agents", get(list))
        .route("/api/agents/drift", get(drift))
        .route("/api/agents/{id}/configure", post(configure))
        .route("/api/agents/{id}/restore", post(restore))
        .route("/api/terminals", get(terminals))
        .route("/api/doctor", get(doctor))
        .with_state(Arc::new(api))
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The live sellers, owned (the agents code takes plain slices).
fn current_sellers(api: &AgentsApi) -> Vec<crate::sellers::Seller> {
    api.sellers
        .snapshot()
        .sellers
        .iter()
        .map(|s| (**s).clone())
        .collect()
}

fn home() -> Result<PathBuf, ApiError> {
    directories::BaseDirs::new()
        .map(|d| d.home_dir().to_path_buf())
        .ok_or_else(|| ApiError::internal("no home directory found"))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("agents task failed: {e}")))?
}

async fn drift(State(api): State<Shared>) -> Json<Drift> {
    Json(api.drift.drift())
}

async fn list(State(api): State<Shared>) -> Result<Json<Vec<AgentReport>>, ApiError> {
    blocking(move || {
        api.drift.refresh();
        let ours = Ours {
            port: api.port,
            token: api.token.clone(),
        };
        Ok(Json(detect::report_all(
            &home()?,
            &env,
            &ours,
            &Journal::new(&api.data_dir),
        )))
    })
    .await
}

/// Body of configure and restore.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Request {
    /// The model to configure (default: the agent's own if served, else a seller's).
    #[serde(default)]
    pub model: Option<String>,
    /// Only show the diff.
    #[serde(default)]
    pub dry_run: bool,
}

fn request(body: Option<Json<Value>>) -> Result<Request, ApiError> {
    match body {
        None => Ok(Request::default()),
        Some(Json(v)) => serde_json::from_value(v)
            .map_err(|e| ApiError::bad_request(format!("request body: {e}"))),
    }
}

fn failure(e: CommandError) -> ApiError {
    let status = match &e {
        CommandError::Unknown(_) => StatusCode::NOT_FOUND,
        CommandError::Model(_) => StatusCode::BAD_REQUEST,
        CommandError::Patch(
            PatchError::Write(WriteError::Changed { .. }) | PatchError::NotConfigured(_),
        ) => StatusCode::CONFLICT,
        CommandError::Patch(
            PatchError::Write(_) | PatchError::Journal(_) | PatchError::Internal { .. },
        ) => StatusCode::INTERNAL_SERVER_ERROR,
        CommandError::Patch(_) => StatusCode::UNPROCESSABLE_ENTITY,
    };
    ApiError {
        status,
        message: e.to_string(),
    }
}

async fn configure(
    State(api): State<Shared>,
    Path(id): Path<String>,
    body: Option<Json<Value>>,
) -> Result<Json<Done>, ApiError> {
    let req = request(body)?;
    blocking(move || {
        let home = home()?;
        let sellers = current_sellers(&api);
        let setup = Setup {
            home: &home,
            env: &env,
            data_dir: &api.data_dir,
            port: api.port,
            token: &api.token,
            sellers: &sellers,
        };
        commands::configure(&setup, &id, req.model.as_deref(), req.dry_run)
            .map(Json)
            .map_err(failure)
    })
    .await
}

async fn restore(
    State(api): State<Shared>,
    Path(id): Path<String>,
    body: Option<Json<Value>>,
) -> Result<Json<Done>, ApiError> {
    let req = request(body)?;
    blocking(move || {
        commands::restore(&api.data_dir, &id, req.dry_run)
            .map(Json)
            .map_err(failure)
    })
    .await
}

async fn terminals(State(_): State<Shared>) -> Result<Json<Vec<TerminalReport>>, ApiError> {
    blocking(move || {
        let path = detect::search_path(&env);
        Ok(Json(terminals::detect(
            Os::current(),
            &home()?,
            &env,
            &path,
        )))
    })
    .await
}

async fn doctor(State(api): State<Shared>) -> Result<Json<Value>, ApiError> {
    blocking(move || {
        let home = home()?;
        let sellers = current_sellers(&api);
        let input = crate::doctor::Input {
            home: &home,
            env: &env,
            data_dir: &api.data_dir,
            port: api.port,
            sellers: Ok(sellers),
        };
        let checks = crate::doctor::run(&input);
        let ok = checks
            .iter()
            .all(|c| c.status != crate::doctor::Status::Fail);
        Ok(Json(json!({"ok": ok, "checks": checks})))
    })
    .await
}
