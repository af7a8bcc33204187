//! Property tests of the two Anthropic translations' streams: random legal
//! seller streams (text, reasoning, several tool calls with arguments split
//! at random points, usage, stop reasons, fed in random byte slices) must
//! come out as legal streams of the client's protocol — every event JSON,
//! the events in the protocol's order (a small state machine per protocol
//! below), the text, reasoning and arguments what went in, and the meter
//! reading one terminal event and the seller's usage.

use std::time::Instant;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use serde_json::{json, Value};
use tokenbuddy::protocol::sse::SseSplitter;
use tokenbuddy::protocol::{Protocol, Usage};
use tokenbuddy::proxy::meter::Meter;
use tokenbuddy::translate::{self, Context};

fn config() -> Config {
    Config {
        cases: 200,
        rng_seed: RngSeed::Fixed(0x0a17_0c4a),
        failure_persistence: None,
        ..Config::default()
    }
}

/// One piece of an answer, as both protocols can say it.
#[derive(Debug, Clone)]
enum Part {
    Text(Vec<String>),
    Reasoning(Vec<String>),
    /// A tool call: its arguments in pieces.
    Tool(Vec<String>),
}

fn pieces() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec("[a-z \"{}:,\\\\\n\u{e9}\u{1f600}]{1,8}", 1..5)
}

fn part() -> impl Strategy<Value = Part> {
    prop_oneof![
        pieces().prop_map(Part::Text),
        pieces().prop_map(Part::Reasoning),
        pieces().prop_map(Part::Tool),
    ]
}

/// Parts in an order a seller sends: reasoning first when any, then the
/// rest in any order (`parts` as drawn, reasoning moved to the front).
fn answer() -> impl Strategy<Value = Vec<Part>> {
    prop::collection::vec(part(), 0..6).prop_map(|mut parts| {
        parts.sort_by_key(|p| !matches!(p, Part::Reasoning(_)));
        parts
    })
}

#[derive(Debug, Clone, Copy)]
struct Counts {
    input: u64,
    cached: u64,
    output: u64,
}

fn counts() -> impl Strategy<Value = Counts> {
    (0u64..5000, 0u64..5000, 0u64..2000).prop_map(|(input, cached, output)| Counts {
        input,
        cached,
        output,
    })
}

/// Feeds `stream` in slices cut at `cuts` (byte offsets, any order).
fn run(via: translate::Via, request: Value, stream: &str, cuts: &[usize]) -> String {
    let ctx = Context {
        model: "client-model".into(),
        id: "p".into(),
        created: 1,
        request,
    };
    let mut t = translate::stream(via, ctx).expect("a translator");
    let mut out = Vec::new();
    let mut splitter = SseSplitter::new();
    let bytes = stream.as_bytes();
    let mut at: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    at.push(0);
    at.push(bytes.len());
    at.sort_unstable();
    for w in at.windows(2) {
        splitter.push(&bytes[w[0]..w[1]], |e| t.event(e.event, e.data, &mut out));
    }
    t.end(&mut out);
    String::from_utf8(out).expect("translated streams are UTF-8")
}

/// `(event name, data)` of every event in `sse`.
fn events(sse: &str) -> Vec<(Option<String>, String)> {
    let mut out = Vec::new();
    SseSplitter::new().push(sse.as_bytes(), |e| {
        out.push((e.event.map(str::to_string), e.data.to_string()))
    });
    out
}

fn metered(protocol: Protocol, sse: &str) -> Meter {
    let mut m = Meter::new(protocol);
    m.feed(sse.as_bytes(), Instant::now());
    m
}

// ---- Anthropic client, chat seller ------------------------------------

fn chat_stream(parts: &[Part], finish: &str, usage: Option<Counts>, done: bool) -> String {
    let mut out = String::new();
    let mut push = |v: Value| out.push_str(&format!("data: {v}\n\n"));
    let chunk = |delta: Value, finish: Value| {
        json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]})
    };
    push(chunk(
        json!({"role": "assistant", "content": ""}),
        Value::Null,
    ));
    let mut tool = 0;
    for p in parts {
        match p {
            Part::Text(ps) => {
                for s in ps {
                    push(chunk(json!({"content": s}), Value::Null));
                }
            }
            Part::Reasoning(ps) => {
                for s in ps {
                    push(chunk(
                        json!({"content": null, "reasoning_content": s}),
                        Value::Null,
                    ));
                }
            }
            Part::Tool(ps) => {
                push(chunk(
                    json!({"tool_calls": [{"index": tool, "id": format!("call_{tool}"), "type": "function",
                        "function": {"name": format!("f{tool}"), "arguments": ""}}]}),
                    Value::Null,
                ));
                for s in ps {
                    push(chunk(
                        json!({"tool_calls": [{"index": tool, "function": {"arguments": s}}]}),
                        Value::Null,
                    ));
                }
                tool += 1;
            }
        }
    }
    push(chunk(json!({}), json!(finish)));
    if let Some(u) = usage {
        push(
            json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [],
            "usage": {"prompt_tokens": u.input + u.cached, "completion_tokens": u.output,
                "total_tokens": u.input + u.cached + u.output,
                "prompt_tokens_details": {"cached_tokens": u.cached}}}),
        );
    }
    if done {
        out.push_str("data: [DONE]\n\n");
    }
    out
}

/// A content block as `(type, id, name, concatenated deltas)`.
type Block = (String, String, String, String);

/// Checks an Anthropic stream's grammar; returns its blocks and the stop
/// reason.
fn anthropic_grammar(sse: &str) -> Result<(Vec<Block>, String), String> {
    #[derive(PartialEq)]
    enum S {
        Start,
        Between,
        InBlock,
        Delta,
        Stopped,
    }
    let mut s = S::Start;
    let mut blocks: Vec<Block> = Vec::new();
    let mut stop = String::new();
    for (name, data) in events(sse) {
        let v: Value = serde_json::from_str(&data).map_err(|e| format!("{data}: {e}"))?;
        let kind = v["type"].as_str().unwrap_or("").to_string();
        if name.as_deref() != Some(kind.as_str()) {
            return Err(format!("event {name:?} carries type {kind}"));
        }
        let index = v["index"].as_u64();
        match (&s, kind.as_str()) {
            (S::Start, "message_start") => {
                if v["message"]["role"] != "assistant"
                    || v["message"]["usage"]["input_tokens"].as_u64().is_none()
                {
                    return Err(format!("bad message_start {v}"));
                }
                s = S::Between;
            }
            (S::Between, "content_block_start") => {
                if index != Some(blocks.len() as u64) {
                    return Err(format!("block index {index:?}, expected {}", blocks.len()));
                }
                let b = &v["content_block"];
                let t = b["type"].as_str().unwrap_or("").to_string();
                let empty = match t.as_str() {
                    "text" => b["text"] == "",
                    "thinking" => b["thinking"] == "" && b["signature"] == "",
                    "tool_use" => {
                        b["input"] == json!({}) && b["id"].is_string() && b["name"].is_string()
                    }
                    _ => false,
                };
                if !empty {
                    return Err(format!("bad block start {v}"));
                }
                blocks.push((
                    t,
                    b["id"].as_str().unwrap_or("").into(),
                    b["name"].as_str().unwrap_or("").into(),
                    String::new(),
                ));
                s = S::InBlock;
            }
            (S::InBlock, "content_block_delta") => {
                if index != Some(blocks.len() as u64 - 1) {
                    return Err(format!(
                        "delta for block {index:?} while {} is open",
                        blocks.len() - 1
                    ));
                }
                let b = blocks.last_mut().ok_or("no block")?;
                let d = &v["delta"];
                let (want, field) = match b.0.as_str() {
                    "text" => ("text_delta", "text"),
                    "thinking" if d["type"] == "signature_delta" => {
                        s = S::Delta;
                        continue;
                    }
                    "thinking" => ("thinking_delta", "thinking"),
                    _ => ("input_json_delta", "partial_json"),
                };
                if d["type"] != want {
                    return Err(format!("{} block got {d}", b.0));
                }
                b.3.push_str(d[field].as_str().ok_or("delta without its text")?);
            }
            (S::Delta, "content_block_stop") | (S::InBlock, "content_block_stop") => {
                if index != Some(blocks.len() as u64 - 1) {
                    return Err("stop of a block not open".into());
                }
                if blocks.last().is_some_and(|b| b.0 == "thinking") && s != S::Delta {
                    return Err("thinking block stopped unsigned".into());
                }
                s = S::Between;
            }
            (S::Between, "message_delta") => {
                stop = v["delta"]["stop_reason"]
                    .as_str()
                    .ok_or("no stop_reason")?
                    .into();
                if v["usage"]["output_tokens"].as_u64().is_none() {
                    return Err(format!("message_delta without output_tokens {v}"));
                }
                s = S::Stopped;
            }
            (S::Stopped, "message_stop") => return Ok((blocks, stop)),
            _ => return Err(format!("{kind} not allowed here")),
        }
    }
    Err("the stream ended before message_stop".into())
}

fn joined(ps: &[String]) -> String {
    ps.concat()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn messages_via_chat_streams_are_legal_messages_streams(
        parts in answer(),
        finish in prop_oneof![Just("stop"), Just("length"), Just("tool_calls"), Just("content_filter")],
        usage in prop::option::of(counts()),
        done in any::<bool>(),
        cuts in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        let via = translate::via(Protocol::AnthropicMessages, Protocol::OpenAiChat).expect("route");
        let seller = chat_stream(&parts, finish, usage, done);
        let out = run(via, json!({"stream": true}), &seller, &cuts);
        let (blocks, stop) = anthropic_grammar(&out).map_err(|e| TestCaseError::fail(format!("{e}\n{out}")))?;
        // Reasoning pieces of one run make one thinking block; consecutive
        // text parts merge into one text block (chat cannot tell them apart).
        let mut want: Vec<(String, String)> = Vec::new();
        let mut tools = 0;
        for p in &parts {
            let (t, s) = match p {
                Part::Text(ps) => ("text", joined(ps)),
                Part::Reasoning(ps) => ("thinking", joined(ps)),
                Part::Tool(ps) => ("tool_use", joined(ps)),
            };
            match want.last_mut() {
                Some(last) if t != "tool_use" && last.0 == t => last.1.push_str(&s),
                _ => want.push((t.into(), s)),
            }
        }
        let got: Vec<(String, String)> = blocks.iter().map(|b| (b.0.clone(), b.3.clone())).collect();
        prop_assert_eq!(&got, &want);
        for b in blocks.iter().filter(|b| b.0 == "tool_use") {
            prop_assert_eq!(&b.1, &format!("call_{tools}"));
            prop_assert_eq!(&b.2, &format!("f{tools}"));
            tools += 1;
        }
        let want_stop = match finish {
            "length" => "max_tokens",
            "content_filter" => "refusal",
            _ if tools > 0 || finish == "tool_calls" => "tool_use",
            _ => "end_turn",
        };
        prop_assert_eq!(stop.as_str(), want_stop);
        let m = metered(Protocol::AnthropicMessages, &out);
        prop_assert!(m.ended());
        prop_assert_eq!(out.matches("event: message_stop").count(), 1);
        let seller_meter = metered(Protocol::OpenAiChat, &seller);
        if usage.is_some() {
            let mut want = seller_meter.usage();
            want.input = want.input.or(Some(0));
            prop_assert_eq!(m.usage(), want);
        } else {
            // The meter's own estimate: one token per content delta.
            let deltas = out.matches("event: content_block_delta").count() as u64
                - out.matches("signature_delta").count() as u64;
            prop_assert_eq!(m.usage().output, Some(deltas));
        }
    }
}

// ---- Chat client, Anthropic seller ------------------------------------

fn anthropic_stream(parts: &[Part], stop: &str, u: Counts, pings: &[bool], write: u64) -> String {
    let mut out = String::new();
    let mut ping = pings.iter().cycle();
    let mut push = |v: Value, out: &mut String| {
        out.push_str(&format!(
            "event: {}\ndata: {v}\n\n",
            v["type"].as_str().unwrap_or("")
        ));
        if *ping.next().unwrap_or(&false) {
            out.push_str("event: ping\ndata: {\"type\": \"ping\"}\n\n");
        }
    };
    push(
        json!({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant",
        "model": "claude", "content": [], "stop_reason": null, "stop_sequence": null,
        "usage": {"input_tokens": u.input, "cache_read_input_tokens": u.cached,
            "cache_creation_input_tokens": write, "output_tokens": 1}}}),
        &mut out,
    );
    for (i, p) in parts.iter().enumerate() {
        let (block, kind, field, ps) = match p {
            Part::Text(ps) => (
                json!({"type": "text", "text": ""}),
                "text_delta",
                "text",
                ps,
            ),
            Part::Reasoning(ps) => (
                json!({"type": "thinking", "thinking": "", "signature": ""}),
                "thinking_delta",
                "thinking",
                ps,
            ),
            Part::Tool(ps) => (
                json!({"type": "tool_use", "id": format!("toolu_{i}"), "name": format!("f{i}"), "input": {}}),
                "input_json_delta",
                "partial_json",
                ps,
            ),
        };
        push(
            json!({"type": "content_block_start", "index": i, "content_block": block}),
            &mut out,
        );
        for s in ps {
            push(
                json!({"type": "content_block_delta", "index": i, "delta": {"type": kind, field: s}}),
                &mut out,
            );
        }
        if matches!(p, Part::Reasoning(_)) {
            push(
                json!({"type": "content_block_delta", "index": i, "delta": {"type": "signature_delta", "signature": "c2ln"}}),
                &mut out,
            );
        }
        push(json!({"type": "content_block_stop", "index": i}), &mut out);
    }
    push(
        json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null},
        "usage": {"output_tokens": u.output}}),
        &mut out,
    );
    push(json!({"type": "message_stop"}), &mut out);
    out
}

/// A tool call as `(id, name, arguments)`.
type Call = (String, String, String);

/// What a chat stream said: content, reasoning, tool calls, finish reason.
type ChatAnswer = (String, String, Vec<Call>, String);

/// Checks a chat stream's grammar; returns what it said.
fn chat_grammar(sse: &str, include_usage: bool) -> Result<ChatAnswer, String> {
    let evs = events(sse);
    let (last, body) = evs.split_last().ok_or("empty stream")?;
    if last.1 != "[DONE]" {
        return Err("the stream does not end with [DONE]".into());
    }
    let (mut content, mut reasoning, mut finish) = (String::new(), String::new(), None::<String>);
    let mut calls: Vec<Call> = Vec::new();
    let mut usage_chunk = false;
    for (i, (name, data)) in body.iter().enumerate() {
        if name.is_some() {
            return Err("chat events have no event: name".into());
        }
        let v: Value = serde_json::from_str(data).map_err(|e| format!("{data}: {e}"))?;
        if v["object"] != "chat.completion.chunk"
            || v["id"] != "chatcmpl-p"
            || v["model"] != "client-model"
        {
            return Err(format!("bad chunk header {v}"));
        }
        let choices = v["choices"].as_array().ok_or("no choices")?;
        if usage_chunk {
            return Err("a chunk after the usage chunk".into());
        }
        if choices.is_empty() {
            if finish.is_none() || !include_usage || v["usage"].is_null() {
                return Err("an unasked or early usage chunk".into());
            }
            usage_chunk = true;
            continue;
        }
        if finish.is_some() {
            return Err("a chunk with choices after the finish".into());
        }
        let c = &choices[0];
        let d = &c["delta"];
        if i == 0 && d["role"] != "assistant" {
            return Err("the first chunk does not say role assistant".into());
        }
        content.push_str(d["content"].as_str().unwrap_or(""));
        reasoning.push_str(d["reasoning_content"].as_str().unwrap_or(""));
        for tc in d["tool_calls"].as_array().into_iter().flatten() {
            let k = tc["index"].as_u64().ok_or("tool call without index")? as usize;
            if k == calls.len() {
                if tc["type"] != "function"
                    || !tc["id"].is_string()
                    || !tc["function"]["name"].is_string()
                {
                    return Err(format!("a new tool call without id or name {tc}"));
                }
                calls.push((
                    tc["id"].as_str().unwrap_or("").into(),
                    tc["function"]["name"].as_str().unwrap_or("").into(),
                    String::new(),
                ));
            } else if k + 1 != calls.len() {
                return Err(format!("tool call index {k} out of order"));
            }
            calls[k]
                .2
                .push_str(tc["function"]["arguments"].as_str().unwrap_or(""));
        }
        if let Some(f) = c["finish_reason"].as_str() {
            finish = Some(f.into());
        }
    }
    if include_usage && !usage_chunk {
        return Err("no usage chunk though the client asked".into());
    }
    Ok((content, reasoning, calls, finish.ok_or("no finish_reason")?))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn chat_via_messages_streams_are_legal_chat_streams(
        parts in answer(),
        stop in prop_oneof![Just("end_turn"), Just("max_tokens"), Just("tool_use"), Just("stop_sequence"), Just("refusal")],
        u in counts(),
        write in 0u64..300,
        pings in prop::collection::vec(any::<bool>(), 1..6),
        include_usage in any::<bool>(),
        cuts in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        let via = translate::via(Protocol::OpenAiChat, Protocol::AnthropicMessages).expect("route");
        let seller = anthropic_stream(&parts, stop, u, &pings, write);
        let request = json!({"stream": true, "stream_options": {"include_usage": include_usage}});
        let out = run(via, request, &seller, &cuts);
        let (content, reasoning, calls, finish) =
            chat_grammar(&out, include_usage).map_err(|e| TestCaseError::fail(format!("{e}\n{out}")))?;
        let mut want_calls = Vec::new();
        let (mut want_content, mut want_reasoning) = (String::new(), String::new());
        for (i, p) in parts.iter().enumerate() {
            match p {
                Part::Text(ps) => want_content.push_str(&joined(ps)),
                Part::Reasoning(ps) => want_reasoning.push_str(&joined(ps)),
                Part::Tool(ps) => want_calls.push((format!("toolu_{i}"), format!("f{i}"), joined(ps))),
            }
        }
        prop_assert_eq!(content, want_content);
        prop_assert_eq!(reasoning, want_reasoning);
        prop_assert_eq!(calls, want_calls);
        let want_finish = match stop {
            "max_tokens" => "length",
            "tool_use" => "tool_calls",
            "refusal" => "content_filter",
            _ => "stop",
        };
        prop_assert_eq!(finish.as_str(), want_finish);
        let m = metered(Protocol::OpenAiChat, &out);
        prop_assert!(m.ended());
        prop_assert_eq!(out.matches("[DONE]").count(), 1);
        prop_assert_eq!(m.usage(), Usage {
            input: Some(u.input),
            output: Some(u.output),
            cache_read: Some(u.cached),
            cache_write: Some(write),
        });
    }
}
