//! Anthropic Messages: reading stream events and bodies for the meter.

use serde::Deserialize;

use super::event::Typed;
use super::{EventInfo, Usage};

#[derive(Deserialize)]
struct BlockDelta<'a> {
    #[serde(borrow)]
    delta: Typed<'a>,
}

/// A body or `message_delta` event: `usage` at the top level.
#[derive(Deserialize)]
struct WithUsage {
    #[serde(default)]
    usage: Option<WireUsage>,
}

/// A `message_start` event: the message, with its usage so far.
#[derive(Deserialize)]
struct Start {
    #[serde(default)]
    message: Option<WithUsage>,
}

/// Anthropic's usage: `input_tokens` already excludes cache reads and writes.
#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
}

impl From<WireUsage> for Usage {
    fn from(u: WireUsage) -> Usage {
        Usage {
            input: u.input_tokens,
            output: u.output_tokens,
            cache_read: u.cache_read_input_tokens,
            cache_write: u.cache_creation_input_tokens,
        }
    }
}

fn usage_of(w: Option<WithUsage>) -> Usage {
    w.and_then(|w| w.usage).map(Usage::from).unwrap_or_default()
}

/// Reads one event of a Messages stream.
pub fn inspect(event: Option<&str>, data: &str) -> EventInfo {
    let Some(kind) = super::event::event_type(event, data) else {
        return EventInfo::default();
    };
    match kind {
        // Text, tool input and thinking deltas; a signature is not content.
        "content_block_delta" => EventInfo {
            semantic: serde_json::from_str::<BlockDelta<'_>>(data)
                .map(|d| d.delta.kind != Some("signature_delta"))
                .unwrap_or(true),
            ..EventInfo::default()
        },
        // Input and cache counts (and a first output count) at the start.
        "message_start" => EventInfo {
            usage: usage_of(
                serde_json::from_str::<Start>(data)
                    .ok()
                    .and_then(|s| s.message),
            ),
            ..EventInfo::default()
        },
        // `usage.output_tokens` in message_delta is the running total; newer
        // API versions repeat the input and cache counts there too.
        "message_delta" => EventInfo {
            usage: usage_of(serde_json::from_str::<WithUsage>(data).ok()),
            ..EventInfo::default()
        },
        "message_stop" => EventInfo {
            terminal: true,
            ..EventInfo::default()
        },
        "error" => EventInfo {
            error: true,
            ..EventInfo::default()
        },
        _ => EventInfo::default(),
    }
}

/// Usage of a non-streaming `message` body.
pub fn body_usage(body: &[u8]) -> Usage {
    usage_of(serde_json::from_slice::<WithUsage>(body).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preamble_is_not_semantic() {
        for e in [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_stop",
        ] {
            assert_eq!(inspect(Some(e), "{}"), EventInfo::default(), "{e}");
        }
    }

    #[test]
    fn deltas_usage_stop_and_error() {
        let text =
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#;
        assert!(inspect(Some("content_block_delta"), text).semantic);
        let sig = r#"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"x"}}"#;
        assert!(!inspect(Some("content_block_delta"), sig).semantic);
        let md = r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":12}}"#;
        assert_eq!(
            inspect(Some("message_delta"), md).usage,
            Usage {
                output: Some(12),
                ..Usage::default()
            }
        );
        assert!(inspect(None, r#"{"type":"message_stop"}"#).terminal);
        assert!(inspect(Some("error"), "{}").error);
        assert_eq!(
            body_usage(br#"{"usage":{"input_tokens":1,"output_tokens":3}}"#),
            Usage {
                input: Some(1),
                output: Some(3),
                ..Usage::default()
            }
        );
    }

    #[test]
    fn start_and_delta_carry_input_cache_and_output() {
        let start = r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":1200,"cache_read_input_tokens":30000,"cache_creation":{"ephemeral_5m_input_tokens":1200,"ephemeral_1h_input_tokens":0},"output_tokens":1,"service_tier":"standard"}}}"#;
        let info = inspect(Some("message_start"), start);
        assert_eq!(
            info.usage,
            Usage {
                input: Some(25),
                output: Some(1),
                cache_read: Some(30000),
                cache_write: Some(1200),
            }
        );
        assert!(!info.semantic && !info.terminal);
        assert_eq!(inspect(None, start).usage, info.usage, "no event: line");
        // A newer message_delta repeats the input side with the final output.
        let delta = r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":25,"cache_creation_input_tokens":1200,"cache_read_input_tokens":30000,"output_tokens":503,"server_tool_use":null}}"#;
        assert_eq!(
            inspect(Some("message_delta"), delta).usage,
            Usage {
                output: Some(503),
                ..info.usage
            }
        );
        let body = br#"{"id":"msg_1","type":"message","content":[{"type":"text","text":"hi"}],"usage":{"input_tokens":3,"cache_creation_input_tokens":0,"cache_read_input_tokens":2048,"output_tokens":9}}"#;
        assert_eq!(
            body_usage(body),
            Usage {
                input: Some(3),
                output: Some(9),
                cache_read: Some(2048),
                cache_write: Some(0),
            }
        );
    }
}
