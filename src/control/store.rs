//! The store's `/api`: the request log (`/api/requests`, one row with its
//! attempt trail, and `/api/requests/live` as Server-Sent Events), usage,
//! seller history and the store's own status. camelCase JSON throughout;
//! the server layers the token guard on.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRef, Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::{Json, Router};
use futures_util::{Stream, StreamExt};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{query, ApiError, ErrorBody};
use crate::store::query::parse_time;
use crate::store::{
    HistoryPoint, HistoryQuery, RequestPage, RequestQuery, RequestRow, Store, StoreError,
    StoreStatus, UsageBy, UsageQuery, UsageRow,
};

/// How often a live client gets a keep-alive comment while nothing happens.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// What the routes share: the store, and the shutdown that ends live streams
/// (a connected `requests --follow` must not hold a stopping server up).
#[derive(Clone)]
pub struct Api {
    store: Store,
    shutdown: CancellationToken,
}

impl FromRef<Api> for Store {
    fn from_ref(api: &Api) -> Store {
        api.store.clone()
    }
}

/// The store's routes, described.
pub fn routes() -> OpenApiRouter<Api> {
    OpenApiRouter::new()
        .routes(routes!(requests))
        .routes(routes!(live))
        .routes(routes!(request))
        .routes(routes!(usage))
        .routes(routes!(history))
        .routes(routes!(status))
}

/// The store's routes; live streams end when `shutdown` fires.
pub fn router(store: Store, shutdown: CancellationToken) -> Router {
    routes()
        .with_state(Api { store, shutdown })
        .split_for_parts()
        .0
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::BadQuery(m) => ApiError::bad_request(m),
            other => ApiError::internal(other.to_string()),
        }
    }
}

fn time(name: &str, v: Option<String>) -> Result<Option<i64>, ApiError> {
    v.filter(|s| !s.trim().is_empty())
        .map(|s| parse_time(&s).map_err(|e| ApiError::bad_request(format!("{name}: {e}"))))
        .transpose()
}

/// `GET /api/requests?limit&before&seller&agent&model&status`.
#[utoipa::path(get, path = "/api/requests", operation_id = "listRequests", tag = "store", params(RequestQuery),
    responses(
        (status = 200, description = "A page of the request log, newest first", body = RequestPage),
        (status = 400, description = "A bad filter or cursor", body = ErrorBody)))]
async fn requests(
    State(store): State<Store>,
    q: Result<Query<RequestQuery>, QueryRejection>,
) -> Result<Json<RequestPage>, ApiError> {
    Ok(Json(store.requests(query(q)?).await?))
}

/// `GET /api/requests/{id}`.
#[utoipa::path(get, path = "/api/requests/{id}", operation_id = "getRequest", tag = "store",
    params(("id" = i64, Path, description = "The row's id")),
    responses(
        (status = 200, description = "One row with its attempt trail", body = RequestRow),
        (status = 404, description = "Pruned, or never recorded", body = ErrorBody)))]
async fn request(
    State(store): State<Store>,
    Path(id): Path<String>,
) -> Result<Json<RequestRow>, ApiError> {
    let n: i64 = id
        .parse()
        .map_err(|_| ApiError::bad_request(format!("{id:?} is not a request id (a number)")))?;
    store.request(n).await?.map(Json).ok_or_else(|| ApiError {
        status: StatusCode::NOT_FOUND,
        message: format!("no request {n} in the log (pruned, or never recorded)"),
    })
}

/// The query of `GET /api/usage`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct UsageParams {
    /// From: ms since the epoch, a UTC date or an RFC 3339 time (default: 7 days before `to`).
    from: Option<String>,
    /// Until, inclusive (default: now).
    to: Option<String>,
    /// `seller` (default), `model`, `agent` or `day`.
    by: Option<String>,
}

/// `GET /api/usage?from&to&by=seller|model|agent|day`.
#[utoipa::path(get, path = "/api/usage", operation_id = "usage", tag = "store", params(UsageParams),
    responses(
        (status = 200, description = "Tokens and cost per group", body = Vec<UsageRow>),
        (status = 400, description = "A bad time or grouping", body = ErrorBody)))]
async fn usage(
    State(store): State<Store>,
    q: Result<Query<UsageParams>, QueryRejection>,
) -> Result<Json<Vec<UsageRow>>, ApiError> {
    let p = query(q)?;
    let by = match p.by.as_deref() {
        None | Some("") => UsageBy::default(),
        Some(b) => b.parse()?,
    };
    let q = UsageQuery {
        from_ms: time("from", p.from)?,
        to_ms: time("to", p.to)?,
        by,
    };
    Ok(Json(store.usage(q).await?))
}

/// The query of `GET /api/history`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct HistoryParams {
    /// Only this seller (default: all, one series each).
    seller: Option<String>,
    /// From (default: an hour before `to`).
    from: Option<String>,
    /// Until, exclusive (default: now).
    to: Option<String>,
    /// Seconds (`300`) or a duration (`5m`), at least a minute (default: a minute).
    step: Option<String>,
}

/// A step as seconds (`300`) or a duration (`5m`), at least a minute.
fn step_ms(s: &str) -> Result<i64, ApiError> {
    let d = match s.trim().parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => humantime::parse_duration(s.trim()).map_err(|_| {
            ApiError::bad_request(format!(
                "step={s:?}: write seconds (300) or a duration (5m)"
            ))
        })?,
    };
    if d < Duration::from_secs(60) {
        return Err(ApiError::bad_request(format!(
            "step={s:?}: at least 60 s (history is kept per minute)"
        )));
    }
    Ok(d.as_millis() as i64)
}

/// `GET /api/history?seller&from&to&step`.
#[utoipa::path(get, path = "/api/history", operation_id = "history", tag = "store", params(HistoryParams),
    responses(
        (status = 200, description = "Per-step TTFT and throughput of each seller", body = Vec<HistoryPoint>),
        (status = 400, description = "A bad time or step", body = ErrorBody)))]
async fn history(
    State(store): State<Store>,
    q: Result<Query<HistoryParams>, QueryRejection>,
) -> Result<Json<Vec<HistoryPoint>>, ApiError> {
    let p = query(q)?;
    let q = HistoryQuery {
        seller: p.seller.filter(|s| !s.is_empty()),
        from_ms: time("from", p.from)?,
        to_ms: time("to", p.to)?,
        step_ms: p.step.as_deref().map(step_ms).transpose()?,
    };
    Ok(Json(store.history(q).await?))
}

/// `GET /api/store`.
#[utoipa::path(get, path = "/api/store", operation_id = "storeStatus", tag = "store",
    responses((status = 200, description = "How the store is doing", body = StoreStatus)))]
async fn status(State(store): State<Store>) -> Json<StoreStatus> {
    Json(store.status())
}

/// `GET /api/requests/live`: one `request` event per committed row; a
/// keep-alive comment only while a client is connected.
#[utoipa::path(get, path = "/api/requests/live", operation_id = "followRequests", tag = "store",
    responses((status = 200, description = "Server-Sent Events: one `request` event (a RequestRow) per committed row", content_type = "text/event-stream")))]
async fn live(State(api): State<Api>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = api.store.subscribe();
    let events = futures_util::stream::unfold(rx, |mut rx| async move {
        let event = match rx.recv().await {
            Ok(row) => Event::default()
                .event("request")
                .json_data(&*row)
                .unwrap_or_else(|e| Event::default().comment(format!("unserialisable row: {e}"))),
            // A client too slow for the stream is told what it missed.
            Err(RecvError::Lagged(n)) => Event::default().comment(format!("missed {n} rows")),
            Err(RecvError::Closed) => return None,
        };
        Some((Ok(event), rx))
    })
    .take_until(api.shutdown.cancelled_owned());
    Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
}
