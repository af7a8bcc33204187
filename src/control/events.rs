//! `GET /api/events` (Server-Sent Events for the panel) and `GET
//! /api/notices`. On connect a `snapshot`, then deltas: `requests` (the
//! rows the store committed, batched: at most four events a second, a row
//! waits 250 ms at most), `sellers` coalesced to at most two a second and
//! only after something changed (a request finished, a reload, a circuit or
//! cooldown change, a cooldown ending), `routing` / `proxy` on change,
//! `agents` on drift, `notice` as raised.
//!
//! Each client has one task holding its receivers and a small bounded
//! queue to its socket; while the queue is full the task waits, and what
//! happens meanwhile stays in the store's and the notices' fixed broadcast
//! rings (shared by all clients) or is coalesced (sellers, routing,
//! agents). A client that falls so far behind that a ring overruns loses
//! what it missed and gets a fresh `snapshot` instead: it never holds more
//! memory. With
//! no client connected nothing here runs: no task, no timer, no snapshot.
//! While one is connected and nothing happens, only the keep-alive wakes.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::{Json, Router};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use utoipa::IntoParams;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{query, ApiError, ErrorBody};
use super::routing::ProxyState;
use super::sellers::{self, SellersView};
use crate::agents::state::State as AgentState;
use crate::agents::watch::DriftWatch;
use crate::notices::{Notice, Notices, KEPT};
use crate::proxy::Proxy;
use crate::scheduler::RoutingSettings;
use crate::store::{now_ms, RequestRow, StoreStatus};

/// How often a connected client gets a keep-alive comment while nothing happens.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// The shortest gap between two `sellers` events (at most two a second).
const SELLERS_GAP: Duration = Duration::from_millis(500);
/// Longest a committed request row waits to share a `requests` event with
/// others (so 100 requests/s make 4 events a second, not 100).
const ROWS_GAP: Duration = Duration::from_millis(250);
/// Most rows one `requests` event carries.
const ROWS_MAX: usize = 256;
/// Events queued for one client before it counts as lagging.
const QUEUE: usize = 32;
/// `/api/notices` without `limit`.
const DEFAULT_NOTICES: usize = 50;

/// "Something about the sellers may have changed": bumped by the pool's
/// watch (circuit, cooldown) and read only by connected clients.
#[derive(Debug, Clone)]
pub struct Pulse(Arc<watch::Sender<u64>>);

impl Default for Pulse {
    fn default() -> Self {
        Pulse(Arc::new(watch::channel(0).0))
    }
}

impl Pulse {
    /// Marks the sellers changed (a counter bump; no receiver, no work).
    pub fn touch(&self) {
        self.0.send_modify(|n| *n = n.wrapping_add(1));
    }

    fn subscribe(&self) -> watch::Receiver<u64> {
        self.0.subscribe()
    }
}

/// What the event stream reads from.
#[derive(Clone)]
pub struct EventsApi {
    /// Sellers, pool, routing, store.
    pub proxy: Proxy,
    /// The agents' drift watch.
    pub drift: Arc<DriftWatch>,
    /// The notice feed.
    pub notices: Arc<Notices>,
    /// Sellers may have changed.
    pub pulse: Pulse,
    /// Bumped on every routing or proxy on/off change (the core's
    /// `Scheduler::subscribe()`).
    pub routing: watch::Receiver<u64>,
    /// Ends every stream on shutdown.
    pub shutdown: CancellationToken,
}

/// `/api/events` and `/api/notices`, described.
pub fn routes() -> OpenApiRouter<EventsApi> {
    OpenApiRouter::new()
        .routes(routes!(events))
        .routes(routes!(notices))
}

/// `/api/events` and `/api/notices` (the server layers the token guard on).
pub fn router(api: EventsApi) -> Router {
    routes().with_state(api).split_for_parts().0
}

/// The query of `/api/notices`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct NoticesQuery {
    /// How many (default 50, at most the 200 kept).
    limit: Option<usize>,
}

/// `GET /api/notices?limit=N`: the latest notices, newest first.
#[utoipa::path(get, path = "/api/notices", operation_id = "listNotices", tag = "events", params(NoticesQuery),
    responses(
        (status = 200, description = "The latest notices, newest first", body = Vec<Notice>),
        (status = 400, description = "A bad limit", body = ErrorBody)))]
async fn notices(
    State(api): State<EventsApi>,
    q: Result<Query<NoticesQuery>, QueryRejection>,
) -> Result<Json<Vec<Notice>>, ApiError> {
    let q = query(q)?;
    let limit = q.limit.unwrap_or(DEFAULT_NOTICES).min(KEPT);
    let latest = api.notices.latest(limit);
    Ok(Json(latest.iter().map(|n| Notice::clone(n)).collect()))
}

/// `GET /api/events`.
#[utoipa::path(get, path = "/api/events", operation_id = "events", tag = "events",
    responses((status = 200, description = "Server-Sent Events: `snapshot` (SnapshotEvent) on connect, then `sellers` (SellersView), `routing` (RoutingSettings), `proxy` (ProxyState), `requests` (RequestRow[]), `agents` (AgentsEvent) and `notice` (Notice)", content_type = "text/event-stream")))]
async fn events(
    State(api): State<EventsApi>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let (tx, rx) = mpsc::channel(QUEUE);
    tokio::spawn(Client::new(api, tx).run());
    let stream =
        futures_util::stream::unfold(
            rx,
            |mut rx| async move { rx.recv().await.map(|e| (Ok(e), rx)) },
        );
    Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
}

/// The body of `event: snapshot`: everything the panel shows live.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = SnapshotEvent)]
pub struct Snapshot {
    /// As `GET /api/sellers`.
    pub sellers: SellersView,
    /// As `GET /api/routing`.
    pub routing: RoutingSettings,
    /// As `GET /api/proxy`.
    pub proxy: ProxyState,
    /// As `GET /api/store`.
    pub store: StoreStatus,
}

/// The body of `event: agents`: every drifted agent with its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentsEvent {
    /// The agents whose config changed since TokenBuddy configured them.
    pub drift: Vec<DriftEntry>,
    /// Bumped whenever an agent drifts or stops drifting.
    pub generation: u64,
}

/// One drifted agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DriftEntry {
    /// The agent's id.
    pub id: String,
    /// Always `drifted` (a refetch of `/api/agents` tells the rest).
    pub state: AgentState,
}

/// The proxy's on/off state as `GET /api/proxy` shows it.
fn proxy_state(proxy: &Proxy) -> ProxyState {
    ProxyState {
        enabled: proxy.scheduler.proxy_enabled(),
    }
}

fn agents_body(drift: &DriftWatch) -> AgentsEvent {
    let d = drift.drift();
    AgentsEvent {
        drift: d
            .drifted
            .into_iter()
            .map(|id| DriftEntry {
                id,
                state: AgentState::Drifted,
            })
            .collect(),
        generation: d.generation,
    }
}

fn event(name: &str, body: &impl Serialize) -> Event {
    Event::default()
        .event(name)
        .json_data(body)
        .unwrap_or_else(|e| Event::default().comment(format!("unserialisable {name}: {e}")))
}

/// The earliest cooldown end after now, as an instant to wake at.
fn next_cooldown_end(view: &SellersView) -> Option<Instant> {
    let now = now_ms();
    view.sellers
        .iter()
        .filter_map(|s| s.stats.cooldown.as_ref())
        .map(|c| i64::try_from(c.until_ms).unwrap_or(i64::MAX))
        .filter(|&until| until > now)
        .min()
        // A little after, so the cooldown reads as ended.
        .map(|until| Instant::now() + Duration::from_millis((until - now) as u64 + 5))
}

/// Whether the client can still take events.
enum Sent {
    Ok,
    Gone,
}

/// One connected client.
struct Client {
    api: EventsApi,
    tx: mpsc::Sender<Event>,
    /// It fell behind a broadcast ring: resync with a snapshot.
    lagged: bool,
    /// Something changed since the last `sellers` event.
    dirty: bool,
    last_sellers: Instant,
    /// Committed rows not sent yet, and when the first of them came.
    rows: Vec<Arc<RequestRow>>,
    rows_since: Option<Instant>,
    cooldown_end: Option<Instant>,
    routing_sent: Option<RoutingSettings>,
    proxy_sent: Option<ProxyState>,
    agents_sent: Option<AgentsEvent>,
}

impl Client {
    fn new(api: EventsApi, tx: mpsc::Sender<Event>) -> Client {
        Client {
            api,
            tx,
            lagged: false,
            dirty: false,
            last_sellers: Instant::now(),
            rows: Vec::new(),
            rows_since: None,
            cooldown_end: None,
            routing_sent: None,
            proxy_sent: None,
            agents_sent: None,
        }
    }

    /// Queues `e`, waiting while the client's queue is full (meanwhile
    /// the sources wait: rows and notices in their fixed broadcast rings,
    /// whose overrun resyncs the client; the rest are coalesced).
    async fn push(&mut self, e: Event) -> Sent {
        tokio::select! {
            () = self.api.shutdown.cancelled() => Sent::Gone,
            permit = self.tx.reserve() => match permit {
                Ok(p) => {
                    p.send(e);
                    Sent::Ok
                }
                Err(_) => Sent::Gone,
            },
        }
    }

    /// Sends the rows held back, as one `requests` event.
    async fn flush_rows(&mut self) -> Sent {
        self.rows_since = None;
        let rows: Vec<Arc<RequestRow>> = std::mem::take(&mut self.rows);
        let rows: Vec<&RequestRow> = rows.iter().map(|r| &**r).collect();
        self.push(event("requests", &rows)).await
    }

    async fn sellers_view(&mut self) -> SellersView {
        let Json(view) = sellers::list(State(self.api.proxy.clone())).await;
        self.cooldown_end = next_cooldown_end(&view);
        self.last_sellers = Instant::now();
        self.dirty = false;
        view
    }

    async fn snapshot(&mut self) -> Event {
        let proxy = self.api.proxy.clone();
        let routing = RoutingSettings::clone(&proxy.scheduler.routing.get());
        let state = proxy_state(&proxy);
        self.routing_sent = Some(routing.clone());
        self.proxy_sent = Some(state);
        self.agents_sent = Some(agents_body(&self.api.drift));
        let snapshot = Snapshot {
            sellers: self.sellers_view().await,
            routing,
            proxy: state,
            store: proxy.store.status(),
        };
        event("snapshot", &snapshot)
    }

    /// `routing` and `proxy` events for whichever changed.
    async fn settings_changed(&mut self) -> Sent {
        let proxy = &self.api.proxy;
        let routing = Some(RoutingSettings::clone(&proxy.scheduler.routing.get()));
        let state = Some(proxy_state(proxy));
        if routing != self.routing_sent {
            self.routing_sent = routing.clone();
            if let Sent::Gone = self.push(event("routing", &routing)).await {
                return Sent::Gone;
            }
        }
        if state != self.proxy_sent {
            self.proxy_sent = state;
            return self.push(event("proxy", &state)).await;
        }
        Sent::Ok
    }

    async fn agents_changed(&mut self) -> Sent {
        let body = Some(agents_body(&self.api.drift));
        if body == self.agents_sent {
            return Sent::Ok;
        }
        self.agents_sent = body.clone();
        self.push(event("agents", &body)).await
    }

    async fn run(mut self) {
        let api = self.api.clone();
        let mut rows = api.proxy.store.subscribe();
        let mut notices = api.notices.subscribe();
        let mut pulse = api.pulse.subscribe();
        let mut reloads = api.proxy.sellers.subscribe();
        let mut routing = api.routing.clone();
        let mut drift = api.drift.subscribe();
        // What is current now is in the snapshot.
        pulse.borrow_and_update();
        reloads.borrow_and_update();
        routing.borrow_and_update();
        drift.borrow_and_update();
        let first = self.snapshot().await;
        if let Sent::Gone = self.push(first).await {
            return;
        }
        // A closed source is left out rather than polled in a loop.
        let (mut rows_open, mut notices_open) = (true, true);
        let (mut pulse_open, mut reloads_open, mut routing_open, mut drift_open) =
            (true, true, true, true);
        loop {
            if self.lagged {
                // Whatever was missed is in the snapshot: skip the backlog.
                rows = rows.resubscribe();
                notices = notices.resubscribe();
                pulse.borrow_and_update();
                reloads.borrow_and_update();
                routing.borrow_and_update();
                drift.borrow_and_update();
                self.lagged = false;
                let snapshot = self.snapshot().await;
                if let Sent::Gone = self.push(snapshot).await {
                    return;
                }
                continue;
            }
            let flush_at = self.last_sellers + SELLERS_GAP;
            let rows_at = self.rows_since.map(|t| t + ROWS_GAP);
            let cooldown_end = self.cooldown_end;
            let sent = tokio::select! {
                () = api.shutdown.cancelled() => return,
                () = self.tx.closed() => return,
                row = rows.recv(), if rows_open => match row {
                    Ok(row) => {
                        self.dirty = true;
                        self.rows.push(row);
                        self.rows_since.get_or_insert_with(Instant::now);
                        if self.rows.len() >= ROWS_MAX { self.flush_rows().await } else { Sent::Ok }
                    }
                    Err(RecvError::Lagged(_)) => {
                        self.lagged = true;
                        Sent::Ok
                    }
                    Err(RecvError::Closed) => {
                        rows_open = false;
                        Sent::Ok
                    }
                },
                notice = notices.recv(), if notices_open => match notice {
                    Ok(n) => self.push(event("notice", &*n)).await,
                    Err(RecvError::Lagged(_)) => {
                        self.lagged = true;
                        Sent::Ok
                    }
                    Err(RecvError::Closed) => {
                        notices_open = false;
                        Sent::Ok
                    }
                },
                changed = pulse.changed(), if pulse_open => {
                    pulse_open = changed.is_ok();
                    self.dirty |= pulse_open;
                    Sent::Ok
                }
                changed = reloads.changed(), if reloads_open => {
                    reloads_open = changed.is_ok();
                    self.dirty |= reloads_open;
                    Sent::Ok
                }
                changed = routing.changed(), if routing_open => {
                    routing_open = changed.is_ok();
                    if routing_open { self.settings_changed().await } else { Sent::Ok }
                }
                changed = drift.changed(), if drift_open => {
                    drift_open = changed.is_ok();
                    if drift_open { self.agents_changed().await } else { Sent::Ok }
                }
                () = sleep_until_some(rows_at), if rows_at.is_some() => self.flush_rows().await,
                () = tokio::time::sleep_until(flush_at.into()), if self.dirty && self.rows.is_empty() => {
                    let view = self.sellers_view().await;
                    self.push(event("sellers", &view)).await
                }
                () = sleep_until_some(cooldown_end), if cooldown_end.is_some() => {
                    // A cooldown ended: the sellers read differently now.
                    self.cooldown_end = None;
                    self.dirty = true;
                    Sent::Ok
                }
            };
            if let Sent::Gone = sent {
                return;
            }
        }
    }
}

async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pulse_counts_without_receivers() {
        let p = Pulse::default();
        p.touch();
        let rx = p.subscribe();
        p.touch();
        assert_eq!(*rx.borrow(), 2);
    }
}
