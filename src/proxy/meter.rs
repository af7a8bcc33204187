//! What the meter reads from one response as it flows: time of the first and
//! last semantic event, usage, whether the stream ended properly, and whether
//! an error event came before any content. It only looks; it never holds
//! bytes back.

use std::time::Instant;

use crate::pool::Sample;
use crate::protocol::{event, openai_responses, sse::SseSplitter, Protocol};

/// The running reading of one SSE response.
#[derive(Debug)]
pub struct Meter {
    protocol: Protocol,
    splitter: SseSplitter,
    first_semantic: Option<Instant>,
    last_semantic: Option<Instant>,
    semantic_events: u64,
    usage_tokens: Option<u64>,
    terminal: bool,
    error_before_content: bool,
    response_id: Option<String>,
}

impl Meter {
    /// A meter at the start of a `protocol` stream.
    pub fn new(protocol: Protocol) -> Self {
        Meter {
            protocol,
            splitter: SseSplitter::new(),
            first_semantic: None,
            last_semantic: None,
            semantic_events: 0,
            usage_tokens: None,
            terminal: false,
            error_before_content: false,
            response_id: None,
        }
    }

    /// Reads one chunk that arrived at `now`.
    pub fn feed(&mut self, chunk: &[u8], now: Instant) {
        let protocol = self.protocol;
        let Meter {
            splitter,
            first_semantic,
            last_semantic,
            semantic_events,
            usage_tokens,
            terminal,
            error_before_content,
            response_id,
            ..
        } = self;
        splitter.push(chunk, |e| {
            let info = event::inspect(protocol, e.event, e.data);
            if info.semantic {
                first_semantic.get_or_insert(now);
                *last_semantic = Some(now);
                *semantic_events += 1;
            }
            if info.output_tokens.is_some() {
                *usage_tokens = info.output_tokens;
            }
            if info.error && first_semantic.is_none() {
                *error_before_content = true;
            }
            *terminal |= info.terminal;
            if protocol == Protocol::OpenAiResponses && response_id.is_none() {
                *response_id = openai_responses::created_response_id(e.event, e.data);
            }
        });
    }

    /// The Responses API id this stream announced (for `previous_response_id`).
    pub fn response_id(&self) -> Option<&str> {
        self.response_id.as_deref()
    }

    /// Sets output tokens read from a whole non-streaming body.
    pub fn set_usage(&mut self, tokens: Option<u64>) {
        self.usage_tokens = tokens;
    }

    /// Whether content (text, tool call, reasoning) has been seen.
    pub fn has_content(&self) -> bool {
        self.first_semantic.is_some()
    }

    /// Whether the protocol's normal end was seen.
    pub fn ended(&self) -> bool {
        self.terminal
    }

    /// The bytes that end the seller's unfinished line or event, to send
    /// before an event of ours (nothing at an event boundary).
    pub fn to_event_boundary(&self) -> &'static [u8] {
        self.splitter.to_boundary()
    }

    /// Whether an error event came before any content.
    pub fn error_before_content(&self) -> bool {
        self.error_before_content
    }

    /// What to record for the seller, for a request sent at `sent`.
    pub fn sample(&self, sent: Instant) -> Sample {
        Sample {
            ttft: self
                .first_semantic
                .map(|t| t.saturating_duration_since(sent)),
            // Without usage in the stream, each delta counts as one token.
            output_tokens: self
                .usage_tokens
                .or((self.semantic_events > 0).then_some(self.semantic_events)),
            generating: self
                .first_semantic
                .zip(self.last_semantic)
                .map(|(a, b)| b.saturating_duration_since(a)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn ttft_tokens_and_errors_before_content() {
        let t0 = Instant::now();
        let mut m = Meter::new(Protocol::AnthropicMessages);
        m.feed(b"event: message_start\ndata: {}\n\n", t0);
        assert!(!m.has_content());
        m.feed(b"event: content_block_delta\ndata: {\"delta\":{\"type\":\"text_delta\",\"text\":\"a\"}}\n\n", t0 + Duration::from_millis(100));
        m.feed(b"event: content_block_delta\ndata: {\"delta\":{\"type\":\"text_delta\",\"text\":\"b\"}}\n\n", t0 + Duration::from_millis(300));
        m.feed(b"event: message_delta\ndata: {\"usage\":{\"output_tokens\":2}}\n\nevent: message_stop\ndata: {}\n\n", t0 + Duration::from_millis(300));
        let s = m.sample(t0);
        assert_eq!(s.ttft, Some(Duration::from_millis(100)));
        assert_eq!(s.output_tokens, Some(2));
        assert_eq!(s.generating, Some(Duration::from_millis(200)));
        assert!(m.ended() && !m.error_before_content());

        let mut e = Meter::new(Protocol::OpenAiChat);
        e.feed(b"data: {\"error\":{\"message\":\"overloaded\"}}\n\n", t0);
        assert!(e.error_before_content());
    }
}
