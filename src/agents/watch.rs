//! Drift watch: the app watches the folders of the files it configured
//! (agents and editors replace files by rename), and when one changes it
//! re-checks whether our keys still hold. An agent whose keys were
//! overwritten becomes "drifted" (logged once, counted), so the panel can
//! refresh and offer the one-click re-apply; re-applying clears it. Only
//! events that can change a file wake it — never the reads of its own
//! re-check (see [`crate::file_watch`]).

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use notify::{RecursiveMode, Watcher as _};
use serde::Serialize;
use tokio::sync::{mpsc, watch};

use super::journal::Journal;
use super::patch;
use super::spec;
use crate::atomic_file;
use crate::file_watch::{self, Signal};
use crate::notices::{NoticeKind, Notices};

/// What the watch has seen, for `GET /api/agents/drift`.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Drift {
    /// Bumped whenever an agent drifts or stops drifting.
    pub generation: u64,
    /// Agents whose keys were changed since TokenBuddy set them.
    pub drifted: BTreeSet<String>,
}

struct Inner {
    watcher: Option<notify::RecommendedWatcher>,
    dirs: BTreeSet<PathBuf>,
    drift: Drift,
    /// Carries `drift.generation` to the panel's event stream.
    changed: watch::Sender<u64>,
    /// Where a newly drifted agent is told, if anywhere.
    notices: Option<Arc<Notices>>,
}

/// Keeps the watch alive; dropping it stops watching.
pub struct DriftWatch {
    journal: Journal,
    inner: Arc<Mutex<Inner>>,
    /// File names worth a re-check (the folders hold other files too).
    names: Arc<Mutex<BTreeSet<OsString>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for DriftWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock(m: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The agents whose journaled keys no longer hold in their files.
pub fn drifted_now(journal: &Journal) -> BTreeSet<String> {
    let Ok(all) = journal.all() else {
        return BTreeSet::new();
    };
    all.into_iter()
        .filter(|(id, entry)| {
            let Some(spec) = spec::find(id) else {
                return false;
            };
            match patch::read_all(spec, &entry.file) {
                Ok(read) if read.all_absent() => true,
                Ok(read) => !patch::holds(&read.doc, entry),
                // A file that no longer parses has lost our keys too.
                Err(patch::PatchError::Parse { .. }) => true,
                Err(_) => false,
            }
        })
        .map(|(id, _)| id)
        .collect()
}

impl DriftWatch {
    /// Starts watching the files in the journal; call inside a tokio runtime.
    pub fn spawn(data_dir: &Path) -> DriftWatch {
        Self::spawn_with(data_dir, None)
    }

    /// Starts watching, raising an `agentDrifted` notice in `notices` for
    /// every agent that drifts.
    pub fn spawn_with(data_dir: &Path, notices: Option<Arc<Notices>>) -> DriftWatch {
        let journal = Journal::new(data_dir);
        let inner = Arc::new(Mutex::new(Inner {
            watcher: None,
            dirs: BTreeSet::new(),
            drift: Drift {
                generation: 0,
                drifted: drifted_now(&journal),
            },
            changed: watch::channel(0).0,
            notices,
        }));
        let (tx, mut rx) = mpsc::unbounded_channel::<Signal>();
        let names: Arc<Mutex<BTreeSet<OsString>>> = Arc::default();
        let ours = Arc::clone(&names);
        let watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| match event {
                Ok(ev) => {
                    let signal = file_watch::signal(&ev.kind);
                    if signal == Signal::Ignore {
                        return;
                    }
                    let names = ours.lock().unwrap_or_else(|p| p.into_inner());
                    if ev
                        .paths
                        .iter()
                        .any(|p| p.file_name().is_some_and(|n| names.contains(n)))
                    {
                        let _ = tx.send(signal);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "watching agents' config files"),
            });
        match watcher {
            Ok(w) => lock(&inner).watcher = Some(w),
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch agents' config files; drift shows on the next check")
            }
        }
        let shared = Arc::clone(&inner);
        let checked = journal.clone();
        let task = tokio::spawn(async move {
            while file_watch::next_change(&mut rx).await.is_some() {
                tracing::debug!("an agent's config file changed; re-checking drift");
                let journal = checked.clone();
                let now = tokio::task::spawn_blocking(move || drifted_now(&journal))
                    .await
                    .unwrap_or_default();
                update(&shared, now);
            }
        });
        let watch = DriftWatch {
            journal,
            inner,
            names,
            task,
        };
        watch.refresh();
        watch
    }

    /// Watches the folders of every journaled file (call after a configure
    /// or restore) and re-checks drift.
    pub fn refresh(&self) {
        let files: BTreeMap<String, PathBuf> = self
            .journal
            .all()
            .unwrap_or_default()
            .into_iter()
            .map(|(id, e)| (id, e.file))
            .collect();
        let mut dirs = BTreeSet::new();
        let mut names = BTreeSet::new();
        // Each agent's side files count as its files too.
        let all: Vec<PathBuf> = files
            .iter()
            .flat_map(|(id, file)| {
                let sides = spec::find(id)
                    .map(|s| patch::side_paths(s, file))
                    .unwrap_or_default();
                std::iter::once(file.clone()).chain(sides)
            })
            .collect();
        for file in &all {
            dirs.extend(file.parent().map(Path::to_path_buf));
            names.extend(file.file_name().map(OsString::from));
            // A symlinked file changes where its target lives.
            if let Ok(s) = atomic_file::read(file) {
                dirs.extend(s.target.parent().map(Path::to_path_buf));
                names.extend(s.target.file_name().map(OsString::from));
            }
        }
        *self.names.lock().unwrap_or_else(|p| p.into_inner()) = names;
        {
            let mut inner = lock(&self.inner);
            let Inner {
                watcher,
                dirs: watched,
                ..
            } = &mut *inner;
            if let Some(w) = watcher.as_mut() {
                for dir in dirs.difference(watched).cloned().collect::<Vec<_>>() {
                    match w.watch(&dir, RecursiveMode::NonRecursive) {
                        Ok(()) => {
                            watched.insert(dir);
                        }
                        Err(e) => tracing::debug!(dir = %dir.display(), error = %e, "not watched"),
                    }
                }
            }
        }
        update(&self.inner, drifted_now(&self.journal));
    }

    /// What the watch has seen.
    pub fn drift(&self) -> Drift {
        lock(&self.inner).drift.clone()
    }

    /// Changes whenever an agent drifts or stops drifting (the generation).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        lock(&self.inner).changed.subscribe()
    }
}

fn update(inner: &Mutex<Inner>, now: BTreeSet<String>) {
    let mut inner = lock(inner);
    if inner.drift.drifted == now {
        return;
    }
    for id in now.difference(&inner.drift.drifted) {
        tracing::warn!(agent = %id, "an agent's config changed since TokenBuddy configured it (drifted); configure it again to re-apply");
        if let Some(n) = &inner.notices {
            n.raise(
                NoticeKind::AgentDrifted,
                None,
                format!("{id}'s config changed since TokenBuddy configured it; configure it again to re-apply"),
            );
        }
    }
    inner.drift.drifted = now;
    inner.drift.generation += 1;
    inner.changed.send_replace(inner.drift.generation);
}
