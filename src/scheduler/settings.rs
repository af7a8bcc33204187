//! Where the routing settings live: `<data dir>/routing.json`, a file the app
//! owns. Read at start, replaced atomically on change; the next request obeys.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;

use super::mode::{RoutingSettings, SettingsError};

/// Why settings could not be saved.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// The settings are inconsistent.
    #[error(transparent)]
    Invalid(#[from] SettingsError),
    /// The file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The settings file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// The live routing settings and their file.
#[derive(Debug)]
pub struct RoutingStore {
    path: PathBuf,
    current: ArcSwap<RoutingSettings>,
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
        }
    }

    /// The settings in force.
    pub fn get(&self) -> Arc<RoutingSettings> {
        self.current.load_full()
    }

    /// Validates, saves (temp file + rename) and applies `settings`.
    pub fn set(&self, settings: RoutingSettings) -> Result<(), SaveError> {
        settings.validate()?;
        let io = |source| SaveError::Io {
            path: self.path.clone(),
            source,
        };
        let text =
            serde_json::to_vec_pretty(&settings).map_err(|e| io(std::io::Error::other(e)))?;
        let tmp = self.path.with_extension("json.tmp");
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&text)?;
            // On disk before it replaces the old file: a crash leaves one or the other.
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)
        };
        write().map_err(io)?;
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
