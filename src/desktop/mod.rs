//! What the core knows about a desktop shell around it: the hook the shell
//! registers ([`DesktopShell`], for autostart), the desktop settings kept in
//! `<data dir>/desktop.json`, and the pure pieces the tray uses (status
//! line, notification rate limit, agent commands in-process). The headless
//! `serve` registers no shell, so `/api/desktop` says `present: false`.

pub mod agents;
pub mod rate_limit;
pub mod settings;
pub mod status;

use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};

pub use settings::{DesktopSettings, DesktopStore};

/// What the desktop shell lets the core (and so the panel) reach.
pub trait DesktopShell: Send + Sync {
    /// Whether the app starts at login (`None`: unknown, e.g. the check failed).
    fn autostart(&self) -> Option<bool>;
    /// Turns start-at-login on or off; the error says what went wrong.
    fn set_autostart(&self, on: bool) -> Result<(), String>;
}

/// The desktop side of one running core: the shell (once registered) and
/// the settings.
pub struct Desktop {
    shell: OnceLock<Arc<dyn DesktopShell>>,
    /// The persisted desktop settings.
    pub settings: DesktopStore,
}

impl std::fmt::Debug for Desktop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Desktop")
            .field("present", &self.shell.get().is_some())
            .finish_non_exhaustive()
    }
}

/// `GET /api/desktop` and the answer of `PUT`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DesktopView {
    /// Whether a desktop shell runs this core (false in headless `serve`).
    pub present: bool,
    /// Start at login (`null` without a shell or when unknown).
    pub autostart: Option<bool>,
    /// Desktop notifications on.
    pub notifications: bool,
    /// When TokenBuddy quits, put configured agents back.
    pub restore_agents_on_quit: bool,
}

/// `PUT /api/desktop`: any subset of the switches.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DesktopChange {
    /// Start at login (needs a shell).
    pub autostart: Option<bool>,
    /// Desktop notifications.
    pub notifications: Option<bool>,
    /// Restore configured agents on quit.
    pub restore_agents_on_quit: Option<bool>,
}

/// Why a desktop change was refused.
#[derive(Debug, thiserror::Error)]
pub enum DesktopError {
    /// Autostart asked of a headless core.
    #[error("no desktop app runs this TokenBuddy: start at login is set from the desktop app")]
    NoShell,
    /// The shell could not change autostart.
    #[error("cannot change start at login: {0}")]
    Autostart(String),
    /// The settings file could not be written.
    #[error(transparent)]
    Save(#[from] settings::SaveError),
}

impl Desktop {
    /// Opens `<data_dir>/desktop.json`; no shell yet.
    pub fn open(data_dir: &std::path::Path) -> Desktop {
        Desktop {
            shell: OnceLock::new(),
            settings: DesktopStore::open(data_dir),
        }
    }

    /// Registers the shell (the first registration wins).
    pub fn register(&self, shell: Arc<dyn DesktopShell>) {
        if self.shell.set(shell).is_err() {
            tracing::warn!("a desktop shell was already registered; the second is ignored");
        }
    }

    /// The registered shell.
    pub fn shell(&self) -> Option<&Arc<dyn DesktopShell>> {
        self.shell.get()
    }

    /// What `/api/desktop` shows.
    pub fn view(&self) -> DesktopView {
        let s = self.settings.get();
        DesktopView {
            present: self.shell.get().is_some(),
            autostart: self.shell.get().and_then(|sh| sh.autostart()),
            notifications: s.notifications,
            restore_agents_on_quit: s.restore_agents_on_quit,
        }
    }

    /// Applies `change`: autostart through the shell, the rest saved.
    pub fn apply(&self, change: &DesktopChange) -> Result<DesktopView, DesktopError> {
        if let Some(on) = change.autostart {
            let shell = self.shell.get().ok_or(DesktopError::NoShell)?;
            shell.set_autostart(on).map_err(DesktopError::Autostart)?;
        }
        if change.notifications.is_some() || change.restore_agents_on_quit.is_some() {
            self.settings.update(|s| {
                if let Some(on) = change.notifications {
                    s.notifications = on;
                }
                if let Some(on) = change.restore_agents_on_quit {
                    s.restore_agents_on_quit = on;
                }
            })?;
        }
        Ok(self.view())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    struct FakeShell(AtomicBool);
    impl DesktopShell for FakeShell {
        fn autostart(&self) -> Option<bool> {
            Some(self.0.load(Ordering::SeqCst))
        }
        fn set_autostart(&self, on: bool) -> Result<(), String> {
            self.0.store(on, Ordering::SeqCst);
            Ok(())
        }
    }

    #[test]
    fn headless_has_no_autostart_and_refuses_to_set_it() {
        let dir = tempfile::tempdir().unwrap();
        let d = Desktop::open(dir.path());
        let v = d.view();
        assert!(!v.present);
        assert_eq!(v.autostart, None);
        assert!(v.notifications);
        assert!(!v.restore_agents_on_quit);
        let change = DesktopChange {
            autostart: Some(true),
            ..DesktopChange::default()
        };
        assert!(matches!(d.apply(&change), Err(DesktopError::NoShell)));
        let json = serde_json::to_value(d.view()).unwrap();
        assert_eq!(json["restoreAgentsOnQuit"], false);
    }

    #[test]
    fn a_shell_sets_autostart_and_settings_persist() {
        let dir = tempfile::tempdir().unwrap();
        let d = Desktop::open(dir.path());
        d.register(Arc::new(FakeShell(AtomicBool::new(false))));
        let v = d
            .apply(&DesktopChange {
                autostart: Some(true),
                notifications: Some(false),
                restore_agents_on_quit: Some(true),
            })
            .unwrap();
        assert!(v.present);
        assert_eq!(v.autostart, Some(true));
        let again = Desktop::open(dir.path()).view();
        assert!(!again.notifications);
        assert!(again.restore_agents_on_quit);
    }
}
