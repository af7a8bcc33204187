//! The control plane: `/api/*` JSON for the UI and the CLI. Each part's
//! routes are declared once, with their OpenAPI description
//! (`utoipa-axum`), so the router and `/api/openapi.json` cannot disagree.

pub mod agents;
pub mod demo;
pub mod desktop;
pub mod error;
pub mod events;
pub mod openapi;
pub mod prometheus;
pub mod routing;
pub mod sellers;
pub mod stats_view;
pub mod store;

use axum::routing::get;
use axum::Router;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::proxy::Proxy;

/// The sellers and routing routes, described.
pub fn routes() -> OpenApiRouter<Proxy> {
    OpenApiRouter::new()
        .routes(routes!(sellers::list, sellers::add))
        .routes(routes!(sellers::edit, sellers::remove))
        .routes(routes!(routing::get, routing::put))
        .routes(routes!(routing::get_proxy, routing::put_proxy))
        .routes(routes!(routing::plan))
        .routes(routes!(routing::scheduler))
}

/// `/api/*` routes of the sellers and routing, plus `/api/openapi.json`
/// (access checks are layered on by the server).
pub fn router(proxy: Proxy) -> Router {
    let (router, _) = routes().with_state(proxy).split_for_parts();
    router.route("/api/openapi.json", get(openapi::serve))
}
