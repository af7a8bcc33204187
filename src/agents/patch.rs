//! Configure and restore, for any agent: apply the spec's edits to its file
//! through a format-preserving document, journal what each key was before,
//! write safely; restore puts back what was there for every key that still
//! holds our value, and leaves (and reports) keys the user changed since.

use std::path::PathBuf;

use super::doc::toml::TomlDoc;
use super::doc::{ConfigDoc, DocError};
use super::journal::{Change, Entry, Journal, JournalError};
use super::spec::{AgentSpec, Format, Target};
use super::write::{self, Snapshot, WriteError};

/// Why an agent was not configured or restored (its file is left as it was).
#[derive(Debug, thiserror::Error)]
pub enum PatchError {
    /// The config file does not parse.
    #[error("{}: {source} — fix the file or restore it; TokenBuddy did not touch it", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// Where and why.
        #[source]
        source: DocError,
    },
    /// Reading or writing the file failed, or it changed under us.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// The journal could not be read or written.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// Nothing to restore.
    #[error("{0} was not configured by TokenBuddy (nothing in the journal)")]
    NotConfigured(String),
}

/// What a configure or restore would do.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The file.
    pub path: PathBuf,
    /// Its text before.
    pub before: String,
    /// Its text after.
    pub after: String,
    /// Keys left alone because the user changed them since we set them.
    pub skipped: Vec<String>,
}

impl Outcome {
    /// Whether the file changes.
    pub fn changes(&self) -> bool {
        self.before != self.after
    }
}

fn open(spec: &AgentSpec, snapshot: &Snapshot) -> Result<Box<dyn ConfigDoc>, PatchError> {
    let text = String::from_utf8_lossy(snapshot.bytes.as_deref().unwrap_or_default()).into_owned();
    let parsed = match spec.format {
        Format::Toml => TomlDoc::parse(&text).map(|d| Box::new(d) as Box<dyn ConfigDoc>),
    };
    parsed.map_err(|source| PatchError::Parse {
        path: snapshot.path.clone(),
        source,
    })
}

fn keys(key: &[String]) -> Vec<&str> {
    key.iter().map(String::as_str).collect()
}

/// Points the agent at `target`; with `dry_run`, only says what would change.
pub fn configure(
    spec: &AgentSpec,
    path: PathBuf,
    target: &Target<'_>,
    journal: &Journal,
    dry_run: bool,
) -> Result<Outcome, PatchError> {
    let snapshot = write::read(&path)?;
    let mut doc = open(spec, &snapshot)?;
    let before = doc.render();
    // A second configure keeps the first one's "before" values: restore must
    // go back to the user's file, not to our own earlier edit.
    let earlier = journal.get(spec.id)?;
    let mut changes = Vec::new();
    for edit in (spec.edits)(target) {
        let key = keys(&edit.key);
        let previous = match earlier
            .as_ref()
            .and_then(|e| e.changes.iter().find(|c| c.key == edit.key))
        {
            Some(c) => c.before.clone(),
            None => doc.get(&key),
        };
        doc.set_str(&key, &edit.value)
            .map_err(|source| PatchError::Parse {
                path: path.clone(),
                source,
            })?;
        let after = doc.get(&key).unwrap_or_default();
        changes.push(Change {
            key: edit.key.clone(),
            before: previous,
            after,
        });
    }
    let after = doc.render();
    let outcome = Outcome {
        path: path.clone(),
        before,
        after,
        skipped: Vec::new(),
    };
    if dry_run || !outcome.changes() {
        return Ok(outcome);
    }
    // Journal first: a crash after it leaves a restorable record.
    let created = earlier.map_or(snapshot.bytes.is_none(), |e| e.created);
    journal.put(
        spec.id,
        Entry {
            file: path,
            created,
            changes,
        },
    )?;
    write::replace(&snapshot, outcome.after.as_bytes())?;
    Ok(outcome)
}

/// Puts back what the journal says each of our keys held before.
pub fn restore(spec: &AgentSpec, journal: &Journal, dry_run: bool) -> Result<Outcome, PatchError> {
    let entry = journal
        .get(spec.id)?
        .ok_or_else(|| PatchError::NotConfigured(spec.name.to_string()))?;
    let snapshot = write::read(&entry.file)?;
    let mut doc = open(spec, &snapshot)?;
    let before = doc.render();
    let mut skipped = Vec::new();
    for change in entry.changes.iter().rev() {
        let key = keys(&change.key);
        if doc.get(&key).as_deref() != Some(change.after.as_str()) {
            skipped.push(change.key.join("."));
            continue;
        }
        let put_back = match &change.before {
            Some(source) => doc.set_source(&key, source),
            None => {
                doc.remove(&key);
                Ok(())
            }
        };
        put_back.map_err(|source| PatchError::Parse {
            path: entry.file.clone(),
            source,
        })?;
    }
    let after = doc.render();
    let outcome = Outcome {
        path: entry.file.clone(),
        before,
        after,
        skipped,
    };
    if dry_run {
        return Ok(outcome);
    }
    if entry.created && outcome.after.trim().is_empty() {
        // We made the file; with our keys gone it goes too.
        write::remove(&snapshot)?;
    } else if outcome.changes() {
        write::replace(&snapshot, outcome.after.as_bytes())?;
    }
    journal.remove(spec.id)?;
    Ok(outcome)
}
