//! `GET`/`PUT /api/routing` (mode and scorer; the next request obeys),
//! `GET`/`PUT /api/proxy` (the on/off switch) and `GET /api/route-plan`
//! (the order a request would try sellers in, and why).

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use crate::protocol::Protocol;
use crate::proxy::Proxy;
use crate::scheduler::settings::SaveError;
use crate::scheduler::{Plan, RoutingSettings};

/// `GET /api/routing`.
pub async fn get(State(p): State<Proxy>) -> Json<RoutingSettings> {
    Json(RoutingSettings::clone(&p.scheduler.routing.get()))
}

/// `PUT /api/routing` with the whole settings object.
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProxyState {
    /// Off: every `/v1/*` generation call answers 503 `paused`.
    pub enabled: bool,
}

/// `GET /api/proxy`.
pub async fn get_proxy(State(p): State<Proxy>) -> Json<ProxyState> {
    Json(ProxyState {
        enabled: p.scheduler.proxy_enabled(),
    })
}

/// `PUT /api/proxy` with `{"enabled": bool}`; answers the new state.
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

/// `GET /api/scheduler`: what the scheduler did, plus load skew (the busiest
/// seller's requests over the mean, among sellers that got any).
pub async fn scheduler(State(p): State<Proxy>) -> Json<serde_json::Value> {
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
    let mut view = serde_json::to_value(p.scheduler.metrics.view()).unwrap_or_default();
    view["loadSkew"] = serde_json::json!(skew);
    view["sessions"] = serde_json::json!(p.scheduler.sessions.len());
    Json(view)
}

/// Query of `/api/route-plan`.
#[derive(Debug, Deserialize)]
pub struct PlanQuery {
    /// The model a request would ask for.
    pub model: String,
    /// Its protocol (default `openai-chat`).
    #[serde(default)]
    pub protocol: Option<String>,
}

/// `GET /api/route-plan?model=M&protocol=P` (no exploration: the plain ranking).
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
