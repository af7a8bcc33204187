//! The simulator's OpenAI Responses API replies.

use serde_json::{json, Value};

use super::reply::{named, Reply, Script};

fn id(r: &Reply) -> String {
    format!("resp_sim{:06}", r.seq)
}

fn item_id(r: &Reply) -> String {
    format!("msg_sim{:06}", r.seq)
}

fn message(r: &Reply, text: &str, status: &str) -> Value {
    json!({
        "type": "message",
        "id": item_id(r),
        "status": status,
        "role": "assistant",
        "content": if status == "completed" {
            json!([{"type": "output_text", "text": text, "annotations": [], "logprobs": []}])
        } else {
            json!([])
        },
    })
}

fn response(r: &Reply, status: &str, output: Vec<Value>, with_usage: bool) -> Value {
    json!({
        "id": id(r),
        "object": "response",
        "created_at": r.created,
        "status": status,
        "background": false,
        "error": null,
        "incomplete_details": null,
        "instructions": null,
        "max_output_tokens": null,
        "model": r.model,
        "output": output,
        "parallel_tool_calls": true,
        "previous_response_id": null,
        "reasoning": {"effort": null, "summary": null},
        "store": true,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": if with_usage {
            json!({
                "input_tokens": r.input_tokens,
                "input_tokens_details": {"cached_tokens": r.cache_read},
                "output_tokens": r.output_tokens(),
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": r.input_tokens + r.output_tokens(),
            })
        } else {
            Value::Null
        },
        "user": null,
        "metadata": {},
    })
}

/// A non-streaming `response`.
pub fn body(r: &Reply) -> Value {
    response(
        r,
        "completed",
        vec![message(r, &r.text(), "completed")],
        true,
    )
}

/// A Responses event stream; `sequence_number` counts every event.
pub fn script(r: &Reply) -> Script {
    let mut seq = 0u64;
    let mut ev = |kind: &str, mut data: Value| {
        data["type"] = json!(kind);
        data["sequence_number"] = json!(seq);
        seq += 1;
        named(kind, &data)
    };
    let text = r.text();
    let part =
        |t: &str| json!({"type": "output_text", "text": t, "annotations": [], "logprobs": []});
    let preamble = vec![
        ev(
            "response.created",
            json!({"response": response(r, "in_progress", vec![], false)}),
        ),
        ev(
            "response.in_progress",
            json!({"response": response(r, "in_progress", vec![], false)}),
        ),
        ev(
            "response.output_item.added",
            json!({"output_index": 0, "item": message(r, "", "in_progress")}),
        ),
        ev(
            "response.content_part.added",
            json!({"item_id": item_id(r), "output_index": 0, "content_index": 0, "part": part("")}),
        ),
    ];
    let deltas = r
        .tokens
        .iter()
        .map(|t| {
            ev(
                "response.output_text.delta",
                json!({"item_id": item_id(r), "output_index": 0, "content_index": 0, "delta": t, "logprobs": []}),
            )
        })
        .collect();
    let closing = vec![
        ev(
            "response.output_text.done",
            json!({"item_id": item_id(r), "output_index": 0, "content_index": 0, "text": text, "logprobs": []}),
        ),
        ev(
            "response.content_part.done",
            json!({"item_id": item_id(r), "output_index": 0, "content_index": 0, "part": part(&text)}),
        ),
        ev(
            "response.output_item.done",
            json!({"output_index": 0, "item": message(r, &text, "completed")}),
        ),
        ev("response.completed", json!({"response": body(r)})),
    ];
    Script {
        preamble,
        deltas,
        closing,
    }
}

/// An error body.
pub fn error(code: u16, message: &str) -> Value {
    super::openai_chat::error(code, message)
}

/// An error event as the first (and only) stream event.
pub fn error_event(message: &str) -> String {
    named(
        "error",
        &json!({"type": "error", "code": "server_error", "message": message, "param": null, "sequence_number": 0}),
    )
}
