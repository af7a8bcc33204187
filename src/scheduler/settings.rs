//! Where the routing settings live: `<data dir>/routing.json`, a file the app
//! owns. Read at start, replaced atomically on change; the next request obeys.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;

use super::mode::{RoutingSettings, SettingsError};
use crate::atomic_file::{self, Perms, WriteError};

/// Why settings could not be saved.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// The settings are inconsistent.
    #[error(transparent)]
    Invalid(#[from] SettingsError),
    /// The file could not be written.
    #[error("cannot save the routing settings: {0}")]
    Write(#[from] WriteError),
}

/// The live routing settings and their file.
#[derive(Debug)]
pub struct RoutingStore {
    path: PathBuf,
    current: ArcSwap<RoutingSettings>,
    saving: std::sync::Mutex<()>,
}

impl RoutingStore {
    /// Reads `<data_dir>/routing.json`; a missing or unreadable file gives
    /// the defaults (logged), and is only rewritten by an explicit change.
    pub fn open(data_dir: &Path) -> RoutingStore {
        let path = data_dir.join("routing.json");
        let settings = match std::fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice::<RoutingSettings>(&bytes) {
                Ok(s) if s.validate().is_ok() => s,
                Ok(s) => {
                    let why = s
                        .validate()
                        .err()
                        .map(|e| e.to_string())
                        .unwrap_or_default();
                    tracing::warn!(path = %path.display(), "routing settings ignored: {why}; using defaults");
                    RoutingSettings::default()
                }
                Err(e) => {
                    tracing::warn!(path = %path.display(), "routing settings unreadable ({e}); using defaults");
                    RoutingSettings::default()
                }
            },
            Err(_) => RoutingSettings::default(),
        };
        RoutingStore {
            path,
            current: ArcSwap::from_pointee(settings),
            saving: std::sync::Mutex::new(()),
        }
    }

    /// The settings in force.
    pub fn get(&self) -> Arc<RoutingSettings> {
        self.current.load_full()
    }

    /// Validates, saves (through the one atomic writer: a unique temp file,
    /// fsync, rename, directory fsync) and applies `settings`.
    pub fn set(&self, settings: RoutingSettings) -> Result<(), SaveError> {
        settings.validate()?;
        let text = serde_json::to_vec_pretty(&settings).map_err(|e| WriteError::Io {
            path: self.path.clone(),
            source: std::io::Error::other(e),
        })?;
        // One save at a time, so the file and the settings in force agree.
        let _saving = self.saving.lock().unwrap_or_else(|p| p.into_inner());
        atomic_file::write(&self.path, &text, Perms::Keep)?;
        self.current.store(Arc::new(settings));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::{RoutingMode, Scorer};

    #[test]
    fn saved_settings_survive_a_restart_and_bad_ones_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = RoutingStore::open(dir.path());
        assert_eq!(*store.get(), RoutingSettings::default());
        let s = RoutingSettings {
            mode: RoutingMode::Fixed,
            scorer: Scorer::Speed,
            fixed_seller: Some("a".into()),
            ..RoutingSettings::default()
        };
        store.set(s.clone()).unwrap();
        assert_eq!(*RoutingStore::open(dir.path()).get(), s);
        let bad = RoutingSettings {
            mode: RoutingMode::FixedSet,
            ..RoutingSettings::default()
        };
        assert!(matches!(store.set(bad), Err(SaveError::Invalid(_))));
        assert_eq!(*store.get(), s, "a refused change changes nothing");
    }

    #[test]
    fn concurrent_saves_never_collide() {
        let dir = tempfile::tempdir().unwrap();
        let store = RoutingStore::open(dir.path());
        let scorers = [Scorer::Speed, Scorer::Discount, Scorer::Balanced];
        std::thread::scope(|s| {
            for t in 0..4 {
                let store = &store;
                s.spawn(move || {
                    for i in 0..50 {
                        let settings = RoutingSettings {
                            scorer: scorers[(t + i) % scorers.len()],
                            ..RoutingSettings::default()
                        };
                        store.set(settings).unwrap();
                    }
                });
            }
        });
        let on_disk: RoutingSettings =
            serde_json::from_slice(&std::fs::read(dir.path().join("routing.json")).unwrap())
                .unwrap();
        assert_eq!(
            on_disk,
            *store.get(),
            "the file and the settings in force agree"
        );
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["routing.json"], "no temp file is left");
    }

    #[test]
    fn a_corrupt_file_means_defaults_and_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("routing.json"), "{not json").unwrap();
        let store = RoutingStore::open(dir.path());
        assert_eq!(*store.get(), RoutingSettings::default());
        assert_eq!(
            std::fs::read_to_string(dir.path().join("routing.json")).unwrap(),
            "{not json"
        );
    }
}
