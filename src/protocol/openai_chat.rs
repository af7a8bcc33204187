//! OpenAI Chat Completions: reading stream chunks and bodies for the meter.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::EventInfo;

#[derive(Deserialize)]
struct Chunk<'a> {
    #[serde(default, borrow)]
    choices: Vec<Choice<'a>>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default, borrow)]
    error: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Choice<'a> {
    #[serde(default, borrow)]
    delta: Option<Delta<'a>>,
}

#[derive(Deserialize)]
struct Delta<'a> {
    #[serde(default, borrow)]
    content: Option<&'a RawValue>,
    #[serde(default, borrow)]
    tool_calls: Option<&'a RawValue>,
    #[serde(default, borrow)]
    reasoning_content: Option<&'a RawValue>,
    #[serde(default, borrow)]
    reasoning: Option<&'a RawValue>,
    #[serde(default, borrow)]
    refusal: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Usage {
    #[serde(default)]
    completion_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct Body {
    #[serde(default)]
    usage: Option<Usage>,
}

/// A non-empty JSON value: not `null`, `""` or `[]`.
fn present(v: Option<&RawValue>) -> bool {
    v.is_some_and(|v| !matches!(v.get(), "null" | "\"\"" | "[]"))
}

/// Reads one `data:` payload of a chat completion stream.
pub fn inspect(data: &str) -> EventInfo {
    if data.trim() == "[DONE]" {
        return EventInfo {
            terminal: true,
            ..EventInfo::default()
        };
    }
    let Ok(chunk) = serde_json::from_str::<Chunk<'_>>(data) else {
        return EventInfo::default();
    };
    let semantic = chunk
        .choices
        .iter()
        .filter_map(|c| c.delta.as_ref())
        .any(|d| {
            present(d.content)
                || present(d.tool_calls)
                || present(d.reasoning_content)
                || present(d.reasoning)
                || present(d.refusal)
        });
    EventInfo {
        semantic,
        output_tokens: chunk.usage.and_then(|u| u.completion_tokens),
        terminal: false,
        error: present(chunk.error),
    }
}

/// Output tokens of a non-streaming `chat.completion` body.
pub fn body_output_tokens(body: &[u8]) -> Option<u64> {
    serde_json::from_slice::<Body>(body)
        .ok()?
        .usage?
        .completion_tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_only_chunk_is_not_semantic() {
        let d = r#"{"id":"c","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}"#;
        assert_eq!(inspect(d), EventInfo::default());
    }

    #[test]
    fn text_tool_and_reasoning_deltas_are_semantic() {
        for d in [
            r#"{"choices":[{"delta":{"content":"Hi"}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{"}}]}}]}"#,
            r#"{"choices":[{"delta":{"reasoning_content":"hmm"}}]}"#,
        ] {
            assert!(inspect(d).semantic, "{d}");
        }
    }

    #[test]
    fn usage_done_and_error() {
        let u = inspect(
            r#"{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":7,"total_tokens":10}}"#,
        );
        assert_eq!(u.output_tokens, Some(7));
        assert!(!u.semantic);
        assert!(inspect("[DONE]").terminal);
        assert!(inspect(r#"{"error":{"message":"boom"}}"#).error);
        assert_eq!(
            body_output_tokens(br#"{"choices":[],"usage":{"completion_tokens":5}}"#),
            Some(5)
        );
    }
}
