//! The three sellers `tokenbuddy serve --demo` starts: fast, cheap, flaky,
//! and the demo models they price (so cost shows and model pickers have
//! entries). They still pass any other model through, so an agent pointed
//! at the demo works with whatever model it asks for.

use std::time::Duration;

use super::behavior::{Behavior, Failure};
use crate::sellers::Prices;

/// The demo models with their list prices (per million tokens): one for
/// the OpenAI protocols, one for Anthropic's, one small for any.
pub const DEMO_MODELS: [(&str, Prices); 3] = [
    ("gpt-demo", price(2.5, 10.0)),
    ("claude-demo", price(3.0, 15.0)),
    ("demo-small", price(0.15, 0.6)),
];

const fn price(input: f64, output: f64) -> Prices {
    Prices {
        input,
        output,
        cache_read: None,
        cache_write: None,
    }
}

/// One demo seller: data only; the app starts it.
#[derive(Debug, Clone)]
pub struct DemoSeller {
    /// Seller id.
    pub id: &'static str,
    /// Display name.
    pub name: &'static str,
    /// Simulated behaviour.
    pub behavior: Behavior,
    /// Price multiplier.
    pub discount_ratio: f64,
    /// Fee on top.
    pub service_fee_ratio: f64,
}

/// The demo line-up: one fast, one cheap and slow, one that fails every
/// fourth request (failover hides that from clients).
pub fn demo_sellers() -> Vec<DemoSeller> {
    vec![
        DemoSeller {
            id: "demo-flaky",
            name: "Demo Flaky",
            behavior: Behavior {
                ttft: Duration::from_millis(250),
                tokens_per_sec: Some(80.0),
                tokens: 48,
                failure: Some(Failure::EveryNth { n: 4, code: 503 }),
                ..Behavior::default()
            },
            discount_ratio: 0.7,
            service_fee_ratio: 0.0,
        },
        DemoSeller {
            id: "demo-fast",
            name: "Demo Fast",
            behavior: Behavior {
                ttft: Duration::from_millis(120),
                tokens_per_sec: Some(150.0),
                tokens: 48,
                failure: None,
                ..Behavior::default()
            },
            discount_ratio: 1.0,
            service_fee_ratio: 0.0,
        },
        DemoSeller {
            id: "demo-cheap",
            name: "Demo Cheap",
            behavior: Behavior {
                ttft: Duration::from_millis(700),
                tokens_per_sec: Some(35.0),
                tokens: 48,
                failure: None,
                ..Behavior::default()
            },
            discount_ratio: 0.4,
            service_fee_ratio: 0.05,
        },
    ]
}
