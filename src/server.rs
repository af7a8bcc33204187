//! The HTTP server: one router for the proxy, the control API and the UI,
//! bound to loopback with TCP_NODELAY, stopped gracefully.

use std::future::IntoFuture;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::{middleware, Json, Router};
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::services::ServeDir;

use crate::control;
use crate::error::Error;
use crate::proxy::access::{self, Access};
use crate::proxy::respond::{ProxyError, Shape};
use crate::proxy::routes::{self, MAX_BODY};
use crate::proxy::Proxy;

/// How long in-flight connections get to finish after shutdown begins.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Binds 127.0.0.1:`port` (0 = any free port).
pub async fn bind(port: u16) -> Result<TcpListener, Error> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Bind { addr, source })
}

/// The whole router; `extra` holds further token-guarded routes (the demo log).
pub fn router(proxy: Proxy, access: Arc<Access>, ui_dir: Option<PathBuf>, extra: Router) -> Router {
    let guarded = routes::router(proxy.clone())
        .merge(control::router(proxy))
        .merge(extra)
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&access),
            access::require_token,
        ));
    let app = Router::new()
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .merge(guarded);
    let app = match ui_dir {
        Some(dir) => app.fallback_service(
            ServeDir::new(dir)
                .call_fallback_on_method_not_allowed(true)
                .not_found_service(axum::handler::HandlerWithoutStateExt::into_service(
                    not_found,
                )),
        ),
        None => app.route("/", get(no_ui)).fallback(not_found),
    };
    app.layer(middleware::from_fn_with_state(access, access::host_guard))
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

/// Unknown paths: a fast JSON 404, never an auth challenge (agents probe
/// `/api/tags`, `/props`, `HEAD /api/hello`… and must move on quickly).
async fn not_found(uri: Uri) -> Response {
    let path = uri.path();
    ProxyError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("TokenBuddy has no endpoint {path}"),
        Shape::for_path(path),
    )
    .into_response()
}

async fn no_ui() -> Html<&'static str> {
    Html(
        "<!doctype html><title>TokenBuddy</title><p>TokenBuddy is running. \
         The control panel is not built: run <code>npm ci && npm run build:ui</code>.</p>",
    )
}

/// Serves until `shutdown` fires, then lets connections finish for a short grace.
pub async fn serve(listener: TcpListener, app: Router, shutdown: CancellationToken) {
    let listener = listener.tap_io(|tcp| {
        // Without this every short stream waits on Nagle's algorithm (~40 ms).
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
    });
    let stop = shutdown.clone();
    let server =
        axum::serve(listener, app).with_graceful_shutdown(async move { stop.cancelled().await });
    let server = std::pin::pin!(server.into_future());
    tokio::select! {
        result = server => {
            if let Err(e) = result {
                tracing::error!(error = %e, "server stopped");
            }
        }
        () = async { shutdown.cancelled().await; tokio::time::sleep(SHUTDOWN_GRACE).await } => {
            tracing::warn!("connections still open after the shutdown grace period; closing them");
        }
    }
}
