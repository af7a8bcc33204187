//! `/api/agents`, `/api/terminals` and `/api/doctor`: the agents and their
//! state, one-click configure and restore (with `dryRun`), terminals, and
//! the set-up checks. File work runs on blocking threads.

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
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

/// The routes' state.
pub type Shared = Arc<AgentsApi>;

/// The routes, described.
pub fn routes() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(drift))
        .routes(routes!(configure))
        .routes(routes!(restore))
        .routes(routes!(terminals))
        .routes(routes!(doctor))
}

/// The routes.
pub fn router(api: AgentsApi) -> Router {
    routes().with_state(Arc::new(api)).split_for_parts().0
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

fn home() -> Result<PathBuf, CommandError> {
    directories::BaseDirs::new()
        .map(|d| d.home_dir().to_path_buf())
        .ok_or(CommandError::NoHome)
}

impl AgentsApi {
    /// Every agent and its state (what `/api/agents` and the tray show).
    pub fn report(&self) -> Result<Vec<AgentReport>, CommandError> {
        self.drift.refresh();
        let ours = Ours {
            port: self.port,
            token: self.token.clone(),
        };
        Ok(detect::report_all(
            &home()?,
            &env,
            &ours,
            &Journal::new(&self.data_dir),
        ))
    }

    /// Points agent `id` at this TokenBuddy with `model` (default: the
    /// agent's own if served, else a seller's), or with `dry_run` only says how.
    /// The one way the API and the tray configure. Blocking file work.
    pub fn configure(
        &self,
        id: &str,
        model: Option<&str>,
        dry_run: bool,
    ) -> Result<Done, CommandError> {
        let home = home()?;
        let sellers = current_sellers(self);
        let setup = Setup {
            home: &home,
            env: &env,
            data_dir: &self.data_dir,
            port: self.port,
            token: &self.token,
            sellers: &sellers,
        };
        let done = commands::configure(&setup, id, model, dry_run);
        if !dry_run {
            self.drift.refresh();
        }
        done
    }

    /// Puts agent `id`'s config back (or with `dry_run` only says how).
    pub fn restore(&self, id: &str, dry_run: bool) -> Result<Done, CommandError> {
        let done = commands::restore(&self.data_dir, id, dry_run);
        if !dry_run {
            self.drift.refresh();
        }
        done
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("agents task failed: {e}")))?
}

#[utoipa::path(get, path = "/api/agents/drift", operation_id = "agentDrift", tag = "agents",
    responses((status = 200, description = "Agents whose config changed since TokenBuddy configured them", body = Drift)))]
async fn drift(State(api): State<Shared>) -> Json<Drift> {
    Json(api.drift.drift())
}

#[utoipa::path(get, path = "/api/agents", operation_id = "listAgents", tag = "agents",
    responses((status = 200, description = "Every supported agent: installed, where its config is, its state", body = Vec<AgentReport>)))]
async fn list(State(api): State<Shared>) -> Result<Json<Vec<AgentReport>>, ApiError> {
    blocking(move || api.report().map(Json).map_err(failure)).await
}

/// Body of configure and restore.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(as = AgentCommand)]
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

/// What the panel shows of the token in a diff: the panel is on screens
/// that get shared, and the token is in the agent's file anyway.
pub const TOKEN_SHOWN_AS: &str = "<TokenBuddy access token>";

/// `done` with the access token hidden from its diff.
fn masked(mut done: Done, token: &str) -> Done {
    if !token.is_empty() {
        done.diff = done.diff.replace(token, TOKEN_SHOWN_AS);
    }
    done
}

fn failure(e: CommandError) -> ApiError {
    let status = match &e {
        CommandError::Unknown(_) => StatusCode::NOT_FOUND,
        CommandError::Model(_) => StatusCode::BAD_REQUEST,
        CommandError::NoHome => StatusCode::INTERNAL_SERVER_ERROR,
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

#[utoipa::path(post, path = "/api/agents/{id}/configure", operation_id = "configureAgent", tag = "agents", request_body(content = Option<Request>),
    params(("id" = String, Path, description = "The agent's id")),
    responses(
        (status = 200, description = "What changed in the agent's file (or would, with dryRun)", body = Done),
        (status = 400, description = "No model to configure", body = ErrorBody),
        (status = 404, description = "No such agent", body = ErrorBody),
        (status = 409, description = "The file changed meanwhile", body = ErrorBody),
        (status = 422, description = "The file cannot be edited safely (it is left untouched)", body = ErrorBody)))]
async fn configure(
    State(api): State<Shared>,
    Path(id): Path<String>,
    body: Option<Json<Value>>,
) -> Result<Json<Done>, ApiError> {
    let req = request(body)?;
    blocking(move || {
        api.configure(&id, req.model.as_deref(), req.dry_run)
            .map(|done| Json(masked(done, &api.token)))
            .map_err(failure)
    })
    .await
}

#[utoipa::path(post, path = "/api/agents/{id}/restore", operation_id = "restoreAgent", tag = "agents", request_body(content = Option<Request>),
    params(("id" = String, Path, description = "The agent's id")),
    responses(
        (status = 200, description = "What restore put back (or would, with dryRun)", body = Done),
        (status = 404, description = "No such agent", body = ErrorBody),
        (status = 409, description = "Not configured by TokenBuddy, or the file changed meanwhile", body = ErrorBody)))]
async fn restore(
    State(api): State<Shared>,
    Path(id): Path<String>,
    body: Option<Json<Value>>,
) -> Result<Json<Done>, ApiError> {
    let req = request(body)?;
    blocking(move || {
        api.restore(&id, req.dry_run)
            .map(|done| Json(masked(done, &api.token)))
            .map_err(failure)
    })
    .await
}

#[utoipa::path(get, path = "/api/terminals", operation_id = "listTerminals", tag = "agents",
    responses((status = 200, description = "Installed terminals, the preferred one marked", body = Vec<TerminalReport>)))]
async fn terminals(State(_): State<Shared>) -> Result<Json<Vec<TerminalReport>>, ApiError> {
    blocking(move || {
        let path = detect::search_path(&env);
        Ok(Json(terminals::detect(
            Os::current(),
            &home().map_err(failure)?,
            &env,
            &path,
        )))
    })
    .await
}

/// The set-up checks, as `GET /api/doctor` answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct DoctorView {
    /// No check failed.
    pub ok: bool,
    /// Every check.
    pub checks: Vec<crate::doctor::Check>,
}

#[utoipa::path(get, path = "/api/doctor", operation_id = "doctor", tag = "agents",
    responses((status = 200, description = "The set-up checks", body = DoctorView)))]
async fn doctor(State(api): State<Shared>) -> Result<Json<DoctorView>, ApiError> {
    blocking(move || {
        let home = home().map_err(failure)?;
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
        Ok(Json(DoctorView { ok, checks }))
    })
    .await
}
