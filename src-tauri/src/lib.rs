//! TokenBuddy's desktop shell: starts the core on a background runtime and
//! shows the control panel. `run_app` takes the builder so a test can pass a
//! mock one. (Tray, autostart and single-instance come with the Desktop
//! shell issue.)

mod core;
mod window;

use std::process::ExitCode;

use tauri::{Builder, Manager, RunEvent, Runtime};

use crate::core::Core;

/// Runs the desktop app until it quits.
pub fn run() -> ExitCode {
    tokenbuddy::logging::init();
    run_app(Builder::default())
}

/// Runs the app built from `builder`.
pub fn run_app<R: Runtime>(builder: Builder<R>) -> ExitCode {
    let app = builder
        .setup(|app| {
            match Core::start() {
                Ok(core) => {
                    window::show_panel(app.handle(), core.panel_url())?;
                    app.manage(core);
                }
                Err(message) => {
                    eprintln!("tokenbuddy: {message}");
                    tracing::error!("TokenBuddy could not start: {message}");
                    window::show_start_error(app.handle(), &message)?;
                }
            }
            Ok(())
        })
        .build(tauri::generate_context!("../tauri.conf.json"));
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            eprintln!("tokenbuddy: cannot start the desktop app: {e}");
            return ExitCode::FAILURE;
        }
    };
    app.run(|handle, event| {
        if let RunEvent::Exit = event {
            if let Some(core) = handle.try_state::<Core>() {
                core.stop();
            }
        }
    });
    ExitCode::SUCCESS
}
