//! The embedded core: its own tokio runtime on background threads, started
//! from the environment inside `setup()` (after the single-instance check,
//! so a second launch never binds the port), stopped when the app exits.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokenbuddy::config::{self, DATA_DIR_ENV, DEFAULT_PORT};
use tokenbuddy::control::agents::AgentsApi;
use tokenbuddy::desktop::Desktop;
use tokenbuddy::proxy::Proxy;
use tokenbuddy::{App, Config, Running};

/// How long the core gets to close streams when the app quits.
const STOP_GRACE: Duration = Duration::from_secs(6);

/// What the tray reads and drives in-process (cheap clones of the core's parts).
#[derive(Clone)]
pub struct Handles {
    /// Sellers, pool, scheduler, notices, store.
    pub proxy: Proxy,
    /// What the agent commands need.
    pub agents: AgentsApi,
    /// The desktop hook and settings.
    pub desktop: Arc<Desktop>,
    /// The core's runtime, for blocking work and the change follower.
    pub runtime: tokio::runtime::Handle,
}

/// The running core, owned by the Tauri app as managed state.
pub struct Core {
    runtime: tokio::runtime::Runtime,
    running: Mutex<Option<Running>>,
    panel_url: String,
    handles: Handles,
}

/// Reads the core's settings from the environment: `TOKENBUDDY_DATA_DIR`,
/// `TOKENBUDDY_PORT` (tests use 0), `TOKENBUDDY_DEMO=1`, and the limits
/// [`Config::with_env`] reads.
fn config_from_env() -> Result<Config, String> {
    let data_dir = std::env::var_os(DATA_DIR_ENV)
        .map(Into::into)
        .or_else(config::default_data_dir)
        .ok_or_else(|| format!("no home directory found: set {DATA_DIR_ENV}"))?;
    let mut config = Config::new(data_dir)
        .with_env(|name| std::env::var(name).ok())
        .map_err(|e| e.to_string())?;
    config.port = match std::env::var("TOKENBUDDY_PORT") {
        Ok(p) => p
            .trim()
            .parse()
            .map_err(|_| format!("TOKENBUDDY_PORT={p:?} is not a port number"))?,
        Err(_) => DEFAULT_PORT,
    };
    config.demo = std::env::var("TOKENBUDDY_DEMO").is_ok_and(|v| v == "1");
    Ok(config)
}

impl Core {
    /// Starts the core; the error is a one-line, user-facing message.
    pub fn start() -> Result<Core, String> {
        let config = config_from_env()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("tokenbuddy-core")
            .build()
            .map_err(|e| format!("cannot start the async runtime: {e}"))?;
        let running = runtime
            .block_on(App::start(config))
            .map_err(|e| e.to_string())?;
        // Scripts and tests read the port from this exact line.
        println!("TokenBuddy listening on {}", running.url());
        let handles = Handles {
            proxy: running.proxy().clone(),
            agents: running.agents().clone(),
            desktop: Arc::clone(running.desktop()),
            runtime: runtime.handle().clone(),
        };
        Ok(Core {
            panel_url: running.panel_url(),
            runtime,
            running: Mutex::new(Some(running)),
            handles,
        })
    }

    /// The control panel's URL (with the token in the fragment).
    pub fn panel_url(&self) -> &str {
        &self.panel_url
    }

    /// The core's parts the tray uses.
    pub fn handles(&self) -> &Handles {
        &self.handles
    }

    /// Stops the core, letting streams in flight end cleanly.
    pub fn stop(&self) {
        let running = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(running) = running {
            let stopped = self
                .runtime
                .block_on(async { tokio::time::timeout(STOP_GRACE, running.stop()).await });
            if stopped.is_err() {
                tracing::warn!("the core did not stop in time");
            }
        }
    }
}
