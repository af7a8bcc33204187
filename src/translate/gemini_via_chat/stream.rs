//! A chat completion stream → a Gemini `streamGenerateContent?alt=sse`
//! stream, event by event: text and reasoning go out as they come; a tool
//! call goes out whole once it ends (Gemini sends `functionCall` with
//! parsed `args`, never in pieces); the last event carries the finish
//! reason and the usage.

use serde_json::{json, Value};

use super::body::{finish_reason, function_call, response, text_of, usage_metadata};
use crate::protocol::Protocol;
use crate::proxy::respond::stream_error_event;
use crate::translate::chat_event::{self, ChatEvent};
use crate::translate::{frame, Context, StreamTranslator};

/// A tool call whose argument pieces are still arriving.
struct Pending {
    index: u64,
    id: String,
    name: String,
    arguments: String,
}

/// The seller's stream, translated event by event.
pub struct Stream {
    ctx: Context,
    /// Calls begun and not yet sent (the last one is still growing).
    pending: Vec<Pending>,
    /// Indexes of the calls already sent whole.
    sent: Vec<u64>,
    /// The finish reason, waiting for the usage chunk that follows it.
    finish: Option<&'static str>,
    usage: Option<Value>,
    /// The last event (or an error) went out: nothing follows.
    done: bool,
}

impl Stream {
    /// A translator at the start of a stream answering `ctx`.
    pub fn new(ctx: Context) -> Self {
        Stream {
            ctx,
            pending: Vec::new(),
            sent: Vec::new(),
            finish: None,
            usage: None,
            done: false,
        }
    }

    fn fail(&mut self, message: &str, out: &mut Vec<u8>) {
        out.extend_from_slice(&stream_error_event(Protocol::Gemini, message));
        self.done = true;
    }

    /// The held calls as whole `functionCall` parts (`Err`: arguments that
    /// are no JSON, which Gemini cannot carry).
    fn flush(&mut self, parts: &mut Vec<Value>) -> Result<(), String> {
        for call in self.pending.drain(..) {
            parts.push(function_call(&call.id, &call.name, &call.arguments)?);
            self.sent.push(call.index);
        }
        Ok(())
    }

    /// One chunk's `tool_calls` pieces; a piece of a new call ends the calls before it.
    fn tool_pieces(&mut self, calls: &[Value], parts: &mut Vec<Value>) -> Result<(), String> {
        for (position, piece) in calls.iter().enumerate() {
            let index = piece["index"].as_u64().unwrap_or(position as u64);
            if self.sent.contains(&index) {
                return Err(format!(
                    "the seller sent more of tool call {index} after a later one began"
                ));
            }
            if !self.pending.iter().any(|p| p.index == index) {
                self.flush(parts)?;
                self.pending.push(Pending {
                    index,
                    id: String::new(),
                    name: String::new(),
                    arguments: String::new(),
                });
            }
            let Some(call) = self.pending.iter_mut().find(|p| p.index == index) else {
                continue;
            };
            if let Some(id) = piece["id"].as_str() {
                call.id.push_str(id);
            }
            let f = &piece["function"];
            if let Some(name) = f["name"].as_str() {
                call.name.push_str(name);
            }
            if let Some(args) = f["arguments"].as_str() {
                call.arguments.push_str(args);
            }
        }
        Ok(())
    }

    /// The last event: `parts` (Gemini's own last event holds an empty
    /// text when there is nothing left), the finish reason, the usage.
    fn close(&mut self, mut parts: Vec<Value>, out: &mut Vec<u8>) {
        if parts.is_empty() {
            parts.push(json!({"text": ""}));
        }
        let finish = self.finish.unwrap_or("STOP");
        let last = response(&self.ctx, parts, Some(finish), self.usage.take());
        frame::event(out, None, &last);
        self.done = true;
    }

    fn chunk(&mut self, chunk: &Value, out: &mut Vec<u8>) -> Result<(), String> {
        if let Some(u) = chunk.get("usage").and_then(usage_metadata) {
            self.usage = Some(u);
        }
        let mut parts = Vec::new();
        for choice in chunk
            .get("choices")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let delta = &choice["delta"];
            let reasoning = text_of(
                delta
                    .get("reasoning_content")
                    .or_else(|| delta.get("reasoning")),
            );
            if !reasoning.is_empty() {
                parts.push(json!({"text": reasoning, "thought": true}));
            }
            for key in ["content", "refusal"] {
                let text = text_of(delta.get(key));
                if !text.is_empty() {
                    parts.push(json!({"text": text}));
                }
            }
            if let Some(calls) = delta.get("tool_calls").and_then(Value::as_array) {
                self.tool_pieces(calls, &mut parts)?;
            }
            if let Some(reason) = choice["finish_reason"].as_str() {
                self.flush(&mut parts)?;
                self.finish = Some(finish_reason(reason));
            }
        }
        if self.finish.is_some() && self.usage.is_some() {
            self.close(parts, out);
        } else if !parts.is_empty() {
            frame::event(out, None, &response(&self.ctx, parts, None, None));
        }
        Ok(())
    }
}

impl StreamTranslator for Stream {
    fn event(&mut self, _event: Option<&str>, data: &str, out: &mut Vec<u8>) {
        if self.done {
            return;
        }
        let chunk = match chat_event::read(data) {
            ChatEvent::Done => {
                // Chat's own end: whatever was held goes out, then the last event.
                let mut parts = Vec::new();
                match self.flush(&mut parts) {
                    Ok(()) => self.close(parts, out),
                    Err(e) => self.fail(&e, out),
                }
                return;
            }
            ChatEvent::Noise => return,
            ChatEvent::Error(message) => return self.fail(&message, out),
            ChatEvent::Chunk(chunk) => chunk,
        };
        if let Err(e) = self.chunk(&chunk, out) {
            self.fail(&e, out);
        }
    }

    fn end(&mut self, out: &mut Vec<u8>) {
        if self.done || self.finish.is_none() {
            return;
        }
        let mut parts = Vec::new();
        match self.flush(&mut parts) {
            Ok(()) => self.close(parts, out),
            Err(e) => self.fail(&e, out),
        }
    }
}
