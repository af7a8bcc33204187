//! Gemini's routes, as Google serves them under `/v1beta`:
//! `POST /v1beta/models/<model>:generateContent`, `:streamGenerateContent`
//! (`?alt=sse`), `:countTokens`, and `GET /v1beta/models[/<model>]`; the
//! same methods under `/v1/models/<model>:…` too (google-genai 3 calls
//! `v1` by default; `GET /v1/models` stays the OpenAI-shaped list). The
//! model and the stream flag come from the path; the access token from
//! `x-goog-api-key` or `?key=` (`access.rs`). Every refusal answers in
//! Google's error shape.
//!
//! `countTokens` for a model no Gemini seller serves is answered with an
//! estimate (marked in `x-tokenbuddy-token-count`, see `forward.rs`): a chat
//! seller has no count endpoint to ask.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{middleware, Json, Router};
use serde_json::{json, Value};

use super::forward::Endpoint;
use super::rejection::{shape_rejections, ClientBody};
use super::request::PathHead;
use super::respond::{ProxyError, Shape};
use super::routes::{listed_models, unless_paused};
use super::Proxy;
use crate::protocol::Protocol;

/// What Gemini lists each model as supporting (all of which we serve).
const METHODS: [&str; 3] = ["generateContent", "streamGenerateContent", "countTokens"];

/// The `/v1beta/*` routes (access checks are layered on by the server).
pub fn router(proxy: Proxy) -> Router {
    Router::new()
        .route("/v1beta/models/{name}", get(one_model).post(call))
        .route("/v1/models/{name}", axum::routing::post(call))
        .route_layer(middleware::from_fn_with_state(proxy.clone(), unless_paused))
        .route("/v1beta/models", get(models))
        .layer(middleware::from_fn(shape_rejections))
        .with_state(proxy)
}

/// A path's `<model>:<action>`, split at the last `:`.
#[derive(Debug, PartialEq, Eq)]
pub enum Call<'a> {
    /// `generateContent`, or `streamGenerateContent` (`stream`).
    Generate { model: &'a str, stream: bool },
    /// `countTokens`.
    CountTokens { model: &'a str },
}

/// Reads `<model>:<action>`; `None` for an action TokenBuddy does not serve.
pub fn parse_call(name: &str) -> Option<Call<'_>> {
    let (model, action) = name.rsplit_once(':')?;
    let model = model.strip_prefix("models/").unwrap_or(model);
    if model.is_empty() {
        return None;
    }
    match action {
        "generateContent" => Some(Call::Generate {
            model,
            stream: false,
        }),
        "streamGenerateContent" => Some(Call::Generate {
            model,
            stream: true,
        }),
        "countTokens" => Some(Call::CountTokens { model }),
        _ => None,
    }
}

fn error(status: StatusCode, code: &'static str, message: String) -> Response {
    ProxyError::new(status, code, message, Shape::Gemini).into_response()
}

async fn call(
    State(p): State<Proxy>,
    Path(name): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    ClientBody(body): ClientBody,
) -> Response {
    let Some(call) = parse_call(&name) else {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!(
                "TokenBuddy has no Gemini method `{name}`: it serves <model>:generateContent, :streamGenerateContent and :countTokens"
            ),
        );
    };
    match call {
        Call::Generate { model, stream } => {
            let sse = uri
                .query()
                .is_some_and(|q| q.split('&').any(|kv| kv == "alt=sse"));
            if stream && !sse {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "TokenBuddy streams Gemini answers as server-sent events only: call :streamGenerateContent?alt=sse".into(),
                );
            }
            let head = PathHead {
                model: model.to_string(),
                stream,
            };
            p.handle_at(
                Protocol::Gemini,
                Endpoint::Generate,
                headers,
                body,
                Some(head),
            )
            .await
        }
        Call::CountTokens { model } => {
            // With no Gemini seller for the model, `handle_at` answers an
            // estimate (a chat seller has no count endpoint).
            let head = PathHead {
                model: model.to_string(),
                stream: false,
            };
            p.handle_at(
                Protocol::Gemini,
                Endpoint::CountTokens,
                headers,
                body,
                Some(head),
            )
            .await
        }
    }
}

fn entry(id: &str) -> Value {
    json!({
        "name": format!("models/{id}"),
        "displayName": id,
        "supportedGenerationMethods": METHODS,
    })
}

/// The same models as `/v1/models`, in Gemini's list shape.
async fn models(State(p): State<Proxy>) -> Response {
    let models: Vec<Value> = listed_models(&p).keys().map(|id| entry(id)).collect();
    Json(json!({"models": models})).into_response()
}

/// One model, or Google's 404.
async fn one_model(State(p): State<Proxy>, Path(name): Path<String>) -> Response {
    let id = name.strip_prefix("models/").unwrap_or(&name);
    if listed_models(&p).contains_key(id) {
        return Json(entry(id)).into_response();
    }
    error(
        StatusCode::NOT_FOUND,
        "model_not_found",
        format!("no seller serves model \"{id}\""),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_split_at_the_last_colon() {
        assert_eq!(
            parse_call("gemini-2.5-pro:streamGenerateContent"),
            Some(Call::Generate {
                model: "gemini-2.5-pro",
                stream: true
            })
        );
        assert_eq!(
            parse_call("ft:a:b:generateContent"),
            Some(Call::Generate {
                model: "ft:a:b",
                stream: false
            })
        );
        assert_eq!(
            parse_call("g:countTokens"),
            Some(Call::CountTokens { model: "g" })
        );
        assert_eq!(parse_call("g:embedContent"), None);
        assert_eq!(parse_call("g"), None);
        assert_eq!(parse_call(":generateContent"), None);
    }
}
