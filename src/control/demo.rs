//! `GET /api/demo/requests` (only with `serve --demo`): what reached each
//! demo seller, so a person or an end-to-end test can see that an agent's
//! request really went through TokenBuddy. Credentials are never shown.

use std::sync::Arc;

use axum::extract::State;
use axum::{Json, Router};
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::sim::RequestLog;

/// Headers worth showing: who sent it, never how it authenticated.
const SHOWN_HEADERS: &[&str] = &[
    "user-agent",
    "originator",
    "anthropic-version",
    "anthropic-beta",
    "x-claude-code-session-id",
    "session_id",
];

/// One request a demo seller received.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DemoRequest {
    /// The demo seller's id.
    pub seller: &'static str,
    /// HTTP method.
    pub method: String,
    /// Path.
    pub path: String,
    /// The body's model.
    pub model: Option<String>,
    /// Whether it asked for a stream.
    pub stream: bool,
    /// A few identifying headers (lower-case names).
    pub headers: Vec<(String, String)>,
}

/// The demo sellers' logs, by seller id.
pub type DemoLogs = Arc<Vec<(&'static str, RequestLog)>>;

/// The `/api/demo/requests` route, described.
pub fn routes() -> OpenApiRouter<DemoLogs> {
    OpenApiRouter::new().routes(routes!(list))
}

/// The `/api/demo/requests` route.
pub fn router(logs: DemoLogs) -> Router {
    routes().with_state(logs).split_for_parts().0
}

#[utoipa::path(get, path = "/api/demo/requests", operation_id = "listDemoRequests", tag = "demo",
    responses((status = 200, description = "What reached each demo seller (only with `serve --demo`)", body = Vec<DemoRequest>)))]
async fn list(State(logs): State<DemoLogs>) -> Json<Vec<DemoRequest>> {
    let all = logs
        .iter()
        .flat_map(|(seller, log)| {
            log.requests().into_iter().map(move |r| DemoRequest {
                seller,
                headers: r
                    .headers
                    .iter()
                    .filter(|(k, _)| SHOWN_HEADERS.contains(&k.as_str()))
                    .cloned()
                    .collect(),
                method: r.method,
                path: r.path,
                model: r.model,
                stream: r.stream,
            })
        })
        .collect();
    Json(all)
}
