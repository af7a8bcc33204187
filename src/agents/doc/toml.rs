//! TOML documents through `toml_edit`, which keeps every untouched node's
//! bytes. Root keys land above the first table (TOML puts a key written after
//! a table header into that table — the trap of appending text).

use serde_json::Value as Json;
use toml_edit::{DocumentMut, Item, Table, Value};

use super::{ConfigDoc, DocError};

/// TOML tables are reached by key only (see [`super::keys_only`]).
fn keys_only(path: &[&str]) -> Result<(), DocError> {
    super::keys_only(path, "TOML")
}

/// A TOML item as JSON (dates become strings).
fn to_json(item: &Item) -> Option<Json> {
    match item {
        Item::None => None,
        Item::Value(v) => Some(value_to_json(v)),
        Item::Table(t) => Some(Json::Object(
            t.iter()
                .filter_map(|(k, v)| Some((k.to_string(), to_json(v)?)))
                .collect(),
        )),
        Item::ArrayOfTables(a) => Some(Json::Array(
            a.iter()
                .filter_map(|t| to_json(&Item::Table(t.clone())))
                .collect(),
        )),
    }
}

fn value_to_json(v: &Value) -> Json {
    match v {
        Value::String(s) => Json::from(s.value().as_str()),
        Value::Integer(i) => Json::from(*i.value()),
        Value::Float(f) => Json::from(*f.value()),
        Value::Boolean(b) => Json::from(*b.value()),
        Value::Datetime(d) => Json::from(d.value().to_string()),
        Value::Array(a) => Json::Array(a.iter().map(value_to_json).collect()),
        Value::InlineTable(t) => Json::Object(
            t.iter()
                .map(|(k, v)| (k.to_string(), value_to_json(v)))
                .collect(),
        ),
    }
}

/// A JSON scalar or list as a TOML value.
fn from_json(v: &Json) -> Result<Value, DocError> {
    Ok(match v {
        Json::String(s) => Value::from(s.as_str()),
        Json::Bool(b) => Value::from(*b),
        Json::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Value::from(i),
            (None, Some(f)) => Value::from(f),
            _ => {
                return Err(DocError::Unsupported(format!(
                    "number {n} does not fit TOML"
                )))
            }
        },
        Json::Array(list) => Value::Array(list.iter().map(from_json).collect::<Result<_, _>>()?),
        Json::Null | Json::Object(_) => {
            return Err(DocError::Unsupported("TOML has no null".into()))
        }
    })
}

/// An editable TOML file.
#[derive(Debug, Clone)]
pub struct TomlDoc {
    doc: DocumentMut,
    crlf: bool,
    /// The file had text but no final newline: keep it that way.
    no_final_newline: bool,
}

impl TomlDoc {
    /// Parses `text`; an error names the line.
    pub fn parse(text: &str) -> Result<TomlDoc, DocError> {
        let doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
                .unwrap_or(1);
            let message = e.message().trim().to_string();
            DocError::Parse { line, message }
        })?;
        Ok(TomlDoc {
            doc,
            crlf: text.contains("\r\n"),
            no_final_newline: !text.is_empty() && !text.ends_with('\n'),
        })
    }

    /// The table at `path`, created (implicit: no header of its own unless it
    /// gets keys) when missing.
    fn table_mut(&mut self, path: &[&str]) -> Result<&mut Table, DocError> {
        let mut table = self.doc.as_table_mut();
        for (i, key) in path.iter().enumerate() {
            let entry = table.entry(key).or_insert_with(|| {
                let mut t = Table::new();
                t.set_implicit(true);
                Item::Table(t)
            });
            table = entry.as_table_mut().ok_or_else(|| DocError::NotATable {
                key: path[..=i].join("."),
            })?;
        }
        Ok(table)
    }

    fn put(&mut self, path: &[&str], mut value: Value) -> Result<(), DocError> {
        let Some((last, parents)) = path.split_last() else {
            return Ok(());
        };
        let table = self.table_mut(parents)?;
        if let Some(old) = table.get_mut(last).and_then(Item::as_value_mut) {
            *value.decor_mut() = old.decor().clone();
            *old = value;
        } else {
            table.insert(last, Item::Value(value));
        }
        Ok(())
    }
}

impl ConfigDoc for TomlDoc {
    fn value(&self, path: &[&str]) -> Option<Json> {
        keys_only(path).ok()?;
        let mut item = self.doc.as_item();
        for key in path {
            item = item.get(key)?;
        }
        to_json(item)
    }

    fn get(&self, path: &[&str]) -> Option<String> {
        if path.is_empty() {
            return Some(self.render());
        }
        keys_only(path).ok()?;
        let mut item = self.doc.as_item();
        for key in path {
            item = item.get(key)?;
        }
        item.as_value()
            .map(|v| v.clone().decorated("", "").to_string())
    }

    fn set(&mut self, path: &[&str], value: &Json) -> Result<(), DocError> {
        keys_only(path)?;
        if let Json::Object(map) = value {
            self.table_mut(path)?;
            for (k, v) in map {
                let mut child: Vec<&str> = path.to_vec();
                child.push(k);
                self.set(&child, v)?;
            }
            return Ok(());
        }
        self.put(path, from_json(value)?)
    }

    fn set_source(&mut self, path: &[&str], source: &str) -> Result<(), DocError> {
        keys_only(path)?;
        if path.is_empty() {
            *self = TomlDoc::parse(source)?;
            return Ok(());
        }
        let value: Value = source
            .parse()
            .map_err(|e: toml_edit::TomlError| DocError::Parse {
                line: 1,
                message: e.message().to_string(),
            })?;
        self.put(path, value)
    }

    fn remove(&mut self, path: &[&str]) -> Result<(), DocError> {
        keys_only(path)?;
        let Some((last, parents)) = path.split_last() else {
            *self = TomlDoc::parse("")?;
            return Ok(());
        };
        if let Ok(table) = self.table_mut(parents) {
            table.remove(last);
        }
        // Drop tables the removal left empty, if the file never spelled them out.
        for depth in (0..parents.len()).rev() {
            let Ok(parent) = self.table_mut(&parents[..depth]) else {
                return Ok(());
            };
            let key = parents[depth];
            let empty_implicit = parent
                .get(key)
                .and_then(Item::as_table)
                .is_some_and(|t| t.is_empty() && (t.is_implicit() || depth + 1 == parents.len()));
            if !empty_implicit {
                return Ok(());
            }
            parent.remove(key);
        }
        Ok(())
    }

    fn render(&self) -> String {
        let mut text = self.doc.to_string();
        if self.no_final_newline && text.ends_with('\n') {
            text.pop();
            if text.ends_with('\r') {
                text.pop();
            }
        }
        if !self.crlf {
            return text;
        }
        // New lines come out as "\n": match the file's CRLF.
        let mut out = String::with_capacity(text.len() + 64);
        let mut prev = '\0';
        for c in text.chars() {
            if c == '\n' && prev != '\r' {
                out.push('\r');
            }
            out.push(c);
            prev = c;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_remove_round_trip_byte_for_byte() {
        let text = "# top\nmodel = \"gpt-5\"  # mine\n\n[profiles.x]\nmodel = \"o3\"\n";
        let mut d = TomlDoc::parse(text).unwrap();
        assert_eq!(d.get(&["model"]).as_deref(), Some("\"gpt-5\""));
        d.set(&["model"], &Json::from("m1")).unwrap();
        d.set(&["model_provider"], &Json::from("tokenbuddy"))
            .unwrap();
        d.set(
            &["model_providers", "tokenbuddy", "name"],
            &Json::from("TokenBuddy"),
        )
        .unwrap();
        let edited = d.render();
        assert!(
            edited.starts_with("# top\nmodel = \"m1\"  # mine\nmodel_provider = \"tokenbuddy\"\n"),
            "{edited}"
        );
        assert!(
            edited.contains("[model_providers.tokenbuddy]\nname = \"TokenBuddy\"\n"),
            "{edited}"
        );
        assert!(
            !edited.contains("[model_providers]\n"),
            "no needless parent header: {edited}"
        );
        d.set_source(&["model"], "\"gpt-5\"").unwrap();
        d.remove(&["model_provider"]).unwrap();
        d.remove(&["model_providers", "tokenbuddy", "name"])
            .unwrap();
        assert_eq!(d.render(), text);
    }

    #[test]
    fn crlf_stays_crlf_and_errors_name_the_line() {
        let text = "a = 1\r\n[t]\r\nb = 2\r\n";
        let mut d = TomlDoc::parse(text).unwrap();
        d.set(&["c"], &Json::from("x")).unwrap();
        let out = d.render();
        assert!(!out.replace("\r\n", "").contains('\n'), "{out:?}");
        let err = TomlDoc::parse("a = 1\nb = \n").unwrap_err();
        assert!(matches!(err, DocError::Parse { line: 2, .. }), "{err}");
        let mut d = TomlDoc::parse("a = 1\n").unwrap();
        assert!(matches!(
            d.set(&["list", "[id=x]", "v"], &Json::from(1)),
            Err(DocError::Unsupported(_))
        ));
        assert_eq!(d.value(&["list", "[id=x]"]), None);
        assert_eq!(d.render(), "a = 1\n");
        let mut d = TomlDoc::parse("model_providers = 3\n").unwrap();
        assert!(matches!(
            d.set(&["model_providers", "x", "y"], &Json::from("v")),
            Err(DocError::NotATable { .. })
        ));
    }
}
