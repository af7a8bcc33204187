//! Anthropic Messages stream events → OpenAI chat completion chunks, each
//! as soon as the event that carries it arrives (the rules are in the
//! parent module's doc).
//!
//! Grammar made: a first chunk with `role: "assistant"`, content chunks
//! (`content`, `reasoning_content`, `tool_calls` keyed by `index` from 0 in
//! the order the tool blocks start), one chunk with the `finish_reason`
//! (carrying `usage` unless the client asked for
//! `stream_options.include_usage`: then a `choices: []` usage chunk
//! follows), then `[DONE]`.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::body::{finish_reason, usage_json};
use crate::protocol::{anthropic_messages, Protocol, Usage};
use crate::proxy::respond::stream_error_event;
use crate::translate::{frame, Context, StreamTranslator};

/// The seller's stream, translated event by event.
pub struct Stream {
    ctx: Context,
    include_usage: bool,
    started: bool,
    /// Anthropic block index → chat tool call index, for tool blocks.
    tools: HashMap<u64, u64>,
    finish: Option<&'static str>,
    usage: Usage,
    done: bool,
}

impl Stream {
    /// A translator at the start of a stream answering `ctx`.
    pub fn new(ctx: Context) -> Self {
        let include_usage = ctx
            .request
            .pointer("/stream_options/include_usage")
            .and_then(Value::as_bool)
            == Some(true);
        Stream {
            ctx,
            include_usage,
            started: false,
            tools: HashMap::new(),
            finish: None,
            usage: Usage::default(),
            done: false,
        }
    }

    fn chunk(&self, choices: Value) -> Value {
        json!({
            "id": format!("chatcmpl-{}", self.ctx.id),
            "object": "chat.completion.chunk",
            "created": self.ctx.created,
            "model": self.ctx.model,
            "choices": choices,
        })
    }

    fn delta(&mut self, delta: Value, out: &mut Vec<u8>) {
        self.start(out);
        let c = self.chunk(json!([{"index": 0, "delta": delta, "finish_reason": null}]));
        frame::event(out, None, &c);
    }

    fn start(&mut self, out: &mut Vec<u8>) {
        if !self.started {
            self.started = true;
            let c = self.chunk(json!([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}]));
            frame::event(out, None, &c);
        }
    }

    fn block_start(&mut self, v: &Value, out: &mut Vec<u8>) {
        let index = v.get("index").and_then(Value::as_u64).unwrap_or(0);
        let block = v.get("content_block").unwrap_or(&Value::Null);
        let text = |k: &str| {
            block
                .get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        match block.get("type").and_then(Value::as_str) {
            Some("tool_use") => {
                let k = self.tools.len() as u64;
                self.tools.insert(index, k);
                self.delta(
                    json!({"tool_calls": [{"index": k, "id": text("id").unwrap_or(""), "type": "function",
                        "function": {"name": text("name").unwrap_or(""), "arguments": ""}}]}),
                    out,
                );
            }
            Some("text") => {
                if let Some(t) = text("text") {
                    self.delta(json!({"content": t}), out);
                }
            }
            Some("thinking") => {
                if let Some(t) = text("thinking") {
                    self.delta(json!({"reasoning_content": t}), out);
                }
            }
            _ => {}
        }
    }

    fn block_delta(&mut self, v: &Value, out: &mut Vec<u8>) {
        let index = v.get("index").and_then(Value::as_u64).unwrap_or(0);
        let delta = v.get("delta").unwrap_or(&Value::Null);
        let piece = |k: &str| {
            delta
                .get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        match delta.get("type").and_then(Value::as_str) {
            Some("text_delta") => {
                if let Some(t) = piece("text") {
                    self.delta(json!({"content": t}), out);
                }
            }
            Some("thinking_delta") => {
                if let Some(t) = piece("thinking") {
                    self.delta(json!({"reasoning_content": t}), out);
                }
            }
            Some("input_json_delta") => {
                if let (Some(p), Some(k)) = (piece("partial_json"), self.tools.get(&index).copied())
                {
                    self.delta(
                        json!({"tool_calls": [{"index": k, "function": {"arguments": p}}]}),
                        out,
                    );
                }
            }
            // Signatures and citations have no chat form.
            _ => {}
        }
    }

    /// The finish chunk, the usage (its own chunk if asked for, else on the
    /// finish chunk), `[DONE]`.
    fn finish(&mut self, out: &mut Vec<u8>) {
        self.start(out);
        let usage = usage_json(self.usage);
        let mut c = self.chunk(
            json!([{"index": 0, "delta": {}, "finish_reason": self.finish.unwrap_or("stop")}]),
        );
        if self.include_usage {
            frame::event(out, None, &c);
            let mut u = self.chunk(json!([]));
            u["usage"] = usage;
            frame::event(out, None, &u);
        } else {
            // Not asked for: on the finish chunk, where clients ignore it
            // and the meter still reads it.
            c["usage"] = usage;
            frame::event(out, None, &c);
        }
        frame::raw(out, "[DONE]");
        self.done = true;
    }
}

impl StreamTranslator for Stream {
    fn event(&mut self, event: Option<&str>, data: &str, out: &mut Vec<u8>) {
        if self.done {
            return;
        }
        let Ok(v) = serde_json::from_str::<Value>(data) else {
            return;
        };
        let kind = v
            .get("type")
            .and_then(Value::as_str)
            .or(event)
            .unwrap_or("");
        match kind {
            "message_start" => {
                self.usage
                    .merge(anthropic_messages::inspect(Some(kind), data).usage);
                self.start(out);
            }
            "content_block_start" => self.block_start(&v, out),
            "content_block_delta" => self.block_delta(&v, out),
            "message_delta" => {
                self.usage
                    .merge(anthropic_messages::inspect(Some(kind), data).usage);
                self.finish = Some(finish_reason(
                    v.pointer("/delta/stop_reason").and_then(Value::as_str),
                ));
            }
            "message_stop" => self.finish(out),
            "error" => {
                let message = v
                    .pointer("/error/message")
                    .and_then(Value::as_str)
                    .map_or_else(|| data.to_string(), str::to_string);
                out.extend_from_slice(&stream_error_event(Protocol::OpenAiChat, &message));
                self.done = true;
            }
            // ping, content_block_stop: nothing for chat.
            _ => {}
        }
    }

    fn end(&mut self, out: &mut Vec<u8>) {
        if !self.done && self.finish.is_some() {
            self.finish(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::sse::SseSplitter;
    use crate::proxy::meter::Meter;
    use std::time::Instant;

    const STREAM: &str = concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":12,\"cache_read_input_tokens\":100,\"cache_creation_input_tokens\":0,\"output_tokens\":1}}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        "event: ping\ndata: {\"type\":\"ping\"}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"f\",\"input\":{}}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\":1}\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":30}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    );

    fn translate(sse: &str, request: Value) -> String {
        let mut t = Stream::new(Context {
            model: "gpt-x".into(),
            id: "t".into(),
            created: 0,
            request,
        });
        let mut out = Vec::new();
        SseSplitter::new().push(sse.as_bytes(), |e| t.event(e.event, e.data, &mut out));
        t.end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn the_meter_reads_content_one_terminal_and_the_usage() {
        for include in [false, true] {
            let out = translate(
                STREAM,
                json!({"stream_options": {"include_usage": include}}),
            );
            let mut m = Meter::new(Protocol::OpenAiChat);
            m.feed(out.as_bytes(), Instant::now());
            assert!(m.has_content() && m.ended() && !m.error_before_content());
            let mut seller = Meter::new(Protocol::AnthropicMessages);
            seller.feed(STREAM.as_bytes(), Instant::now());
            assert_eq!(m.usage(), seller.usage(), "include_usage {include}");
            assert_eq!(out.contains("\"choices\":[]"), include);
            assert!(out.ends_with("data: [DONE]\n\n"));
        }
    }

    #[test]
    fn errors_and_cut_streams() {
        let cut = STREAM.split("event: message_delta").next().unwrap_or("");
        let out = translate(cut, json!({}));
        assert!(
            !out.contains("finish_reason\":\"") && !out.contains("[DONE]"),
            "{out}"
        );
        let err = format!("{cut}event: error\ndata: {{\"type\":\"error\",\"error\":{{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}}}\n\n");
        let out = translate(&err, json!({}));
        assert!(
            out.ends_with("\"message\":\"Overloaded\",\"param\":null,\"type\":\"api_error\"}}\n\n")
                || out.contains("Overloaded"),
            "{out}"
        );
        let mut m = Meter::new(Protocol::OpenAiChat);
        m.feed(out.as_bytes(), Instant::now());
        assert!(!m.ended());
        // message_delta but no message_stop: closed at the end.
        let no_stop = STREAM.replace(
            "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
            "",
        );
        assert!(translate(&no_stop, json!({})).ends_with("data: [DONE]\n\n"));
    }
}
