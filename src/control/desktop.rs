//! `GET`/`PUT /api/desktop`: the desktop app's switches (start at login,
//! notifications, put agents back on quit). In headless `serve` it answers
//! `present: false` and refuses autostart, so the panel hides those switches.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};

use super::error::ApiError;
use crate::desktop::{Desktop, DesktopChange, DesktopError, DesktopView};

/// The route.
pub fn router(desktop: Arc<Desktop>) -> Router {
    Router::new()
        .route("/api/desktop", get(show).put(change))
        .with_state(desktop)
}

async fn show(State(d): State<Arc<Desktop>>) -> Json<DesktopView> {
    Json(d.view())
}

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
