//! One client connection: HTTP/1 through hyper with TCP_NODELAY, a time limit
//! on each request head (which also closes idle keep-alive connections), a
//! deadline on each request body, and a graceful end when the server stops.
//! A body that missed its deadline is answered 408 in the called protocol's
//! shape and the connection closed.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderValue, Request};
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::Service;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::body_deadline::DeadlineBody;
use crate::config::ServerLimits;
use crate::proxy::rejection::too_slow;
use crate::proxy::respond::Shape;

/// Serves `tcp` until the client leaves, a limit is hit, or `shutdown` fires
/// (then the request in progress finishes and the connection closes).
pub async fn serve(tcp: TcpStream, app: Router, limits: ServerLimits, shutdown: CancellationToken) {
    // Without this every short stream waits on Nagle's algorithm (~40 ms).
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::debug!(error = %e, "TCP_NODELAY not set");
    }
    let app = TowerToHyperService::new(app);
    let body_read = limits.body_read;
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let app = app.clone();
        async move { Ok::<_, Infallible>(answer(&app, req, body_read).await) }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read);
    let conn = builder.serve_connection(TokioIo::new(tcp), service);
    let mut conn = std::pin::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        () = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    // Clients leaving, idle keep-alive connections timing out and lazy
    // clients cut off all end here: routine, so not above debug.
    if let Err(e) = result {
        tracing::debug!(error = %e, "client connection closed");
    }
}

/// Runs one request through the router with its body under the deadline.
async fn answer(
    app: &TowerToHyperService<Router>,
    req: Request<Incoming>,
    body_read: Duration,
) -> Response {
    let uri = req.uri().clone();
    let (parts, body) = req.into_parts();
    let (body, missed) = DeadlineBody::new(body, body_read);
    let response = match app.call(Request::from_parts(parts, Body::new(body))).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    if !missed.get() {
        return response;
    }
    // The handler saw only a failed read; say what happened, in its protocol.
    let path = uri.path();
    tracing::warn!(
        path,
        limit_s = body_read.as_secs_f64(),
        "a client sent its request body too slowly; answered 408"
    );
    let mut response = too_slow(Shape::for_path(path), Some(body_read)).into_response();
    // The rest of the body may still be on its way: this connection is done.
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}
