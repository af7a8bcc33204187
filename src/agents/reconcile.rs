//! Startup reconciliation: squares every journal entry with its file after
//! a crash, under the journal's lock, so that afterwards an agent is
//! journaled exactly when its file holds our keys. A configure journals its
//! entry as pending before it writes the file: if the write happened, the
//! entry is committed; if not, the journal goes back to what it held before.
//! A committed entry whose file shows none of our values and all of the old
//! ones is a restore that crashed before forgetting it: it is dropped. Our
//! left-over temp files (and folders we created for a file that is gone) are
//! removed. Configure and restore run the same check for their agent first.

use std::path::Path;

use super::doc::ConfigDoc;
use super::journal::{Entry, Journal, Locked};
use super::patch::{self, holds, keys, PatchError};
use super::spec;
use crate::atomic_file;

/// What reconciliation did with one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// It agreed with its file already.
    Kept,
    /// A configure's write had happened: the entry is committed.
    Committed,
    /// A configure never reached its file: back to the earlier entry (or none).
    RolledBack,
    /// A restore had put the file back: the entry is gone.
    Dropped,
}

/// Whether the file (`None`: absent) shows none of our values and all of
/// the old ones. Keys whose old value equals ours cannot tell, so they are
/// not asked; an entry with only such keys is never taken for unwritten.
fn never_written(doc: Option<&dyn ConfigDoc>, entry: &Entry) -> bool {
    let Some(doc) = doc else {
        return entry.created;
    };
    let telling: Vec<_> = entry
        .changes
        .iter()
        .filter(|c| !c.container && c.before.as_deref() != Some(c.after.as_str()))
        .collect();
    !telling.is_empty()
        && telling.iter().all(|c| {
            let now = doc.get(&keys(&c.key));
            now.as_deref() != Some(c.after.as_str()) && now == c.before
        })
}

/// Squares agent `id`'s entry with its file (see the module doc).
pub fn settle(locked: &Locked<'_>, id: &str, entry: &Entry) -> Result<Settled, PatchError> {
    // Nobody else writes this file now: we hold the lock.
    atomic_file::remove_leftovers(&entry.file);
    let Some(spec) = spec::find(id) else {
        return Ok(Settled::Kept);
    };
    for file in &entry.created_files {
        atomic_file::remove_leftovers(file);
    }
    // A file that cannot be read or no longer parses tells nothing: leave the entry.
    let Ok(read) = patch::read_all(spec, &entry.file) else {
        return Ok(Settled::Kept);
    };
    let doc = (!read.all_absent()).then_some(&read.doc as &dyn ConfigDoc);
    let written = doc.is_some_and(|d| holds(d, entry));
    match &entry.pending {
        Some(pending) if !written && never_written(doc, entry) => {
            let previous = pending.previous.as_deref().cloned();
            if previous.is_none() && entry.created && doc.is_none() {
                super::restore::remove_created_dirs(entry, &mut Vec::new());
            }
            locked.set(id, previous)?;
            Ok(Settled::RolledBack)
        }
        Some(pending)
            if !written
                && pending
                    .previous
                    .as_deref()
                    .is_some_and(|p| doc.is_some_and(|d| holds(d, p))) =>
        {
            // The file still holds the earlier configure's values.
            locked.set(id, pending.previous.as_deref().cloned())?;
            Ok(Settled::RolledBack)
        }
        Some(_) => {
            // Written (or changed by someone since): the new entry stands.
            locked.put(
                id,
                Entry {
                    pending: None,
                    ..entry.clone()
                },
            )?;
            Ok(Settled::Committed)
        }
        None if !written && never_written(doc, entry) => {
            if entry.created && doc.is_none() {
                super::restore::remove_created_dirs(entry, &mut Vec::new());
            }
            locked.remove(id)?;
            Ok(Settled::Dropped)
        }
        None => Ok(Settled::Kept),
    }
}

/// [`settle`] for agent `id`'s entry, if it has one.
pub fn settle_one(locked: &Locked<'_>, id: &str) -> Result<Settled, PatchError> {
    match locked.get(id)? {
        Some(entry) => settle(locked, id, &entry),
        None => Ok(Settled::Kept),
    }
}

/// Squares every entry with its file; returns what changed, by agent id.
pub fn reconcile(journal: &Journal) -> Result<Vec<(String, Settled)>, PatchError> {
    let locked = journal.lock()?;
    atomic_file::remove_leftovers(journal.path());
    let mut changed = Vec::new();
    for (id, entry) in locked.all()? {
        match settle(&locked, &id, &entry)? {
            Settled::Kept => {}
            other => changed.push((id, other)),
        }
    }
    Ok(changed)
}

/// [`reconcile`] for a data dir, with the outcome logged (startup of the app
/// and of CLI configure/restore).
pub fn reconcile_at_startup(data_dir: &Path) {
    match reconcile(&Journal::new(data_dir)) {
        Ok(changed) if !changed.is_empty() => {
            tracing::info!(agents = ?changed, "squared the agents journal with the files after an interrupted configure or restore")
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "could not reconcile the agents journal"),
    }
}
