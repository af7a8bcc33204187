//! Who may talk to the proxy: the access token on `/v1/*`, `/v1beta/*` and
//! `/api/*`, and loopback Host/Origin headers on everything (so no web
//! page, via DNS rebinding or a cross-origin fetch, can use it).
//!
//! The token is read where each protocol's clients send their key:
//! `Authorization: Bearer`, `x-api-key`, and Gemini's `x-goog-api-key`;
//! Gemini clients may also put it in the query as `?key=`, which is
//! honoured on Gemini's paths only (`respond::is_gemini_path`; a `key`
//! query elsewhere is ignored). The
//! query never reaches a seller (upstream URLs are built afresh) nor a log
//! (only paths are logged).

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

use super::respond::{ProxyError, Shape};

/// What the guards compare against.
#[derive(Debug)]
pub struct Access {
    /// The per-install access token.
    pub token: String,
    /// The port we listen on.
    pub port: u16,
}

const LOOPBACK_NAMES: [&str; 3] = ["127.0.0.1", "localhost", "[::1]"];

/// Whether a `host[:port]` names this server on loopback.
pub fn is_our_host(host: &str, port: u16) -> bool {
    let (name, host_port) = match host.rsplit_once(':') {
        // `[::1]` alone has colons inside the brackets.
        Some((n, p)) if !p.contains(']') => (n, Some(p)),
        _ => (host, None),
    };
    let name_ok = LOOPBACK_NAMES.iter().any(|n| n.eq_ignore_ascii_case(name));
    let port_ok = match host_port {
        Some(p) => p.parse::<u16>() == Ok(port),
        None => port == 80,
    };
    name_ok && port_ok
}

/// Whether an `Origin` header value is our own page.
fn is_our_origin(origin: &str, port: u16) -> bool {
    origin
        .strip_prefix("http://")
        .is_some_and(|host| is_our_host(host, port))
}

/// Refuses requests whose Host (or Origin, when sent) is not us on loopback.
pub async fn host_guard(State(access): State<Arc<Access>>, req: Request, next: Next) -> Response {
    let headers = req.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()));
    let host_ok = host.is_some_and(|h| is_our_host(h, access.port));
    let origin_ok = headers
        .get(header::ORIGIN)
        .is_none_or(|o| o.to_str().is_ok_and(|o| is_our_origin(o, access.port)));
    if host_ok && origin_ok {
        return next.run(req).await;
    }
    let message = if host_ok {
        "cross-origin requests are refused: TokenBuddy only serves its own page"
    } else {
        "Host header refused: TokenBuddy only answers to 127.0.0.1 or localhost on its own port"
    };
    ProxyError::new(
        StatusCode::FORBIDDEN,
        "forbidden_host",
        message,
        Shape::for_path(req.uri().path()),
    )
    .into_response()
}

/// The token a request carries: its headers' ([`header_token`]), else on
/// `/v1beta/*` the `key` query parameter Gemini clients may use.
fn presented_token<'a>(headers: &'a HeaderMap, uri: &'a Uri) -> Option<&'a str> {
    header_token(headers).or_else(|| gemini_query_key(uri))
}

/// `?key=` on a Gemini path (tokens are hex: no percent-decoding needed;
/// an encoded one just does not match).
fn gemini_query_key(uri: &Uri) -> Option<&str> {
    if !super::respond::is_gemini_path(uri.path()) {
        return None;
    }
    uri.query()?
        .split('&')
        .find_map(|pair| pair.strip_prefix("key="))
}

/// The token in `Authorization: Bearer`, `x-api-key` or `x-goog-api-key`.
fn header_token(headers: &HeaderMap) -> Option<&str> {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let v = v.trim();
        if let Some(t) = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
        {
            return Some(t.trim());
        }
    }
    ["x-api-key", "x-goog-api-key"].iter().find_map(|name| {
        headers
            .get(*name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    })
}

/// Compares in constant time (`subtle`, which keeps the optimiser from
/// adding an early exit), so timing does not leak the token. Only the length
/// may show, and every token is 64 hex digits.
fn same_token(presented: &str, token: &str) -> bool {
    use subtle::ConstantTimeEq;
    presented.as_bytes().ct_eq(token.as_bytes()).into()
}

/// Requires the access token; answers 401 in the called protocol's shape
/// (and never with `WWW-Authenticate`, which makes some clients loop).
pub async fn require_token(
    State(access): State<Arc<Access>>,
    req: Request,
    next: Next,
) -> Response {
    match presented_token(req.headers(), req.uri()) {
        Some(t) if same_token(t, &access.token) => next.run(req).await,
        presented => {
            let message = if presented.is_some() {
                "invalid TokenBuddy access token (see `tokenbuddy token`)"
            } else if super::respond::is_gemini_path(req.uri().path()) {
                "missing TokenBuddy access token: send `x-goog-api-key: <token>` (or `?key=<token>`) (see `tokenbuddy token`)"
            } else {
                "missing TokenBuddy access token: send `Authorization: Bearer <token>` or `x-api-key: <token>` (see `tokenbuddy token`)"
            };
            ProxyError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_api_key",
                message,
                Shape::for_path(req.uri().path()),
            )
            .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        assert!(is_our_host("127.0.0.1:7333", 7333));
        assert!(is_our_host("localhost:7333", 7333));
        assert!(is_our_host("LOCALHOST:7333", 7333));
        assert!(is_our_host("[::1]:7333", 7333));
        assert!(!is_our_host("[::1]", 7333));
        assert!(!is_our_host("127.0.0.1:7334", 7333));
        assert!(!is_our_host("evil.example:7333", 7333));
        assert!(!is_our_host("127.0.0.1.evil.example:7333", 7333));
        assert!(!is_our_host("localhost", 7333));
        assert!(is_our_origin("http://localhost:7333", 7333));
        assert!(!is_our_origin("https://evil.example", 7333));
    }

    #[test]
    fn gemini_keys() {
        let uri = |u: &str| u.parse::<Uri>().unwrap();
        let none = HeaderMap::new();
        let gem = uri("/v1beta/models/g:generateContent?alt=sse&key=k1");
        assert_eq!(presented_token(&none, &gem), Some("k1"));
        // Only on Gemini's paths.
        assert_eq!(presented_token(&none, &uri("/v1/messages?key=k1")), None);
        assert_eq!(
            presented_token(&none, &uri("/v1/models/g:generateContent?key=k1")),
            Some("k1")
        );
        assert_eq!(presented_token(&none, &uri("/v1/models?key=k1")), None);
        assert_eq!(presented_token(&none, &uri("/api/stats?key=k1")), None);
        assert_eq!(presented_token(&none, &uri("/v1betax?key=k1")), None);
        assert_eq!(
            presented_token(&none, &uri("/v1beta/models?monkey=k1")),
            None
        );
        let mut h = HeaderMap::new();
        h.insert("x-goog-api-key", " k2 ".parse().unwrap());
        assert_eq!(presented_token(&h, &uri("/v1beta/models")), Some("k2"));
        // A header wins over the query.
        assert_eq!(presented_token(&h, &gem), Some("k2"));
    }

    #[test]
    fn tokens() {
        let mut h = HeaderMap::new();
        assert_eq!(header_token(&h), None);
        h.insert("x-api-key", "abc".parse().unwrap());
        assert_eq!(header_token(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, "Bearer xyz".parse().unwrap());
        assert_eq!(header_token(&h), Some("xyz"));
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd"));
        assert!(!same_token("abd", "abc"));
        assert!(!same_token("abc", "ab"));
        assert!(!same_token("", "abc"));
        assert!(same_token("", ""));
    }
}
