//! TokenBuddy's desktop shell: a tray app around the core. The core starts
//! on a background runtime inside `setup()` (after the single-instance
//! check) and serves as long as the app runs; the tray shows its state and
//! drives it in-process; the window is the control panel from the core's own
//! URL. Closing the window closes it for real — its WebKit processes end,
//! so a closed panel costs no memory — and the app lives on in the tray
//! ("Open control panel" builds it again). Without a tray host the window
//! opens instead and closing it quits. `run_app` takes the builder so a test can pass a
//! mock one.

mod actions;
mod core;
mod follow;
mod shell;
mod snapshot;
mod tray;
mod tray_host;
mod web_locale;
mod window;

use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use tauri::{AppHandle, Builder, Manager, RunEvent, Runtime};
use tokenbuddy::desktop::rate_limit::RateLimit;
use tokenbuddy::desktop::DesktopShell;

use crate::core::Core;
use crate::snapshot::Traffic;

/// Whether the tray icon exists (else closing the window quits).
struct HasTray(bool);

/// The flag a login start passes (the autostart entry's argument).
pub const HIDDEN: &str = "--hidden";

/// Runs the desktop app until it quits.
pub fn run() -> ExitCode {
    tokenbuddy::logging::init();
    run_app(Builder::default())
}

fn has_tray<R: Runtime>(app: &AppHandle<R>) -> bool {
    app.try_state::<HasTray>().is_some_and(|t| t.0)
}

/// Starts the core, the tray and (unless `hidden` with a tray) the window.
fn setup<R: Runtime>(app: &AppHandle<R>, hidden: bool) -> Result<(), Box<dyn std::error::Error>> {
    let core = match Core::start() {
        Ok(core) => core,
        Err(message) => {
            eprintln!("tokenbuddy: {message}");
            tracing::error!("TokenBuddy could not start: {message}");
            window::show_start_error(app, &message)?;
            return Ok(());
        }
    };
    let h = core.handles().clone();
    let url = core.panel_url().to_string();
    app.manage(core);

    let (poke, pokes) = follow::poke();
    let shell = Arc::new(shell::Shell::new(app.clone(), poke.clone()));
    h.desktop
        .register(Arc::clone(&shell) as Arc<dyn DesktopShell>);
    let limit = Arc::new(Mutex::new(RateLimit::default()));
    app.manage(actions::Shared {
        shell: Arc::clone(&shell),
        poke,
        limit: Arc::clone(&limit),
    });
    actions::reapply_at_start(&h);

    // The follower first, so no notice raised while the tray and window come up is missed.
    let autostart_shell = Arc::clone(&shell);
    let app2 = app.clone();
    follow::spawn(
        app.clone(),
        h.clone(),
        pokes,
        Arc::clone(&limit),
        move || autostart_shell.autostart(),
        move |snap| {
            let Some(icon) = app2.tray_by_id(tray::TRAY) else {
                return false;
            };
            if let Err(e) = tray::update(&icon, snap) {
                tracing::warn!("cannot update the tray: {e}");
            }
            true
        },
    );
    let tray = if tray_host::present() {
        let first = snapshot::gather(&h, &Traffic::default(), shell.autostart(), None);
        match tray::create(app, &first, actions::run) {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!("cannot create the tray icon ({e}); the window stays open instead");
                false
            }
        }
    } else {
        tracing::warn!("no tray host (no StatusNotifierWatcher, no system tray): TokenBuddy keeps serving and shows its window; closing it quits");
        eprintln!("tokenbuddy: no tray host found; showing the window instead");
        false
    };
    app.manage(HasTray(tray));
    if !hidden || !tray {
        window::show_panel(app, &url)?;
    }

    Ok(())
}

/// Runs the app built from `builder`.
pub fn run_app<R: Runtime>(builder: Builder<R>) -> ExitCode {
    let hidden = std::env::args().skip(1).any(|a| a == HIDDEN);
    let app = builder
        // First, so a second launch hands over before it binds anything.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            window::show(app);
        }))
        .plugin(
            tauri_plugin_autostart::Builder::new()
                .args([HIDDEN])
                .build(),
        )
        .plugin(tauri_plugin_notification::init())
        .plugin(
            tauri_plugin_window_state::Builder::new()
                // A window hidden at quit must not come back hidden.
                .with_state_flags(
                    tauri_plugin_window_state::StateFlags::all()
                        - tauri_plugin_window_state::StateFlags::VISIBLE,
                )
                .with_denylist(&["boot"])
                .build(),
        )
        .setup(move |app| setup(app.handle(), hidden))
        .build(tauri::generate_context!("../tauri.conf.json"));
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            eprintln!("tokenbuddy: cannot start the desktop app: {e}");
            return ExitCode::FAILURE;
        }
    };
    app.run(|handle, event| match event {
        // The last window went away: with a tray the app lives on.
        RunEvent::ExitRequested {
            api, code: None, ..
        } if has_tray(handle) => api.prevent_exit(),
        RunEvent::Exit => {
            if let Some(core) = handle.try_state::<Core>() {
                core.stop();
            }
        }
        _ => {}
    });
    ExitCode::SUCCESS
}
