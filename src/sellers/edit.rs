//! Adding, editing and removing one seller in the text of `sellers.yaml`,
//! in place: a pure function from the file's text and a [`Change`] to the
//! new text, or why not. Spans come from the agents' YAML reader
//! ([`crate::agents::doc::yaml::outline`]); everything outside the spliced
//! bytes — comments, order, blank lines, quoting, line endings, every other
//! seller — stays byte for byte.
//!
//! - **Add** appends an entry in the style of the list (block or flow, and
//!   block or flow items as the last one is); a missing `sellers:` is
//!   created, and an empty `sellers: []` becomes a block list.
//! - **Edit** touches only the fields whose value changes: a value is
//!   replaced after its key's colon (a trailing comment stays), a new field
//!   goes after the entry's last one, a field back at its default is removed.
//! - **Remove** removes the entry's lines plus the comment lines directly
//!   above its `-` at the same indentation (no blank line between): that is
//!   how a comment naming a seller is laid out; and the blank lines that
//!   separated it from its neighbour (above it, or below the first entry).
//!   An entry whose anchor another part uses is refused. Removing the last seller
//!   leaves `sellers: []` (a list that is gone or blank would keep the last
//!   good set serving).
//!
//! Every result is re-parsed with the real parser and compared with what was
//! asked (the other sellers unchanged); a mismatch is TokenBuddy's bug and
//! nothing is returned to write.

use std::path::Path;

use super::file::{self, FileError};
use super::seller::{normalize_base_url, Seller};
use super::spec::{current, expected, fields, flow_value, Value};
pub use super::spec::{spec_of, validate, KeySource, SellerSpec};
use crate::agents::doc::text::{self, Splice};
use crate::agents::doc::yaml::{self, Field, Shape, Span};
use crate::agents::doc::DocError;

/// One change to the sellers file.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Append a new seller.
    Add(SellerSpec),
    /// Rewrite the seller with the spec's id.
    Edit(SellerSpec),
    /// Remove the seller with this id.
    Remove(String),
}

/// Why a change was not made (the file is to be left as it is).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EditError {
    /// The file as it is does not parse: a hand edit to fix first.
    #[error("{0} — fix the file first; TokenBuddy does not overwrite it")]
    Broken(FileError),
    /// A field of the request is wrong.
    #[error("{field}: {message}")]
    BadField {
        /// The field, as the API names it.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// No seller has that id.
    #[error("no seller \"{0}\" in the sellers file")]
    NotFound(String),
    /// A seller with that id exists already.
    #[error("a seller \"{0}\" exists already")]
    Exists(String),
    /// The file is valid but laid out in a way this editor does not touch.
    #[error("{0}")]
    Unsupported(String),
    /// Our edit did not re-parse to what was asked: our bug.
    #[error("{}", DocError::Bug(.0.clone()))]
    Bug(String),
}

impl From<DocError> for EditError {
    fn from(e: DocError) -> Self {
        match e {
            DocError::Bug(m) => EditError::Bug(m),
            other => EditError::Unsupported(other.to_string()),
        }
    }
}

/// Keys as the parser sees them when checking an edit: which source, not
/// the value (`env:VAR`, `ref:NAME`).
fn check_env(name: &str) -> Option<String> {
    Some(format!("env:{name}"))
}
fn check_stored(name: &str) -> Option<String> {
    Some(format!("ref:{name}"))
}

/// Parses `text` the way edits are checked: every key found, by its source.
pub fn parse_for_check(path: &Path, text: &str) -> Result<Vec<Seller>, FileError> {
    file::parse_with(path, text, &check_env, &check_stored)
}

/// Applies `change` to the sellers file's `text` (read from `path`, named
/// in errors): the new text, checked, or why not.
pub fn apply(path: &Path, text: &str, change: &Change) -> Result<String, EditError> {
    let old = parse_for_check(path, text).map_err(EditError::Broken)?;
    let find = |id: &str| old.iter().position(|s| s.id.as_str() == id);
    let (edited, want) = match change {
        Change::Add(spec) => {
            validate(spec)?;
            if find(&spec.id).is_some() {
                return Err(EditError::Exists(spec.id.clone()));
            }
            if spec.key == KeySource::Keep {
                return Err(EditError::BadField {
                    field: "apiKey",
                    message: "give the key (apiKey) or the variable that holds it (apiKeyEnv)"
                        .into(),
                });
            }
            let mut want = old.clone();
            want.push(expected(spec, None));
            (add(text, spec)?, want)
        }
        Change::Edit(spec) => {
            validate(spec)?;
            let at = find(&spec.id).ok_or_else(|| EditError::NotFound(spec.id.clone()))?;
            let before = &old[at];
            if !spec.models.is_empty() {
                if let Some(m) = before.prices.keys().find(|m| !spec.models.contains(m)) {
                    return Err(EditError::Unsupported(format!(
                        "the file sets prices for \"{m}\", a model no longer listed; remove those prices from the file first"
                    )));
                }
            }
            let mut want = old.clone();
            want[at] = expected(spec, Some(before));
            (edit(text, at, spec, before)?, want)
        }
        Change::Remove(id) => {
            let at = find(id).ok_or_else(|| EditError::NotFound(id.clone()))?;
            let mut want = old.clone();
            want.remove(at);
            (remove(text, at)?, want)
        }
    };
    match parse_for_check(path, &edited) {
        Ok(got) if got == want => Ok(edited),
        Ok(_) => Err(EditError::Bug(
            "the edited file reads back as different sellers than asked".into(),
        )),
        Err(e) => Err(EditError::Bug(e.message)),
    }
}

/// The `sellers:` entry of the root mapping, if any.
fn sellers_field(text: &str) -> Result<Option<Field>, EditError> {
    match yaml::outline(text)? {
        Some(Span {
            shape: Shape::BlockMap(fields),
            ..
        }) => Ok(fields.into_iter().find(|f| f.key == "sellers")),
        _ => Ok(None),
    }
}

/// The items of the sellers list, by the list's style.
fn items(field: &Field) -> Result<(bool, &[Span]), EditError> {
    match &field.value.shape {
        Shape::BlockSeq(items) => Ok((false, items)),
        Shape::FlowSeq(items) => Ok((true, items)),
        _ => Err(EditError::Unsupported(
            "`sellers` is not a list; not touching it".into(),
        )),
    }
}

fn item_fields(item: &Span) -> Result<(bool, &[Field]), EditError> {
    match &item.shape {
        Shape::BlockMap(f) => Ok((false, f)),
        Shape::FlowMap(f) => Ok((true, f)),
        _ => Err(EditError::Unsupported(
            "a seller is not a mapping; not touching it".into(),
        )),
    }
}

/// The column where `pos` sits on its line, as spaces.
fn column(t: &str, pos: usize) -> String {
    " ".repeat(t[text::line_start(t, pos)..pos].chars().count())
}

/// A new entry, block style: `- id: ...` with the following fields at `inner`.
fn block_entry(spec: &SellerSpec, dash: &str, inner: &str, nl: &str) -> String {
    let mut out = String::new();
    for (i, (k, v)) in fields(spec).into_iter().enumerate() {
        let Some(v) = v else { continue };
        if i == 0 {
            out.push_str(&format!("{dash}- {k}: {}", flow_value(&v)));
        } else {
            out.push_str(&format!("{nl}{inner}{k}: {}", flow_value(&v)));
        }
    }
    out
}

fn flow_entry(spec: &SellerSpec) -> String {
    let body: Vec<String> = fields(spec)
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k}: {}", flow_value(&v))))
        .collect();
    format!("{{{}}}", body.join(", "))
}

fn add(t: &str, spec: &SellerSpec) -> Result<String, EditError> {
    let nl = text::newline(t);
    let unit = text::indent_unit(t);
    let splice = match sellers_field(t)? {
        None => {
            let body = format!(
                "sellers:{nl}{}",
                block_entry(spec, &unit, &format!("{unit}  "), nl)
            );
            let len = t.len();
            if t.is_empty() || t.ends_with('\n') {
                Splice::new(len, len, format!("{body}{nl}"))
            } else {
                Splice::new(len, len, format!("{nl}{body}"))
            }
        }
        Some(field) => {
            let outer = text::indent_of(t, field.key_start).to_string();
            let fresh = |from: usize, to: usize| {
                let dash = format!("{outer}{unit}");
                let inner = format!("{dash}  ");
                Splice::new(
                    from,
                    to,
                    format!("{nl}{}", block_entry(spec, &dash, &inner, nl)),
                )
            };
            let value = &t[field.colon_end..field.value.end];
            match &field.value.shape {
                Shape::Scalar if matches!(value.trim(), "" | "~" | "null") => {
                    fresh(field.colon_end, field.colon_end + value.trim_end().len())
                }
                Shape::FlowSeq(items) if items.is_empty() => {
                    fresh(field.colon_end, field.value.end)
                }
                Shape::FlowSeq(items) => {
                    let last = &items[items.len() - 1];
                    Splice::new(last.end, last.end, format!(", {}", flow_entry(spec)))
                }
                Shape::BlockSeq(items) if !items.is_empty() => {
                    let last = &items[items.len() - 1];
                    let dash = text::indent_of(t, last.start).to_string();
                    let at = text::line_end(t, last.end);
                    let entry = match item_fields(last)? {
                        (true, _) => format!("{dash}- {}", flow_entry(spec)),
                        (false, fields) => {
                            let inner = fields
                                .first()
                                .map(|f| column(t, f.key_start))
                                .unwrap_or_else(|| format!("{dash}  "));
                            block_entry(spec, &dash, &inner, nl)
                        }
                    };
                    Splice::new(at, at, format!("{nl}{entry}"))
                }
                _ => {
                    return Err(EditError::Unsupported(
                        "`sellers` is not a list; not touching it".into(),
                    ))
                }
            }
        }
    };
    Ok(text::apply(t, vec![splice]))
}

/// Refuses to splice over an anchor, tag or alias (other parts may use it).
fn plain_value(t: &str, f: &Field) -> Result<(), EditError> {
    let old = t[f.colon_end..f.value.end].trim_start();
    if old.starts_with(['&', '!', '*']) || f.key == "<<" {
        return Err(EditError::Unsupported(format!(
            "`{}` has an anchor, tag or alias; not replacing it (edit it by hand)",
            f.key
        )));
    }
    Ok(())
}

/// The text after `key:` for `v`, keeping a block list a block list.
fn value_text(t: &str, old: Option<&Field>, v: &Value, nl: &str) -> String {
    match (v, old.map(|f| &f.value.shape)) {
        (Value::List(items), Some(Shape::BlockSeq(olds)))
            if !olds.is_empty() && !items.is_empty() =>
        {
            let dash = text::indent_of(t, olds[0].start);
            items.iter().map(|i| format!("{nl}{dash}- {i}")).collect()
        }
        _ => format!(" {}", flow_value(v)),
    }
}

fn edit(t: &str, at: usize, spec: &SellerSpec, before: &Seller) -> Result<String, EditError> {
    let nl = text::newline(t);
    let field = sellers_field(t)?.ok_or_else(|| EditError::NotFound(spec.id.clone()))?;
    let (_, list) = items(&field)?;
    let item = list
        .get(at)
        .ok_or_else(|| EditError::NotFound(spec.id.clone()))?;
    let (flow, entries) = item_fields(item)?;
    let find = |k: &str| entries.iter().position(|f| f.key == k);
    let mut splices = Vec::new();
    let mut added = String::new();
    for (key, want) in fields(spec) {
        if key == "id" {
            continue;
        }
        if key.starts_with("api_key") {
            let old = ["api_key", "api_key_env", "api_key_ref"]
                .iter()
                .find_map(|k| find(k));
            let want = want.map(|v| flow_value(&v)).unwrap_or_default();
            let unchanged = match (&spec.key, before.api_key.expose()) {
                (KeySource::Stored(r), k) => k == format!("ref:{r}"),
                (KeySource::Env(v), k) => k == format!("env:{v}"),
                (KeySource::Keep, _) => true,
            };
            if unchanged {
                continue;
            }
            match old {
                Some(i) => {
                    let f = &entries[i];
                    plain_value(t, f)?;
                    splices.push(Splice::new(
                        f.key_start,
                        f.value.end,
                        format!("{key}: {want}"),
                    ));
                }
                None => added.push_str(&new_field(flow, key, &want, entries, t, nl)),
            }
            continue;
        }
        let same = match key {
            // Compared as the parser reads them, so `https://x/v1/` and
            // `https://x` are one URL and a file's spelling stays.
            "base_url" => normalize_base_url(spec.base_url.trim()) == before.base_url,
            "name" => spec.name.as_deref().unwrap_or(&spec.id) == before.name,
            "protocols" => expected(spec, Some(before)).protocols == before.protocols,
            _ => current(before, key) == want,
        };
        if same {
            continue;
        }
        match (find(key), want) {
            (Some(i), Some(v)) => {
                let f = &entries[i];
                plain_value(t, f)?;
                splices.push(Splice::new(
                    f.colon_end,
                    f.value.end,
                    if flow {
                        format!(" {}", flow_value(&v))
                    } else {
                        value_text(t, Some(f), &v, nl)
                    },
                ));
            }
            (Some(i), None) => {
                plain_value(t, &entries[i])?;
                splices.push(remove_field(t, flow, entries, i));
            }
            (None, Some(v)) => {
                added.push_str(&new_field(flow, key, &flow_value(&v), entries, t, nl))
            }
            (None, None) => {}
        }
    }
    if !added.is_empty() {
        let last = entries.last().ok_or_else(|| {
            EditError::Unsupported(format!("seller \"{}\" is an empty mapping", spec.id))
        })?;
        let at = if flow {
            last.value.end
        } else {
            text::line_end(t, last.value.end.max(last.colon_end))
        };
        splices.push(Splice::new(at, at, added));
    }
    Ok(text::apply(t, splices))
}

/// A new `key: value` after an entry's last field.
fn new_field(flow: bool, key: &str, value: &str, entries: &[Field], t: &str, nl: &str) -> String {
    if flow {
        return format!(", {key}: {value}");
    }
    let inner = entries
        .first()
        .map(|f| column(t, f.key_start))
        .unwrap_or_default();
    format!("{nl}{inner}{key}: {value}")
}

fn remove_field(t: &str, flow: bool, entries: &[Field], i: usize) -> Splice {
    let f = &entries[i];
    if i == 0 {
        // The first field shares its line with `- ` (or follows `{`):
        // drop it up to the next key, which takes its place.
        let next = entries.get(1).map_or(f.value.end, |n| n.key_start);
        return Splice::new(f.key_start, next, "");
    }
    if flow {
        return Splice::new(entries[i - 1].value.end, f.value.end, "");
    }
    let start = text::line_start(t, f.key_start);
    let end = text::line_end(t, f.value.end.max(f.colon_end));
    Splice::new(start - text::break_before(t, start), end, "")
}

/// The anchors (`&name`) defined in `t[from..to]`.
fn anchors(t: &str, from: usize, to: usize) -> Vec<String> {
    let part = &t[from..to];
    part.match_indices('&')
        .map(|(i, _)| {
            part[i + 1..]
                .chars()
                .take_while(|c| !c.is_whitespace() && !",[]{}".contains(*c))
                .collect::<String>()
        })
        .filter(|n| !n.is_empty())
        .collect()
}

fn remove(t: &str, at: usize) -> Result<String, EditError> {
    let field =
        sellers_field(t)?.ok_or_else(|| EditError::Unsupported("no sellers list".into()))?;
    let (flow, list) = items(&field)?;
    let item = &list[at];
    let (from, to) = if flow {
        match (at, list.len()) {
            (_, 1) => (item.start, item.end),
            (0, _) => (item.start, list[1].start),
            _ => (list[at - 1].end, item.end),
        }
    } else if list.len() == 1 {
        // Up to the end of the line: a comment after the entry was its own.
        (field.colon_end, text::line_end(t, field.value.end))
    } else {
        let mut start = text::line_start(t, item.start);
        let dash = text::indent_of(t, item.start);
        // Comment lines directly above, at the dash's indentation, are the entry's.
        while start > 0 {
            let prev = text::line_start(t, start - 1);
            let line = t[prev..start].trim_end_matches(['\n', '\r']);
            if text::indent_of(t, prev) == dash && line[dash.len()..].starts_with('#') {
                start = prev;
            } else {
                break;
            }
        }
        let blank = |from: usize, to: usize| t[from..to].trim().is_empty();
        let mut end = text::line_end(t, item.end);
        if at == 0 {
            // The blank lines after the first entry separated it from the next.
            end += text::break_at(t, end);
            while end < t.len() {
                let next = text::line_end(t, end);
                if !blank(end, next) || next == t.len() {
                    break;
                }
                end = next + text::break_at(t, next);
            }
            (start, end)
        } else {
            // The blank lines above an entry separated it from the one before.
            while start > 0 {
                let prev = text::line_start(t, start - 1);
                if !blank(prev, start) {
                    break;
                }
                start = prev;
            }
            (start - text::break_before(t, start), end)
        }
    };
    let rest = format!("{}{}", &t[..from], &t[to..]);
    if let Some(a) = anchors(t, from, to)
        .into_iter()
        .find(|a| rest.contains(&format!("*{a}")))
    {
        return Err(EditError::Unsupported(format!(
            "this seller defines the anchor &{a} that another part of the file uses; edit it by hand"
        )));
    }
    let with = if !flow && list.len() == 1 { " []" } else { "" };
    Ok(text::apply(t, vec![Splice::new(from, to, with)]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Protocol;

    fn spec(id: &str) -> SellerSpec {
        SellerSpec {
            id: id.into(),
            name: None,
            base_url: "https://new.example/v1".into(),
            key: KeySource::Stored(id.into()),
            protocols: vec![Protocol::OpenAiChat],
            models: vec![],
            discount_ratio: None,
            service_fee_ratio: None,
            priority: None,
            max_concurrency: None,
            credits: None,
        }
    }

    fn run(text: &str, change: Change) -> Result<String, EditError> {
        apply(Path::new("/d/sellers.yaml"), text, &change)
    }

    const BLOCK: &str = "# mine\nsellers:\n  # the first\n  - id: a   # A\n    base_url: http://a.example\n    api_key: sk-a\n    protocols: [openai-chat]\n\n  - id: b\n    base_url: http://b.example\n    api_key_env: B_KEY\n    protocols:\n      - openai-chat\n";

    #[test]
    fn add_edit_remove_round_trip_in_a_block_list() {
        let added = run(BLOCK, Change::Add(spec("c"))).unwrap();
        assert_eq!(
            added,
            format!("{BLOCK}  - id: c\n    base_url: https://new.example/v1\n    api_key_ref: c\n    protocols: [openai-chat]\n")
        );
        let mut s = spec("b");
        s.base_url = "http://b.example".into();
        s.key = KeySource::Keep;
        s.protocols = vec![Protocol::OpenAiChat, Protocol::AnthropicMessages];
        s.credits = Some(5.0);
        let edited = run(BLOCK, Change::Edit(s)).unwrap();
        assert!(
            edited.ends_with("  - id: b\n    base_url: http://b.example\n    api_key_env: B_KEY\n    protocols:\n      - openai-chat\n      - anthropic-messages\n    credits: 5\n"),
            "{edited}"
        );
        let removed = run(BLOCK, Change::Remove("a".into())).unwrap();
        assert_eq!(removed, "# mine\nsellers:\n  - id: b\n    base_url: http://b.example\n    api_key_env: B_KEY\n    protocols:\n      - openai-chat\n");
        let none = run(&removed, Change::Remove("b".into())).unwrap();
        assert_eq!(none, "# mine\nsellers: []\n");
        assert_eq!(
            run(&none, Change::Add(spec("z"))).unwrap(),
            "# mine\nsellers:\n  - id: z\n    base_url: https://new.example/v1\n    api_key_ref: z\n    protocols: [openai-chat]\n"
        );
    }

    #[test]
    fn refusals() {
        assert!(matches!(
            run(BLOCK, Change::Add(spec("a"))),
            Err(EditError::Exists(_))
        ));
        assert!(matches!(
            run(BLOCK, Change::Remove("x".into())),
            Err(EditError::NotFound(_))
        ));
        let mut bad = spec("n");
        bad.base_url = "ftp://x".into();
        assert!(matches!(
            run(BLOCK, Change::Add(bad)),
            Err(EditError::BadField {
                field: "baseUrl",
                ..
            })
        ));
        let broken = "sellers:\n  - id: a\n    base_url: [oops\n";
        let err = run(broken, Change::Add(spec("n"))).unwrap_err();
        assert!(
            matches!(err, EditError::Broken(FileError { line: Some(_), .. })),
            "{err}"
        );
    }
}
