//! JSON, JSONC and JSON5 documents, edited by splicing text at the spans
//! `jsonc-parser` reports. Written by hand on top of the parser because the
//! crate's own CST editor reflows a one-line object it appends to, and a
//! user's layout must survive byte for byte. An insertion goes after the last
//! item on its own line (or inline in a one-line object); a removal is the
//! exact inverse, so set-then-remove gives back the original text.

use jsonc_parser::ast::{ObjectPropName, Value as Ast};
use jsonc_parser::common::Ranged;
use jsonc_parser::{CollectOptions, CommentCollectionStrategy, ParseOptions};
use serde_json::Value;

use super::text::{self, Splice};
use super::{ConfigDoc, DocError, Segment};

/// Which JSON the tool reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Strict JSON (Claude Code, Crush).
    Json,
    /// JSON with comments and trailing commas (opencode, Qwen Code).
    Jsonc,
    /// JSON5 (OpenClaw).
    Json5,
}

impl Dialect {
    fn options(self) -> ParseOptions {
        let loose = self == Dialect::Json5;
        let comments = self != Dialect::Json;
        ParseOptions {
            allow_comments: comments,
            allow_loose_object_property_names: loose,
            allow_trailing_commas: comments,
            allow_missing_commas: false,
            allow_single_quoted_strings: loose,
            allow_hexadecimal_numbers: loose,
            allow_unary_plus_numbers: loose,
            allow_bare_decimal_point_numbers: loose,
            allow_non_finite_numbers: loose,
            allow_extended_string_escapes: loose,
        }
    }
}

/// An editable JSON-family file.
#[derive(Debug, Clone)]
pub struct JsonDoc {
    text: String,
    dialect: Dialect,
}

/// A span `start..end` in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: usize,
    end: usize,
}

impl Span {
    fn of(r: &impl Ranged) -> Span {
        let range = r.range();
        Span {
            start: range.start,
            end: range.end,
        }
    }
}

/// An object or array: its brackets and its items (whole properties or elements).
#[derive(Debug, Clone)]
struct Container {
    span: Span,
    items: Vec<Span>,
}

/// Where a path leads.
enum Found {
    /// The value exists: its span, and the item holding it in its container.
    Here {
        value: Span,
        holder: Option<(Container, usize)>,
    },
    /// It does not: the deepest existing container, and how many path
    /// steps are missing below it.
    Missing { parent: Container, missing: usize },
    /// The document is empty (no root value).
    Empty,
}

fn container(v: &Ast<'_>) -> Option<Container> {
    match v {
        Ast::Object(o) => Some(Container {
            span: Span::of(o),
            items: o.properties.iter().map(Span::of).collect(),
        }),
        Ast::Array(a) => Some(Container {
            span: Span::of(a),
            items: a.elements.iter().map(Span::of).collect(),
        }),
        _ => None,
    }
}

/// Skips whitespace and comments from `pos`.
fn skip_trivia(text: &str, mut pos: usize) -> usize {
    let b = text.as_bytes();
    while pos < b.len() {
        match b[pos] {
            b' ' | b'\t' | b'\r' | b'\n' => pos += 1,
            b'/' if b.get(pos + 1) == Some(&b'/') => {
                pos = text[pos..].find('\n').map_or(b.len(), |i| pos + i);
            }
            b'/' if b.get(pos + 1) == Some(&b'*') => {
                pos = text[pos + 2..]
                    .find("*/")
                    .map_or(b.len(), |i| pos + 2 + i + 2);
            }
            _ => break,
        }
    }
    pos
}

/// The comma after an item ending at `end`, if there is one.
fn comma_after(text: &str, end: usize) -> Option<Span> {
    let pos = skip_trivia(text, end);
    (text.as_bytes().get(pos) == Some(&b',')).then_some(Span {
        start: pos,
        end: pos + 1,
    })
}

fn prop_name<'a>(name: &'a ObjectPropName<'_>) -> &'a str {
    match name {
        ObjectPropName::String(s) => &s.value,
        ObjectPropName::Word(w) => w.value,
    }
}

fn parse_error(text: &str, e: &jsonc_parser::errors::ParseError) -> DocError {
    let at = e.range().start.min(text.len());
    DocError::Parse {
        line: text[..at].matches('\n').count() + 1,
        message: e.kind().to_string(),
    }
}

fn parse_ast(text: &str, dialect: Dialect) -> Result<jsonc_parser::ParseResult<'_>, DocError> {
    let collect = CollectOptions {
        comments: CommentCollectionStrategy::Off,
        tokens: false,
    };
    jsonc_parser::parse_to_ast(text, &collect, &dialect.options())
        .map_err(|e| parse_error(text, &e))
}

/// Whether `text` parses, with an object (or nothing) at the top.
fn check_text(text: &str, dialect: Dialect) -> Result<(), DocError> {
    match parse_ast(text, dialect)?.value {
        None | Some(Ast::Object(_)) => Ok(()),
        Some(_) => Err(DocError::Unsupported(
            "the file's top level is not an object".into(),
        )),
    }
}

impl JsonDoc {
    /// Parses `text` (an empty file is an empty document); the root must be
    /// an object.
    pub fn parse(text: &str, dialect: Dialect) -> Result<JsonDoc, DocError> {
        let doc = JsonDoc {
            text: text.to_string(),
            dialect,
        };
        doc.check()?;
        Ok(doc)
    }

    fn check(&self) -> Result<(), DocError> {
        check_text(&self.text, self.dialect)
    }

    fn ast(&self) -> Result<jsonc_parser::ParseResult<'_>, DocError> {
        parse_ast(&self.text, self.dialect)
    }

    fn find(&self, path: &[&str]) -> Result<Found, DocError> {
        let parsed = self.ast()?;
        let Some(root) = parsed.value.as_ref() else {
            return Ok(Found::Empty);
        };
        let mut current = root;
        let mut holder = None;
        for (i, step) in path.iter().enumerate() {
            let next = match (Segment::parse(step), current) {
                (Segment::Key(k), Ast::Object(o)) => o
                    .properties
                    .iter()
                    .enumerate()
                    .find(|(_, p)| prop_name(&p.name) == k)
                    .map(|(idx, p)| (idx, &p.value)),
                (Segment::Select { field, value }, Ast::Array(a)) => {
                    a.elements.iter().enumerate().find(|(_, e)| {
                        e.as_object()
                            .and_then(|o| o.get(field))
                            .and_then(|p| p.value.as_string_lit())
                            .is_some_and(|s| s.value == value)
                    })
                }
                _ => {
                    return Err(DocError::NotATable {
                        key: path[..i].join("."),
                    })
                }
            };
            let Some(parent) = container(current) else {
                return Err(DocError::NotATable {
                    key: path[..i].join("."),
                });
            };
            match next {
                Some((idx, v)) => {
                    holder = Some((parent, idx));
                    current = v;
                }
                None => {
                    return Ok(Found::Missing {
                        parent,
                        missing: path.len() - i,
                    })
                }
            }
        }
        Ok(Found::Here {
            value: Span::of(current),
            holder,
        })
    }

    fn replace_text(&mut self, splices: Vec<Splice>) -> Result<(), DocError> {
        let dialect = self.dialect;
        super::apply_verified(&mut self.text, splices, |t| check_text(t, dialect))
    }

    fn unit(&self) -> String {
        text::indent_unit(&self.text)
    }

    fn nl(&self) -> &'static str {
        text::newline(&self.text)
    }

    /// Splices that add `item` (a rendered property or element) as the last
    /// item of `c`; `render` gets the indentation the item will sit at.
    fn insert(
        &self,
        c: &Container,
        render: &dyn Fn(&str) -> Result<String, DocError>,
    ) -> Result<Vec<Splice>, DocError> {
        let t = &self.text;
        let nl = self.nl();
        let open = c.span.start + 1;
        let close = c.span.end - 1;
        let outer = text::indent_of(t, c.span.start).to_string();
        let child = format!("{outer}{}", self.unit());
        let Some(last) = c.items.last().copied() else {
            let inner = &t[open..close];
            if inner.contains('\n') {
                return Ok(vec![Splice::new(
                    open,
                    open,
                    format!("{nl}{child}{}", render(&child)?),
                )]);
            }
            return Ok(vec![Splice::new(
                open,
                close,
                format!("{nl}{child}{}{nl}{outer}", render(&child)?),
            )]);
        };
        let comma = comma_after(t, last.end);
        let multiline = c
            .items
            .first()
            .is_some_and(|first| t[c.span.start..first.start].contains('\n'));
        if !multiline {
            return Ok(match comma {
                Some(cm) => vec![Splice::new(
                    cm.end,
                    cm.end,
                    format!(" {},", render(&outer)?),
                )],
                None => vec![Splice::new(
                    last.end,
                    last.end,
                    format!(", {}", render(&outer)?),
                )],
            });
        }
        let indent = if text::starts_line(t, last.start) {
            text::indent_of(t, last.start).to_string()
        } else {
            child
        };
        // After the rest of the last item's line (a trailing comment stays
        // with it), unless the closing bracket sits on that line.
        let after = |pos: usize| {
            let end = text::line_end(t, pos);
            if close >= end {
                end
            } else {
                pos
            }
        };
        Ok(match comma {
            Some(cm) => vec![Splice::new(
                after(cm.end),
                after(cm.end),
                format!("{nl}{indent}{},", render(&indent)?),
            )],
            None => {
                let at = after(last.end);
                let item = format!("{nl}{indent}{}", render(&indent)?);
                if at == last.end {
                    vec![Splice::new(at, at, format!(",{item}"))]
                } else {
                    vec![
                        Splice::new(last.end, last.end, ","),
                        Splice::new(at, at, item),
                    ]
                }
            }
        })
    }

    /// Splices that remove item `idx` of `c`: the inverse of [`JsonDoc::insert`].
    fn delete(&self, c: &Container, idx: usize) -> Vec<Splice> {
        let t = &self.text;
        let item = c.items[idx];
        let comma = comma_after(t, item.end);
        let end = comma.map_or(item.end, |cm| cm.end);
        let prev = idx.checked_sub(1).map(|p| c.items[p]);
        let is_last = idx + 1 == c.items.len();
        if text::starts_line(t, item.start) {
            let start = text::line_start(t, item.start);
            let mut splices = Vec::new();
            let before = text::break_before(t, start);
            if before > 0 {
                splices.push(Splice::new(start - before, end, ""));
            } else {
                let after = text::break_at(t, end);
                splices.push(Splice::new(start, end + after, ""));
            }
            if comma.is_none() && is_last {
                // The separator we added after the previous item goes too.
                if let Some(pc) = prev.and_then(|p| comma_after(t, p.end)) {
                    splices.push(Splice::new(pc.start, pc.end, ""));
                }
            }
            return splices;
        }
        match (prev, is_last) {
            (Some(p), true) => {
                let from = match comma {
                    Some(_) => comma_after(t, p.end).map_or(p.end, |pc| pc.end),
                    None => p.end,
                };
                vec![Splice::new(from, end, "")]
            }
            (None, true) => vec![Splice::new(c.span.start + 1, c.span.end - 1, "")],
            (_, false) => vec![Splice::new(item.start, c.items[idx + 1].start, "")],
        }
    }

    fn put(&mut self, path: &[&str], leaf: Leaf<'_>) -> Result<(), DocError> {
        let unit = self.unit();
        let nl = self.nl();
        if let Some(last) = path.last() {
            selector_kept(last, leaf)?;
        }
        match self.find(path)? {
            Found::Here { value, .. } => {
                let indent = text::indent_of(&self.text, value.start).to_string();
                let with = leaf.render(&indent, &unit, nl);
                self.replace_text(vec![Splice::new(value.start, value.end, with)])
            }
            Found::Empty => {
                let text = if path.is_empty() {
                    leaf.render("", &unit, nl)
                } else {
                    format!(
                        "{{{nl}{unit}{}{nl}}}{nl}",
                        nest(path, leaf, &unit, &unit, nl)?
                    )
                };
                self.replace_text(vec![Splice::new(0, self.text.len(), text)])
            }
            Found::Missing { parent, missing } => {
                let rest = &path[path.len() - missing..];
                let splices =
                    self.insert(&parent, &|indent| nest(rest, leaf, indent, &unit, nl))?;
                self.replace_text(splices)
            }
        }
    }
}

/// A value to write: rendered from JSON, or source text put back as it was.
#[derive(Clone, Copy)]
enum Leaf<'a> {
    Json(&'a Value),
    Source(&'a str),
}

impl Leaf<'_> {
    fn render(&self, indent: &str, unit: &str, nl: &str) -> String {
        match self {
            Leaf::Json(v) => render(v, indent, unit, nl),
            Leaf::Source(s) => s.to_string(),
        }
    }
}

/// The new item for the missing steps `rest`, whose first step is the item
/// itself: a property `"a": …`, or a list element for a `[field=value]`
/// step. Each missing step below it gets a new container of its kind — an
/// object for a key, a list for a `[field=value]` step — and an element
/// created for a selector carries `field: value`, so it is found again.
fn nest(
    rest: &[&str],
    leaf: Leaf<'_>,
    indent: &str,
    unit: &str,
    nl: &str,
) -> Result<String, DocError> {
    let Some((first, below)) = rest.split_first() else {
        return Ok(leaf.render(indent, unit, nl));
    };
    let first = Segment::parse(first);
    let inner = format!("{indent}{unit}");
    let value = match below.first().map(|s| Segment::parse(s)) {
        None => leaf.render(indent, unit, nl),
        Some(Segment::Select { .. }) => {
            let child = nest(below, leaf, &inner, unit, nl)?;
            format!("[{nl}{inner}{child}{nl}{indent}]")
        }
        Some(Segment::Key(_)) => {
            let child = nest(below, leaf, &inner, unit, nl)?;
            match first {
                Segment::Select { field, value } => format!(
                    "{{{nl}{inner}{}: {},{nl}{inner}{child}{nl}{indent}}}",
                    quote(field),
                    quote(value)
                ),
                Segment::Key(_) => format!("{{{nl}{inner}{child}{nl}{indent}}}"),
            }
        }
    };
    match (first, below.first().map(|s| Segment::parse(s))) {
        (Segment::Select { .. }, Some(Segment::Select { .. })) => Err(DocError::Unsupported(
            "cannot create a list directly inside a list element".into(),
        )),
        (Segment::Key(k), _) => Ok(format!("{}: {value}", quote(k))),
        (Segment::Select { .. }, _) => Ok(value),
    }
}

/// A list element written at a `[field=value]` step must carry
/// `field: value`, or it would not be found there again: our bug.
fn selector_kept(step: &str, leaf: Leaf<'_>) -> Result<(), DocError> {
    if let (Segment::Select { field, value }, Leaf::Json(v)) = (Segment::parse(step), leaf) {
        if v.get(field).and_then(Value::as_str) != Some(value) {
            return Err(DocError::Bug(format!(
                "a list element for [{field}={value}] lacks {field} = {value:?}"
            )));
        }
    }
    Ok(())
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// Renders `v` as JSON whose first line sits at `indent`: objects and lists
/// of objects one item per line, lists of plain values on one line.
pub fn render(v: &Value, indent: &str, unit: &str, nl: &str) -> String {
    let inner = format!("{indent}{unit}");
    match v {
        Value::Object(map) if map.is_empty() => "{}".into(),
        Value::Object(map) => {
            let items: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{inner}{}: {}", quote(k), render(v, &inner, unit, nl)))
                .collect();
            format!("{{{nl}{}{nl}{indent}}}", items.join(&format!(",{nl}")))
        }
        Value::Array(list) if list.iter().all(|e| !e.is_object() && !e.is_array()) => {
            let items: Vec<String> = list.iter().map(|e| render(e, "", unit, nl)).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Array(list) => {
            let items: Vec<String> = list
                .iter()
                .map(|e| format!("{inner}{}", render(e, &inner, unit, nl)))
                .collect();
            format!("[{nl}{}{nl}{indent}]", items.join(&format!(",{nl}")))
        }
        other => other.to_string(),
    }
}

impl ConfigDoc for JsonDoc {
    fn value(&self, path: &[&str]) -> Option<Value> {
        let root = jsonc_parser::parse_to_serde_value::<Option<Value>>(
            &self.text,
            &self.dialect.options(),
        )
        .ok()
        // An empty file has no root at all (not `null`): nothing is there.
        .flatten()?;
        super::lookup(&root, path).cloned()
    }

    fn get(&self, path: &[&str]) -> Option<String> {
        match self.find(path).ok()? {
            Found::Here { value, .. } => Some(self.text[value.start..value.end].to_string()),
            _ => None,
        }
    }

    fn set(&mut self, path: &[&str], value: &Value) -> Result<(), DocError> {
        self.put(path, Leaf::Json(value))
    }

    fn set_source(&mut self, path: &[&str], source: &str) -> Result<(), DocError> {
        self.put(path, Leaf::Source(source))
    }

    fn remove(&mut self, path: &[&str]) -> Result<(), DocError> {
        match self.find(path) {
            Ok(Found::Here {
                holder: Some((c, idx)),
                ..
            }) => {
                let splices = self.delete(&c, idx);
                self.replace_text(splices)
            }
            Ok(Found::Here { holder: None, .. }) => {
                // The root: the document becomes empty.
                self.text.clear();
                Ok(())
            }
            Ok(_) | Err(DocError::NotATable { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn render(&self) -> String {
        self.text.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(text: &str, dialect: Dialect, path: &[&str], value: Value) -> String {
        let mut d = JsonDoc::parse(text, dialect).unwrap();
        d.set(path, &value).unwrap();
        let edited = d.render();
        assert_eq!(d.value(path), Some(value), "{edited}");
        d.remove(path).unwrap();
        assert_eq!(
            d.render(),
            text,
            "remove is the inverse of set; edited:\n{edited}"
        );
        edited
    }

    #[test]
    fn inserts_after_the_last_item_and_removes_exactly() {
        let t = "{\n  // c\n  \"a\": 1, // one\n  \"env\": {\n    \"X\": \"1\"\n  }\n}\n";
        let e = round_trip(t, Dialect::Jsonc, &["env", "Y"], json!("2"));
        assert!(
            e.contains("    \"X\": \"1\",\n    \"Y\": \"2\"\n  }"),
            "{e}"
        );
        let e = round_trip(
            t,
            Dialect::Jsonc,
            &["zz"],
            json!({"q": {"a": [1, 2], "b": {}}}),
        );
        assert!(e.ends_with("  },\n  \"zz\": {\n    \"q\": {\n      \"a\": [1, 2],\n      \"b\": {}\n    }\n  }\n}\n"), "{e}");
    }

    #[test]
    fn one_line_objects_stay_on_one_line() {
        let t = "{\"env\": {\"A\": \"1\"}, \"b\": [1]}";
        let e = round_trip(t, Dialect::Json, &["env", "B"], json!("x"));
        assert_eq!(e, "{\"env\": {\"A\": \"1\", \"B\": \"x\"}, \"b\": [1]}");
    }

    #[test]
    fn trailing_commas_tabs_crlf_and_json5_keys() {
        let t = "{\r\n\ta: 1,\r\n\t'b': 'x', // note\r\n}";
        let e = round_trip(t, Dialect::Json5, &["c"], json!(true));
        assert_eq!(
            e,
            "{\r\n\ta: 1,\r\n\t'b': 'x', // note\r\n\t\"c\": true,\r\n}"
        );
    }

    #[test]
    fn replaces_in_place_and_selects_array_elements() {
        let t = "{\n  \"list\": [\n    {\"id\": \"a\", \"v\": 1}\n  ]\n}";
        let mut d = JsonDoc::parse(t, Dialect::Json).unwrap();
        assert_eq!(d.get(&["list", "[id=a]", "v"]).as_deref(), Some("1"));
        d.set(&["list", "[id=a]", "v"], &json!(2)).unwrap();
        assert!(d.render().contains("{\"id\": \"a\", \"v\": 2}"));
        round_trip(t, Dialect::Json, &["list", "[id=b]"], json!({"id": "b"}));
    }

    #[test]
    fn empty_and_missing_documents() {
        let mut d = JsonDoc::parse("", Dialect::Json).unwrap();
        d.set(&["env", "A"], &json!("1")).unwrap();
        assert_eq!(d.render(), "{\n  \"env\": {\n    \"A\": \"1\"\n  }\n}\n");
        let mut d = JsonDoc::parse("{}", Dialect::Json).unwrap();
        d.set(&["a"], &json!(1)).unwrap();
        assert_eq!(d.render(), "{\n  \"a\": 1\n}");
    }

    #[test]
    fn a_selector_step_creates_the_missing_list_and_its_parents() {
        let entry = json!({"id": "m", "envKey": "K"});
        let path = ["a", "list", "[envKey=K]"];
        for text in [
            "",
            "{}",
            "{}\n",
            "{\n  \"ui\": {\"theme\": \"x\"}\n}\n",
            "{\"a\": {}}",
        ] {
            let mut d = JsonDoc::parse(text, Dialect::Jsonc).unwrap();
            d.set(&path, &entry).unwrap();
            let e = d.render();
            assert_eq!(
                d.value(&["a", "list"]),
                Some(json!([entry])),
                "{text:?} gave:\n{e}"
            );
            assert_eq!(d.value(&path), Some(entry.clone()), "found again:\n{e}");
        }
        // Into an existing list, the inverse holds byte for byte.
        round_trip(
            "{\"a\": {\"list\": [{\"id\": \"x\"}]}}",
            Dialect::Json,
            &path,
            entry.clone(),
        );
        // A field of a missing element: the element carries its selector.
        let mut d = JsonDoc::parse("{}", Dialect::Json).unwrap();
        d.set(&["list", "[id=b]", "v"], &json!(2)).unwrap();
        assert_eq!(
            d.value(&["list"]),
            Some(json!([{"id": "b", "v": 2}])),
            "{}",
            d.render()
        );
        // An element that would not be found again is our bug, not the file's.
        let mut d = JsonDoc::parse("{}", Dialect::Json).unwrap();
        let err = d.set(&["list", "[id=b]"], &json!({"id": "c"})).unwrap_err();
        assert!(matches!(err, DocError::Bug(_)), "{err:?}");
        assert_eq!(d.render(), "{}");
        let text = "{\"l\": [{\"id\": \"b\"}]}";
        let mut d = JsonDoc::parse(text, Dialect::Json).unwrap();
        let err = d.set(&["l", "[id=b]"], &json!({"id": "c"})).unwrap_err();
        assert!(matches!(err, DocError::Bug(_)), "{err:?}");
        assert_eq!(d.render(), text);
    }

    #[test]
    fn refuses_what_it_cannot_parse_or_reach() {
        let err = JsonDoc::parse("{\n  \"a\": 1,\n  \"b\": \n}", Dialect::Json).unwrap_err();
        assert!(matches!(err, DocError::Parse { line: 4, .. }), "{err}");
        assert!(JsonDoc::parse("{/* c */}", Dialect::Json).is_err());
        assert!(JsonDoc::parse("[1]", Dialect::Json).is_err());
        let mut d = JsonDoc::parse("{\"env\": 3}", Dialect::Json).unwrap();
        assert!(matches!(
            d.set(&["env", "A"], &json!(1)),
            Err(DocError::NotATable { .. })
        ));
        assert_eq!(d.render(), "{\"env\": 3}");
    }
}
