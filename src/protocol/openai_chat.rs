//! OpenAI Chat Completions: reading stream chunks and bodies for the meter.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{EventInfo, Usage};

#[derive(Deserialize)]
struct Chunk<'a> {
    #[serde(default, borrow)]
    choices: Vec<Choice<'a>>,
    #[serde(default)]
    usage: Option<WireUsage>,
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

/// `usage` of a chunk or body. `prompt_tokens` include the cached ones;
/// where the cached count is depends on the seller: OpenAI's
/// `prompt_tokens_details.cached_tokens`, DeepSeek's
/// `prompt_cache_hit_tokens`, Moonshot's top-level `cached_tokens`.
#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
    #[serde(default)]
    prompt_tokens_details: Option<PromptDetails>,
    #[serde(default)]
    prompt_cache_hit_tokens: Option<u64>,
    #[serde(default)]
    cached_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct PromptDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
    /// Prompt tokens written to the cache (OpenRouter's, and ours when an
    /// Anthropic seller answers a chat client); also part of `prompt_tokens`.
    #[serde(default)]
    cache_write_tokens: Option<u64>,
}

impl WireUsage {
    fn usage(self) -> Usage {
        let details = self.prompt_tokens_details;
        let written = details.as_ref().and_then(|d| d.cache_write_tokens);
        let cached = details
            .and_then(|d| d.cached_tokens)
            .or(self.prompt_cache_hit_tokens)
            .or(self.cached_tokens);
        Usage {
            input: self.prompt_tokens.map(|p| {
                p.saturating_sub(cached.unwrap_or(0))
                    .saturating_sub(written.unwrap_or(0))
            }),
            output: self.completion_tokens,
            cache_read: cached,
            cache_write: written,
        }
    }
}

#[derive(Deserialize)]
struct Body {
    #[serde(default)]
    usage: Option<WireUsage>,
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
        usage: chunk.usage.map(WireUsage::usage).unwrap_or_default(),
        terminal: false,
        error: present(chunk.error),
    }
}

/// Usage of a non-streaming `chat.completion` body.
pub fn body_usage(body: &[u8]) -> Usage {
    serde_json::from_slice::<Body>(body)
        .ok()
        .and_then(|b| b.usage)
        .map(WireUsage::usage)
        .unwrap_or_default()
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
        assert_eq!(
            u.usage,
            Usage {
                input: Some(3),
                output: Some(7),
                ..Usage::default()
            }
        );
        assert!(!u.semantic);
        assert!(inspect("[DONE]").terminal);
        assert!(inspect(r#"{"error":{"message":"boom"}}"#).error);
        assert_eq!(
            body_usage(br#"{"choices":[],"usage":{"completion_tokens":5}}"#).output,
            Some(5)
        );
        // A chunk with `usage: null` (include_usage on) reports nothing.
        assert!(
            inspect(r#"{"choices":[{"delta":{"content":"a"}}],"usage":null}"#)
                .usage
                .is_empty()
        );
    }

    #[test]
    fn cached_prompt_tokens_are_not_counted_as_input() {
        // OpenAI's final usage chunk (stream_options.include_usage).
        let openai = r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":2006,"completion_tokens":300,"total_tokens":2306,"prompt_tokens_details":{"cached_tokens":1920,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}"#;
        let want = Usage {
            input: Some(86),
            output: Some(300),
            cache_read: Some(1920),
            cache_write: None,
        };
        assert_eq!(inspect(openai).usage, want);
        // DeepSeek's body.
        let deepseek = br#"{"choices":[],"usage":{"prompt_tokens":2006,"completion_tokens":300,"total_tokens":2306,"prompt_cache_hit_tokens":1920,"prompt_cache_miss_tokens":86}}"#;
        assert_eq!(body_usage(deepseek), want);
        // Moonshot's.
        let kimi = br#"{"choices":[],"usage":{"prompt_tokens":2006,"completion_tokens":300,"total_tokens":2306,"cached_tokens":1920}}"#;
        assert_eq!(body_usage(kimi), want);
        // OpenRouter (and a chat client served by an Anthropic seller) also
        // name the prompt tokens written to the cache; they are not input.
        let writes = br#"{"usage":{"prompt_tokens":2006,"completion_tokens":300,"prompt_tokens_details":{"cached_tokens":1000,"cache_write_tokens":920}}}"#;
        assert_eq!(
            body_usage(writes),
            Usage {
                cache_read: Some(1000),
                cache_write: Some(920),
                ..want
            }
        );
        // A seller that reports no cache: input is the whole prompt.
        let plain = br#"{"usage":{"prompt_tokens":10,"completion_tokens":2}}"#;
        assert_eq!(
            body_usage(plain),
            Usage {
                input: Some(10),
                output: Some(2),
                ..Usage::default()
            }
        );
        assert!(body_usage(b"{}").is_empty() && body_usage(b"nope").is_empty());
    }
}
