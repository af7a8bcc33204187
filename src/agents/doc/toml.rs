//! TOML documents through `toml_edit`, which keeps every untouched node's
//! bytes. Root keys land above the first table (TOML puts a key written after
//! a table header into that table — the trap of appending text).

use toml_edit::{DocumentMut, Item, Table, Value};

use super::{ConfigDoc, DocError};

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
    fn get(&self, path: &[&str]) -> Option<String> {
        let mut item = self.doc.as_item();
        for key in path {
            item = item.get(key)?;
        }
        item.as_value()
            .map(|v| v.clone().decorated("", "").to_string())
    }

    fn set_str(&mut self, path: &[&str], value: &str) -> Result<(), DocError> {
        self.put(path, Value::from(value))
    }

    fn set_source(&mut self, path: &[&str], source: &str) -> Result<(), DocError> {
        let value: Value = source
            .parse()
            .map_err(|e: toml_edit::TomlError| DocError::Parse {
                line: 1,
                message: e.message().to_string(),
            })?;
        self.put(path, value)
    }

    fn remove(&mut self, path: &[&str]) {
        let Some((last, parents)) = path.split_last() else {
            return;
        };
        if let Ok(table) = self.table_mut(parents) {
            table.remove(last);
        }
        // Drop tables the removal left empty, if the file never spelled them out.
        for depth in (0..parents.len()).rev() {
            let Ok(parent) = self.table_mut(&parents[..depth]) else {
                return;
            };
            let key = parents[depth];
            let empty_implicit = parent
                .get(key)
                .and_then(Item::as_table)
                .is_some_and(|t| t.is_empty() && (t.is_implicit() || depth + 1 == parents.len()));
            if !empty_implicit {
                return;
            }
            parent.remove(key);
        }
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
        d.set_str(&["model"], "m1").unwrap();
        d.set_str(&["model_provider"], "tokenbuddy").unwrap();
        d.set_str(&["model_providers", "tokenbuddy", "name"], "TokenBuddy")
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
        d.remove(&["model_provider"]);
        d.remove(&["model_providers", "tokenbuddy", "name"]);
        assert_eq!(d.render(), text);
    }

    #[test]
    fn crlf_stays_crlf_and_errors_name_the_line() {
        let text = "a = 1\r\n[t]\r\nb = 2\r\n";
        let mut d = TomlDoc::parse(text).unwrap();
        d.set_str(&["c"], "x").unwrap();
        let out = d.render();
        assert!(!out.replace("\r\n", "").contains('\n'), "{out:?}");
        let err = TomlDoc::parse("a = 1\nb = \n").unwrap_err();
        assert!(matches!(err, DocError::Parse { line: 2, .. }), "{err}");
        let mut d = TomlDoc::parse("model_providers = 3\n").unwrap();
        assert!(matches!(
            d.set_str(&["model_providers", "x", "y"], "v"),
            Err(DocError::NotATable { .. })
        ));
    }
}
