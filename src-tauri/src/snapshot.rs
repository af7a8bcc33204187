//! What the tray shows, gathered from the core in one go: the status (from
//! the core's pure `desktop::status`), the switches, the sellers for
//! "Routing mode ▸", and the detected agents with what a click does.
//! Gathering reads agents' config files: call it off the UI thread.

use std::time::{Instant, SystemTime};

use tokenbuddy::agents::detect::AgentReport;
use tokenbuddy::desktop::agents::{self as desktop_agents, Offer};
use tokenbuddy::desktop::status::{self, Status, StatusInput};
use tokenbuddy::scheduler::RoutingSettings;

use crate::core::Handles;

/// One agent in "Configure agent ▸".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentItem {
    /// The agent's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its state, in words.
    pub state: &'static str,
    /// What a click does.
    pub offer: Offer,
}

/// Everything the menu is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Icon, status line, tooltip.
    pub status: Status,
    /// The proxy switch.
    pub enabled: bool,
    /// Mode and scorer.
    pub routing: RoutingSettings,
    /// Seller ids (for "Fixed: <seller>").
    pub sellers: Vec<String>,
    /// Detected agents.
    pub agents: Vec<AgentItem>,
    /// Start at login (`None`: unknown).
    pub autostart: Option<bool>,
}

/// What the follower knows about traffic that the core does not keep at hand.
#[derive(Debug, Clone, Default)]
pub struct Traffic {
    /// Tokens in the last minute.
    pub tokens_per_min: u64,
    /// The seller of the latest request.
    pub serving_now: Option<String>,
}

/// Whether a seller takes requests now: circuit not open, no cooldown,
/// credits not spent.
fn healthy(
    h: &Handles,
    id: &tokenbuddy::sellers::SellerId,
    now: Instant,
    wall: SystemTime,
) -> bool {
    let stats = h.proxy.pool.stats(id);
    stats.circuit(now) != "open"
        && stats.cooldown(now, wall).is_none()
        && !h
            .proxy
            .store
            .credit(id.as_str())
            .is_some_and(|c| c.exhausted())
}

/// The detected agents and what a click does (reads config files).
pub fn agent_items(h: &Handles) -> Vec<AgentItem> {
    let journaled = desktop_agents::configured(&h.agents);
    desktop_agents::list(&h.agents)
        .into_iter()
        .filter(|a: &AgentReport| {
            a.installed || a.config_exists || journaled.iter().any(|j| j == a.id)
        })
        .map(|a| AgentItem {
            id: a.id.to_string(),
            name: a.name.to_string(),
            state: desktop_agents::state_label(a.state),
            offer: desktop_agents::offer(a.state, journaled.iter().any(|j| j == a.id)),
        })
        .collect()
}

/// Reads the core now; `agents` reuses a list read lately (`None`: read it).
pub fn gather(
    h: &Handles,
    traffic: &Traffic,
    autostart: Option<bool>,
    agents: Option<Vec<AgentItem>>,
) -> Snapshot {
    let now = h.proxy.clock.now();
    let wall = h.proxy.clock.wall();
    let set = h.proxy.sellers.snapshot();
    let sellers: Vec<String> = set.sellers.iter().map(|s| s.id.to_string()).collect();
    let healthy = set
        .sellers
        .iter()
        .filter(|s| healthy(h, &s.id, now, wall))
        .count();
    let routing = RoutingSettings::clone(&h.proxy.scheduler.routing.get());
    let enabled = h.proxy.scheduler.proxy_enabled();
    let status = status::status(&StatusInput {
        running: true,
        enabled,
        healthy,
        total: sellers.len(),
        tokens_per_min: traffic.tokens_per_min,
        mode: routing.mode,
        scorer: routing.scorer,
        serving_now: traffic.serving_now.clone(),
    });
    Snapshot {
        status,
        enabled,
        routing,
        sellers,
        agents: agents.unwrap_or_else(|| agent_items(h)),
        autostart,
    }
}

impl Snapshot {
    /// One line for `TOKENBUDDY_DESKTOP_TRACE_MENU=1` (tests read it).
    pub fn trace(&self) -> String {
        let agents: Vec<String> = self
            .agents
            .iter()
            .map(|a| format!("{}={}", a.id, a.state.replace(' ', "-")))
            .collect();
        format!(
            "tray menu: proxy={} mode={} scorer={} autostart={} status={:?} agents=[{}]",
            if self.enabled { "on" } else { "off" },
            serde_json::to_value(self.routing.mode)
                .unwrap_or_default()
                .as_str()
                .unwrap_or("?"),
            serde_json::to_value(self.routing.scorer)
                .unwrap_or_default()
                .as_str()
                .unwrap_or("?"),
            match self.autostart {
                Some(true) => "on",
                Some(false) => "off",
                None => "unknown",
            },
            self.status.line,
            agents.join(","),
        )
    }
}
