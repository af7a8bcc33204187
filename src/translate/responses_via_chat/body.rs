//! A whole chat completion → a Responses `Response`.

use serde_json::{json, Value};

use super::envelope::{self, Ending};
use super::{freeform, namespaces};
use crate::translate::{BadAnswer, Context};

/// The client's body for the seller's whole answer.
pub fn response(ctx: &Context, body: &[u8]) -> Result<Vec<u8>, BadAnswer> {
    let chat: Value = serde_json::from_slice(body)
        .map_err(|e| BadAnswer(format!("the chat completion is no JSON: {e}")))?;
    let choice = chat
        .get("choices")
        .and_then(|c| c.get(0))
        .ok_or_else(|| BadAnswer("the chat completion has no choices".into()))?;
    let message = choice
        .get("message")
        .ok_or_else(|| BadAnswer("the chat completion's choice has no message".into()))?;
    let ending = Ending::of(
        choice
            .get("finish_reason")
            .and_then(Value::as_str)
            .unwrap_or("stop"),
    );
    let status = ending.status();
    let mut output = Vec::new();
    let reasoning =
        text_of(message.get("reasoning_content")).or_else(|| text_of(message.get("reasoning")));
    if let Some(text) = reasoning {
        output.push(json!({
            "type": "reasoning",
            "id": envelope::item_id(ctx, "rs", output.len()),
            "summary": [],
            "content": [{"type": "reasoning_text", "text": text}],
            "status": status,
        }));
    }
    let mut content = Vec::new();
    if let Some(text) = text_of(message.get("content")) {
        content
            .push(json!({"type": "output_text", "text": text, "annotations": [], "logprobs": []}));
    }
    if let Some(refusal) = text_of(message.get("refusal")) {
        content.push(json!({"type": "refusal", "refusal": refusal}));
    }
    if !content.is_empty() {
        output.push(json!({
            "type": "message",
            "id": envelope::item_id(ctx, "msg", output.len()),
            "status": status,
            "role": "assistant",
            "content": content,
        }));
    }
    let custom = freeform::custom_names(&ctx.request);
    let table = namespaces::of_request(&ctx.request);
    for call in message
        .get("tool_calls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let f = call.get("function").unwrap_or(&Value::Null);
        let name = f
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| BadAnswer("a tool call has no function name".into()))?;
        let arguments = f.get("arguments").and_then(Value::as_str).unwrap_or("");
        let call_id = call.get("id").cloned().unwrap_or(Value::Null);
        output.push(if custom.iter().any(|c| c == name) {
            json!({
                "type": "custom_tool_call",
                "id": envelope::item_id(ctx, "ctc", output.len()),
                "call_id": call_id,
                "name": name,
                "input": freeform::input_of(arguments),
                "status": status,
            })
        } else {
            let mut item = json!({
                "type": "function_call",
                "id": envelope::item_id(ctx, "fc", output.len()),
                "call_id": call_id,
                "name": name,
                "arguments": arguments,
                "status": status,
            });
            namespaces::restore(&mut item, &table);
            item
        });
    }
    let usage = chat.get("usage").and_then(envelope::usage);
    let resp = envelope::response(ctx, Some(ending), output, usage);
    serde_json::to_vec(&resp).map_err(|e| BadAnswer(e.to_string()))
}

/// A non-empty string field.
fn text_of(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str).filter(|s| !s.is_empty())
}
