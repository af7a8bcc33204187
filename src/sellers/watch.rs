//! Watching `sellers.yaml`: an edit is reloaded without a restart; a broken
//! edit is reported while the last good set keeps serving.
//!
//! The parent directory is watched (editors save by writing a temp file and
//! renaming it; the file may not exist yet). Only events that can change
//! the file count — never the reads a reload itself causes — and a reload
//! whose bytes are unchanged does nothing (see [`crate::file_watch`]), so an
//! idle app stays idle however often the file is read.

use std::path::PathBuf;
use std::sync::Arc;

use notify::{RecursiveMode, Watcher as _};
use tokio::sync::mpsc;

use super::store::{Reload, Sellers};
use crate::error::Error;
use crate::file_watch::{self, Signal};

/// Keeps the watch alive; dropping it stops watching.
pub struct Watcher {
    _inner: notify::RecommendedWatcher,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts watching the sellers file; must be called inside a tokio runtime.
pub fn spawn(sellers: Arc<Sellers>) -> Result<Watcher, Error> {
    let file = sellers.path().to_path_buf();
    let dir = file
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    let file_name = file.file_name().map(|n| n.to_os_string());
    let (tx, mut rx) = mpsc::unbounded_channel::<Signal>();
    let mut inner =
        notify::recommended_watcher(move |event: notify::Result<notify::Event>| match event {
            Ok(ev)
                if ev
                    .paths
                    .iter()
                    .any(|p| p.file_name() == file_name.as_deref()) =>
            {
                let signal = file_watch::signal(&ev.kind);
                if signal != Signal::Ignore {
                    let _ = tx.send(signal);
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "watching the sellers file"),
        })
        .map_err(|source| Error::Watch {
            path: dir.clone(),
            source,
        })?;
    inner
        .watch(&dir, RecursiveMode::NonRecursive)
        .map_err(|source| Error::Watch {
            path: dir.clone(),
            source,
        })?;
    let task = tokio::spawn(async move {
        while file_watch::next_change(&mut rx).await.is_some() {
            match sellers.reload() {
                Ok(Reload::Unchanged) => {
                    tracing::debug!("sellers file written with the same content; nothing to reload")
                }
                Ok(Reload::Applied) => {
                    let status = sellers.status();
                    tracing::info!(
                        generation = status.generation,
                        sellers = sellers.snapshot().sellers.len(),
                        "sellers file reloaded"
                    );
                }
                Err(e) => tracing::warn!(
                    "sellers file not reloaded, the last good one keeps serving: {e}"
                ),
            }
        }
    });
    Ok(Watcher {
        _inner: inner,
        task,
    })
}
