//! A Google Gemini client (`generateContent`, `streamGenerateContent`)
//! served by an OpenAI Chat Completions seller.
//!
//! What the translator is given: Gemini keeps the model and the stream flag
//! in the path, so the proxy hands `request` the client's body with the
//! path's facts added as `model` and `stream: true` (keys no Gemini body
//! has; the bytes a native Gemini seller gets are the client's own).
//!
//! Request rules:
//! - `systemInstruction` → a system message (its text parts joined by
//!   newlines); `contents[]` with roles `user`/`model` → user/assistant
//!   messages; `text` and `inlineData` images (→ data-URL `image_url`)
//!   translate; other `inlineData` types, `fileData`, `executableCode` and
//!   `codeExecutionResult` are refused.
//! - Parts with `thought: true` are the model's earlier reasoning: chat
//!   has no way to send reasoning back, so they are dropped
//!   (`thoughtSignature`s with them).
//! - `functionCall` → an assistant `tool_calls` entry with the call's `id`,
//!   or `call_<n>` (n counting the conversation's calls from 1) when Gemini
//!   sent none; `functionResponse` → a `role: tool` message for the call
//!   with its `id`, else the first unanswered call of its `name`. Results
//!   come before the user's other parts of the same turn (chat wants them
//!   right after the call). Calls the seller makes go back to the client
//!   with the seller's id in `functionCall.id`, so the client's answer
//!   names it.
//! - `tools[].functionDeclarations` → chat tools (`parametersJsonSchema`
//!   as is; `parameters`, Gemini's OpenAPI-style schema, converted to JSON
//!   Schema, see `schema.rs`); Google's server tools (`googleSearch`,
//!   `codeExecution`, `urlContext`, …) are refused.
//! - `toolConfig.functionCallingConfig.mode`: `AUTO`/`VALIDATED` → `auto`,
//!   `NONE` → `none`, `ANY` → `required`, or the one function when one name
//!   is allowed, or `required` over only the allowed tools.
//! - `generationConfig`: `temperature`, `topP`, `maxOutputTokens` →
//!   `max_tokens`, `stopSequences` → `stop`, penalties, `seed`;
//!   `responseMimeType: application/json` with `responseSchema` /
//!   `responseJsonSchema` → `response_format` (json_schema, or json_object
//!   without a schema); `thinkingConfig` → `reasoning_effort` (see
//!   `request.rs`); `candidateCount` over 1 is refused; `topK` and
//!   `mediaResolution` are dropped by rule, as are the top-level
//!   `safetySettings` and `labels`; any other field is refused by name.
//!
//! Answer rules: reasoning (`reasoning_content`/`reasoning`) → text parts
//! with `thought: true`; `finish_reason` `stop`/`tool_calls` → `STOP`,
//! `length` → `MAX_TOKENS`, `content_filter` → `SAFETY`, others `OTHER`;
//! usage: `promptTokenCount` = `prompt_tokens` (both count cached tokens),
//! `cachedContentTokenCount` = the cached ones, `thoughtsTokenCount` = the
//! reasoning tokens, `candidatesTokenCount` = the rest of the completion.
//!
//! Streams: text and reasoning deltas go out as they arrive. A tool call's
//! argument pieces are held until the call ends (the next call begins, the
//! finish reason, or `[DONE]`) and then sent as one whole `functionCall`:
//! the one hold the protocol forces, since Gemini has no partial call a
//! client could use earlier. The finish reason waits for the usage chunk
//! after it (bookkeeping); the last event carries both.

mod body;
mod request;
mod schema;
mod stream;

use serde_json::Value;

use super::{BadAnswer, Context, Untranslatable};

pub use stream::Stream;

/// The seller's request for a client `request`, sending `upstream_model`.
pub fn request(request: &Value, upstream_model: &str) -> Result<Value, Untranslatable> {
    request::request(request, upstream_model)
}

/// The client's body for the seller's whole answer.
pub fn response(ctx: &Context, body: &[u8]) -> Result<Vec<u8>, BadAnswer> {
    body::response_body(ctx, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Protocol;
    use crate::proxy::meter::Meter;
    use crate::translate::StreamTranslator;
    use serde_json::json;

    fn ctx() -> Context {
        Context {
            model: "gemini-2.5-pro".into(),
            id: "t".into(),
            created: 0,
            request: json!({}),
        }
    }

    fn run(events: &[&str]) -> Vec<u8> {
        let mut s = Stream::new(ctx());
        let mut out = Vec::new();
        for e in events {
            s.event(None, e, &mut out);
        }
        s.end(&mut out);
        out
    }

    #[test]
    fn our_meter_reads_the_translated_stream() {
        let out = run(&[
            r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}"#,
            r#"{"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"f","arguments":"{\"x\""}}]},"finish_reason":null}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":":1}"}}]},"finish_reason":null}]}"#,
            r#"{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
            r#"{"choices":[],"usage":{"prompt_tokens":50,"completion_tokens":9,"total_tokens":59,"prompt_tokens_details":{"cached_tokens":20}}}"#,
            "[DONE]",
        ]);
        let now = std::time::Instant::now();
        let mut m = Meter::new(Protocol::Gemini);
        m.feed(&out, now);
        assert!(m.has_content() && m.ended() && !m.error_before_content());
        let u = m.usage();
        assert_eq!(
            (u.input, u.output, u.cache_read),
            (Some(30), Some(9), Some(20))
        );
        let text = String::from_utf8_lossy(&out);
        assert_eq!(text.matches("data: ").count(), 3, "{text}");
        assert!(
            text.contains(r#""functionCall":{"name":"f","args":{"x":1},"id":"call_a"}"#),
            "{text}"
        );
    }

    #[test]
    fn an_unfinished_stream_ends_with_nothing_and_an_error_is_gemini_s() {
        let cut = run(&[r#"{"choices":[{"index":0,"delta":{"content":"Hi"}}]}"#]);
        let mut m = Meter::new(Protocol::Gemini);
        m.feed(&cut, std::time::Instant::now());
        assert!(m.has_content() && !m.ended());
        let failed = run(&[r#"{"error":{"message":"overloaded","type":"server_error"}}"#]);
        let text = String::from_utf8_lossy(&failed);
        assert!(text.starts_with(r#"data: {"error":"#) && text.contains("overloaded"));
    }
}
