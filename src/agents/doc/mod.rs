//! Config documents edited in place: only the keys we own change, everything
//! else (comments, order, layout, line endings) stays byte for byte. One
//! implementation per format.

pub mod toml;

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
    #[error("`{key}` is not a table; not touching it")]
    NotATable {
        /// The dotted key.
        key: String,
    },
}

/// An editable config document. Values are exchanged as their source text
/// (`"gpt-5"` with its quotes), so what was there can be put back exactly.
pub trait ConfigDoc {
    /// The source text of the value at `path`, if there is one.
    fn get(&self, path: &[&str]) -> Option<String>;
    /// Sets the value at `path` to the string `value`, creating tables as
    /// needed and keeping the decoration (spacing, comments) of a value it replaces.
    fn set_str(&mut self, path: &[&str], value: &str) -> Result<(), DocError>;
    /// Puts back a value from its source text (as [`ConfigDoc::get`] gave it).
    fn set_source(&mut self, path: &[&str], source: &str) -> Result<(), DocError>;
    /// Removes the value at `path`, and tables it leaves empty that the file
    /// never spelled out.
    fn remove(&mut self, path: &[&str]);
    /// The whole document as text.
    fn render(&self) -> String;
}
