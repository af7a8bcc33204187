//! `GET`/`PUT /api/desktop`: the desktop app's switches (start at login,
//! notifications, put agents back on quit). In headless `serve` it answers
//! `present: false` and refuses autostart, so the panel hides those switches.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::{Json, Router};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use crate::desktop::{Desktop, DesktopChange, DesktopError, DesktopView};

/// The route, described.
pub fn routes() -> OpenApiRouter<Arc<Desktop>> {
    OpenApiRouter::new().routes(routes!(show, change))
}

/// The route.
pub fn router(desktop: Arc<Desktop>) -> Router {
    routes().with_state(desktop).split_for_parts().0
}

#[utoipa::path(get, path = "/api/desktop", operation_id = "getDesktop", tag = "desktop",
    responses((status = 200, description = "The desktop app's switches (`present: false` in headless serve)", body = DesktopView)))]
async fn show(State(d): State<Arc<Desktop>>) -> Json<DesktopView> {
    Json(d.view())
}

#[utoipa::path(put, path = "/api/desktop", operation_id = "setDesktop", tag = "desktop", request_body = DesktopChange,
    responses(
        (status = 200, description = "The switches after the change (persisted)", body = DesktopView),
        (status = 400, description = "A bad body, or start at login asked of a headless core", body = ErrorBody)))]
async fn change(State(d): State<Arc<Desktop>>, body: Bytes) -> Result<Json<DesktopView>, ApiError> {
    let change: DesktopChange = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "desktop settings: {e} (send any of autostart, notifications, restoreAgentsOnQuit as true/false)"
        ))
    })?;
    // Autostart writes a file through the shell: off the async workers.
    let answer = tokio::task::spawn_blocking(move || d.apply(&change))
        .await
        .map_err(|e| ApiError::internal(format!("desktop task failed: {e}")))?;
    match answer {
        Ok(view) => Ok(Json(view)),
        Err(e @ DesktopError::NoShell) => Err(ApiError::bad_request(e.to_string())),
        Err(e) => Err(ApiError::internal(e.to_string())),
    }
}
