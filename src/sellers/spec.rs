//! What the user asks a seller to be (the panel's form, the CLI's flags):
//! the fields, their checks, how each is written as YAML, and the seller the
//! parser must read back — the editor (`edit.rs`) compares against that.

use super::edit::EditError;
use super::seller::{normalize_base_url, ModelRoute, Secret, Seller, SellerId};
use crate::agents::doc::yaml;
use crate::protocol::Protocol;

/// Where a seller's key comes from, as the file says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `api_key_ref: <name>`: stored outside the file.
    Stored(String),
    /// `api_key_env: <VAR>`.
    Env(String),
    /// Leave whatever the file says (an edit without a new key).
    Keep,
}

/// A seller as the user asks for it (the fields the panel and CLI set).
#[derive(Debug, Clone, PartialEq)]
pub struct SellerSpec {
    /// Unique id.
    pub id: String,
    /// Display name (`None`: the id).
    pub name: Option<String>,
    /// Base URL.
    pub base_url: String,
    /// The key's source.
    pub key: KeySource,
    /// Protocols accepted (at least one).
    pub protocols: Vec<Protocol>,
    /// Model names served (empty: any).
    pub models: Vec<String>,
    /// Price multiplier (`None`: 1).
    pub discount_ratio: Option<f64>,
    /// Fee on top (`None`: 0).
    pub service_fee_ratio: Option<f64>,
    /// Tie-break priority (`None`: 0).
    pub priority: Option<i32>,
    /// Concurrency limit (`None`: unlimited).
    pub max_concurrency: Option<u32>,
    /// Prepaid balance (`None`: not tracked).
    pub credits: Option<f64>,
}

/// Checks the spec's fields, naming the first one that is wrong.
pub fn validate(spec: &SellerSpec) -> Result<(), EditError> {
    let bad = |field, message: &str| {
        Err(EditError::BadField {
            field,
            message: message.into(),
        })
    };
    if spec.id.is_empty()
        || !spec
            .id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        return bad("id", "must be non-empty letters, digits, '.', '_' or '-'");
    }
    let url = spec.base_url.trim();
    if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() < 8 {
        return bad("baseUrl", "must start with http:// or https://");
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("baseUrl", "must not contain spaces");
    }
    if spec
        .name
        .as_deref()
        .is_some_and(|n| n.trim().is_empty() || n.chars().any(char::is_control))
    {
        return bad("name", "must be non-empty text on one line");
    }
    match &spec.key {
        KeySource::Env(v)
            if v.is_empty() || !v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
        {
            return bad("apiKeyEnv", "must be an environment variable's name");
        }
        KeySource::Stored(r)
            if r.is_empty()
                || !r
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) =>
        {
            return bad(
                "apiKey",
                "the key's name must be letters, digits, '.', '_' or '-'",
            );
        }
        _ => {}
    }
    if spec.protocols.is_empty() {
        return bad(
            "protocols",
            "list at least one of openai-chat, openai-responses, anthropic-messages",
        );
    }
    for (i, m) in spec.models.iter().enumerate() {
        if m.trim().is_empty() || m.trim() != m || m.chars().any(char::is_control) {
            return bad("models", "a model name is empty or has spaces around it");
        }
        if spec.models[..i].contains(m) {
            return bad("models", &format!("\"{m}\" is listed twice"));
        }
    }
    if spec
        .discount_ratio
        .is_some_and(|d| !(d.is_finite() && d > 0.0))
    {
        return bad("discountRatio", "must be a number > 0");
    }
    if spec
        .service_fee_ratio
        .is_some_and(|d| !(d.is_finite() && d >= 0.0))
    {
        return bad("serviceFeeRatio", "must be a number >= 0");
    }
    if spec.max_concurrency == Some(0) {
        return bad(
            "maxConcurrency",
            "must be at least 1 (omit it for unlimited)",
        );
    }
    if spec.credits.is_some_and(|d| !(d.is_finite() && d >= 0.0)) {
        return bad("credits", "must be a number >= 0");
    }
    Ok(())
}

/// A field's value to write: a scalar's text or a list's items.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Value {
    /// A scalar, as written.
    Scalar(String),
    /// A list's items, as written.
    List(Vec<String>),
}

pub(super) fn num(x: f64) -> Value {
    Value::Scalar(format!("{x}"))
}

/// The fields of `spec` in the order a new entry lists them; `None` is "at
/// its default" (absent).
pub(super) fn fields(spec: &SellerSpec) -> Vec<(&'static str, Option<Value>)> {
    let s = |v: &str| Value::Scalar(yaml::scalar_text(v));
    let key = match &spec.key {
        KeySource::Stored(r) => Some(("api_key_ref", s(r))),
        KeySource::Env(v) => Some(("api_key_env", s(v))),
        KeySource::Keep => None,
    };
    let mut out = vec![
        ("id", Some(s(&spec.id))),
        ("name", spec.name.as_deref().map(s)),
        ("base_url", Some(s(spec.base_url.trim()))),
    ];
    if let Some((k, v)) = key {
        out.push((k, Some(v)));
    }
    out.extend([
        (
            "protocols",
            Some(Value::List(
                spec.protocols
                    .iter()
                    .map(|p| p.as_str().to_string())
                    .collect(),
            )),
        ),
        (
            "models",
            (!spec.models.is_empty())
                .then(|| Value::List(spec.models.iter().map(|m| yaml::scalar_text(m)).collect())),
        ),
        ("discount_ratio", spec.discount_ratio.map(num)),
        ("service_fee_ratio", spec.service_fee_ratio.map(num)),
        (
            "priority",
            spec.priority.map(|p| Value::Scalar(p.to_string())),
        ),
        (
            "max_concurrency",
            spec.max_concurrency.map(|c| Value::Scalar(c.to_string())),
        ),
        ("credits", spec.credits.map(num)),
    ]);
    out
}

pub(super) fn flow_value(v: &Value) -> String {
    match v {
        Value::Scalar(s) => s.clone(),
        Value::List(items) => format!("[{}]", items.join(", ")),
    }
}

/// The seller the spec describes, as the parser would read it back
/// (`old` supplies what the spec does not set: prices, mapped names).
pub(super) fn expected(spec: &SellerSpec, old: Option<&Seller>) -> Seller {
    let models = if old.is_some_and(|o| names(o) == spec.models) {
        old.map(|o| o.models.clone()).unwrap_or_default()
    } else {
        spec.models
            .iter()
            .map(|m| ModelRoute {
                name: m.clone(),
                upstream: m.clone(),
            })
            .collect()
    };
    let api_key = match (&spec.key, old) {
        (KeySource::Stored(r), _) => Secret::new(format!("ref:{r}")),
        (KeySource::Env(v), _) => Secret::new(format!("env:{v}")),
        (KeySource::Keep, Some(o)) => o.api_key.clone(),
        (KeySource::Keep, None) => Secret::new(""),
    };
    let mut protocols: Vec<Protocol> = Vec::new();
    for p in &spec.protocols {
        if !protocols.contains(p) {
            protocols.push(*p);
        }
    }
    Seller {
        id: SellerId::from(spec.id.as_str()),
        name: spec.name.clone().unwrap_or_else(|| spec.id.clone()),
        base_url: normalize_base_url(spec.base_url.trim()),
        api_key,
        protocols,
        models,
        discount_ratio: spec.discount_ratio.unwrap_or(1.0),
        service_fee_ratio: spec.service_fee_ratio.unwrap_or(0.0),
        priority: spec.priority.unwrap_or(0),
        max_concurrency: spec.max_concurrency,
        prices: old.map(|o| o.prices.clone()).unwrap_or_default(),
        credits: spec.credits,
        translation: old.is_none_or(|o| o.translation),
    }
}

fn names(s: &Seller) -> Vec<String> {
    s.models.iter().map(|m| m.name.clone()).collect()
}

/// The spec that describes `before` as it is (its key kept as it is).
pub fn spec_of(before: &Seller) -> SellerSpec {
    SellerSpec {
        id: before.id.to_string(),
        name: (before.name != before.id.as_str()).then(|| before.name.clone()),
        base_url: before.base_url.clone(),
        key: KeySource::Keep,
        protocols: before.protocols.clone(),
        models: names(before),
        discount_ratio: (before.discount_ratio != 1.0).then_some(before.discount_ratio),
        service_fee_ratio: (before.service_fee_ratio != 0.0).then_some(before.service_fee_ratio),
        priority: (before.priority != 0).then_some(before.priority),
        max_concurrency: before.max_concurrency,
        credits: before.credits,
    }
}

pub(super) fn current(before: &Seller, key: &str) -> Option<Value> {
    fields(&spec_of(before))
        .into_iter()
        .find(|(k, _)| *k == key)
        .and_then(|(_, v)| v)
}
