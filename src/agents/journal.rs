//! The patch journal, `<data dir>/agents-journal.json`: for each configured
//! agent, its file and, per key we set, what it held before (or that it was
//! absent) and what we put there. Written before the agent's file, so restore
//! always knows how to undo exactly our change.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The journal could not be used.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// Reading or writing failed.
    #[error("patch journal {}: {message}", path.display())]
    Io {
        /// The journal file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// One key we changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// Key path.
    pub key: Vec<String>,
    /// Its value's source text before, or `None` if it was absent.
    pub before: Option<String>,
    /// The source text we set (empty for a container).
    pub after: String,
    /// An object or list we added to (absent or empty before): restore puts
    /// it back as it was once it is empty again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub container: bool,
}

/// One configured agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The file we edited (as the user knows it).
    pub file: PathBuf,
    /// The file did not exist before: restore removes it when nothing else
    /// was written to it.
    #[serde(default)]
    pub created: bool,
    /// The keys, in the order we set them.
    pub changes: Vec<Change>,
    /// When (RFC 3339, UTC).
    #[serde(default)]
    pub at: String,
}

/// The journal file.
#[derive(Debug, Clone)]
pub struct Journal {
    path: PathBuf,
}

impl Journal {
    /// The journal in `data_dir`.
    pub fn new(data_dir: &Path) -> Self {
        Journal {
            path: data_dir.join("agents-journal.json"),
        }
    }

    fn err(&self, message: impl ToString) -> JournalError {
        JournalError::Io {
            path: self.path.clone(),
            message: message.to_string(),
        }
    }

    fn load(&self) -> Result<BTreeMap<String, Entry>, JournalError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| self.err(e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(self.err(e)),
        }
    }

    fn save(&self, all: &BTreeMap<String, Entry>) -> Result<(), JournalError> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| self.err(e))?;
        }
        let text = serde_json::to_vec_pretty(all).map_err(|e| self.err(e))?;
        let snapshot = super::write::read(&self.path).map_err(|e| self.err(e))?;
        super::write::replace(&snapshot, &text).map_err(|e| self.err(e))
    }

    /// The entry of agent `id`.
    pub fn get(&self, id: &str) -> Result<Option<Entry>, JournalError> {
        Ok(self.load()?.remove(id))
    }

    /// Records agent `id`'s entry.
    pub fn put(&self, id: &str, entry: Entry) -> Result<(), JournalError> {
        let mut all = self.load()?;
        all.insert(id.to_string(), entry);
        self.save(&all)
    }

    /// Every entry, by agent id.
    pub fn all(&self) -> Result<BTreeMap<String, Entry>, JournalError> {
        self.load()
    }

    /// Forgets agent `id`.
    pub fn remove(&self, id: &str) -> Result<(), JournalError> {
        let mut all = self.load()?;
        if all.remove(id).is_some() {
            self.save(&all)?;
        }
        Ok(())
    }
}
