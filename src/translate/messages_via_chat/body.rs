//! A whole `chat.completion` body → an Anthropic `message` body (the rules
//! are in the parent module's doc).

use serde_json::{json, Map, Value};

use crate::protocol::{openai_chat, Usage};
use crate::translate::{BadAnswer, Context};

/// The client's `message` body for the seller's whole answer.
pub fn response(ctx: &Context, body: &[u8]) -> Result<Vec<u8>, BadAnswer> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| BadAnswer(format!("the chat completion is not JSON: {e}")))?;
    let message = v
        .pointer("/choices/0/message")
        .ok_or_else(|| BadAnswer("the chat completion has no choices[0].message".into()))?;
    let mut content = Vec::new();
    if let Some(r) = reasoning(message) {
        content.push(json!({"type": "thinking", "thinking": r, "signature": ""}));
    }
    for key in ["content", "refusal"] {
        if let Some(text) = message
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            content.push(json!({"type": "text", "text": text}));
        }
    }
    let mut tool = false;
    for call in message
        .get("tool_calls")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let args = call
            .pointer("/function/arguments")
            .and_then(Value::as_str)
            .unwrap_or("");
        let input = crate::translate::call_arguments(args).map_err(|e| {
            BadAnswer(format!(
                "a tool call's arguments are not JSON ({e}): {args}"
            ))
        })?;
        tool = true;
        content.push(json!({
            "type": "tool_use",
            "id": call.get("id").and_then(Value::as_str).unwrap_or(""),
            "name": call.pointer("/function/name").and_then(Value::as_str).unwrap_or(""),
            "input": input,
        }));
    }
    let finish = v
        .pointer("/choices/0/finish_reason")
        .and_then(Value::as_str);
    let out = json!({
        "id": format!("msg_{}", ctx.id),
        "type": "message",
        "role": "assistant",
        "model": ctx.model,
        "content": content,
        "stop_reason": stop_reason(finish, tool),
        "stop_sequence": null,
        "usage": usage_json(openai_chat::body_usage(body), 0),
    });
    serde_json::to_vec(&out).map_err(|e| BadAnswer(e.to_string()))
}

/// The message's reasoning: DeepSeek's `reasoning_content` or OpenRouter's
/// `reasoning`, when non-empty.
pub(super) fn reasoning(m: &Value) -> Option<&str> {
    ["reasoning_content", "reasoning"]
        .into_iter()
        .find_map(|k| m.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()))
}

/// Anthropic's `stop_reason` for a chat `finish_reason`; any tool call makes
/// it `tool_use` (some sellers say `stop` after calling a tool) unless the
/// answer was cut at the token limit.
pub(super) fn stop_reason(finish: Option<&str>, tool_called: bool) -> &'static str {
    match finish {
        Some("length") => "max_tokens",
        Some("content_filter") => "refusal",
        _ if tool_called => "tool_use",
        Some("tool_calls" | "function_call") => "tool_use",
        _ => "end_turn",
    }
}

/// Anthropic usage for the seller's: `input_tokens` excludes the cached
/// prompt tokens, which go in `cache_read_input_tokens` when the seller
/// reported them. Without an output count, `estimate` stands in.
pub(super) fn usage_json(u: Usage, estimate: u64) -> Value {
    let mut m = Map::new();
    m.insert("input_tokens".into(), json!(u.input.unwrap_or(0)));
    if let Some(c) = u.cache_read {
        m.insert("cache_read_input_tokens".into(), json!(c));
    }
    if let Some(c) = u.cache_write {
        m.insert("cache_creation_input_tokens".into(), json!(c));
    }
    m.insert("output_tokens".into(), json!(u.output.unwrap_or(estimate)));
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Context {
        Context {
            model: "claude-x".into(),
            id: "abc".into(),
            created: 1,
            request: json!({}),
        }
    }

    fn body(message: Value, finish: &str) -> Vec<u8> {
        json!({"id": "c", "object": "chat.completion", "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 7, "total_tokens": 107, "prompt_tokens_details": {"cached_tokens": 60}}})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn tool_calls_reasoning_and_usage() {
        let b = body(
            json!({"role": "assistant", "content": null, "reasoning_content": "think",
                "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}}]}),
            "stop",
        );
        let out: Value =
            serde_json::from_slice(&response(&ctx(), &b).unwrap_or_default()).unwrap_or_default();
        assert_eq!(out["id"], "msg_abc");
        assert_eq!(out["model"], "claude-x");
        assert_eq!(
            out["stop_reason"], "tool_use",
            "a tool call, though the seller said stop"
        );
        assert_eq!(out["content"][0]["type"], "thinking");
        assert_eq!(out["content"][1]["input"], json!({"a": 1}));
        assert_eq!(
            out["usage"],
            json!({"input_tokens": 40, "cache_read_input_tokens": 60, "output_tokens": 7})
        );
        // The meter reads the same usage from the translated body.
        let u = crate::protocol::anthropic_messages::body_usage(
            &response(&ctx(), &b).unwrap_or_default(),
        );
        assert_eq!(u, openai_chat::body_usage(&b));
    }

    #[test]
    fn bad_arguments_and_bodies_are_bad_answers() {
        let b = body(
            json!({"role": "assistant", "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{nope"}}]}),
            "tool_calls",
        );
        assert!(response(&ctx(), &b).is_err());
        assert!(response(&ctx(), b"{}").is_err());
        assert!(response(&ctx(), b"not json").is_err());
    }

    #[test]
    fn stop_reasons() {
        assert_eq!(stop_reason(Some("stop"), false), "end_turn");
        assert_eq!(stop_reason(None, false), "end_turn");
        assert_eq!(stop_reason(Some("length"), true), "max_tokens");
        assert_eq!(stop_reason(Some("tool_calls"), false), "tool_use");
        assert_eq!(stop_reason(Some("content_filter"), false), "refusal");
    }
}
