//! One client request: pick the sellers that can serve it, send it to the
//! first healthy one, and fail over to the next on a failure before any byte
//! reached the client. (The scheduler issue replaces "first healthy in file
//! order" with scored selection.)

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Response, StatusCode};
use bytes::Bytes;
use futures_util::StreamExt;

use super::commit::{next_body_chunk, read_until_commit, read_whole_body, Precommit};
use super::failover::{Failover, Failure, Try};
use super::journey::Journey;
use super::outcome::{classify, Outcome, OutcomeClass, SHUTTING_DOWN};
use super::request::{read_head_at, session_key, upstream_body, PathHead};
use super::respond::{ProxyError, Shape, Shaped};
use super::stream::{metered, unread, Finish, TapContext};
use super::Proxy;
use crate::pool::{capacity, InFlight, SellerStats};
use crate::protocol::sse::looks_like_sse;
use crate::protocol::Protocol;
use crate::scheduler::sticky;
use crate::scheduler::Plan;
use crate::sellers::Seller;

/// Which endpoint of a protocol the client called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// The generation endpoint (`Protocol::path`).
    Generate,
    /// Anthropic's `/v1/messages/count_tokens`, Gemini's `:countTokens`.
    CountTokens,
}

impl Endpoint {
    /// The path the request log shows (Gemini's names the action, not the model).
    fn path(self, protocol: Protocol) -> &'static str {
        match (self, protocol) {
            (Endpoint::Generate, Protocol::Gemini) => "/v1beta/models:generateContent",
            (Endpoint::CountTokens, Protocol::Gemini) => "/v1beta/models:countTokens",
            (Endpoint::Generate, _) => protocol.path(),
            (Endpoint::CountTokens, _) => "/v1/messages/count_tokens",
        }
    }

    /// The path (and query) below a seller's base URL: Gemini's names the
    /// upstream model and the action, and asks streams for SSE.
    fn upstream_path(self, protocol: Protocol, upstream_model: &str, stream: bool) -> String {
        match (self, protocol) {
            (Endpoint::CountTokens, Protocol::Gemini) => {
                Protocol::gemini_path(upstream_model, "countTokens")
            }
            (Endpoint::Generate, Protocol::Gemini) if stream => {
                Protocol::gemini_path(upstream_model, "streamGenerateContent")
            }
            (Endpoint::Generate, Protocol::Gemini) => {
                Protocol::gemini_path(upstream_model, "generateContent")
            }
            _ => self.path(protocol).to_string(),
        }
    }
}

/// Longest wait for a full seller's slot when no other seller is left.
pub const SLOT_WAIT: Duration = Duration::from_secs(2);

/// Request headers never forwarded: hop-by-hop, ours (auth), and those the
/// HTTP client sets itself.
const DROP_REQUEST: &[&str] = &[
    "host",
    "content-length",
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "authorization",
    "x-api-key",
    "x-goog-api-key",
    "api-key",
    // Upstream bodies must arrive uncompressed so the meter can read them.
    "accept-encoding",
];

/// Response headers never passed back.
const DROP_RESPONSE: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
];

fn forwarded_headers(client: &HeaderMap, seller: &Seller, protocol: Protocol) -> HeaderMap {
    // Headers named in `Connection` are hop-by-hop too.
    let listed: Vec<String> = client
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .collect();
    let mut out = HeaderMap::with_capacity(client.len() + 1);
    for (name, value) in client {
        let n = name.as_str();
        if DROP_REQUEST.contains(&n) || listed.iter().any(|l| l == n) {
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    let key = seller.api_key.expose();
    if protocol.is_anthropic() || protocol == Protocol::Gemini {
        let name = match protocol {
            Protocol::Gemini => "x-goog-api-key",
            _ => "x-api-key",
        };
        if let Ok(v) = HeaderValue::from_str(key) {
            out.insert(HeaderName::from_static(name), v);
        }
    } else if let Ok(v) = HeaderValue::from_str(&format!("Bearer {key}")) {
        out.insert(header::AUTHORIZATION, v);
    }
    if !out.contains_key(header::CONTENT_TYPE) {
        out.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    out
}

/// Why one try did not give the client a response.
enum Failed {
    /// The seller was at its `max_concurrency` (nobody's fault).
    Full,
    /// The seller failed before the commit point: try the next one.
    Outcome(Outcome, String),
}

/// What every attempt of one request sends.
struct Outgoing<'a> {
    protocol: Protocol,
    endpoint: Endpoint,
    headers: &'a HeaderMap,
    body: &'a Bytes,
    model: &'a str,
    /// The client asked for a stream (Gemini: in the path, so in the URL).
    stream: bool,
    /// The request so far, for its row in the request log.
    journey: &'a Journey,
}

/// One attempt whose request went out to a seller.
struct OnItsWay<'a> {
    seller: &'a Arc<Seller>,
    protocol: Protocol,
    stats: Arc<SellerStats>,
    /// The seller's slot, held until the response body ends.
    in_flight: InFlight,
    /// When the request was sent.
    sent: Instant,
    /// No other seller is left (never cut it off).
    last: bool,
    /// The model name sent.
    model_sent: &'a str,
    /// The request so far, and the sellers that failed it before this one.
    journey: &'a Journey,
    trail: &'a [Failure],
}

impl Proxy {
    /// Serves one request of `protocol` at `endpoint`.
    pub async fn handle(
        &self,
        protocol: Protocol,
        endpoint: Endpoint,
        headers: HeaderMap,
        body: Bytes,
    ) -> Response<Body> {
        self.handle_at(protocol, endpoint, headers, body, None)
            .await
    }

    /// [`Proxy::handle`] for a protocol that names the model and the
    /// stream flag in the path (`path`), not in the body.
    pub async fn handle_at(
        &self,
        protocol: Protocol,
        endpoint: Endpoint,
        headers: HeaderMap,
        body: Bytes,
        path: Option<PathHead>,
    ) -> Response<Body> {
        let shape = Shape::for_path(endpoint.path(protocol));
        let mut journey = Journey::begin(
            self.clock.now(),
            self.clock.wall(),
            super::client_agent::identify(&headers),
            protocol,
            endpoint.path(protocol),
        );
        let head = match read_head_at(&body, path.as_ref()) {
            Ok(h) => h,
            Err(e) => {
                let err = ProxyError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    e.to_string(),
                    shape,
                );
                return self.unanswered(&journey, err, OutcomeClass::BadRequest, &[]);
            }
        };
        journey.asked(&head.model, head.stream);
        let deciding = self.clock.now();
        let decision = self.scheduler.decide(
            &self.pool,
            self.candidates(protocol, &head.model),
            session_key(&headers, &head),
            head.previous_response_id.as_deref(),
            deciding,
        );
        let plan = &decision.plan;
        self.scheduler
            .metrics
            .selected(self.clock.now().saturating_duration_since(deciding));
        if plan.ranked.is_empty() {
            let err = no_seller(&head.model, protocol, plan, self.sellers.path(), shape);
            return self.unanswered(&journey, err, OutcomeClass::NoSeller, &[]);
        }

        let outgoing = Outgoing {
            protocol,
            endpoint,
            headers: &headers,
            body: &body,
            model: &head.model,
            stream: head.stream,
            journey: &journey,
        };
        let mut failover = Failover::new(&decision, deciding, self.timeouts.failover_budget);
        while let Some(at) = failover.next(&self.pool, self.clock.now()) {
            if let (true, Some(max)) = (at.step.last_resort, at.seller.max_concurrency) {
                at.stats.wait_for_slot(max, SLOT_WAIT).await;
            }
            match self.attempt(&at, &outgoing, failover.trail()).await {
                Ok(resp) => {
                    failover.served(&self.scheduler, &at, self.clock.now());
                    if !failover.trail().is_empty() {
                        let trail = failover.trail_text();
                        tracing::info!(%trail, served_by = %at.seller.id, "served after failover");
                        self.notices.raise(
                            crate::notices::NoticeKind::Failover,
                            Some(at.seller.id.as_str()),
                            format!("served by {} after {trail}", at.seller.id),
                        );
                    }
                    return resp;
                }
                Err(Failed::Full) => failover.full(&at),
                Err(Failed::Outcome(outcome, why)) => {
                    let now = self.clock.now();
                    let (verdict, f) = failover.failed(&at, outcome, why, now, self.clock.wall());
                    if !verdict.failover {
                        // Only our own shutdown ends a try before the commit
                        // point with no next seller: nobody's fault, and said so.
                        let err = ProxyError::new(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "shutting_down",
                            format!("{}: send the request again once it is back", f.why),
                            shape,
                        );
                        let trail = failover.trail();
                        return self.unanswered(&journey, err, OutcomeClass::Shutdown, trail);
                    }
                    tracing::info!(seller = %f.seller, cause = %f.why, "failing over to the next seller");
                }
            }
        }
        failover.exhausted(&self.scheduler);
        tracing::warn!(model = %head.model, trail = %failover.trail_text(), "every seller failed");
        let err = all_failed(&head.model, &failover, shape);
        let class = match err.status {
            StatusCode::TOO_MANY_REQUESTS => OutcomeClass::RateLimited,
            _ => OutcomeClass::AllFailed,
        };
        self.unanswered(&journey, err, class, failover.trail())
    }

    /// Logs a request no seller answered and turns its error into the response.
    fn unanswered(
        &self,
        journey: &Journey,
        err: ProxyError,
        class: OutcomeClass,
        trail: &[Failure],
    ) -> Response<Body> {
        let now = self.clock.now();
        (self.records)(journey.unanswered(err.status.as_u16(), class, trail, now));
        err.into_response_body()
    }

    /// Sends to one seller. `Ok` is a response for the client (committed
    /// content, or an error that is the client's own); `Err` means try the
    /// next seller. `last`: no other seller is left (never cut it off).
    async fn attempt(
        &self,
        at: &Try,
        out: &Outgoing<'_>,
        trail: &[Failure],
    ) -> Result<Response<Body>, Failed> {
        let (seller, last) = (&at.seller, at.step.last);
        let Outgoing {
            protocol,
            endpoint,
            headers: client_headers,
            body,
            model,
            stream,
            journey,
        } = *out;
        let stats = Arc::clone(&at.stats);
        let Some(in_flight) = stats.try_begin(seller.max_concurrency) else {
            // Full: not the seller's fault, nothing to record.
            return Err(Failed::Full);
        };
        let upstream_model = seller.upstream_model(model).unwrap_or(model);
        let request = self
            .client
            .post(seller.url(&endpoint.upstream_path(protocol, upstream_model, stream)))
            .headers(forwarded_headers(client_headers, seller, protocol))
            .body(upstream_body(body, model, upstream_model));
        let sent = self.clock.now();
        let result = tokio::select! {
            biased;
            () = self.shutdown.cancelled() => None,
            r = tokio::time::timeout(self.timeouts.headers, request.send()) => Some(r),
        };
        let (outcome, why) = match result {
            None => (Outcome::Shutdown, SHUTTING_DOWN.to_string()),
            Some(Err(_)) => (Outcome::Timeout, "no response in time".to_string()),
            Some(Ok(Err(e))) if e.is_connect() => (
                Outcome::Connect,
                format!("cannot connect ({})", root_cause(&e)),
            ),
            Some(Ok(Err(e))) if e.is_timeout() => {
                (Outcome::Timeout, "connect timed out".to_string())
            }
            Some(Ok(Err(e))) => (
                Outcome::Connect,
                format!("request failed ({})", root_cause(&e)),
            ),
            Some(Ok(Ok(resp))) => {
                let on_its_way = OnItsWay {
                    seller,
                    protocol,
                    stats: Arc::clone(&stats),
                    in_flight,
                    sent,
                    last,
                    model_sent: upstream_model,
                    journey,
                    trail,
                };
                let answer = self.answered(resp, on_its_way).await;
                match answer {
                    Ok(resp) => return Ok(resp),
                    Err(failed) => failed,
                }
            }
        };
        Err(Failed::Outcome(outcome, why))
    }

    /// Reads a seller's answer up to its commit point. `Ok`: the response
    /// for the client (committed content, or an error that is the client's
    /// own); `Err`: how it failed, to try the next seller.
    async fn answered(
        &self,
        resp: reqwest::Response,
        request: OnItsWay<'_>,
    ) -> Result<Response<Body>, (Outcome, String)> {
        let (seller, protocol) = (request.seller, request.protocol);
        let status = resp.status();
        let headers = response_headers(resp.headers(), seller);
        let labelled_sse = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        let outcome = Outcome::Status {
            code: status.as_u16(),
            retry_after: capacity::hinted_block(resp.headers(), self.clock.wall()),
        };
        let why = status_cause(status, resp.headers());
        let mut upstream = Box::pin(resp.bytes_stream());
        if !status.is_success() {
            if classify(outcome).failover {
                return Err((outcome, why));
            }
            // The client's own mistake: as is.
            let tap = self.tap(request, false, status);
            return Ok(respond(
                status,
                headers,
                metered(unread(upstream, protocol), tap),
            ));
        }
        let idle = self.timeouts.idle;
        // An event stream whatever its label (some sellers say `text/plain`
        // or nothing): streaming must not turn into holding a whole body.
        // A compressed body (we never ask for one) cannot be read: as is.
        let encoded = headers
            .get(header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|e| !e.eq_ignore_ascii_case("identity"));
        let first = match labelled_sse || encoded {
            true => None,
            false => next_body_chunk(&mut upstream, idle, &self.shutdown).await?,
        };
        let is_sse = labelled_sse || first.as_deref().is_some_and(looks_like_sse);
        let upstream = futures_util::stream::iter(first.map(Ok)).chain(upstream);
        let precommit = if encoded && !is_sse {
            Precommit::Committed(unread(upstream, protocol))
        } else if is_sse {
            let ttft_limit = (!request.last).then_some(self.timeouts.ttft);
            read_until_commit(
                upstream,
                protocol,
                &*self.clock,
                request.sent,
                ttft_limit,
                idle,
                &self.shutdown,
            )
            .await
        } else {
            // A whole body: judged before it is committed (an error object
            // or an HTML page with a 200 is no answer).
            read_whole_body(upstream, protocol, idle, &self.shutdown).await
        };
        let primed = match precommit {
            Precommit::Committed(primed) => primed,
            Precommit::Failed(outcome, why) => return Err((outcome, why)),
        };
        request.stats.record_success(self.clock.now());
        if let Some(id) = primed.meter.response_id() {
            // Hard affinity holds whatever the routing: epoch 0, never compared.
            self.scheduler.responses.bind(
                sticky::response_key(id),
                &seller.id,
                0,
                self.clock.now(),
            );
        }
        let tap = self.tap(request, is_sse, status);
        Ok(respond(status, headers, metered(primed, tap)))
    }

    /// What the pass-through of one committed response needs.
    fn tap(&self, request: OnItsWay<'_>, is_sse: bool, status: StatusCode) -> TapContext {
        let finish = Finish {
            journey: request.journey.clone(),
            trail: request.trail.to_vec(),
            seller: Arc::clone(request.seller),
            model_sent: request.model_sent.to_string(),
            status: status.as_u16(),
            sink: Arc::clone(&self.records),
        };
        TapContext {
            finish,
            protocol: request.protocol,
            is_sse,
            sent: request.sent,
            stats: request.stats,
            in_flight: request.in_flight,
            clock: Arc::clone(&self.clock),
            idle: self.timeouts.idle,
            shutdown: self.shutdown.clone(),
        }
    }
}

/// Why a status sends the request on: the code, and for a redirect where
/// to (without its query) and what to fix.
fn status_cause(status: StatusCode, headers: &HeaderMap) -> String {
    let code = status.as_u16();
    if !status.is_redirection() {
        return format!("HTTP {code}");
    }
    let to = headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(|l| l.split(['?', '#']).next().unwrap_or_default())
        .map(|l| format!(" to {l}"))
        .unwrap_or_default();
    format!("HTTP {code} redirect{to} (not followed: check the seller's base_url)")
}

/// The seller's response headers minus hop-by-hop ones, plus which seller answered.
fn response_headers(upstream: &HeaderMap, seller: &Seller) -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(upstream.len() + 1);
    for (name, value) in upstream {
        if !DROP_RESPONSE.contains(&name.as_str()) {
            headers.append(name.clone(), value.clone());
        }
    }
    if let Ok(v) = HeaderValue::from_str(seller.id.as_str()) {
        headers.insert(HeaderName::from_static("x-tokenbuddy-seller"), v);
    }
    headers
}

fn respond<S>(status: StatusCode, headers: HeaderMap, body: S) -> Response<Body>
where
    S: futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
{
    let mut out = Response::new(Body::from_stream(body));
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    // The seller's own answer: never rewritten into ours.
    out.extensions_mut().insert(Shaped);
    out
}

/// The error when no seller may take the request: none serves the model, or
/// the routing mode excludes all that do.
fn no_seller(
    model: &str,
    protocol: Protocol,
    plan: &Plan,
    sellers_file: &std::path::Path,
    shape: Shape,
) -> ProxyError {
    if plan.excluded.is_empty() {
        let message = format!(
            "no seller configured for model \"{model}\" with protocol {protocol} (add one to {})",
            sellers_file.display()
        );
        return ProxyError::new(StatusCode::NOT_FOUND, "model_not_found", message, shape);
    }
    let why: Vec<String> = plan
        .excluded
        .iter()
        .map(|e| format!("{}: {}", e.seller, e.reason))
        .collect();
    let message = format!(
        "the routing mode allows no seller for model \"{model}\" ({}); change it in the control panel or with PUT /api/routing",
        why.join("; ")
    );
    ProxyError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "no_eligible_seller",
        message,
        shape,
    )
}

/// The error when every candidate failed: names each seller and why.
fn all_failed(model: &str, failover: &Failover<'_>, shape: Shape) -> ProxyError {
    let failures = failover.trail();
    let detail = failover.trail_text();
    let message = format!(
        "all {} seller(s) for model \"{model}\" failed: {}",
        failures.len(),
        detail
    );
    let all_rate_limited = !failures.is_empty() && failures.iter().all(|f| f.rate_limited);
    let mut err = if all_rate_limited {
        ProxyError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            message,
            shape,
        )
    } else {
        ProxyError::new(
            StatusCode::BAD_GATEWAY,
            "all_sellers_failed",
            message,
            shape,
        )
    };
    if all_rate_limited {
        err.retry_after = failures
            .iter()
            .filter_map(|f| f.retry_after)
            .min()
            .map(|d| d.as_secs().max(1));
    }
    err
}

/// The innermost error's text (reqwest's top level just says "error sending request").
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

impl ProxyError {
    /// As an axum response.
    pub fn into_response_body(self) -> Response<Body> {
        axum::response::IntoResponse::into_response(self)
    }
}
