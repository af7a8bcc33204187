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
use super::journal::{Change, Entry, Journal, Locked};
use super::patch::{self, doc_error, holds, keys, PatchError, Read};
use super::spec;
use crate::atomic_file::{self, Perms};

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
    let Ok(mut read) = patch::read_all(spec, &entry.file) else {
        return Ok(Settled::Kept);
    };
    match &entry.pending {
        Some(pending) if roll_back_partial(entry, pending.previous.as_deref(), &mut read)? => {
            locked.set(id, pending.previous.as_deref().cloned())?;
            return Ok(Settled::RolledBack);
        }
        None if roll_back_partial(entry, None, &mut read)? => {
            locked.remove(id)?;
            return Ok(Settled::Dropped);
        }
        _ => {}
    }
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

/// An agent with side files caught between its files: its config file
/// shows none of our values while a side file holds all of them. Configure
/// writes the side files first and restore the config file first, so that
/// is a configure killed before its last write (`previous` is the entry
/// before it) or a restore killed before its last (`previous` is `None`):
/// the side files go back to `previous`'s values, or to the user's own, and
/// a side file that configure created goes again. Whether it did so.
fn roll_back_partial(
    entry: &Entry,
    previous: Option<&Entry>,
    read: &mut Read,
) -> Result<bool, PatchError> {
    let files = &read.doc;
    let parts = files.len();
    if parts < 2 {
        return Ok(false);
    }
    let part_of = |c: &Change| files.route(&keys(&c.key)).0;
    let (mut ours, mut theirs) = (vec![false; parts], vec![false; parts]);
    for c in entry
        .changes
        .iter()
        .filter(|c| !c.container && c.before.as_deref() != Some(c.after.as_str()))
    {
        if files.get(&keys(&c.key)).as_deref() == Some(c.after.as_str()) {
            ours[part_of(c)] = true;
        } else {
            theirs[part_of(c)] = true;
        }
    }
    let written: Vec<usize> = (1..parts).filter(|&p| ours[p] && !theirs[p]).collect();
    // The config file shows none of ours, a side file all of them.
    if written.is_empty() || !theirs[0] || ours[0] {
        return Ok(false);
    }
    // Undo only the written files' keys, back to the earlier entry's values.
    let back = Entry {
        changes: entry
            .changes
            .iter()
            .filter(|c| written.contains(&part_of(c)))
            .map(|c| Change {
                before: previous
                    .and_then(|p| p.changes.iter().find(|o| o.key == c.key && !o.container))
                    .map_or_else(|| c.before.clone(), |o| Some(o.after.clone())),
                ..c.clone()
            })
            .collect(),
        ..entry.clone()
    };
    let absent: Vec<bool> = read.snapshots.iter().map(|s| s.bytes.is_none()).collect();
    let files = &mut read.doc;
    super::restore::undo(files, &back, &absent).map_err(doc_error(&entry.file))?;
    for &p in &written {
        let snapshot = &read.snapshots[p];
        let text = files.text(p);
        let created_now = if p == 0 {
            entry.created && !previous.is_some_and(|e| e.created)
        } else {
            entry.created_files.contains(&snapshot.path)
                && !previous.is_some_and(|e| e.created_files.contains(&snapshot.path))
        };
        if created_now && super::restore::is_blank(files.doc(p), &text) {
            atomic_file::remove(snapshot)?;
        } else {
            atomic_file::replace(snapshot, text.as_bytes(), Perms::Secret)?;
        }
    }
    if previous.is_none() {
        super::restore::remove_created_dirs(entry, &mut Vec::new());
    }
    Ok(true)
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
