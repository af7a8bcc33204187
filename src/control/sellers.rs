//! `GET /api/sellers`: every seller with its live statistics, and the state
//! of the sellers file (so a broken edit is visible, not just logged).

use axum::extract::State;
use axum::Json;
use serde::Serialize;

use crate::pool::StatsSnapshot;
use crate::proxy::Proxy;

/// One seller as the API shows it (never its key).
#[derive(Debug, Serialize)]
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
    /// Live statistics.
    pub stats: StatsSnapshot,
}

/// The sellers file's state.
#[derive(Debug, Serialize)]
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
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SellersView {
    /// Sellers in try order.
    pub sellers: Vec<SellerView>,
    /// File state.
    pub file: FileView,
}

/// `GET /api/sellers`.
pub async fn list(State(p): State<Proxy>) -> Json<SellersView> {
    let (now, wall) = (p.clock.now(), p.clock.wall());
    let set = p.sellers.snapshot();
    let status = p.sellers.status();
    let sellers = set
        .sellers
        .iter()
        .map(|s| SellerView {
            id: s.id.to_string(),
            name: s.name.clone(),
            base_url: s.base_url.clone(),
            protocols: s.protocols.iter().map(|p| p.as_str()).collect(),
            models: s.models.iter().map(|m| m.name.clone()).collect(),
            discount_ratio: s.discount_ratio,
            service_fee_ratio: s.service_fee_ratio,
            priority: s.priority,
            max_concurrency: s.max_concurrency,
            stats: p.pool.stats(&s.id).snapshot(now, wall),
        })
        .collect();
    Json(SellersView {
        sellers,
        file: FileView {
            path: p.sellers.path().display().to_string(),
            generation: status.generation,
            error: status.error.map(|e| e.to_string()),
        },
    })
}
