//! The live set of sellers: an atomically swapped snapshot, so the request
//! path never takes a lock, plus the outcome of the last reload.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use tokio::sync::watch;

use super::file::{self, FileError};
use super::seller::Seller;
use crate::file_watch::Fingerprint;
use crate::protocol::Protocol;

/// One immutable generation of sellers, ordered by priority then file order.
#[derive(Debug, Default)]
pub struct SellerSet {
    /// Sellers in the order they are tried.
    pub sellers: Vec<Arc<Seller>>,
    /// Counts successful loads; 0 is the first.
    pub generation: u64,
}

impl SellerSet {
    fn new(mut sellers: Vec<Seller>, generation: u64) -> Self {
        // Stable sort: equal priorities keep file order.
        sellers.sort_by_key(|s| std::cmp::Reverse(s.priority));
        SellerSet {
            sellers: sellers.into_iter().map(Arc::new).collect(),
            generation,
        }
    }

    /// Sellers that accept `protocol` for `model`, in try order. A seller
    /// that declares no models accepts every model, whatever its own
    /// `/v1/models` reported: the learned list (`pool/models.rs`) is
    /// information for pickers, never a reason to skip a seller.
    pub fn candidates<'a>(
        &'a self,
        protocol: Protocol,
        model: &'a str,
    ) -> impl Iterator<Item = &'a Arc<Seller>> + 'a {
        self.sellers
            .iter()
            .filter(move |s| s.serves(protocol, model))
    }

    /// The sorted, de-duplicated union of the models sellers declare.
    pub fn models(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .sellers
            .iter()
            .flat_map(|s| s.models.iter().map(|m| m.name.as_str()))
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}

/// What the last attempt to (re)load the sellers file gave.
#[derive(Debug, Clone, Default)]
pub struct ReloadStatus {
    /// Generation now serving.
    pub generation: u64,
    /// Reload attempts so far, successful or not.
    pub attempts: u64,
    /// The error of the last attempt, if it failed (the previous set still serves).
    pub error: Option<FileError>,
}

/// What a reload did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reload {
    /// The file holds the bytes last read: nothing to do.
    Unchanged,
    /// A new generation serves.
    Applied,
}

/// The sellers file plus any in-process sellers (demo), hot-swappable.
#[derive(Debug)]
pub struct Sellers {
    path: PathBuf,
    extra: Vec<Seller>,
    current: ArcSwap<SellerSet>,
    status: watch::Sender<ReloadStatus>,
    /// The content last read (loaded or refused), so an event that changed
    /// nothing reloads nothing.
    seen: Mutex<Option<Fingerprint>>,
}

impl Sellers {
    /// Reads `path` (a missing file means no file sellers) and appends `extra`.
    /// A bad file is an error: we never start on a half-read file.
    pub fn open(path: PathBuf, extra: Vec<Seller>) -> Result<Self, FileError> {
        let bytes = file::read(&path)?;
        let mut sellers = match &bytes {
            Some(bytes) => file::parse_bytes(&path, bytes)?,
            None => Vec::new(),
        };
        sellers.extend(extra.iter().cloned());
        let (status, _) = watch::channel(ReloadStatus::default());
        Ok(Sellers {
            path,
            extra,
            current: ArcSwap::from_pointee(SellerSet::new(sellers, 0)),
            status,
            seen: Mutex::new(Some(Fingerprint::of(bytes.as_deref()))),
        })
    }

    /// The sellers file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The set serving now; cheap, lock-free.
    pub fn snapshot(&self) -> Arc<SellerSet> {
        self.current.load_full()
    }

    /// Re-reads the file; bytes already seen change nothing. On error the
    /// last good set keeps serving and the error is kept in
    /// [`Sellers::status`]. A file that disappears or goes blank while
    /// serving is an error too — editors replace files by rename and
    /// truncate before they write, and the set must not drop in the moment
    /// between: to remove every seller, write `sellers: []`.
    pub fn reload(&self) -> Result<Reload, FileError> {
        let bytes = file::read(&self.path);
        let seen = Fingerprint::of(bytes.as_ref().ok().and_then(|b| b.as_deref()));
        {
            let mut last = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            if bytes.is_ok() && *last == Some(seen) {
                return Ok(Reload::Unchanged);
            }
            *last = bytes.is_ok().then_some(seen);
        }
        let kept = |what: &str| {
            FileError {
            path: self.path.clone(),
            line: None,
            message: format!(
                "the file is {what}; the last good set keeps serving (to remove every seller, write `sellers: []`)"
            ),
        }
        };
        let result = match bytes {
            Ok(Some(bytes)) if file::is_blank(&String::from_utf8_lossy(&bytes)) => {
                Err(kept("empty"))
            }
            Ok(Some(bytes)) => match file::parse_bytes(&self.path, &bytes) {
                // `sellers:` with nothing after it (a save cut short reads
                // so) is not `sellers: []`: the running set is not dropped.
                Ok(loaded)
                    if loaded.is_empty()
                        && !file::says_no_sellers(&String::from_utf8_lossy(&bytes)) =>
                {
                    Err(kept("without a sellers list"))
                }
                other => other,
            },
            Ok(None) => Err(kept("gone")),
            Err(e) => Err(e),
        };
        let mut outcome = Ok(Reload::Applied);
        self.status.send_modify(|st| {
            st.attempts += 1;
            match &result {
                Ok(loaded) => {
                    let mut sellers = loaded.clone();
                    sellers.extend(self.extra.iter().cloned());
                    st.generation += 1;
                    st.error = None;
                    self.current
                        .store(Arc::new(SellerSet::new(sellers, st.generation)));
                }
                Err(e) => {
                    st.error = Some(e.clone());
                    outcome = Err(e.clone());
                }
            }
        });
        outcome
    }

    /// The outcome of the last reload.
    pub fn status(&self) -> ReloadStatus {
        self.status.borrow().clone()
    }

    /// Notified after every reload attempt.
    pub fn subscribe(&self) -> watch::Receiver<ReloadStatus> {
        self.status.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = "sellers:\n  - id: a\n    base_url: http://127.0.0.1:9/v1\n    api_key: k\n    protocols: [openai-chat]\n";

    fn ids(s: &Sellers) -> Vec<String> {
        s.snapshot()
            .sellers
            .iter()
            .map(|x| x.id.to_string())
            .collect()
    }

    #[test]
    fn unchanged_bytes_reload_nothing_and_a_vanished_or_blank_file_keeps_the_set() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sellers.yaml");
        std::fs::write(&path, ONE).unwrap();
        let s = Sellers::open(path.clone(), Vec::new()).unwrap();
        assert_eq!(s.reload().unwrap(), Reload::Unchanged);
        assert_eq!(s.status().attempts, 0, "nothing was attempted");
        std::fs::remove_file(&path).unwrap();
        let gone = s.reload().unwrap_err();
        assert!(gone.message.contains("gone"), "{gone}");
        assert_eq!(ids(&s), ["a"], "the last good set keeps serving");
        assert_eq!(
            s.reload().unwrap(),
            Reload::Unchanged,
            "still gone: no new attempt"
        );
        std::fs::write(&path, "").unwrap();
        assert!(s.reload().unwrap_err().message.contains("empty"));
        std::fs::write(&path, "# nothing yet\n").unwrap();
        assert!(s.reload().is_err());
        assert_eq!(ids(&s), ["a"]);
        std::fs::write(&path, "sellers: []\n").unwrap();
        assert_eq!(s.reload().unwrap(), Reload::Applied);
        assert!(
            ids(&s).is_empty(),
            "an explicit empty list removes every seller"
        );
        assert_eq!(s.status().generation, 1);
        assert!(s.status().error.is_none());
    }
}
