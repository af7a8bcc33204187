//! An OpenAI Chat Completions request → an Anthropic Messages request (the
//! rules are in the parent module's doc).

use serde_json::{json, Map, Value};

use crate::translate::Untranslatable;

/// `max_tokens` when the client gave none (Anthropic requires one).
pub const DEFAULT_MAX_TOKENS: u64 = 4096;

/// Anthropic's smallest thinking budget.
const MIN_BUDGET: u64 = 1024;

/// The Messages request for a chat `request`, sending `upstream_model`.
pub fn request(request: &Value, upstream_model: &str) -> Result<Value, Untranslatable> {
    let req = request
        .as_object()
        .ok_or_else(|| Untranslatable::new("a request body", "it is not a JSON object"))?;
    refuse_unsayable(req)?;
    let mut system = Vec::new();
    let mut turns: Vec<(String, Vec<Value>)> = Vec::new();
    for m in req
        .get("messages")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let role = str_of(m, "role");
        let (role, blocks) = match role {
            "system" | "developer" => {
                system.push(text_of(m.get("content"), role)?);
                continue;
            }
            "user" => ("user", user(m.get("content"))?),
            "assistant" => ("assistant", assistant(m)?),
            "tool" => ("user", vec![tool_result(m)?]),
            other => {
                return Err(Untranslatable::new(
                    format!("a message with role \"{other}\""),
                    "Anthropic takes system, user, assistant and tool turns",
                ))
            }
        };
        if blocks.is_empty() {
            continue;
        }
        match turns.last_mut() {
            Some((last, content)) if last == role => content.extend(blocks),
            _ => turns.push((role.to_string(), blocks)),
        }
    }
    let mut out = Map::new();
    out.insert("model".into(), json!(upstream_model));
    let system: Vec<String> = system.into_iter().filter(|s| !s.is_empty()).collect();
    if !system.is_empty() {
        out.insert("system".into(), json!(system.join("\n\n")));
    }
    out.insert(
        "messages".into(),
        Value::Array(
            turns
                .into_iter()
                .map(|(role, content)| json!({"role": role, "content": content}))
                .collect(),
        ),
    );
    let max_tokens = ["max_completion_tokens", "max_tokens"]
        .into_iter()
        .find_map(|k| req.get(k).and_then(Value::as_u64))
        .unwrap_or(DEFAULT_MAX_TOKENS);
    out.insert("max_tokens".into(), json!(max_tokens));
    match req.get("stop") {
        Some(Value::String(s)) => {
            out.insert("stop_sequences".into(), json!([s]));
        }
        Some(Value::Array(a)) if !a.is_empty() => {
            out.insert("stop_sequences".into(), Value::Array(a.clone()));
        }
        _ => {}
    }
    tools(req, &mut out)?;
    // Anthropic refuses thinking with a forced tool, and sampling settings
    // with thinking (see the module doc).
    let forced = out
        .get("tool_choice")
        .is_some_and(|c| matches!(str_of(c, "type"), "any" | "tool"));
    let budget = req
        .get("reasoning_effort")
        .and_then(Value::as_str)
        .and_then(|e| thinking_budget(e, max_tokens))
        .filter(|_| !forced);
    if let Some(budget) = budget {
        out.insert(
            "thinking".into(),
            json!({"type": "enabled", "budget_tokens": budget}),
        );
    } else {
        if let Some(t) = req.get("temperature").and_then(Value::as_f64) {
            out.insert("temperature".into(), json!(t.min(1.0)));
        }
        if let Some(p) = req.get("top_p").filter(|v| v.is_number()) {
            out.insert("top_p".into(), p.clone());
        }
    }
    if req.get("stream").and_then(Value::as_bool) == Some(true) {
        out.insert("stream".into(), json!(true));
    }
    if let Some(user) = req.get("user").filter(|v| v.is_string()) {
        out.insert("metadata".into(), json!({"user_id": user}));
    }
    Ok(Value::Object(out))
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// Refuses the request features Anthropic has no way to say.
fn refuse_unsayable(req: &Map<String, Value>) -> Result<(), Untranslatable> {
    if req.get("n").and_then(Value::as_u64).is_some_and(|n| n > 1) {
        return Err(Untranslatable::new(
            "\"n\" above 1",
            "Anthropic makes one answer per request; send n requests",
        ));
    }
    if req.get("logprobs").and_then(Value::as_bool) == Some(true)
        || req.get("top_logprobs").is_some_and(|v| !v.is_null())
    {
        return Err(Untranslatable::new(
            "\"logprobs\"",
            "Anthropic does not return token log probabilities",
        ));
    }
    if req
        .get("logit_bias")
        .and_then(Value::as_object)
        .is_some_and(|b| !b.is_empty())
    {
        return Err(Untranslatable::new(
            "\"logit_bias\"",
            "Anthropic has no token biasing",
        ));
    }
    if let Some(format) = req.get("response_format").filter(|v| !v.is_null()) {
        let kind = str_of(format, "type");
        if kind != "text" {
            return Err(Untranslatable::new(
                format!("response_format \"{kind}\""),
                "Anthropic has no structured-output mode; describe the format in the prompt or use a tool",
            ));
        }
    }
    let audio = req
        .get("modalities")
        .and_then(Value::as_array)
        .is_some_and(|m| m.iter().any(|x| x == "audio"));
    if audio || req.get("audio").is_some_and(|v| !v.is_null()) {
        return Err(Untranslatable::new(
            "audio output",
            "Anthropic answers in text only",
        ));
    }
    if req.get("web_search_options").is_some_and(|v| !v.is_null()) {
        return Err(Untranslatable::new(
            "\"web_search_options\"",
            "this translation does not send Anthropic's server tools",
        ));
    }
    Ok(())
}

/// A system message's text (string or text parts).
fn text_of(content: Option<&Value>, role: &str) -> Result<String, Untranslatable> {
    match content {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Array(parts)) => {
            let mut texts = Vec::new();
            for p in parts {
                match str_of(p, "type") {
                    "text" => texts.push(str_of(p, "text")),
                    other => {
                        return Err(Untranslatable::new(
                            format!("a \"{other}\" part in a {role} message"),
                            "Anthropic's system prompt is text only",
                        ))
                    }
                }
            }
            Ok(texts.join("\n\n"))
        }
        Some(_) => Err(Untranslatable::new(
            format!("a {role} message's content"),
            "it is neither a string nor a list of parts",
        )),
    }
}

fn text_block(text: &str) -> Option<Value> {
    (!text.is_empty()).then(|| json!({"type": "text", "text": text}))
}

/// A user message's content as blocks.
fn user(content: Option<&Value>) -> Result<Vec<Value>, Untranslatable> {
    match content {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(text_block(s).into_iter().collect()),
        Some(Value::Array(parts)) => {
            let mut out = Vec::new();
            for p in parts {
                match str_of(p, "type") {
                    "text" => out.extend(text_block(str_of(p, "text"))),
                    "image_url" => out.push(image(p)?),
                    other => {
                        return Err(Untranslatable::new(
                            format!("a \"{other}\" part in a user message"),
                            "Anthropic takes text and images here",
                        ))
                    }
                }
            }
            Ok(out)
        }
        Some(_) => Err(Untranslatable::new(
            "a user message's content",
            "it is neither a string nor a list of parts",
        )),
    }
}

/// An `image_url` part as an Anthropic image block.
fn image(part: &Value) -> Result<Value, Untranslatable> {
    let url = part
        .pointer("/image_url/url")
        .and_then(Value::as_str)
        .unwrap_or("");
    if let Some(rest) = url.strip_prefix("data:") {
        let Some((media_type, data)) = rest.split_once(";base64,") else {
            return Err(Untranslatable::new(
                "an image data URL that is not base64",
                "Anthropic takes base64 image data",
            ));
        };
        return Ok(
            json!({"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}),
        );
    }
    if url.starts_with("http://") || url.starts_with("https://") {
        return Ok(json!({"type": "image", "source": {"type": "url", "url": url}}));
    }
    Err(Untranslatable::new(
        "an image URL that is neither data: nor http(s)",
        "Anthropic takes base64 data or a web URL",
    ))
}

/// An assistant message as blocks: text, then tool calls; its reasoning
/// is dropped.
fn assistant(m: &Value) -> Result<Vec<Value>, Untranslatable> {
    if m.get("function_call").is_some_and(|v| !v.is_null()) {
        return Err(Untranslatable::new(
            "a legacy \"function_call\"",
            "send it as tool_calls",
        ));
    }
    let mut out = Vec::new();
    match m.get("content") {
        Some(Value::String(s)) => out.extend(text_block(s)),
        Some(Value::Array(parts)) => {
            for p in parts {
                match str_of(p, "type") {
                    "text" => out.extend(text_block(str_of(p, "text"))),
                    "refusal" => out.extend(text_block(str_of(p, "refusal"))),
                    other => {
                        return Err(Untranslatable::new(
                            format!("a \"{other}\" part in an assistant message"),
                            "Anthropic takes text here",
                        ))
                    }
                }
            }
        }
        _ => {}
    }
    for call in m
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
            Untranslatable::new(
                "tool call arguments that are not JSON",
                format!("Anthropic takes a tool's input as an object ({e})"),
            )
        })?;
        out.push(json!({
            "type": "tool_use",
            "id": str_of(call, "id"),
            "name": call.pointer("/function/name").and_then(Value::as_str).unwrap_or(""),
            "input": input,
        }));
    }
    Ok(out)
}

/// A `tool` message as a `tool_result` block.
fn tool_result(m: &Value) -> Result<Value, Untranslatable> {
    Ok(json!({
        "type": "tool_result",
        "tool_use_id": str_of(m, "tool_call_id"),
        "content": text_of(m.get("content"), "tool")?,
    }))
}

/// `tools`, `tool_choice` and `parallel_tool_calls` into `out`.
fn tools(req: &Map<String, Value>, out: &mut Map<String, Value>) -> Result<(), Untranslatable> {
    let list = req
        .get("tools")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut tools = Vec::new();
    for t in list {
        let kind = str_of(t, "type");
        if kind != "function" {
            return Err(Untranslatable::new(
                format!("a \"{kind}\" tool"),
                "Anthropic takes function tools here",
            ));
        }
        let f = t.get("function").unwrap_or(&Value::Null);
        let mut tool = Map::new();
        tool.insert("name".into(), json!(str_of(f, "name")));
        if let Some(d) = f.get("description").filter(|v| v.is_string()) {
            tool.insert("description".into(), d.clone());
        }
        tool.insert(
            "input_schema".into(),
            f.get("parameters")
                .filter(|v| v.is_object())
                .cloned()
                .unwrap_or_else(|| json!({"type": "object", "properties": {}})),
        );
        tools.push(Value::Object(tool));
    }
    if !tools.is_empty() {
        out.insert("tools".into(), Value::Array(tools));
    }
    let mut choice = match req.get("tool_choice") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(match s.as_str() {
            "auto" => json!({"type": "auto"}),
            "required" => json!({"type": "any"}),
            "none" => json!({"type": "none"}),
            other => {
                return Err(Untranslatable::new(
                    format!("tool_choice \"{other}\""),
                    "Anthropic knows auto, any (required), none and a named tool",
                ))
            }
        }),
        Some(c) => match c.pointer("/function/name").and_then(Value::as_str) {
            Some(name) => Some(json!({"type": "tool", "name": name})),
            None => {
                return Err(Untranslatable::new(
                    "this tool_choice",
                    "Anthropic knows auto, any (required), none and a named function",
                ))
            }
        },
    };
    if req.get("parallel_tool_calls").and_then(Value::as_bool) == Some(false) && !list.is_empty() {
        let c = choice.get_or_insert_with(|| json!({"type": "auto"}));
        if c["type"] != "none" {
            c["disable_parallel_tool_use"] = json!(true);
        }
    }
    if let Some(c) = choice {
        out.insert("tool_choice".into(), c);
    }
    Ok(())
}

/// The thinking budget for `effort` within `max_tokens` (see the module doc).
fn thinking_budget(effort: &str, max_tokens: u64) -> Option<u64> {
    let want = match effort {
        "low" => 1024,
        "medium" => 4096,
        "high" => 16384,
        _ => return None,
    };
    let budget = want.min(max_tokens.saturating_sub(1));
    (budget >= MIN_BUDGET).then_some(budget)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(req: Value) -> String {
        match request(&req, "up") {
            Err(e) => e.to_string(),
            Ok(v) => panic!("translated: {v}"),
        }
    }

    #[test]
    fn roles_alternate_and_system_is_hoisted() {
        let req = json!({"messages": [
            {"role": "system", "content": "a"},
            {"role": "user", "content": "hi"},
            {"role": "developer", "content": [{"type": "text", "text": "b"}]},
            {"role": "user", "content": "again"},
            {"role": "assistant", "content": "", "reasoning_content": "hmm",
             "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"x\":1}"}},
                            {"id": "c2", "type": "function", "function": {"name": "g", "arguments": ""}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "one"},
            {"role": "tool", "tool_call_id": "c2", "content": [{"type": "text", "text": "two"}]},
            {"role": "user", "content": ""},
        ]});
        let up = request(&req, "up").unwrap_or_default();
        assert_eq!(up["system"], "a\n\nb");
        assert_eq!(up["max_tokens"], DEFAULT_MAX_TOKENS);
        assert_eq!(
            up["messages"],
            json!([
                {"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "text", "text": "again"}]},
                {"role": "assistant", "content": [
                    {"type": "tool_use", "id": "c1", "name": "f", "input": {"x": 1}},
                    {"type": "tool_use", "id": "c2", "name": "g", "input": {}}]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "c1", "content": "one"},
                    {"type": "tool_result", "tool_use_id": "c2", "content": "two"}]},
            ])
        );
    }

    #[test]
    fn what_anthropic_cannot_say_is_refused() {
        assert!(refused(json!({"messages": [], "n": 2})).contains("\"n\""));
        assert!(refused(json!({"messages": [], "logprobs": true})).contains("logprobs"));
        assert!(
            refused(json!({"messages": [], "response_format": {"type": "json_schema"}}))
                .contains("json_schema")
        );
        let bad_args = json!({"messages": [{"role": "assistant", "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{x"}}]}]});
        assert!(refused(bad_args).contains("not JSON"));
        assert!(
            refused(json!({"messages": [], "tools": [{"type": "custom", "custom": {}}]}))
                .contains("custom")
        );
        assert!(refused(
            json!({"messages": [{"role": "user", "content": [{"type": "input_audio"}]}]})
        )
        .contains("input_audio"));
    }

    #[test]
    fn thinking_leaves_sampling_out_and_a_forced_tool_leaves_thinking_out() {
        let req =
            json!({"messages": [], "reasoning_effort": "high", "temperature": 0.3, "top_p": 0.5});
        let up = request(&req, "up").unwrap_or_default();
        assert_eq!(
            up["thinking"],
            json!({"type": "enabled", "budget_tokens": 4095})
        );
        assert!(up.get("temperature").is_none() && up.get("top_p").is_none());
        let forced = json!({"messages": [], "reasoning_effort": "high", "temperature": 0.3,
            "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "required"});
        let up = request(&forced, "up").unwrap_or_default();
        assert!(up.get("thinking").is_none());
        assert_eq!(up["temperature"], 0.3);
    }

    #[test]
    fn efforts_become_budgets_that_fit() {
        assert_eq!(thinking_budget("low", 4096), Some(1024));
        assert_eq!(thinking_budget("high", 8000), Some(7999));
        assert_eq!(thinking_budget("medium", 1024), None);
        assert_eq!(thinking_budget("minimal", 9999), None);
    }

    #[test]
    fn tool_choice_parallelism_temperature_stop() {
        let req = json!({"messages": [], "tools": [{"type": "function", "function": {"name": "f"}}],
            "tool_choice": "required", "parallel_tool_calls": false, "temperature": 1.5, "stop": "END",
            "max_tokens": 100, "max_completion_tokens": 200});
        let up = request(&req, "up").unwrap_or_default();
        assert_eq!(
            up["tool_choice"],
            json!({"type": "any", "disable_parallel_tool_use": true})
        );
        assert_eq!(
            up["tools"][0]["input_schema"],
            json!({"type": "object", "properties": {}})
        );
        assert_eq!(up["temperature"], 1.0);
        assert_eq!(up["stop_sequences"], json!(["END"]));
        assert_eq!(up["max_tokens"], 200);
        let named =
            json!({"messages": [], "tool_choice": {"type": "function", "function": {"name": "f"}}});
        assert_eq!(
            request(&named, "up").unwrap_or_default()["tool_choice"],
            json!({"type": "tool", "name": "f"})
        );
    }
}
