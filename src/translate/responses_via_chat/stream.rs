//! Chat completion chunks → Responses stream events, one chunk at a time.
//!
//! The first chunk opens the response (`response.created`,
//! `response.in_progress`). Each kind of content opens an output item when
//! its first delta arrives and closes it (`….done`, `response.output_item.done`)
//! when another kind begins or the answer finishes; tool calls, keyed by
//! chat's `index`, stay open until the finish reason, since a seller may
//! interleave their arguments. The terminal `response.completed` (or
//! `response.incomplete`) waits only for the usage chunk that follows the
//! finish reason (or `[DONE]`, or the stream's end). Text and arguments are
//! kept as they pass, for the `done` events and the final `Response`: that is
//! bookkeeping; every delta goes out as it comes.

use serde_json::{json, Value};

use super::envelope::{self, Ending};
use super::freeform::{self, InputDecoder};
use super::namespaces;
use crate::protocol::Protocol;
use crate::proxy::respond::stream_error_event;
use crate::translate::chat_event::{self, ChatEvent};
use crate::translate::{frame, Context, StreamTranslator};

/// What an output item holds.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Reasoning,
    Text,
    Refusal,
    Call {
        call_id: String,
        name: String,
    },
    /// A freeform tool's call: `text` is the decoded input.
    Custom {
        call_id: String,
        name: String,
    },
}

/// One output item as it grows.
#[derive(Debug)]
struct Item {
    kind: Kind,
    id: String,
    /// The text, refusal, reasoning or arguments so far.
    text: String,
    closed: bool,
    /// For a freeform call: reads its input out of the arguments.
    decoder: Option<InputDecoder>,
}

/// The seller's stream, translated event by event.
pub struct Stream {
    ctx: Context,
    sequence: u64,
    started: bool,
    items: Vec<Item>,
    /// The open reasoning, text or refusal item (an index into `items`).
    open: Option<usize>,
    /// Chat tool call `index` → index into `items`.
    calls: Vec<(u64, usize)>,
    ending: Option<Ending>,
    usage: Option<Value>,
    /// The request's freeform tools (their calls become `custom_tool_call`s).
    custom: Vec<String>,
    /// The request's namespaced functions (chat name, namespace, name).
    namespaces: Vec<(String, String, String)>,
    /// The terminal event, or an error, has gone out.
    over: bool,
}

impl Stream {
    /// A translator at the start of a stream answering `ctx`.
    pub fn new(ctx: Context) -> Self {
        Stream {
            custom: freeform::custom_names(&ctx.request),
            namespaces: namespaces::of_request(&ctx.request),
            ctx,
            sequence: 0,
            started: false,
            items: Vec::new(),
            open: None,
            calls: Vec::new(),
            ending: None,
            usage: None,
            over: false,
        }
    }

    fn emit(&mut self, out: &mut Vec<u8>, kind: &str, mut data: Value) {
        data["type"] = kind.into();
        data["sequence_number"] = self.sequence.into();
        self.sequence += 1;
        frame::event(out, Some(kind), &data);
    }

    fn start(&mut self, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        for kind in ["response.created", "response.in_progress"] {
            let response = envelope::response(&self.ctx, None, Vec::new(), None);
            self.emit(out, kind, json!({ "response": response }));
        }
    }

    /// The item as the client sees it, with `status`.
    fn item_json(&self, n: usize, status: &str) -> Value {
        let item = &self.items[n];
        let text = &item.text;
        match &item.kind {
            Kind::Reasoning => json!({
                "type": "reasoning", "id": item.id, "summary": [], "status": status,
                "content": if item.closed { json!([{"type": "reasoning_text", "text": text}]) } else { json!([]) },
            }),
            Kind::Text | Kind::Refusal => json!({
                "type": "message", "id": item.id, "status": status, "role": "assistant",
                "content": if item.closed { json!([self.part(n)]) } else { json!([]) },
            }),
            Kind::Call { call_id, name } => {
                let mut item = json!({
                    "type": "function_call", "id": item.id, "call_id": call_id, "name": name,
                    "arguments": text, "status": status,
                });
                namespaces::restore(&mut item, &self.namespaces);
                item
            }
            Kind::Custom { call_id, name } => json!({
                "type": "custom_tool_call", "id": item.id, "call_id": call_id, "name": name,
                "input": text, "status": status,
            }),
        }
    }

    /// The content part of a text, refusal or reasoning item.
    fn part(&self, n: usize) -> Value {
        let item = &self.items[n];
        match item.kind {
            Kind::Reasoning => json!({"type": "reasoning_text", "text": item.text}),
            Kind::Refusal => json!({"type": "refusal", "refusal": item.text}),
            _ => {
                json!({"type": "output_text", "text": item.text, "annotations": [], "logprobs": []})
            }
        }
    }

    fn open_item(&mut self, kind: Kind, out: &mut Vec<u8>) -> usize {
        let n = self.items.len();
        let prefix = match kind {
            Kind::Reasoning => "rs",
            Kind::Call { .. } => "fc",
            Kind::Custom { .. } => "ctc",
            _ => "msg",
        };
        let has_part = !matches!(kind, Kind::Call { .. } | Kind::Custom { .. });
        let decoder = matches!(kind, Kind::Custom { .. }).then(InputDecoder::default);
        self.items.push(Item {
            kind,
            id: envelope::item_id(&self.ctx, prefix, n),
            text: String::new(),
            closed: false,
            decoder,
        });
        let item = self.item_json(n, "in_progress");
        self.emit(
            out,
            "response.output_item.added",
            json!({"output_index": n, "item": item}),
        );
        if has_part {
            let mut part = self.part(n);
            if let Some(o) = part.as_object_mut() {
                o.remove("logprobs");
            }
            let id = self.items[n].id.clone();
            self.emit(
                out,
                "response.content_part.added",
                json!({"item_id": id, "output_index": n, "content_index": 0, "part": part}),
            );
        }
        n
    }

    fn close_item(&mut self, n: usize, out: &mut Vec<u8>) {
        if self.items[n].closed {
            return;
        }
        self.items[n].closed = true;
        let status = self.ending.unwrap_or(Ending::Completed).status();
        let id = self.items[n].id.clone();
        let text = self.items[n].text.clone();
        let at = json!({"item_id": id, "output_index": n});
        let with = |mut v: Value, key: &str, val: Value| {
            v[key] = val;
            v
        };
        match self.items[n].kind {
            Kind::Call { .. } => {
                self.emit(
                    out,
                    "response.function_call_arguments.done",
                    with(at, "arguments", text.into()),
                );
            }
            Kind::Custom { .. } => {
                let (whole, rest) = self.items[n]
                    .decoder
                    .as_mut()
                    .map(InputDecoder::finish)
                    .unwrap_or_default();
                if !rest.is_empty() {
                    // Arguments not shaped `{"input": …}`: read whole at the end.
                    self.emit(
                        out,
                        "response.custom_tool_call_input.delta",
                        with(at.clone(), "delta", rest.into()),
                    );
                }
                self.items[n].text = whole.clone();
                self.emit(
                    out,
                    "response.custom_tool_call_input.done",
                    with(at, "input", whole.into()),
                );
            }
            ref kind => {
                let (done, key) = match kind {
                    Kind::Reasoning => ("response.reasoning_text.done", "text"),
                    Kind::Refusal => ("response.refusal.done", "refusal"),
                    _ => ("response.output_text.done", "text"),
                };
                let mut at = with(at, "content_index", 0.into());
                let mut done_event = with(at.clone(), key, text.into());
                if key == "text" && self.items[n].kind == Kind::Text {
                    done_event["logprobs"] = json!([]);
                }
                self.emit(out, done, done_event);
                at["part"] = self.part(n);
                self.emit(out, "response.content_part.done", at);
            }
        }
        let item = self.item_json(n, status);
        self.emit(
            out,
            "response.output_item.done",
            json!({"output_index": n, "item": item}),
        );
    }

    /// Appends a reasoning, text or refusal `delta`, opening its item first
    /// if another kind is open.
    fn delta(&mut self, kind: Kind, delta: &str, out: &mut Vec<u8>) {
        let n = match self.open {
            Some(n) if self.items[n].kind == kind => n,
            open => {
                if let Some(o) = open {
                    self.close_item(o, out);
                }
                let n = self.open_item(kind.clone(), out);
                self.open = Some(n);
                n
            }
        };
        self.items[n].text.push_str(delta);
        let event = match kind {
            Kind::Reasoning => "response.reasoning_text.delta",
            Kind::Refusal => "response.refusal.delta",
            _ => "response.output_text.delta",
        };
        let id = self.items[n].id.clone();
        let mut data =
            json!({"item_id": id, "output_index": n, "content_index": 0, "delta": delta});
        if kind == Kind::Text {
            data["logprobs"] = json!([]);
        }
        self.emit(out, event, data);
    }

    /// The chat call id of item `n`, if it is a call.
    fn call_id(&self, n: usize) -> Option<&str> {
        match &self.items[n].kind {
            Kind::Call { call_id, .. } | Kind::Custom { call_id, .. } => Some(call_id),
            _ => None,
        }
    }

    fn tool_call(&mut self, position: usize, call: &Value, out: &mut Vec<u8>) {
        let index = call
            .get("index")
            .and_then(Value::as_u64)
            .unwrap_or(position as u64);
        let f = call.get("function").unwrap_or(&Value::Null);
        let id = call
            .get("id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty());
        // Some sellers send each parallel call whole at the same index: a
        // new id there is a new call.
        let known = self
            .calls
            .iter()
            .rposition(|(i, _)| *i == index)
            .filter(|&k| {
                id.is_none_or(|id| matches!(self.call_id(self.calls[k].1), Some(c) if c == id || c.is_empty()))
            });
        let n = match known {
            Some(k) => {
                let n = self.calls[k].1;
                // A seller that names the call after its first piece.
                if let (Some(id), Kind::Call { call_id, .. } | Kind::Custom { call_id, .. }) =
                    (id, &mut self.items[n].kind)
                {
                    if call_id.is_empty() {
                        *call_id = id.to_string();
                    }
                }
                n
            }
            None => {
                if let Some(o) = self.open.take() {
                    self.close_item(o, out);
                }
                let call_id = call
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let name = f
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let kind = if self.custom.contains(&name) {
                    Kind::Custom { call_id, name }
                } else {
                    Kind::Call { call_id, name }
                };
                let n = self.open_item(kind, out);
                self.calls.push((index, n));
                n
            }
        };
        let piece = f
            .get("arguments")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if piece.is_empty() {
            return;
        }
        let id = self.items[n].id.clone();
        let (event, delta) = match self.items[n].decoder.as_mut() {
            Some(decoder) => ("response.custom_tool_call_input.delta", decoder.push(piece)),
            None => ("response.function_call_arguments.delta", piece.to_string()),
        };
        if delta.is_empty() {
            return;
        }
        self.items[n].text.push_str(&delta);
        self.emit(
            out,
            event,
            json!({"item_id": id, "output_index": n, "delta": delta}),
        );
    }

    fn choice(&mut self, choice: &Value, out: &mut Vec<u8>) {
        let delta = choice.get("delta").unwrap_or(&Value::Null);
        let text = |key: &str| {
            delta
                .get(key)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        if let Some(r) = text("reasoning_content").or_else(|| text("reasoning")) {
            self.delta(Kind::Reasoning, r, out);
        }
        if let Some(t) = text("content") {
            self.delta(Kind::Text, t, out);
        }
        if let Some(t) = text("refusal") {
            self.delta(Kind::Refusal, t, out);
        }
        for (position, call) in delta
            .get("tool_calls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            self.tool_call(position, call, out);
        }
        if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
            self.ending = Some(Ending::of(reason));
            self.open = None;
            for n in 0..self.items.len() {
                self.close_item(n, out);
            }
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        let Some(ending) = self.ending else { return };
        self.start(out);
        for n in 0..self.items.len() {
            self.close_item(n, out);
        }
        let output = (0..self.items.len())
            .map(|n| self.item_json(n, ending.status()))
            .collect();
        let response = envelope::response(&self.ctx, Some(ending), output, self.usage.take());
        self.emit(out, ending.event(), json!({ "response": response }));
        self.over = true;
    }
}

impl StreamTranslator for Stream {
    fn event(&mut self, _event: Option<&str>, data: &str, out: &mut Vec<u8>) {
        if self.over {
            return;
        }
        let chunk = match chat_event::read(data) {
            ChatEvent::Done => return self.finish(out),
            ChatEvent::Noise => return,
            ChatEvent::Error(message) => {
                out.extend_from_slice(&stream_error_event(Protocol::OpenAiResponses, &message));
                self.over = true;
                return;
            }
            ChatEvent::Chunk(chunk) => chunk,
        };
        self.start(out);
        if let Some(choice) = chunk.get("choices").and_then(|c| c.get(0)) {
            self.choice(choice, out);
        }
        if let Some(usage) = chunk.get("usage").and_then(envelope::usage) {
            self.usage = Some(usage);
        }
        if self.ending.is_some() && self.usage.is_some() {
            self.finish(out);
        }
    }

    fn end(&mut self, out: &mut Vec<u8>) {
        if !self.over {
            self.finish(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Usage;
    use crate::proxy::meter::Meter;

    fn run(chunks: &[&str]) -> Vec<u8> {
        let ctx = Context {
            model: "m".into(),
            id: "t".into(),
            created: 0,
            request: json!({}),
        };
        let mut s = Stream::new(ctx);
        let mut out = Vec::new();
        for c in chunks {
            s.event(None, c, &mut out);
        }
        s.end(&mut out);
        out
    }

    #[test]
    fn the_meter_reads_content_one_terminal_and_the_sellers_usage() {
        let out = run(&[
            r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}"#,
            r#"{"choices":[{"index":0,"delta":{"reasoning_content":"hm"},"finish_reason":null}]}"#,
            r#"{"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":"stop"}]}"#,
            r#"{"choices":[],"usage":{"prompt_tokens":100,"completion_tokens":9,"total_tokens":109,"prompt_cache_hit_tokens":64}}"#,
            "[DONE]",
        ]);
        let mut meter = Meter::new(Protocol::OpenAiResponses);
        meter.feed(&out, std::time::Instant::now());
        assert!(meter.has_content() && meter.ended());
        assert_eq!(
            meter.usage(),
            Usage {
                input: Some(36),
                output: Some(9),
                cache_read: Some(64),
                cache_write: None
            }
        );
        assert_eq!(meter.response_id(), Some("resp_t"));
        let text = String::from_utf8_lossy(&out);
        assert_eq!(text.matches("event: response.completed").count(), 1);
    }

    #[test]
    fn a_new_call_id_at_a_used_index_is_a_new_call() {
        // Some chat-compatible sellers send each parallel call whole, every
        // one at index 0 (or with no index): a new id is a new call.
        let out = run(&[
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"a","arguments":"{}"}}]},"finish_reason":null}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c2","type":"function","function":{"name":"b","arguments":"{\"x\":1}"}}]},"finish_reason":null}]}"#,
            r#"{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
            "[DONE]",
        ]);
        let text = String::from_utf8_lossy(&out);
        let last = text.lines().rfind(|l| l.starts_with("data: ")).unwrap();
        let done: Value = serde_json::from_str(&last["data: ".len()..]).unwrap();
        let calls: Vec<_> = done["response"]["output"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["call_id"].clone(),
                    i["name"].clone(),
                    i["arguments"].clone(),
                )
            })
            .collect();
        assert_eq!(
            calls,
            vec![
                (json!("c1"), json!("a"), json!("{}")),
                (json!("c2"), json!("b"), json!("{\"x\":1}"))
            ],
            "{text}"
        );
    }

    #[test]
    fn no_finish_no_terminal_and_an_error_is_the_clients_error_event() {
        let cut =
            run(&[r#"{"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}"#]);
        let mut meter = Meter::new(Protocol::OpenAiResponses);
        meter.feed(&cut, std::time::Instant::now());
        assert!(meter.has_content() && !meter.ended());

        let failed = run(&[
            r#"{"error":{"message":"overloaded","type":"server_error"}}"#,
            "[DONE]",
        ]);
        let text = String::from_utf8_lossy(&failed);
        assert!(text.starts_with("event: error\n"), "{text}");
        assert!(text.contains("overloaded") && !text.contains("response.completed"));
    }
}
