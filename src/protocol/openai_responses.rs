//! OpenAI Responses API: reading stream events and bodies for the meter.

use serde::Deserialize;

use super::{EventInfo, Usage};

#[derive(Deserialize)]
struct Done {
    #[serde(default)]
    response: Option<Body>,
}

#[derive(Deserialize)]
struct Body {
    #[serde(default)]
    usage: Option<WireUsage>,
}

/// `usage` of a response: `input_tokens` include the cached ones.
#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    input_tokens_details: Option<InputDetails>,
    #[serde(default)]
    output_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct InputDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

impl WireUsage {
    fn usage(self) -> Usage {
        let cached = self.input_tokens_details.and_then(|d| d.cached_tokens);
        Usage {
            input: self
                .input_tokens
                .map(|i| i.saturating_sub(cached.unwrap_or(0))),
            output: self.output_tokens,
            cache_read: cached,
            cache_write: None,
        }
    }
}

fn usage_of(body: Option<Body>) -> Usage {
    body.and_then(|b| b.usage)
        .map(WireUsage::usage)
        .unwrap_or_default()
}

/// Event types that carry generated content.
const SEMANTIC: &[&str] = &[
    "response.output_text.delta",
    "response.refusal.delta",
    "response.function_call_arguments.delta",
    "response.custom_tool_call_input.delta",
    "response.reasoning_text.delta",
    "response.reasoning_summary_text.delta",
];

/// Reads one event of a Responses stream (`event:` name optional).
pub fn inspect(event: Option<&str>, data: &str) -> EventInfo {
    let Some(kind) = super::event::event_type(event, data) else {
        return EventInfo::default();
    };
    if SEMANTIC.contains(&kind) {
        return EventInfo {
            semantic: true,
            ..EventInfo::default()
        };
    }
    match kind {
        "response.completed" | "response.incomplete" => EventInfo {
            usage: usage_of(
                serde_json::from_str::<Done>(data)
                    .ok()
                    .and_then(|d| d.response),
            ),
            terminal: true,
            ..EventInfo::default()
        },
        "response.failed" | "error" => EventInfo {
            terminal: kind == "response.failed",
            error: true,
            ..EventInfo::default()
        },
        _ => EventInfo::default(),
    }
}

#[derive(Deserialize)]
struct Created<'a> {
    #[serde(borrow)]
    response: Option<Id<'a>>,
}

#[derive(Deserialize)]
struct Id<'a> {
    #[serde(borrow)]
    id: Option<std::borrow::Cow<'a, str>>,
}

/// The response id announced by a `response.created` event, if `data` is one.
pub fn created_response_id(event: Option<&str>, data: &str) -> Option<String> {
    if super::event::event_type(event, data)? != "response.created" {
        return None;
    }
    let created: Created<'_> = serde_json::from_str(data).ok()?;
    created.response?.id.map(std::borrow::Cow::into_owned)
}

/// Usage of a non-streaming `response` body.
pub fn body_usage(body: &[u8]) -> Usage {
    usage_of(serde_json::from_slice::<Body>(body).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_events_are_not_semantic() {
        for e in [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
        ] {
            assert_eq!(inspect(Some(e), "{}"), EventInfo::default(), "{e}");
        }
    }

    #[test]
    fn response_id_from_created() {
        let data =
            r#"{"type":"response.created","response":{"id":"resp_1","status":"in_progress"}}"#;
        assert_eq!(
            created_response_id(Some("response.created"), data).as_deref(),
            Some("resp_1")
        );
        assert_eq!(created_response_id(None, data).as_deref(), Some("resp_1"));
        assert_eq!(
            created_response_id(Some("response.in_progress"), data),
            None
        );
    }

    #[test]
    fn deltas_completion_and_errors() {
        assert!(inspect(Some("response.output_text.delta"), r#"{"delta":"x"}"#).semantic);
        assert!(inspect(None, r#"{"type":"response.function_call_arguments.delta"}"#).semantic);
        let done = inspect(
            Some("response.completed"),
            r#"{"type":"response.completed","response":{"usage":{"input_tokens":1,"output_tokens":9}}}"#,
        );
        assert_eq!(
            done.usage,
            Usage {
                input: Some(1),
                output: Some(9),
                ..Usage::default()
            }
        );
        assert!(done.terminal);
        assert!(inspect(Some("error"), r#"{"type":"error"}"#).error);
        assert_eq!(
            body_usage(br#"{"usage":{"output_tokens":4}}"#).output,
            Some(4)
        );
    }

    #[test]
    fn cached_input_tokens_are_not_counted_as_input() {
        let usage = r#"{"input_tokens":5000,"input_tokens_details":{"cached_tokens":4096},"output_tokens":120,"output_tokens_details":{"reasoning_tokens":64},"total_tokens":5120}"#;
        let want = Usage {
            input: Some(904),
            output: Some(120),
            cache_read: Some(4096),
            cache_write: None,
        };
        for kind in ["response.completed", "response.incomplete"] {
            let data = format!(
                r#"{{"type":"{kind}","sequence_number":9,"response":{{"id":"resp_1","object":"response","status":"completed","output":[],"usage":{usage}}}}}"#
            );
            assert_eq!(inspect(Some(kind), &data).usage, want, "{kind}");
            assert_eq!(inspect(None, &data).usage, want, "{kind} without event:");
        }
        let body = format!(r#"{{"id":"resp_1","object":"response","output":[],"usage":{usage}}}"#);
        assert_eq!(body_usage(body.as_bytes()), want);
        // `usage: null` while in progress, and no body at all: nothing known.
        assert!(
            inspect(Some("response.completed"), r#"{"response":{"usage":null}}"#)
                .usage
                .is_empty()
        );
        assert!(body_usage(b"[]").is_empty());
    }
}
