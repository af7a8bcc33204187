//! What one stream event means to the meter, whatever the protocol.

use serde::Deserialize;

use super::{anthropic_messages, gemini, openai_chat, openai_responses, Protocol, Usage};

/// The meter's reading of one SSE event.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct EventInfo {
    /// Carries text, a tool-call or reasoning delta (what TTFT waits for).
    pub semantic: bool,
    /// The usage this event reports (empty for most events); a later
    /// event's fields replace an earlier one's ([`Usage::merge`]).
    pub usage: Usage,
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
        Protocol::Gemini => gemini::inspect(data),
    }
}

/// Usage reported in a complete non-streaming response body (empty when
/// the body says nothing or is not JSON).
pub fn body_usage(protocol: Protocol, body: &[u8]) -> Usage {
    match protocol {
        Protocol::OpenAiChat => openai_chat::body_usage(body),
        Protocol::OpenAiResponses => openai_responses::body_usage(body),
        Protocol::AnthropicMessages => anthropic_messages::body_usage(body),
        Protocol::Gemini => gemini::body_usage(body),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::body;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, RngSeed};
    use serde_json::{json, Value};

    /// JSON values built from the keys and values the readers look for, so
    /// random input reaches deep into them instead of failing at the top.
    fn json_value() -> impl Strategy<Value = Value> {
        let key = prop_oneof![
            Just("type"),
            Just("delta"),
            Just("choices"),
            Just("usage"),
            Just("error"),
            Just("response"),
            Just("id"),
            Just("content"),
            Just("tool_calls"),
            Just("output_tokens"),
            Just("completion_tokens"),
            Just("prompt_tokens"),
            Just("input_tokens"),
            Just("cached_tokens"),
            Just("prompt_tokens_details"),
            Just("input_tokens_details"),
            Just("cache_read_input_tokens"),
            Just("cache_creation_input_tokens"),
            Just("prompt_cache_hit_tokens"),
            Just("message"),
            Just("text"),
            Just("candidates"),
            Just("parts"),
            Just("functionCall"),
            Just("finishReason"),
            Just("usageMetadata"),
            Just("promptTokenCount"),
            Just("candidatesTokenCount"),
            Just("thoughtsTokenCount"),
            Just("cachedContentTokenCount"),
            Just("x"),
        ];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(|f| json!(f)),
            prop_oneof![
                Just("error"),
                Just("message_stop"),
                Just("message_start"),
                Just("message_delta"),
                Just("response.incomplete"),
                Just("content_block_delta"),
                Just("signature_delta"),
                Just("response.completed"),
                Just("response.created"),
                Just("[DONE]"),
                Just(""),
            ]
            .prop_map(Value::from),
            ".{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::vec((key.clone(), inner), 0..5).prop_map(|kv| {
                    Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
                }),
            ]
        })
    }

    fn event_name() -> impl Strategy<Value = Option<String>> {
        prop::option::of(prop_oneof![
            Just("error".to_string()),
            Just("message_delta".to_string()),
            Just("message_start".to_string()),
            Just("response.incomplete".to_string()),
            Just("content_block_delta".to_string()),
            Just("response.completed".to_string()),
            Just("response.created".to_string()),
            ".{0,10}",
        ])
    }

    fn config() -> Config {
        Config {
            cases: 256,
            rng_seed: RngSeed::Fixed(0x000e_7e47),
            failure_persistence: None,
            ..Config::default()
        }
    }

    fn read_everything(event: Option<&str>, data: &str, bytes: &[u8]) {
        for p in Protocol::ALL {
            let _ = inspect(p, event, data);
            let _ = body_usage(p, bytes);
            // Reading the data as a body too reaches the usage readers
            // with JSON built from their own keys.
            let _ = body_usage(p, data.as_bytes());
        }
        let _ = super::super::openai_responses::created_response_id(event, data);
        let _ = body::kind(bytes);
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn readers_take_random_json_without_panicking(
            v in json_value(),
            event in event_name(),
        ) {
            let data = v.to_string();
            read_everything(event.as_deref(), &data, data.as_bytes());
        }

        #[test]
        fn readers_take_random_text_and_bytes_without_panicking(
            data in ".{0,64}",
            bytes in prop::collection::vec(any::<u8>(), 0..64),
            event in event_name(),
        ) {
            read_everything(event.as_deref(), &data, &bytes);
        }
    }
}
