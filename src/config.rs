//! What a running TokenBuddy is told at start: port, data dir, demo mode,
//! timeouts. Parsed by the faces (CLI, shell), consumed by [`crate::App`].

use std::path::PathBuf;
use std::time::Duration;

/// The port TokenBuddy listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 7333;

/// The environment variable that overrides the default data directory.
pub const DATA_DIR_ENV: &str = "TOKENBUDDY_DATA_DIR";

/// The environment variable that sets [`Timeouts::idle`] (`30s`, `1500ms`, `5m`).
pub const IDLE_TIMEOUT_ENV: &str = "TOKENBUDDY_IDLE_TIMEOUT";

/// The environment variable that sets [`Timeouts::ttft`] (`30s`, `1500ms`, `5m`).
pub const TTFT_TIMEOUT_ENV: &str = "TOKENBUDDY_TTFT_TIMEOUT";

/// Start-up settings of one [`crate::App`].
#[derive(Debug, Clone)]
pub struct Config {
    /// TCP port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Where the token, `sellers.yaml` and app state live.
    pub data_dir: PathBuf,
    /// Start three simulated sellers in-process and route to them.
    pub demo: bool,
    /// The built web UI to serve at `/`; `None` serves a placeholder page.
    pub ui_dir: Option<PathBuf>,
    /// Upstream time limits.
    pub timeouts: Timeouts,
    /// Share of requests that try a not-yet-measured seller first (0 turns
    /// exploration off, as tests that assert a routing do).
    pub explore_chance: f64,
    /// Share new conversations among the best few sellers (off: always the
    /// single best, as tests that assert a routing do).
    pub load_spread: bool,
    /// How often to probe each seller (`GET /v1/models`); `None` never.
    pub probe_interval: Option<Duration>,
}

/// Upstream time limits of the proxy.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// TCP (and TLS) connect to a seller.
    pub connect: Duration,
    /// From sending the request to the response headers.
    pub headers: Duration,
    /// From sending a streamed request to its first semantic event, before
    /// trying the next seller (never applied to the last one left).
    pub ttft: Duration,
    /// Longest silence between two chunks of a response body.
    pub idle: Duration,
    /// Longest a request may spend failing over before the client is told.
    pub failover_budget: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            // Non-streaming reasoning calls can think for minutes before headers.
            headers: Duration::from_secs(300),
            ttft: Duration::from_secs(90),
            idle: Duration::from_secs(300),
            failover_budget: Duration::from_secs(180),
        }
    }
}

/// A time limit set in the environment that is no duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var}={value:?} is not a time limit: write it like 30s, 1500ms or 5m (more than zero)")]
pub struct BadTimeout {
    /// The variable.
    pub var: &'static str,
    /// What it held.
    pub value: String,
}

impl Timeouts {
    /// These limits with those set in the environment ([`IDLE_TIMEOUT_ENV`],
    /// [`TTFT_TIMEOUT_ENV`]); `var` reads a variable.
    pub fn with_env(mut self, var: impl Fn(&str) -> Option<String>) -> Result<Self, BadTimeout> {
        for (name, slot) in [
            (IDLE_TIMEOUT_ENV, &mut self.idle),
            (TTFT_TIMEOUT_ENV, &mut self.ttft),
        ] {
            if let Some(value) = var(name) {
                *slot = humantime::parse_duration(value.trim())
                    .ok()
                    .filter(|d| !d.is_zero())
                    .ok_or(BadTimeout { var: name, value })?;
            }
        }
        Ok(self)
    }
}

impl Config {
    /// Defaults for everything but the data directory.
    pub fn new(data_dir: PathBuf) -> Self {
        Config {
            port: DEFAULT_PORT,
            data_dir,
            demo: false,
            ui_dir: default_ui_dir(),
            timeouts: Timeouts::default(),
            explore_chance: crate::scheduler::EXPLORE_CHANCE,
            load_spread: true,
            probe_interval: Some(Duration::from_secs(60)),
        }
    }

    /// The sellers file inside the data directory.
    pub fn sellers_path(&self) -> PathBuf {
        self.data_dir.join("sellers.yaml")
    }
}

/// The per-OS application data directory (`~/.local/share/tokenbuddy` on Linux).
pub fn default_data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("dev", "TokenBuddy", "tokenbuddy")
        .map(|d| d.data_dir().to_path_buf())
}

/// The built UI: `TOKENBUDDY_UI_DIR`, else `ui/dist` next to the executable's
/// share dir, else the source tree's `ui/dist` (development builds).
pub fn default_ui_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("TOKENBUDDY_UI_DIR") {
        return Some(PathBuf::from(dir));
    }
    let source_tree = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/ui/dist"));
    source_tree.is_dir().then_some(source_tree)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_limits_from_the_environment() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let t = Timeouts::default()
            .with_env(env(&[
                (IDLE_TIMEOUT_ENV, "1500ms"),
                (TTFT_TIMEOUT_ENV, " 2s "),
            ]))
            .expect("valid");
        assert_eq!(t.idle, Duration::from_millis(1500));
        assert_eq!(t.ttft, Duration::from_secs(2));
        assert_eq!(t.headers, Timeouts::default().headers);
        let unchanged = Timeouts::default().with_env(env(&[])).expect("valid");
        assert_eq!(unchanged.idle, Timeouts::default().idle);
        for bad in ["soon", "0s", "-1s", ""] {
            let e = Timeouts::default()
                .with_env(move |k| (k == IDLE_TIMEOUT_ENV).then(|| bad.to_string()))
                .expect_err(bad);
            assert!(e.to_string().starts_with("TOKENBUDDY_IDLE_TIMEOUT="), "{e}");
        }
    }
}
