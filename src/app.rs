//! Starting and stopping one TokenBuddy: data dir and token, sellers (file,
//! watcher, demo), the pool, the proxy and the HTTP server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::control::events::{self, EventsApi, Pulse};
use crate::control::prometheus::Metrics;
use crate::error::Error;
use crate::notices::{NoticeKind, Notices};
use crate::pool::{Pool, PoolChange, PoolWatch};
use crate::protocol::Protocol;
use crate::proxy::{self, access::Access, Proxy};
use crate::scheduler::Scheduler;
use crate::sellers::{self, Secret, Seller, Sellers};
use crate::server;
use crate::sim::{self, SimSeller};
use crate::store::record::RequestRecord;
use crate::store::{self, Store};
use crate::token;

/// Starts TokenBuddy.
#[derive(Debug)]
pub struct App;

/// A started TokenBuddy; dropping it does not stop it, call [`Running::shutdown`].
pub struct Running {
    addr: SocketAddr,
    token: String,
    sellers: Arc<Sellers>,
    pool: Arc<Pool>,
    store: Store,
    shutdown: CancellationToken,
    server: JoinHandle<()>,
    _watcher: sellers::watch::Watcher,
    demo: Vec<(&'static str, SimSeller)>,
    proxy: Proxy,
    agents: crate::control::agents::AgentsApi,
    desktop: Arc<crate::desktop::Desktop>,
}

impl App {
    /// Starts serving with `config`; must run inside a tokio runtime.
    pub async fn start(config: Config) -> Result<Running, Error> {
        let started = Instant::now();
        let token = token::load_or_create(&config.data_dir)?;
        crate::agents::patch::reconcile_at_startup(&config.data_dir);
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let (demo, extra) = if config.demo {
            start_demo().await?
        } else {
            (Vec::new(), Vec::new())
        };
        let sellers = Arc::new(Sellers::open(config.sellers_path(), extra)?);
        let watcher = sellers::watch::spawn(Arc::clone(&sellers))?;
        let listener = server::bind(config.port).await?;
        let addr = listener.local_addr().map_err(|source| Error::Bind {
            addr: SocketAddr::from(([127, 0, 0, 1], config.port)),
            source,
        })?;
        let shutdown = CancellationToken::new();
        let notices = Arc::new(Notices::new(Arc::clone(&clock)));
        let pulse = Pulse::default();
        let pool = Arc::new(Pool::watched(pool_watch(
            Arc::clone(&notices),
            pulse.clone(),
        )));
        let store = Store::open(&config.data_dir, config.store.clone());
        warm_start(&store, &pool, clock.now());
        follow_reloads(&store, &sellers, Arc::clone(&notices), shutdown.clone());
        let metrics = Arc::new(Metrics::new());
        let proxy = Proxy {
            sellers: Arc::clone(&sellers),
            pool: Arc::clone(&pool),
            client: proxy::http_client(&config.timeouts).map_err(Error::HttpClient)?,
            clock,
            timeouts: config.timeouts,
            shutdown: shutdown.clone(),
            records: record_sink(store.clone(), Arc::clone(&metrics), Arc::clone(&notices)),
            store: store.clone(),
            notices: Arc::clone(&notices),
            scheduler: Arc::new(Scheduler::new(
                &config.data_dir,
                config.explore_chance,
                config.load_spread,
                seed(),
            )),
        };
        let access = Arc::new(Access {
            token: token.clone(),
            port: addr.port(),
        });
        if let Some(every) = config.probe_interval {
            // Ends by itself on shutdown.
            drop(proxy::probe::spawn(proxy.clone(), every));
        }
        let demo_logs = demo.iter().map(|(id, sim)| (*id, sim.log())).collect();
        let drift = Arc::new(crate::agents::watch::DriftWatch::spawn_with(
            &config.data_dir,
            Some(Arc::clone(&notices)),
        ));
        let events_api = EventsApi {
            proxy: proxy.clone(),
            drift: Arc::clone(&drift),
            notices: Arc::clone(&notices),
            pulse,
            routing: proxy.scheduler.subscribe(),
            shutdown: shutdown.clone(),
        };
        let agents_api = crate::control::agents::AgentsApi {
            data_dir: config.data_dir.clone(),
            port: addr.port(),
            token: token.clone(),
            sellers: Arc::clone(&sellers),
            drift,
        };
        let desktop = Arc::new(crate::desktop::Desktop::open(&config.data_dir));
        let mut extra = crate::control::agents::router(agents_api.clone())
            .merge(crate::control::desktop::router(Arc::clone(&desktop)));
        if config.demo {
            extra = extra.merge(crate::control::demo::router(Arc::new(demo_logs)));
        }
        let extra = extra
            .merge(crate::control::store::router(
                store.clone(),
                shutdown.clone(),
            ))
            .merge(crate::control::prometheus::router(metrics))
            .merge(events::router(events_api));
        let app = server::router(proxy.clone(), access, config.ui_dir.clone(), extra);
        let server = tokio::spawn(server::serve(
            listener,
            app,
            config.server,
            shutdown.clone(),
        ));
        if config.demo && config.demo_load {
            sim::demo_load::spawn(format!("http://{addr}"), token.clone(), shutdown.clone());
        }
        tracing::info!(
            %addr,
            sellers = sellers.snapshot().sellers.len(),
            ready_ms = started.elapsed().as_secs_f64() * 1000.0,
            "TokenBuddy ready"
        );
        Ok(Running {
            addr,
            token,
            sellers,
            pool,
            store,
            shutdown,
            server,
            _watcher: watcher,
            demo,
            proxy,
            agents: agents_api,
            desktop,
        })
    }
}

impl Running {
    /// The bound address (127.0.0.1:port).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`, the base URL agents use.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The control panel's URL, carrying the token in the fragment (never sent to a server).
    pub fn panel_url(&self) -> String {
        format!("http://{}/#token={}", self.addr, self.token)
    }

    /// The access token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The live sellers.
    pub fn sellers(&self) -> &Arc<Sellers> {
        &self.sellers
    }

    /// Per-seller statistics.
    pub fn pool(&self) -> &Arc<Pool> {
        &self.pool
    }

    /// The request log, usage and history.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The proxy's shared parts: sellers, pool, scheduler (routing and the
    /// proxy switch), notices, store; what the desktop tray reads and drives.
    pub fn proxy(&self) -> &Proxy {
        &self.proxy
    }

    /// What the agent commands need (data dir, port, token, sellers, drift watch).
    pub fn agents(&self) -> &crate::control::agents::AgentsApi {
        &self.agents
    }

    /// The desktop hook and settings (a shell registers itself here).
    pub fn desktop(&self) -> &Arc<crate::desktop::Desktop> {
        &self.desktop
    }

    /// Begins a graceful stop: streams in flight end with an error event.
    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }

    /// Waits until the server has stopped (after [`Running::shutdown`]).
    pub async fn wait(self) -> Result<(), Error> {
        let Running {
            server,
            demo,
            store,
            ..
        } = self;
        if let Err(e) = server.await {
            tracing::error!(error = %e, "server task failed");
        }
        // After the server: the last requests' rows are written too.
        store.close().await;
        for (_, sim) in demo {
            sim.shutdown().await;
        }
        Ok(())
    }

    /// Shuts down and waits.
    pub async fn stop(self) -> Result<(), Error> {
        self.shutdown();
        self.wait().await
    }
}

/// Where each finished request goes: `/metrics`, then the store. Says
/// once (in the log and as a notice) when a seller's credits cross 80 %
/// spent and when they run out.
fn record_sink(
    store: Store,
    metrics: Arc<Metrics>,
    notices: Arc<Notices>,
) -> proxy::journey::RecordSink {
    Arc::new(move |record: RequestRecord| {
        metrics.observe(&record);
        let priced = record.seller.clone().zip(record.cost);
        let before = priced.as_ref().and_then(|(s, _)| store.credit(s));
        store.submit(record);
        let (Some((seller, _)), Some(before)) = (priced, before) else {
            return;
        };
        let Some(after) = store.credit(&seller) else {
            return;
        };
        if after.exhausted() && !before.exhausted() {
            tracing::warn!(%seller, balance = after.balance, spent = after.spent,
                "credits exhausted: the seller is left out until its `credits` are raised in sellers.yaml");
            notices.raise(
                NoticeKind::CreditsExhausted,
                Some(&seller),
                format!("{seller}'s credits are spent ({:.2} of {:.2}): it is left out until its `credits` are raised in sellers.yaml", after.spent, after.balance),
            );
        } else if after.low() && !before.low() {
            tracing::warn!(%seller, balance = after.balance, spent = after.spent, "credits 80 % spent");
            notices.raise(
                NoticeKind::CreditsLow,
                Some(&seller),
                format!(
                    "{seller}'s credits are 80 % spent ({:.2} of {:.2} left)",
                    after.remaining(),
                    after.balance
                ),
            );
        }
    })
}

/// Seeds each seller's TTFT and tokens/s from the store's last hour of
/// its history, so the first request of a run is routed on evidence.
fn warm_start(store: &Store, pool: &Pool, now: Instant) {
    for w in store.warm_start() {
        pool.stats(&w.seller.as_str().into())
            .warm_start(w.ttft_ms, w.tokens_per_sec, now);
    }
}

/// The balances the sellers file states, for every seller (`None`: no credits).
fn balances(sellers: &Sellers) -> Vec<(String, Option<f64>)> {
    sellers
        .snapshot()
        .sellers
        .iter()
        .map(|s| (s.id.to_string(), s.credits))
        .collect()
}

/// Hands the store the sellers file's credits now and after every reload,
/// and raises a `sellersFileError` notice when a reload fails (once per
/// distinct error).
fn follow_reloads(
    store: &Store,
    sellers: &Arc<Sellers>,
    notices: Arc<Notices>,
    shutdown: CancellationToken,
) {
    store.set_balances(&balances(sellers), store::now_ms());
    let mut changes = sellers.subscribe();
    let (store, sellers) = (store.clone(), Arc::clone(sellers));
    tokio::spawn(async move {
        let mut told: Option<String> = None;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                changed = changes.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
            }
            let error = changes
                .borrow_and_update()
                .error
                .as_ref()
                .map(|e| e.to_string());
            if error.is_some() && error != told {
                notices.raise(
                    NoticeKind::SellersFileError,
                    None,
                    format!(
                        "{} (the last good set keeps serving)",
                        error.as_deref().unwrap_or_default()
                    ),
                );
            }
            told = error;
            store.set_balances(&balances(&sellers), store::now_ms());
        }
    });
}

/// What the pool's changes do: circuit notices, and a pulse for the
/// panel's `sellers` events.
fn pool_watch(notices: Arc<Notices>, pulse: Pulse) -> PoolWatch {
    PoolWatch::new(move |seller, change| {
        pulse.touch();
        match change {
            PoolChange::CircuitOpened { cause } => notices.raise(
                NoticeKind::CircuitOpened,
                Some(seller.as_str()),
                format!("{seller}'s circuit opened ({cause}): it gets no requests until its cooldown ends"),
            ),
            PoolChange::CircuitClosed => notices.raise(
                NoticeKind::CircuitClosed,
                Some(seller.as_str()),
                format!("{seller}'s circuit closed: a trial request succeeded, it is back in rotation"),
            ),
            PoolChange::CooldownBegan => {}
        }
    })
}

/// Starts the simulated demo sellers and describes them as sellers.
async fn start_demo() -> Result<(Vec<(&'static str, SimSeller)>, Vec<Seller>), Error> {
    let mut sims = Vec::new();
    let mut sellers = Vec::new();
    for d in sim::demo::demo_sellers() {
        let sim = SimSeller::start(d.behavior.clone())
            .await
            .map_err(Error::Demo)?;
        // Their own `/v1/models` reports the demo models, so the learned
        // list adds nothing the pickers do not already show.
        sim.set_models(sim::ModelsAnswer::List(
            sim::demo::DEMO_MODELS
                .iter()
                .map(|(m, _)| m.to_string())
                .collect(),
        ));
        sellers.push(Seller {
            id: d.id.into(),
            name: d.name.to_string(),
            base_url: sim.base_url(),
            api_key: Secret::new("demo"),
            protocols: Protocol::ALL.to_vec(),
            // Any model passes through; the demo models are priced.
            models: Vec::new(),
            discount_ratio: d.discount_ratio,
            service_fee_ratio: d.service_fee_ratio,
            priority: 0,
            max_concurrency: None,
            prices: sim::demo::DEMO_MODELS
                .iter()
                .map(|(m, p)| (m.to_string(), *p))
                .collect(),
            credits: None,
            translation: true,
        });
        sims.push((d.id, sim));
    }
    Ok((sims, sellers))
}

/// A per-process seed for the scheduler's draws.
fn seed() -> u64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        // Not security-relevant: exploration only needs variety.
        return std::process::id() as u64;
    }
    u64::from_le_bytes(bytes)
}
