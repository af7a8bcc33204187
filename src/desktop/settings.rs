//! `<data dir>/desktop.json`: the desktop app's own switches (notifications,
//! restore agents on quit) and the agents to re-apply at the next start.
//! Read at start, replaced through the one atomic writer on change; a
//! change is signalled so the tray follows the panel.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::atomic_file::{self, Perms, WriteError};

/// Why the desktop settings could not be saved.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// Serializing failed (not expected).
    #[error("cannot encode the desktop settings: {0}")]
    Encode(#[from] serde_json::Error),
    /// The file could not be written.
    #[error("cannot save the desktop settings: {0}")]
    Write(#[from] WriteError),
}

/// What `desktop.json` holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DesktopSettings {
    /// Desktop notifications on (default on).
    pub notifications: bool,
    /// Quit puts configured agents back (default off).
    pub restore_agents_on_quit: bool,
    /// Agents restored by the last quit, configured again at the next start.
    pub reapply: Vec<String>,
    /// Quit has warned once that configured agents stay pointed at TokenBuddy.
    pub quit_warned: bool,
}

impl Default for DesktopSettings {
    fn default() -> Self {
        DesktopSettings {
            notifications: true,
            restore_agents_on_quit: false,
            reapply: Vec::new(),
            quit_warned: false,
        }
    }
}

/// The live desktop settings and their file.
#[derive(Debug)]
pub struct DesktopStore {
    path: PathBuf,
    current: ArcSwap<DesktopSettings>,
    saving: Mutex<()>,
    changes: watch::Sender<u64>,
}

impl DesktopStore {
    /// Reads `<data_dir>/desktop.json`; missing or unreadable gives the defaults.
    pub fn open(data_dir: &Path) -> DesktopStore {
        let path = data_dir.join("desktop.json");
        let settings = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(path = %path.display(), "desktop settings ignored ({e}); using defaults");
                DesktopSettings::default()
            }),
            Err(_) => DesktopSettings::default(),
        };
        DesktopStore {
            path,
            current: ArcSwap::from_pointee(settings),
            saving: Mutex::new(()),
            changes: watch::Sender::new(0),
        }
    }

    /// The settings in force.
    pub fn get(&self) -> Arc<DesktopSettings> {
        self.current.load_full()
    }

    /// Changes, saves and applies the settings; signals only a real change.
    pub fn update(&self, f: impl FnOnce(&mut DesktopSettings)) -> Result<(), SaveError> {
        let _saving = self.saving.lock().unwrap_or_else(|p| p.into_inner());
        let mut next = DesktopSettings::clone(&self.get());
        f(&mut next);
        if next == *self.get() {
            return Ok(());
        }
        let text = serde_json::to_vec_pretty(&next)?;
        atomic_file::write(&self.path, &text, Perms::Keep)?;
        self.current.store(Arc::new(next));
        self.changes.send_modify(|g| *g += 1);
        Ok(())
    }

    /// A counter bumped on every change.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_then_changes_survive_a_restart_and_signal() {
        let dir = tempfile::tempdir().unwrap();
        let store = DesktopStore::open(dir.path());
        assert_eq!(*store.get(), DesktopSettings::default());
        let rx = store.subscribe();
        store.update(|s| s.notifications = true).unwrap();
        assert!(!rx.has_changed().unwrap(), "no change, no signal");
        assert!(!dir.path().join("desktop.json").exists());
        store
            .update(|s| {
                s.restore_agents_on_quit = true;
                s.reapply = vec!["codex".into()];
            })
            .unwrap();
        assert!(rx.has_changed().unwrap());
        let again = DesktopStore::open(dir.path()).get();
        assert!(again.restore_agents_on_quit);
        assert_eq!(again.reapply, vec!["codex".to_string()]);
    }

    #[test]
    fn a_broken_file_gives_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("desktop.json"), "{nope").unwrap();
        assert_eq!(
            *DesktopStore::open(dir.path()).get(),
            DesktopSettings::default()
        );
    }
}
