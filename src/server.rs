//! The HTTP server: one router for the proxy, the control API and the UI
//! (embedded in the binary, see [`ui`]; `TOKENBUDDY_UI_DIR` serves it from
//! disk instead), bound to loopback, each client served by [`connection`] (TCP_NODELAY,
//! read timeouts), connections capped, stopped gracefully.

mod body_deadline;
mod connection;
mod ui;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{middleware, Json, Router};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tower_http::services::ServeDir;

use crate::config::ServerLimits;
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

/// The whole router; `extra` holds further token-guarded routes (the demo log);
/// `ui_dir` serves the panel from disk instead of the embedded copy.
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
        None => app.fallback(embedded_ui),
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

/// The embedded panel's files; anything else is [`not_found`].
async fn embedded_ui(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    match ui::serve(&method, &uri, &headers) {
        Some(resp) => resp,
        None => not_found(uri).await,
    }
}

/// Serves until `shutdown` fires, then lets connections finish for a short
/// grace and closes what is left. At most `limits.max_connections` clients
/// are held at once; more wait in the kernel's backlog until one closes.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServerLimits,
    shutdown: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            // Reap finished connections, so the set holds only live ones.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            (slot, accepted) = next_connection(&listener, &slots) => match accepted {
                Ok(tcp) => {
                    let (app, shutdown) = (app.clone(), shutdown.clone());
                    connections.spawn(async move {
                        connection::serve(tcp, app, limits, shutdown).await;
                        drop(slot);
                    });
                }
                Err(e) if is_per_connection(&e) => {}
                Err(e) => {
                    // Out of descriptors or memory: retrying at once would spin.
                    tracing::error!(error = %e, "cannot accept connections; retrying in 1 s");
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            },
        }
    }
    // New clients are refused from here on.
    drop(listener);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            "connections still open after the shutdown grace period; closing them"
        );
        connections.shutdown().await;
    }
}

/// A free connection slot, then the next client.
async fn next_connection(
    listener: &TcpListener,
    slots: &Arc<Semaphore>,
) -> (Option<OwnedSemaphorePermit>, std::io::Result<TcpStream>) {
    // The semaphore is never closed; without a permit we still serve.
    let slot = Arc::clone(slots).acquire_owned().await.ok();
    let accepted = listener.accept().await.map(|(tcp, _)| tcp);
    (slot, accepted)
}

/// Accept errors that concern one client only (it left before we took it).
fn is_per_connection(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    )
}
