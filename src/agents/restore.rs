//! Restore, for any agent: put back what the journal says each of our keys
//! held before, for every key that still holds our value; leave (and report)
//! keys the user changed since. A file TokenBuddy created goes again, with
//! the folders it created for it, unless something else was put there since
//! — then it is kept, only our keys are dropped, and the result says so.

use super::doc::files::Files;
use super::doc::{ConfigDoc, DocError};
use super::journal::{Entry, Journal, Locked};
use super::patch::{
    self, doc_error, is_empty_container, keys, Outcome, PatchError, SideChange, ATTEMPTS,
};
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
/// Keys in a file that is gone (`absent[part]`) are passed over: nothing of
/// ours is left in it.
pub(crate) fn undo(
    doc: &mut Files,
    entry: &Entry,
    absent: &[bool],
) -> Result<Vec<String>, DocError> {
    let mut skipped = Vec::new();
    for change in entry.changes.iter().rev() {
        let key = keys(&change.key);
        if absent[doc.route(&key).0] {
            continue;
        }
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
            skipped.push(match (doc.route(&key), change.key.split_first()) {
                // A side file's key: `.env: GEMINI_API_KEY`.
                ((part, rest), Some((step, _))) if part > 0 => {
                    format!("{}: {}", step.trim_start_matches('@'), rest.join("."))
                }
                _ => change.key.join("."),
            });
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
pub(crate) fn is_blank(doc: &dyn ConfigDoc, text: &str) -> bool {
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
    for file in &entry.created_files {
        atomic_file::remove_leftovers(file);
    }
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
    let patch::Read {
        snapshots,
        doc: mut files,
    } = patch::read_all(spec, &entry.file)?;
    let mut outcome = Outcome {
        path: entry.file.clone(),
        before: String::new(),
        after: String::new(),
        skipped: Vec::new(),
        left: Vec::new(),
        kept: Vec::new(),
        sides: Vec::new(),
    };
    if snapshots.iter().all(|s| s.bytes.is_none()) {
        // The files are gone: nothing of ours is left in them.
        if !dry_run {
            if entry.created || !entry.created_files.is_empty() {
                remove_created_dirs(entry, &mut outcome.kept);
            }
            locked.remove(spec.id)?;
        }
        return Ok(outcome);
    }
    let absent: Vec<bool> = snapshots.iter().map(|s| s.bytes.is_none()).collect();
    let befores: Vec<String> = (0..files.len()).map(|i| files.text(i)).collect();
    outcome.skipped = undo(&mut files, entry, &absent).map_err(doc_error(&entry.file))?;
    // Per file: its text after, or `None` when it goes (a file we created
    // that holds nothing else).
    let mut afters: Vec<Option<String>> = Vec::new();
    for (i, snapshot) in snapshots.iter().enumerate() {
        let text = files.text(i);
        let created = if i == 0 {
            entry.created
        } else {
            entry.created_files.contains(&snapshot.path)
        };
        let remove = created && !absent[i] && is_blank(files.doc(i), &text);
        if created && !absent[i] && !remove {
            outcome.kept.push(format!(
                "kept {}: TokenBuddy created it, but it holds other settings now; only TokenBuddy's keys were removed",
                snapshot.path.display()
            ));
        }
        afters.push((!remove).then_some(text));
    }
    outcome.before = befores[0].clone();
    outcome.after = afters[0].clone().unwrap_or_default();
    outcome.sides = (1..files.len())
        .map(|i| SideChange {
            path: snapshots[i].path.clone(),
            before: befores[i].clone(),
            after: afters[i].clone().unwrap_or_default(),
        })
        .collect();
    if dry_run {
        return Ok(outcome);
    }
    // The config file first: it may point at a side file (Claude Desktop's
    // `appliedId`), which goes only once nothing points at it.
    let mut removed_all = true;
    for (i, snapshot) in snapshots.iter().enumerate() {
        match &afters[i] {
            None => {
                atomic_file::remove(snapshot)?;
                if i == 0 {
                    pause_point("restore-removed");
                }
            }
            Some(text) => {
                let created = if i == 0 {
                    entry.created
                } else {
                    entry.created_files.contains(&snapshot.path)
                };
                removed_all &= !created || absent[i];
                if !absent[i] && *text != befores[i] {
                    atomic_file::replace(snapshot, text.as_bytes(), Perms::Secret)?;
                }
            }
        }
    }
    if removed_all && (entry.created || !entry.created_files.is_empty()) {
        remove_created_dirs(entry, &mut outcome.kept);
    }
    pause_point("restore-written");
    locked.remove(spec.id)?;
    Ok(outcome)
}
