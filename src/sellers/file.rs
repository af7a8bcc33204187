//! Reading `sellers.yaml`, the user's own file (written only when the user
//! asks, in place: `edit.rs`).
//!
//! ```yaml
//! # sellers.yaml — every field but id, base_url, a key and protocols is optional
//! sellers:
//!   - id: acme                      # unique; letters, digits, . _ -
//!     name: Acme AI                 # display name, defaults to the id
//!     base_url: https://api.acme.example/v1   # with or without a trailing /v1
//!     api_key_env: ACME_API_KEY     # or `api_key: sk-...`, or `api_key_ref: acme` (exactly one of the three)
//!     protocols: [openai-chat, openai-responses, anthropic-messages]
//!     models:                       # empty or absent: any model, passed through
//!       - gpt-4o                    # served under the same name
//!       - sonnet: anthropic/claude-sonnet-4.5   # clients ask for `sonnet`, the seller gets the mapped name
//!     discount_ratio: 0.8           # multiplier on list price, > 0 (lower is cheaper); default 1
//!     service_fee_ratio: 0.05       # fee on top, >= 0; default 0
//!     priority: 10                  # breaks ties between equal scores, higher first; default 0
//!     max_concurrency: 8            # requests in flight at most; default unlimited
//!     prices:                       # list prices per million tokens, by the model clients ask for
//!       sonnet: {input: 3, output: 15, cache_read: 0.3, cache_write: 3.75}   # cache_* default to input
//!     credits: 25.00                # prepaid balance, same currency as prices; as of writing it
//!     translation: false            # never serve clients of another protocol through translation; default true
//! ```
//!
//! A model without a `prices` entry is priced from the table TokenBuddy
//! ships (`prices.yaml`, USD), else its cost is unknown. Changing `credits`
//! starts the count of spend against it over.
//!
//! `api_key_ref: <name>` names a key kept outside the file, in the OS
//! keychain or the data dir's `secrets.json` (`secrets.rs`); the panel and
//! `tokenbuddy sellers add|edit --api-key` store it there and write the ref.
//!
//! Every error is one line naming the file, the line and the problem; a key's
//! value never appears in one.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::price::Prices;
use super::seller::{normalize_base_url, ModelRoute, Secret, Seller, SellerId};
use crate::protocol::Protocol;

/// A sellers file that could not be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct FileError {
    /// The file.
    pub path: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// What is wrong and how to fix it.
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    #[serde(default)]
    sellers: Option<Vec<Spanned<RawSeller>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSeller {
    id: Spanned<String>,
    #[serde(default)]
    name: Option<String>,
    base_url: Spanned<String>,
    #[serde(default)]
    api_key: Option<Spanned<String>>,
    #[serde(default)]
    api_key_env: Option<Spanned<String>>,
    #[serde(default)]
    api_key_ref: Option<Spanned<String>>,
    protocols: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    models: Option<Vec<Spanned<RawModel>>>,
    #[serde(default)]
    discount_ratio: Option<Spanned<f64>>,
    #[serde(default)]
    service_fee_ratio: Option<Spanned<f64>>,
    #[serde(default)]
    priority: Option<i32>,
    #[serde(default)]
    max_concurrency: Option<Spanned<u32>>,
    #[serde(default)]
    prices: Option<RawPrices>,
    #[serde(default)]
    credits: Option<Spanned<f64>>,
    #[serde(default)]
    translation: Option<bool>,
}

/// A model name as a mapping key; numbers (`4`, `3.5`) are names too.
struct ModelName(String);

impl<'de> Deserialize<'de> for ModelName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        RawModel::deserialize(d).and_then(|m| match m {
            RawModel::Same(name) => Ok(ModelName(name)),
            RawModel::Mapped(_) => Err(serde::de::Error::custom("a model name")),
        })
    }
}

/// `prices:`, in file order, each entry with where it is.
struct RawPrices(Vec<(Spanned<ModelName>, Spanned<Prices>)>);

impl<'de> Deserialize<'de> for RawPrices {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> serde::de::Visitor<'de> for Entries {
            type Value = RawPrices;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a mapping of model names to {input, output, cache_read, cache_write}")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<RawPrices, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = m.next_entry()? {
                    entries.push(entry);
                }
                Ok(RawPrices(entries))
            }
        }
        d.deserialize_map(Entries)
    }
}

/// A model entry: `name`, or `name: upstream-name`. Read by hand, not as
/// an untagged enum: that infers a scalar's type first, so a model named
/// `4` or `3.5` would be refused as "no variant matched".
enum RawModel {
    Same(String),
    Mapped(HashMap<String, String>),
}

impl<'de> Deserialize<'de> for RawModel {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entry;
        impl<'de> serde::de::Visitor<'de> for Entry {
            type Value = RawModel;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a model name, or `name: upstream-name`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawModel, E> {
                Ok(RawModel::Same(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<RawModel, E> {
                Ok(RawModel::Same(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<RawModel, E> {
                Ok(RawModel::Same(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<RawModel, E> {
                Ok(RawModel::Same(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<RawModel, A::Error> {
                let mut map = HashMap::new();
                while let Some((k, v)) = m.next_entry::<String, String>()? {
                    map.insert(k, v);
                }
                Ok(RawModel::Mapped(map))
            }
        }
        d.deserialize_any(Entry)
    }
}

/// Loads sellers from `path`; a missing file is an empty list.
pub fn load(path: &Path) -> Result<Vec<Seller>, FileError> {
    match read(path)? {
        Some(bytes) => parse_bytes(path, &bytes),
        None => Ok(Vec::new()),
    }
}

/// The file's bytes, `None` when it does not exist.
pub fn read(path: &Path) -> Result<Option<Vec<u8>>, FileError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(FileError {
            path: path.to_path_buf(),
            line: None,
            message: format!("cannot read: {e}"),
        }),
    }
}

/// Parses a sellers file's bytes (UTF-8), with `api_key_env` variables
/// from the process environment and `api_key_ref` keys from the secrets
/// store of the directory the file is in (the data dir).
pub fn parse_bytes(path: &Path, bytes: &[u8]) -> Result<Vec<Seller>, FileError> {
    let text = std::str::from_utf8(bytes).map_err(|e| FileError {
        path: path.to_path_buf(),
        line: Some(
            bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1,
        ),
        message: "the file is not UTF-8 text".into(),
    })?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let store = std::cell::OnceCell::new();
    let stored = |name: &str| {
        let store = store.get_or_init(|| super::secrets::Secrets::open(dir));
        match store.get(name) {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!("cannot read the key \"{name}\" (api_key_ref): {e}");
                None
            }
        }
    };
    parse_with(path, text, &|name| std::env::var(name).ok(), &stored)
}

/// Whether `text` holds nothing but blank lines, comments and `---`.
pub fn is_blank(text: &str) -> bool {
    text.lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#') || l.trim() == "---")
}

/// Whether `text` says outright that there are no sellers (`sellers: []`),
/// rather than having no `sellers` list at all (`sellers:` with nothing
/// after it, as a file cut short by a half-finished save reads).
pub fn says_no_sellers(text: &str) -> bool {
    #[derive(Deserialize)]
    struct Listed {
        #[serde(default)]
        sellers: Option<Vec<serde::de::IgnoredAny>>,
    }
    serde_saphyr::from_str::<Listed>(text).is_ok_and(|d| d.sellers.is_some_and(|s| s.is_empty()))
}

/// Parses the text of a sellers file; `env` looks up `api_key_env`
/// variables (an `api_key_ref` finds no key: use [`parse_with`]).
pub fn parse(
    path: &Path,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Seller>, FileError> {
    parse_with(path, text, env, &|_| None)
}

/// Parses the text of a sellers file; `env` looks up `api_key_env`
/// variables, `stored` the keys `api_key_ref` names.
pub fn parse_with(
    path: &Path,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
    stored: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Seller>, FileError> {
    let fail = |line: Option<u64>, message: String| FileError {
        path: path.to_path_buf(),
        line: line.map(|l| l as usize),
        message,
    };
    if is_blank(text) {
        return Ok(Vec::new());
    }
    // YAML 1.2 booleans (only true/false): a model or id spelled `y`, `no`
    // or `on` is a name, not a boolean (the "Norway problem").
    let mut options = serde_saphyr::Options::default();
    options.strict_booleans = true;
    let doc: Document = serde_saphyr::from_str_with_options(text, options).map_err(|e| {
        let line = e.location().map(|l| l.line()).filter(|l| *l > 0);
        fail(line, yaml_message(&e))
    })?;
    let mut first_line_of: HashMap<String, u64> = HashMap::new();
    let mut sellers = Vec::new();
    for raw in doc.sellers.unwrap_or_default() {
        let raw = raw.value;
        let at = |s: &serde_saphyr::Location| Some(s.line());
        let id = raw.id.value.trim().to_string();
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            return Err(fail(
                at(&raw.id.referenced),
                format!("seller id \"{id}\" must be non-empty letters, digits, '.', '_' or '-'"),
            ));
        }
        if let Some(first) = first_line_of.get(&id) {
            return Err(fail(
                at(&raw.id.referenced),
                format!("duplicate seller id \"{id}\" (first defined on line {first})"),
            ));
        }
        first_line_of.insert(id.clone(), raw.id.referenced.line());

        let url = raw.base_url.value.trim();
        if !(url.starts_with("http://") || url.starts_with("https://"))
            || url.len() < "http://x".len()
        {
            return Err(fail(
                at(&raw.base_url.referenced),
                format!("seller \"{id}\": base_url \"{url}\" must start with http:// or https://"),
            ));
        }

        let given: Vec<&str> = [
            raw.api_key.as_ref().map(|_| "api_key"),
            raw.api_key_env.as_ref().map(|_| "api_key_env"),
            raw.api_key_ref.as_ref().map(|_| "api_key_ref"),
        ]
        .into_iter()
        .flatten()
        .collect();
        if given.len() > 1 {
            let line = [&raw.api_key, &raw.api_key_env, &raw.api_key_ref]
                .into_iter()
                .flatten()
                .map(|k| k.referenced.line())
                .min();
            return Err(fail(
                line,
                format!(
                    "seller \"{id}\": give one of api_key, api_key_env or api_key_ref, not {}",
                    given.join(" and ")
                ),
            ));
        }
        let api_key = match (raw.api_key, raw.api_key_env, raw.api_key_ref) {
            (Some(key), _, _) if !key.value.trim().is_empty() => Secret::new(key.value.trim()),
            (Some(key), _, _) => {
                return Err(fail(
                    at(&key.referenced),
                    format!("seller \"{id}\": api_key is empty"),
                ))
            }
            (_, Some(var), _) => match env(var.value.trim()).filter(|v| !v.trim().is_empty()) {
                Some(v) => Secret::new(v.trim()),
                None => {
                    return Err(fail(
                        at(&var.referenced),
                        format!(
                            "seller \"{id}\": environment variable {} is not set (api_key_env)",
                            var.value.trim()
                        ),
                    ))
                }
            },
            (_, _, Some(name)) => match stored(name.value.trim()).filter(|v| !v.trim().is_empty()) {
                Some(v) => Secret::new(v.trim()),
                None => {
                    return Err(fail(
                        at(&name.referenced),
                        format!(
                            "seller \"{id}\": no stored key named \"{}\" (api_key_ref); store it again with `tokenbuddy sellers edit {id} --api-key -` or in the control panel",
                            name.value.trim()
                        ),
                    ))
                }
            },
            (None, None, None) => {
                return Err(fail(
                    at(&raw.id.referenced),
                    format!("seller \"{id}\": missing api_key, api_key_env or api_key_ref"),
                ))
            }
        };

        let mut protocols = Vec::new();
        for p in &raw.protocols.value {
            let protocol: Protocol =
                p.value
                    .trim()
                    .parse()
                    .map_err(|e: crate::protocol::UnknownProtocol| {
                        fail(at(&p.referenced), format!("seller \"{id}\": {e}"))
                    })?;
            if !protocols.contains(&protocol) {
                protocols.push(protocol);
            }
        }
        if protocols.is_empty() {
            return Err(fail(
                at(&raw.protocols.referenced),
                format!("seller \"{id}\": protocols is empty; list at least one of openai-chat, openai-responses, anthropic-messages"),
            ));
        }

        let mut models: Vec<ModelRoute> = Vec::new();
        for m in raw.models.unwrap_or_default() {
            let route = match m.value {
                RawModel::Same(name) => ModelRoute {
                    upstream: name.trim().to_string(),
                    name: name.trim().to_string(),
                },
                RawModel::Mapped(map) if map.len() == 1 => {
                    let (name, upstream) = map.into_iter().next().unwrap_or_default();
                    ModelRoute {
                        name: name.trim().to_string(),
                        upstream: upstream.trim().to_string(),
                    }
                }
                RawModel::Mapped(_) => {
                    return Err(fail(
                        at(&m.referenced),
                        format!(
                            "seller \"{id}\": a model is either `name` or `name: upstream-name`"
                        ),
                    ))
                }
            };
            if route.name.is_empty() || route.upstream.is_empty() {
                return Err(fail(
                    at(&m.referenced),
                    format!("seller \"{id}\": empty model name"),
                ));
            }
            if models.iter().any(|r| r.name == route.name) {
                return Err(fail(
                    at(&m.referenced),
                    format!("seller \"{id}\": model \"{}\" is listed twice", route.name),
                ));
            }
            models.push(route);
        }

        let discount_ratio = match raw.discount_ratio {
            Some(d) if !(d.value.is_finite() && d.value > 0.0) => {
                return Err(fail(
                    at(&d.referenced),
                    format!("seller \"{id}\": discount_ratio must be a number > 0"),
                ))
            }
            Some(d) => d.value,
            None => 1.0,
        };
        let service_fee_ratio = match raw.service_fee_ratio {
            Some(f) if !(f.value.is_finite() && f.value >= 0.0) => {
                return Err(fail(
                    at(&f.referenced),
                    format!("seller \"{id}\": service_fee_ratio must be a number >= 0"),
                ))
            }
            Some(f) => f.value,
            None => 0.0,
        };
        let max_concurrency = match raw.max_concurrency {
            Some(c) if c.value == 0 => {
                return Err(fail(
                    at(&c.referenced),
                    format!(
                    "seller \"{id}\": max_concurrency must be at least 1 (omit it for unlimited)"
                ),
                ))
            }
            other => other.map(|c| c.value),
        };

        let mut prices = BTreeMap::new();
        for (name, entry) in raw.prices.map(|p| p.0).unwrap_or_default() {
            let model = name.value.0.trim().to_string();
            let line = at(&name.referenced);
            if !entry.value.is_valid() {
                return Err(fail(
                    line,
                    format!("seller \"{id}\": prices for \"{model}\" must be numbers >= 0"),
                ));
            }
            if !models.is_empty() && !models.iter().any(|m| m.name == model) {
                return Err(fail(
                    line,
                    format!("seller \"{id}\": prices for \"{model}\", a model it does not list in models"),
                ));
            }
            if prices.insert(model.clone(), entry.value).is_some() {
                return Err(fail(
                    line,
                    format!("seller \"{id}\": prices for \"{model}\" are given twice"),
                ));
            }
        }
        let credits = match raw.credits {
            Some(c) if !(c.value.is_finite() && c.value >= 0.0) => {
                return Err(fail(
                    at(&c.referenced),
                    format!("seller \"{id}\": credits must be a number >= 0 (the prepaid balance)"),
                ))
            }
            other => other.map(|c| c.value),
        };

        sellers.push(Seller {
            name: raw
                .name
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| id.clone()),
            id: SellerId::from(id.as_str()),
            base_url: normalize_base_url(url),
            api_key,
            protocols,
            models,
            discount_ratio,
            service_fee_ratio,
            priority: raw.priority.unwrap_or(0),
            max_concurrency,
            prices,
            credits,
            translation: raw.translation.unwrap_or(true),
        });
    }
    Ok(sellers)
}

/// The parser's message on one line, without its own location suffix or snippet.
fn yaml_message(e: &serde_saphyr::Error) -> String {
    let text = e.without_snippet().to_string();
    let first = text.lines().next().unwrap_or("invalid YAML").trim();
    let first = match first.rfind(" at line ") {
        Some(i) => &first[..i],
        None => first,
    };
    first.trim_end_matches(['.', ',']).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "ACME_KEY").then(|| "sk-from-env".to_string())
    }

    fn parse_str(text: &str) -> Result<Vec<Seller>, FileError> {
        parse(Path::new("/d/sellers.yaml"), text, &env)
    }

    const FULL: &str = "\
# my sellers
sellers:
  - id: acme
    name: Acme AI
    base_url: https://api.acme.example/v1/
    api_key_env: ACME_KEY
    protocols: [openai-chat, anthropic-messages]
    models:
      - gpt-4o
      - sonnet: anthropic/claude-sonnet-4.5
    discount_ratio: 0.8
    service_fee_ratio: 0.05
    priority: 10
    max_concurrency: 8
    prices:
      sonnet: {input: 3, output: 15, cache_read: 0.3, cache_write: 3.75}
      gpt-4o:
        input: 2.5
        output: 10
    credits: 25.5
  - id: plain
    base_url: http://127.0.0.1:9000
    api_key: sk-plain
    protocols:
      - openai-responses
";

    #[test]
    fn names_yaml_would_read_as_booleans_or_numbers_stay_names() {
        // Found by tests/sellers_property.rs: `- y` was refused.
        let got = parse_str(
            "sellers:\n  - id: no\n    base_url: http://x.example\n    api_key: k\n    protocols: [openai-chat]\n    models: [y, on, 4, 3.5, {yes: up/no}]\n",
        )
        .unwrap();
        assert_eq!(got[0].id.as_str(), "no");
        let names: Vec<(&str, &str)> = got[0]
            .models
            .iter()
            .map(|m| (m.name.as_str(), m.upstream.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("y", "y"),
                ("on", "on"),
                ("4", "4"),
                ("3.5", "3.5"),
                ("yes", "up/no")
            ]
        );
    }

    #[test]
    fn full_example() {
        let s = parse_str(FULL).unwrap();
        assert_eq!(s.len(), 2);
        let a = &s[0];
        assert_eq!(a.id.as_str(), "acme");
        assert_eq!(a.name, "Acme AI");
        assert_eq!(a.base_url, "https://api.acme.example");
        assert_eq!(a.api_key.expose(), "sk-from-env");
        assert_eq!(
            a.protocols,
            vec![Protocol::OpenAiChat, Protocol::AnthropicMessages]
        );
        assert_eq!(
            a.models,
            vec![
                ModelRoute {
                    name: "gpt-4o".into(),
                    upstream: "gpt-4o".into()
                },
                ModelRoute {
                    name: "sonnet".into(),
                    upstream: "anthropic/claude-sonnet-4.5".into()
                },
            ]
        );
        assert_eq!(
            (
                a.discount_ratio,
                a.service_fee_ratio,
                a.priority,
                a.max_concurrency
            ),
            (0.8, 0.05, 10, Some(8))
        );
        assert_eq!(
            a.prices.get("sonnet"),
            Some(&Prices {
                input: 3.0,
                output: 15.0,
                cache_read: Some(0.3),
                cache_write: Some(3.75),
            })
        );
        assert_eq!(
            a.prices.get("gpt-4o"),
            Some(&Prices {
                input: 2.5,
                output: 10.0,
                cache_read: None,
                cache_write: None,
            })
        );
        assert_eq!(a.credits, Some(25.5));
        let b = &s[1];
        assert_eq!(
            (
                b.name.as_str(),
                b.discount_ratio,
                b.priority,
                b.max_concurrency
            ),
            ("plain", 1.0, 0, None)
        );
        assert!(b.models.is_empty() && b.prices.is_empty() && b.credits.is_none());
        assert_eq!(b.base_url, "http://127.0.0.1:9000");
    }

    #[test]
    fn empty_and_comment_only_files_have_no_sellers() {
        for text in ["", "\n", "# nothing yet\n", "sellers: []\n", "sellers:\n"] {
            assert_eq!(parse_str(text).unwrap(), vec![], "{text:?}");
        }
    }

    #[test]
    fn errors_name_file_line_and_problem_and_never_a_key() {
        let seller = |extra: &str| {
            format!("sellers:\n  - id: a\n    base_url: http://x.example\n    api_key: sk-SECRET\n    protocols: [openai-chat]\n{extra}")
        };
        let cases: Vec<(String, usize, &str)> = vec![
            ("sellers:\n  - id: a\n    base_url: [oops\n".into(), 0, ""),
            (seller("    protocol: [x]\n"), 6, "protocol"),
            ("sellers:\n  - id: a\n    base_url: http://x.example\n    api_key: sk-SECRET\n    protocols: [openai]\n".into(), 5, "unknown protocol `openai`"),
            (format!("{}  - id: a\n    base_url: http://y.example\n    api_key: k\n    protocols: [openai-chat]\n", seller("")), 6, "duplicate seller id \"a\" (first defined on line 2)"),
            ("sellers:\n  - id: a\n    base_url: http://x.example\n    api_key_env: NOPE\n    protocols: [openai-chat]\n".into(), 4, "environment variable NOPE is not set"),
            ("sellers:\n  - id: a\n    base_url: http://x.example\n    api_key: sk-SECRET\n    api_key_env: ACME_KEY\n    protocols: [openai-chat]\n".into(), 4, "not api_key and api_key_env"),
            ("sellers:\n  - id: a\n    base_url: http://x.example\n    api_key_env: ACME_KEY\n    api_key_ref: a\n    protocols: [openai-chat]\n".into(), 4, "not api_key_env and api_key_ref"),
            ("sellers:\n  - id: a\n    base_url: http://x.example\n    api_key_ref: gone\n    protocols: [openai-chat]\n".into(), 4, "no stored key named \"gone\""),
            ("sellers:\n  - id: a\n    base_url: http://x.example\n    protocols: [openai-chat]\n".into(), 2, "missing api_key"),
            ("sellers:\n  - id: a\n    base_url: http://x.example\n    api_key: sk-SECRET\n    protocols: []\n".into(), 5, "protocols is empty"),
            ("sellers:\n  - id: a\n    base_url: ftp://x\n    api_key: sk-SECRET\n    protocols: [openai-chat]\n".into(), 3, "must start with http"),
            (seller("    discount_ratio: -1\n"), 6, "discount_ratio"),
            (seller("    service_fee_ratio: -0.1\n"), 6, "service_fee_ratio"),
            (seller("    max_concurrency: 0\n"), 6, "max_concurrency"),
            (seller("    models: [m, m]\n"), 6, "listed twice"),
            (seller("    prices:\n      m: {input: -1, output: 1}\n"), 7, "prices for \"m\" must be numbers >= 0"),
            (seller("    prices:\n      m: {input: .nan, output: 1}\n"), 7, "must be numbers >= 0"),
            (seller("    prices:\n      m: {input: 1, output: 1, cached: 1}\n"), 7, "cached"),
            (seller("    prices:\n      m:\n        input: 1\n        output: 2\n        cache: 1\n"), 10, "cache"),
            (seller("    prices:\n      m: {input: 1}\n"), 7, "output"),
            (seller("    prices:\n      m: {input: cheap, output: 1}\n"), 7, ""),
            (seller("    prices: [m]\n"), 6, ""),
            (seller("    models: [a, b]\n    prices:\n      a: {input: 1, output: 1}\n      c: {input: 1, output: 1}\n"), 9, "prices for \"c\", a model it does not list"),
            (seller("    credits: -5\n"), 6, "credits must be a number >= 0"),
            (seller("    credits: .inf\n"), 6, "credits must be a number >= 0"),
            (seller("    credits: lots\n"), 6, ""),
        ];
        for (text, line, needle) in cases {
            let err = parse_str(&text).unwrap_err();
            let shown = err.to_string();
            assert!(shown.starts_with("/d/sellers.yaml:"), "{shown}");
            if line > 0 {
                assert_eq!(err.line, Some(line), "{shown}\n{text}");
            } else {
                assert!(err.line.is_some(), "{shown}");
            }
            assert!(shown.contains(needle), "{needle:?} not in {shown}");
            assert!(!shown.contains("SECRET"), "key leaked: {shown}");
            assert_eq!(shown.lines().count(), 1, "one line: {shown}");
        }
    }

    #[test]
    fn only_an_explicit_empty_list_says_there_are_no_sellers() {
        assert!(says_no_sellers("sellers: []\n"));
        assert!(says_no_sellers("# none\nsellers: []"));
        assert!(!says_no_sellers("sellers:\n"));
        assert!(!says_no_sellers("sellers:"));
        assert!(!says_no_sellers("sellers:\n  - id: a\n"));
    }

    #[test]
    fn prices_for_any_model_and_numeric_names_when_models_is_empty() {
        let got = parse_str(
            "sellers:\n  - id: a\n    base_url: http://x.example\n    api_key: k\n    protocols: [openai-chat]\n    prices:\n      anything: {input: 0, output: 0}\n      4: {input: 1, output: 2, cache_read: 0}\n    credits: 0\n",
        )
        .unwrap();
        let names: Vec<&str> = got[0].prices.keys().map(String::as_str).collect();
        assert_eq!(names, ["4", "anything"]);
        assert_eq!(got[0].prices["4"].cache_read, Some(0.0));
        assert_eq!(got[0].credits, Some(0.0), "a zero balance is a balance");
    }

    /// The yaml block that starts with `# sellers.yaml` in `doc`.
    fn example(doc: &str, prefix: &str) -> String {
        doc.lines()
            .map(|l| l.strip_prefix(prefix).unwrap_or(l))
            .skip_while(|l| !l.starts_with("# sellers.yaml"))
            .take_while(|l| !l.starts_with("```"))
            .map(|l| format!("{l}\n"))
            .collect()
    }

    #[test]
    fn the_examples_in_these_docs_and_the_readme_parse() {
        let doc = example(include_str!("file.rs"), "//! ");
        let readme = example(include_str!("../../README.md"), "");
        for text in [doc, readme] {
            let got = parse(Path::new("/d/sellers.yaml"), &text, &|_| Some("sk".into()))
                .unwrap_or_else(|e| panic!("{e}\n{text}"));
            assert_eq!(got.len(), 1, "{text}");
            assert_eq!(got[0].credits, Some(25.0));
            assert_eq!(got[0].prices["sonnet"].cache_write, Some(3.75));
        }
    }

    #[test]
    fn api_key_ref_reads_the_stored_key() {
        let text = "sellers:\n  - id: a\n    base_url: http://x.example\n    api_key_ref: a-key\n    protocols: [openai-chat]\n";
        let stored = |name: &str| (name == "a-key").then(|| "sk-stored".to_string());
        let got = parse_with(Path::new("/d/sellers.yaml"), text, &env, &stored).unwrap();
        assert_eq!(got[0].api_key.expose(), "sk-stored");
        let err = parse_str(text).unwrap_err();
        assert_eq!(err.line, Some(4), "{err}");
    }

    #[test]
    fn missing_file_is_no_sellers() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(&dir.path().join("sellers.yaml")).unwrap(), vec![]);
    }
}
