//! The model index learned from the sellers: per seller, the model ids its
//! own `GET /v1/models` reported (read by the prewarm probe) and when. It is
//! information for model pickers (`/v1/models`, the panel), never a routing
//! rule: a seller that accepts any model stays a candidate for every model.
//!
//! Parsing is defensive — a seller's list is outside input: both the OpenAI
//! and the Anthropic list shapes (`{"data":[{"id":…}]}`) are read, extra
//! fields are ignored, entries without a usable id are skipped, and a list is
//! capped so a seller that reports thousands cannot grow memory unbounded.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use serde::Deserialize;

use crate::sellers::SellerId;

/// Most model ids kept per seller (the first ones in sorted order).
pub const MAX_MODELS: usize = 2000;

/// Longest model id kept; longer ones are junk, not models.
pub const MAX_ID_LEN: usize = 200;

/// Why a `/v1/models` body gave no list.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ListError {
    /// Not JSON, or JSON without a `data` array.
    #[error("not a model list (expected {{\"data\": [{{\"id\": …}}]}}): {0}")]
    Shape(String),
}

/// What one seller reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Learned {
    /// Model ids, sorted and de-duplicated.
    pub ids: Arc<[String]>,
    /// The base URL asked (a list from another address is not this seller's).
    pub base_url: String,
    /// When the list was read.
    pub at: SystemTime,
    /// Whether the seller reported more than [`MAX_MODELS`] usable ids.
    pub truncated: bool,
}

/// A parsed list: the usable ids and whether some were cut off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedList {
    /// Sorted, de-duplicated ids, at most [`MAX_MODELS`].
    pub ids: Vec<String>,
    /// More usable ids than [`MAX_MODELS`] were reported.
    pub truncated: bool,
}

/// OpenAI's and Anthropic's `data: [{id}]`, or Gemini's `models: [{name:
/// "models/<id>"}]` (from `/v1beta/models`).
#[derive(Deserialize)]
#[serde(untagged)]
enum Body {
    Data { data: Vec<serde_json::Value> },
    Gemini { models: Vec<serde_json::Value> },
}

/// Parses a `/v1/models` body in the OpenAI or Anthropic shape, or a
/// Gemini `/v1beta/models` body.
pub fn parse_list(body: &[u8]) -> Result<ParsedList, ListError> {
    let body: Body = serde_json::from_slice(body).map_err(|e| ListError::Shape(e.to_string()))?;
    let mut ids = BTreeSet::new();
    let (entries, key) = match &body {
        Body::Data { data } => (data, "id"),
        Body::Gemini { models } => (models, "name"),
    };
    for entry in entries {
        let id = entry.get(key).and_then(|v| v.as_str());
        let id = id.map(|i| i.strip_prefix("models/").unwrap_or(i));
        if let Some(id) = id.and_then(usable) {
            ids.insert(id.to_string());
        }
    }
    let truncated = ids.len() > MAX_MODELS;
    Ok(ParsedList {
        ids: ids.into_iter().take(MAX_MODELS).collect(),
        truncated,
    })
}

/// The id as agents would send it, if it can be one.
fn usable(id: &str) -> Option<&str> {
    let id = id.trim();
    let ok = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && !id.chars().any(|c| c.is_control() || c.is_whitespace());
    ok.then_some(id)
}

/// Every seller's last reported list, by seller id (kept across reloads, like
/// the pool's statistics).
#[derive(Debug, Default)]
pub struct ModelIndex {
    // Written once per probe round, read per `/v1/models`: a plain lock.
    by_seller: Mutex<HashMap<SellerId, Learned>>,
}

impl ModelIndex {
    fn lock(&self) -> MutexGuard<'_, HashMap<SellerId, Learned>> {
        self.by_seller.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records what `seller` at `base_url` reported at `at`, replacing its
    /// previous list. A failed probe calls nothing, so the last list stays.
    pub fn learn(&self, seller: &SellerId, base_url: &str, list: ParsedList, at: SystemTime) {
        let learned = Learned {
            ids: list.ids.into(),
            base_url: base_url.to_string(),
            at,
            truncated: list.truncated,
        };
        self.lock().insert(seller.clone(), learned);
    }

    /// What `seller` reported last from `base_url`, if anything.
    pub fn learned(&self, seller: &SellerId, base_url: &str) -> Option<Learned> {
        self.lock()
            .get(seller)
            .filter(|l| l.base_url == base_url)
            .cloned()
    }
}

/// Where a listed model comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    /// Declared in the sellers file (or priced for an any-model seller).
    Declared,
    /// Reported by these sellers' own `/v1/models` only.
    Learned(Vec<String>),
}

/// The union of declared and learned models, by id: a declared name (alias
/// included) wins over the same id learned.
pub fn union<'a>(
    declared: impl IntoIterator<Item = &'a str>,
    learned: impl IntoIterator<Item = (&'a str, &'a [String])>,
) -> BTreeMap<String, ModelSource> {
    let mut out: BTreeMap<String, ModelSource> = declared
        .into_iter()
        .map(|m| (m.to_string(), ModelSource::Declared))
        .collect();
    for (seller, ids) in learned {
        for id in ids {
            let entry = out
                .entry(id.clone())
                .or_insert_with(|| ModelSource::Learned(Vec::new()));
            if let ModelSource::Learned(sellers) = entry {
                if !sellers.iter().any(|s| s == seller) {
                    sellers.push(seller.to_string());
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ids(body: &str) -> Vec<String> {
        parse_list(body.as_bytes()).expect("a list").ids
    }

    #[test]
    fn reads_the_openai_shape() {
        let body = r#"{"object":"list","data":[
            {"id":"gpt-b","object":"model","created":1,"owned_by":"x"},
            {"id":"gpt-a","object":"model","extra":{"nested":[1,2]}}]}"#;
        assert_eq!(ids(body), ["gpt-a", "gpt-b"]);
    }

    #[test]
    fn reads_the_anthropic_shape() {
        let body = r#"{"data":[{"type":"model","id":"claude-x","display_name":"Claude X",
            "created_at":"2025-01-01T00:00:00Z"}],"has_more":false,"first_id":"claude-x","last_id":"claude-x"}"#;
        assert_eq!(ids(body), ["claude-x"]);
    }

    #[test]
    fn reads_the_gemini_shape() {
        let body = r#"{"models":[{"name":"models/gemini-2.5-pro","displayName":"Gemini 2.5 Pro",
            "supportedGenerationMethods":["generateContent","countTokens"]},{"name":"models/embedding-001"}],
            "nextPageToken":"x"}"#;
        assert_eq!(ids(body), ["embedding-001", "gemini-2.5-pro"]);
    }

    #[test]
    fn skips_junk_entries_and_duplicates() {
        let body = r#"{"data":[{"id":"m"},{"id":"m"},{"id":" m "},{"id":3},{"name":"n"},
            "str",null,[],{"id":""},{"id":"has space"},{"id":"ctl\u0007"},{"id":null}]}"#;
        assert_eq!(ids(body), ["m"]);
        let long = format!(
            r#"{{"data":[{{"id":"{}"}},{{"id":"ok"}}]}}"#,
            "x".repeat(201)
        );
        assert_eq!(ids(&long), ["ok"]);
    }

    #[test]
    fn refuses_what_is_not_a_list() {
        for body in [
            "",
            "not json",
            "{}",
            r#"{"data":{}}"#,
            r#"{"data":"x"}"#,
            "[]",
            "<html>",
            "\u{0}\u{ff}",
        ] {
            assert!(parse_list(body.as_bytes()).is_err(), "{body:?}");
        }
        assert!(parse_list(&[0xff, 0xfe, 0x00]).is_err());
        assert_eq!(ids(r#"{"data":[]}"#), Vec::<String>::new());
    }

    #[test]
    fn caps_a_huge_list() {
        let entries: Vec<String> = (0..MAX_MODELS + 500)
            .map(|i| format!(r#"{{"id":"m-{i:05}"}}"#))
            .collect();
        let body = format!(r#"{{"data":[{}]}}"#, entries.join(","));
        let list = parse_list(body.as_bytes()).expect("a list");
        assert_eq!(list.ids.len(), MAX_MODELS);
        assert!(list.truncated);
        assert_eq!(list.ids[0], "m-00000");
        let small = parse_list(br#"{"data":[{"id":"a"}]}"#).expect("a list");
        assert!(!small.truncated);
    }

    #[test]
    fn the_index_keeps_the_last_list_per_seller_and_address() {
        let index = ModelIndex::default();
        let a: SellerId = "a".into();
        assert_eq!(index.learned(&a, "http://a"), None);
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
        let list = |s: &str| parse_list(s.as_bytes()).expect("list");
        index.learn(&a, "http://a", list(r#"{"data":[{"id":"m-a"}]}"#), t0);
        let got = index.learned(&a, "http://a").expect("learned");
        assert_eq!(&*got.ids, ["m-a".to_string()]);
        assert_eq!(got.at, t0);
        // Another address (the file changed it): not this list.
        assert_eq!(index.learned(&a, "http://elsewhere"), None);
        // A newer list replaces the old one.
        index.learn(&a, "http://a", list(r#"{"data":[{"id":"m-b"}]}"#), t0);
        assert_eq!(
            &*index.learned(&a, "http://a").expect("learned").ids,
            ["m-b".to_string()]
        );
    }

    #[test]
    fn declared_names_win_and_learned_ones_name_their_sellers() {
        let a = vec![
            "shared".to_string(),
            "only-a".to_string(),
            "alias".to_string(),
        ];
        let b = vec!["shared".to_string()];
        let u = union(
            ["alias", "declared"],
            [
                ("a", a.as_slice()),
                ("b", b.as_slice()),
                ("b", b.as_slice()),
            ],
        );
        assert_eq!(u["alias"], ModelSource::Declared);
        assert_eq!(u["declared"], ModelSource::Declared);
        assert_eq!(u["only-a"], ModelSource::Learned(vec!["a".into()]));
        assert_eq!(
            u["shared"],
            ModelSource::Learned(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            u.keys().collect::<Vec<_>>(),
            ["alias", "declared", "only-a", "shared"]
        );
    }
}
