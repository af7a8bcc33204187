//! OpenAI chat completion chunks → Anthropic Messages stream events, each
//! as soon as the chunk that carries it arrives (the rules are in the
//! parent module's doc).
//!
//! Grammar made: `message_start`, then content blocks one at a time
//! (`content_block_start`, deltas, `content_block_stop`; the open block is
//! closed before another starts), then `message_delta` (stop reason and the
//! whole usage) and `message_stop`. Chat's finish reason comes before its
//! usage chunk, so the stop reason is held (bookkeeping, not content) until
//! `[DONE]` or the end of the stream.

use serde_json::{json, Value};

use super::body::{reasoning, stop_reason, usage_json};
use crate::protocol::{openai_chat, Protocol, Usage};
use crate::proxy::respond::stream_error_event;
use crate::translate::chat_event::{self, ChatEvent};
use crate::translate::{frame, Context, StreamTranslator};

/// The content block being written.
#[derive(Debug, Clone, PartialEq)]
enum Open {
    Text,
    Thinking,
    /// A tool call: chat's `index` for it and its id.
    Tool {
        index: u64,
        id: String,
    },
}

/// The seller's stream, translated event by event.
pub struct Stream {
    ctx: Context,
    started: bool,
    open: Option<Open>,
    /// Blocks started so far (the open one is the last).
    blocks: u64,
    /// Whether any tool call was seen (the stop reason is then `tool_use`).
    tool_called: bool,
    finish: Option<String>,
    usage: Usage,
    /// Content deltas sent: the output estimate without a usage chunk.
    deltas: u64,
    done: bool,
}

impl Stream {
    /// A translator at the start of a stream answering `ctx`.
    pub fn new(ctx: Context) -> Self {
        Stream {
            ctx,
            started: false,
            open: None,
            blocks: 0,
            tool_called: false,
            finish: None,
            usage: Usage::default(),
            deltas: 0,
            done: false,
        }
    }

    fn start(&mut self, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        frame::event(
            out,
            Some("message_start"),
            &json!({"type": "message_start", "message": {
                "id": format!("msg_{}", self.ctx.id),
                "type": "message",
                "role": "assistant",
                "model": self.ctx.model,
                "content": [],
                "stop_reason": null,
                "stop_sequence": null,
                "usage": {"input_tokens": 0, "output_tokens": 0},
            }}),
        );
    }

    /// Closes the open block, if any.
    fn close(&mut self, out: &mut Vec<u8>) {
        let Some(open) = self.open.take() else {
            return;
        };
        let index = self.blocks - 1;
        if open == Open::Thinking {
            // Anthropic always signs a thinking block before it stops; chat
            // has no signature to give.
            frame::event(
                out,
                Some("content_block_delta"),
                &json!({"type": "content_block_delta", "index": index,
                    "delta": {"type": "signature_delta", "signature": ""}}),
            );
        }
        frame::event(
            out,
            Some("content_block_stop"),
            &json!({"type": "content_block_stop", "index": index}),
        );
    }

    /// Makes `want` the open block (closing another, starting it).
    fn open(&mut self, want: Open, out: &mut Vec<u8>) {
        if self.open.as_ref() == Some(&want) {
            return;
        }
        self.close(out);
        let block = match &want {
            Open::Text => json!({"type": "text", "text": ""}),
            Open::Thinking => json!({"type": "thinking", "thinking": "", "signature": ""}),
            Open::Tool { .. } => Value::Null,
        };
        if !block.is_null() {
            self.start_block(block, out);
        }
        self.open = Some(want);
    }

    fn start_block(&mut self, block: Value, out: &mut Vec<u8>) {
        frame::event(
            out,
            Some("content_block_start"),
            &json!({"type": "content_block_start", "index": self.blocks, "content_block": block}),
        );
        self.blocks += 1;
    }

    fn delta(&mut self, delta: Value, out: &mut Vec<u8>) {
        self.deltas += 1;
        frame::event(
            out,
            Some("content_block_delta"),
            &json!({"type": "content_block_delta", "index": self.blocks - 1, "delta": delta}),
        );
    }

    /// One entry of a chunk's `tool_calls` (at `position` in the list).
    fn tool_call(&mut self, call: &Value, position: u64, out: &mut Vec<u8>) -> Result<(), String> {
        let index = call
            .get("index")
            .and_then(Value::as_u64)
            .unwrap_or(position);
        let id = call
            .get("id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty());
        let continues = matches!(&self.open,
            Some(Open::Tool { index: i, id: open_id }) if *i == index && id.is_none_or(|id| id == open_id));
        if !continues {
            let name = call.pointer("/function/name").and_then(Value::as_str);
            if id.is_none() && name.is_none() {
                return Err(format!(
                    "the seller sent arguments for tool call {index} after another block began"
                ));
            }
            self.close(out);
            let id = id.map_or_else(|| format!("toolu_{}_{index}", self.ctx.id), str::to_string);
            self.tool_called = true;
            self.start_block(
                json!({"type": "tool_use", "id": id, "name": name.unwrap_or(""), "input": {}}),
                out,
            );
            self.open = Some(Open::Tool { index, id });
        }
        if let Some(piece) = call
            .pointer("/function/arguments")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            self.delta(
                json!({"type": "input_json_delta", "partial_json": piece}),
                out,
            );
        }
        Ok(())
    }

    fn fail(&mut self, message: &str, out: &mut Vec<u8>) {
        out.extend_from_slice(&stream_error_event(Protocol::AnthropicMessages, message));
        self.done = true;
    }

    /// The closing events: the open block's stop, the stop reason with the
    /// whole usage, `message_stop`.
    fn finish(&mut self, out: &mut Vec<u8>) {
        self.start(out);
        self.close(out);
        frame::event(
            out,
            Some("message_delta"),
            &json!({"type": "message_delta",
                "delta": {"stop_reason": stop_reason(self.finish.as_deref(), self.tool_called), "stop_sequence": null},
                "usage": usage_json(self.usage, self.deltas)}),
        );
        frame::event(out, Some("message_stop"), &json!({"type": "message_stop"}));
        self.done = true;
    }
}

impl StreamTranslator for Stream {
    fn event(&mut self, _event: Option<&str>, data: &str, out: &mut Vec<u8>) {
        if self.done {
            return;
        }
        let chunk = match chat_event::read(data) {
            ChatEvent::Done => return self.finish(out),
            ChatEvent::Noise => return,
            ChatEvent::Error(message) => return self.fail(&message, out),
            ChatEvent::Chunk(chunk) => chunk,
        };
        self.start(out);
        if chunk.get("usage").is_some_and(Value::is_object) {
            self.usage.merge(openai_chat::inspect(data).usage);
        }
        let Some(choice) = chunk.pointer("/choices/0") else {
            return;
        };
        if let Some(delta) = choice.get("delta") {
            if let Some(r) = reasoning(delta) {
                self.open(Open::Thinking, out);
                self.delta(json!({"type": "thinking_delta", "thinking": r}), out);
            }
            for key in ["content", "refusal"] {
                if let Some(text) = delta
                    .get(key)
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                {
                    self.open(Open::Text, out);
                    self.delta(json!({"type": "text_delta", "text": text}), out);
                }
            }
            let calls = delta.get("tool_calls").and_then(Value::as_array);
            for (position, call) in calls.into_iter().flatten().enumerate() {
                if let Err(message) = self.tool_call(call, position as u64, out) {
                    self.fail(&message, out);
                    return;
                }
            }
        }
        if let Some(finish) = choice.get("finish_reason").and_then(Value::as_str) {
            self.finish = Some(finish.to_string());
            self.close(out);
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

    fn translate(sse: &str) -> String {
        let mut t = Stream::new(Context {
            model: "claude-x".into(),
            id: "t".into(),
            created: 0,
            request: json!({}),
        });
        let mut out = Vec::new();
        SseSplitter::new().push(sse.as_bytes(), |e| t.event(e.event, e.data, &mut out));
        t.end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    fn meter(out: &str) -> Meter {
        let mut m = Meter::new(Protocol::AnthropicMessages);
        m.feed(out.as_bytes(), Instant::now());
        m
    }

    const TOOL_STREAM: &str = concat!(
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"a\\\":1}\"}}]},\"finish_reason\":null}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n",
        "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":50,\"completion_tokens\":9,\"total_tokens\":59,\"prompt_tokens_details\":{\"cached_tokens\":20}}}\n\n",
        "data: [DONE]\n\n",
    );

    #[test]
    fn the_meter_reads_content_one_terminal_and_the_sellers_usage() {
        let out = translate(TOOL_STREAM);
        let m = meter(&out);
        assert!(m.has_content() && m.ended() && !m.error_before_content());
        let mut seller = Meter::new(Protocol::OpenAiChat);
        seller.feed(TOOL_STREAM.as_bytes(), Instant::now());
        let mut want = seller.usage();
        // message_start says 0 input before the usage is known.
        want.input = want.input.or(Some(0));
        assert_eq!(m.usage(), want);
        assert!(out.contains("\"stop_reason\":\"tool_use\""));
        assert_eq!(out.matches("event: message_stop").count(), 1);
    }

    #[test]
    fn an_unfinished_stream_gets_no_closing_events() {
        let cut = TOOL_STREAM
            .split("data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\"")
            .next()
            .unwrap_or("");
        let out = translate(cut);
        assert!(!out.contains("message_delta") && !out.contains("message_stop"));
        // A finish reason without [DONE] closes the message at the end.
        let no_done = TOOL_STREAM.replace("data: [DONE]\n\n", "");
        assert!(meter(&translate(&no_done)).ended());
    }

    #[test]
    fn a_seller_error_is_an_anthropic_error_event() {
        let out = translate(concat!(
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n",
            "data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}\n\n",
            "data: [DONE]\n\n",
        ));
        assert!(out.ends_with(
            "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"overloaded\"}}\n\n"
        ), "{out}");
        assert!(!meter(&out).ended());
    }

    #[test]
    fn arguments_for_a_closed_call_are_an_error_not_a_reopened_block() {
        let out = translate(concat!(
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"a\",\"function\":{\"name\":\"f\",\"arguments\":\"{\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"b\",\"function\":{\"name\":\"g\",\"arguments\":\"{\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"}\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n",
            "data: [DONE]\n\n",
        ));
        assert!(out.ends_with("after another block began\"}}\n\n"), "{out}");
        assert_eq!(out.matches("event: content_block_start").count(), 2);
        assert!(!meter(&out).ended());
    }

    #[test]
    fn without_usage_each_delta_counts_one_token() {
        let out = translate(concat!(
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"},\"finish_reason\":\"stop\"}]}\n\n",
            "data: [DONE]\n\n",
        ));
        assert!(
            out.contains("\"usage\":{\"input_tokens\":0,\"output_tokens\":2}"),
            "{out}"
        );
    }
}
