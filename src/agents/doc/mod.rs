//! Config documents edited in place: only the keys we own change, everything
//! else (comments, order, layout, line endings) stays byte for byte. One
//! implementation per format; each edit is re-parsed before it is accepted.

pub mod dotenv;
pub mod files;
pub mod json;
mod json_text;
pub mod text;
pub mod toml;
pub mod yaml;

use serde_json::Value;

/// A config file that could not be edited.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocError {
    /// The file does not parse: it is left untouched.
    #[error("line {line}: {message}")]
    Parse {
        /// 1-based line.
        line: usize,
        /// The parser's message.
        message: String,
    },
    /// A key we own sits where the file has a value of another type.
    #[error("`{key}` is not a table or object; not touching it")]
    NotATable {
        /// The dotted key.
        key: String,
    },
    /// The file is valid but laid out in a way TokenBuddy does not edit
    /// (it refuses rather than guesses).
    #[error("{0}")]
    Unsupported(String),
    /// An edit of ours did not re-parse: our bug, never the user's file
    /// (which is left as it was).
    #[error("TokenBuddy produced an edit that does not parse ({0}) — this is a bug in TokenBuddy, please report it; your file was not touched")]
    Bug(String),
}

/// One step of a key path: an object key, or `[field=value]`, the element
/// of an array whose `field` is the string `value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment<'a> {
    /// An object key.
    Key(&'a str),
    /// The array element whose `field` equals `value`.
    Select {
        /// The field compared.
        field: &'a str,
        /// The string it must hold.
        value: &'a str,
    },
}

impl<'a> Segment<'a> {
    /// Reads one path step.
    pub fn parse(step: &'a str) -> Segment<'a> {
        if let Some(inner) = step.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            if let Some((field, value)) = inner.split_once('=') {
                return Segment::Select { field, value };
            }
        }
        Segment::Key(step)
    }

    /// The child of `value` this step names.
    pub fn child<'v>(&self, value: &'v Value) -> Option<&'v Value> {
        match self {
            Segment::Key(k) => value.as_object()?.get(*k),
            Segment::Select { field, value: want } => value
                .as_array()?
                .iter()
                .find(|e| e.get(*field).and_then(Value::as_str) == Some(*want)),
        }
    }
}

/// Applies `splices` to `text` when the result still passes `check` (it
/// re-parses); otherwise leaves `text` as it was. The text parsed before the
/// edit, so a failure is TokenBuddy's own bug ([`DocError::Bug`]).
pub(crate) fn apply_verified(
    text: &mut String,
    splices: Vec<text::Splice>,
    check: impl FnOnce(&str) -> Result<(), DocError>,
) -> Result<(), DocError> {
    let edited = text::apply(text, splices);
    check(&edited).map_err(|e| DocError::Bug(e.to_string()))?;
    *text = edited;
    Ok(())
}

/// For editors that reach values by key only (TOML, YAML): a `[field=value]`
/// step (a list element) is refused rather than taken for a key of that name.
pub(crate) fn keys_only(path: &[&str], format: &str) -> Result<(), DocError> {
    match path
        .iter()
        .find(|s| matches!(Segment::parse(s), Segment::Select { .. }))
    {
        Some(step) => Err(DocError::Unsupported(format!(
            "list selectors ({step}) are not supported in {format}"
        ))),
        None => Ok(()),
    }
}

/// The parsed value at `path` inside `root`.
pub fn lookup<'v>(root: &'v Value, path: &[&str]) -> Option<&'v Value> {
    path.iter()
        .try_fold(root, |v, step| Segment::parse(step).child(v))
}

/// An editable config document. Values are exchanged as their source text
/// (`"gpt-5"` with its quotes), so what was there can be put back exactly.
pub trait ConfigDoc {
    /// The parsed value at `path` (the whole document for `[]`).
    fn value(&self, path: &[&str]) -> Option<Value>;
    /// The source text of the value at `path`, if there is one.
    fn get(&self, path: &[&str]) -> Option<String>;
    /// Sets the value at `path`, creating parents as needed and keeping the
    /// layout around a value it replaces.
    fn set(&mut self, path: &[&str], value: &Value) -> Result<(), DocError>;
    /// Puts back a value from its source text (as [`ConfigDoc::get`] gave it).
    fn set_source(&mut self, path: &[&str], source: &str) -> Result<(), DocError>;
    /// Removes the value at `path` (nothing if it is absent).
    fn remove(&mut self, path: &[&str]) -> Result<(), DocError>;
    /// The whole document as text.
    fn render(&self) -> String;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edit_that_does_not_reparse_is_our_bug_and_changes_nothing() {
        let mut t = String::from("{\"a\": 1}");
        let err = apply_verified(&mut t, vec![text::Splice::new(1, 1, "{")], |t| {
            json::JsonDoc::parse(t, json::Dialect::Json).map(|_| ())
        })
        .unwrap_err();
        assert!(matches!(err, DocError::Bug(_)), "{err:?}");
        let message = err.to_string();
        assert!(
            message.contains("bug in TokenBuddy") && message.contains("your file was not touched"),
            "{message}"
        );
        assert_eq!(t, "{\"a\": 1}");
    }
}
