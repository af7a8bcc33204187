//! `GET`/`PUT /api/routing` (mode and scorer; the next request obeys),
//! `GET`/`PUT /api/proxy` (the on/off switch) and `GET /api/route-plan`
//! (the order a request would try sellers in, and why).

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};

use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody};
use crate::protocol::Protocol;
use crate::proxy::Proxy;
use crate::scheduler::metrics::MetricsView;
use crate::scheduler::settings::SaveError;
use crate::scheduler::{Plan, RoutingSettings};

/// `GET /api/routing`.
#[utoipa::path(get, path = "/api/routing", operation_id = "getRouting", tag = "routing",
    responses((status = 200, description = "The routing settings in force", body = RoutingSettings)))]
pub async fn get(State(p): State<Proxy>) -> Json<RoutingSettings> {
    Json(RoutingSettings::clone(&p.scheduler.routing.get()))
}

/// `PUT /api/routing` with the whole settings object.
#[utoipa::path(put, path = "/api/routing", operation_id = "setRouting", tag = "routing", request_body = RoutingSettings,
    responses(
        (status = 200, description = "Saved; the next request obeys", body = RoutingSettings),
        (status = 400, description = "Inconsistent settings (the message says which)", body = ErrorBody)))]
pub async fn put(State(p): State<Proxy>, body: Bytes) -> Result<Json<RoutingSettings>, ApiError> {
    let settings: RoutingSettings = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("routing settings: {e}")))?;
    match p.scheduler.set_routing(settings) {
        Ok(()) => Ok(Json(RoutingSettings::clone(&p.scheduler.routing.get()))),
        Err(SaveError::Invalid(e)) => Err(ApiError::bad_request(e.to_string())),
        Err(e) => Err(ApiError::internal(e.to_string())),
    }
}

/// The proxy switch, as `/api/proxy` speaks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProxyState {
    /// Off: every `/v1/*` generation call answers 503 `paused`.
    pub enabled: bool,
}

/// `GET /api/proxy`.
#[utoipa::path(get, path = "/api/proxy", operation_id = "getProxy", tag = "routing",
    responses((status = 200, description = "Whether `/v1` serves", body = ProxyState)))]
pub async fn get_proxy(State(p): State<Proxy>) -> Json<ProxyState> {
    Json(ProxyState {
        enabled: p.scheduler.proxy_enabled(),
    })
}

/// `PUT /api/proxy` with `{"enabled": bool}`; answers the new state.
#[utoipa::path(put, path = "/api/proxy", operation_id = "setProxy", tag = "routing", request_body = ProxyState,
    responses(
        (status = 200, description = "The new state (persisted)", body = ProxyState),
        (status = 400, description = "Not `{\"enabled\": bool}`", body = ErrorBody)))]
pub async fn put_proxy(State(p): State<Proxy>, body: Bytes) -> Result<Json<ProxyState>, ApiError> {
    let state: ProxyState = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "proxy state: {e} (send {{\"enabled\": true}} or {{\"enabled\": false}})"
        ))
    })?;
    p.scheduler
        .set_proxy_enabled(state.enabled)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(Json(ProxyState {
        enabled: p.scheduler.proxy_enabled(),
    }))
}

/// What the scheduler did, as `GET /api/scheduler` shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SchedulerView {
    /// The scheduler's counters.
    #[serde(flatten)]
    pub metrics: MetricsView,
    /// The busiest seller's requests over the mean, among sellers that got any.
    pub load_skew: f64,
    /// Conversations bound to a seller now.
    pub sessions: usize,
}

/// `GET /api/scheduler`: what the scheduler did, plus load skew.
#[utoipa::path(get, path = "/api/scheduler", operation_id = "schedulerStats", tag = "routing",
    responses((status = 200, description = "Selections, sticky hits, switches and decision times", body = SchedulerView)))]
pub async fn scheduler(State(p): State<Proxy>) -> Json<SchedulerView> {
    let set = p.sellers.snapshot();
    let counts: Vec<u64> = set
        .sellers
        .iter()
        .map(|s| {
            p.pool
                .stats(&s.id)
                .snapshot(p.clock.now(), p.clock.wall())
                .requests
        })
        .filter(|&n| n > 0)
        .collect();
    let mean = counts.iter().sum::<u64>() as f64 / counts.len().max(1) as f64;
    let skew = counts
        .iter()
        .max()
        .map_or(0.0, |&m| if mean > 0.0 { m as f64 / mean } else { 0.0 });
    Json(SchedulerView {
        metrics: p.scheduler.metrics.view(),
        load_skew: skew,
        sessions: p.scheduler.sessions.len(),
    })
}

/// Query of `/api/route-plan`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlanQuery {
    /// The model a request would ask for.
    pub model: String,
    /// Its protocol (default `openai-chat`).
    #[serde(default)]
    pub protocol: Option<String>,
}

/// `GET /api/route-plan?model=M&protocol=P` (no exploration: the plain ranking).
#[utoipa::path(get, path = "/api/route-plan", operation_id = "routePlan", tag = "routing", params(PlanQuery),
    responses(
        (status = 200, description = "Candidates in order with their scores, and every excluded seller with its reason", body = Plan),
        (status = 400, description = "Unknown protocol", body = ErrorBody)))]
pub async fn plan(
    State(p): State<Proxy>,
    Query(q): Query<PlanQuery>,
) -> Result<Json<Plan>, ApiError> {
    let protocol = match q.protocol.as_deref() {
        None => Protocol::OpenAiChat,
        Some(name) => name
            .parse()
            .map_err(|e| ApiError::bad_request(format!("{e}")))?,
    };
    Ok(Json(p.plan(protocol, &q.model, false)))
}
