//! The simulator's OpenAI Chat Completions replies.

use serde_json::{json, Value};

use super::reply::{unnamed, Reply, Script};

fn id(r: &Reply) -> String {
    format!("chatcmpl-sim{:06}", r.seq)
}

fn usage(r: &Reply) -> Value {
    json!({
        "prompt_tokens": r.input_tokens,
        "completion_tokens": r.output_tokens(),
        "total_tokens": r.input_tokens + r.output_tokens(),
        "prompt_tokens_details": {"cached_tokens": r.cache_read, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
    })
}

/// A non-streaming `chat.completion`.
pub fn body(r: &Reply) -> Value {
    json!({
        "id": id(r),
        "object": "chat.completion",
        "created": r.created,
        "model": r.model,
        "system_fingerprint": null,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": r.text(), "refusal": null},
            "logprobs": null,
            "finish_reason": "stop",
        }],
        "usage": usage(r),
    })
}

/// A `chat.completion.chunk` stream.
pub fn script(r: &Reply) -> Script {
    let chunk = |delta: Value, finish: Value| {
        let mut c = json!({
            "id": id(r),
            "object": "chat.completion.chunk",
            "created": r.created,
            "model": r.model,
            "system_fingerprint": null,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
        });
        if r.include_usage {
            c["usage"] = Value::Null;
        }
        unnamed(&c.to_string())
    };
    let mut closing = vec![chunk(json!({}), json!("stop"))];
    if r.include_usage {
        let last = json!({
            "id": id(r),
            "object": "chat.completion.chunk",
            "created": r.created,
            "model": r.model,
            "system_fingerprint": null,
            "choices": [],
            "usage": usage(r),
        });
        closing.push(unnamed(&last.to_string()));
    }
    closing.push(unnamed("[DONE]"));
    Script {
        preamble: vec![chunk(
            json!({"role": "assistant", "content": ""}),
            Value::Null,
        )],
        deltas: r
            .tokens
            .iter()
            .map(|t| chunk(json!({"content": t}), Value::Null))
            .collect(),
        closing,
    }
}

/// An error body.
pub fn error(code: u16, message: &str) -> Value {
    let kind = match code {
        429 => "rate_limit_exceeded",
        400..=499 => "invalid_request_error",
        _ => "server_error",
    };
    json!({"error": {"message": message, "type": kind, "param": null, "code": null}})
}

/// An error event as the first (and only) stream event.
pub fn error_event(message: &str) -> String {
    unnamed(&error(500, message).to_string())
}
