//! Google Gemini (`generateContent`, `streamGenerateContent?alt=sse`):
//! reading stream events and bodies for the meter.
//!
//! A Gemini stream is a run of `data: {GenerateContentResponse}` events
//! with no event names and no end marker of its own: the event whose
//! candidate carries a `finishReason` is the last one. Every event may
//! repeat `usageMetadata` as a running count; the last one wins.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{EventInfo, Usage};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Chunk<'a> {
    #[serde(default, borrow)]
    candidates: Vec<Candidate<'a>>,
    #[serde(default)]
    usage_metadata: Option<WireUsage>,
    #[serde(default, borrow)]
    error: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate<'a> {
    #[serde(default, borrow)]
    content: Option<Content<'a>>,
    #[serde(default, borrow)]
    finish_reason: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Content<'a> {
    #[serde(default, borrow)]
    parts: Vec<Part<'a>>,
}

/// A part: text (a thought when `thought: true`, still content the client
/// sees as it comes) or a whole function call.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Part<'a> {
    #[serde(default, borrow)]
    text: Option<&'a RawValue>,
    #[serde(default, borrow)]
    function_call: Option<&'a RawValue>,
    #[serde(default, borrow)]
    executable_code: Option<&'a RawValue>,
    #[serde(default, borrow)]
    inline_data: Option<&'a RawValue>,
}

/// `usageMetadata`: `promptTokenCount` includes `cachedContentTokenCount`;
/// the output is `candidatesTokenCount` plus `thoughtsTokenCount`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireUsage {
    #[serde(default)]
    prompt_token_count: Option<u64>,
    #[serde(default)]
    candidates_token_count: Option<u64>,
    #[serde(default)]
    thoughts_token_count: Option<u64>,
    #[serde(default)]
    cached_content_token_count: Option<u64>,
}

impl WireUsage {
    fn usage(self) -> Usage {
        let cached = self.cached_content_token_count;
        let output = match (self.candidates_token_count, self.thoughts_token_count) {
            (None, None) => None,
            (c, t) => Some(c.unwrap_or(0).saturating_add(t.unwrap_or(0))),
        };
        Usage {
            input: self
                .prompt_token_count
                .map(|p| p.saturating_sub(cached.unwrap_or(0))),
            output,
            cache_read: cached,
            cache_write: None,
        }
    }
}

/// A non-empty JSON value: not `null`, `""`, `{}` or `[]`.
fn present(v: Option<&RawValue>) -> bool {
    v.is_some_and(|v| !matches!(v.get(), "null" | "\"\"" | "[]" | "{}"))
}

/// Reads one `data:` payload of a Gemini stream.
pub fn inspect(data: &str) -> EventInfo {
    let Ok(chunk) = serde_json::from_str::<Chunk<'_>>(data) else {
        return EventInfo::default();
    };
    let semantic = chunk
        .candidates
        .iter()
        .filter_map(|c| c.content.as_ref())
        .flat_map(|c| c.parts.iter())
        .any(|p| {
            present(p.text)
                || present(p.function_call)
                || present(p.executable_code)
                || present(p.inline_data)
        });
    let terminal = chunk.candidates.iter().any(|c| present(c.finish_reason));
    EventInfo {
        semantic,
        usage: chunk
            .usage_metadata
            .map(WireUsage::usage)
            .unwrap_or_default(),
        terminal,
        error: present(chunk.error),
    }
}

/// Usage of a whole `GenerateContentResponse` body.
pub fn body_usage(body: &[u8]) -> Usage {
    serde_json::from_slice::<Chunk<'_>>(body)
        .ok()
        .and_then(|b| b.usage_metadata)
        .map(WireUsage::usage)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_thoughts_and_calls_are_semantic() {
        for d in [
            r#"{"candidates":[{"content":{"parts":[{"text":"Hi"}],"role":"model"},"index":0}]}"#,
            r#"{"candidates":[{"content":{"parts":[{"text":"hmm","thought":true}],"role":"model"}}]}"#,
            r#"{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":{}}}],"role":"model"}}]}"#,
        ] {
            let info = inspect(d);
            assert!(info.semantic && !info.terminal && !info.error, "{d}");
        }
        for d in [
            r#"{"candidates":[{"content":{"parts":[{"text":""}],"role":"model"}}]}"#,
            r#"{"candidates":[{"content":{"role":"model"}}],"usageMetadata":{"promptTokenCount":3}}"#,
            r#"{"candidates":[]}"#,
            "not json",
        ] {
            assert!(!inspect(d).semantic, "{d}");
        }
    }

    #[test]
    fn finish_reason_is_the_end_and_usage_counts_cache_and_thoughts() {
        // The shape Gemini 2.5 sends last: text, finishReason, full usage.
        let last = r#"{"candidates":[{"content":{"parts":[{"text":"."}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":2006,"candidatesTokenCount":300,"totalTokenCount":2406,"cachedContentTokenCount":1920,"thoughtsTokenCount":100,"promptTokensDetails":[{"modality":"TEXT","tokenCount":2006}]},"modelVersion":"gemini-2.5-flash","responseId":"abc"}"#;
        let info = inspect(last);
        assert!(info.terminal && info.semantic);
        assert_eq!(
            info.usage,
            Usage {
                input: Some(86),
                output: Some(400),
                cache_read: Some(1920),
                cache_write: None,
            }
        );
        // A running count with no output yet; no cache: input is the prompt.
        assert_eq!(
            inspect(r#"{"usageMetadata":{"promptTokenCount":9}}"#).usage,
            Usage {
                input: Some(9),
                ..Usage::default()
            }
        );
        assert_eq!(body_usage(last.as_bytes()), info.usage);
        assert!(body_usage(b"{}").is_empty() && body_usage(b"nope").is_empty());
    }

    #[test]
    fn errors() {
        let e =
            r#"{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}"#;
        let info = inspect(e);
        assert!(info.error && !info.semantic && !info.terminal);
        assert!(!inspect(r#"{"error":null,"candidates":[]}"#).error);
    }
}
