//! The tray's agent commands, in-process: the same detection, configure
//! and restore the `/api/agents` handlers run (through
//! [`crate::agents::commands`]), plus what Quit and the next start do when
//! "put configured agents back" is on. Blocking file work: call it off the
//! async runtime's workers.

use crate::agents::commands::{self, CommandError, Done};
use crate::agents::detect::AgentReport;
use crate::agents::state::State;
use crate::control::agents::AgentsApi;

/// Every known agent and its state, as `GET /api/agents` reports them.
pub fn list(api: &AgentsApi) -> Vec<AgentReport> {
    api.report().unwrap_or_else(|e| {
        tracing::warn!("cannot list the agents: {e}");
        Vec::new()
    })
}

/// Points agent `id` at this TokenBuddy with its default model.
pub fn configure(api: &AgentsApi, id: &str) -> Result<Done, CommandError> {
    api.configure(id, None, false)
}

/// Puts agent `id`'s config back.
pub fn restore(api: &AgentsApi, id: &str) -> Result<Done, CommandError> {
    api.restore(id, false)
}

/// Whether the tray offers configure, restore, or only shows the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// Click configures.
    Configure,
    /// Configured by TokenBuddy: click restores.
    Restore,
    /// Nothing to click (guide-only, policy, unreadable, not installed).
    Nothing,
}

/// What the tray offers for an agent in `state`, with `journaled` telling
/// whether TokenBuddy configured it (so there is something to restore).
pub fn offer(state: State, journaled: bool) -> Offer {
    match state {
        State::Configured | State::Drifted if journaled => Offer::Restore,
        State::NotConfigured | State::Stale | State::Drifted => Offer::Configure,
        _ => Offer::Nothing,
    }
}

/// The state as a short label for the menu.
pub fn state_label(state: State) -> &'static str {
    match state {
        State::NotConfigured => "not configured",
        State::Configured => "configured",
        State::Stale => "points at another TokenBuddy",
        State::Drifted => "drifted",
        State::Policy => "managed by policy",
        State::Unreadable => "config unreadable",
        State::Guide => "set up by hand",
    }
}

/// The agents TokenBuddy has configured (from its journal).
pub fn configured(api: &AgentsApi) -> Vec<String> {
    commands::configured_ids(&api.data_dir).unwrap_or_else(|e| {
        tracing::warn!("cannot read the agents journal: {e}");
        Vec::new()
    })
}

/// Restores every agent TokenBuddy configured; answers the ids restored.
pub fn restore_all(api: &AgentsApi) -> Vec<String> {
    let mut restored = Vec::new();
    for id in configured(api) {
        match restore(api, &id) {
            Ok(_) => restored.push(id),
            Err(e) => tracing::warn!(agent = %id, "could not put the agent back on quit: {e}"),
        }
    }
    restored
}

/// Configures `ids` again (what the last quit put back); answers those done.
pub fn reapply(api: &AgentsApi, ids: &[String]) -> Vec<String> {
    let mut done = Vec::new();
    for id in ids {
        match configure(api, id) {
            Ok(_) => done.push(id.clone()),
            Err(e) => {
                tracing::warn!(agent = %id, "could not configure the agent again at start: {e}")
            }
        }
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offers_follow_the_state_and_the_journal() {
        assert_eq!(offer(State::NotConfigured, false), Offer::Configure);
        assert_eq!(offer(State::Configured, true), Offer::Restore);
        assert_eq!(offer(State::Configured, false), Offer::Nothing);
        assert_eq!(offer(State::Drifted, true), Offer::Restore);
        assert_eq!(offer(State::Stale, false), Offer::Configure);
        assert_eq!(offer(State::Guide, false), Offer::Nothing);
        assert_eq!(offer(State::Policy, false), Offer::Nothing);
    }
}
