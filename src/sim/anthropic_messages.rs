//! The simulator's Anthropic Messages replies.

use serde_json::{json, Value};

use super::reply::{named, Reply, Script};

fn id(r: &Reply) -> String {
    format!("msg_sim{:06}", r.seq)
}

fn message(r: &Reply, content: Value, stop: Value, output_tokens: u64) -> Value {
    json!({
        "id": id(r),
        "type": "message",
        "role": "assistant",
        "model": r.model,
        "content": content,
        "stop_reason": stop,
        "stop_sequence": null,
        "usage": {
            "input_tokens": r.uncached_input(),
            "cache_creation_input_tokens": r.cache_write,
            "cache_read_input_tokens": r.cache_read,
            "output_tokens": output_tokens,
        },
    })
}

/// A non-streaming `message`.
pub fn body(r: &Reply) -> Value {
    message(
        r,
        json!([{"type": "text", "text": r.text()}]),
        json!("end_turn"),
        r.output_tokens(),
    )
}

/// A Messages event stream.
pub fn script(r: &Reply) -> Script {
    Script {
        preamble: vec![
            named(
                "message_start",
                &json!({"type": "message_start", "message": message(r, json!([]), Value::Null, 1)}),
            ),
            named(
                "content_block_start",
                &json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            ),
            named("ping", &json!({"type": "ping"})),
        ],
        deltas: r
            .tokens
            .iter()
            .map(|t| {
                named(
                    "content_block_delta",
                    &json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": t}}),
                )
            })
            .collect(),
        closing: vec![
            named("content_block_stop", &json!({"type": "content_block_stop", "index": 0})),
            named(
                "message_delta",
                &json!({
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": null},
                    "usage": {"output_tokens": r.output_tokens()},
                }),
            ),
            named("message_stop", &json!({"type": "message_stop"})),
        ],
    }
}

/// `count_tokens` answer.
pub fn count_tokens(input_tokens: u64) -> Value {
    json!({"input_tokens": input_tokens})
}

/// An error body.
pub fn error(code: u16, message: &str) -> Value {
    let kind = match code {
        400 | 413 | 422 => "invalid_request_error",
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        _ => "api_error",
    };
    json!({"type": "error", "error": {"type": kind, "message": message}})
}

/// An error event as the first (and only) stream event.
pub fn error_event(message: &str) -> String {
    named("error", &error(500, message))
}
