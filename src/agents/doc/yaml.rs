//! YAML documents (Hermes), edited by splicing text at the spans the
//! `granit-parser` event stream reports, then re-parsed. Only block mappings
//! are edited in place; a value is replaced from just after its key's colon
//! to its end, so a trailing comment, anchors elsewhere, block scalars and
//! lists around it keep their bytes. No YAML crate keeps comments when it
//! writes, hence the splicing by hand.

use granit_parser::{Event, Parser, StructureStyle};
use serde_json::Value;

use super::text::{self, Splice};
use super::{ConfigDoc, DocError};

/// An editable YAML file.
#[derive(Debug, Clone)]
pub struct YamlDoc {
    text: String,
}

#[derive(Debug, Clone)]
enum Kind {
    Scalar,
    /// Block mapping: entries `(key, key start, colon end, value)`.
    Map(Vec<Entry>),
    /// Flow mapping `{a: 1}` (read for [`outline`]; never edited by key).
    FlowMap(Vec<Entry>),
    /// Sequence, block or flow (read for [`outline`]).
    Seq {
        flow: bool,
        items: Vec<Node>,
    },
    Other,
}

#[derive(Debug, Clone)]
struct Entry {
    key: String,
    key_start: usize,
    colon_end: usize,
    value: Node,
}

#[derive(Debug, Clone)]
struct Node {
    kind: Kind,
    start: usize,
    end: usize,
}

struct Reader<'t> {
    text: &'t str,
    parser: Parser<'t, granit_parser::StrInput<'t>>,
}

fn offset(text: &str, m: &granit_parser::Marker) -> usize {
    m.byte_offset()
        .unwrap_or_else(|| {
            text.char_indices()
                .nth(m.index())
                .map_or(text.len(), |(i, _)| i)
        })
        .min(text.len())
}

fn scan_error(text: &str, e: &granit_parser::ScanError) -> DocError {
    let at = offset(text, e.marker());
    DocError::Parse {
        line: text[..at].matches('\n').count() + 1,
        message: e.info(),
    }
}

impl<'t> Reader<'t> {
    fn next(&mut self) -> Result<(Event<'t>, usize, usize), DocError> {
        match self.parser.next_event() {
            Some(Ok((event, span))) => Ok((
                event,
                offset(self.text, &span.start),
                offset(self.text, &span.end),
            )),
            Some(Err(e)) => Err(scan_error(self.text, &e)),
            None => Err(DocError::Parse {
                line: self.text.lines().count().max(1),
                message: "unexpected end of the document".into(),
            }),
        }
    }

    /// Trims trailing blanks a span may include (block scalars end at the
    /// next line).
    fn trim_end(&self, start: usize, mut end: usize) -> usize {
        let b = self.text.as_bytes();
        while end > start && matches!(b[end - 1], b' ' | b'\t' | b'\r' | b'\n') {
            end -= 1;
        }
        end
    }

    fn node(&mut self, first: (Event<'t>, usize, usize)) -> Result<Node, DocError> {
        let (event, start, end) = first;
        match event {
            Event::Scalar(..) | Event::Alias(..) | Event::UnresolvedAlias(..) => Ok(Node {
                kind: if matches!(event, Event::Scalar(..)) {
                    Kind::Scalar
                } else {
                    Kind::Other
                },
                start,
                end: self.trim_end(start, end),
            }),
            Event::MappingStart(style, ..) => {
                let mut entries = Vec::new();
                let mut last = start;
                loop {
                    let next = self.next()?;
                    if let Event::MappingEnd = next.0 {
                        let end = if style == StructureStyle::Flow {
                            next.2
                        } else {
                            last
                        };
                        let kind = if style == StructureStyle::Flow {
                            Kind::FlowMap(entries)
                        } else {
                            Kind::Map(entries)
                        };
                        return Ok(Node { kind, start, end });
                    }
                    let key = match &next.0 {
                        Event::Scalar(k, ..) => Some(k.to_string()),
                        _ => None,
                    };
                    let key_node = self.node(next)?;
                    let value_first = self.next()?;
                    let value = self.node(value_first)?;
                    last = last.max(value.end).max(key_node.end);
                    let colon = self.text[key_node.end..]
                        .find(':')
                        .map(|i| key_node.end + i + 1)
                        .unwrap_or(key_node.end);
                    if let Some(key) = key {
                        entries.push(Entry {
                            key,
                            key_start: key_node.start,
                            colon_end: colon,
                            value,
                        });
                    }
                }
            }
            Event::SequenceStart(style, ..) => {
                let mut last = start;
                let mut items = Vec::new();
                loop {
                    let next = self.next()?;
                    if let Event::SequenceEnd = next.0 {
                        let flow = style == StructureStyle::Flow;
                        let end = if flow { next.2 } else { last };
                        return Ok(Node {
                            kind: Kind::Seq { flow, items },
                            start,
                            end,
                        });
                    }
                    let item = self.node(next)?;
                    last = last.max(item.end);
                    items.push(item);
                }
            }
            _ => Err(DocError::Unsupported("unexpected YAML structure".into())),
        }
    }
}

/// The document's root node (`None` for an empty document).
fn root(text: &str) -> Result<Option<Node>, DocError> {
    let mut r = Reader {
        text,
        parser: Parser::new_from_str(text),
    };
    let mut found = None;
    loop {
        let (event, start, end) = r.next()?;
        match event {
            Event::StreamStart | Event::DocumentEnd => {}
            Event::StreamEnd => return Ok(found),
            Event::DocumentStart(..) if found.is_some() => {
                return Err(DocError::Unsupported(
                    "the file holds several YAML documents".into(),
                ))
            }
            Event::DocumentStart(..) => {
                let first = r.next()?;
                found = Some(r.node(first)?);
            }
            other => {
                found = Some(r.node((other, start, end))?);
            }
        }
    }
}

/// A plain scalar is kept plain only when YAML cannot read it as anything else.
fn scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/:-@+".contains(c))
        && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && !s.contains(": ")
        && !s.ends_with(':')
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n"
        );
    if plain {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
    }
}

/// The text after `key:` for `v`, with nested keys at `indent` + `unit`.
fn region(v: &Value, indent: &str, unit: &str, nl: &str) -> String {
    match v {
        Value::Object(map) if !map.is_empty() => {
            let inner = format!("{indent}{unit}");
            map.iter()
                .map(|(k, v)| format!("{nl}{inner}{}:{}", scalar(k), region(v, &inner, unit, nl)))
                .collect()
        }
        Value::String(s) => format!(" {}", scalar(s)),
        other => format!(" {other}"),
    }
}

enum Found {
    /// The entry holding the value, and its mapping.
    Here { map: Node, index: usize },
    /// The deepest existing block mapping and the missing keys below it.
    Missing { map: Option<Node>, missing: usize },
}

/// The root block mapping of `text` (`None` for an empty document).
fn root_mapping(text: &str) -> Result<Option<Node>, DocError> {
    let root = root(text)?;
    match &root {
        Some(Node {
            kind: Kind::Map(_), ..
        }) => Ok(root),
        Some(Node {
            kind: Kind::Scalar,
            start,
            end,
        }) if start == end => Ok(None),
        None => Ok(None),
        Some(_) => Err(DocError::Unsupported(
            "the file's top level is not a block mapping".into(),
        )),
    }
}

/// The shape of one YAML node, with byte spans, for editors of a file
/// whose layout is a list of mappings (the sellers file): the same reader
/// the key editor uses, exposed read-only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// A scalar (an empty span is a null written as nothing).
    Scalar,
    /// An alias, or anything else not read further.
    Other,
    /// A block mapping's entries.
    BlockMap(Vec<Field>),
    /// A flow mapping's entries.
    FlowMap(Vec<Field>),
    /// A block sequence's items.
    BlockSeq(Vec<Span>),
    /// A flow sequence's items.
    FlowSeq(Vec<Span>),
}

/// A node and where it is: `start..end` is its text, trailing blanks
/// trimmed (a flow collection includes its brackets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// What it is.
    pub shape: Shape,
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

/// One `key: value` entry of a mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The key as parsed.
    pub key: String,
    /// Where the key starts.
    pub key_start: usize,
    /// Just after the key's colon.
    pub colon_end: usize,
    /// The value.
    pub value: Span,
}

fn span_of(node: &Node) -> Span {
    let fields = |entries: &Vec<Entry>| {
        entries
            .iter()
            .map(|e| Field {
                key: e.key.clone(),
                key_start: e.key_start,
                colon_end: e.colon_end,
                value: span_of(&e.value),
            })
            .collect()
    };
    let shape = match &node.kind {
        Kind::Scalar => Shape::Scalar,
        Kind::Other => Shape::Other,
        Kind::Map(entries) => Shape::BlockMap(fields(entries)),
        Kind::FlowMap(entries) => Shape::FlowMap(fields(entries)),
        Kind::Seq { flow, items } => {
            let items = items.iter().map(span_of).collect();
            if *flow {
                Shape::FlowSeq(items)
            } else {
                Shape::BlockSeq(items)
            }
        }
    };
    Span {
        shape,
        start: node.start,
        end: node.end,
    }
}

/// The document's root node with every span (`None` for an empty
/// document); the root must be a block mapping, as for [`YamlDoc::parse`].
pub fn outline(text: &str) -> Result<Option<Span>, DocError> {
    Ok(root_mapping(text)?.as_ref().map(span_of))
}

/// How a string is written as a YAML scalar: plain when YAML cannot read it
/// as anything else, else double-quoted.
pub fn scalar_text(s: &str) -> String {
    scalar(s)
}

impl YamlDoc {
    /// Parses `text` (empty is an empty mapping); the root must be a block mapping.
    pub fn parse(text: &str) -> Result<YamlDoc, DocError> {
        let doc = YamlDoc {
            text: text.to_string(),
        };
        doc.check()?;
        Ok(doc)
    }

    fn check(&self) -> Result<Option<Node>, DocError> {
        root_mapping(&self.text)
    }

    fn find(&self, path: &[&str]) -> Result<Found, DocError> {
        super::keys_only(path, "YAML")?;
        let mut map = match self.check()? {
            Some(root) => root,
            None => {
                return Ok(Found::Missing {
                    map: None,
                    missing: path.len(),
                })
            }
        };
        for (i, step) in path.iter().enumerate() {
            // Every step is a key: `keys_only` refused selectors.
            let key = *step;
            let Kind::Map(entries) = &map.kind else {
                return Err(DocError::NotATable {
                    key: path[..i].join("."),
                });
            };
            let Some(index) = entries.iter().position(|e| e.key == key) else {
                return Ok(Found::Missing {
                    map: Some(map),
                    missing: path.len() - i,
                });
            };
            if i + 1 == path.len() {
                return Ok(Found::Here { map, index });
            }
            let next = entries[index].value.clone();
            if !matches!(next.kind, Kind::Map(_)) {
                let what = if matches!(next.kind, Kind::Scalar) {
                    "a plain value"
                } else {
                    "a list or flow mapping"
                };
                return Err(DocError::Unsupported(format!(
                    "`{}` is {what}, not a block mapping; not touching it",
                    path[..=i].join(".")
                )));
            }
            map = next;
        }
        Err(DocError::Unsupported(
            "the document root cannot be replaced".into(),
        ))
    }

    fn replace_text(&mut self, splices: Vec<Splice>) -> Result<(), DocError> {
        super::apply_verified(&mut self.text, splices, |t| root_mapping(t).map(|_| ()))
    }

    fn put(&mut self, path: &[&str], leaf: &dyn Fn(&str) -> String) -> Result<(), DocError> {
        let nl = text::newline(&self.text);
        let unit = text::indent_unit(&self.text);
        match self.find(path)? {
            Found::Here { map, index } => {
                let Kind::Map(entries) = &map.kind else {
                    return Ok(());
                };
                let e = &entries[index];
                let old = self.text[e.colon_end..e.value.end].trim_start();
                if old.starts_with(['&', '!', '*']) {
                    return Err(DocError::Unsupported(format!(
                        "`{}` has an anchor, tag or alias; not replacing it",
                        path.join(".")
                    )));
                }
                let indent = text::indent_of(&self.text, e.key_start).to_string();
                let with = leaf(&indent);
                self.replace_text(vec![Splice::new(e.colon_end, e.value.end, with)])
            }
            Found::Missing { map, missing } => {
                let rest = &path[path.len() - missing..];
                let (pos, indent) = match &map {
                    Some(Node {
                        kind: Kind::Map(entries),
                        ..
                    }) if !entries.is_empty() => {
                        let last = &entries[entries.len() - 1];
                        let end = text::line_end(&self.text, last.value.end.max(last.colon_end));
                        (
                            Some(end),
                            text::indent_of(&self.text, last.key_start).to_string(),
                        )
                    }
                    _ if path.len() == missing => (None, String::new()),
                    _ => {
                        return Err(DocError::Unsupported(
                            "cannot add to an empty nested mapping".into(),
                        ))
                    }
                };
                let mut body = String::new();
                let mut inner = indent.clone();
                for (i, key) in rest.iter().enumerate() {
                    if i > 0 {
                        body.push_str(nl);
                        inner = format!("{inner}{unit}");
                        body.push_str(&inner);
                    }
                    body.push_str(&scalar(key));
                    body.push(':');
                }
                body.push_str(&leaf(&inner));
                let splice = match pos {
                    Some(pos) => Splice::new(pos, pos, format!("{nl}{indent}{body}")),
                    None => {
                        let len = self.text.len();
                        if self.text.is_empty() || self.text.ends_with('\n') {
                            Splice::new(len, len, format!("{body}{nl}"))
                        } else {
                            Splice::new(len, len, format!("{nl}{body}"))
                        }
                    }
                };
                self.replace_text(vec![splice])
            }
        }
    }
}

impl ConfigDoc for YamlDoc {
    fn value(&self, path: &[&str]) -> Option<Value> {
        let root: Value = if self.text.trim().is_empty() {
            Value::Object(Default::default())
        } else {
            serde_saphyr::from_str(&self.text).ok()?
        };
        let root = if root.is_null() {
            Value::Object(Default::default())
        } else {
            root
        };
        super::lookup(&root, path).cloned()
    }

    fn get(&self, path: &[&str]) -> Option<String> {
        if path.is_empty() {
            return Some(self.text.clone());
        }
        match self.find(path).ok()? {
            Found::Here {
                map:
                    Node {
                        kind: Kind::Map(entries),
                        ..
                    },
                index,
            } => {
                let e = &entries[index];
                Some(self.text[e.colon_end..e.value.end].to_string())
            }
            _ => None,
        }
    }

    fn set(&mut self, path: &[&str], value: &Value) -> Result<(), DocError> {
        let nl = text::newline(&self.text);
        let unit = text::indent_unit(&self.text);
        self.put(path, &|indent| region(value, indent, &unit, nl))
    }

    fn set_source(&mut self, path: &[&str], source: &str) -> Result<(), DocError> {
        if path.is_empty() {
            let previous = std::mem::replace(&mut self.text, source.to_string());
            return self
                .check()
                .map(|_| ())
                .inspect_err(|_| self.text = previous);
        }
        self.put(path, &|_| source.to_string())
    }

    fn remove(&mut self, path: &[&str]) -> Result<(), DocError> {
        if path.is_empty() {
            self.text.clear();
            return Ok(());
        }
        let Ok(Found::Here {
            map: Node {
                kind: Kind::Map(entries),
                ..
            },
            index,
        }) = self.find(path)
        else {
            return Ok(());
        };
        let e = &entries[index];
        let t = &self.text;
        let start = text::line_start(t, e.key_start);
        let end = text::line_end(t, e.value.end.max(e.colon_end));
        let before = text::break_before(t, start);
        let splice = if before > 0 {
            Splice::new(start - before, end, "")
        } else {
            Splice::new(start, end + text::break_at(t, end), "")
        };
        self.replace_text(vec![splice])
    }

    fn render(&self) -> String {
        self.text.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const HERMES: &str = "# Hermes\n_config_version: 7\nmodel:\n  default: anthropic/claude-opus-4.6  # main\n# a column-0 comment inside the block\n  provider: openrouter\n  context_length: 131072\n\nterminal:\n  env_passthrough: []\n  notes: |\n    line one\n    line two\nbase: &b {x: 1}\nother: *b\n";

    #[test]
    fn edits_keys_inside_a_block_mapping_and_back() {
        let mut d = YamlDoc::parse(HERMES).unwrap();
        assert_eq!(
            d.get(&["model", "default"]).as_deref(),
            Some(" anthropic/claude-opus-4.6")
        );
        d.set(&["model", "default"], &json!("tb-model")).unwrap();
        d.set(&["model", "base_url"], &json!("http://127.0.0.1:7333/v1"))
            .unwrap();
        d.set(&["model", "api_key"], &json!("tb_1234")).unwrap();
        let edited = d.render();
        assert!(edited.contains("  default: tb-model  # main\n"), "{edited}");
        assert!(edited.contains("  context_length: 131072\n  base_url: http://127.0.0.1:7333/v1\n  api_key: tb_1234\n\nterminal:"), "{edited}");
        assert_eq!(
            d.value(&["model", "base_url"]),
            Some(json!("http://127.0.0.1:7333/v1"))
        );
        d.remove(&["model", "api_key"]).unwrap();
        d.remove(&["model", "base_url"]).unwrap();
        d.set_source(&["model", "default"], " anthropic/claude-opus-4.6")
            .unwrap();
        assert_eq!(d.render(), HERMES);
    }

    #[test]
    fn a_string_model_becomes_a_mapping_and_back() {
        let text = "model: \"anthropic/claude\"  # old\r\ntoolsets:\r\n  - web\r\n";
        let mut d = YamlDoc::parse(text).unwrap();
        let before = d.get(&["model"]).unwrap();
        d.set(&["model"], &json!({"default": "m", "provider": "custom"}))
            .unwrap();
        assert_eq!(
            d.render(),
            "model:\r\n  default: m\r\n  provider: custom  # old\r\ntoolsets:\r\n  - web\r\n"
        );
        d.set_source(&["model"], &before).unwrap();
        assert_eq!(d.render(), text);
    }

    #[test]
    fn adds_at_the_end_keeping_a_missing_final_newline() {
        for text in ["a: 1", "a: 1\n", "", "# only a comment\n"] {
            let mut d = YamlDoc::parse(text).unwrap();
            d.set(&["model"], &json!({"default": "m"})).unwrap();
            assert_eq!(d.value(&["model", "default"]), Some(json!("m")), "{text:?}");
            d.remove(&["model"]).unwrap();
            assert_eq!(d.render(), text);
        }
    }

    #[test]
    fn outline_gives_lists_and_their_mappings_with_spans() {
        let text = "s:\n  - {a: 1}\n  - b: x  # c\n    d: [1, 2]\nf: [y]\n";
        let Some(Span {
            shape: Shape::BlockMap(root),
            ..
        }) = outline(text).unwrap()
        else {
            panic!("root")
        };
        let Shape::BlockSeq(items) = &root[0].value.shape else {
            panic!("{:?}", root[0])
        };
        assert_eq!(&text[items[0].start..items[0].end], "{a: 1}");
        assert!(matches!(items[0].shape, Shape::FlowMap(_)));
        let Shape::BlockMap(fields) = &items[1].shape else {
            panic!("{:?}", items[1])
        };
        assert_eq!(&text[fields[0].key_start..fields[0].value.end], "b: x");
        assert_eq!(&text[fields[1].colon_end..fields[1].value.end], " [1, 2]");
        assert!(matches!(root[1].value.shape, Shape::FlowSeq(ref v) if v.len() == 1));
    }

    #[test]
    fn refuses_lists_flow_mappings_aliases_and_broken_files() {
        let mut d = YamlDoc::parse("a: 1\n").unwrap();
        assert!(
            d.set(&["env", "[id=x]"], &json!("tb")).is_err(),
            "a selector is no key"
        );
        assert_eq!(d.render(), "a: 1\n");
        let mut ok = YamlDoc::parse("model:\n  - a\nx: {a: 1}\n").unwrap();
        assert!(ok.set(&["model", "default"], &json!("m")).is_err());
        assert!(ok.set(&["x", "b"], &json!("m")).is_err());
        let err = YamlDoc::parse("a: 1\nb: [1, 2\n").unwrap_err();
        assert!(matches!(err, DocError::Parse { line: 2, .. }), "{err}");
        let mut anchored = YamlDoc::parse("model: &m\n  default: a\nother: *m\n").unwrap();
        assert!(anchored.set(&["model"], &json!("x")).is_err());
    }
}
