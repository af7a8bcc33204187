//! The Responses `Response` object around the output items, shared by the
//! whole answer and the stream: ids, status, usage, and the request's
//! settings echoed back as the SDK's `Response` type requires.

use serde_json::{json, Value};

use crate::translate::Context;

/// The id of the response (`resp_<id>`).
pub fn response_id(ctx: &Context) -> String {
    format!("resp_{}", ctx.id)
}

/// The id of output item `n` of kind `prefix` (`msg`, `rs`, `fc`).
pub fn item_id(ctx: &Context, prefix: &str, n: usize) -> String {
    format!("{prefix}_{}_{n}", ctx.id)
}

/// How a chat answer ended, in Responses terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The answer is whole (`stop`, `tool_calls`, or a reason chat adds later).
    Completed,
    /// Cut at the output limit (`length`).
    MaxOutputTokens,
    /// Stopped by the seller's filter (`content_filter`).
    ContentFilter,
}

impl Ending {
    /// The ending a chat `finish_reason` means.
    pub fn of(finish_reason: &str) -> Ending {
        match finish_reason {
            "length" => Ending::MaxOutputTokens,
            "content_filter" => Ending::ContentFilter,
            _ => Ending::Completed,
        }
    }

    /// The item and response status.
    pub fn status(self) -> &'static str {
        match self {
            Ending::Completed => "completed",
            _ => "incomplete",
        }
    }

    /// The terminal stream event's type.
    pub fn event(self) -> &'static str {
        match self {
            Ending::Completed => "response.completed",
            _ => "response.incomplete",
        }
    }

    fn details(self) -> Value {
        match self {
            Ending::Completed => Value::Null,
            Ending::MaxOutputTokens => json!({"reason": "max_output_tokens"}),
            Ending::ContentFilter => json!({"reason": "content_filter"}),
        }
    }
}

/// Chat `usage` → Responses `usage` (both count cached tokens inside the
/// input; the cached count is wherever the seller puts it, as the chat meter
/// reads it). `None` when the seller sent none.
pub fn usage(chat: &Value) -> Option<Value> {
    let u = chat.as_object()?;
    let n = |v: Option<&Value>| v.and_then(Value::as_u64);
    let input = n(u.get("prompt_tokens")).unwrap_or(0);
    let output = n(u.get("completion_tokens")).unwrap_or(0);
    let cached = n(u
        .get("prompt_tokens_details")
        .and_then(|d| d.get("cached_tokens")))
    .or(n(u.get("prompt_cache_hit_tokens")))
    .or(n(u.get("cached_tokens")))
    .unwrap_or(0);
    let reasoning = n(u
        .get("completion_tokens_details")
        .and_then(|d| d.get("reasoning_tokens")))
    .unwrap_or(0);
    Some(json!({
        "input_tokens": input,
        // Chat reports no cache writes (OpenAI's caching writes for free).
        "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": 0},
        "output_tokens": output,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": n(u.get("total_tokens")).unwrap_or(input + output),
    }))
}

/// A `Response` with `output` and `usage`; `ending` is `None` while in
/// progress.
pub fn response(
    ctx: &Context,
    ending: Option<Ending>,
    output: Vec<Value>,
    usage: Option<Value>,
) -> Value {
    let req = &ctx.request;
    let echo = |key: &str, default: Value| match req.get(key) {
        Some(v) if !v.is_null() => v.clone(),
        _ => default,
    };
    let reasoning = req.get("reasoning").filter(|r| r.is_object()).map(|r| {
        json!({
            "effort": r.get("effort").cloned().unwrap_or(Value::Null),
            "summary": r.get("summary").cloned().unwrap_or(Value::Null),
        })
    });
    let mut text = echo("text", json!({"format": {"type": "text"}}));
    if text.get("format").is_none_or(Value::is_null) {
        text["format"] = json!({"type": "text"});
    }
    json!({
        "id": response_id(ctx),
        "object": "response",
        "created_at": ctx.created,
        "status": ending.map_or("in_progress", Ending::status),
        "completed_at": if ending == Some(Ending::Completed) { json!(ctx.created) } else { Value::Null },
        "error": null,
        "incomplete_details": ending.map_or(Value::Null, Ending::details),
        "instructions": echo("instructions", Value::Null),
        "max_output_tokens": echo("max_output_tokens", Value::Null),
        "metadata": echo("metadata", json!({})),
        "model": ctx.model,
        "output": output,
        "parallel_tool_calls": echo("parallel_tool_calls", json!(true)),
        "previous_response_id": null,
        "reasoning": reasoning,
        "store": false,
        "temperature": echo("temperature", Value::Null),
        "text": text,
        "tool_choice": echo("tool_choice", json!("auto")),
        "tools": echo("tools", json!([])),
        "top_p": echo("top_p", Value::Null),
        "truncation": echo("truncation", json!("disabled")),
        "usage": usage,
        "user": echo("user", Value::Null),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_keeps_cached_tokens_inside_the_input() {
        let u = usage(&json!({"prompt_tokens": 50, "completion_tokens": 7, "total_tokens": 57, "prompt_cache_hit_tokens": 32})).unwrap();
        assert_eq!(u["input_tokens"], 50);
        assert_eq!(u["input_tokens_details"]["cached_tokens"], 32);
        assert_eq!(u["output_tokens_details"]["reasoning_tokens"], 0);
        assert!(usage(&Value::Null).is_none());
    }

    #[test]
    fn endings() {
        assert_eq!(Ending::of("tool_calls"), Ending::Completed);
        assert_eq!(Ending::of("length").event(), "response.incomplete");
    }
}
