//! Watching `sellers.yaml`: an edit is reloaded without a restart; a broken
//! edit is reported while the last good set keeps serving.
//!
//! The parent directory is watched (editors save by writing a temp file and
//! renaming it; the file may not exist yet), and bursts of events are
//! coalesced into one reload.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher as _};
use tokio::sync::mpsc;

use super::store::Sellers;
use crate::error::Error;

/// How long to wait for more events after one, before reloading once.
const SETTLE: Duration = Duration::from_millis(75);

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
    let (tx, mut rx) = mpsc::unbounded_channel::<()>();
    let mut inner =
        notify::recommended_watcher(move |event: notify::Result<notify::Event>| match event {
            Ok(ev)
                if ev
                    .paths
                    .iter()
                    .any(|p| p.file_name() == file_name.as_deref()) =>
            {
                let _ = tx.send(());
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
        while rx.recv().await.is_some() {
            // Coalesce the burst an editor's save produces.
            tokio::time::sleep(SETTLE).await;
            while rx.try_recv().is_ok() {}
            match sellers.reload() {
                Ok(()) => {
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
