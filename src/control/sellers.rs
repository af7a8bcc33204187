//! `GET /api/sellers`: every seller with its live statistics, and the state
//! of the sellers file (so a broken edit is visible, not just logged).

use axum::extract::State;
use axum::Json;
use serde::Serialize;

use std::collections::BTreeMap;

use crate::pool::StatsSnapshot;
use crate::proxy::Proxy;
use crate::sellers::Prices;
use crate::store::CreditState;

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
    /// List prices per model the file sets (per million tokens).
    pub prices: BTreeMap<String, Prices>,
    /// The prepaid balance and what is spent of it, if the file sets `credits`.
    pub credits: Option<CreditView>,
    /// Live statistics.
    pub stats: StatsSnapshot,
}

/// A seller's credits as the API shows them.
#[derive(Debug, Serialize)]
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
            prices: s.prices.clone(),
            credits: p.store.credit(s.id.as_str()).map(CreditView::from),
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
