//! How the store keeps what it keeps: retention, queue and batch sizes, and
//! whether it runs at all; read from the environment like [`crate::config`].

use std::time::Duration;

use crate::config::{duration_from, EnvError};

/// The environment variable that turns the store off (`off`) or on (`on`, the default).
pub const STORE_ENV: &str = "TOKENBUDDY_STORE";
/// The environment variable that sets [`StoreConfig::request_retention`] (`30d`, `12h`).
pub const REQUEST_RETENTION_ENV: &str = "TOKENBUDDY_REQUEST_RETENTION";
/// The environment variable that sets [`StoreConfig::history_retention`] (`7d`, `48h`).
pub const HISTORY_RETENTION_ENV: &str = "TOKENBUDDY_HISTORY_RETENTION";

/// The database file's name inside the data dir.
pub const DB_FILE: &str = "tokenbuddy.db";

/// Settings of one [`crate::store::Store`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// Whether to keep anything (off: [`crate::store::Store::disabled`]).
    pub enabled: bool,
    /// How long request rows are kept.
    pub request_retention: Duration,
    /// How long per-minute seller history is kept (daily rollups are kept for good).
    pub history_retention: Duration,
    /// Records queued for the writer at most; more are dropped and counted.
    pub channel_capacity: usize,
    /// Most records written in one transaction.
    pub batch_size: usize,
    /// Longest a record waits for others to share its transaction.
    pub batch_interval: Duration,
    /// How long the writer waits for a lock another connection holds before
    /// the batch counts as failed.
    pub busy_timeout: Duration,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            enabled: true,
            request_retention: Duration::from_secs(30 * 86_400),
            history_retention: Duration::from_secs(7 * 86_400),
            // About 4 s of a 2,000 req/s burst; slots are touched only when used.
            channel_capacity: 8192,
            // One fsync-free WAL commit per 512 rows keeps 2,000 req/s at a few
            // commits a second; 100 ms keeps `requests --follow` feeling live.
            batch_size: 512,
            batch_interval: Duration::from_millis(100),
            busy_timeout: Duration::from_secs(5),
        }
    }
}

impl StoreConfig {
    /// This config with what `env` sets: [`STORE_ENV`], [`REQUEST_RETENTION_ENV`]
    /// and [`HISTORY_RETENTION_ENV`].
    pub fn with_env(mut self, env: impl Fn(&str) -> Option<String>) -> Result<Self, EnvError> {
        if let Some(v) = env(STORE_ENV) {
            self.enabled = match v.trim().to_ascii_lowercase().as_str() {
                "on" | "1" | "true" | "yes" => true,
                "off" | "0" | "false" | "no" => false,
                _ => {
                    return Err(EnvError {
                        name: STORE_ENV,
                        value: v,
                        problem: "write `on` or `off`",
                    })
                }
            };
        }
        if let Some(v) = env(REQUEST_RETENTION_ENV) {
            self.request_retention = duration_from(REQUEST_RETENTION_ENV, v)?;
        }
        if let Some(v) = env(HISTORY_RETENTION_ENV) {
            self.history_retention = duration_from(HISTORY_RETENTION_ENV, v)?;
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn retention_in_days_and_off() {
        let c = StoreConfig::default()
            .with_env(env(&[
                (REQUEST_RETENTION_ENV, "2d"),
                (HISTORY_RETENTION_ENV, "36h"),
                (STORE_ENV, "off"),
            ]))
            .unwrap();
        assert_eq!(c.request_retention, Duration::from_secs(2 * 86_400));
        assert_eq!(c.history_retention, Duration::from_secs(36 * 3600));
        assert!(!c.enabled);
        assert_eq!(
            StoreConfig::default().with_env(env(&[])).unwrap(),
            StoreConfig::default()
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        let e = StoreConfig::default()
            .with_env(env(&[(REQUEST_RETENTION_ENV, "forever")]))
            .unwrap_err();
        assert_eq!(e.name, REQUEST_RETENTION_ENV);
        let e = StoreConfig::default()
            .with_env(env(&[(STORE_ENV, "maybe")]))
            .unwrap_err();
        assert_eq!(e.name, STORE_ENV);
    }
}
