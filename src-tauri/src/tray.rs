//! The tray icon and its menu: built from a [`Snapshot`], rebuilt whole
//! when the follower sees a change (a menu of a few dozen items; rebuilding
//! is simpler than patching and happens at most once a second), and what
//! each item does when clicked.

use tauri::image::Image;
use tauri::menu::{
    CheckMenuItemBuilder, IsMenuItem, Menu, MenuBuilder, MenuItemBuilder, SubmenuBuilder,
};
use tauri::tray::{MouseButton, MouseButtonState, TrayIcon, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Runtime};
use tokenbuddy::desktop::agents::Offer;
use tokenbuddy::desktop::status::{mode_label, scorer_label, TrayState};
use tokenbuddy::scheduler::{RoutingMode, Scorer};

use crate::snapshot::Snapshot;

/// The tray icon's id.
pub const TRAY: &str = "tokenbuddy";

/// A click in the menu, parsed from the item's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Flip the proxy switch.
    ToggleProxy,
    /// Full auto, or fixed set (keeping its sellers).
    Mode(RoutingMode),
    /// Fixed mode on this seller.
    Fixed(String),
    /// A scorer.
    Scorer(Scorer),
    /// Show the window.
    Open,
    /// Configure an agent.
    Configure(String),
    /// Restore an agent.
    Restore(String),
    /// Flip start at login.
    ToggleAutostart,
    /// Quit.
    Quit,
}

const SCORERS: [Scorer; 3] = [Scorer::Balanced, Scorer::Speed, Scorer::Discount];

fn scorer_id(s: Scorer) -> &'static str {
    match s {
        Scorer::Speed => "scorer:speed",
        Scorer::Discount => "scorer:discount",
        Scorer::Balanced => "scorer:balanced",
    }
}

impl Action {
    /// The action of a menu item id (`None`: an item that does nothing).
    pub fn parse(id: &str) -> Option<Action> {
        Some(match id {
            "proxy" => Action::ToggleProxy,
            "mode:fullAuto" => Action::Mode(RoutingMode::FullAuto),
            "mode:fixedSet" => Action::Mode(RoutingMode::FixedSet),
            "open" => Action::Open,
            "autostart" => Action::ToggleAutostart,
            "quit" => Action::Quit,
            _ => {
                if let Some(seller) = id.strip_prefix("fixed:") {
                    Action::Fixed(seller.to_string())
                } else if let Some(agent) = id.strip_prefix("configure:") {
                    Action::Configure(agent.to_string())
                } else if let Some(agent) = id.strip_prefix("restore:") {
                    Action::Restore(agent.to_string())
                } else {
                    let s = SCORERS.into_iter().find(|s| scorer_id(*s) == id)?;
                    Action::Scorer(s)
                }
            }
        })
    }
}

/// The icon for a state.
pub fn icon(state: TrayState) -> tauri::Result<Image<'static>> {
    let bytes: &[u8] = match state {
        TrayState::Serving => include_bytes!("../../icons/tray-serving.png"),
        TrayState::Paused => include_bytes!("../../icons/tray-paused.png"),
        TrayState::Degraded => include_bytes!("../../icons/tray-degraded.png"),
        TrayState::Error => include_bytes!("../../icons/tray-error.png"),
    };
    Image::from_bytes(bytes)
}

/// The menu for `s`.
pub fn menu<R: Runtime>(app: &AppHandle<R>, s: &Snapshot) -> tauri::Result<Menu<R>> {
    let status = MenuItemBuilder::with_id("status", &s.status.line)
        .enabled(false)
        .build(app)?;
    let proxy = CheckMenuItemBuilder::with_id("proxy", "Proxy enabled")
        .checked(s.enabled)
        .build(app)?;

    let mut mode = SubmenuBuilder::new(app, "Routing mode");
    mode = mode.item(
        &CheckMenuItemBuilder::with_id("mode:fullAuto", mode_label(RoutingMode::FullAuto))
            .checked(s.routing.mode == RoutingMode::FullAuto)
            .build(app)?,
    );
    if !s.routing.fixed_set.is_empty() {
        let label = format!(
            "{} ({})",
            mode_label(RoutingMode::FixedSet),
            s.routing.fixed_set.join(", ")
        );
        mode = mode.item(
            &CheckMenuItemBuilder::with_id("mode:fixedSet", label)
                .checked(s.routing.mode == RoutingMode::FixedSet)
                .build(app)?,
        );
    }
    for seller in &s.sellers {
        let on = s.routing.mode == RoutingMode::Fixed
            && s.routing.fixed_seller.as_deref() == Some(seller.as_str());
        mode = mode.item(
            &CheckMenuItemBuilder::with_id(format!("fixed:{seller}"), format!("Fixed: {seller}"))
                .checked(on)
                .build(app)?,
        );
    }
    let mode = mode.build()?;

    let mut scorer = SubmenuBuilder::new(app, "Scorer");
    for sc in SCORERS {
        scorer = scorer.item(
            &CheckMenuItemBuilder::with_id(scorer_id(sc), scorer_label(sc))
                .checked(s.routing.scorer == sc)
                .build(app)?,
        );
    }
    let scorer = scorer.build()?;

    let open = MenuItemBuilder::with_id("open", "Open control panel").build(app)?;

    let mut agents = SubmenuBuilder::new(app, "Configure agent");
    if s.agents.is_empty() {
        agents = agents.item(
            &MenuItemBuilder::with_id("agents:none", "No agent detected")
                .enabled(false)
                .build(app)?,
        );
    }
    for a in &s.agents {
        let (id, label, enabled) = match a.offer {
            Offer::Configure => (
                format!("configure:{}", a.id),
                format!("{} ({}) — configure", a.name, a.state),
                true,
            ),
            Offer::Restore => (
                format!("restore:{}", a.id),
                format!("{} ({}) — restore", a.name, a.state),
                true,
            ),
            Offer::Nothing => (
                format!("agent:{}", a.id),
                format!("{} ({})", a.name, a.state),
                false,
            ),
        };
        agents = agents.item(
            &MenuItemBuilder::with_id(id, label)
                .enabled(enabled)
                .build(app)?,
        );
    }
    let agents = agents.build()?;

    let autostart = CheckMenuItemBuilder::with_id("autostart", "Start at login")
        .checked(s.autostart == Some(true))
        .enabled(s.autostart.is_some())
        .build(app)?;
    let quit = MenuItemBuilder::with_id("quit", "Quit TokenBuddy").build(app)?;

    let items: [&dyn IsMenuItem<R>; 7] =
        [&status, &proxy, &mode, &scorer, &open, &agents, &autostart];
    MenuBuilder::new(app)
        .items(&items[..2])
        .separator()
        .items(&items[2..4])
        .separator()
        .items(&items[4..])
        .separator()
        .item(&quit)
        .build()
}

/// Creates the tray icon; clicks go to `on_action`.
pub fn create<R: Runtime>(
    app: &AppHandle<R>,
    s: &Snapshot,
    on_action: impl Fn(&AppHandle<R>, Action) + Send + Sync + 'static,
) -> tauri::Result<TrayIcon<R>> {
    TrayIconBuilder::with_id(TRAY)
        .icon(icon(s.status.state)?)
        .tooltip(&s.status.tooltip)
        .menu(&menu(app, s)?)
        // Linux shows the menu on any click (the platform gives no left
        // click); elsewhere a left click opens the window.
        .show_menu_on_left_click(false)
        .on_menu_event(move |app, event| {
            if let Some(action) = Action::parse(event.id().as_ref()) {
                on_action(app, action);
            }
        })
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
            {
                crate::window::show(tray.app_handle());
            }
        })
        .build(app)
}

/// Brings an existing tray icon up to date with `s`.
pub fn update<R: Runtime>(tray: &TrayIcon<R>, s: &Snapshot) -> tauri::Result<()> {
    let app = tray.app_handle();
    tray.set_menu(Some(menu(app, s)?))?;
    tray.set_icon(Some(icon(s.status.state)?))?;
    tray.set_tooltip(Some(&s.status.tooltip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_ids_parse_to_actions() {
        assert_eq!(Action::parse("proxy"), Some(Action::ToggleProxy));
        assert_eq!(
            Action::parse("scorer:speed"),
            Some(Action::Scorer(Scorer::Speed))
        );
        assert_eq!(
            Action::parse("fixed:demo-fast"),
            Some(Action::Fixed("demo-fast".into()))
        );
        assert_eq!(
            Action::parse("configure:codex"),
            Some(Action::Configure("codex".into()))
        );
        assert_eq!(
            Action::parse("restore:codex"),
            Some(Action::Restore("codex".into()))
        );
        assert_eq!(
            Action::parse("mode:fullAuto"),
            Some(Action::Mode(RoutingMode::FullAuto))
        );
        assert_eq!(Action::parse("status"), None);
        assert_eq!(Action::parse("agent:hermes"), None);
    }
}
