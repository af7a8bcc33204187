//! What a simulated reply contains, independent of protocol: the request's
//! model and size, the output tokens, and an id. Each protocol module turns a
//! [`Reply`] into its own body or event sequence.

use serde::Deserialize;

use super::behavior::Behavior;
use crate::protocol::Protocol;

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
    /// Input tokens of the whole prompt (derived from the request's size),
    /// cached ones included.
    pub input_tokens: u64,
    /// Of those, read from the prompt cache.
    pub cache_read: u64,
    /// Of those, written to the prompt cache (Anthropic only).
    pub cache_write: u64,
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

    /// Input tokens neither read from nor written to the cache (what
    /// Anthropic calls `input_tokens`).
    pub fn uncached_input(&self) -> u64 {
        self.input_tokens
            .saturating_sub(self.cache_read)
            .saturating_sub(self.cache_write)
    }
}

/// The prompt-cache reads and writes among a request's `input` tokens: the
/// behaviour's counts, else half the input read for an Anthropic request
/// that marks a `cache_control` breakpoint. Reads come first; together they
/// never exceed the input.
pub fn cache_tokens(b: &Behavior, protocol: Protocol, body: &[u8], input: u64) -> (u64, u64) {
    let marked = protocol == Protocol::AnthropicMessages
        && body
            .windows(b"\"cache_control\"".len())
            .any(|w| w == b"\"cache_control\"");
    let read = match b.cache_read_tokens {
        0 if marked => input / 2,
        n => n.min(input),
    };
    let write = match protocol {
        Protocol::AnthropicMessages => b.cache_write_tokens.min(input - read),
        _ => 0,
    };
    (read, write)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_counts_come_from_the_behaviour_or_an_anthropic_breakpoint() {
        let plain = Behavior::default();
        let marked =
            br#"{"system":[{"type":"text","text":"x","cache_control":{"type":"ephemeral"}}]}"#;
        let a = Protocol::AnthropicMessages;
        assert_eq!(cache_tokens(&plain, a, b"{}", 100), (0, 0));
        assert_eq!(cache_tokens(&plain, a, marked, 101), (50, 0));
        assert_eq!(
            cache_tokens(&plain, Protocol::OpenAiChat, marked, 100),
            (0, 0)
        );
        let knobs = Behavior {
            cache_read_tokens: 80,
            cache_write_tokens: 30,
            ..Behavior::default()
        };
        assert_eq!(cache_tokens(&knobs, a, b"{}", 100), (80, 20), "clamped");
        assert_eq!(
            cache_tokens(&knobs, Protocol::OpenAiResponses, b"{}", 50),
            (50, 0)
        );
    }
}
