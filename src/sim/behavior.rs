//! How a simulated seller behaves: speed, length and injected failures.

use std::time::Duration;

/// A simulated seller's behaviour; changeable while it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Behavior {
    /// Delay between the preamble events and the first token.
    pub ttft: Duration,
    /// Pace of the tokens after the first; `None` sends them as fast as possible.
    pub tokens_per_sec: Option<f64>,
    /// Output length in tokens.
    pub tokens: usize,
    /// An injected failure.
    pub failure: Option<Failure>,
    /// Input tokens each reply reports as read from the prompt cache (as
    /// `cached_tokens` or `cache_read_input_tokens`); with 0, an Anthropic
    /// request marked with `cache_control` reads half its input from it.
    pub cache_read_tokens: u64,
    /// Input tokens each Anthropic reply reports as written to the cache
    /// (`cache_creation_input_tokens`; OpenAI reports no writes).
    pub cache_write_tokens: u64,
}

impl Default for Behavior {
    fn default() -> Self {
        Behavior {
            ttft: Duration::ZERO,
            tokens_per_sec: None,
            tokens: 16,
            failure: None,
            cache_read_tokens: 0,
            cache_write_tokens: 0,
        }
    }
}

/// A failure a simulated seller can inject. (Failures below HTTP — a reset,
/// bytes that are not HTTP — are [`super::raw::RawSeller`]'s.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Answer every request with this status and a protocol-shaped error body.
    Status {
        /// HTTP status.
        code: u16,
        /// Sent as `Retry-After` when set.
        retry_after_secs: Option<u64>,
    },
    /// Send this many token deltas, then cut the connection mid-body.
    DropAfter {
        /// Deltas sent before the cut.
        tokens: usize,
    },
    /// HTTP 200 with a stream whose first event is an error.
    FirstEventError,
    /// Every n-th request (n, 2n, …) fails with `code`; the others succeed.
    EveryNth {
        /// The period.
        n: u64,
        /// HTTP status of the failing requests.
        code: u16,
    },
    /// A normal event stream labelled `text/plain` instead of
    /// `text/event-stream` (some gateways do).
    MislabelledStream,
    /// HTTP 200 whose JSON body is the protocol's error object, whether or
    /// not a stream was asked for (some gateways answer errors so).
    OkErrorBody,
    /// An HTML page with this status (a proxy's error or login page).
    Html {
        /// HTTP status.
        code: u16,
    },
    /// A redirect with this status to the same path on another host.
    Redirect {
        /// HTTP status (301, 302, 307, 308).
        code: u16,
    },
    /// Send this many deltas (half the body when not streaming), then no
    /// byte ever again, with the connection left open.
    Stall {
        /// Deltas sent before the silence.
        after_tokens: usize,
    },
    /// After this many deltas, one `data:` line of `bytes` bytes. With
    /// `newline` the line ends and the stream goes on; without, the body
    /// ends inside the line.
    HugeLine {
        /// Deltas sent before the line.
        after_tokens: usize,
        /// The line's length.
        bytes: usize,
        /// Whether the line ever ends.
        newline: bool,
    },
    /// Invalid UTF-8 in every delta's text and in a comment line before
    /// every preamble event.
    InvalidUtf8,
    /// The stream at once except its last `last_bytes` bytes (all of it
    /// when `None`), which follow one byte per `every`.
    Drip {
        /// Between two bytes.
        every: Duration,
        /// How much of the end drips.
        last_bytes: Option<usize>,
    },
}

/// What a simulated seller's `GET /v1/models` answers (apart from
/// [`Behavior`], so injected failures leave the prewarm probe alone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelsAnswer {
    /// 200 with these ids in the OpenAI list shape.
    List(Vec<String>),
    /// This status with an error body.
    Status(u16),
    /// 200 with this body as is (junk, huge lists).
    Body(String),
}

impl Default for ModelsAnswer {
    fn default() -> Self {
        ModelsAnswer::List(vec!["sim-small".into(), "sim-large".into()])
    }
}

impl Behavior {
    /// Delay between two tokens after the first.
    pub fn token_gap(&self) -> Option<Duration> {
        self.tokens_per_sec
            .filter(|r| r.is_finite() && *r > 0.0)
            .map(|r| Duration::from_secs_f64(1.0 / r))
    }
}
