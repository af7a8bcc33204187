//! What the meter reads from one response as it flows: time of the first and
//! last semantic event, usage, whether the stream ended properly, and whether
//! an error event came before any content. It only looks; it never holds
//! bytes back.

use std::time::Instant;

use crate::pool::Sample;
use crate::protocol::{event, openai_responses, sse::SseSplitter, Protocol, Usage};

/// The running reading of one SSE response.
#[derive(Debug)]
pub struct Meter {
    protocol: Protocol,
    splitter: SseSplitter,
    first_semantic: Option<Instant>,
    last_semantic: Option<Instant>,
    semantic_events: u64,
    usage: Usage,
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
            usage: Usage::default(),
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
            usage,
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
            usage.merge(info.usage);
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

    /// Sets the usage read from a whole non-streaming body.
    pub fn set_usage(&mut self, usage: Usage) {
        self.usage = usage;
    }

    /// The usage the seller reported so far, merged field by field (input
    /// and cache counts from a stream's start, output from its end).
    pub fn usage(&self) -> Usage {
        self.usage
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
                .usage
                .output
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

        assert_eq!(
            m.usage(),
            Usage {
                output: Some(2),
                ..Usage::default()
            }
        );

        let mut e = Meter::new(Protocol::OpenAiChat);
        e.feed(b"data: {\"error\":{\"message\":\"overloaded\"}}\n\n", t0);
        assert!(e.error_before_content());
    }

    /// Feeds `stream` split at every `step` bytes, so events straddle chunks.
    fn read(protocol: Protocol, stream: &str, step: usize) -> Meter {
        let t0 = Instant::now();
        let mut m = Meter::new(protocol);
        for chunk in stream.as_bytes().chunks(step) {
            m.feed(chunk, t0);
        }
        m
    }

    #[test]
    fn usage_of_every_protocol_from_its_stream() {
        let chat = concat!(
            "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}],\"usage\":null}\n\n",
            "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}],\"usage\":null}\n\n",
            "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\n\n",
            "data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":1500,\"completion_tokens\":42,\"total_tokens\":1542,\"prompt_tokens_details\":{\"cached_tokens\":1024}}}\n\n",
            "data: [DONE]\n\n",
        );
        let responses = concat!(
            "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\",\"usage\":null}}\n\n",
            "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"Hi\"}\n\n",
            "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"id\":\"resp_1\",\"usage\":{\"input_tokens\":1500,\"input_tokens_details\":{\"cached_tokens\":1024},\"output_tokens\":42,\"total_tokens\":1542}}}\n\n",
        );
        let anthropic = concat!(
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"content\":[],\"usage\":{\"input_tokens\":476,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":1024,\"output_tokens\":1}}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n",
            "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":42}}\n\n",
            "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
        );
        let want = Usage {
            input: Some(476),
            output: Some(42),
            cache_read: Some(1024),
            cache_write: None,
        };
        for (protocol, stream) in [
            (Protocol::OpenAiChat, chat),
            (Protocol::OpenAiResponses, responses),
            (Protocol::AnthropicMessages, anthropic),
        ] {
            for step in [1, 7, stream.len()] {
                let m = read(protocol, stream, step);
                let want = Usage {
                    cache_write: (protocol == Protocol::AnthropicMessages).then_some(0),
                    ..want
                };
                assert_eq!(m.usage(), want, "{protocol} in chunks of {step}");
                assert_eq!(m.sample(Instant::now()).output_tokens, Some(42));
                assert!(m.ended() && m.has_content(), "{protocol}");
            }
        }
    }

    #[test]
    fn without_usage_each_delta_counts_and_bodies_set_it_whole() {
        let m = read(
            Protocol::OpenAiChat,
            "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\ndata: [DONE]\n\n",
            5,
        );
        assert!(m.usage().is_empty());
        assert_eq!(m.sample(Instant::now()).output_tokens, Some(2));
        let mut b = Meter::new(Protocol::AnthropicMessages);
        let whole = Usage {
            input: Some(9),
            output: Some(4),
            cache_read: Some(0),
            cache_write: Some(0),
        };
        b.set_usage(whole);
        assert_eq!(b.usage(), whole);
        assert_eq!(b.sample(Instant::now()).output_tokens, Some(4));
    }
}
