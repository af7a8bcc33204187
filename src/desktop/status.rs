//! What the tray shows: the state (serving, paused, degraded, error), the
//! menu's status line and the tooltip, from a plain snapshot; and the
//! tokens-per-minute window fed by finished requests. Pure.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::scheduler::{RoutingMode, Scorer};

/// The window tokens/min is measured over.
pub const RATE_WINDOW: Duration = Duration::from_secs(60);

/// The tray icon's look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrayState {
    /// On, every seller healthy.
    Serving,
    /// The proxy switch is off.
    Paused,
    /// On, some seller down or out of credits.
    Degraded,
    /// The core is not running.
    Error,
}

/// What the status is computed from.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusInput {
    /// Whether the core runs (false: it failed to start).
    pub running: bool,
    /// The proxy switch.
    pub enabled: bool,
    /// Sellers taking requests now.
    pub healthy: usize,
    /// Sellers in the file.
    pub total: usize,
    /// Output + input tokens in the last minute.
    pub tokens_per_min: u64,
    /// Routing mode.
    pub mode: RoutingMode,
    /// Scorer.
    pub scorer: Scorer,
    /// The seller that served the last request, if any did lately.
    pub serving_now: Option<String>,
}

/// The tray's look and words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The icon.
    pub state: TrayState,
    /// The menu's first line.
    pub line: String,
    /// The tooltip.
    pub tooltip: String,
}

/// `1234` → `1.2k`, `2_500_000` → `2.5M`.
pub fn compact(n: u64) -> String {
    match n {
        0..=999 => n.to_string(),
        1_000..=999_999 => format!("{:.1}k", n as f64 / 1e3),
        _ => format!("{:.1}M", n as f64 / 1e6),
    }
}

/// The mode as the menu names it.
pub fn mode_label(mode: RoutingMode) -> &'static str {
    match mode {
        RoutingMode::Fixed => "Fixed seller",
        RoutingMode::FixedSet => "Fixed set",
        RoutingMode::FullAuto => "Full auto",
    }
}

/// The scorer as the menu names it.
pub fn scorer_label(scorer: Scorer) -> &'static str {
    match scorer {
        Scorer::Speed => "Speed",
        Scorer::Discount => "Discount",
        Scorer::Balanced => "Balanced",
    }
}

/// The state, status line and tooltip for `input`.
pub fn status(input: &StatusInput) -> Status {
    if !input.running {
        return Status {
            state: TrayState::Error,
            line: "Error · the core is not running".into(),
            tooltip: "TokenBuddy: the core is not running".into(),
        };
    }
    let sellers = format!("{}/{} sellers", input.healthy, input.total);
    let (state, line) = if !input.enabled {
        (TrayState::Paused, format!("Paused · {sellers}"))
    } else if input.healthy < input.total || input.total == 0 {
        (TrayState::Degraded, format!("Degraded · {sellers} healthy"))
    } else {
        (
            TrayState::Serving,
            format!(
                "Serving · {sellers} · {} tokens/min",
                compact(input.tokens_per_min)
            ),
        )
    };
    let tooltip = format!(
        "TokenBuddy · {} · {} · {} healthy · serving now: {}",
        mode_label(input.mode),
        scorer_label(input.scorer),
        sellers,
        input.serving_now.as_deref().unwrap_or("none"),
    );
    Status {
        state,
        line,
        tooltip,
    }
}

/// Tokens of requests finished in the last [`RATE_WINDOW`].
#[derive(Debug, Default)]
pub struct TokenRate {
    seen: VecDeque<(Instant, u64)>,
}

impl TokenRate {
    /// Counts `tokens` finished at `at`.
    pub fn add(&mut self, at: Instant, tokens: u64) {
        self.seen.push_back((at, tokens));
        self.trim(at);
    }

    /// Tokens in the window ending at `now`.
    pub fn per_minute(&mut self, now: Instant) -> u64 {
        self.trim(now);
        self.seen.iter().map(|(_, t)| t).sum()
    }

    fn trim(&mut self, now: Instant) {
        while self
            .seen
            .front()
            .is_some_and(|(t, _)| now.saturating_duration_since(*t) >= RATE_WINDOW)
        {
            self.seen.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> StatusInput {
        StatusInput {
            running: true,
            enabled: true,
            healthy: 3,
            total: 3,
            tokens_per_min: 1234,
            mode: RoutingMode::FullAuto,
            scorer: Scorer::Balanced,
            serving_now: Some("demo-fast".into()),
        }
    }

    #[test]
    fn serving_paused_degraded_error() {
        let s = status(&input());
        assert_eq!(s.state, TrayState::Serving);
        assert_eq!(s.line, "Serving · 3/3 sellers · 1.2k tokens/min");
        assert!(s.tooltip.contains("Full auto · Balanced"), "{}", s.tooltip);
        assert!(s.tooltip.contains("serving now: demo-fast"));
        let paused = status(&StatusInput {
            enabled: false,
            ..input()
        });
        assert_eq!(paused.state, TrayState::Paused);
        assert!(paused.line.starts_with("Paused"));
        let degraded = status(&StatusInput {
            healthy: 2,
            ..input()
        });
        assert_eq!(degraded.state, TrayState::Degraded);
        assert_eq!(degraded.line, "Degraded · 2/3 sellers healthy");
        let error = status(&StatusInput {
            running: false,
            ..input()
        });
        assert_eq!(error.state, TrayState::Error);
    }

    #[test]
    fn compact_numbers() {
        assert_eq!(compact(999), "999");
        assert_eq!(compact(1_200), "1.2k");
        assert_eq!(compact(2_500_000), "2.5M");
    }

    #[test]
    fn the_rate_forgets_after_a_minute() {
        let t0 = Instant::now();
        let mut r = TokenRate::default();
        r.add(t0, 100);
        r.add(t0 + Duration::from_secs(30), 50);
        assert_eq!(r.per_minute(t0 + Duration::from_secs(59)), 150);
        assert_eq!(r.per_minute(t0 + Duration::from_secs(61)), 50);
        assert_eq!(r.per_minute(t0 + Duration::from_secs(91)), 0);
    }
}
