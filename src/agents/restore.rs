//! Restore, for any agent: put back what the journal says each of our keys
//! held before, for every key that still holds our value; leave (and report)
//! keys the user changed since. A file TokenBuddy created goes again, with
//! the folders it created for it, unless something else was put there since
//! — then it is kept, only our keys are dropped, and the result says so.

use super::doc::{ConfigDoc, DocError};
use super::journal::{Entry, Journal, Locked};
use super::patch::{self, doc_error, is_empty_container, keys, Outcome, PatchError, ATTEMPTS};
use super::spec::AgentSpec;
use crate::atomic_file::{self, pause_point, Perms, WriteError};

/// Puts back what the journal says each of our keys held before.
pub fn restore(spec: &AgentSpec, journal: &Journal, dry_run: bool) -> Result<Outcome, PatchError> {
    let locked = journal.lock()?;
    super::reconcile::settle_one(&locked, spec.id)?;
    let entry = locked
        .get(spec.id)?
        .ok_or_else(|| PatchError::NotConfigured(spec.name.to_string()))?;
    let mut attempt = 0;
    loop {
        attempt += 1;
        match restore_once(spec, &entry, &locked, dry_run) {
            Err(PatchError::Write(WriteError::Changed { .. })) if attempt < ATTEMPTS => continue,
            other => return other,
        }
    }
}

/// Undoes the journaled changes in `doc`; returns the keys left alone.
fn undo(doc: &mut dyn ConfigDoc, entry: &Entry) -> Result<Vec<String>, DocError> {
    let mut skipped = Vec::new();
    for change in entry.changes.iter().rev() {
        let key = keys(&change.key);
        if change.container {
            let now = doc.value(&key);
            let emptied = now.as_ref().is_none_or(is_empty_container);
            match (&change.before, emptied, now.is_some()) {
                (None, true, true) => doc.remove(&key)?,
                (Some(source), true, true) if doc.get(&key).as_deref() != Some(source) => {
                    doc.set_source(&key, source)?
                }
                _ => {}
            }
            continue;
        }
        if doc.get(&key).as_deref() != Some(change.after.as_str()) {
            skipped.push(change.key.join("."));
            continue;
        }
        match &change.before {
            Some(source) => doc.set_source(&key, source)?,
            None => doc.remove(&key)?,
        }
    }
    Ok(skipped)
}

/// Whether a document holds nothing at all: no keys, no comments — what is
/// left of a file TokenBuddy created once our keys are gone.
fn is_blank(doc: &dyn ConfigDoc, text: &str) -> bool {
    doc.value(&[])
        .is_none_or(|v| v.is_null() || is_empty_container(&v))
        && text
            .chars()
            .all(|c| c.is_whitespace() || c == '{' || c == '}')
}

/// Removes the folders TokenBuddy created for `entry`'s file, innermost
/// first, while they are empty; notes each one kept in `kept`.
pub(crate) fn remove_created_dirs(entry: &Entry, kept: &mut Vec<String>) {
    // Temp files of a crashed write of ours would keep the folder.
    atomic_file::remove_leftovers(&entry.file);
    for dir in entry.created_dirs.iter().rev() {
        match std::fs::remove_dir(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(_) if dir.exists() => {
                kept.push(format!(
                    "kept folder {}: TokenBuddy created it, but it holds other files now",
                    dir.display()
                ));
                // Its parents hold it, so they stay too.
                return;
            }
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "could not remove a folder TokenBuddy created");
                return;
            }
        }
    }
}

fn restore_once(
    spec: &AgentSpec,
    entry: &Entry,
    locked: &Locked<'_>,
    dry_run: bool,
) -> Result<Outcome, PatchError> {
    let snapshot = atomic_file::read(&entry.file)?;
    let mut outcome = Outcome {
        path: entry.file.clone(),
        before: String::new(),
        after: String::new(),
        skipped: Vec::new(),
        left: Vec::new(),
        kept: Vec::new(),
    };
    if snapshot.bytes.is_none() {
        // The file is gone: nothing of ours is left in it.
        if !dry_run {
            if entry.created {
                remove_created_dirs(entry, &mut outcome.kept);
            }
            locked.remove(spec.id)?;
        }
        return Ok(outcome);
    }
    let mut doc = patch::open(spec, &snapshot)?;
    outcome.before = doc.render();
    outcome.skipped = undo(doc.as_mut(), entry).map_err(doc_error(&entry.file))?;
    let text = doc.render();
    let remove_file = entry.created && is_blank(doc.as_ref(), &text);
    if entry.created && !remove_file {
        outcome.kept.push(format!(
            "kept {}: TokenBuddy created it, but it holds other settings now; only TokenBuddy's keys were removed",
            entry.file.display()
        ));
    }
    if !remove_file {
        outcome.after = text;
    }
    if dry_run {
        return Ok(outcome);
    }
    if remove_file {
        atomic_file::remove(&snapshot)?;
        pause_point("restore-removed");
        remove_created_dirs(entry, &mut outcome.kept);
    } else if outcome.changes() {
        atomic_file::replace(&snapshot, outcome.after.as_bytes(), Perms::Secret)?;
    }
    pause_point("restore-written");
    locked.remove(spec.id)?;
    Ok(outcome)
}
