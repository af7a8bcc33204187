//! What the tray's items do: the proxy switch, mode and scorer (the same
//! scheduler calls `/api/proxy` and `/api/routing` make), one-click agent
//! configure and restore (the same commands `/api/agents/{id}/…` run, on a
//! blocking thread, with the result as a notification), start at login,
//! and Quit (leaving agents as the user chose).

use std::sync::{Arc, Mutex};

use tauri::{AppHandle, Manager, Runtime};
use tokenbuddy::desktop::agents as desktop_agents;
use tokenbuddy::desktop::rate_limit::RateLimit;
use tokenbuddy::desktop::DesktopShell;
use tokenbuddy::scheduler::{RoutingMode, RoutingSettings};

use crate::core::{Core, Handles};
use crate::follow::{self, Poke};
use crate::tray::Action;

/// What actions need besides the core, kept as managed state.
pub struct Shared<R: Runtime> {
    /// Start at login.
    pub shell: Arc<crate::shell::Shell<R>>,
    /// Refresh the tray.
    pub poke: Poke,
    /// The notification limit (shared with the follower).
    pub limit: Arc<Mutex<RateLimit>>,
}

fn routing_change(h: &Handles, f: impl FnOnce(&mut RoutingSettings)) {
    let mut next = RoutingSettings::clone(&h.proxy.scheduler.routing.get());
    f(&mut next);
    if let Err(e) = h.proxy.scheduler.set_routing(next) {
        tracing::warn!("tray: cannot change routing: {e}");
    }
}

/// Runs `action`.
pub fn run<R: Runtime>(app: &AppHandle<R>, action: Action) {
    let Some(core) = app.try_state::<Core>() else {
        if action == Action::Quit {
            app.exit(0);
        }
        return;
    };
    let h = core.handles().clone();
    let Some(shared) = app.try_state::<Shared<R>>() else {
        return;
    };
    match action {
        Action::ToggleProxy => {
            let on = !h.proxy.scheduler.proxy_enabled();
            if let Err(e) = h.proxy.scheduler.set_proxy_enabled(on) {
                tracing::warn!("tray: cannot switch the proxy: {e}");
            }
        }
        Action::Mode(mode) => routing_change(&h, |r| r.mode = mode),
        Action::Fixed(seller) => routing_change(&h, |r| {
            r.mode = RoutingMode::Fixed;
            r.fixed_seller = Some(seller);
        }),
        Action::Scorer(scorer) => routing_change(&h, |r| r.scorer = scorer),
        Action::Open => crate::window::show(app),
        Action::ToggleAutostart => {
            let on = shared.shell.autostart() != Some(true);
            if let Err(e) = shared.shell.set_autostart(on) {
                tracing::warn!("tray: cannot change start at login: {e}");
            }
        }
        Action::Configure(id) => agent(app, &h, &shared, id, true),
        Action::Restore(id) => agent(app, &h, &shared, id, false),
        Action::Quit => quit(app, &h, &shared),
    }
    // Even a refused change should redraw the check items from the truth.
    shared.poke.poke();
}

fn agent<R: Runtime>(
    app: &AppHandle<R>,
    h: &Handles,
    shared: &Shared<R>,
    id: String,
    configure: bool,
) {
    let (app, h2, limit, poke) = (
        app.clone(),
        h.clone(),
        Arc::clone(&shared.limit),
        shared.poke.clone(),
    );
    h.runtime.spawn_blocking(move || {
        let done = if configure {
            desktop_agents::configure(&h2.agents, &id)
        } else {
            desktop_agents::restore(&h2.agents, &id)
        };
        let (title, body) = match (&done, configure) {
            (Ok(d), true) => (
                "Agent configured",
                format!("{id} now points at TokenBuddy ({})", d.path.display()),
            ),
            (Ok(d), false) => (
                "Agent restored",
                format!("{id}'s config is back as it was ({})", d.path.display()),
            ),
            (Err(e), _) => ("Agent not changed", format!("{id}: {e}")),
        };
        match &done {
            Ok(_) => tracing::info!(agent = %id, configure, "tray: agent changed"),
            Err(e) => tracing::warn!(agent = %id, "tray: {e}"),
        }
        follow::notify(&app, &h2, &limit, &format!("agent:{id}"), title, &body);
        poke.poke();
    });
}

/// Quit: with "put configured agents back" on, restores them (and marks
/// them for the next start); with it off and agents configured, warns once
/// (a notification, the first time only); then stops the core and exits 0.
fn quit<R: Runtime>(app: &AppHandle<R>, h: &Handles, shared: &Shared<R>) {
    let settings = h.desktop.settings.get();
    tracing::info!(restore_agents = settings.restore_agents_on_quit, "quitting");
    if settings.restore_agents_on_quit {
        let restored = desktop_agents::restore_all(&h.agents);
        if !restored.is_empty() {
            tracing::info!(agents = ?restored, "quit: configured agents put back; they are configured again at the next start");
        }
        if let Err(e) = h.desktop.settings.update(|s| s.reapply = restored) {
            tracing::warn!("quit: {e}");
        }
    } else if !settings.quit_warned {
        let configured = desktop_agents::configured(&h.agents);
        if !configured.is_empty() {
            follow::notify(
                app,
                h,
                &shared.limit,
                "quit",
                "Agents still point at TokenBuddy",
                &format!(
                    "{} will fail until TokenBuddy runs again. Turn on \"put configured agents back when TokenBuddy quits\" in the panel to avoid this.",
                    configured.join(", ")
                ),
            );
            if let Err(e) = h.desktop.settings.update(|s| s.quit_warned = true) {
                tracing::warn!("quit: {e}");
            }
        }
    }
    app.exit(0);
}

/// At start: configures again what the last quit put back.
pub fn reapply_at_start(h: &Handles) {
    let ids = h.desktop.settings.get().reapply.clone();
    if ids.is_empty() {
        return;
    }
    let h = h.clone();
    h.runtime.clone().spawn_blocking(move || {
        let done = desktop_agents::reapply(&h.agents, &ids);
        tracing::info!(agents = ?done, "configured again the agents the last quit put back");
        if let Err(e) = h.desktop.settings.update(|s| s.reapply.clear()) {
            tracing::warn!("{e}");
        }
    });
}
