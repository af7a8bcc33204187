//! The tray icon and its menu: built from a [`Snapshot`], brought up to date
//! when the follower sees a change (at most once a second: items changed in
//! place, the menu rebuilt only when items come or go), and what each item
//! does when clicked.

use tauri::image::Image;
use tauri::menu::{
    CheckMenuItem, CheckMenuItemBuilder, IsMenuItem, Menu, MenuBuilder, MenuItem, MenuItemBuilder,
    SubmenuBuilder,
};
use tauri::tray::{MouseButton, MouseButtonState, TrayIcon, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Runtime};
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

/// One item as the snapshot wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    id: String,
    text: String,
    /// `Some`: a check item.
    check: Option<bool>,
    enabled: bool,
}

fn item(id: impl Into<String>, text: impl Into<String>, enabled: bool) -> Entry {
    Entry {
        id: id.into(),
        text: text.into(),
        check: None,
        enabled,
    }
}

fn check(id: impl Into<String>, text: impl Into<String>, on: bool) -> Entry {
    Entry {
        id: id.into(),
        text: text.into(),
        check: Some(on),
        enabled: true,
    }
}

/// The menu's items, by section, for `s`.
struct Plan {
    top: Vec<Entry>,
    mode: Vec<Entry>,
    scorer: Vec<Entry>,
    agents: Vec<Entry>,
    bottom: Vec<Entry>,
}

impl Plan {
    fn of(s: &Snapshot) -> Plan {
        let mut mode = vec![check(
            "mode:fullAuto",
            mode_label(RoutingMode::FullAuto),
            s.routing.mode == RoutingMode::FullAuto,
        )];
        if !s.routing.fixed_set.is_empty() {
            mode.push(check(
                "mode:fixedSet",
                format!(
                    "{} ({})",
                    mode_label(RoutingMode::FixedSet),
                    s.routing.fixed_set.join(", ")
                ),
                s.routing.mode == RoutingMode::FixedSet,
            ));
        }
        for seller in &s.sellers {
            let on = s.routing.mode == RoutingMode::Fixed
                && s.routing.fixed_seller.as_deref() == Some(seller.as_str());
            mode.push(check(
                format!("fixed:{seller}"),
                format!("Fixed: {seller}"),
                on,
            ));
        }
        let scorer = SCORERS
            .into_iter()
            .map(|sc| check(scorer_id(sc), scorer_label(sc), s.routing.scorer == sc))
            .collect();
        let mut agents: Vec<Entry> = s
            .agents
            .iter()
            .map(|a| match a.offer {
                Offer::Configure => item(
                    format!("configure:{}", a.id),
                    format!("{} ({}) — configure", a.name, a.state),
                    true,
                ),
                Offer::Restore => item(
                    format!("restore:{}", a.id),
                    format!("{} ({}) — restore", a.name, a.state),
                    true,
                ),
                Offer::Nothing => item(
                    format!("agent:{}", a.id),
                    format!("{} ({})", a.name, a.state),
                    false,
                ),
            })
            .collect();
        if agents.is_empty() {
            agents.push(item("agents:none", "No agent detected", false));
        }
        let mut autostart = check("autostart", "Start at login", s.autostart == Some(true));
        autostart.enabled = s.autostart.is_some();
        Plan {
            top: vec![
                item("status", &s.status.line, false),
                check("proxy", "Proxy enabled", s.enabled),
            ],
            mode,
            scorer,
            agents,
            bottom: vec![
                item("open", "Open control panel", true),
                autostart,
                item("quit", "Quit TokenBuddy", true),
            ],
        }
    }

    fn all(&self) -> impl Iterator<Item = &Entry> {
        self.top
            .iter()
            .chain(&self.mode)
            .chain(&self.scorer)
            .chain(&self.agents)
            .chain(&self.bottom)
    }
}

/// A built item, to change in place.
enum Handle<R: Runtime> {
    Item(MenuItem<R>),
    Check(CheckMenuItem<R>),
}

impl<R: Runtime> Handle<R> {
    fn build(app: &AppHandle<R>, e: &Entry) -> tauri::Result<Handle<R>> {
        Ok(match e.check {
            Some(on) => Handle::Check(
                CheckMenuItemBuilder::with_id(&e.id, &e.text)
                    .checked(on)
                    .enabled(e.enabled)
                    .build(app)?,
            ),
            None => Handle::Item(
                MenuItemBuilder::with_id(&e.id, &e.text)
                    .enabled(e.enabled)
                    .build(app)?,
            ),
        })
    }

    fn as_item(&self) -> &dyn IsMenuItem<R> {
        match self {
            Handle::Item(i) => i,
            Handle::Check(c) => c,
        }
    }

    fn set(&self, e: &Entry) -> tauri::Result<()> {
        match self {
            Handle::Item(i) => {
                i.set_text(&e.text)?;
                i.set_enabled(e.enabled)
            }
            Handle::Check(c) => {
                c.set_text(&e.text)?;
                c.set_enabled(e.enabled)?;
                c.set_checked(e.check == Some(true))
            }
        }
    }
}

/// The menu on the tray and its items, so an update changes them in place
/// (a menu replaced while open would drop the click the user is making).
pub struct Built<R: Runtime> {
    ids: Vec<String>,
    handles: Vec<Handle<R>>,
}

/// Builds the menu for `s`.
pub fn menu<R: Runtime>(app: &AppHandle<R>, s: &Snapshot) -> tauri::Result<(Menu<R>, Built<R>)> {
    let plan = Plan::of(s);
    let build = |entries: &[Entry]| -> tauri::Result<Vec<Handle<R>>> {
        entries.iter().map(|e| Handle::build(app, e)).collect()
    };
    let (top, mode, scorer, agents, bottom) = (
        build(&plan.top)?,
        build(&plan.mode)?,
        build(&plan.scorer)?,
        build(&plan.agents)?,
        build(&plan.bottom)?,
    );
    let mode_menu = SubmenuBuilder::new(app, "Routing mode")
        .items(&refs(&mode))
        .build()?;
    let scorer_menu = SubmenuBuilder::new(app, "Scorer")
        .items(&refs(&scorer))
        .build()?;
    let agents_menu = SubmenuBuilder::new(app, "Configure agent")
        .items(&refs(&agents))
        .build()?;
    let menu = MenuBuilder::new(app)
        .items(&refs(&top))
        .separator()
        .item(&mode_menu)
        .item(&scorer_menu)
        .separator()
        .item(bottom[0].as_item())
        .item(&agents_menu)
        .item(bottom[1].as_item())
        .separator()
        .item(bottom[2].as_item())
        .build()?;
    let ids = plan.all().map(|e| e.id.clone()).collect();
    let handles = [top, mode, scorer, agents, bottom]
        .into_iter()
        .flatten()
        .collect();
    Ok((menu, Built { ids, handles }))
}

fn refs<R: Runtime>(hs: &[Handle<R>]) -> Vec<&dyn IsMenuItem<R>> {
    hs.iter().map(Handle::as_item).collect()
}

/// The built menu, kept as managed state.
pub struct TrayMenu<R: Runtime>(pub std::sync::Mutex<Option<Built<R>>>);

/// Creates the tray icon; clicks go to `on_action`.
pub fn create<R: Runtime>(
    app: &AppHandle<R>,
    s: &Snapshot,
    on_action: impl Fn(&AppHandle<R>, Action) + Send + Sync + 'static,
) -> tauri::Result<TrayIcon<R>> {
    let (menu, built) = menu(app, s)?;
    let tray = TrayIconBuilder::with_id(TRAY)
        .icon(icon(s.status.state)?)
        .tooltip(&s.status.tooltip)
        .menu(&menu)
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
        .build(app)?;
    app.manage(TrayMenu(std::sync::Mutex::new(Some(built))));
    Ok(tray)
}

/// Brings the tray up to date with `s`: items changed in place while the
/// menu keeps its shape, the menu rebuilt when items come or go.
pub fn update<R: Runtime>(tray: &TrayIcon<R>, s: &Snapshot) -> tauri::Result<()> {
    let app = tray.app_handle();
    let plan = Plan::of(s);
    let ids: Vec<String> = plan.all().map(|e| e.id.clone()).collect();
    if let Some(state) = app.try_state::<TrayMenu<R>>() {
        let mut built = state.0.lock().unwrap_or_else(|p| p.into_inner());
        match built.as_ref() {
            Some(b) if b.ids == ids => {
                for (h, e) in b.handles.iter().zip(plan.all()) {
                    h.set(e)?;
                }
            }
            _ => {
                let (menu, fresh) = menu(app, s)?;
                tray.set_menu(Some(menu))?;
                *built = Some(fresh);
            }
        }
    }
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
