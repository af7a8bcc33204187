//! What a simulated reply contains, independent of protocol: the request's
//! model and size, the output tokens, and an id. Each protocol module turns a
//! [`Reply`] into its own body or event sequence.

use serde::Deserialize;

const WORDS: &[&str] = &[
    "Hello",
    "from",
    "the",
    "TokenBuddy",
    "simulated",
    "seller.",
    "Every",
    "word",
    "is",
    "one",
    "token,",
    "streamed",
    "at",
    "the",
    "pace",
    "you",
    "asked",
    "for.",
];

/// The facts one reply is built from.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Echoed model name.
    pub model: String,
    /// Deterministic id suffix.
    pub seq: u64,
    /// Input tokens (derived from the request's size).
    pub input_tokens: u64,
    /// Output tokens, each a word with its trailing space.
    pub tokens: Vec<String>,
    /// Chat Completions: `stream_options.include_usage`.
    pub include_usage: bool,
    /// Unix seconds.
    pub created: u64,
}

impl Reply {
    /// The whole output text.
    pub fn text(&self) -> String {
        self.tokens.concat()
    }

    /// Output tokens as a count.
    pub fn output_tokens(&self) -> u64 {
        self.tokens.len() as u64
    }
}

/// `n` output tokens of the fixed text.
pub fn tokens(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("{} ", WORDS[i % WORDS.len()]))
        .collect()
}

/// The fields of a request the simulator reads.
#[derive(Debug, Default, Deserialize)]
pub struct RequestFields {
    /// Requested model.
    #[serde(default)]
    pub model: Option<String>,
    /// Stream or not.
    #[serde(default)]
    pub stream: Option<bool>,
    /// Chat Completions stream options.
    #[serde(default)]
    pub stream_options: Option<StreamOptions>,
}

/// `stream_options` of a chat completion request.
#[derive(Debug, Default, Deserialize)]
pub struct StreamOptions {
    /// Ask for a final usage chunk.
    #[serde(default)]
    pub include_usage: Option<bool>,
}

/// A stream's events in three phases: sent at once, one per token, closing.
#[derive(Debug, Default, Clone)]
pub struct Script {
    /// Before the first token (role chunk, `response.created`, `message_start`…).
    pub preamble: Vec<String>,
    /// One event per token.
    pub deltas: Vec<String>,
    /// After the last token.
    pub closing: Vec<String>,
}

/// One SSE frame with an `event:` line.
pub fn named(event: &str, data: &serde_json::Value) -> String {
    format!("event: {event}\ndata: {data}\n\n")
}

/// One SSE frame with only a `data:` line.
pub fn unnamed(data: &str) -> String {
    format!("data: {data}\n\n")
}
