//! A Gemini `generateContent` request → an OpenAI chat completion request
//! (the rules are in the folder's `//!` doc).

use serde_json::{json, Map, Value};

use super::schema::to_json_schema;
use crate::translate::Untranslatable;

/// Top-level keys dropped by rule (nothing a chat seller can honour, and
/// nothing the answer depends on): Gemini's safety thresholds and labels.
const DROPPED_TOP: &[&str] = &["safetySettings", "labels"];

/// `generationConfig` keys dropped by rule: `topK` (chat has no top-k),
/// `mediaResolution` (a token-budget hint for images), `includeThoughts`
/// lives in `thinkingConfig` (reasoning comes back whenever the seller
/// sends it), `responseModalities: ["TEXT"]` (what chat answers anyway).
const DROPPED_CONFIG: &[&str] = &["topK", "mediaResolution", "candidateCount"];

/// The chat request for a Gemini `request` (the body plus, from the path,
/// `stream: true` for `:streamGenerateContent`), sending `upstream_model`.
pub fn request(request: &Value, upstream_model: &str) -> Result<Value, Untranslatable> {
    let Some(top) = request.as_object() else {
        return Err(Untranslatable::new(
            "a request body that is not a JSON object",
            "Gemini requests are objects with `contents`",
        ));
    };
    for key in top.keys() {
        let known = matches!(
            key.as_str(),
            "contents"
                | "systemInstruction"
                | "tools"
                | "toolConfig"
                | "generationConfig"
                | "model"
                | "stream"
        ) || DROPPED_TOP.contains(&key.as_str());
        if !known {
            return Err(Untranslatable::new(
                format!("the request field `{key}`"),
                "an OpenAI chat seller has no equivalent (send it to a Gemini seller)",
            ));
        }
    }
    let mut messages = Vec::new();
    if let Some(system) = top.get("systemInstruction") {
        messages.push(json!({"role": "system", "content": system_text(system)?}));
    }
    let mut calls = Calls::default();
    for content in top
        .get("contents")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        content_messages(content, &mut calls, &mut messages)?;
    }
    let mut out = Map::new();
    out.insert("model".into(), json!(upstream_model));
    out.insert("messages".into(), Value::Array(messages));
    let mut tools = match top.get("tools") {
        Some(t) => chat_tools(t)?,
        None => Vec::new(),
    };
    if let Some(cfg) = top
        .get("toolConfig")
        .and_then(|t| t.get("functionCallingConfig"))
    {
        if let Some(choice) = tool_choice(cfg, &mut tools)? {
            out.insert("tool_choice".into(), choice);
        }
    }
    if !tools.is_empty() {
        out.insert("tools".into(), Value::Array(tools));
    }
    if let Some(cfg) = top.get("generationConfig") {
        generation_config(cfg, &mut out)?;
    }
    if top.get("stream").and_then(Value::as_bool) == Some(true) {
        out.insert("stream".into(), json!(true));
        out.insert("stream_options".into(), json!({"include_usage": true}));
    }
    Ok(Value::Object(out))
}

/// The system prompt: `systemInstruction` as a Content (`{parts}`) or, as
/// some clients send it, a plain string.
fn system_text(system: &Value) -> Result<Value, Untranslatable> {
    if let Some(s) = system.as_str() {
        return Ok(json!(s));
    }
    let mut texts = Vec::new();
    for part in system
        .get("parts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match part.get("text").and_then(Value::as_str) {
            Some(t) => texts.push(t),
            None => {
                return Err(Untranslatable::new(
                    "a non-text part in `systemInstruction`",
                    "a chat system message holds text only",
                ))
            }
        }
    }
    Ok(json!(texts.join("\n")))
}

/// The tool calls of the conversation so far: the ids sent to the seller
/// (Gemini's own, else `call_<n>` by order), and which are not answered yet.
#[derive(Default)]
struct Calls {
    made: usize,
    /// (id, function name, answered)
    seen: Vec<(String, String, bool)>,
}

impl Calls {
    fn call(&mut self, id: Option<&str>, name: &str) -> String {
        self.made += 1;
        let id = id
            .filter(|i| !i.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| format!("call_{}", self.made));
        self.seen.push((id.clone(), name.to_string(), false));
        id
    }

    /// The call a response answers: by its id, else the first unanswered
    /// call of that name.
    fn answer(&mut self, id: Option<&str>, name: &str) -> Option<String> {
        let slot = match id.filter(|i| !i.is_empty()) {
            Some(id) => self.seen.iter_mut().find(|(i, _, _)| i == id),
            None => self
                .seen
                .iter_mut()
                .find(|(_, n, answered)| n == name && !answered),
        }?;
        slot.2 = true;
        Some(slot.0.clone())
    }
}

fn content_messages(
    content: &Value,
    calls: &mut Calls,
    messages: &mut Vec<Value>,
) -> Result<(), Untranslatable> {
    let role = content
        .get("role")
        .and_then(Value::as_str)
        .unwrap_or("user");
    let parts = content
        .get("parts")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    match role {
        "model" => messages.push(model_message(parts, calls)?),
        "user" | "function" | "tool" => {
            // Tool results first: chat wants them right after the call.
            let mut user = Vec::new();
            for part in parts {
                if let Some(r) = part.get("functionResponse") {
                    messages.push(tool_message(r, calls)?);
                } else if let Some(p) = user_part(part)? {
                    user.push(p);
                }
            }
            if !user.is_empty() {
                let content = match user.as_slice() {
                    [only] if only["type"] == "text" => only["text"].clone(),
                    _ => Value::Array(user),
                };
                messages.push(json!({"role": "user", "content": content}));
            }
        }
        other => {
            return Err(Untranslatable::new(
                format!("a content with role `{other}`"),
                "Gemini roles are `user` and `model`",
            ))
        }
    }
    Ok(())
}

/// A part the model did not make: text or an image.
fn user_part(part: &Value) -> Result<Option<Value>, Untranslatable> {
    if is_thought(part) {
        return Ok(None);
    }
    if let Some(t) = part.get("text").and_then(Value::as_str) {
        return Ok(Some(json!({"type": "text", "text": t})));
    }
    if let Some(data) = part.get("inlineData") {
        let mime = data.get("mimeType").and_then(Value::as_str).unwrap_or("");
        let b64 = data.get("data").and_then(Value::as_str).unwrap_or("");
        if !mime.starts_with("image/") {
            return Err(Untranslatable::new(
                format!("an `inlineData` part of type `{mime}`"),
                "chat sellers take images only (send other files to a Gemini seller)",
            ));
        }
        return Ok(Some(
            json!({"type": "image_url", "image_url": {"url": format!("data:{mime};base64,{b64}")}}),
        ));
    }
    Err(unsupported_part(part))
}

fn unsupported_part(part: &Value) -> Untranslatable {
    let kind = part
        .as_object()
        .and_then(|o| o.keys().find(|k| *k != "thoughtSignature"))
        .cloned()
        .unwrap_or_else(|| "empty".into());
    let why = match kind.as_str() {
        "fileData" => "chat sellers cannot fetch Gemini file URIs (inline the image instead)",
        "executableCode" | "codeExecutionResult" => {
            "code execution is a Gemini server tool that chat sellers lack"
        }
        _ => "an OpenAI chat seller has no equivalent",
    };
    Untranslatable::new(format!("a `{kind}` part"), why)
}

/// Thought summaries (`thought: true`) are the model's earlier reasoning:
/// chat has no way to send prior reasoning back, so they are dropped.
fn is_thought(part: &Value) -> bool {
    part.get("thought").and_then(Value::as_bool) == Some(true)
}

fn model_message(parts: &[Value], calls: &mut Calls) -> Result<Value, Untranslatable> {
    let mut text = String::new();
    let mut tool_calls = Vec::new();
    for part in parts {
        if is_thought(part) {
            continue;
        }
        if let Some(t) = part.get("text").and_then(Value::as_str) {
            text.push_str(t);
        } else if let Some(call) = part.get("functionCall") {
            let name = call.get("name").and_then(Value::as_str).unwrap_or("");
            let id = calls.call(call.get("id").and_then(Value::as_str), name);
            let args = call.get("args").cloned().unwrap_or_else(|| json!({}));
            tool_calls.push(json!({
                "id": id,
                "type": "function",
                "function": {"name": name, "arguments": args.to_string()},
            }));
        } else {
            return Err(unsupported_part(part));
        }
    }
    let mut msg = json!({"role": "assistant", "content": text});
    if !tool_calls.is_empty() {
        if text.is_empty() {
            msg["content"] = Value::Null;
        }
        msg["tool_calls"] = Value::Array(tool_calls);
    }
    Ok(msg)
}

fn tool_message(response: &Value, calls: &mut Calls) -> Result<Value, Untranslatable> {
    let name = response.get("name").and_then(Value::as_str).unwrap_or("");
    let id = calls
        .answer(response.get("id").and_then(Value::as_str), name)
        .ok_or_else(|| {
            Untranslatable::new(
                format!("a `functionResponse` for `{name}`"),
                "no `functionCall` before it in `contents` answers to it, and chat needs the call a result belongs to",
            )
        })?;
    let body = response.get("response").cloned().unwrap_or(Value::Null);
    Ok(json!({"role": "tool", "tool_call_id": id, "content": body.to_string()}))
}

fn chat_tools(tools: &Value) -> Result<Vec<Value>, Untranslatable> {
    let mut out = Vec::new();
    for tool in tools.as_array().into_iter().flatten() {
        let Some(obj) = tool.as_object() else {
            continue;
        };
        for (key, value) in obj {
            if key != "functionDeclarations" {
                return Err(Untranslatable::new(
                    format!("the `{key}` tool"),
                    "it runs on Google's servers, which an OpenAI chat seller lacks",
                ));
            }
            for f in value.as_array().into_iter().flatten() {
                out.push(function_tool(f)?);
            }
        }
    }
    Ok(out)
}

fn function_tool(f: &Value) -> Result<Value, Untranslatable> {
    let name = f.get("name").and_then(Value::as_str).unwrap_or("");
    if f.get("behavior").and_then(Value::as_str) == Some("NON_BLOCKING") {
        return Err(Untranslatable::new(
            format!("the NON_BLOCKING function `{name}`"),
            "chat tool calls always block the answer",
        ));
    }
    let parameters = match (f.get("parametersJsonSchema"), f.get("parameters")) {
        (Some(schema), _) => schema.clone(),
        (None, Some(schema)) => to_json_schema(schema),
        (None, None) => json!({"type": "object", "properties": {}}),
    };
    let mut function = json!({"name": name, "parameters": parameters});
    if let Some(d) = f.get("description") {
        function["description"] = d.clone();
    }
    Ok(json!({"type": "function", "function": function}))
}

/// `functionCallingConfig` → `tool_choice`. `ANY` with allowed names
/// keeps only those tools (chat's `tool_choice` names one at most).
fn tool_choice(cfg: &Value, tools: &mut Vec<Value>) -> Result<Option<Value>, Untranslatable> {
    let mode = cfg.get("mode").and_then(Value::as_str).unwrap_or("AUTO");
    let allowed: Vec<&str> = cfg
        .get("allowedFunctionNames")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    Ok(match mode {
        "MODE_UNSPECIFIED" => None,
        // VALIDATED: text or a schema-checked call; chat's `auto` is the nearest.
        "AUTO" | "VALIDATED" => Some(json!("auto")),
        "NONE" => Some(json!("none")),
        "ANY" if allowed.len() == 1 => {
            Some(json!({"type": "function", "function": {"name": allowed[0]}}))
        }
        "ANY" => {
            if !allowed.is_empty() {
                tools.retain(|t| {
                    t["function"]["name"]
                        .as_str()
                        .is_some_and(|n| allowed.contains(&n))
                });
            }
            Some(json!("required"))
        }
        other => {
            return Err(Untranslatable::new(
                format!("function calling mode `{other}`"),
                "chat knows auto, none and required",
            ))
        }
    })
}

fn generation_config(cfg: &Value, out: &mut Map<String, Value>) -> Result<(), Untranslatable> {
    let Some(cfg) = cfg.as_object() else {
        return Ok(());
    };
    let mut mime = None;
    let mut schema = None;
    for (key, value) in cfg {
        let same = |out: &mut Map<String, Value>, name: &str| {
            out.insert(name.to_string(), value.clone());
        };
        match key.as_str() {
            "temperature" => same(out, "temperature"),
            "topP" => same(out, "top_p"),
            "maxOutputTokens" => same(out, "max_tokens"),
            "stopSequences" => same(out, "stop"),
            "presencePenalty" => same(out, "presence_penalty"),
            "frequencyPenalty" => same(out, "frequency_penalty"),
            "seed" => same(out, "seed"),
            "candidateCount" if value.as_u64().is_some_and(|n| n > 1) => {
                return Err(Untranslatable::new(
                    "`candidateCount` over 1",
                    "TokenBuddy translates one candidate (chat's `n`) only",
                ))
            }
            "responseMimeType" => mime = value.as_str(),
            "responseSchema" => schema = Some(to_json_schema(value)),
            "responseJsonSchema" => schema = Some(value.clone()),
            "thinkingConfig" => {
                if let Some(effort) = reasoning_effort(value) {
                    out.insert("reasoning_effort".into(), json!(effort));
                }
            }
            "responseModalities" if is_text_only(value) => {}
            k if DROPPED_CONFIG.contains(&k) => {}
            other => {
                return Err(Untranslatable::new(
                    format!("`generationConfig.{other}`"),
                    "an OpenAI chat seller has no equivalent (send it to a Gemini seller)",
                ))
            }
        }
    }
    match (mime, schema) {
        (Some("application/json"), Some(schema)) => {
            out.insert(
                "response_format".into(),
                json!({"type": "json_schema", "json_schema": {"name": "response", "schema": schema}}),
            );
        }
        (Some("application/json"), None) => {
            out.insert("response_format".into(), json!({"type": "json_object"}));
        }
        (None | Some("text/plain"), None) => {}
        (m, _) => {
            return Err(Untranslatable::new(
                format!(
                    "`responseMimeType: {}` with a schema",
                    m.unwrap_or("text/plain")
                ),
                "chat's structured output is JSON only",
            ))
        }
    }
    Ok(())
}

fn is_text_only(modalities: &Value) -> bool {
    modalities
        .as_array()
        .is_some_and(|m| m.iter().all(|v| v.as_str() == Some("TEXT")))
}

/// `thinkingConfig` → `reasoning_effort`: `thinkingLevel` by name;
/// `thinkingBudget` by size (up to 1024 `low`, up to 8192 `medium`, more
/// `high`); a budget of 0 or -1 (off, or the model decides) sends nothing,
/// leaving the seller's default (many chat models refuse the field).
fn reasoning_effort(cfg: &Value) -> Option<&'static str> {
    if let Some(level) = cfg.get("thinkingLevel").and_then(Value::as_str) {
        return match level {
            "LOW" | "MINIMAL" => Some("low"),
            "MEDIUM" => Some("medium"),
            "HIGH" => Some("high"),
            _ => None,
        };
    }
    match cfg.get("thinkingBudget").and_then(Value::as_i64)? {
        b if b <= 0 => None,
        1..=1024 => Some("low"),
        1025..=8192 => Some("medium"),
        _ => Some("high"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_without_ids_get_ids_by_order_and_results_find_them_by_name() {
        let req = json!({"contents": [
            {"role": "user", "parts": [{"text": "weather?"}]},
            {"role": "model", "parts": [
                {"functionCall": {"name": "w", "args": {"c": "A"}}},
                {"functionCall": {"name": "w", "args": {"c": "B"}}},
            ]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "w", "response": {"t": 1}}},
                {"functionResponse": {"name": "w", "response": {"t": 2}}},
            ]},
        ]});
        let out = request(&req, "m").unwrap();
        let m = &out["messages"];
        assert_eq!(m[1]["tool_calls"][0]["id"], "call_1");
        assert_eq!(m[1]["tool_calls"][1]["id"], "call_2");
        assert_eq!(m[2]["tool_call_id"], "call_1");
        assert_eq!(m[3]["tool_call_id"], "call_2");
        assert_eq!(m[3]["content"], r#"{"t":2}"#);
    }

    #[test]
    fn a_result_without_its_call_is_refused() {
        let req = json!({"contents": [{"role": "user", "parts": [
            {"functionResponse": {"name": "w", "response": {}}}
        ]}]});
        assert!(request(&req, "m")
            .unwrap_err()
            .to_string()
            .contains("functionResponse"));
    }

    #[test]
    fn thinking_budgets() {
        for (cfg, want) in [
            (json!({"thinkingBudget": -1}), None),
            (json!({"thinkingBudget": 0}), None),
            (json!({"thinkingBudget": 512}), Some("low")),
            (json!({"thinkingBudget": 8192}), Some("medium")),
            (json!({"thinkingBudget": 24576}), Some("high")),
            (json!({"thinkingLevel": "HIGH"}), Some("high")),
        ] {
            assert_eq!(reasoning_effort(&cfg), want, "{cfg}");
        }
    }
}
