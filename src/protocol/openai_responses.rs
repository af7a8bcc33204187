//! OpenAI Responses API: reading stream events and bodies for the meter.

use serde::Deserialize;

use super::EventInfo;

#[derive(Deserialize)]
struct Done {
    #[serde(default)]
    response: Option<Body>,
}

#[derive(Deserialize)]
struct Body {
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Usage {
    #[serde(default)]
    output_tokens: Option<u64>,
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
            output_tokens: serde_json::from_str::<Done>(data)
                .ok()
                .and_then(|d| d.response?.usage?.output_tokens),
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

/// Output tokens of a non-streaming `response` body.
pub fn body_output_tokens(body: &[u8]) -> Option<u64> {
    serde_json::from_slice::<Body>(body)
        .ok()?
        .usage?
        .output_tokens
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
        assert_eq!(done.output_tokens, Some(9));
        assert!(done.terminal);
        assert!(inspect(Some("error"), r#"{"type":"error"}"#).error);
        assert_eq!(
            body_output_tokens(br#"{"usage":{"output_tokens":4}}"#),
            Some(4)
        );
    }
}
