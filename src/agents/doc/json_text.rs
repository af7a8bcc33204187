//! New JSON text for the JSON-family editor (`json.rs`): a value rendered at
//! an indentation (objects and lists of objects one item per line, plain
//! lists on one line), and the item to insert for the missing steps of a key
//! path — a property, or a list element for a `[field=value]` step, each
//! missing step below getting a new container of its kind.

use serde_json::Value;

use super::{DocError, Segment};

/// A value to write: rendered from JSON, or source text put back as it was.
#[derive(Clone, Copy)]
pub(crate) enum Leaf<'a> {
    /// A value to render.
    Json(&'a Value),
    /// Source text, put back as it was.
    Source(&'a str),
}

impl Leaf<'_> {
    /// The text of this value at `indent`.
    pub(crate) fn render(&self, indent: &str, unit: &str, nl: &str) -> String {
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
pub(crate) fn nest(
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
pub(crate) fn selector_kept(step: &str, leaf: Leaf<'_>) -> Result<(), DocError> {
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
pub(crate) fn render(v: &Value, indent: &str, unit: &str, nl: &str) -> String {
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
