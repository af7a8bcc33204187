//! Property test of the gemini ← chat stream translation: random legal
//! chat streams (text, reasoning, several tool calls with arguments split
//! at random points, usage or none, `[DONE]` or none) translate into a
//! legal Gemini stream: every event is one JSON `GenerateContentResponse`,
//! content events come first and the one event with `finishReason` is the
//! last, the text, reasoning and calls are what went in, and our meter
//! reads one end and the seller's usage.

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use serde_json::{json, Value};
use tokenbuddy::protocol::sse::SseSplitter;
use tokenbuddy::protocol::Protocol;
use tokenbuddy::proxy::meter::Meter;
use tokenbuddy::translate::{self, Context};

#[derive(Debug, Clone)]
enum Piece {
    Text(String),
    Reasoning(String),
}

#[derive(Debug, Clone)]
struct Plan {
    pieces: Vec<Piece>,
    /// (name, argument object, split points in its JSON text)
    calls: Vec<(String, Value, Vec<usize>)>,
    usage: Option<(u64, u64, u64)>,
    done: bool,
}

fn plan() -> impl Strategy<Value = Plan> {
    let piece = prop_oneof![
        "[a-zé .]{1,6}".prop_map(Piece::Text),
        "[a-z ]{1,6}".prop_map(Piece::Reasoning),
    ];
    let call = (
        "[a-z_]{1,8}",
        prop::collection::vec(("[a-z]{1,4}", "[a-z0-9\"]{0,6}"), 0..3),
        prop::collection::vec(0usize..40, 0..4),
    )
        .prop_map(|(name, kv, splits)| {
            let args: serde_json::Map<String, Value> =
                kv.into_iter().map(|(k, v)| (k, json!(v))).collect();
            (name, Value::Object(args), splits)
        });
    (
        prop::collection::vec(piece, 0..6),
        prop::collection::vec(call, 0..4),
        prop::option::of((0u64..5000, 0u64..500, 0u64..50)),
        any::<bool>(),
    )
        .prop_filter("some content", |(p, c, _, _)| {
            !p.is_empty() || !c.is_empty()
        })
        .prop_map(|(pieces, calls, usage, done)| Plan {
            pieces,
            calls,
            usage: usage.map(|(p, c, cached)| (p + cached, c, cached.min(p + cached))),
            done,
        })
}

fn chunk(delta: Value, finish: Value) -> String {
    let c = json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
        "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]});
    format!("data: {c}\n\n")
}

fn seller_stream(p: &Plan) -> String {
    let mut out = chunk(json!({"role": "assistant", "content": ""}), Value::Null);
    for piece in &p.pieces {
        out += &match piece {
            Piece::Text(t) => chunk(json!({"content": t}), Value::Null),
            Piece::Reasoning(t) => chunk(json!({"reasoning_content": t}), Value::Null),
        };
    }
    for (i, (name, args, splits)) in p.calls.iter().enumerate() {
        let text = args.to_string();
        let mut cuts: Vec<usize> = splits
            .iter()
            .map(|s| s % (text.len() + 1))
            .filter(|s| text.is_char_boundary(*s))
            .collect();
        cuts.sort_unstable();
        cuts.dedup();
        out += &chunk(
            json!({"tool_calls": [{"index": i, "id": format!("call_{i}"), "type": "function",
                "function": {"name": name, "arguments": ""}}]}),
            Value::Null,
        );
        let mut from = 0;
        for cut in cuts.into_iter().chain([text.len()]) {
            if cut > from {
                out += &chunk(
                    json!({"tool_calls": [{"index": i, "function": {"arguments": &text[from..cut]}}]}),
                    Value::Null,
                );
                from = cut;
            }
        }
    }
    let reason = if p.calls.is_empty() {
        "stop"
    } else {
        "tool_calls"
    };
    out += &chunk(json!({}), json!(reason));
    if let Some((prompt, completion, cached)) = p.usage {
        let u = json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
                      "prompt_tokens_details": {"cached_tokens": cached}}});
        out += &format!("data: {u}\n\n");
    }
    if p.done {
        out += "data: [DONE]\n\n";
    }
    out
}

fn config() -> Config {
    Config {
        cases: 256,
        rng_seed: RngSeed::Fixed(0x6e41_0001),
        failure_persistence: None,
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn translated_streams_are_legal_gemini_streams(p in plan()) {
        let via = translate::via(Protocol::Gemini, Protocol::OpenAiChat).expect("a route");
        let ctx = Context { model: "gemini-x".into(), id: "t".into(), created: 0, request: json!({}) };
        let mut t = translate::stream(via, ctx).expect("a translator");
        let mut out = Vec::new();
        SseSplitter::new().push(seller_stream(&p).as_bytes(), |e| t.event(e.event, e.data, &mut out));
        t.end(&mut out);

        let mut events = Vec::new();
        SseSplitter::new().push(&out, |e| {
            assert!(e.event.is_none(), "Gemini events have no names");
            events.push(serde_json::from_str::<Value>(e.data).expect("each event is JSON"));
        });
        // Grammar: Content* Final, Final being the only event with a finish reason.
        let (last, content) = events.split_last().expect("some events");
        prop_assert!(last["candidates"][0]["finishReason"].is_string());
        prop_assert!(content.iter().all(|e| e["candidates"][0].get("finishReason").is_none()));
        prop_assert!(content.iter().all(|e| e.get("usageMetadata").is_none()));
        let (mut text, mut thoughts, mut calls) = (String::new(), String::new(), Vec::new());
        for e in &events {
            prop_assert_eq!(&e["modelVersion"], "gemini-x");
            prop_assert_eq!(e["candidates"].as_array().map(Vec::len), Some(1));
            for part in e["candidates"][0]["content"]["parts"].as_array().into_iter().flatten() {
                if let Some(c) = part.get("functionCall") {
                    calls.push((c["name"].as_str().unwrap_or("").to_string(), c["args"].clone()));
                } else if part["thought"] == true {
                    thoughts += part["text"].as_str().unwrap_or("");
                } else {
                    text += part["text"].as_str().unwrap_or("");
                }
            }
        }
        let want_text: String = p.pieces.iter().filter_map(|x| match x { Piece::Text(t) => Some(t.as_str()), _ => None }).collect();
        let want_thoughts: String = p.pieces.iter().filter_map(|x| match x { Piece::Reasoning(t) => Some(t.as_str()), _ => None }).collect();
        let want_calls: Vec<(String, Value)> = p.calls.iter().map(|(n, a, _)| (n.clone(), a.clone())).collect();
        prop_assert_eq!(text, want_text);
        prop_assert_eq!(thoughts, want_thoughts);
        prop_assert_eq!(calls, want_calls);

        let mut meter = Meter::new(Protocol::Gemini);
        meter.feed(&out, std::time::Instant::now());
        prop_assert!(meter.ended() && meter.has_content() && !meter.error_before_content());
        let u = meter.usage();
        match p.usage {
            Some((prompt, completion, cached)) => {
                prop_assert_eq!(u.input, Some(prompt - cached));
                prop_assert_eq!(u.output, Some(completion));
                prop_assert_eq!(u.cache_read.unwrap_or(0), cached);
            }
            None => prop_assert!(u.is_empty()),
        }
    }
}
