//! What a running TokenBuddy is told at start: port, data dir, demo mode,
//! timeouts, limits on clients. Parsed by the faces (CLI, shell), consumed by
//! [`crate::App`].

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
    /// With `demo`: also run a light simulated client load (agent `demo`)
    /// through the proxy, so the panel shows life.
    pub demo_load: bool,
    /// A development override: serve the web UI from this folder on disk
    /// instead of the copy embedded in the binary.
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
    /// What a client may make the server wait for or hold.
    pub server: ServerLimits,
    /// The request log and history: on or off, retention, batching.
    pub store: crate::store::StoreConfig,
}

/// Limits on clients, so idle, lazy or hostile ones cannot tie the server up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// Longest a client may take to send a request head; an idle keep-alive
    /// connection is closed after the same time (hyper times both alike).
    pub header_read: Duration,
    /// Longest a client may take to send a request body, from its head on.
    pub body_read: Duration,
    /// Most client connections held at once; more wait in the kernel's
    /// backlog until one closes.
    pub max_connections: usize,
}

/// The environment variables [`ServerLimits::from_env`] reads.
pub const HEADER_TIMEOUT_ENV: &str = "TOKENBUDDY_HEADER_TIMEOUT";
/// See [`HEADER_TIMEOUT_ENV`].
pub const BODY_TIMEOUT_ENV: &str = "TOKENBUDDY_BODY_TIMEOUT";
/// See [`HEADER_TIMEOUT_ENV`].
pub const MAX_CONNECTIONS_ENV: &str = "TOKENBUDDY_MAX_CONNECTIONS";

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            // Agents send a head in one packet; 30 s is also hyper's default
            // and outlasts the keep-alive pools of most HTTP clients.
            header_read: Duration::from_secs(30),
            // Bodies come over loopback: even 64 MiB takes well under a second.
            body_read: Duration::from_secs(60),
            // Far above what a desk of agents opens, and (with one upstream
            // connection per stream) within a 1024-descriptor limit's reach.
            max_connections: 512,
        }
    }
}

/// A setting given in the environment that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}={value:?}: {problem}")]
pub struct EnvError {
    /// The variable.
    pub name: &'static str,
    /// Its value.
    pub value: String,
    /// What is wrong and what is expected.
    pub problem: &'static str,
}

/// A duration above zero from variable `name` (`30s`, `1500ms`, `5m`).
pub(crate) fn duration_from(name: &'static str, value: String) -> Result<Duration, EnvError> {
    match humantime::parse_duration(value.trim()) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err(EnvError {
            name,
            value,
            problem: "must be longer than zero",
        }),
        Err(_) => Err(EnvError {
            name,
            value,
            problem: "not a duration (write e.g. `30s`, `1500ms` or `5m`)",
        }),
    }
}

impl ServerLimits {
    /// These limits with those `env` sets: [`HEADER_TIMEOUT_ENV`],
    /// [`BODY_TIMEOUT_ENV`] (durations) and [`MAX_CONNECTIONS_ENV`].
    pub fn with_env(mut self, env: impl Fn(&str) -> Option<String>) -> Result<Self, EnvError> {
        if let Some(v) = env(HEADER_TIMEOUT_ENV) {
            self.header_read = duration_from(HEADER_TIMEOUT_ENV, v)?;
        }
        if let Some(v) = env(BODY_TIMEOUT_ENV) {
            self.body_read = duration_from(BODY_TIMEOUT_ENV, v)?;
        }
        if let Some(v) = env(MAX_CONNECTIONS_ENV) {
            self.max_connections = match v.trim().parse::<usize>() {
                Ok(n) if n > 0 => n,
                _ => {
                    return Err(EnvError {
                        name: MAX_CONNECTIONS_ENV,
                        value: v,
                        problem: "not a whole number above zero",
                    })
                }
            };
        }
        Ok(self)
    }
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

impl Timeouts {
    /// These limits with those `env` sets: [`IDLE_TIMEOUT_ENV`],
    /// [`TTFT_TIMEOUT_ENV`].
    pub fn with_env(mut self, env: impl Fn(&str) -> Option<String>) -> Result<Self, EnvError> {
        if let Some(v) = env(IDLE_TIMEOUT_ENV) {
            self.idle = duration_from(IDLE_TIMEOUT_ENV, v)?;
        }
        if let Some(v) = env(TTFT_TIMEOUT_ENV) {
            self.ttft = duration_from(TTFT_TIMEOUT_ENV, v)?;
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
            demo_load: false,
            ui_dir: default_ui_dir(),
            timeouts: Timeouts::default(),
            explore_chance: crate::scheduler::EXPLORE_CHANCE,
            load_spread: true,
            probe_interval: Some(Duration::from_secs(60)),
            server: ServerLimits::default(),
            store: crate::store::StoreConfig::default(),
        }
    }

    /// This config with the limits the environment sets (time limits
    /// towards sellers and limits on clients); both faces call it.
    pub fn with_env(mut self, env: impl Fn(&str) -> Option<String>) -> Result<Self, EnvError> {
        self.timeouts = self.timeouts.with_env(&env)?;
        self.server = self.server.with_env(&env)?;
        self.store = self.store.with_env(&env)?;
        Ok(self)
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

/// The environment variable that makes TokenBuddy serve the web UI from a
/// folder on disk (development: `ui/dist` while rebuilding it).
pub const UI_DIR_ENV: &str = "TOKENBUDDY_UI_DIR";

/// The development override of the embedded UI: `TOKENBUDDY_UI_DIR`, if set.
pub fn default_ui_dir() -> Option<PathBuf> {
    std::env::var_os(UI_DIR_ENV)
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn limits_from_the_environment() {
        let none = env(&[]);
        assert_eq!(
            ServerLimits::default().with_env(&none),
            Ok(ServerLimits::default())
        );
        let set = ServerLimits::default()
            .with_env(env(&[
                (HEADER_TIMEOUT_ENV, "2s"),
                (BODY_TIMEOUT_ENV, " 1500ms "),
                (MAX_CONNECTIONS_ENV, "16"),
            ]))
            .unwrap();
        assert_eq!(set.header_read, Duration::from_secs(2));
        assert_eq!(set.body_read, Duration::from_millis(1500));
        assert_eq!(set.max_connections, 16);
        let t = Timeouts::default()
            .with_env(env(&[
                (IDLE_TIMEOUT_ENV, "1500ms"),
                (TTFT_TIMEOUT_ENV, " 2s "),
            ]))
            .unwrap();
        assert_eq!(
            (t.idle, t.ttft),
            (Duration::from_millis(1500), Duration::from_secs(2))
        );
        assert_eq!(t.headers, Timeouts::default().headers);
        assert_eq!(
            Timeouts::default().with_env(&none).unwrap().idle,
            Timeouts::default().idle
        );
    }

    #[test]
    fn unusable_settings_are_named() {
        for (name, value) in [
            (HEADER_TIMEOUT_ENV, "soon"),
            (HEADER_TIMEOUT_ENV, "0s"),
            (BODY_TIMEOUT_ENV, "12"),
            (MAX_CONNECTIONS_ENV, "0"),
            (MAX_CONNECTIONS_ENV, "-3"),
            (IDLE_TIMEOUT_ENV, ""),
            (TTFT_TIMEOUT_ENV, "-1s"),
        ] {
            let pairs = [(name, value)];
            let err = match ServerLimits::default().with_env(env(&pairs)) {
                Err(e) => e,
                Ok(_) => Timeouts::default().with_env(env(&pairs)).unwrap_err(),
            };
            assert_eq!((err.name, err.value.as_str()), (name, value));
            assert!(err.to_string().starts_with(&format!("{name}=")), "{err}");
        }
    }
}
