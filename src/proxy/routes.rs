//! The `/v1/*` routes agents call (and, merged in, Gemini's `/v1beta/*`,
//! `gemini_routes.rs`). While the proxy is paused every call that would
//! reach a seller answers 503 `paused`; `/v1/models` still answers.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{middleware, Json, Router};
use serde_json::json;

use super::forward::Endpoint;
use super::rejection::{shape_rejections, ClientBody};
use super::respond::{ProxyError, Shape};
use super::Proxy;
use crate::pool::models::{union, ModelSource};
use crate::protocol::Protocol;

/// Largest request body accepted (agents send long contexts and images).
pub const MAX_BODY: usize = 64 << 20;

/// `/v1/*` routes (access checks are layered on by the server). Every
/// rejection on them, the framework's too, answers in the protocol's shape.
pub fn router(proxy: Proxy) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(chat))
        .route("/v1/responses", post(responses))
        .route("/v1/messages", post(messages))
        .route("/v1/messages/count_tokens", post(count_tokens))
        .route_layer(middleware::from_fn_with_state(proxy.clone(), unless_paused))
        .route("/v1/models", get(models))
        .layer(middleware::from_fn(shape_rejections))
        .with_state(proxy.clone())
        .merge(super::gemini_routes::router(proxy))
}

/// What a paused proxy answers, in the called protocol's shape.
pub fn paused(shape: Shape) -> ProxyError {
    ProxyError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "paused",
        "TokenBuddy is paused: resume it in the control panel, with `tokenbuddy resume` or PUT /api/proxy {\"enabled\": true}",
        shape,
    )
}

/// Answers `paused` instead of running the call while the proxy is off.
pub(super) async fn unless_paused(
    State(p): State<Proxy>,
    req: axum::extract::Request,
    next: Next,
) -> Response {
    if p.scheduler.proxy_enabled() {
        return next.run(req).await;
    }
    paused(Shape::for_path(req.uri().path())).into_response()
}

async fn chat(
    State(p): State<Proxy>,
    headers: HeaderMap,
    ClientBody(body): ClientBody,
) -> Response {
    p.handle(Protocol::OpenAiChat, Endpoint::Generate, headers, body)
        .await
}

async fn responses(
    State(p): State<Proxy>,
    headers: HeaderMap,
    ClientBody(body): ClientBody,
) -> Response {
    p.handle(Protocol::OpenAiResponses, Endpoint::Generate, headers, body)
        .await
}

async fn messages(
    State(p): State<Proxy>,
    headers: HeaderMap,
    ClientBody(body): ClientBody,
) -> Response {
    p.handle(
        Protocol::AnthropicMessages,
        Endpoint::Generate,
        headers,
        body,
    )
    .await
}

async fn count_tokens(
    State(p): State<Proxy>,
    headers: HeaderMap,
    ClientBody(body): ClientBody,
) -> Response {
    p.handle(
        Protocol::AnthropicMessages,
        Endpoint::CountTokens,
        headers,
        body,
    )
    .await
}

/// The union of the sellers' declared models (and, for a seller that takes
/// any model, the models it prices) and the models sellers that take any
/// model reported of themselves, in a shape both the OpenAI (`object`,
/// `owned_by`) and Anthropic (`type`, `display_name`, `has_more`) SDKs read.
/// Declared names and aliases win; a learned entry says so and by whom in
/// an extra `tokenbuddy` field (the SDKs ignore unknown fields). A declaring
/// seller's own list is not added: requests for it would not go there.
async fn models(State(p): State<Proxy>) -> Response {
    let listed = listed_models(&p);
    let data: Vec<_> = listed
        .iter()
        .map(|(m, source)| {
            let mut entry = json!({
                "id": m, "object": "model", "created": 0, "owned_by": "tokenbuddy",
                "type": "model", "display_name": m, "created_at": "1970-01-01T00:00:00Z",
            });
            if let ModelSource::Learned(sellers) = source {
                entry["tokenbuddy"] = json!({"source": "learned", "sellers": sellers});
            }
            entry
        })
        .collect();
    Json(json!({
        "object": "list",
        "data": data,
        "has_more": false,
        "first_id": listed.keys().next(),
        "last_id": listed.keys().next_back(),
    }))
    .into_response()
}

/// The models `/v1/models` (and Gemini's `/v1beta/models`) list: see [`models`].
pub(super) fn listed_models(p: &Proxy) -> std::collections::BTreeMap<String, ModelSource> {
    let set = p.sellers.snapshot();
    let mut declared = set.models();
    declared.extend(
        set.sellers
            .iter()
            .filter(|s| s.models.is_empty())
            .flat_map(|s| s.prices.keys().map(String::as_str)),
    );
    let learned: Vec<_> = set
        .sellers
        .iter()
        .filter(|s| s.models.is_empty())
        .filter_map(|s| {
            let l = p.pool.models().learned(&s.id, &s.base_url)?;
            Some((s.id.as_str(), l.ids))
        })
        .collect();
    union(declared, learned.iter().map(|(id, ids)| (*id, &ids[..])))
}
