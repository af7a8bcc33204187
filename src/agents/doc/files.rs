//! An agent's files seen as one document: its main config at the root, and
//! each side file it keeps beside it (Gemini CLI's `.env`, Claude Desktop's
//! entry file) under one first key step, `@<file name>`. The generic
//! patcher, journal, restore and drift check then handle an agent with two
//! files exactly as one with a single file; only reading and writing know
//! there are several. A path that does not start with a side file's step
//! is the main file's.

use serde_json::Value;

use super::{ConfigDoc, DocError};

/// The first key step that selects side file `name`.
pub fn side_step(name: &str) -> String {
    format!("@{name}")
}

/// A main document and its side documents.
pub struct Files {
    main: Box<dyn ConfigDoc>,
    /// `(step, document)`, in the agent's order.
    sides: Vec<(String, Box<dyn ConfigDoc>)>,
}

impl Files {
    /// `main` with `sides` (`(file name, document)`).
    pub fn new(main: Box<dyn ConfigDoc>, sides: Vec<(&str, Box<dyn ConfigDoc>)>) -> Files {
        Files {
            main,
            sides: sides
                .into_iter()
                .map(|(name, doc)| (side_step(name), doc))
                .collect(),
        }
    }

    /// Which part `path` is in (0 the main file, `i + 1` side file `i`), and
    /// the path inside it.
    pub fn route<'p, 'a>(&self, path: &'p [&'a str]) -> (usize, &'p [&'a str]) {
        if let Some((first, rest)) = path.split_first() {
            if let Some(i) = self.sides.iter().position(|(step, _)| step == first) {
                return (i + 1, rest);
            }
        }
        (0, path)
    }

    fn part(&self, i: usize) -> &dyn ConfigDoc {
        match i {
            0 => self.main.as_ref(),
            i => self.sides[i - 1].1.as_ref(),
        }
    }

    fn part_mut(&mut self, i: usize) -> &mut dyn ConfigDoc {
        match i {
            0 => self.main.as_mut(),
            i => self.sides[i - 1].1.as_mut(),
        }
    }

    /// The text of part `i` (0 the main file).
    pub fn text(&self, i: usize) -> String {
        self.part(i).render()
    }

    /// Part `i` as a document of its own.
    pub fn doc(&self, i: usize) -> &dyn ConfigDoc {
        self.part(i)
    }

    /// How many parts (the main file and the side files).
    pub fn len(&self) -> usize {
        self.sides.len() + 1
    }

    /// Never: there is always the main file.
    pub fn is_empty(&self) -> bool {
        false
    }
}

impl ConfigDoc for Files {
    fn value(&self, path: &[&str]) -> Option<Value> {
        let (i, rest) = self.route(path);
        self.part(i).value(rest)
    }

    fn get(&self, path: &[&str]) -> Option<String> {
        let (i, rest) = self.route(path);
        self.part(i).get(rest)
    }

    fn set(&mut self, path: &[&str], value: &Value) -> Result<(), DocError> {
        let (i, rest) = self.route(path);
        self.part_mut(i).set(rest, value)
    }

    fn set_source(&mut self, path: &[&str], source: &str) -> Result<(), DocError> {
        let (i, rest) = self.route(path);
        self.part_mut(i).set_source(rest, source)
    }

    fn remove(&mut self, path: &[&str]) -> Result<(), DocError> {
        let (i, rest) = self.route(path);
        self.part_mut(i).remove(rest)
    }

    /// The main file's text (each part's is [`Files::text`]).
    fn render(&self) -> String {
        self.main.render()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::doc::dotenv::DotenvDoc;
    use crate::agents::doc::json::{Dialect, JsonDoc};

    #[test]
    fn routes_each_path_to_its_file() {
        let main = JsonDoc::parse("{\"a\": 1}\n", Dialect::Json).unwrap();
        let env = DotenvDoc::parse("K=v\n").unwrap();
        let mut f = Files::new(Box::new(main), vec![(".env", Box::new(env))]);
        assert_eq!(f.value(&["a"]), Some(1.into()));
        assert_eq!(f.value(&["@.env", "K"]), Some("v".into()));
        assert_eq!(
            f.value(&["@other", "K"]),
            None,
            "not a side file: the main's"
        );
        f.set(&["@.env", "N"], &"x".into()).unwrap();
        f.set(&["b"], &2.into()).unwrap();
        assert_eq!(f.text(1), "K=v\nN=x\n");
        assert!(f.text(0).contains("\"b\": 2"));
        assert_eq!(f.render(), f.text(0));
        f.remove(&["@.env", "N"]).unwrap();
        assert_eq!(f.text(1), "K=v\n");
        assert_eq!(f.len(), 2);
    }
}
