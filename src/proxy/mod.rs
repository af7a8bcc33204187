//! The agent-facing proxy: `/v1/*` routes, access checks, forwarding with
//! failover, and the metered pass-through of responses.

pub mod access;
pub mod commit;
pub mod forward;
pub mod meter;
pub mod outcome;
pub mod probe;
pub mod request;
pub mod respond;
pub mod routes;
pub mod stream;

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::config::Timeouts;
use crate::pool::Pool;
use crate::protocol::Protocol;
use crate::scheduler::{self, settings::RoutingStore, Plan};
use crate::sellers::Sellers;

/// What forwarding needs; cloned into every handler (all fields are shared).
#[derive(Clone)]
pub struct Proxy {
    /// The live sellers.
    pub sellers: Arc<Sellers>,
    /// Per-seller statistics.
    pub pool: Arc<Pool>,
    /// The upstream HTTP client (connection pools per seller).
    pub client: reqwest::Client,
    /// Time source.
    pub clock: Arc<dyn Clock>,
    /// Upstream time limits.
    pub timeouts: Timeouts,
    /// Fires on shutdown, ending streams in flight.
    pub shutdown: CancellationToken,
    /// The user's routing mode and scorer.
    pub routing: Arc<RoutingStore>,
    /// Draws for exploration (a counter run through a mixer: cheap, lock-free).
    pub draws: Arc<std::sync::atomic::AtomicU64>,
    /// Share of requests that try an unmeasured seller first.
    pub explore_chance: f64,
    /// Which conversation is on which seller.
    pub bindings: Arc<scheduler::sticky::Bindings>,
    /// Which seller produced which Responses API response.
    pub responses: Arc<scheduler::sticky::Bindings>,
    /// What the scheduler did, counted.
    pub metrics: Arc<scheduler::metrics::Metrics>,
}

impl Proxy {
    /// The order in which a request for `model` over `protocol` tries sellers.
    pub fn plan(&self, protocol: Protocol, model: &str, explore: bool) -> Plan {
        let set = self.sellers.snapshot();
        let (now, wall) = (self.clock.now(), self.clock.wall());
        let candidates = scheduler::gather(&self.pool, set.candidates(protocol, model), now, wall);
        scheduler::plan(&self.routing.get(), candidates, explore)
    }

    /// Whether this request explores (a draw against `explore_chance`).
    pub fn explore(&self) -> bool {
        self.explore_chance > 0.0 && self.roll() < self.explore_chance
    }

    /// A uniform draw in [0, 1).
    pub fn roll(&self) -> f64 {
        // splitmix64 over a counter: well spread, no lock, no RNG crate.
        let mut z = self
            .draws
            .fetch_add(0x9E37_79B9_7F4A_7C15, std::sync::atomic::Ordering::Relaxed);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Builds the upstream HTTP client.
pub fn http_client(timeouts: &Timeouts) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(timeouts.connect)
        .tcp_nodelay(true)
        .pool_idle_timeout(std::time::Duration::from_secs(90))
        // Sellers are APIs, not browsers: a redirect is a misconfiguration.
        .redirect(reqwest::redirect::Policy::none())
        .build()
}
