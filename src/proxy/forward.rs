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

use super::commit::{next_body_chunk, read_until_commit, read_whole_body, Precommit, Primed};
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
use crate::scheduler::Candidate;
use crate::scheduler::Plan;
use crate::sellers::Seller;
use crate::translate::{self, Untranslatable, Via};
use axum::response::IntoResponse;
use serde_json::Value;

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

/// Request headers that belong to one protocol's API, not forwarded to a
/// seller of another protocol (it would not know them, or misread them).
const PROTOCOL_HEADERS: &[&str] = &["anthropic-version", "anthropic-beta", "openai-beta"];

/// The `anthropic-version` sent to an Anthropic seller reached through
/// translation (the client, speaking another protocol, sent none).
const ANTHROPIC_VERSION: &str = "2023-06-01";

fn forwarded_headers(
    client: &HeaderMap,
    seller: &Seller,
    protocol: Protocol,
    translated: bool,
) -> HeaderMap {
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
        if DROP_REQUEST.contains(&n)
            || listed.iter().any(|l| l == n)
            || (translated && PROTOCOL_HEADERS.contains(&n))
        {
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
    if translated && protocol.is_anthropic() {
        out.insert(
            HeaderName::from_static("anthropic-version"),
            HeaderValue::from_static(ANTHROPIC_VERSION),
        );
    }
    if translated || !out.contains_key(header::CONTENT_TYPE) {
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
    /// The body translated for each seller protocol the plan reaches
    /// through translation (with the client's model name), and the
    /// client's body as JSON, which the translators read.
    translations: &'a Translations,
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
    /// The translation the answer goes through, if the seller speaks
    /// another protocol (`protocol` is then the client's).
    via: Option<Via>,
    /// The client's request, for the translators.
    client_request: Option<&'a Value>,
}

/// A request's bodies for the sellers reached through translation.
#[derive(Default)]
struct Translations {
    /// The client's body as JSON (parsed only when some seller needs it).
    request: Option<Value>,
    /// Per translation: the seller's body, or why it cannot be made.
    bodies: Vec<(Via, Result<Bytes, Untranslatable>)>,
}

impl Translations {
    /// Translates `body` for every translation the candidates use; marks a
    /// candidate whose translation is impossible as excluded, with why.
    /// A Gemini client's body gets the path's `model` and `stream: true`
    /// (for `:streamGenerateContent`) added to the JSON the translators
    /// read (its own bytes, which a Gemini seller gets, stay as they are).
    fn prepare(
        body: &Bytes,
        model: &str,
        stream: bool,
        candidates: &mut [Candidate],
    ) -> Translations {
        let mut t = Translations::default();
        for c in candidates.iter_mut().filter(|c| c.excluded.is_none()) {
            let Some(via) = c.via else { continue };
            if !t.bodies.iter().any(|(v, _)| *v == via) {
                let request = t.request.get_or_insert_with(|| {
                    let mut v = serde_json::from_slice(body).unwrap_or(Value::Null);
                    if let (Protocol::Gemini, Some(o)) = (via.client, v.as_object_mut()) {
                        o.insert("model".into(), Value::from(model));
                        if stream {
                            o.insert("stream".into(), Value::Bool(true));
                        }
                    }
                    v
                });
                let made = translate::request(via, request, model)
                    .map(|v| Bytes::from(serde_json::to_vec(&v).unwrap_or_default()));
                t.bodies.push((via, made));
            }
            if let Some((_, Err(e))) = t.bodies.iter().find(|(v, _)| *v == via) {
                c.excluded = Some(format!("via translation {via}: {e}"));
            }
        }
        t
    }

    /// The seller's body for `via`, made by [`Translations::prepare`].
    fn body(&self, via: Via) -> Option<&Bytes> {
        self.bodies
            .iter()
            .find(|(v, _)| *v == via)
            .and_then(|(_, b)| b.as_ref().ok())
    }

    /// Every translation that could not be made, in words.
    fn refusals(&self) -> Vec<String> {
        self.bodies
            .iter()
            .filter_map(|(v, b)| {
                b.as_ref()
                    .err()
                    .map(|e| format!("via translation {v}: {e}"))
            })
            .collect()
    }
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
        let mut candidates = self.candidates(protocol, &head.model);
        if endpoint == Endpoint::CountTokens {
            // Counting is not translated: a seller of another protocol
            // has no such endpoint. With no seller that has it, TokenBuddy
            // answers an estimate, labelled as one.
            let native = candidates.iter().any(|c| c.via.is_none());
            let translatable = candidates
                .iter()
                .any(|c| c.via.is_some() && c.excluded.is_none());
            if !native && translatable {
                return self.estimated_count(protocol, &journey, &body);
            }
            candidates.retain(|c| c.via.is_none());
        }
        let translations = Translations::prepare(&body, &head.model, head.stream, &mut candidates);
        let decision = self.scheduler.decide(
            &self.pool,
            candidates,
            session_key(&headers, &head),
            head.previous_response_id.as_deref(),
            deciding,
        );
        let plan = &decision.plan;
        self.scheduler
            .metrics
            .selected(self.clock.now().saturating_duration_since(deciding));
        if plan.ranked.is_empty() {
            let refusals = translations.refusals();
            if !refusals.is_empty()
                && plan
                    .excluded
                    .iter()
                    .all(|e| e.reason.starts_with("via translation"))
            {
                // Only sellers of another protocol serve the model, and the
                // request uses what their protocol cannot carry.
                let message = format!(
                    "no seller speaks {protocol} for model \"{}\", and the request cannot be translated for the sellers that serve it ({})",
                    head.model,
                    refusals.join("; ")
                );
                let err =
                    ProxyError::new(StatusCode::BAD_REQUEST, "untranslatable", message, shape);
                return self.unanswered(&journey, err, OutcomeClass::BadRequest, &[]);
            }
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
            translations: &translations,
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
            translations,
        } = *out;
        let stats = Arc::clone(&at.stats);
        let Some(in_flight) = stats.try_begin(seller.max_concurrency) else {
            // Full: not the seller's fault, nothing to record.
            return Err(Failed::Full);
        };
        let upstream_model = seller.upstream_model(model).unwrap_or(model);
        let (sent_protocol, body) = match at.via {
            None => (protocol, body),
            Some(via) => match translations.body(via) {
                Some(translated) => (via.seller, translated),
                // Never planned: `Translations::prepare` excluded it.
                None => return Err(Failed::Full),
            },
        };
        let request = self
            .client
            .post(seller.url(&endpoint.upstream_path(sent_protocol, upstream_model, stream)))
            .headers(forwarded_headers(
                client_headers,
                seller,
                sent_protocol,
                at.via.is_some(),
            ))
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
                    via: at.via,
                    client_request: translations.request.as_ref(),
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
        let mut headers = response_headers(resp.headers(), seller);
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
            if request.via.is_some() {
                // The client's own mistake, said in its own protocol.
                let body = self
                    .error_body(&mut upstream, status, Shape::for_protocol(protocol))
                    .await;
                mark_translated(&mut headers, request.via, false);
                let tap = self.tap(request, false, status);
                let body = futures_util::stream::iter([Ok::<_, reqwest::Error>(body)]);
                return Ok(respond(
                    status,
                    headers,
                    metered(unread(body, protocol), tap),
                ));
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
        let Some(via) = request.via else {
            let precommit = if encoded && !is_sse {
                Precommit::Committed(unread(upstream, protocol))
            } else {
                self.until_commit(upstream, &request, is_sse).await
            };
            return self.committed(precommit, request, is_sse, status, headers);
        };
        if encoded {
            return Err((
                Outcome::NotAnAnswer,
                "a compressed answer cannot be translated".into(),
            ));
        }
        let ctx = super::translated::context(
            request.journey.model_asked(),
            request.client_request.cloned().unwrap_or(Value::Null),
            self.clock.wall(),
        );
        mark_translated(&mut headers, Some(via), is_sse);
        if is_sse {
            let Some(translator) = translate::stream(via, ctx) else {
                return Err((Outcome::NotAnAnswer, format!("no stream translation {via}")));
            };
            let upstream = super::translated::stream(upstream, translator);
            let precommit = self.until_commit(upstream, &request, true).await;
            return self.committed(precommit, request, true, status, headers);
        }
        let precommit = match read_whole_body(upstream, via.seller, idle, &self.shutdown).await {
            Precommit::Committed(primed) => {
                let whole = primed.prefix.concat();
                match translate::response(via, &ctx, &whole) {
                    Ok(body) => {
                        let mut meter = super::meter::Meter::new(protocol);
                        meter.set_usage(crate::protocol::event::body_usage(protocol, &body));
                        Precommit::Committed(Primed {
                            prefix: vec![Bytes::from(body)],
                            meter,
                            upstream: primed.upstream,
                        })
                    }
                    Err(e) => Precommit::Failed(Outcome::NotAnAnswer, e.to_string()),
                }
            }
            Precommit::Failed(outcome, why) => Precommit::Failed(outcome, why),
        };
        self.committed(precommit, request, false, status, headers)
    }

    /// Reads `upstream` (in the client's protocol) up to its commit point:
    /// a stream to its first semantic event, a body to its end.
    async fn until_commit<S, E>(
        &self,
        upstream: S,
        request: &OnItsWay<'_>,
        is_sse: bool,
    ) -> Precommit<S>
    where
        S: futures_util::Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let idle = self.timeouts.idle;
        if !is_sse {
            // A whole body: judged before it is committed (an error object
            // or an HTML page with a 200 is no answer).
            return read_whole_body(upstream, request.protocol, idle, &self.shutdown).await;
        }
        let ttft_limit = (!request.last).then_some(self.timeouts.ttft);
        read_until_commit(
            upstream,
            request.protocol,
            &*self.clock,
            request.sent,
            ttft_limit,
            idle,
            &self.shutdown,
        )
        .await
    }

    /// A committed answer becomes the client's response (a failed one, the
    /// next seller's turn).
    fn committed<S, E>(
        &self,
        precommit: Precommit<S>,
        request: OnItsWay<'_>,
        is_sse: bool,
        status: StatusCode,
        headers: HeaderMap,
    ) -> Result<Response<Body>, (Outcome, String)>
    where
        S: futures_util::Stream<Item = Result<Bytes, E>> + Send + Unpin + 'static,
        E: std::fmt::Display + Send + 'static,
    {
        let primed = match precommit {
            Precommit::Committed(primed) => primed,
            Precommit::Failed(outcome, why) => return Err((outcome, why)),
        };
        request.stats.record_success(self.clock.now());
        if let Some(id) = primed.meter.response_id() {
            // Hard affinity holds whatever the routing: epoch 0, never compared.
            self.scheduler.responses.bind(
                sticky::response_key(id),
                &request.seller.id,
                0,
                self.clock.now(),
            );
        }
        let tap = self.tap(request, is_sse, status);
        Ok(respond(status, headers, metered(primed, tap)))
    }

    /// A translated seller's error body, read (at most [`MAX_ERROR_BODY`]
    /// bytes, within the idle limit) and said again in the client's shape
    /// with the same status and the seller's message.
    async fn error_body<S, E>(&self, upstream: &mut S, status: StatusCode, shape: Shape) -> Bytes
    where
        S: futures_util::Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let mut whole = Vec::new();
        while whole.len() < MAX_ERROR_BODY {
            match next_body_chunk(upstream, self.timeouts.idle, &self.shutdown).await {
                Ok(Some(chunk)) => whole.extend_from_slice(&chunk),
                _ => break,
            }
        }
        let message = super::translated::error_message(&whole)
            .unwrap_or_else(|| format!("the seller answered HTTP {}", status.as_u16()));
        let err = ProxyError::new(status, "upstream_error", message, shape);
        Bytes::from(serde_json::to_vec(&err.body()).unwrap_or_default())
    }

    /// Answers `count_tokens` with an estimate when no seller can count
    /// (only sellers of another protocol serve the model), labelled as one
    /// in `x-tokenbuddy-token-count`.
    fn estimated_count(
        &self,
        protocol: Protocol,
        journey: &Journey,
        body: &Bytes,
    ) -> Response<Body> {
        let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let tokens = translate::estimate::input_tokens(&request);
        let now = self.clock.now();
        (self.records)(journey.unanswered(200, OutcomeClass::Estimated, &[], now));
        let answer = match protocol {
            Protocol::Gemini => serde_json::json!({ "totalTokens": tokens }),
            _ => serde_json::json!({ "input_tokens": tokens }),
        };
        let mut resp = axum::Json(answer).into_response();
        resp.headers_mut().insert(
            HeaderName::from_static("x-tokenbuddy-token-count"),
            HeaderValue::from_static(translate::estimate::LABEL),
        );
        resp.extensions_mut().insert(Shaped);
        resp
    }

    /// What the pass-through of one committed response needs.
    fn tap(&self, request: OnItsWay<'_>, is_sse: bool, status: StatusCode) -> TapContext {
        let finish = Finish {
            journey: request.journey.clone(),
            trail: request.trail.to_vec(),
            seller: Arc::clone(request.seller),
            model_sent: request.model_sent.to_string(),
            via: request.via,
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

/// Most bytes of a translated seller's error body read for its message.
const MAX_ERROR_BODY: usize = 64 << 10;

/// Labels a translated answer: `x-tokenbuddy-via` says the translation,
/// and the content type is the one of the body the client now gets.
fn mark_translated(headers: &mut HeaderMap, via: Option<Via>, is_sse: bool) {
    let Some(via) = via else { return };
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{} <- {}",
        translate::short(via.seller),
        translate::short(via.client)
    )) {
        headers.insert(HeaderName::from_static("x-tokenbuddy-via"), v);
    }
    let kind = if is_sse {
        "text/event-stream"
    } else {
        "application/json"
    };
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    // The seller's request ids and rate-limit headers stay; its body's
    // length and encoding described bytes the client does not get.
    headers.remove(header::CONTENT_ENCODING);
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
        "no seller may take model \"{model}\" now ({}); change the routing in the control panel or with PUT /api/routing",
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
