//! What one stream event means to the meter, whatever the protocol.

use serde::Deserialize;

use super::{anthropic_messages, openai_chat, openai_responses, Protocol};

/// The meter's reading of one SSE event.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct EventInfo {
    /// Carries text, a tool-call or reasoning delta (what TTFT waits for).
    pub semantic: bool,
    /// Output tokens so far, when the event reports usage.
    pub output_tokens: Option<u64>,
    /// The protocol's normal end of stream.
    pub terminal: bool,
    /// An error event from upstream.
    pub error: bool,
}

/// Reads one SSE event of `protocol`.
pub fn inspect(protocol: Protocol, event: Option<&str>, data: &str) -> EventInfo {
    match protocol {
        Protocol::OpenAiChat => openai_chat::inspect(data),
        Protocol::OpenAiResponses => openai_responses::inspect(event, data),
        Protocol::AnthropicMessages => anthropic_messages::inspect(event, data),
    }
}

/// Output tokens reported in a complete non-streaming response body.
pub fn body_output_tokens(protocol: Protocol, body: &[u8]) -> Option<u64> {
    match protocol {
        Protocol::OpenAiChat => openai_chat::body_output_tokens(body),
        Protocol::OpenAiResponses => openai_responses::body_output_tokens(body),
        Protocol::AnthropicMessages => anthropic_messages::body_output_tokens(body),
    }
}

/// Just the `type` field of a JSON object.
#[derive(Deserialize)]
pub(crate) struct Typed<'a> {
    #[serde(rename = "type", borrow)]
    pub(crate) kind: Option<&'a str>,
}

/// An event's type: its `event:` line, else the `type` field of its data
/// (Responses and Messages streams carry both; some gateways drop the line).
pub fn event_type<'a>(event: Option<&'a str>, data: &'a str) -> Option<&'a str> {
    event.or_else(|| serde_json::from_str::<Typed<'a>>(data).ok()?.kind)
}
