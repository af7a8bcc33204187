//! Property: any legal chat completion stream, translated for a Responses
//! client, is a legal Responses stream. Random mixes of reasoning, text and
//! several tool calls (arguments split at random points, calls interleaved
//! or not), finish reasons, usage (in its own chunk, in the finish chunk, or
//! absent) and `[DONE]` (or not) are translated; the output must parse
//! event by event, follow the Responses event grammar (checked by a small
//! state machine below), carry the same text and arguments, and read to the
//! meter as one terminal event with the usage the chat meter reads from the
//! seller's stream.

use std::collections::BTreeMap;
use std::time::Instant;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use serde_json::{json, Value};
use tokenbuddy::protocol::sse::SseSplitter;
use tokenbuddy::protocol::Protocol;
use tokenbuddy::proxy::meter::Meter;
use tokenbuddy::translate::{self, Context};

/// A generated seller answer.
#[derive(Debug, Clone)]
struct Answer {
    reasoning: Vec<String>,
    text: Vec<String>,
    /// Each call's argument pieces.
    calls: Vec<Vec<String>>,
    interleave: bool,
    /// A freeform tool's input, called first (its arguments are
    /// `{"input": …}` cut every `n` characters), if any.
    custom: Option<(String, usize)>,
    finish: &'static str,
    /// 0: own chunk, 1: in the finish chunk, 2: none.
    usage_at: u8,
    usage: (u64, u64, u64),
    done: bool,
}

fn pieces() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec("[a-z \"{}:,é😀]{1,6}", 0..5)
}

fn answer() -> impl Strategy<Value = Answer> {
    (
        pieces(),
        pieces(),
        prop::collection::vec(pieces(), 0..4),
        any::<bool>(),
        prop::option::of(("[a-z \"\\\n{}é😀]{0,24}", 1usize..9)),
        prop::sample::select(vec!["stop", "tool_calls", "length", "content_filter"]),
        0u8..3,
        (0u64..5000, 0u64..5000, 0u64..500),
        any::<bool>(),
    )
        .prop_map(
            |(reasoning, text, calls, interleave, custom, finish, usage_at, (p, c, r), done)| {
                Answer {
                    reasoning,
                    text,
                    calls,
                    interleave,
                    custom,
                    finish,
                    usage_at,
                    usage: (p, c.min(p), r),
                    done,
                }
            },
        )
}

fn chunk(delta: Value, finish: Option<&str>, usage: Option<Value>) -> String {
    json!({
        "id": "chatcmpl-p", "object": "chat.completion.chunk", "created": 1, "model": "m",
        "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
        "usage": usage,
    })
    .to_string()
}

/// The seller's `data:` payloads for an answer.
fn seller(a: &Answer) -> Vec<String> {
    let mut out = vec![chunk(
        json!({"role": "assistant", "content": ""}),
        None,
        None,
    )];
    for r in &a.reasoning {
        out.push(chunk(
            json!({"content": null, "reasoning_content": r}),
            None,
            None,
        ));
    }
    for t in &a.text {
        out.push(chunk(json!({"content": t}), None, None));
    }
    let shift = usize::from(a.custom.is_some());
    if let Some((input, cut)) = &a.custom {
        out.push(chunk(
            json!({"tool_calls": [{"index": 0, "id": "call_custom", "type": "function",
            "function": {"name": "freeform", "arguments": ""}}]}),
            None,
            None,
        ));
        let args: Vec<char> = json!({"input": input}).to_string().chars().collect();
        for piece in args.chunks(*cut) {
            let piece: String = piece.iter().collect();
            out.push(chunk(
                json!({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}),
                None,
                None,
            ));
        }
    }
    for (i, _) in a.calls.iter().enumerate() {
        let first = json!({"tool_calls": [{"index": i + shift, "id": format!("call_{i}"), "type": "function",
            "function": {"name": format!("tool_{i}"), "arguments": ""}}]});
        out.push(chunk(first, None, None));
        if a.interleave {
            // Interleaved: every call opens first, then pieces round-robin.
            continue;
        }
        for p in &a.calls[i] {
            out.push(chunk(
                json!({"tool_calls": [{"index": i + shift, "function": {"arguments": p}}]}),
                None,
                None,
            ));
        }
    }
    if a.interleave {
        let longest = a.calls.iter().map(Vec::len).max().unwrap_or(0);
        for k in 0..longest {
            for (i, call) in a.calls.iter().enumerate() {
                if let Some(p) = call.get(k) {
                    out.push(chunk(
                        json!({"tool_calls": [{"index": i + shift, "function": {"arguments": p}}]}),
                        None,
                        None,
                    ));
                }
            }
        }
    }
    let (p, cached, r) = a.usage;
    let usage = json!({"prompt_tokens": p, "completion_tokens": r + 3, "total_tokens": p + r + 3,
        "prompt_tokens_details": {"cached_tokens": cached}, "completion_tokens_details": {"reasoning_tokens": r}});
    out.push(chunk(
        json!({}),
        Some(a.finish),
        (a.usage_at == 1).then(|| usage.clone()),
    ));
    if a.usage_at == 0 {
        out.push(json!({"id": "chatcmpl-p", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [], "usage": usage}).to_string());
    }
    if a.done {
        out.push("[DONE]".into());
    }
    out
}

/// An open output item in the grammar checker.
#[derive(Debug, Default)]
struct Open {
    kind: String,
    part: bool,
    text_done: bool,
    part_done: bool,
    done: bool,
    text: String,
    call: (String, String),
}

/// Checks the Responses event grammar; returns each item's kind and text.
fn check(events: &[(String, Value)]) -> Result<Vec<Open>, String> {
    let mut items: Vec<Open> = Vec::new();
    let mut terminal = false;
    for (n, (name, data)) in events.iter().enumerate() {
        let ty = data["type"]
            .as_str()
            .ok_or(format!("event {n} has no type"))?;
        if ty != name {
            return Err(format!("event {n}: name {name} but type {ty}"));
        }
        if data["sequence_number"] != json!(n) {
            return Err(format!(
                "event {n}: sequence_number {}",
                data["sequence_number"]
            ));
        }
        if terminal {
            return Err(format!("{ty} after the terminal event"));
        }
        match (n, ty) {
            (0, "response.created") | (1, "response.in_progress") => continue,
            (0 | 1, _) => return Err(format!("stream starts with {ty}")),
            _ => {}
        }
        let at = data["output_index"].as_u64().map(|i| i as usize);
        let item = |items: &mut Vec<Open>| -> Result<usize, String> {
            let i = at.ok_or(format!("{ty} without output_index"))?;
            match items.get(i) {
                Some(o) if !o.done => Ok(i),
                _ => Err(format!("{ty} for item {i}, which is not open")),
            }
        };
        match ty {
            "response.output_item.added" => {
                if at != Some(items.len()) {
                    return Err(format!("item added at {at:?}, expected {}", items.len()));
                }
                let it = &data["item"];
                items.push(Open {
                    kind: it["type"].as_str().unwrap_or_default().into(),
                    call: (
                        it["call_id"].as_str().unwrap_or_default().into(),
                        it["name"].as_str().unwrap_or_default().into(),
                    ),
                    ..Open::default()
                });
            }
            "response.content_part.added" => {
                let i = item(&mut items)?;
                if items[i].kind.ends_with("call") || items[i].part {
                    return Err(format!("a second part, or a part in a call, at {i}"));
                }
                items[i].part = true;
            }
            "response.output_text.delta"
            | "response.reasoning_text.delta"
            | "response.function_call_arguments.delta"
            | "response.custom_tool_call_input.delta" => {
                let i = item(&mut items)?;
                let want = match ty {
                    "response.output_text.delta" => "message",
                    "response.reasoning_text.delta" => "reasoning",
                    "response.custom_tool_call_input.delta" => "custom_tool_call",
                    _ => "function_call",
                };
                let o = &mut items[i];
                if o.kind != want || o.text_done || (!want.ends_with("call") && !o.part) {
                    return Err(format!(
                        "{ty} in {} item {i} (done {}, part {})",
                        o.kind, o.text_done, o.part
                    ));
                }
                o.text.push_str(data["delta"].as_str().unwrap_or_default());
            }
            "response.output_text.done"
            | "response.reasoning_text.done"
            | "response.function_call_arguments.done"
            | "response.custom_tool_call_input.done" => {
                let i = item(&mut items)?;
                let o = &mut items[i];
                let full = data
                    .get("text")
                    .or(data.get("arguments"))
                    .or(data.get("input"))
                    .and_then(Value::as_str);
                if o.text_done || full != Some(o.text.as_str()) {
                    return Err(format!("{ty} at {i}: {full:?} vs deltas {:?}", o.text));
                }
                o.text_done = true;
            }
            "response.content_part.done" => {
                let i = item(&mut items)?;
                let o = &mut items[i];
                if !o.part || !o.text_done || o.part_done {
                    return Err(format!("part done out of order at {i}"));
                }
                o.part_done = true;
            }
            "response.output_item.done" => {
                let i = item(&mut items)?;
                let o = &mut items[i];
                let complete = if o.kind.ends_with("call") {
                    o.text_done
                } else {
                    o.part_done
                };
                if !complete {
                    return Err(format!("item {i} done before its content"));
                }
                let it = &data["item"];
                let full = match o.kind.as_str() {
                    "function_call" => it["arguments"].as_str(),
                    "custom_tool_call" => it["input"].as_str(),
                    _ => it["content"][0]["text"].as_str(),
                };
                if full != Some(o.text.as_str()) {
                    return Err(format!("item {i} done with {full:?}, deltas {:?}", o.text));
                }
                o.done = true;
            }
            "response.completed" | "response.incomplete" => {
                if let Some(i) = items.iter().position(|o| !o.done) {
                    return Err(format!("terminal event with item {i} open"));
                }
                let output = data["response"]["output"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                if output.len() != items.len() {
                    return Err(format!(
                        "final output has {} items, stream had {}",
                        output.len(),
                        items.len()
                    ));
                }
                terminal = true;
            }
            other => return Err(format!("unexpected event {other}")),
        }
    }
    Ok(items)
}

fn config() -> Config {
    Config {
        cases: 256,
        rng_seed: RngSeed::Fixed(0x0005_7e5e),
        failure_persistence: None,
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn translated_streams_are_legal_responses_streams(a in answer()) {
        let ctx = Context { model: "gpt-demo".into(), id: "p".into(), created: 1_700_000_000, request: json!({"model": "gpt-demo", "stream": true, "tools": [{"type": "custom", "name": "freeform"}]}) };
        let via = translate::via(Protocol::OpenAiResponses, Protocol::OpenAiChat).unwrap();
        let mut t = translate::stream(via, ctx).unwrap();
        let mut out = Vec::new();
        let mut seller_bytes = Vec::new();
        for data in seller(&a) {
            t.event(None, &data, &mut out);
            seller_bytes.extend_from_slice(format!("data: {data}\n\n").as_bytes());
        }
        t.end(&mut out);

        let mut events = Vec::new();
        SseSplitter::new().push(&out, |e| {
            let data: Value = serde_json::from_str(e.data).unwrap_or_else(|err| panic!("not JSON: {err}: {}", e.data));
            events.push((e.event.unwrap_or_default().to_string(), data));
        });
        let items = check(&events).map_err(|e| TestCaseError::fail(format!("{e}\n{}", String::from_utf8_lossy(&out))))?;

        // Same content, in the same kinds.
        let by_kind = |k: &str| items.iter().filter(|o| o.kind == k).map(|o| o.text.clone()).collect::<String>();
        prop_assert_eq!(by_kind("reasoning"), a.reasoning.concat());
        prop_assert_eq!(by_kind("message"), a.text.concat());
        let calls: BTreeMap<String, (String, String)> = items.iter().filter(|o| o.kind == "function_call")
            .map(|o| (o.call.0.clone(), (o.call.1.clone(), o.text.clone()))).collect();
        prop_assert_eq!(calls.len(), a.calls.len());
        let custom: Vec<&str> = items.iter().filter(|o| o.kind == "custom_tool_call").map(|o| o.text.as_str()).collect();
        prop_assert_eq!(custom, a.custom.iter().map(|(input, _)| input.as_str()).collect::<Vec<_>>());
        for (i, pieces) in a.calls.iter().enumerate() {
            prop_assert_eq!(&calls[&format!("call_{i}")], &(format!("tool_{i}"), pieces.concat()));
        }

        // The meter: one terminal, content seen, the usage the seller reported.
        let now = Instant::now();
        let mut client = Meter::new(Protocol::OpenAiResponses);
        client.feed(&out, now);
        let mut chat = Meter::new(Protocol::OpenAiChat);
        chat.feed(&seller_bytes, now);
        prop_assert!(client.ended(), "no terminal event:\n{}", String::from_utf8_lossy(&out));
        let terminals = events.iter().filter(|(n, _)| n == "response.completed" || n == "response.incomplete").count();
        prop_assert_eq!(terminals, 1);
        let want_terminal = if matches!(a.finish, "length" | "content_filter") { "response.incomplete" } else { "response.completed" };
        prop_assert_eq!(events.last().map(|(n, _)| n.as_str()), Some(want_terminal));
        // A delta is the first semantic event; an item with nothing in it has none.
        let content = !a.reasoning.concat().is_empty()
            || !a.text.concat().is_empty()
            || a.calls.iter().any(|c| !c.concat().is_empty())
            || a.custom.as_ref().is_some_and(|(input, _)| !input.is_empty());
        prop_assert_eq!(client.has_content(), content);
        prop_assert_eq!(client.usage(), chat.usage());
    }

    #[test]
    fn a_stream_cut_before_its_finish_has_no_terminal_event(a in answer(), keep in 0usize..40) {
        let ctx = Context { model: "m".into(), id: "p".into(), created: 0, request: json!({}) };
        let mut t = translate::stream(translate::via(Protocol::OpenAiResponses, Protocol::OpenAiChat).unwrap(), ctx).unwrap();
        let chunks = seller(&a);
        // Everything before the finish chunk, cut anywhere.
        let before_finish = chunks.iter().position(|c| c.contains("finish_reason\":\"")).unwrap_or(chunks.len());
        let mut out = Vec::new();
        for data in chunks.iter().take(keep.min(before_finish)) {
            t.event(None, data, &mut out);
        }
        t.end(&mut out);
        let mut meter = Meter::new(Protocol::OpenAiResponses);
        meter.feed(&out, Instant::now());
        prop_assert!(!meter.ended());
    }
}
