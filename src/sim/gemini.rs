//! The simulator's Google Gemini replies: `generateContent` bodies,
//! `streamGenerateContent?alt=sse` event runs (one
//! `GenerateContentResponse` per token, the last with `finishReason` and
//! the full `usageMetadata`), `countTokens` and the model list.

use serde_json::{json, Value};

use super::reply::{unnamed, Reply, Script};

/// The path's model and action: `/v1beta/models/<model>:<action>`.
pub fn model_action(path: &str) -> Option<(&str, &str)> {
    path.strip_prefix("/v1beta/models/")?.rsplit_once(':')
}

fn usage(r: &Reply) -> Value {
    json!({
        "promptTokenCount": r.input_tokens,
        "candidatesTokenCount": r.output_tokens(),
        "totalTokenCount": r.input_tokens + r.output_tokens(),
        "cachedContentTokenCount": r.cache_read,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": r.input_tokens}],
    })
}

fn response(r: &Reply, text: &str, finish: Option<&str>, usage: Value) -> Value {
    let mut candidate = json!({
        "content": {"parts": [{"text": text}], "role": "model"},
        "index": 0,
    });
    if let Some(f) = finish {
        candidate["finishReason"] = json!(f);
    }
    json!({
        "candidates": [candidate],
        "usageMetadata": usage,
        "modelVersion": r.model,
        "responseId": format!("sim{:06}", r.seq),
    })
}

/// A non-streaming `GenerateContentResponse`.
pub fn body(r: &Reply) -> Value {
    response(r, &r.text(), Some("STOP"), usage(r))
}

/// A `streamGenerateContent?alt=sse` stream: every event carries a running
/// usage (prompt only until the last), the last one the finish reason.
pub fn script(r: &Reply) -> Script {
    let running = json!({"promptTokenCount": r.input_tokens, "totalTokenCount": r.input_tokens});
    let n = r.tokens.len();
    let mut deltas: Vec<String> = r
        .tokens
        .iter()
        .take(n.saturating_sub(1))
        .map(|t| unnamed(&response(r, t, None, running.clone()).to_string()))
        .collect();
    let last = r.tokens.last().map(String::as_str).unwrap_or("");
    let closing = vec![unnamed(
        &response(r, last, Some("STOP"), usage(r)).to_string(),
    )];
    if n == 0 {
        deltas.clear();
    }
    Script {
        preamble: Vec::new(),
        deltas,
        closing,
    }
}

/// `countTokens`' answer.
pub fn count_tokens(input_tokens: u64) -> Value {
    json!({"totalTokens": input_tokens, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": input_tokens}]})
}

/// `GET /v1beta/models`' answer for `ids`.
pub fn models(ids: &[String]) -> Value {
    let models: Vec<Value> = ids
        .iter()
        .map(|id| {
            json!({
                "name": format!("models/{id}"),
                "displayName": id,
                "supportedGenerationMethods": ["generateContent", "countTokens"],
            })
        })
        .collect();
    json!({"models": models})
}

/// An error body in Google's shape.
pub fn error(code: u16, message: &str) -> Value {
    json!({"error": {
        "code": code,
        "message": message,
        "status": match code {
            400 => "INVALID_ARGUMENT",
            401 => "UNAUTHENTICATED",
            403 => "PERMISSION_DENIED",
            404 => "NOT_FOUND",
            429 => "RESOURCE_EXHAUSTED",
            503 => "UNAVAILABLE",
            504 => "DEADLINE_EXCEEDED",
            _ => "INTERNAL",
        },
    }})
}

/// An error event as the first (and only) stream event.
pub fn error_event(message: &str) -> String {
    unnamed(&error(500, message).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{event, Protocol};

    fn reply() -> Reply {
        Reply {
            model: "gemini-sim".into(),
            seq: 1,
            input_tokens: 10,
            cache_read: 4,
            cache_write: 0,
            tokens: vec!["Hello ".into(), "there".into()],
            include_usage: false,
            created: 0,
        }
    }

    #[test]
    fn paths_split_at_the_last_colon() {
        assert_eq!(
            model_action("/v1beta/models/gemini-2.5-pro:streamGenerateContent"),
            Some(("gemini-2.5-pro", "streamGenerateContent"))
        );
        assert_eq!(
            model_action("/v1beta/models/a:b:countTokens"),
            Some(("a:b", "countTokens"))
        );
        assert_eq!(model_action("/v1beta/models"), None);
    }

    #[test]
    fn our_meter_reads_the_stream_and_the_body() {
        let s = script(&reply());
        let events: Vec<&String> = s.deltas.iter().chain(&s.closing).collect();
        assert_eq!(events.len(), 2);
        let data = |e: &str| e.trim_end().trim_start_matches("data: ").to_string();
        let first = event::inspect(Protocol::Gemini, None, &data(events[0]));
        assert!(first.semantic && !first.terminal);
        let last = event::inspect(Protocol::Gemini, None, &data(events[1]));
        assert!(last.terminal);
        assert_eq!((last.usage.input, last.usage.output), (Some(6), Some(2)));
        let b = body(&reply()).to_string();
        assert_eq!(
            event::body_usage(Protocol::Gemini, b.as_bytes()).cache_read,
            Some(4)
        );
    }
}
