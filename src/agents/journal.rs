//! The patch journal, `<data dir>/agents-journal.json` (mode 0600: it holds
//! the user's previous values, which may be API keys): for each configured
//! agent, its file and, per key we set, what it held before (or that it was
//! absent) and what we put there. Written before the agent's file, so restore
//! always knows how to undo exactly our change.
//!
//! Every change goes through [`Journal::lock`]: an exclusive lock on
//! `agents-journal.lock` beside it, held from load to save, across processes
//! (the app, the tray, the CLI) and threads — two configures at once can no
//! longer drop each other's entry. Configure and restore hold it for their
//! whole run, so two of them on one agent also take turns. Reads need no
//! lock: the file is only ever replaced whole.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::atomic_file::{self, Perms};

/// The journal could not be used.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// Reading, writing or locking failed.
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

/// A configure journaled before its file was written: until the write is
/// confirmed, what the journal held for the agent before (startup
/// reconciliation goes back to it if the file never changed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// The entry before this configure, if any.
    pub previous: Option<Box<Entry>>,
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
    /// Folders we created for the file, outermost first: restore removes
    /// them again while they are empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub created_dirs: Vec<PathBuf>,
    /// Side files (see [`super::spec::SideFile`]) that did not exist before:
    /// restore removes each one when nothing else was written to it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub created_files: Vec<PathBuf>,
    /// The keys, in the order we set them.
    pub changes: Vec<Change>,
    /// When (RFC 3339, UTC).
    #[serde(default)]
    pub at: String,
    /// Set while the agent's file is being written (see [`Pending`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<Pending>,
}

/// The journal file.
#[derive(Debug, Clone)]
pub struct Journal {
    path: PathBuf,
}

/// The journal, locked for changes (see [`Journal::lock`]); dropping it
/// releases the lock.
#[derive(Debug)]
pub struct Locked<'a> {
    journal: &'a Journal,
    _lock: File,
}

impl Journal {
    /// The journal in `data_dir`.
    pub fn new(data_dir: &Path) -> Self {
        Journal {
            path: data_dir.join("agents-journal.json"),
        }
    }

    /// The journal file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, message: impl ToString) -> JournalError {
        JournalError::Io {
            path: self.path.clone(),
            message: message.to_string(),
        }
    }

    fn load(&self) -> Result<BTreeMap<String, Entry>, JournalError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                self.err(format!(
                    "{e} — the file is not a TokenBuddy journal any more; move it aside to start afresh (restore then cannot undo earlier configures)"
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(self.err(e)),
        }
    }

    fn save(&self, all: &BTreeMap<String, Entry>) -> Result<(), JournalError> {
        let text = serde_json::to_vec_pretty(all).map_err(|e| self.err(e))?;
        atomic_file::write(&self.path, &text, Perms::Private).map_err(|e| self.err(e))
    }

    /// Takes the journal's lock, waiting for whoever holds it.
    pub fn lock(&self) -> Result<Locked<'_>, JournalError> {
        let dir = self.path.parent().unwrap_or_else(|| Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| self.err(e))?;
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options
            .open(self.path.with_extension("lock"))
            .map_err(|e| self.err(format!("cannot open its lock file: {e}")))?;
        file.lock()
            .map_err(|e| self.err(format!("cannot lock it: {e}")))?;
        Ok(Locked {
            journal: self,
            _lock: file,
        })
    }

    /// The entry of agent `id`.
    pub fn get(&self, id: &str) -> Result<Option<Entry>, JournalError> {
        Ok(self.load()?.remove(id))
    }

    /// Every entry, by agent id.
    pub fn all(&self) -> Result<BTreeMap<String, Entry>, JournalError> {
        self.load()
    }

    /// Records agent `id`'s entry (under the lock).
    pub fn put(&self, id: &str, entry: Entry) -> Result<(), JournalError> {
        self.lock()?.put(id, entry)
    }

    /// Forgets agent `id` (under the lock).
    pub fn remove(&self, id: &str) -> Result<(), JournalError> {
        self.lock()?.remove(id)
    }
}

impl Locked<'_> {
    /// The entry of agent `id`.
    pub fn get(&self, id: &str) -> Result<Option<Entry>, JournalError> {
        self.journal.get(id)
    }

    /// Every entry, by agent id.
    pub fn all(&self) -> Result<BTreeMap<String, Entry>, JournalError> {
        self.journal.all()
    }

    /// Records agent `id`'s entry.
    pub fn put(&self, id: &str, entry: Entry) -> Result<(), JournalError> {
        let mut all = self.journal.load()?;
        all.insert(id.to_string(), entry);
        self.journal.save(&all)
    }

    /// Forgets agent `id`.
    pub fn remove(&self, id: &str) -> Result<(), JournalError> {
        let mut all = self.journal.load()?;
        if all.remove(id).is_some() {
            self.journal.save(&all)?;
        }
        Ok(())
    }

    /// Puts agent `id`'s entry back to `entry`, or forgets it for `None`.
    pub fn set(&self, id: &str, entry: Option<Entry>) -> Result<(), JournalError> {
        match entry {
            Some(e) => self.put(id, e),
            None => self.remove(id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(file: &str) -> Entry {
        Entry {
            file: file.into(),
            created: false,
            created_dirs: Vec::new(),
            created_files: Vec::new(),
            changes: Vec::new(),
            at: String::new(),
            pending: None,
        }
    }

    #[test]
    fn concurrent_updates_from_many_threads_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::new(dir.path());
        std::thread::scope(|s| {
            for i in 0..16 {
                let journal = journal.clone();
                s.spawn(move || journal.put(&format!("agent-{i}"), entry("f")).unwrap());
            }
        });
        assert_eq!(journal.all().unwrap().len(), 16);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(journal.path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "it holds the user's previous values");
        }
    }

    #[test]
    fn an_old_entry_without_the_new_fields_still_reads() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::new(dir.path());
        std::fs::write(
            journal.path(),
            r#"{"codex": {"file": "/x", "created": true, "changes": [], "at": ""}}"#,
        )
        .unwrap();
        let e = journal.get("codex").unwrap().unwrap();
        assert!(e.created && e.created_dirs.is_empty() && e.pending.is_none());
    }
}
