//! The agent-facing proxy: `/v1/*` routes, access checks, forwarding with
//! failover, and the metered pass-through of responses.

pub mod access;
pub mod client_agent;
pub mod commit;
pub mod failover;
pub mod forward;
pub mod gemini_routes;
pub mod journey;
pub mod meter;
pub mod outcome;
pub mod probe;
pub mod rejection;
pub mod request;
pub mod respond;
pub mod routes;
pub mod stream;
pub mod translated;

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::config::Timeouts;
use crate::pool::Pool;
use crate::protocol::Protocol;
use crate::scheduler::{self, Plan, Scheduler};
use crate::sellers::{Seller, Sellers};
use crate::translate::{self, Via};

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
    /// Routing settings, bindings, counters.
    pub scheduler: Arc<Scheduler>,
    /// Where each finished request's log row goes.
    pub records: journey::RecordSink,
    /// The request log and credits (a seller out of credits is not tried).
    pub store: crate::store::Store,
    /// What happened lately, for the panel (failovers are raised here).
    pub notices: Arc<crate::notices::Notices>,
}

impl Proxy {
    /// The sellers that serve `model` to a `protocol` client, natively or
    /// through a translation (a seller is reached natively when it speaks
    /// the protocol, else through the first route of `translate::ROUTES`
    /// it speaks), with what the pool knows of them. A seller that could be
    /// reached only through translation while translation is off is listed
    /// as excluded, with the reason.
    pub fn candidates(&self, protocol: Protocol, model: &str) -> Vec<scheduler::Candidate> {
        let set = self.sellers.snapshot();
        let (now, wall) = (self.clock.now(), self.clock.wall());
        let translation = self.scheduler.routing.get().translation;
        let reachable: Vec<_> = set
            .sellers
            .iter()
            .filter_map(|s| reach(s, protocol, model).map(|via| (s, via)))
            .collect();
        let mut candidates =
            scheduler::gather(&self.pool, reachable.iter().map(|(s, _)| *s), now, wall);
        for (c, (_, via)) in candidates.iter_mut().zip(&reachable) {
            c.via = *via;
            c.excluded = self
                .store
                .credit(c.seller.id.as_str())
                .filter(|credit| credit.exhausted())
                .map(|credit| {
                    format!(
                        "credits exhausted ({:.2} of {:.2} spent; raise `credits` in {} to bring it back)",
                        credit.spent,
                        credit.balance,
                        self.sellers.path().display()
                    )
                });
            if let (Some(via), None) = (via, &c.excluded) {
                c.excluded = if !translation {
                    Some(format!(
                        "speaks {}, not {protocol}, and translation is off in the routing settings",
                        via.seller
                    ))
                } else if !c.seller.translation {
                    Some(format!(
                        "speaks {}, not {protocol}, and has `translation: false` in {}",
                        via.seller,
                        self.sellers.path().display()
                    ))
                } else {
                    None
                };
            }
        }
        candidates
    }

    /// The order in which a request for `model` over `protocol` tries sellers.
    pub fn plan(&self, protocol: Protocol, model: &str, explore: bool) -> Plan {
        scheduler::plan(
            &self.scheduler.routing.get(),
            self.candidates(protocol, model),
            explore,
        )
    }
}

/// How `seller` can serve `model` to a `protocol` client: `Some(None)`
/// natively, `Some(Some(via))` through a translation, `None` not at all.
fn reach(seller: &Seller, protocol: Protocol, model: &str) -> Option<Option<Via>> {
    if seller.serves(protocol, model) {
        return Some(None);
    }
    seller.upstream_model(model)?;
    translate::ROUTES
        .iter()
        .find(|v| v.client == protocol && seller.protocols.contains(&v.seller))
        .map(|v| Some(*v))
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
