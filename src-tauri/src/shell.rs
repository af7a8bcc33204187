//! The shell's side of the core's [`DesktopShell`] hook: start at login
//! through the autostart plugin (an XDG autostart entry on Linux, a
//! LaunchAgent on macOS, a Run key on Windows), so the panel's switch and
//! the tray's check item change the same thing.

use tauri::{AppHandle, Runtime};
use tauri_plugin_autostart::ManagerExt;
use tokenbuddy::desktop::DesktopShell;

use crate::follow::Poke;

/// The hook the shell registers in the core.
pub struct Shell<R: Runtime> {
    app: AppHandle<R>,
    poke: Poke,
}

impl<R: Runtime> Shell<R> {
    /// The hook for `app`; a change pokes the tray.
    pub fn new(app: AppHandle<R>, poke: Poke) -> Self {
        Shell { app, poke }
    }
}

impl<R: Runtime> DesktopShell for Shell<R> {
    fn autostart(&self) -> Option<bool> {
        match self.app.autolaunch().is_enabled() {
            Ok(on) => Some(on),
            Err(e) => {
                tracing::warn!("cannot tell whether TokenBuddy starts at login: {e}");
                None
            }
        }
    }

    fn set_autostart(&self, on: bool) -> Result<(), String> {
        let manager = self.app.autolaunch();
        let done = if on {
            manager.enable()
        } else {
            manager.disable()
        };
        self.poke.poke();
        done.map_err(|e| e.to_string())?;
        tracing::info!(on, "start at login switched");
        Ok(())
    }
}
