//! The control plane: `/api/*` JSON for the UI and the CLI.

pub mod agents;
pub mod demo;
pub mod desktop;
pub mod error;
pub mod events;
pub mod prometheus;
pub mod routing;
pub mod sellers;
pub mod store;

use axum::routing::{get, put};
use axum::Router;

use crate::proxy::Proxy;

/// `/api/*` routes (access checks are layered on by the server).
pub fn router(proxy: Proxy) -> Router {
    Router::new()
        .route("/api/sellers", get(sellers::list).post(sellers::add))
        .route(
            "/api/sellers/{id}",
            put(sellers::edit).delete(sellers::remove),
        )
        .route("/api/routing", get(routing::get).put(routing::put))
        .route(
            "/api/proxy",
            get(routing::get_proxy).put(routing::put_proxy),
        )
        .route("/api/route-plan", get(routing::plan))
        .route("/api/scheduler", get(routing::scheduler))
        .with_state(proxy)
}
