//! `GET /api/sellers`: every seller with its live statistics, and the state
//! of the sellers file (so a broken edit is visible, not just logged);
//! `POST /api/sellers`, `PUT|DELETE /api/sellers/{id}`: add, edit and remove
//! a seller in `sellers.yaml`, in place (`sellers::write`), the typed key
//! kept outside the file and never answered back.

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::error::{ApiError, ErrorBody};
use crate::sellers::edit::{Change, EditError, KeySource, SellerSpec};
use crate::sellers::write::{self, SaveError};
use crate::sellers::{Secret, Seller};

use std::collections::BTreeMap;

use super::stats_view::StatsView;
use crate::proxy::Proxy;
use crate::sellers::Prices;
use crate::store::CreditState;

/// One seller as the API shows it (never its key).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SellerView {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Normalised base URL.
    pub base_url: String,
    /// Protocols accepted.
    pub protocols: Vec<&'static str>,
    /// Model names served (empty = any).
    pub models: Vec<String>,
    /// Price multiplier.
    pub discount_ratio: f64,
    /// Fee on top.
    pub service_fee_ratio: f64,
    /// Priority.
    pub priority: i32,
    /// Concurrency limit.
    pub max_concurrency: Option<u32>,
    /// List prices per model the file sets (per million tokens).
    pub prices: BTreeMap<String, Prices>,
    /// The prepaid balance and what is spent of it, if the file sets `credits`.
    pub credits: Option<CreditView>,
    /// Live statistics.
    pub stats: StatsView,
    /// The name of the key stored outside the file (`api_key_ref`), if so.
    pub key_ref: Option<String>,
}

/// A seller's credits as the API shows them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreditView {
    /// The balance the sellers file states.
    pub balance: f64,
    /// Spent since that balance was set.
    pub spent: f64,
    /// Balance minus spent.
    pub remaining: f64,
    /// When the balance was set, in ms since the Unix epoch.
    pub since_ms: i64,
    /// At least 80 % spent.
    pub low: bool,
    /// Nothing left: the seller is not tried ("credits exhausted").
    pub exhausted: bool,
}

impl From<CreditState> for CreditView {
    fn from(c: CreditState) -> Self {
        CreditView {
            balance: c.balance,
            spent: c.spent,
            remaining: c.remaining(),
            since_ms: c.since_ms,
            low: c.low(),
            exhausted: c.exhausted(),
        }
    }
}

/// The sellers file's state.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileView {
    /// Path.
    pub path: String,
    /// Generation serving now (0 = as started).
    pub generation: u64,
    /// One-line error of the last reload, if it failed.
    pub error: Option<String>,
}

/// The whole answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SellersView {
    /// Sellers in try order.
    pub sellers: Vec<SellerView>,
    /// File state.
    pub file: FileView,
}

/// The `api_key_ref` each seller of the file names (by id).
fn key_refs(p: &Proxy) -> BTreeMap<String, String> {
    let path = p.sellers.path();
    let Ok(Some(bytes)) = crate::sellers::file::read(path) else {
        return BTreeMap::new();
    };
    let text = String::from_utf8_lossy(&bytes);
    crate::sellers::edit::parse_for_check(path, &text)
        .map(|sellers| {
            sellers
                .into_iter()
                .filter_map(|s| {
                    let r = s.api_key.expose().strip_prefix("ref:")?.to_string();
                    Some((s.id.to_string(), r))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn view(p: &Proxy, s: &Seller, refs: &BTreeMap<String, String>) -> SellerView {
    let (now, wall) = (p.clock.now(), p.clock.wall());
    SellerView {
        id: s.id.to_string(),
        name: s.name.clone(),
        base_url: s.base_url.clone(),
        protocols: s.protocols.iter().map(|p| p.as_str()).collect(),
        models: s.models.iter().map(|m| m.name.clone()).collect(),
        discount_ratio: s.discount_ratio,
        service_fee_ratio: s.service_fee_ratio,
        priority: s.priority,
        max_concurrency: s.max_concurrency,
        prices: s.prices.clone(),
        credits: p.store.credit(s.id.as_str()).map(CreditView::from),
        stats: p.pool.stats(&s.id).snapshot(now, wall).into(),
        key_ref: refs.get(s.id.as_str()).cloned(),
    }
}

/// `GET /api/sellers`.
#[utoipa::path(get, path = "/api/sellers", operation_id = "listSellers", tag = "sellers",
    responses((status = 200, description = "Every seller in try order, with live statistics, and the sellers file's state", body = SellersView)))]
pub async fn list(State(p): State<Proxy>) -> Json<SellersView> {
    let set = p.sellers.snapshot();
    let status = p.sellers.status();
    let refs = key_refs(&p);
    let sellers = set.sellers.iter().map(|s| view(&p, s, &refs)).collect();
    Json(SellersView {
        sellers,
        file: FileView {
            path: p.sellers.path().display().to_string(),
            generation: status.generation,
            error: status.error.map(|e| e.to_string()),
        },
    })
}

/// The body of `POST /api/sellers` and `PUT /api/sellers/{id}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SellerBody {
    /// Unique id (required to add; on edit, absent or the path's).
    #[serde(default)]
    pub id: Option<String>,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Base URL.
    pub base_url: String,
    /// The key, stored outside the file (on edit, absent keeps the stored one).
    #[serde(default)]
    pub api_key: Option<String>,
    /// Or the environment variable that holds it.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Protocols accepted.
    pub protocols: Vec<String>,
    /// Model names served (absent or empty: any).
    #[serde(default)]
    pub models: Option<Vec<String>>,
    /// Price multiplier.
    #[serde(default)]
    pub discount_ratio: Option<f64>,
    /// Fee on top.
    #[serde(default)]
    pub service_fee_ratio: Option<f64>,
    /// Priority.
    #[serde(default)]
    pub priority: Option<i32>,
    /// Concurrency limit.
    #[serde(default)]
    pub max_concurrency: Option<u32>,
    /// Prepaid balance.
    #[serde(default)]
    pub credits: Option<f64>,
}

impl SellerBody {
    /// The spec and the typed key, or which field is wrong.
    pub fn into_spec(self, id: String) -> Result<(SellerSpec, Option<Secret>), EditError> {
        let bad = |field, message: String| EditError::BadField { field, message };
        let mut protocols = Vec::new();
        for p in &self.protocols {
            protocols.push(
                p.parse().map_err(|e: crate::protocol::UnknownProtocol| {
                    bad("protocols", e.to_string())
                })?,
            );
        }
        let key = self.api_key.map(|k| k.trim().to_string());
        if key.as_deref() == Some("") {
            return Err(bad("apiKey", "is empty".into()));
        }
        let source = match (&key, self.api_key_env) {
            (Some(_), Some(_)) => {
                return Err(bad("apiKey", "give apiKey or apiKeyEnv, not both".into()))
            }
            (Some(_), None) => KeySource::Stored(id.clone()),
            (None, Some(var)) => KeySource::Env(var.trim().to_string()),
            (None, None) => KeySource::Keep,
        };
        let spec = SellerSpec {
            id,
            name: self
                .name
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty()),
            base_url: self.base_url.trim().to_string(),
            key: source,
            protocols,
            models: self.models.unwrap_or_default(),
            discount_ratio: self.discount_ratio,
            service_fee_ratio: self.service_fee_ratio,
            priority: self.priority,
            max_concurrency: self.max_concurrency,
            credits: self.credits,
        };
        Ok((spec, key.map(Secret::new)))
    }
}

/// A saved seller: the seller as it now serves, and where its typed key went.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SavedView {
    /// The seller.
    #[serde(flatten)]
    pub seller: SellerView,
    /// `"keychain"` or `"file"`, when a key was given.
    pub key_store: Option<&'static str>,
}

/// A save's error as HTTP.
pub fn status_of(e: &SaveError) -> StatusCode {
    match e {
        SaveError::Edit(EditError::BadField { .. }) => StatusCode::BAD_REQUEST,
        SaveError::Edit(EditError::NotFound(_)) => StatusCode::NOT_FOUND,
        SaveError::Edit(EditError::Exists(_) | EditError::Broken(_)) => StatusCode::CONFLICT,
        SaveError::Write(crate::atomic_file::WriteError::Changed { .. }) => StatusCode::CONFLICT,
        SaveError::Edit(EditError::Unsupported(_)) => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn api_error(e: SaveError) -> ApiError {
    let status = status_of(&e);
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        return ApiError::internal(e.to_string());
    }
    ApiError {
        status,
        message: e.to_string(),
    }
}

fn body(bytes: &Bytes) -> Result<SellerBody, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::bad_request(format!("the body: {e}")))
}

/// Saves off the async threads, then reloads so the answer (and the next
/// request) sees the new set at once.
async fn save(p: &Proxy, change: Change, key: Option<Secret>) -> Result<write::Saved, ApiError> {
    // A variable this process lacks would leave a file that does not load.
    if let Change::Add(SellerSpec {
        key: KeySource::Env(var),
        ..
    })
    | Change::Edit(SellerSpec {
        key: KeySource::Env(var),
        ..
    }) = &change
    {
        if std::env::var(var).map_or(true, |v| v.trim().is_empty()) {
            return Err(ApiError::bad_request(format!(
                "apiKeyEnv: {var} is not set in TokenBuddy's environment (set it and restart TokenBuddy, or give apiKey)"
            )));
        }
    }
    let path = p.sellers.path().to_path_buf();
    let saved = tokio::task::spawn_blocking(move || write::save(&path, change, key.as_ref()))
        .await
        .map_err(|e| ApiError::internal(format!("the save did not finish: {e}")))?
        .map_err(api_error)?;
    let sellers = p.sellers.clone();
    let reloaded = tokio::task::spawn_blocking(move || sellers.reload())
        .await
        .map_err(|e| ApiError::internal(format!("the reload did not finish: {e}")))?;
    if let Err(e) = reloaded {
        return Err(ApiError::internal(format!(
            "the sellers file was saved but does not load: {e}"
        )));
    }
    Ok(saved)
}

fn saved_view(p: &Proxy, id: &str, saved: &write::Saved) -> Result<SavedView, ApiError> {
    let set = p.sellers.snapshot();
    let seller = set
        .sellers
        .iter()
        .find(|s| s.id.as_str() == id)
        .ok_or_else(|| {
            ApiError::internal(format!("seller \"{id}\" was saved but is not serving"))
        })?;
    let refs: BTreeMap<String, String> = saved
        .key_ref
        .iter()
        .map(|r| (id.to_string(), r.clone()))
        .collect();
    Ok(SavedView {
        seller: view(p, seller, &refs),
        key_store: saved.key_store.map(|s| s.as_str()),
    })
}

/// `POST /api/sellers`: adds a seller → 201 with it.
#[utoipa::path(post, path = "/api/sellers", operation_id = "addSeller", tag = "sellers", request_body = SellerBody,
    responses(
        (status = 201, description = "Added to sellers.yaml, in place; serving now", body = SavedView),
        (status = 400, description = "A field is wrong (the message names it)", body = ErrorBody),
        (status = 409, description = "The id exists, or the file is broken or changed meanwhile", body = ErrorBody),
        (status = 422, description = "The file uses a shape TokenBuddy does not edit", body = ErrorBody)))]
pub async fn add(State(p): State<Proxy>, bytes: Bytes) -> Result<Response, ApiError> {
    let body = body(&bytes)?;
    let id = body
        .id
        .clone()
        .map(|i| i.trim().to_string())
        .ok_or_else(|| ApiError::bad_request("id: required"))?;
    let (spec, key) = body
        .into_spec(id.clone())
        .map_err(|e| api_error(e.into()))?;
    let saved = save(&p, Change::Add(spec), key).await?;
    Ok((StatusCode::CREATED, Json(saved_view(&p, &id, &saved)?)).into_response())
}

/// `PUT /api/sellers/{id}`: rewrites a seller's fields → 200 with it.
#[utoipa::path(put, path = "/api/sellers/{id}", operation_id = "editSeller", tag = "sellers", request_body = SellerBody,
    params(("id" = String, Path, description = "The seller's id")),
    responses(
        (status = 200, description = "Saved in place; serving now", body = SavedView),
        (status = 400, description = "A field is wrong (the message names it)", body = ErrorBody),
        (status = 404, description = "No such seller in the file", body = ErrorBody),
        (status = 409, description = "The file is broken or changed meanwhile", body = ErrorBody)))]
pub async fn edit(
    State(p): State<Proxy>,
    UrlPath(id): UrlPath<String>,
    bytes: Bytes,
) -> Result<Json<SavedView>, ApiError> {
    let body = body(&bytes)?;
    if body.id.as_deref().is_some_and(|b| b.trim() != id) {
        return Err(ApiError::bad_request(
            "id: differs from the URL's (an id cannot be changed: remove and add)",
        ));
    }
    let (spec, key) = body
        .into_spec(id.clone())
        .map_err(|e| api_error(e.into()))?;
    let saved = save(&p, Change::Edit(spec), key).await?;
    Ok(Json(saved_view(&p, &id, &saved)?))
}

/// `DELETE /api/sellers/{id}` → 204; its stored key goes too.
#[utoipa::path(delete, path = "/api/sellers/{id}", operation_id = "removeSeller", tag = "sellers",
    params(("id" = String, Path, description = "The seller's id")),
    responses(
        (status = 204, description = "Removed from the file, and its stored key with it"),
        (status = 404, description = "No such seller in the file", body = ErrorBody)))]
pub async fn remove(
    State(p): State<Proxy>,
    UrlPath(id): UrlPath<String>,
) -> Result<StatusCode, ApiError> {
    save(&p, Change::Remove(id), None).await?;
    Ok(StatusCode::NO_CONTENT)
}
