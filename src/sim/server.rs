//! The simulated seller's HTTP server: routing, failure injection, holding
//! streams on request, and recording every request, the exact bytes
//! answered, and every response body the client dropped before its end.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use axum::serve::ListenerExt;
use axum::Router;
use bytes::Bytes;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::behavior::{Behavior, Failure, ModelsAnswer};
use super::play;
use super::reply::{cache_tokens, tokens, Reply, RequestFields};
use super::{anthropic_messages, gemini, openai_chat, openai_responses};
use crate::protocol::Protocol;

/// One request the simulated seller received, with the bytes it answered.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// Path, e.g. `/v1/messages`.
    pub path: String,
    /// The query string without `?`, if any.
    pub query: Option<String>,
    /// Headers, names lower-case, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The request body as received.
    pub body: Bytes,
    /// The body's `model`, if any.
    pub model: Option<String>,
    /// The body's `stream` flag.
    pub stream: bool,
    response: Arc<Mutex<Vec<u8>>>,
}

impl RecordedRequest {
    /// The response body bytes sent so far (all of them once it has ended).
    pub fn response_bytes(&self) -> Vec<u8> {
        lock(&self.response).clone()
    }

    /// A header's value by lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Source of reply ids, shared by all simulated sellers.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

struct Shared {
    behavior: Mutex<Behavior>,
    models: Mutex<ModelsAnswer>,
    requests: Mutex<Vec<RecordedRequest>>,
    count: AtomicU64,
    /// Responses being sent now, and the most ever at once.
    active: AtomicU64,
    max_active: AtomicU64,
    held: watch::Sender<bool>,
    /// Response bodies dropped by the client before their end.
    cancelled: watch::Sender<u64>,
}

/// A handle on a simulated seller's request log that outlives borrows of it.
#[derive(Clone)]
pub struct RequestLog {
    shared: Arc<Shared>,
}

impl RequestLog {
    /// Every request received, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }
}

/// A running simulated seller on 127.0.0.1.
pub struct SimSeller {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

/// Holds streams after their first token until released or dropped.
pub struct Hold {
    held: watch::Sender<bool>,
}

impl Hold {
    /// Lets held streams go on.
    pub fn release(self) {}
}

impl Drop for Hold {
    fn drop(&mut self) {
        self.held.send_replace(false);
    }
}

impl SimSeller {
    /// Starts a simulated seller on a free loopback port.
    pub async fn start(behavior: Behavior) -> std::io::Result<SimSeller> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let (held, _) = watch::channel(false);
        let (cancelled, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            cancelled,
            behavior: Mutex::new(behavior),
            models: Mutex::new(ModelsAnswer::default()),
            requests: Mutex::new(Vec::new()),
            count: AtomicU64::new(0),
            active: AtomicU64::new(0),
            max_active: AtomicU64::new(0),
            held,
        });
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app)
                .with_graceful_shutdown(async move { stopped.cancelled().await });
            if let Err(e) = serve.await {
                tracing::warn!(error = %e, "simulated seller stopped");
            }
        });
        Ok(SimSeller {
            addr,
            shared,
            stop,
            task,
        })
    }

    /// Sets what `GET /v1/models` answers from now on.
    pub fn set_models(&self, answer: ModelsAnswer) {
        *lock(&self.shared.models) = answer;
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>` (no `/v1`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Changes the behaviour for the next requests.
    pub fn set_behavior(&self, behavior: Behavior) {
        *lock(&self.shared.behavior) = behavior;
    }

    /// The current behaviour.
    pub fn behavior(&self) -> Behavior {
        lock(&self.shared.behavior).clone()
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// A shareable handle on the request log.
    pub fn log(&self) -> RequestLog {
        RequestLog {
            shared: Arc::clone(&self.shared),
        }
    }

    /// The most responses this seller was ever sending at once.
    pub fn max_concurrent(&self) -> u64 {
        self.shared.max_active.load(Ordering::Relaxed)
    }

    /// How many requests arrived.
    pub fn request_count(&self) -> usize {
        lock(&self.shared.requests).len()
    }

    /// How many response bodies the client dropped before their end (it
    /// went away, or cancelled the request).
    pub fn cancelled(&self) -> u64 {
        *self.shared.cancelled.borrow()
    }

    /// Waits until at least `n` response bodies were dropped before their end.
    pub async fn wait_cancelled(&self, n: u64) {
        let mut rx = self.shared.cancelled.subscribe();
        // The sender lives in `shared`, as long as `self`: this cannot fail.
        let _ = rx.wait_for(|c| *c >= n).await;
    }

    /// Holds streams after their first token until the [`Hold`] is released.
    pub fn hold(&self) -> Hold {
        self.shared.held.send_replace(true);
        Hold {
            held: self.shared.held.clone(),
        }
    }

    /// Stops accepting and closes connections.
    pub async fn shutdown(self) {
        self.shared.held.send_replace(false);
        self.stop.cancel();
        self.task.abort();
        let _ = self.task.await;
    }
}

/// A loopback port with nothing listening (connections are refused).
pub async fn closed_port() -> u16 {
    match TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await {
        Ok(l) => l.local_addr().map(|a| a.port()).unwrap_or(9),
        // Port 9 (discard) is practically never served on loopback.
        Err(_) => 9,
    }
}

fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

fn error_body(protocol: Protocol, code: u16, message: &str) -> Value {
    match protocol {
        Protocol::OpenAiChat => openai_chat::error(code, message),
        Protocol::OpenAiResponses => openai_responses::error(code, message),
        Protocol::AnthropicMessages => anthropic_messages::error(code, message),
        Protocol::Gemini => gemini::error(code, message),
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    // Gemini names the model and the action (so the stream flag) in the path.
    let gemini_call = (method == Method::POST)
        .then(|| gemini::model_action(&path))
        .flatten()
        .map(|(m, a)| (m.to_string(), a.to_string()));
    let (protocol, count_tokens) = match (method.clone(), path.as_str()) {
        _ if gemini_call.is_some() => {
            let action = gemini_call.as_ref().map(|(_, a)| a.as_str());
            match action {
                Some("generateContent" | "streamGenerateContent") => (Protocol::Gemini, false),
                Some("countTokens") => (Protocol::Gemini, true),
                _ => {
                    let e = gemini::error(404, &format!("no route {method} {path}"));
                    return json_response(StatusCode::NOT_FOUND, &e);
                }
            }
        }
        (Method::POST, "/v1/chat/completions") => (Protocol::OpenAiChat, false),
        (Method::POST, "/v1/responses") => (Protocol::OpenAiResponses, false),
        (Method::POST, "/v1/messages") => (Protocol::AnthropicMessages, false),
        (Method::POST, "/v1/messages/count_tokens") => (Protocol::AnthropicMessages, true),
        (Method::GET, "/v1/models" | "/v1beta/models") => {
            let answer = lock(&shared.models).clone();
            let gemini_list = path == "/v1beta/models";
            let (status, text) = match answer {
                ModelsAnswer::List(ids) if gemini_list => {
                    (StatusCode::OK, gemini::models(&ids).to_string())
                }
                ModelsAnswer::List(ids) => {
                    let data: Vec<Value> = ids
                        .iter()
                        .map(|id| serde_json::json!({"id": id, "object": "model", "created": 0, "owned_by": "sim"}))
                        .collect();
                    let list = serde_json::json!({"object": "list", "data": data});
                    (StatusCode::OK, list.to_string())
                }
                ModelsAnswer::Status(code) => (
                    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                    openai_chat::error(code, "models unavailable").to_string(),
                ),
                ModelsAnswer::Body(text) => (StatusCode::OK, text),
            };
            let response = Arc::new(Mutex::new(text.clone().into_bytes()));
            lock(&shared.requests).push(RecordedRequest {
                method: method.to_string(),
                path,
                query: uri.query().map(str::to_string),
                headers: header_pairs(&headers),
                body,
                model: None,
                stream: false,
                response,
            });
            let mut reply = Response::new(Body::from(text));
            *reply.status_mut() = status;
            reply.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            return reply;
        }
        _ => {
            let e = openai_chat::error(404, &format!("no route {method} {path}"));
            return json_response(StatusCode::NOT_FOUND, &e);
        }
    };
    let mut fields: RequestFields = match serde_json::from_slice(&body) {
        Ok(f) => f,
        Err(e) => {
            let e = error_body(protocol, 400, &format!("invalid JSON body: {e}"));
            return json_response(StatusCode::BAD_REQUEST, &e);
        }
    };
    if let Some((model, action)) = &gemini_call {
        fields.model = Some(model.clone());
        fields.stream = Some(action == "streamGenerateContent");
    }
    let seq = shared.count.fetch_add(1, Ordering::Relaxed) + 1;
    let behavior = lock(&shared.behavior).clone();
    let response = Arc::new(Mutex::new(Vec::new()));
    let stream = fields.stream.unwrap_or(false);
    lock(&shared.requests).push(RecordedRequest {
        method: method.to_string(),
        path,
        query: uri.query().map(str::to_string),
        headers: header_pairs(&headers),
        body: body.clone(),
        model: fields.model.clone(),
        stream,
        response: Arc::clone(&response),
    });

    let injected = match &behavior.failure {
        Some(Failure::Status {
            code,
            retry_after_secs,
        }) => Some((*code, *retry_after_secs)),
        Some(Failure::EveryNth { n, code }) if *n > 0 && seq % n == 0 => Some((*code, None)),
        _ => None,
    };
    if let Some(resp) = odd_answer(
        protocol,
        behavior.failure.as_ref(),
        &path_of(&uri),
        &response,
    ) {
        return resp;
    }
    if let Some((code, retry_after)) = injected {
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let text = error_body(protocol, code, &format!("simulated failure {code}")).to_string();
        lock(&response).extend_from_slice(text.as_bytes());
        let mut resp = json_response(status, &Value::Null);
        *resp.body_mut() = Body::from(text);
        if let Some(secs) = retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        return resp;
    }

    let input_tokens = (body.len() as u64 / 4).max(1);
    if count_tokens {
        let v = match protocol {
            Protocol::Gemini => gemini::count_tokens(input_tokens),
            _ => anthropic_messages::count_tokens(input_tokens),
        };
        lock(&response).extend_from_slice(v.to_string().as_bytes());
        return json_response(StatusCode::OK, &v);
    }
    let (cache_read, cache_write) = cache_tokens(&behavior, protocol, &body, input_tokens);
    let reply = Reply {
        model: fields.model.unwrap_or_else(|| "sim".to_string()),
        // Ids unique across every simulated seller in the process, as real
        // ids are: `previous_response_id` must name one seller's response.
        seq: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        input_tokens,
        cache_read,
        cache_write,
        tokens: tokens(behavior.tokens),
        include_usage: fields
            .stream_options
            .and_then(|o| o.include_usage)
            .unwrap_or(false),
        created: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    };
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    let held = shared.held.subscribe();
    let mislabelled = matches!(behavior.failure, Some(Failure::MislabelledStream));
    let content_type = if stream {
        let script = match protocol {
            Protocol::OpenAiChat => openai_chat::script(&reply),
            Protocol::OpenAiResponses => openai_responses::script(&reply),
            Protocol::AnthropicMessages => anthropic_messages::script(&reply),
            Protocol::Gemini => gemini::script(&reply),
        };
        let first_error =
            matches!(behavior.failure, Some(Failure::FirstEventError)).then(|| match protocol {
                Protocol::OpenAiChat => openai_chat::error_event("simulated stream error"),
                Protocol::OpenAiResponses => {
                    openai_responses::error_event("simulated stream error")
                }
                Protocol::AnthropicMessages => {
                    anthropic_messages::error_event("simulated stream error")
                }
                Protocol::Gemini => gemini::error_event("simulated stream error"),
            });
        let active = Active::enter(&shared);
        tokio::spawn(async move {
            let _active = active;
            play::stream(script, first_error, behavior, held, response, tx).await;
        });
        if mislabelled {
            "text/plain; charset=utf-8"
        } else {
            "text/event-stream"
        }
    } else {
        let body = match protocol {
            Protocol::OpenAiChat => openai_chat::body(&reply),
            Protocol::OpenAiResponses => openai_responses::body(&reply),
            Protocol::AnthropicMessages => anthropic_messages::body(&reply),
            Protocol::Gemini => gemini::body(&reply),
        };
        let active = Active::enter(&shared);
        tokio::spawn(async move {
            let _active = active;
            play::body(body.to_string(), behavior, response, tx).await;
        });
        "application/json"
    };
    let body = Watched {
        rx,
        cut: None,
        ended: false,
        shared: Arc::clone(&shared),
    };
    let mut resp = Response::new(Body::from_stream(body));
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if stream {
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    resp
}

/// A response body's channel that notes being dropped before its end.
struct Watched {
    rx: mpsc::Receiver<Result<Bytes, std::io::Error>>,
    /// A cut, passed on after one more turn.
    cut: Option<std::io::Error>,
    ended: bool,
    shared: Arc<Shared>,
}

impl futures_util::Stream for Watched {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::task::Poll;
        if let Some(cut) = self.cut.take() {
            self.ended = true;
            return Poll::Ready(Some(Err(cut)));
        }
        match self.rx.poll_recv(cx) {
            Poll::Ready(None) => {
                self.ended = true;
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(cut))) => {
                // The seller itself ends it. Let the server flush what it
                // has buffered first: a cut after N deltas must deliver those N.
                self.cut = Some(cut);
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            other => other,
        }
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        if !self.ended {
            self.shared.cancelled.send_modify(|c| *c += 1);
        }
    }
}

/// The path with its query, for a redirect's `Location`.
fn path_of(uri: &Uri) -> String {
    uri.path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default()
}

/// Answers that are no normal reply nor an error status with the protocol's
/// body: an error object with HTTP 200, an HTML page, a redirect.
fn odd_answer(
    protocol: Protocol,
    failure: Option<&Failure>,
    path: &str,
    response: &play::Recorded,
) -> Option<Response> {
    let (status, content_type, text, location) = match failure? {
        Failure::OkErrorBody => (
            StatusCode::OK,
            "application/json",
            error_body(protocol, 500, "simulated error in an HTTP 200").to_string(),
            None,
        ),
        Failure::Html { code } => (
            StatusCode::from_u16(*code).unwrap_or(StatusCode::OK),
            "text/html; charset=utf-8",
            "<!doctype html><html><head><title>502 Bad Gateway</title></head>\
             <body><h1>Bad Gateway</h1><p>The upstream server is unavailable.</p></body></html>"
                .to_string(),
            None,
        ),
        Failure::Redirect { code } => (
            StatusCode::from_u16(*code).unwrap_or(StatusCode::FOUND),
            "text/html; charset=utf-8",
            "<a href=\"https://api.example.invalid/\">Moved</a>".to_string(),
            Some(format!("https://api.example.invalid{path}")),
        ),
        _ => return None,
    };
    response
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .extend_from_slice(text.as_bytes());
    let mut resp = Response::new(Body::from(text));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(to) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        resp.headers_mut().insert(header::LOCATION, to);
    }
    Some(resp)
}

/// Counts one response being produced, for [`SimSeller::max_concurrent`].
struct Active(Arc<Shared>);

impl Active {
    fn enter(shared: &Arc<Shared>) -> Active {
        let now = shared.active.fetch_add(1, Ordering::AcqRel) + 1;
        shared.max_active.fetch_max(now, Ordering::AcqRel);
        Active(Arc::clone(shared))
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::AcqRel);
    }
}
