//! A chat completion body → a Gemini `GenerateContentResponse`, and the
//! pieces the stream shares with it (finish reasons, usage, function calls).

use serde_json::{json, Map, Value};

use crate::translate::{BadAnswer, Context};

/// Gemini's `finishReason` for chat's `finish_reason`. A tool call ends
/// with `STOP` in Gemini (the parts say it is a call).
pub fn finish_reason(chat: &str) -> &'static str {
    match chat {
        "stop" | "tool_calls" | "function_call" => "STOP",
        "length" => "MAX_TOKENS",
        "content_filter" => "SAFETY",
        _ => "OTHER",
    }
}

/// `usageMetadata` for chat's `usage`: `prompt_tokens` include the cached
/// ones (as `promptTokenCount` does); `completion_tokens` include reasoning
/// tokens, which Gemini counts apart as `thoughtsTokenCount`. The cached
/// count is where the seller puts it (OpenAI, DeepSeek, Moonshot).
pub fn usage_metadata(usage: &Value) -> Option<Value> {
    let prompt = usage.get("prompt_tokens").and_then(Value::as_u64);
    let completion = usage.get("completion_tokens").and_then(Value::as_u64);
    if prompt.is_none() && completion.is_none() {
        return None;
    }
    let cached = usage
        .pointer("/prompt_tokens_details/cached_tokens")
        .and_then(Value::as_u64)
        .or_else(|| usage.get("prompt_cache_hit_tokens").and_then(Value::as_u64))
        .or_else(|| usage.get("cached_tokens").and_then(Value::as_u64));
    let thoughts = usage
        .pointer("/completion_tokens_details/reasoning_tokens")
        .and_then(Value::as_u64)
        .filter(|t| *t > 0);
    let (prompt, completion) = (prompt.unwrap_or(0), completion.unwrap_or(0));
    let mut out = Map::new();
    out.insert("promptTokenCount".into(), json!(prompt));
    out.insert(
        "candidatesTokenCount".into(),
        json!(completion.saturating_sub(thoughts.unwrap_or(0))),
    );
    out.insert("totalTokenCount".into(), json!(prompt + completion));
    if let Some(c) = cached.filter(|c| *c > 0) {
        out.insert("cachedContentTokenCount".into(), json!(c));
    }
    if let Some(t) = thoughts {
        out.insert("thoughtsTokenCount".into(), json!(t));
    }
    Some(Value::Object(out))
}

/// A `functionCall` part from a chat call's id, name and argument text.
pub fn function_call(id: &str, name: &str, arguments: &str) -> Result<Value, String> {
    let args = crate::translate::call_arguments(arguments)
        .map_err(|e| format!("the arguments of tool call `{name}` are not JSON ({e})"))?;
    let mut call = json!({"name": name, "args": args});
    if !id.is_empty() {
        call["id"] = json!(id);
    }
    Ok(json!({"functionCall": call}))
}

/// One `GenerateContentResponse`: a candidate with `parts` (no `content`
/// when there are none), a finish reason and usage when given.
pub fn response(
    ctx: &Context,
    parts: Vec<Value>,
    finish: Option<&str>,
    usage: Option<Value>,
) -> Value {
    let mut candidate = Map::new();
    let mut content = json!({"role": "model"});
    if !parts.is_empty() {
        content["parts"] = Value::Array(parts);
    }
    candidate.insert("content".into(), content);
    if let Some(f) = finish {
        candidate.insert("finishReason".into(), json!(f));
    }
    candidate.insert("index".into(), json!(0));
    let mut out = json!({
        "candidates": [Value::Object(candidate)],
        "modelVersion": ctx.model,
        "responseId": ctx.id,
    });
    if let Some(u) = usage {
        out["usageMetadata"] = u;
    }
    out
}

/// Text of a chat message field: a string, or an array of text parts.
pub fn text_of(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect(),
        _ => String::new(),
    }
}

/// The client's body for the seller's whole `chat.completion`.
pub fn response_body(ctx: &Context, body: &[u8]) -> Result<Vec<u8>, BadAnswer> {
    let chat: Value = serde_json::from_slice(body)
        .map_err(|e| BadAnswer(format!("the chat completion is not JSON ({e})")))?;
    let choice = chat
        .get("choices")
        .and_then(|c| c.get(0))
        .ok_or_else(|| BadAnswer("the chat completion has no choices".into()))?;
    let message = choice.get("message").cloned().unwrap_or(Value::Null);
    let mut parts = Vec::new();
    let reasoning = text_of(
        message
            .get("reasoning_content")
            .or_else(|| message.get("reasoning")),
    );
    if !reasoning.is_empty() {
        parts.push(json!({"text": reasoning, "thought": true}));
    }
    let mut text = text_of(message.get("content"));
    if text.is_empty() {
        text = text_of(message.get("refusal"));
    }
    if !text.is_empty() {
        parts.push(json!({"text": text}));
    }
    for call in message
        .get("tool_calls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let f = &call["function"];
        parts.push(
            function_call(
                call["id"].as_str().unwrap_or(""),
                f["name"].as_str().unwrap_or(""),
                f["arguments"].as_str().unwrap_or(""),
            )
            .map_err(BadAnswer)?,
        );
    }
    let finish = finish_reason(choice["finish_reason"].as_str().unwrap_or("stop"));
    let usage = chat.get("usage").and_then(usage_metadata);
    let out = response(ctx, parts, Some(finish), usage);
    Ok(out.to_string().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasoning_tokens_become_thoughts_and_the_sum_stays() {
        let u = usage_metadata(&json!({
            "prompt_tokens": 100, "completion_tokens": 40, "total_tokens": 140,
            "prompt_tokens_details": {"cached_tokens": 60},
            "completion_tokens_details": {"reasoning_tokens": 30},
        }))
        .unwrap();
        assert_eq!(
            u,
            json!({"promptTokenCount": 100, "candidatesTokenCount": 10, "totalTokenCount": 140,
                   "cachedContentTokenCount": 60, "thoughtsTokenCount": 30})
        );
        assert!(usage_metadata(&json!({})).is_none());
    }

    #[test]
    fn bad_arguments_are_a_bad_answer() {
        assert!(function_call("c", "f", "{\"a\":").is_err());
        assert_eq!(
            function_call("", "f", "").unwrap(),
            json!({"functionCall": {"name": "f", "args": {}}})
        );
    }
}
