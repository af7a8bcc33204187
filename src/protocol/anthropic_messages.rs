//! Anthropic Messages: reading stream events and bodies for the meter.

use serde::Deserialize;

use super::event::Typed;
use super::EventInfo;

#[derive(Deserialize)]
struct BlockDelta<'a> {
    #[serde(borrow)]
    delta: Typed<'a>,
}

#[derive(Deserialize)]
struct WithUsage {
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Usage {
    #[serde(default)]
    output_tokens: Option<u64>,
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
        // `usage.output_tokens` in message_delta is the running total.
        "message_delta" => EventInfo {
            output_tokens: serde_json::from_str::<WithUsage>(data)
                .ok()
                .and_then(|d| d.usage?.output_tokens),
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

/// Output tokens of a non-streaming `message` body.
pub fn body_output_tokens(body: &[u8]) -> Option<u64> {
    serde_json::from_slice::<WithUsage>(body)
        .ok()?
        .usage?
        .output_tokens
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
        assert_eq!(inspect(Some("message_delta"), md).output_tokens, Some(12));
        assert!(inspect(None, r#"{"type":"message_stop"}"#).terminal);
        assert!(inspect(Some("error"), "{}").error);
        assert_eq!(
            body_output_tokens(br#"{"usage":{"input_tokens":1,"output_tokens":3}}"#),
            Some(3)
        );
    }
}
