//! Test fixtures shared by the scheduler's unit tests: sellers and
//! candidates with just the inputs a test cares about.

use std::sync::Arc;

use super::{Candidate, Inputs, Plan};
use crate::protocol::Protocol;
use crate::sellers::{Secret, Seller};

/// A seller at `price` with an optional concurrency limit.
pub fn seller(id: &str, price: f64, max_concurrency: Option<u32>) -> Arc<Seller> {
    Arc::new(Seller {
        id: id.into(),
        name: id.into(),
        base_url: "http://x".into(),
        api_key: Secret::new("k"),
        protocols: vec![Protocol::OpenAiChat],
        models: vec![],
        discount_ratio: price,
        service_fee_ratio: 0.0,
        priority: 0,
        max_concurrency,
        prices: Default::default(),
        credits: None,
        translation: true,
    })
}

/// A healthy candidate measured at `ttft` (100 tok/s), or unmeasured, maybe out.
pub fn candidate(id: &str, ttft: Option<f64>, price: f64, out: Option<&str>) -> Candidate {
    Candidate {
        seller: seller(id, price, Some(2)),
        inputs: Inputs {
            ttft_ms: ttft,
            tokens_per_sec: ttft.map(|_| 100.0),
            health: 1.0,
            price,
        },
        out: out.map(str::to_string),
        excluded: None,
        via: None,
    }
}

/// The plan's seller ids in order.
pub fn order(p: &Plan) -> Vec<&str> {
    p.ranked.iter().map(|r| r.seller.id.as_str()).collect()
}
