//! Saving one change to `sellers.yaml`: the I/O around the pure editor
//! (`edit.rs`). The file is read, edited, and replaced compare-and-swap —
//! when another writer got in between, the change is made again on what it
//! wrote (so two adds at once both land, never a lost update). A key the
//! user typed goes to the secrets store first (put back if the file write
//! fails); removing a seller, or moving it off a stored key, removes the
//! stored key after the file no longer names it. The API and the CLI both
//! save through here.

use std::path::Path;
use std::sync::Mutex;

use super::edit::{self, Change, EditError, KeySource};
use super::secrets::{KeyStore, SecretError, Secrets};
use super::seller::Secret;
use crate::atomic_file::{self, Perms, WriteError};

/// Why a change was not saved (the file is as it was).
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// The change cannot be made to this file.
    #[error("{0}")]
    Edit(#[from] EditError),
    /// The file could not be read or written.
    #[error("{0}")]
    Write(#[from] WriteError),
    /// The key could not be stored.
    #[error("{0}")]
    Secret(#[from] SecretError),
}

/// What a save did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    /// Where the typed key went, if one was given.
    pub key_store: Option<KeyStore>,
    /// The key's name in the file (`api_key_ref`), if it is stored.
    pub key_ref: Option<String>,
}

/// Serialises this process's saves (other processes: the compare-and-swap).
static SAVING: Mutex<()> = Mutex::new(());

const TRIES: usize = 20;

/// The stored key a parsed-for-check seller names, if any.
fn stored_ref(text: &str, path: &Path, id: &str) -> Option<String> {
    edit::parse_for_check(path, text)
        .ok()?
        .into_iter()
        .find(|s| s.id.as_str() == id)?
        .api_key
        .expose()
        .strip_prefix("ref:")
        .map(str::to_string)
}

/// Applies `change` to the sellers file at `path`; `key` is a key the user
/// typed for the seller (stored outside the file, referenced by
/// `api_key_ref`). Blocking: call it off the async threads.
pub fn save(path: &Path, change: Change, key: Option<&Secret>) -> Result<Saved, SaveError> {
    let _one = SAVING.lock().unwrap_or_else(|p| p.into_inner());
    let dir = path.parent().unwrap_or(Path::new("."));
    let secrets = Secrets::open(dir);
    let mut stored: Option<(String, Option<String>)> = None;
    let mut tries = 0;
    loop {
        let snapshot = atomic_file::read(path)?;
        if snapshot.bytes.is_none() {
            // Compare-and-swap needs a file to compare (two first writers
            // would both see "missing"): create an empty list, first writer
            // wins, then edit that — once the change is known to apply.
            edit::apply(path, "", &change)?;
            atomic_file::create_new(path, b"sellers: []\n", Perms::Keep)?;
            tries += 1;
            if tries > TRIES {
                return Err(WriteError::Changed {
                    path: path.to_path_buf(),
                }
                .into());
            }
            continue;
        }
        let bytes = snapshot.bytes.clone().unwrap_or_default();
        let text = String::from_utf8(bytes).map_err(|_| {
            EditError::Broken(super::FileError {
                path: path.to_path_buf(),
                line: None,
                message: "the file is not UTF-8 text".into(),
            })
        })?;
        let id = match &change {
            Change::Add(s) | Change::Edit(s) => s.id.clone(),
            Change::Remove(id) => id.clone(),
        };
        let before_ref = stored_ref(&text, path, &id);
        let mut change = change.clone();
        if let (Some(_), Change::Add(s) | Change::Edit(s)) = (key, &mut change) {
            s.key = KeySource::Stored(before_ref.clone().unwrap_or_else(|| id.clone()));
        }
        let new = match edit::apply(path, &text, &change) {
            Ok(new) => new,
            Err(e) => {
                restore(&secrets, &stored);
                return Err(e.into());
            }
        };
        if let (Some(key), None, Change::Add(s) | Change::Edit(s)) = (key, &stored, &change) {
            if let KeySource::Stored(name) = &s.key {
                let previous = secrets.get(name)?;
                secrets.set(name, key.expose())?;
                stored = Some((name.clone(), previous));
            }
        }
        match atomic_file::replace(&snapshot, new.as_bytes(), Perms::Keep) {
            Ok(()) => {
                let after_ref = match &change {
                    Change::Remove(_) => None,
                    _ => stored_ref(&new, path, &id),
                };
                // A key another seller still names (a hand edit may share one) stays.
                let still_named = |r: &String| {
                    edit::parse_for_check(path, &new).is_ok_and(|all| {
                        all.iter()
                            .any(|s| s.api_key.expose().strip_prefix("ref:") == Some(r.as_str()))
                    })
                };
                if let Some(old) = before_ref.filter(|r| !still_named(r)) {
                    if let Err(e) = secrets.remove(&old) {
                        tracing::warn!("seller \"{id}\": its old stored key was not removed: {e}");
                    }
                }
                tracing::info!("sellers file: {} seller \"{id}\"", verb(&change));
                return Ok(Saved {
                    key_store: stored.as_ref().map(|_| secrets.store()),
                    key_ref: after_ref,
                });
            }
            Err(WriteError::Changed { .. }) if tries < TRIES => tries += 1,
            Err(e) => {
                restore(&secrets, &stored);
                return Err(e.into());
            }
        }
    }
}

fn verb(change: &Change) -> &'static str {
    match change {
        Change::Add(_) => "added",
        Change::Edit(_) => "edited",
        Change::Remove(_) => "removed",
    }
}

/// Puts back the key a failed save replaced.
fn restore(secrets: &Secrets, stored: &Option<(String, Option<String>)>) {
    let Some((name, previous)) = stored else {
        return;
    };
    let put_back = match previous {
        Some(v) => secrets.set(name, v).map(|_| ()),
        None => secrets.remove(name),
    };
    if let Err(e) = put_back {
        tracing::warn!("the key \"{name}\" could not be put back after a failed save: {e}");
    }
}
