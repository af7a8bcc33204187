//! Rejections on `/v1/*` in the protocol's shape.
//!
//! The HTTP framework answers some requests before a handler runs — a body
//! over the limit, a method the path does not take, a body it cannot read —
//! with plain text or an empty body, and an agent's SDK then shows a parse
//! error instead of the reason. Two pieces route all of them through
//! [`ProxyError`] (which `respond.rs` turns into HTTP):
//! - [`ClientBody`], the proxy routes' body extractor, gives body-reading
//!   failures (limit, timeout, broken upload) their typed error;
//! - [`shape_rejections`], a layer on every `/v1/*` route, turns any other
//!   error response that is not [`Shaped`] into one, so a rejection nobody
//!   listed here still reaches the client in its protocol's shape.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
use axum::extract::{FromRequest, Request};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::respond::{ProxyError, Shape, Shaped};
use super::routes::MAX_BODY;

/// The most of a framework rejection's own text we read (they are one line).
const MAX_REJECTION_TEXT: usize = 4096;

/// A client request body, read under the server's limit; a failure to read
/// it answers in the called protocol's shape.
#[derive(Debug, Clone)]
pub struct ClientBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for ClientBody {
    type Rejection = ProxyError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ProxyError> {
        let shape = Shape::for_path(req.uri().path());
        Bytes::from_request(req, state)
            .await
            .map(ClientBody)
            .map_err(|r| unreadable_body(&r, shape))
    }
}

/// The error for a body the framework could not read.
fn unreadable_body(rejection: &BytesRejection, shape: Shape) -> ProxyError {
    match rejection {
        BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_)) => {
            too_large(shape)
        }
        other if timed_out(other) => too_slow(shape, None),
        other => ProxyError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!(
                "could not read the request body ({}); send it again",
                chain(other)
            ),
            shape,
        ),
    }
}

fn too_large(shape: Shape) -> ProxyError {
    ProxyError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "request_too_large",
        format!(
            "the request body is over TokenBuddy's limit of {} MiB: shorten the conversation or send large files by URL",
            MAX_BODY >> 20
        ),
        shape,
    )
}

/// The 408 for a request that arrived too slowly (`within`: the body's
/// deadline, when known).
pub fn too_slow(shape: Shape, within: Option<std::time::Duration>) -> ProxyError {
    let message = match within {
        Some(limit) => format!(
            "the request body did not arrive within {} s of its headers; send the whole request at once",
            limit.as_secs_f64()
        ),
        None => "the request did not arrive in time: TokenBuddy stopped waiting for the rest of it"
            .to_string(),
    };
    ProxyError::new(
        StatusCode::REQUEST_TIMEOUT,
        "request_timeout",
        message,
        shape,
    )
}

/// Whether a read failed because the client was too slow.
fn timed_out(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if err
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        let text = err.to_string().to_ascii_lowercase();
        if text.contains("timed out") || text.contains("timeout") {
            return true;
        }
        cur = err.source();
    }
    false
}

/// An error and its causes on one line.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(err) = cur {
        let text = err.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        cur = err.source();
    }
    parts.join(": ")
}

/// The layer on `/v1/*`: an error response not [`Shaped`] (the framework's
/// own rejection) becomes a [`ProxyError`] in the path's protocol shape; its
/// `Allow` header (on a 405) is kept.
pub async fn shape_rejections(req: Request, next: Next) -> Response {
    // Cheap clones (shared bytes): this runs on every request.
    let method = req.method().clone();
    let uri = req.uri().clone();
    let content_type = req.headers().get(header::CONTENT_TYPE).cloned();
    let resp = next.run(req).await;
    if resp.status().as_u16() < 400 || resp.extensions().get::<Shaped>().is_some() {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, MAX_REJECTION_TEXT)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let allow = parts.headers.get(header::ALLOW).cloned();
    let path = uri.path();
    let rejection = Rejection {
        status: parts.status,
        method: &method,
        path,
        content_type: content_type.as_ref().and_then(|v| v.to_str().ok()),
        allow: allow.as_ref().and_then(|v| v.to_str().ok()),
        text: &text,
    };
    tracing::debug!(%method, %path, status = %parts.status, %text, "request rejected");
    let mut out = rejection.error().into_response();
    if let Some(allow) = allow {
        out.headers_mut().insert(header::ALLOW, allow);
    }
    out
}

/// What the framework answered, and to what.
#[derive(Debug, Clone, Copy)]
pub struct Rejection<'a> {
    /// Its status.
    pub status: StatusCode,
    /// The request's method.
    pub method: &'a Method,
    /// The request's path.
    pub path: &'a str,
    /// The request's `Content-Type`.
    pub content_type: Option<&'a str>,
    /// The methods the path takes (`Allow`), on a 405, when set by then
    /// (axum's method router adds it outside this layer).
    pub allow: Option<&'a str>,
    /// The framework's own text, if any.
    pub text: &'a str,
}

impl Rejection<'_> {
    /// The same refusal as a [`ProxyError`]: status kept, message saying what to do.
    pub fn error(&self) -> ProxyError {
        let Rejection {
            status,
            method,
            path,
            content_type,
            allow,
            text,
        } = *self;
        let shape = Shape::for_path(path);
        let detail = if text.is_empty() {
            String::new()
        } else {
            format!(" ({text})")
        };
        match status {
            StatusCode::METHOD_NOT_ALLOWED => {
                let hint = allow.map(|a| format!(": use {a}")).unwrap_or_default();
                ProxyError::new(
                    status,
                    "method_not_allowed",
                    format!("{method} is not allowed on {path}{hint}"),
                    shape,
                )
            }
            StatusCode::PAYLOAD_TOO_LARGE => too_large(shape),
            StatusCode::REQUEST_TIMEOUT => too_slow(shape, None),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ProxyError::new(
                status,
                "unsupported_media_type",
                format!(
                    "{path} takes a JSON body (Content-Type: application/json), not {}{detail}",
                    content_type.unwrap_or("a body without Content-Type")
                ),
                shape,
            ),
            s if s.is_client_error() => ProxyError::new(
                status,
                "invalid_request",
                format!("TokenBuddy refused {method} {path}{detail}"),
                shape,
            ),
            _ => ProxyError::new(
                status,
                "internal_error",
                format!("TokenBuddy failed on {method} {path}{detail}; its log says more"),
                shape,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::post;
    use axum::Router;
    use serde_json::Value;

    /// Routes using axum's own `Json` extractor (which answers 415 and 400 as
    /// text), served on a real socket: the layer catches rejections nobody
    /// listed.
    async fn serve() -> String {
        async fn takes_json(_: axum::Json<Value>) -> &'static str {
            "ok"
        }
        let app = Router::new()
            .route("/v1/chat/completions", post(takes_json))
            .route("/v1/messages", post(takes_json))
            .layer(axum::middleware::from_fn(shape_rejections));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }

    async fn call(req: reqwest::RequestBuilder) -> (u16, Value) {
        let resp = req.send().await.expect("answer");
        let status = resp.status().as_u16();
        (status, resp.json().await.expect("a JSON body"))
    }

    #[tokio::test]
    async fn axums_own_rejections_take_the_protocols_shape() {
        let url = serve().await;
        let c = reqwest::Client::new();
        let post = |path: &str, ct: &str, body: &'static str| {
            c.post(format!("{url}{path}"))
                .header("content-type", ct)
                .body(body)
        };
        let (status, v) = call(post("/v1/chat/completions", "text/plain", "{}")).await;
        assert_eq!(status, 415);
        assert_eq!(v["error"]["code"], "unsupported_media_type", "{v}");
        assert!(v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("text/plain")));
        let (status, v) = call(post("/v1/messages", "application/json", "[1")).await;
        assert_eq!(status, 400);
        assert_eq!(v["type"], "error", "{v}");
        assert_eq!(v["error"]["type"], "invalid_request_error", "{v}");
        let resp = c
            .get(format!("{url}/v1/messages"))
            .send()
            .await
            .expect("answer");
        assert_eq!(resp.status(), 405);
        // axum adds `Allow` outside the layer, after the body is ours.
        assert_eq!(resp.headers()["allow"], "POST");
        let v: Value = resp.json().await.expect("a JSON body");
        assert_eq!(v["error"]["message"], "GET is not allowed on /v1/messages");
    }

    #[test]
    fn server_errors_and_timeouts() {
        let m = Method::POST;
        let r = |status| Rejection {
            status,
            method: &m,
            path: "/v1/responses",
            content_type: None,
            allow: None,
            text: "",
        };
        let e = r(StatusCode::REQUEST_TIMEOUT).error();
        assert_eq!(e.code, "request_timeout");
        let e = r(StatusCode::INTERNAL_SERVER_ERROR).error();
        assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(e.shape, Shape::OpenAi);
        let io = std::io::Error::new(std::io::ErrorKind::TimedOut, "slow");
        assert!(timed_out(&io));
        assert!(!timed_out(&std::io::Error::other("reset")));
    }
}
