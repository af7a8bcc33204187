//! The main window: the control panel, loaded from the core's own URL so it
//! talks to `/api` without a second origin. Created on each show after a
//! close (closing destroys it and its WebKit processes: hidden, it would
//! keep its web process — about 350 MB — and a running page); the core keeps serving either way; the
//! window-state plugin keeps its position and size.

use tauri::{AppHandle, Manager, Runtime, WebviewUrl, WebviewWindowBuilder};

use crate::core::Core;

/// The main window's label.
pub const MAIN: &str = "main";

/// Opens (or shows and focuses) the control panel at `url`.
pub fn show_panel<R: Runtime>(app: &AppHandle<R>, url: &str) -> tauri::Result<()> {
    if let Some(window) = app.get_webview_window(MAIN) {
        window.show()?;
        window.unminimize()?;
        return window.set_focus();
    }
    let url = tauri::Url::parse(url).map_err(tauri::Error::InvalidUrl)?;
    WebviewWindowBuilder::new(app, MAIN, WebviewUrl::External(url))
        .title("TokenBuddy")
        .inner_size(1100.0, 720.0)
        .min_inner_size(640.0, 420.0)
        .initialization_script(crate::web_locale::SCRIPT)
        .build()?;
    Ok(())
}

/// Shows the panel of the running core (a no-op if the core did not start).
pub fn show<R: Runtime>(app: &AppHandle<R>) {
    let Some(core) = app.try_state::<Core>() else {
        return;
    };
    if let Err(e) = show_panel(app, core.panel_url()) {
        tracing::warn!("cannot show the control panel: {e}");
    }
}

/// Shows why the core did not start, in a window of its own.
pub fn show_start_error<R: Runtime>(app: &AppHandle<R>, message: &str) -> tauri::Result<()> {
    let encoded: String = message
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    let path = format!("index.html#error={encoded}").into();
    WebviewWindowBuilder::new(app, "boot", WebviewUrl::App(path))
        .title("TokenBuddy")
        .inner_size(720.0, 360.0)
        .build()?;
    Ok(())
}
