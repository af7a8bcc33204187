//! An Anthropic Messages request → an OpenAI Chat Completions request (the
//! rules are in the parent module's doc).

use serde_json::{json, Map, Value};

use crate::translate::Untranslatable;

/// The chat request for a Messages `request`, sending `upstream_model`.
pub fn request(request: &Value, upstream_model: &str) -> Result<Value, Untranslatable> {
    let req = request
        .as_object()
        .ok_or_else(|| Untranslatable::new("a request body", "it is not a JSON object"))?;
    for key in ["mcp_servers", "container"] {
        if req.get(key).is_some_and(|v| !v.is_null()) {
            return Err(Untranslatable::new(
                format!("\"{key}\""),
                "a chat seller has no remote MCP servers or code containers",
            ));
        }
    }
    let mut messages = Vec::new();
    if let Some(system) = req.get("system") {
        let text = system_text(system)?;
        if !text.is_empty() {
            messages.push(json!({"role": "system", "content": text}));
        }
    }
    for m in req
        .get("messages")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        message(m, &mut messages)?;
    }
    let mut out = Map::new();
    out.insert("model".into(), json!(upstream_model));
    out.insert("messages".into(), Value::Array(messages));
    if let Some(tools) = req.get("tools").and_then(Value::as_array) {
        if !tools.is_empty() {
            let tools = tools.iter().map(tool).collect::<Result<Vec<_>, _>>()?;
            out.insert("tools".into(), Value::Array(tools));
        }
    }
    if let Some(choice) = req.get("tool_choice").filter(|v| v.is_object()) {
        tool_choice(choice, &mut out)?;
    }
    for key in ["max_tokens", "temperature", "top_p"] {
        if let Some(v) = req.get(key).filter(|v| !v.is_null()) {
            out.insert(key.into(), v.clone());
        }
    }
    if let Some(stop) = req.get("stop_sequences").and_then(Value::as_array) {
        if !stop.is_empty() {
            out.insert("stop".into(), Value::Array(stop.clone()));
        }
    }
    if req.get("stream").and_then(Value::as_bool) == Some(true) {
        out.insert("stream".into(), json!(true));
        out.insert("stream_options".into(), json!({"include_usage": true}));
    }
    if let Some(effort) = req.get("thinking").and_then(reasoning_effort) {
        out.insert("reasoning_effort".into(), json!(effort));
    }
    if let Some(user) = request
        .pointer("/metadata/user_id")
        .filter(|v| v.is_string())
    {
        out.insert("user".into(), user.clone());
    }
    Ok(Value::Object(out))
}

/// `system` as one string: the text blocks joined by blank lines.
fn system_text(system: &Value) -> Result<String, Untranslatable> {
    match system {
        Value::String(s) => Ok(s.clone()),
        Value::Array(blocks) => {
            let mut texts = Vec::new();
            for b in blocks {
                match kind(b) {
                    "text" => texts.push(str_of(b, "text")),
                    other => {
                        return Err(Untranslatable::new(
                            format!("a \"{other}\" block in \"system\""),
                            "a chat system message holds text only",
                        ))
                    }
                }
            }
            Ok(texts.join("\n\n"))
        }
        Value::Null => Ok(String::new()),
        _ => Err(Untranslatable::new(
            "\"system\"",
            "it is neither a string nor a list of text blocks",
        )),
    }
}

fn kind(block: &Value) -> &str {
    block.get("type").and_then(Value::as_str).unwrap_or("")
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// Appends the chat messages for one Messages `m`.
fn message(m: &Value, out: &mut Vec<Value>) -> Result<(), Untranslatable> {
    let role = str_of(m, "role");
    let content = m.get("content").unwrap_or(&Value::Null);
    match (role, content) {
        // A system turn inside `messages` (Claude Code sends them): chat
        // has system messages anywhere, so it stays where it stands.
        ("system", _) => {
            let text = system_text(content)?;
            if !text.is_empty() {
                out.push(json!({"role": "system", "content": text}));
            }
            Ok(())
        }
        ("user" | "assistant", Value::String(s)) => {
            out.push(json!({"role": role, "content": s}));
            Ok(())
        }
        ("user", Value::Array(blocks)) => user(blocks, out),
        ("assistant", Value::Array(blocks)) => assistant(blocks, out),
        ("user" | "assistant", _) => Err(Untranslatable::new(
            format!("a {role} message's content"),
            "it is neither a string nor a list of blocks",
        )),
        _ => Err(Untranslatable::new(
            format!("a message with role \"{role}\""),
            "Messages roles are \"user\", \"assistant\" and \"system\"",
        )),
    }
}

/// A user turn: its tool results as `tool` messages first, then the rest as
/// one user message.
fn user(blocks: &[Value], out: &mut Vec<Value>) -> Result<(), Untranslatable> {
    let mut parts = Vec::new();
    for b in blocks {
        match kind(b) {
            "text" => parts.push(json!({"type": "text", "text": str_of(b, "text")})),
            "image" => parts.push(image(b)?),
            "tool_result" => out.push(tool_result(b)?),
            "document" => {
                return Err(Untranslatable::new(
                    "a \"document\" content block",
                    "chat has no document (PDF) input; send the text instead",
                ))
            }
            other => return Err(unknown_block(other, "user")),
        }
    }
    if parts.is_empty() {
        return Ok(());
    }
    let all_text = parts.iter().all(|p| kind(p) == "text");
    let content = if all_text {
        let texts: Vec<&str> = parts.iter().map(|p| str_of(p, "text")).collect();
        json!(texts.join("\n\n"))
    } else {
        Value::Array(parts)
    };
    out.push(json!({"role": "user", "content": content}));
    Ok(())
}

fn unknown_block(kind: &str, role: &str) -> Untranslatable {
    Untranslatable::new(
        format!("a \"{kind}\" content block in a {role} message"),
        "a chat seller has no equivalent",
    )
}

/// An `image` block as a chat `image_url` part.
fn image(b: &Value) -> Result<Value, Untranslatable> {
    let source = b.get("source").unwrap_or(&Value::Null);
    let url = match kind(source) {
        "base64" => format!(
            "data:{};base64,{}",
            str_of(source, "media_type"),
            str_of(source, "data")
        ),
        "url" => str_of(source, "url").to_string(),
        other => {
            return Err(Untranslatable::new(
                format!("an image with a \"{other}\" source"),
                "chat takes images as base64 data or a URL",
            ))
        }
    };
    Ok(json!({"type": "image_url", "image_url": {"url": url}}))
}

/// A `tool_result` block as a chat `tool` message.
fn tool_result(b: &Value) -> Result<Value, Untranslatable> {
    let text = match b.get("content") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(blocks)) => {
            let mut texts = Vec::new();
            for c in blocks {
                match kind(c) {
                    "text" => texts.push(str_of(c, "text")),
                    other => {
                        return Err(Untranslatable::new(
                            format!("a \"{other}\" block inside a tool result"),
                            "a chat tool message carries text only",
                        ))
                    }
                }
            }
            texts.join("\n\n")
        }
        Some(_) => {
            return Err(Untranslatable::new(
                "a tool result's content",
                "it is neither a string nor a list of blocks",
            ))
        }
    };
    let text = if b.get("is_error").and_then(Value::as_bool) == Some(true) {
        format!("Error: {text}")
    } else {
        text
    };
    Ok(json!({
        "role": "tool",
        "tool_call_id": str_of(b, "tool_use_id"),
        "content": text,
    }))
}

/// An assistant turn: its text and tool calls; its thinking is dropped.
fn assistant(blocks: &[Value], out: &mut Vec<Value>) -> Result<(), Untranslatable> {
    let mut texts = Vec::new();
    let mut calls = Vec::new();
    for b in blocks {
        match kind(b) {
            "text" => texts.push(str_of(b, "text")),
            "tool_use" => calls.push(json!({
                "id": str_of(b, "id"),
                "type": "function",
                "function": {
                    "name": str_of(b, "name"),
                    "arguments": b.get("input").map_or_else(|| "{}".to_string(), Value::to_string),
                },
            })),
            "thinking" | "redacted_thinking" => {}
            other => return Err(unknown_block(other, "assistant")),
        }
    }
    if texts.is_empty() && calls.is_empty() {
        return Ok(());
    }
    let mut m = json!({
        "role": "assistant",
        "content": if texts.is_empty() { Value::Null } else { json!(texts.join("\n\n")) },
    });
    if !calls.is_empty() {
        m["tool_calls"] = Value::Array(calls);
    }
    out.push(m);
    Ok(())
}

/// A client tool as a chat function; a server tool is refused.
fn tool(t: &Value) -> Result<Value, Untranslatable> {
    match t.get("type").and_then(Value::as_str) {
        None | Some("custom") => {}
        Some(server) => {
            return Err(Untranslatable::new(
                format!("the server tool \"{server}\""),
                "a chat seller cannot run Anthropic's server tools",
            ))
        }
    }
    let mut f = Map::new();
    f.insert("name".into(), json!(str_of(t, "name")));
    if let Some(d) = t.get("description").filter(|v| v.is_string()) {
        f.insert("description".into(), d.clone());
    }
    f.insert(
        "parameters".into(),
        t.get("input_schema")
            .cloned()
            .unwrap_or_else(|| json!({"type": "object", "properties": {}})),
    );
    Ok(json!({"type": "function", "function": f}))
}

/// `tool_choice` (and `disable_parallel_tool_use`) into `out`.
fn tool_choice(choice: &Value, out: &mut Map<String, Value>) -> Result<(), Untranslatable> {
    let chat = match kind(choice) {
        "auto" => json!("auto"),
        "any" => json!("required"),
        "none" => json!("none"),
        "tool" => json!({"type": "function", "function": {"name": str_of(choice, "name")}}),
        other => {
            return Err(Untranslatable::new(
                format!("tool_choice \"{other}\""),
                "chat knows auto, required, none and a named function",
            ))
        }
    };
    out.insert("tool_choice".into(), chat);
    if choice
        .get("disable_parallel_tool_use")
        .and_then(Value::as_bool)
        == Some(true)
        && out.contains_key("tools")
    {
        out.insert("parallel_tool_calls".into(), json!(false));
    }
    Ok(())
}

/// The `reasoning_effort` for a `thinking` setting (see the module doc).
fn reasoning_effort(thinking: &Value) -> Option<&'static str> {
    if kind(thinking) != "enabled" {
        return None;
    }
    let budget = thinking
        .get("budget_tokens")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    Some(match budget {
        0..=4096 => "low",
        4097..=16384 => "medium",
        _ => "high",
    })
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
    fn cache_control_top_k_and_prior_thinking_are_dropped() {
        let req = json!({
            "model": "claude", "max_tokens": 10, "top_k": 5,
            "system": [{"type": "text", "text": "a", "cache_control": {"type": "ephemeral"}}, {"type": "text", "text": "b"}],
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}]},
                {"role": "assistant", "content": [{"type": "thinking", "thinking": "hmm", "signature": "s"}]},
                {"role": "assistant", "content": [{"type": "redacted_thinking", "data": "x"}, {"type": "text", "text": "yo"}]},
            ],
        });
        let up = request(&req, "up").unwrap_or_default();
        assert_eq!(
            up["messages"],
            json!([
                {"role": "system", "content": "a\n\nb"},
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "yo"},
            ])
        );
        assert!(up.get("top_k").is_none() && !up.to_string().contains("cache_control"));
    }

    #[test]
    fn system_role_messages_stay_system_messages_where_they_stand() {
        // Claude Code 2.1 sends `role: "system"` turns inside `messages`.
        let req = json!({"system": "top", "messages": [
            {"role": "user", "content": "hi"},
            {"role": "system", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b", "cache_control": {"type": "ephemeral"}}]},
            {"role": "system", "content": "c"},
        ]});
        let up = request(&req, "up").unwrap_or_default();
        assert_eq!(
            up["messages"],
            json!([
                {"role": "system", "content": "top"},
                {"role": "user", "content": "hi"},
                {"role": "system", "content": "a\n\nb"},
                {"role": "system", "content": "c"},
            ])
        );
    }

    #[test]
    fn tool_results_come_first_and_errors_are_marked() {
        let req = json!({"messages": [{"role": "user", "content": [
            {"type": "text", "text": "after"},
            {"type": "tool_result", "tool_use_id": "t1", "content": "ok"},
            {"type": "tool_result", "tool_use_id": "t2", "is_error": true, "content": [{"type": "text", "text": "boom"}]},
        ]}]});
        let up = request(&req, "up").unwrap_or_default();
        assert_eq!(
            up["messages"],
            json!([
                {"role": "tool", "tool_call_id": "t1", "content": "ok"},
                {"role": "tool", "tool_call_id": "t2", "content": "Error: boom"},
                {"role": "user", "content": "after"},
            ])
        );
    }

    #[test]
    fn what_chat_cannot_say_is_refused() {
        let doc = json!({"messages": [{"role": "user", "content": [{"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "x"}}]}]});
        assert!(refused(doc).contains("document"));
        let img = json!({"messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "x"}}]}]}]});
        assert!(refused(img).contains("tool result"));
        let web = json!({"messages": [], "tools": [{"type": "web_search_20250305", "name": "web_search"}]});
        assert!(refused(web).contains("web_search_20250305"));
        assert!(refused(json!({"messages": [], "mcp_servers": [{}]})).contains("mcp_servers"));
        assert!(refused(json!([])).contains("not a JSON object"));
    }

    #[test]
    fn thinking_budgets_map_to_efforts() {
        let effort = |b: u64| reasoning_effort(&json!({"type": "enabled", "budget_tokens": b}));
        assert_eq!(effort(1024), Some("low"));
        assert_eq!(effort(4096), Some("low"));
        assert_eq!(effort(10000), Some("medium"));
        assert_eq!(effort(32000), Some("high"));
        assert_eq!(reasoning_effort(&json!({"type": "disabled"})), None);
        assert_eq!(reasoning_effort(&json!({"type": "adaptive"})), None);
    }

    #[test]
    fn tool_choice_and_parallelism() {
        let req = json!({"messages": [], "tools": [{"name": "f", "input_schema": {"type": "object"}}],
            "tool_choice": {"type": "any", "disable_parallel_tool_use": true}});
        let up = request(&req, "up").unwrap_or_default();
        assert_eq!(up["tool_choice"], "required");
        assert_eq!(up["parallel_tool_calls"], false);
        let named = json!({"messages": [], "tool_choice": {"type": "tool", "name": "f"}});
        assert_eq!(
            request(&named, "up").unwrap_or_default()["tool_choice"],
            json!({"type": "function", "function": {"name": "f"}})
        );
    }
}
