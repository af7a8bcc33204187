//! Where the routing settings live: `<data dir>/routing.json`, a file the app
//! owns. Read at start, replaced atomically on change; the next request obeys.
//! The same file holds whether the proxy is on (`"proxyEnabled"`, absent = on),
//! so a pause survives a restart.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
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

/// The key of the proxy switch inside `routing.json`.
const PROXY_ENABLED: &str = "proxyEnabled";

/// The live routing settings and their file.
#[derive(Debug)]
pub struct RoutingStore {
    path: PathBuf,
    current: ArcSwap<RoutingSettings>,
    enabled: AtomicBool,
    saving: std::sync::Mutex<()>,
}

/// What `routing.json` holds: the routing settings and the proxy switch.
fn parse(bytes: &[u8]) -> Result<(RoutingSettings, bool), String> {
    let mut value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let enabled = match value.as_object_mut().and_then(|o| o.remove(PROXY_ENABLED)) {
        None => true,
        Some(serde_json::Value::Bool(b)) => b,
        Some(other) => {
            return Err(format!(
                "{PROXY_ENABLED} must be true or false, not {other}"
            ))
        }
    };
    let settings: RoutingSettings = serde_json::from_value(value).map_err(|e| e.to_string())?;
    settings.validate().map_err(|e| e.to_string())?;
    Ok((settings, enabled))
}

/// The file's text for `settings` and the proxy switch.
fn render(settings: &RoutingSettings, enabled: bool) -> Result<Vec<u8>, serde_json::Error> {
    let mut value = serde_json::to_value(settings)?;
    if let Some(o) = value.as_object_mut() {
        o.insert(PROXY_ENABLED.into(), serde_json::Value::Bool(enabled));
    }
    serde_json::to_vec_pretty(&value)
}

impl RoutingStore {
    /// Reads `<data_dir>/routing.json`; a missing or unreadable file gives
    /// the defaults (logged), and is only rewritten by an explicit change.
    pub fn open(data_dir: &Path) -> RoutingStore {
        let path = data_dir.join("routing.json");
        let (settings, enabled) = match std::fs::read(&path) {
            Ok(bytes) => parse(&bytes).unwrap_or_else(|why| {
                tracing::warn!(path = %path.display(), "routing settings ignored ({why}); using defaults");
                (RoutingSettings::default(), true)
            }),
            Err(_) => (RoutingSettings::default(), true),
        };
        RoutingStore {
            path,
            current: ArcSwap::from_pointee(settings),
            enabled: AtomicBool::new(enabled),
            saving: std::sync::Mutex::new(()),
        }
    }

    /// The settings in force.
    pub fn get(&self) -> Arc<RoutingSettings> {
        self.current.load_full()
    }

    /// Whether the proxy answers `/v1/*` generation calls (off: paused).
    pub fn proxy_enabled(&self) -> bool {
        self.enabled.load(Ordering::SeqCst)
    }

    /// Validates, saves (through the one atomic writer: a unique temp file,
    /// fsync, rename, directory fsync) and applies `settings`.
    pub fn set(&self, settings: RoutingSettings) -> Result<(), SaveError> {
        settings.validate()?;
        // One save at a time, so the file and the settings in force agree.
        let _saving = self.saving.lock().unwrap_or_else(|p| p.into_inner());
        self.save(&settings, self.proxy_enabled())?;
        self.current.store(Arc::new(settings));
        Ok(())
    }

    /// Saves and applies the proxy switch.
    pub fn set_proxy_enabled(&self, enabled: bool) -> Result<(), SaveError> {
        let _saving = self.saving.lock().unwrap_or_else(|p| p.into_inner());
        self.save(&self.get(), enabled)?;
        self.enabled.store(enabled, Ordering::SeqCst);
        Ok(())
    }

    fn save(&self, settings: &RoutingSettings, enabled: bool) -> Result<(), SaveError> {
        let text = render(settings, enabled).map_err(|e| WriteError::Io {
            path: self.path.clone(),
            source: std::io::Error::other(e),
        })?;
        atomic_file::write(&self.path, &text, Perms::Keep)?;
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
        let (on_disk, _) = parse(&std::fs::read(dir.path().join("routing.json")).unwrap()).unwrap();
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

    #[test]
    fn the_proxy_switch_survives_a_restart_and_keeps_the_routing() {
        let dir = tempfile::tempdir().unwrap();
        let store = RoutingStore::open(dir.path());
        assert!(store.proxy_enabled(), "on by default");
        let s = RoutingSettings {
            scorer: Scorer::Speed,
            ..RoutingSettings::default()
        };
        store.set(s.clone()).unwrap();
        store.set_proxy_enabled(false).unwrap();
        let again = RoutingStore::open(dir.path());
        assert!(!again.proxy_enabled());
        assert_eq!(*again.get(), s);
        again.set(RoutingSettings::default()).unwrap();
        assert!(
            !RoutingStore::open(dir.path()).proxy_enabled(),
            "a routing change keeps the pause"
        );
        again.set_proxy_enabled(true).unwrap();
        assert!(RoutingStore::open(dir.path()).proxy_enabled());
    }

    #[test]
    fn a_file_from_before_the_switch_reads_as_on() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("routing.json"),
            r#"{"mode":"fullAuto","scorer":"speed"}"#,
        )
        .unwrap();
        let store = RoutingStore::open(dir.path());
        assert!(store.proxy_enabled());
        assert_eq!(store.get().scorer, Scorer::Speed);
    }
}
