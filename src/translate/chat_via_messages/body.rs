//! A whole Anthropic `message` body → a `chat.completion` body (the rules
//! are in the parent module's doc).

use serde_json::{json, Value};

use crate::protocol::{anthropic_messages, Usage};
use crate::translate::{BadAnswer, Context};

/// The client's `chat.completion` body for the seller's whole answer.
pub fn response(ctx: &Context, body: &[u8]) -> Result<Vec<u8>, BadAnswer> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| BadAnswer(format!("the message is not JSON: {e}")))?;
    let blocks = v
        .get("content")
        .and_then(Value::as_array)
        .filter(|_| v.get("type").and_then(Value::as_str) == Some("message"))
        .ok_or_else(|| BadAnswer("the answer is not a message with content".into()))?;
    let mut text = String::new();
    let mut reasoning = String::new();
    let mut calls = Vec::new();
    for b in blocks {
        match b.get("type").and_then(Value::as_str) {
            Some("text") => text.push_str(b.get("text").and_then(Value::as_str).unwrap_or("")),
            Some("thinking") => {
                reasoning.push_str(b.get("thinking").and_then(Value::as_str).unwrap_or(""))
            }
            Some("tool_use") => calls.push(json!({
                "id": b.get("id").and_then(Value::as_str).unwrap_or(""),
                "type": "function",
                "function": {
                    "name": b.get("name").and_then(Value::as_str).unwrap_or(""),
                    "arguments": b.get("input").map_or_else(|| "{}".to_string(), Value::to_string),
                },
            })),
            // Redacted thinking is unreadable; other blocks answer server
            // tools this translation never sends.
            _ => {}
        }
    }
    let mut message = json!({
        "role": "assistant",
        "content": if text.is_empty() && !calls.is_empty() { Value::Null } else { json!(text) },
        "refusal": null,
    });
    if !reasoning.is_empty() {
        message["reasoning_content"] = json!(reasoning);
    }
    if !calls.is_empty() {
        message["tool_calls"] = Value::Array(calls);
    }
    let out = json!({
        "id": format!("chatcmpl-{}", ctx.id),
        "object": "chat.completion",
        "created": ctx.created,
        "model": ctx.model,
        "choices": [{
            "index": 0,
            "message": message,
            "logprobs": null,
            "finish_reason": finish_reason(v.get("stop_reason").and_then(Value::as_str)),
        }],
        "usage": usage_json(anthropic_messages::body_usage(body)),
    });
    serde_json::to_vec(&out).map_err(|e| BadAnswer(e.to_string()))
}

/// Chat's `finish_reason` for an Anthropic `stop_reason`.
pub(super) fn finish_reason(stop: Option<&str>) -> &'static str {
    match stop {
        Some("max_tokens" | "model_context_window_exceeded") => "length",
        Some("tool_use") => "tool_calls",
        Some("refusal") => "content_filter",
        _ => "stop",
    }
}

/// Chat usage for the seller's: the prompt counts every input token, the
/// cache reads among them in `prompt_tokens_details.cached_tokens` and the
/// cache writes in `prompt_tokens_details.cache_write_tokens` (OpenRouter's
/// name, in the `openai` SDK's types) when the seller reported them.
pub(super) fn usage_json(u: Usage) -> Value {
    let cached = u.cache_read.unwrap_or(0);
    let prompt = u.input.unwrap_or(0) + cached + u.cache_write.unwrap_or(0);
    let completion = u.output.unwrap_or(0);
    let mut details = json!({"cached_tokens": cached});
    if let Some(w) = u.cache_write {
        details["cache_write_tokens"] = json!(w);
    }
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": details,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::openai_chat;

    fn ctx() -> Context {
        Context {
            model: "gpt-x".into(),
            id: "abc".into(),
            created: 7,
            request: json!({}),
        }
    }

    #[test]
    fn text_thinking_tools_and_usage() {
        let body = json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude",
            "content": [
                {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                {"type": "text", "text": "Let me look."},
                {"type": "tool_use", "id": "toolu_1", "name": "read", "input": {"path": "a b"}},
            ],
            "stop_reason": "tool_use", "stop_sequence": null,
            "usage": {"input_tokens": 10, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 5, "output_tokens": 20}})
        .to_string();
        let out = response(&ctx(), body.as_bytes()).unwrap_or_default();
        let v: Value = serde_json::from_slice(&out).unwrap_or_default();
        assert_eq!(v["id"], "chatcmpl-abc");
        assert_eq!(v["created"], 7);
        let m = &v["choices"][0]["message"];
        assert_eq!(m["content"], "Let me look.");
        assert_eq!(m["reasoning_content"], "hmm");
        assert_eq!(
            m["tool_calls"][0]["function"]["arguments"],
            "{\"path\":\"a b\"}"
        );
        assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(v["usage"]["prompt_tokens"], 115);
        assert_eq!(v["usage"]["prompt_tokens_details"]["cached_tokens"], 100);
        // The meter reads back what the seller said.
        assert_eq!(
            openai_chat::body_usage(&out),
            anthropic_messages::body_usage(body.as_bytes())
        );
    }

    #[test]
    fn not_a_message_is_a_bad_answer() {
        assert!(response(&ctx(), br#"{"type":"error","error":{"message":"x"}}"#).is_err());
        assert!(response(&ctx(), b"[").is_err());
    }

    #[test]
    fn stop_reasons() {
        for (a, c) in [
            ("end_turn", "stop"),
            ("stop_sequence", "stop"),
            ("pause_turn", "stop"),
            ("max_tokens", "length"),
            ("tool_use", "tool_calls"),
            ("refusal", "content_filter"),
        ] {
            assert_eq!(finish_reason(Some(a)), c);
        }
    }
}
