//! A Responses request → a chat completion request (the rules are in the
//! module's doc, `super`).

use serde_json::{json, Map, Value};

use super::{freeform, namespaces};
use crate::translate::Untranslatable;

/// Fields a Responses request may carry that are accepted without being sent
/// (each one's rule is in the module doc).
const ACCEPTED: &[&str] = &[
    "store",
    "include",
    "truncation",
    "metadata",
    "client_metadata",
    "stream_options",
];

/// Fields refused outright, with why.
fn refused(field: &str) -> Option<&'static str> {
    Some(match field {
        "previous_response_id" | "conversation" => {
            "it needs the conversation the seller stored, and chat sellers store none: send the \
             whole conversation as `input` (Codex does), or add a seller that speaks openai-responses"
        }
        "background" => "chat sellers answer while the connection is open; they run nothing in the background",
        "prompt" => "a prompt template lives on OpenAI's servers; chat sellers cannot look it up",
        "max_tool_calls" => "chat has no limit on the number of tool calls",
        "top_logprobs" => "TokenBuddy does not translate log probabilities",
        _ => return None,
    })
}

/// The chat request for a Responses `request`, sending `upstream_model`.
pub fn request(request: &Value, upstream_model: &str) -> Result<Value, Untranslatable> {
    let req = request
        .as_object()
        .ok_or_else(|| Untranslatable::new("the request", "it is not a JSON object"))?;
    let mut out = Map::new();
    out.insert("model".into(), upstream_model.into());
    let mut messages = Vec::new();
    for (key, value) in req {
        if value.is_null() {
            continue;
        }
        match key.as_str() {
            "model" | "input" | "tools" | "tool_choice" | "parallel_tool_calls" => {}
            "instructions" => {
                messages.push(json!({"role": "system", "content": instructions(value)?}))
            }
            "stream" => {
                out.insert("stream".into(), value.clone());
                if value.as_bool() == Some(true) {
                    out.insert("stream_options".into(), json!({"include_usage": true}));
                }
            }
            "max_output_tokens" => {
                out.insert("max_tokens".into(), value.clone());
            }
            "temperature"
            | "top_p"
            | "user"
            | "safety_identifier"
            | "service_tier"
            | "prompt_cache_key"
            | "prompt_cache_retention" => {
                out.insert(key.clone(), value.clone());
            }
            "text" => text(value, &mut out)?,
            "reasoning" => {
                if let Some(effort) = value.get("effort").filter(|e| !e.is_null()) {
                    out.insert("reasoning_effort".into(), effort.clone());
                }
            }
            k if ACCEPTED.contains(&k) => {}
            k => {
                let why = refused(k).unwrap_or(
                    "TokenBuddy does not know how to say it to a chat seller (send it to a seller \
                     that speaks openai-responses)",
                );
                return Err(Untranslatable::new(format!("the `{k}` field"), why));
            }
        }
    }
    match req.get("input") {
        Some(Value::String(s)) => messages.push(json!({"role": "user", "content": s})),
        Some(Value::Array(items)) => {
            for item in items {
                input_item(item, &mut messages)?;
            }
        }
        None | Some(Value::Null) => {}
        Some(_) => {
            return Err(Untranslatable::new(
                "`input`",
                "it is neither a string nor a list of items",
            ))
        }
    }
    out.insert("messages".into(), Value::Array(messages));
    let tools = tools(req.get("tools"))?;
    if !tools.is_empty() {
        out.insert("tools".into(), Value::Array(tools));
        if let Some(choice) = req.get("tool_choice").filter(|c| !c.is_null()) {
            out.insert("tool_choice".into(), tool_choice(choice)?);
        }
        if let Some(p) = req.get("parallel_tool_calls").filter(|p| !p.is_null()) {
            out.insert("parallel_tool_calls".into(), p.clone());
        }
    }
    Ok(Value::Object(out))
}

/// `instructions` as a system message's content (a string, or input items
/// that are all text).
fn instructions(value: &Value) -> Result<Value, Untranslatable> {
    match value {
        Value::String(_) => Ok(value.clone()),
        _ => Err(Untranslatable::new(
            "`instructions` that are not a string",
            "send them as a system message in `input`",
        )),
    }
}

/// `text.format` → `response_format`; `text.verbosity` → `verbosity`.
fn text(value: &Value, out: &mut Map<String, Value>) -> Result<(), Untranslatable> {
    if let Some(format) = value.get("format").filter(|f| !f.is_null()) {
        let kind = format
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let chat = match kind {
            "text" => None,
            "json_object" => Some(json!({"type": "json_object"})),
            "json_schema" => {
                let mut schema = Map::new();
                for key in ["name", "description", "schema", "strict"] {
                    if let Some(v) = format.get(key).filter(|v| !v.is_null()) {
                        schema.insert(key.into(), v.clone());
                    }
                }
                Some(json!({"type": "json_schema", "json_schema": schema}))
            }
            other => {
                return Err(Untranslatable::new(
                    format!("a `{other}` text format"),
                    "chat knows only text, json_object and json_schema",
                ))
            }
        };
        if let Some(chat) = chat {
            out.insert("response_format".into(), chat);
        }
    }
    if let Some(v) = value.get("verbosity").filter(|v| !v.is_null()) {
        out.insert("verbosity".into(), v.clone());
    }
    Ok(())
}

/// Appends the chat messages for one input item.
fn input_item(item: &Value, messages: &mut Vec<Value>) -> Result<(), Untranslatable> {
    // An item with a role and no type is a message (the SDK's "easy" form).
    let kind = match item.get("type").and_then(Value::as_str) {
        Some(kind) => kind,
        None if item.get("role").is_some() => "message",
        None => {
            return Err(Untranslatable::new(
                "an input item without a type",
                "it names no kind",
            ))
        }
    };
    match kind {
        "message" => message(item, messages),
        "function_call" | "custom_tool_call" => {
            // A call in a namespace was of the namespace's flattened function.
            let name = match (item.get("namespace").and_then(Value::as_str), item.get("name")) {
                (Some(ns), Some(Value::String(name))) => namespaces::joined(ns, name).into(),
                (_, name) => name.cloned().unwrap_or(Value::Null),
            };
            // A custom tool's call was a function call taking `{"input"}`
            // (see `freeform`).
            let arguments = match kind {
                "custom_tool_call" => json!({"input": item.get("input").cloned().unwrap_or_else(|| "".into())})
                    .to_string()
                    .into(),
                _ => item.get("arguments").cloned().unwrap_or_else(|| "".into()),
            };
            let call = json!({
                "id": item.get("call_id").cloned().unwrap_or(Value::Null),
                "type": "function",
                "function": {
                    "name": name,
                    "arguments": arguments,
                },
            });
            // Consecutive calls, and the assistant text before them, are
            // one chat assistant message.
            match messages.last_mut() {
                Some(last) if last["role"] == "assistant" => {
                    match last.get_mut("tool_calls").and_then(Value::as_array_mut) {
                        Some(calls) => calls.push(call),
                        None => last["tool_calls"] = json!([call]),
                    }
                }
                _ => messages.push(json!({"role": "assistant", "content": null, "tool_calls": [call]})),
            }
            Ok(())
        }
        "function_call_output" | "custom_tool_call_output" => {
            let content = match item.get("output") {
                Some(Value::String(s)) => Value::String(s.clone()),
                Some(Value::Array(parts)) => Value::Array(
                    parts
                        .iter()
                        .map(|p| match p.get("type").and_then(Value::as_str) {
                            Some("input_text" | "output_text") => {
                                Ok(json!({"type": "text", "text": p.get("text").cloned().unwrap_or_else(|| "".into())}))
                            }
                            other => Err(Untranslatable::new(
                                format!("a `{}` part in a function call's output", other.unwrap_or("untyped")),
                                "chat tool results carry text only",
                            )),
                        })
                        .collect::<Result<_, _>>()?,
                ),
                _ => return Err(Untranslatable::new(format!("a `{kind}` without an output"), "chat needs the tool's result")),
            };
            messages.push(json!({
                "role": "tool",
                "tool_call_id": item.get("call_id").cloned().unwrap_or(Value::Null),
                "content": content,
            }));
            Ok(())
        }
        // The model's own scratch; chat takes none back (module doc).
        "reasoning" => Ok(()),
        "item_reference" => Err(Untranslatable::new(
            "an `item_reference` input item",
            "it points into a conversation the seller stored, and chat sellers store none: send the item itself",
        )),
        "compaction" => Err(Untranslatable::new(
            "a `compaction` input item",
            "it is encrypted for OpenAI's servers; only a seller that speaks openai-responses can read it",
        )),
        other => Err(Untranslatable::new(
            format!("a `{other}` input item"),
            "chat sellers run no server tools and have no such item; only plain function calls translate",
        )),
    }
}

/// A message item → one chat message.
fn message(item: &Value, messages: &mut Vec<Value>) -> Result<(), Untranslatable> {
    let role = match item.get("role").and_then(Value::as_str) {
        Some("developer" | "system") => "system",
        Some("user") => "user",
        Some("assistant") => "assistant",
        other => {
            return Err(Untranslatable::new(
                format!("a message from `{}`", other.unwrap_or("nobody")),
                "chat messages come from system, developer, user or assistant",
            ))
        }
    };
    let content = match item.get("content") {
        Some(Value::String(s)) => Value::String(s.clone()),
        Some(Value::Array(parts)) => {
            let parts = parts
                .iter()
                .map(|p| part(p, role))
                .collect::<Result<Vec<_>, _>>()?;
            match parts.as_slice() {
                [only] if only["type"] == "text" => only["text"].clone(),
                _ => Value::Array(parts),
            }
        }
        _ => {
            return Err(Untranslatable::new(
                "a message without content",
                "chat messages need content",
            ))
        }
    };
    messages.push(json!({"role": role, "content": content}));
    Ok(())
}

/// One content part of a message from `role`.
fn part(p: &Value, role: &str) -> Result<Value, Untranslatable> {
    let kind = p.get("type").and_then(Value::as_str).unwrap_or("untyped");
    match kind {
        "input_text" | "output_text" | "text" => Ok(json!({
            "type": "text",
            "text": p.get("text").cloned().unwrap_or_else(|| "".into()),
        })),
        "refusal" if role == "assistant" => Ok(json!({
            "type": "refusal",
            "refusal": p.get("refusal").cloned().unwrap_or_else(|| "".into()),
        })),
        "input_image" if role == "user" => {
            let Some(url) = p.get("image_url").and_then(Value::as_str) else {
                return Err(Untranslatable::new(
                    "an `input_image` by `file_id`",
                    "chat sellers have no file store: send the image as a data: or https: URL",
                ));
            };
            let mut image = json!({"url": url});
            if let Some(detail) = p.get("detail").filter(|d| !d.is_null()) {
                image["detail"] = detail.clone();
            }
            Ok(json!({"type": "image_url", "image_url": image}))
        }
        "input_image" => Err(Untranslatable::new(
            format!("an image in a {role} message"),
            "chat takes images in user messages only",
        )),
        "input_audio" if role == "user" => Ok(json!({
            "type": "input_audio",
            "input_audio": p.get("input_audio").cloned().unwrap_or(Value::Null),
        })),
        "input_file" => Err(Untranslatable::new(
            "an `input_file` part",
            "TokenBuddy does not send files to chat sellers (many have no file input)",
        )),
        other => Err(Untranslatable::new(
            format!("a `{other}` content part in a {role} message"),
            "chat has no such content",
        )),
    }
}

/// Responses tools → chat tools.
fn tools(tools: Option<&Value>) -> Result<Vec<Value>, Untranslatable> {
    let Some(Value::Array(tools)) = tools else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for t in tools {
        out.push(match t.get("type").and_then(Value::as_str) {
            Some("function") => {
                let mut f = Map::new();
                for key in ["name", "description", "parameters", "strict"] {
                    if let Some(v) = t.get(key).filter(|v| !v.is_null()) {
                        f.insert(key.into(), v.clone());
                    }
                }
                Ok(json!({"type": "function", "function": f}))
            }
            Some("custom") => Ok(freeform::function_tool(t)),
            Some("namespace") => {
                out.extend(namespaces::flatten(t)?);
                continue;
            }
            other => Err(Untranslatable::new(
                format!("the `{}` tool", other.unwrap_or("untyped")),
                "chat sellers run no server tools (for Codex's web_search: -c web_search=disabled)",
            )),
        }?);
    }
    // A flattened name must not stand for two tools.
    let mut names: Vec<&str> = out
        .iter()
        .filter_map(|t| t["function"]["name"].as_str())
        .collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(Untranslatable::new(
            format!("two tools named `{}` for chat", w[0]),
            "chat tools have one flat list of names (a namespace's functions are named `<namespace>__<name>`)",
        ));
    }
    Ok(out)
}

/// `tool_choice` in chat's shape.
fn tool_choice(choice: &Value) -> Result<Value, Untranslatable> {
    match choice {
        Value::String(s) if matches!(s.as_str(), "auto" | "none" | "required") => {
            Ok(choice.clone())
        }
        Value::Object(o)
            if matches!(
                o.get("type").and_then(Value::as_str),
                Some("function" | "custom")
            ) =>
        {
            Ok(json!({
                "type": "function",
                "function": {"name": o.get("name").cloned().unwrap_or(Value::Null)},
            }))
        }
        _ => Err(Untranslatable::new(
            format!("the tool choice {choice}"),
            "chat can be told auto, none, required or one function (or custom tool)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instructions_string_input_and_stream_usage() {
        let up = request(
            &json!({"model": "m", "instructions": "be brief", "input": "hi", "stream": true, "store": true}),
            "up",
        )
        .unwrap();
        assert_eq!(
            up,
            json!({
                "model": "up",
                "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
                "stream": true,
                "stream_options": {"include_usage": true},
            })
        );
    }

    #[test]
    fn reasoning_items_are_dropped_and_calls_merge() {
        let up = request(
            &json!({"model": "m", "input": [
                {"type": "message", "role": "user", "content": "go"},
                {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAA"},
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "ok"}]},
                {"type": "function_call", "call_id": "c1", "name": "a", "arguments": "{}"},
                {"type": "function_call", "call_id": "c2", "name": "b", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "c1", "output": "1"},
            ]}),
            "up",
        )
        .unwrap();
        let m = up["messages"].as_array().unwrap();
        assert_eq!(m.len(), 3, "{up}");
        assert_eq!(m[1]["content"], "ok");
        assert_eq!(m[1]["tool_calls"][1]["id"], "c2");
        assert_eq!(
            m[2],
            json!({"role": "tool", "tool_call_id": "c1", "content": "1"})
        );
    }

    #[test]
    fn tool_fields_only_with_tools() {
        let up = request(&json!({"model": "m", "input": "x", "tool_choice": "auto", "parallel_tool_calls": true, "tools": []}), "up").unwrap();
        assert!(
            up.get("tool_choice").is_none() && up.get("parallel_tool_calls").is_none(),
            "{up}"
        );
    }

    #[test]
    fn unknown_fields_and_server_tools_are_refused() {
        let e = request(&json!({"model": "m", "input": "x", "frobnicate": 1}), "up").unwrap_err();
        assert!(e.what.contains("frobnicate"), "{e}");
        let e = request(
            &json!({"model": "m", "input": "x", "tools": [{"type": "web_search"}]}),
            "up",
        )
        .unwrap_err();
        assert!(e.to_string().contains("web_search"), "{e}");
        let e = request(
            &json!({"model": "m", "input": "x", "previous_response_id": "resp_1"}),
            "up",
        )
        .unwrap_err();
        assert!(e.why.contains("openai-responses"), "{e}");
    }
}
