//! What a response cost: per-model list prices (a seller's own from the
//! sellers file, else the table shipped in `prices.yaml`), the seller's
//! discount and fee, and the tokens it reported. Pure; the store adds costs
//! up and the scheduler reads credits elsewhere.
//!
//! Unknown is never zero: a model without a price, or usage without input
//! or output counts, has no cost ([`cost`] is `None`).
//!
//! The shipped table is looked up by a normalised name ([`normalize`]):
//! lower case, without a `provider/` prefix (`anthropic/claude-sonnet-4.5`),
//! without a trailing snapshot date (`-20250929`, `-2025-04-14`, `@20250929`)
//! and with `4.5` read as `4-5`, so the names of gateways, Vertex and the
//! vendors' own dated snapshots find one entry. A dated snapshot is priced
//! as its family's alias.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use super::seller::Seller;
use crate::protocol::Usage;

/// List prices of one model, in currency units per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all(serialize = "camelCase"), deny_unknown_fields)]
#[schema(rename_all = "camelCase")]
pub struct Prices {
    /// Uncached input.
    pub input: f64,
    /// Output (reasoning included).
    pub output: f64,
    /// Input read from the prompt cache; the input price when `None`.
    #[serde(default)]
    pub cache_read: Option<f64>,
    /// Input written to the prompt cache; the input price when `None`.
    #[serde(default)]
    pub cache_write: Option<f64>,
}

impl Prices {
    /// Whether every price is a finite number ≥ 0.
    pub fn is_valid(&self) -> bool {
        let ok = |p: f64| p.is_finite() && p >= 0.0;
        ok(self.input)
            && ok(self.output)
            && self.cache_read.is_none_or(ok)
            && self.cache_write.is_none_or(ok)
    }

    /// List cost of `usage` at these prices, or `None` when the usage lacks
    /// an input or output count. Absent cache counts are no tokens.
    pub fn list_cost(&self, usage: &Usage) -> Option<f64> {
        let tokens = |n: Option<u64>| n.unwrap_or(0) as f64;
        let per_million = usage.input? as f64 * self.input
            + usage.output? as f64 * self.output
            + tokens(usage.cache_read) * self.cache_read.unwrap_or(self.input)
            + tokens(usage.cache_write) * self.cache_write.unwrap_or(self.input);
        Some(per_million / 1e6)
    }
}

/// Where a price came from (for route explain and the request log).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum PriceSource {
    /// The seller's `prices:` in the sellers file, for the model asked.
    SellersFile,
    /// TokenBuddy's shipped table, for the model sent upstream.
    TableModelSent,
    /// TokenBuddy's shipped table, for the model asked.
    TableModelAsked,
}

/// The shipped price table: `prices.yaml`, parsed once.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    /// The day the prices were taken (`YYYY-MM-DD`).
    pub as_of: String,
    /// The currency of every price (USD).
    pub currency: String,
    /// Where the prices were taken from.
    pub source: String,
    /// Prices by model name, as written in the file.
    pub models: BTreeMap<String, Prices>,
    /// The same, by normalised name.
    #[serde(skip)]
    by_key: BTreeMap<String, Prices>,
}

impl Table {
    /// Parses a table; `Err` names what is wrong.
    pub fn parse(text: &str) -> Result<Table, String> {
        let mut table: Table = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
        for (name, prices) in &table.models {
            if !prices.is_valid() {
                return Err(format!("{name}: prices must be numbers >= 0"));
            }
            if table.by_key.insert(normalize(name), *prices).is_some() {
                return Err(format!(
                    "{name}: another entry has the same normalised name"
                ));
            }
        }
        Ok(table)
    }

    /// The prices of `model`, by its normalised name.
    pub fn get(&self, model: &str) -> Option<Prices> {
        self.by_key.get(&normalize(model)).copied()
    }
}

/// The table shipped with TokenBuddy (`src/sellers/prices.yaml`).
pub const SHIPPED_TABLE: &str = include_str!("prices.yaml");

static TABLE: LazyLock<Table> = LazyLock::new(|| {
    Table::parse(SHIPPED_TABLE).unwrap_or_else(|e| {
        // A unit test keeps this from shipping; if it ever did, costs from
        // the table are unknown rather than TokenBuddy not starting.
        tracing::error!("the shipped price table is broken ({e}); costs from it are unknown");
        Table::default()
    })
});

/// The shipped table.
pub fn table() -> &'static Table {
    &TABLE
}

/// A model name as the table is keyed: lower case, no `provider/` prefix,
/// no trailing date, `.` between digits read as `-`.
pub fn normalize(model: &str) -> String {
    let name = model.trim().to_ascii_lowercase();
    let name = name.rsplit('/').next().unwrap_or_default();
    let name = name.split('@').next().unwrap_or_default();
    let name = strip_date(name);
    let bytes = name.as_bytes();
    name.char_indices()
        .map(|(i, c)| {
            let digit_at = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_digit);
            if c == '.' && i > 0 && digit_at(i - 1) && digit_at(i + 1) {
                '-'
            } else {
                c
            }
        })
        .collect()
}

/// `name` without a trailing `-YYYYMMDD` or `-YYYY-MM-DD` (a year 20xx).
fn strip_date(name: &str) -> &str {
    let b = name.as_bytes();
    // `shape` over the last bytes: `-` a dash, `d` a digit, `2`/`0` themselves.
    let ends_with = |shape: &[u8]| {
        b.len() > shape.len()
            && b[b.len() - shape.len()..]
                .iter()
                .zip(shape)
                .all(|(c, s)| match s {
                    b'd' => c.is_ascii_digit(),
                    _ => c == s,
                })
    };
    for shape in [&b"-20dddddd"[..], &b"-20dd-dd-dd"[..]] {
        if ends_with(shape) {
            // The cut is before an ASCII `-`, so on a char boundary.
            return &name[..name.len() - shape.len()];
        }
    }
    name
}

/// The list prices for a request to `seller` for `model_asked`, sent
/// upstream as `model_sent`: the seller's own for the model asked, else the
/// shipped table's for the model sent, then for the model asked.
pub fn price_for(
    seller: &Seller,
    model_asked: &str,
    model_sent: &str,
) -> Option<(Prices, PriceSource)> {
    if let Some(p) = seller.prices.get(model_asked) {
        return Some((*p, PriceSource::SellersFile));
    }
    let t = table();
    t.get(model_sent)
        .map(|p| (p, PriceSource::TableModelSent))
        .or_else(|| {
            t.get(model_asked)
                .map(|p| (p, PriceSource::TableModelAsked))
        })
}

/// What `usage` cost at `seller`, in the prices' currency: list cost ×
/// `discount_ratio` × (1 + `service_fee_ratio`). `None` when no price is
/// known or the usage lacks input or output counts.
pub fn cost(seller: &Seller, model_asked: &str, model_sent: &str, usage: &Usage) -> Option<f64> {
    let (prices, _) = price_for(seller, model_asked, model_sent)?;
    Some(prices.list_cost(usage)? * seller.effective_price())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Protocol;
    use crate::sellers::{ModelRoute, Secret};

    fn seller(prices: &[(&str, Prices)], discount: f64, fee: f64) -> Seller {
        Seller {
            id: "s".into(),
            name: "s".into(),
            base_url: "http://x".into(),
            api_key: Secret::new("k"),
            protocols: vec![Protocol::AnthropicMessages],
            models: vec![ModelRoute {
                name: "sonnet".into(),
                upstream: "anthropic/claude-sonnet-4.5".into(),
            }],
            discount_ratio: discount,
            service_fee_ratio: fee,
            priority: 0,
            max_concurrency: None,
            prices: prices.iter().map(|(m, p)| (m.to_string(), *p)).collect(),
            credits: None,
            translation: true,
        }
    }

    fn usage(input: u64, output: u64, read: u64, write: u64) -> Usage {
        Usage {
            input: Some(input),
            output: Some(output),
            cache_read: Some(read),
            cache_write: Some(write),
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn the_shipped_table_parses_and_every_entry_is_sane() {
        let t = Table::parse(SHIPPED_TABLE).expect("prices.yaml parses");
        assert_eq!(t.currency, "USD");
        assert!(t.source.contains("litellm"), "{}", t.source);
        assert_eq!(t.as_of.len(), 10, "as_of is YYYY-MM-DD: {}", t.as_of);
        assert!(t.models.len() >= 50, "{} entries", t.models.len());
        for (name, p) in &t.models {
            assert!(p.is_valid(), "{name}");
            // List prices of real models: output costs at least input, a
            // cache read less than input, and nothing above $1,000/M.
            assert!(p.output >= p.input && p.output <= 1000.0, "{name}: {p:?}");
            assert!(p.cache_read.is_none_or(|r| r < p.input), "{name}: {p:?}");
            assert_eq!(normalize(name), name.replace('.', "-"), "{name} is a key");
        }
        // One of each family the brief names.
        for name in [
            "claude-haiku-4-5",
            "claude-sonnet-4-5",
            "claude-opus-4-1",
            "gpt-4o",
            "gpt-4.1",
            "gpt-5",
            "o3",
            "o4-mini",
            "gemini-2.5-pro",
            "deepseek-chat",
            "qwen3-coder-plus",
            "kimi-k2.5",
            "glm-4.6",
        ] {
            assert!(table().get(name).is_some(), "{name}");
        }
        assert_eq!(
            table().models.len(),
            t.models.len(),
            "the static is the file"
        );
    }

    #[test]
    fn a_broken_table_is_refused_with_the_reason() {
        let head = "as_of: \"2026-01-01\"\ncurrency: USD\nsource: x\nmodels:\n";
        assert!(
            Table::parse(&format!("{head}  m: {{input: -1, output: 1}}\n"))
                .unwrap_err()
                .contains("m: prices")
        );
        assert!(Table::parse(&format!(
            "{head}  m-4.5: {{input: 1, output: 1}}\n  M-4-5: {{input: 1, output: 1}}\n"
        ))
        .unwrap_err()
        .contains("same normalised name"));
        assert!(Table::parse(&format!("{head}  m: {{input: 1, output: 1, cached: 1}}\n")).is_err());
    }

    #[test]
    fn names_are_normalised_for_the_table() {
        for (name, key) in [
            ("claude-sonnet-4-5", "claude-sonnet-4-5"),
            ("Claude-Sonnet-4-5-20250929", "claude-sonnet-4-5"),
            ("anthropic/claude-sonnet-4.5", "claude-sonnet-4-5"),
            (
                "openrouter/anthropic/claude-sonnet-4.5",
                "claude-sonnet-4-5",
            ),
            ("claude-sonnet-4-5@20250929", "claude-sonnet-4-5"),
            ("gpt-4.1-2025-04-14", "gpt-4-1"),
            ("GPT-4o", "gpt-4o"),
            ("deepseek/deepseek-chat", "deepseek-chat"),
            ("qwen3.5-plus", "qwen3-5-plus"),
            // Not dates: a 4-digit tag, a version, a trailing dot.
            ("kimi-k2-0905-preview", "kimi-k2-0905-preview"),
            ("model-12345678", "model-12345678"),
            ("v1.", "v1."),
            ("", ""),
            ("é.1-2025-01-01", "é.1"),
        ] {
            assert_eq!(normalize(name), key, "{name}");
        }
        assert_eq!(
            table().get("anthropic/claude-opus-4.1"),
            table().get("claude-opus-4-1-20250805")
        );
    }

    #[test]
    fn cost_by_hand() {
        let own = Prices {
            input: 2.0,
            output: 10.0,
            cache_read: Some(0.2),
            cache_write: None,
        };
        let s = seller(&[("sonnet", own)], 0.8, 0.05);
        let u = usage(1_000, 500, 10_000, 2_000);
        // (1000×2 + 500×10 + 10000×0.2 + 2000×2 (write at input)) / 1e6
        // = 13,000 / 1e6 = 0.013; × 0.8 × 1.05 = 0.01092.
        let got = cost(&s, "sonnet", "anthropic/claude-sonnet-4.5", &u).unwrap();
        assert!(close(got, 0.01092), "{got}");
        assert_eq!(
            price_for(&s, "sonnet", "anthropic/claude-sonnet-4.5").map(|(_, w)| w),
            Some(PriceSource::SellersFile)
        );

        // Without its own price: the table's for the model sent, Sonnet 4.5
        // at 3 / 15 / 0.3 / 3.75: 3000 + 7500 + 3000 + 7500 = 21,000 → 0.021.
        let plain = seller(&[], 1.0, 0.0);
        let got = cost(&plain, "sonnet", "anthropic/claude-sonnet-4.5", &u).unwrap();
        assert!(close(got, 0.021), "{got}");
        assert_eq!(
            price_for(&plain, "sonnet", "anthropic/claude-sonnet-4.5").map(|(_, w)| w),
            Some(PriceSource::TableModelSent)
        );
        // Then for the model asked (a mapping to a name the table lacks):
        // gpt-4o at 2.5 / 10 / 1.25, no cache: 2500 + 5000 → 0.0075.
        let got = cost(&plain, "gpt-4o", "my-gateway-4o", &usage(1_000, 500, 0, 0)).unwrap();
        assert!(close(got, 0.0075), "{got}");
        assert_eq!(
            price_for(&plain, "gpt-4o", "my-gateway-4o").map(|(_, w)| w),
            Some(PriceSource::TableModelAsked)
        );
    }

    #[test]
    fn unknown_is_never_zero() {
        let s = seller(&[], 1.0, 0.0);
        assert_eq!(cost(&s, "mystery", "mystery-2", &usage(1, 1, 0, 0)), None);
        let no_output = Usage {
            input: Some(10),
            ..Usage::default()
        };
        assert_eq!(cost(&s, "gpt-4o", "gpt-4o", &no_output), None);
        assert_eq!(cost(&s, "gpt-4o", "gpt-4o", &Usage::default()), None);
        // Absent cache counts are no tokens, not unknown cost.
        let bare = Usage {
            input: Some(1_000_000),
            output: Some(0),
            ..Usage::default()
        };
        assert!(close(cost(&s, "gpt-4o", "gpt-4o", &bare).unwrap(), 2.5));
        // A price of zero (a free model) is a real zero.
        let free = Prices {
            input: 0.0,
            output: 0.0,
            cache_read: None,
            cache_write: None,
        };
        let s = seller(&[("sonnet", free)], 1.0, 0.0);
        assert_eq!(cost(&s, "sonnet", "x", &usage(5, 5, 5, 5)), Some(0.0));
    }
}
