//! One upstream seller: where it is, how to authenticate, what it serves and
//! at what price. Plain data; reading it from a file lives in `file.rs`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use super::price::Prices;
use crate::protocol::Protocol;

/// A seller's id, unique within the loaded set.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SellerId(pub Arc<str>);

impl SellerId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SellerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for SellerId {
    fn from(s: &str) -> Self {
        SellerId(Arc::from(s))
    }
}

/// A secret string whose `Debug` never shows the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The value, for putting on the wire only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A model a seller serves: the name clients use and the name sent upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRoute {
    /// The name agents ask for.
    pub name: String,
    /// The name the seller expects (equal to `name` when not mapped).
    pub upstream: String,
}

/// One upstream endpoint with its key, protocols, models and price.
#[derive(Debug, Clone, PartialEq)]
pub struct Seller {
    /// Unique id (from the file).
    pub id: SellerId,
    /// Display name (defaults to the id).
    pub name: String,
    /// Base URL without a trailing `/` or `/v1`, e.g. `https://api.example.com`.
    pub base_url: String,
    /// The seller's API key.
    pub api_key: Secret,
    /// Protocols this seller accepts.
    pub protocols: Vec<Protocol>,
    /// Models served; empty means any model, passed through unchanged.
    pub models: Vec<ModelRoute>,
    /// Multiplier on list price; lower is cheaper.
    pub discount_ratio: f64,
    /// Fee on top of the discounted price (0.05 = 5 %).
    pub service_fee_ratio: f64,
    /// Breaks ties between equal scores (higher first); then file order.
    pub priority: i32,
    /// Most requests in flight at once; `None` is unlimited.
    pub max_concurrency: Option<u32>,
    /// List prices by the model name clients ask for (the file's
    /// `prices:`); the shipped table covers the rest (`price.rs`).
    pub prices: BTreeMap<String, Prices>,
    /// Prepaid balance in the prices' currency, as of when the file was
    /// written; `None` is not tracked.
    pub credits: Option<f64>,
    /// May serve clients of another protocol through translation
    /// (`translation: false` in the file says no).
    pub translation: bool,
}

impl Seller {
    /// Whether this seller accepts `protocol` for `model`.
    pub fn serves(&self, protocol: Protocol, model: &str) -> bool {
        self.protocols.contains(&protocol) && self.upstream_model(model).is_some()
    }

    /// The model name to send upstream for `model`, or `None` if not served.
    pub fn upstream_model<'a>(&'a self, model: &'a str) -> Option<&'a str> {
        if self.models.is_empty() {
            return Some(model);
        }
        self.models
            .iter()
            .find(|m| m.name == model)
            .map(|m| m.upstream.as_str())
    }

    /// The full URL for `path` (which starts with `/v1/`, or `/v1beta/` for Gemini).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// Effective price multiplier: discount × (1 + fee).
    pub fn effective_price(&self) -> f64 {
        self.discount_ratio * (1.0 + self.service_fee_ratio)
    }
}

/// Normalises a base URL: no trailing `/`, no trailing `/v1` or `/v1beta`
/// (the version is part of each protocol's path, so Google's documented
/// `https://generativelanguage.googleapis.com/v1beta` works as it is).
pub fn normalize_base_url(url: &str) -> String {
    let trimmed = url.trim().trim_end_matches('/');
    trimmed
        .strip_suffix("/v1")
        .or_else(|| trimmed.strip_suffix("/v1beta"))
        .unwrap_or(trimmed)
        .trim_end_matches('/')
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seller(models: Vec<ModelRoute>) -> Seller {
        Seller {
            id: "s".into(),
            name: "s".into(),
            base_url: "http://x".into(),
            api_key: Secret::new("k"),
            protocols: vec![Protocol::OpenAiChat],
            models,
            discount_ratio: 1.0,
            service_fee_ratio: 0.0,
            priority: 0,
            max_concurrency: None,
            prices: BTreeMap::new(),
            credits: None,
            translation: true,
        }
    }

    #[test]
    fn base_url_accepts_v1_or_not() {
        assert_eq!(normalize_base_url("https://a.b/v1/"), "https://a.b");
        assert_eq!(normalize_base_url("https://a.b/v1"), "https://a.b");
        assert_eq!(normalize_base_url("https://a.b/"), "https://a.b");
        assert_eq!(normalize_base_url("https://a.b/api/v1"), "https://a.b/api");
        assert_eq!(
            normalize_base_url("https://generativelanguage.googleapis.com/v1beta/"),
            "https://generativelanguage.googleapis.com"
        );
    }

    #[test]
    fn empty_models_means_any_and_mapping_applies() {
        let any = seller(vec![]);
        assert_eq!(any.upstream_model("gpt-x"), Some("gpt-x"));
        assert!(!any.serves(Protocol::AnthropicMessages, "gpt-x"));
        let mapped = seller(vec![ModelRoute {
            name: "sonnet".into(),
            upstream: "anthropic/claude-sonnet".into(),
        }]);
        assert_eq!(
            mapped.upstream_model("sonnet"),
            Some("anthropic/claude-sonnet")
        );
        assert_eq!(mapped.upstream_model("other"), None);
    }

    #[test]
    fn secret_debug_hides_value() {
        assert_eq!(format!("{:?}", Secret::new("sk-123")), "Secret(***)");
    }
}
