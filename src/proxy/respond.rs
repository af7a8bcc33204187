//! The one place proxy errors become HTTP: JSON errors in the shape of the
//! protocol the client called, and SSE error events for streams that fail
//! after the commit point.
//!
//! Every response whose body is already in the client's protocol shape (ours,
//! or a seller's own passed through) carries the [`Shaped`] mark; on `/v1/*`
//! an error response without it was made by the HTTP framework and is turned
//! into a [`ProxyError`] (see `rejection.rs`).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::json;

/// Which error shape the client expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `{"error": {"message", "type", "code"}}`
    OpenAi,
    /// `{"type": "error", "error": {"type", "message"}}`
    Anthropic,
    /// Google's `{"error": {"code", "message", "status"}}` (on `/v1beta/*`).
    Gemini,
}

impl Shape {
    /// The shape a client of `protocol` expects.
    pub fn for_protocol(protocol: crate::protocol::Protocol) -> Shape {
        if protocol.is_anthropic() {
            Shape::Anthropic
        } else {
            Shape::OpenAi
        }
    }

    /// The shape for a request path.
    pub fn for_path(path: &str) -> Shape {
        if path.starts_with("/v1/messages") {
            Shape::Anthropic
        } else if is_gemini_path(path) {
            Shape::Gemini
        } else {
            Shape::OpenAi
        }
    }
}

/// Whether `path` is Gemini's: anything under `/v1beta`, and a model's
/// method under `/v1` (`/v1/models/<model>:generateContent`, where
/// google-genai 3 calls by default).
pub fn is_gemini_path(path: &str) -> bool {
    path.starts_with("/v1beta/")
        || path == "/v1beta"
        || path
            .strip_prefix("/v1/models/")
            .is_some_and(|rest| rest.contains(':'))
}

/// Marks a response whose body is already in the client's protocol shape:
/// ours, or a seller's own answer passed through as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shaped;

/// An error answered by TokenBuddy itself (not passed through from a seller).
#[derive(Debug, Clone)]
pub struct ProxyError {
    /// HTTP status.
    pub status: StatusCode,
    /// Machine-readable code, e.g. `model_not_found`.
    pub code: &'static str,
    /// What went wrong and what to do.
    pub message: String,
    /// Error shape.
    pub shape: Shape,
    /// Seconds for a Retry-After header.
    pub retry_after: Option<u64>,
}

impl ProxyError {
    /// A new error.
    pub fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
        shape: Shape,
    ) -> Self {
        ProxyError {
            status,
            code,
            message: message.into(),
            shape,
            retry_after: None,
        }
    }

    fn anthropic_type(&self) -> &'static str {
        match self.status.as_u16() {
            401 => "authentication_error",
            402 => "billing_error",
            403 => "permission_error",
            404 => "not_found_error",
            413 => "request_too_large",
            408 | 504 => "timeout_error",
            429 => "rate_limit_error",
            400..=499 => "invalid_request_error",
            529 | 503 => "overloaded_error",
            _ => "api_error",
        }
    }

    fn openai_type(&self) -> &'static str {
        match self.status.as_u16() {
            400..=499 if self.status != StatusCode::TOO_MANY_REQUESTS => "invalid_request_error",
            _ => "api_error",
        }
    }

    /// Google's canonical status name for the HTTP status.
    fn google_status(&self) -> &'static str {
        google_status(self.status.as_u16())
    }

    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        match self.shape {
            Shape::OpenAi => json!({"error": {
                "message": self.message,
                "type": self.openai_type(),
                "param": null,
                "code": self.code,
            }}),
            Shape::Anthropic => json!({"type": "error", "error": {
                "type": self.anthropic_type(),
                "message": self.message,
            }}),
            // Our machine code rides in an ErrorInfo detail, as Google's own
            // errors carry their `reason`.
            Shape::Gemini => json!({"error": {
                "code": self.status.as_u16(),
                "message": self.message,
                "status": self.google_status(),
                "details": [{
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": self.code,
                    "domain": "tokenbuddy",
                }],
            }}),
        }
    }
}

/// Google's canonical status (`google.rpc.Code` name) for an HTTP status.
pub fn google_status(code: u16) -> &'static str {
    match code {
        400 | 411 | 413 | 422 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        402 | 403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        405 | 501 => "UNIMPLEMENTED",
        408 | 504 => "DEADLINE_EXCEEDED",
        409 => "ABORTED",
        412 => "FAILED_PRECONDITION",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        502 | 503 | 529 => "UNAVAILABLE",
        400..=499 => "FAILED_PRECONDITION",
        _ => "INTERNAL",
    }
}

impl IntoResponse for ProxyError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, axum::Json(self.body())).into_response();
        resp.extensions_mut().insert(Shaped);
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

/// The SSE event that ends a stream broken after the commit point, in the
/// protocol's own error form (so SDKs raise instead of hanging or truncating).
pub fn stream_error_event(protocol: crate::protocol::Protocol, message: &str) -> Bytes {
    use crate::protocol::Protocol;
    let text = match protocol {
        Protocol::OpenAiChat => format!(
            "data: {}\n\n",
            json!({"error": {"message": message, "type": "api_error", "param": null, "code": "upstream_stream_error"}})
        ),
        Protocol::OpenAiResponses => format!(
            "event: error\ndata: {}\n\n",
            json!({"type": "error", "code": "upstream_stream_error", "message": message, "param": null, "sequence_number": 0})
        ),
        Protocol::AnthropicMessages => format!(
            "event: error\ndata: {}\n\n",
            json!({"type": "error", "error": {"type": "api_error", "message": message}})
        ),
        // Gemini streams an error as one more `data:` event holding the
        // error object (google-genai raises on it).
        Protocol::Gemini => format!(
            "data: {}\n\n",
            json!({"error": {"code": 500, "message": message, "status": "INTERNAL"}})
        ),
    };
    Bytes::from(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::sse::SseSplitter;
    use crate::protocol::{event, Protocol};

    #[test]
    fn shapes() {
        let e = ProxyError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "bad token",
            Shape::Anthropic,
        );
        assert_eq!(e.body()["error"]["type"], "authentication_error");
        assert_eq!(e.body()["type"], "error");
        let o = ProxyError::new(
            StatusCode::NOT_FOUND,
            "model_not_found",
            "no",
            Shape::OpenAi,
        );
        assert_eq!(o.body()["error"]["code"], "model_not_found");
        assert_eq!(
            Shape::for_path("/v1/messages/count_tokens"),
            Shape::Anthropic
        );
        assert_eq!(Shape::for_path("/v1/responses"), Shape::OpenAi);
        assert_eq!(
            Shape::for_path("/v1beta/models/g:generateContent"),
            Shape::Gemini
        );
        assert_eq!(Shape::for_path("/v1betax"), Shape::OpenAi);
        assert_eq!(
            Shape::for_path("/v1/models/g:generateContent"),
            Shape::Gemini
        );
        assert_eq!(Shape::for_path("/v1/models/gpt-4o"), Shape::OpenAi);
        let g = ProxyError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "no contents",
            Shape::Gemini,
        );
        assert_eq!(g.body()["error"]["code"], 400);
        assert_eq!(g.body()["error"]["status"], "INVALID_ARGUMENT");
        assert_eq!(g.body()["error"]["message"], "no contents");
        assert_eq!(g.body()["error"]["details"][0]["reason"], "invalid_request");
        assert_eq!(google_status(401), "UNAUTHENTICATED");
        assert_eq!(google_status(429), "RESOURCE_EXHAUSTED");
        assert_eq!(google_status(502), "UNAVAILABLE");
        assert_eq!(google_status(500), "INTERNAL");
    }

    #[test]
    fn stream_error_events_read_as_errors_by_our_own_meter() {
        for p in Protocol::ALL {
            let bytes = stream_error_event(p, "seller went away");
            let mut seen = Vec::new();
            SseSplitter::new().push(&bytes, |e| seen.push(event::inspect(p, e.event, e.data)));
            assert_eq!(seen.len(), 1, "{p}");
            assert!(seen[0].error, "{p}");
        }
    }
}
