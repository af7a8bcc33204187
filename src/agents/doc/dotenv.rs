//! `.env` files (Gemini CLI's `~/.gemini/.env`), edited by line: only the
//! line of a variable we own changes, every other line (comments, blank
//! lines, other variables, `export` prefixes, line endings) stays byte for
//! byte. Read as the `dotenv` package reads them: `[export ]NAME=value`,
//! the value bare (up to a ` #` comment) or in `'`, `"` or `` ` `` quotes,
//! and the last definition of a name wins. A value quoted across lines is
//! refused rather than guessed at. A variable we add goes on a line of its
//! own at the end; removing it is the exact inverse.

use serde_json::{Map, Value};

use super::text::{self, Splice};
use super::{ConfigDoc, DocError};

/// An editable `.env` file.
#[derive(Debug, Clone)]
pub struct DotenvDoc {
    text: String,
}

/// One `NAME=value` line.
#[derive(Debug, Clone)]
struct Var {
    name: String,
    /// The value as `dotenv` reads it.
    value: String,
    /// The value's source span (quotes included).
    span: (usize, usize),
    /// The whole line, without its line break.
    line: (usize, usize),
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// The variables of `text`, in order, or the first line that is neither a
/// variable, a comment nor blank.
fn parse_vars(text: &str) -> Result<Vec<Var>, DocError> {
    let mut vars = Vec::new();
    let mut start = 0;
    for (n, raw) in text.split_inclusive('\n').enumerate() {
        let end = start + text::line_end(raw, 0);
        let line = &text[start..end];
        let trimmed = line.trim_start();
        if !(trimmed.is_empty() || trimmed.starts_with('#')) {
            vars.push(parse_line(text, start, end).ok_or_else(|| DocError::Parse {
                line: n + 1,
                message:
                    "not a `NAME=value` line (a value quoted across lines is not supported)".into(),
            })?);
        }
        start += raw.len();
    }
    Ok(vars)
}

fn parse_line(text: &str, start: usize, end: usize) -> Option<Var> {
    let line = &text[start..end];
    let body = line.trim_start();
    let body = body
        .strip_prefix("export ")
        .map(str::trim_start)
        .unwrap_or(body);
    // `body` is a suffix of the line.
    let lead = line.len() - body.len();
    let eq = body.find('=')?;
    let name = body[..eq].trim_end();
    if !is_name(name) {
        return None;
    }
    let after = &body[eq + 1..];
    let value_at = start + lead + eq + 1 + (after.len() - after.trim_start().len());
    let rest = &text[value_at..end];
    let (value, len) = match rest.chars().next() {
        Some(q @ ('"' | '\'' | '`')) => {
            let close = rest[1..].find(q)? + 1;
            let tail = rest[close + 1..].trim_start();
            if !(tail.is_empty() || tail.starts_with('#')) {
                return None;
            }
            let inner = &rest[1..close];
            let value = if q == '"' {
                inner.replace("\\n", "\n").replace("\\r", "\r")
            } else {
                inner.to_string()
            };
            (value, close + 1)
        }
        _ => {
            let bare = rest.find(" #").map_or(rest, |i| &rest[..i]).trim_end();
            (bare.to_string(), bare.len())
        }
    };
    Some(Var {
        name: name.to_string(),
        value,
        span: (value_at, value_at + len),
        line: (start, end),
    })
}

/// A value's source text: bare when `dotenv` reads it back unchanged, else
/// double-quoted.
fn source_of(value: &str) -> String {
    let bare = !value.is_empty()
        && value.trim() == value
        && !value.contains(['#', '"', '\'', '`', '\n', '\r', '\\']);
    if bare {
        value.to_string()
    } else {
        format!("\"{}\"", value.replace('\n', "\\n").replace('\r', "\\r"))
    }
}

impl DotenvDoc {
    /// Parses `text` (refusing what `dotenv` would read differently than TokenBuddy).
    pub fn parse(text: &str) -> Result<DotenvDoc, DocError> {
        parse_vars(text)?;
        Ok(DotenvDoc {
            text: text.to_string(),
        })
    }

    fn vars(&self) -> Vec<Var> {
        parse_vars(&self.text).unwrap_or_default()
    }

    /// The definition that wins (the last).
    fn find(&self, name: &str) -> Option<Var> {
        self.vars().into_iter().rev().find(|v| v.name == name)
    }

    fn name<'a>(path: &[&'a str]) -> Result<&'a str, DocError> {
        match path {
            [name] if is_name(name) => Ok(name),
            _ => Err(DocError::Unsupported(format!(
                "`{}` is not a variable name of a .env file",
                path.join(".")
            ))),
        }
    }

    fn put_source(&mut self, path: &[&str], source: &str) -> Result<(), DocError> {
        let name = Self::name(path)?;
        let splice = match self.find(name) {
            Some(var) => Splice::new(var.span.0, var.span.1, source),
            None => {
                let end = self.text.len();
                let nl = text::newline(&self.text);
                let line = if self.text.is_empty() || self.text.ends_with('\n') {
                    format!("{name}={source}{nl}")
                } else {
                    format!("{nl}{name}={source}")
                };
                Splice::new(end, end, line)
            }
        };
        super::apply_verified(&mut self.text, vec![splice], |t| {
            DotenvDoc::parse(t).map(|_| ())
        })
    }
}

impl ConfigDoc for DotenvDoc {
    fn value(&self, path: &[&str]) -> Option<Value> {
        let vars = self.vars();
        if path.is_empty() {
            // No variables: nothing is there (like an empty JSON file).
            if vars.is_empty() {
                return None;
            }
            let map: Map<String, Value> = vars
                .into_iter()
                .map(|v| (v.name, Value::String(v.value)))
                .collect();
            return Some(Value::Object(map));
        }
        let name = Self::name(path).ok()?;
        self.find(name).map(|v| Value::String(v.value))
    }

    fn get(&self, path: &[&str]) -> Option<String> {
        let name = Self::name(path).ok()?;
        self.find(name)
            .map(|v| self.text[v.span.0..v.span.1].to_string())
    }

    fn set(&mut self, path: &[&str], value: &Value) -> Result<(), DocError> {
        let Value::String(s) = value else {
            return Err(DocError::Unsupported(
                "a .env file holds only text values".into(),
            ));
        };
        self.put_source(path, &source_of(s))
    }

    fn set_source(&mut self, path: &[&str], source: &str) -> Result<(), DocError> {
        self.put_source(path, source)
    }

    fn remove(&mut self, path: &[&str]) -> Result<(), DocError> {
        if path.is_empty() {
            self.text.clear();
            return Ok(());
        }
        let name = Self::name(path)?;
        let Some(var) = self.find(name) else {
            return Ok(());
        };
        let (start, end) = var.line;
        let after = text::break_at(&self.text, end);
        let splice = if after > 0 {
            Splice::new(start, end + after, "")
        } else {
            // The last line, without a line break: take the one before it.
            Splice::new(start - text::break_before(&self.text, start), end, "")
        };
        super::apply_verified(&mut self.text, vec![splice], |t| {
            DotenvDoc::parse(t).map(|_| ())
        })
    }

    fn render(&self) -> String {
        self.text.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: &str =
        "# my keys\nexport OTHER=1\nGEMINI_API_KEY='old key' # comment\n\nQUOTED=\"a b\"\r\nLAST=x";

    #[test]
    fn reads_as_dotenv_does() {
        let d = DotenvDoc::parse(USER).unwrap();
        assert_eq!(d.value(&["OTHER"]), Some("1".into()));
        assert_eq!(d.value(&["GEMINI_API_KEY"]), Some("old key".into()));
        assert_eq!(d.get(&["GEMINI_API_KEY"]).as_deref(), Some("'old key'"));
        assert_eq!(d.value(&["QUOTED"]), Some("a b".into()));
        assert_eq!(d.value(&["LAST"]), Some("x".into()));
        assert_eq!(d.value(&["NONE"]), None);
        let d = DotenvDoc::parse("A=1\nA=2\n").unwrap();
        assert_eq!(d.value(&["A"]), Some("2".into()), "the last one wins");
        assert_eq!(DotenvDoc::parse("# only\n\n").unwrap().value(&[]), None);
    }

    #[test]
    fn set_then_remove_gives_back_the_bytes() {
        for text in [USER, "", "A=1\n", "A=1", "# c\r\nA=1\r\n"] {
            let mut d = DotenvDoc::parse(text).unwrap();
            d.set(&["NEW"], &Value::String("http://127.0.0.1:7/x".into()))
                .unwrap();
            assert_eq!(
                d.value(&["NEW"]),
                Some("http://127.0.0.1:7/x".into()),
                "{text:?}"
            );
            d.remove(&["NEW"]).unwrap();
            assert_eq!(d.render(), text);
        }
    }

    #[test]
    fn replaces_only_the_value() {
        let mut d = DotenvDoc::parse(USER).unwrap();
        let before = d.get(&["GEMINI_API_KEY"]).unwrap();
        d.set(&["GEMINI_API_KEY"], &Value::String("tok".into()))
            .unwrap();
        assert!(d.render().contains("\nGEMINI_API_KEY=tok # comment\n"));
        d.set_source(&["GEMINI_API_KEY"], &before).unwrap();
        assert_eq!(d.render(), USER);
        d.set(&["LAST"], &Value::String("has space #".into()))
            .unwrap();
        assert_eq!(d.value(&["LAST"]), Some("has space #".into()));
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        let err = DotenvDoc::parse("A=1\nB=\"open\nC=2\"\n").unwrap_err();
        assert!(matches!(err, DocError::Parse { line: 2, .. }), "{err:?}");
        assert!(DotenvDoc::parse("just words\n").is_err());
        let mut d = DotenvDoc::parse("").unwrap();
        assert!(d.set(&["a", "b"], &Value::String("x".into())).is_err());
        assert!(d.set(&["A"], &Value::Bool(true)).is_err());
    }
}
