//! Reading just enough of a client request (model, stream flag, the agent's
//! session signals) and building the upstream body: the client's bytes as
//! they are, except the model name when the seller maps it.

use std::borrow::Cow;
use std::hash::{Hash, Hasher};

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;

/// The few fields routing needs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestHead {
    /// The requested model.
    pub model: String,
    /// Whether the client asked for a stream.
    pub stream: bool,
    /// An explicit session id from the body (Claude Code's
    /// `metadata.user_id`, Codex's `prompt_cache_key`).
    pub session: Option<String>,
    /// A hash of the conversation's opening (system prompt and first
    /// message), which stays the same as the conversation grows.
    pub opening: u64,
    /// The Responses API's `previous_response_id`: the answer continues
    /// that response, which only its seller knows.
    pub previous_response_id: Option<String>,
}

#[derive(Deserialize)]
struct Head<'a> {
    #[serde(borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default, borrow)]
    metadata: Option<Metadata<'a>>,
    #[serde(default, borrow)]
    prompt_cache_key: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    previous_response_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    system: Option<&'a RawValue>,
    #[serde(default, borrow)]
    instructions: Option<&'a RawValue>,
    #[serde(default, borrow)]
    messages: Option<FirstItem<'a>>,
    #[serde(default, borrow)]
    input: Option<FirstItem<'a>>,
    /// Gemini's system prompt and conversation.
    #[serde(default, borrow, rename = "systemInstruction")]
    system_instruction: Option<&'a RawValue>,
    #[serde(default, borrow)]
    contents: Option<FirstItem<'a>>,
}

/// What a protocol that names them in the path (Gemini's
/// `models/<model>:streamGenerateContent`) says of the model and the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathHead {
    /// The model named in the path.
    pub model: String,
    /// Whether the path's action streams.
    pub stream: bool,
}

#[derive(Deserialize)]
struct Metadata<'a> {
    #[serde(default, borrow)]
    user_id: Option<Cow<'a, str>>,
}

/// The first element of a JSON array (the rest skipped unparsed), or a whole
/// non-array value (the Responses API's `input` may be a plain string).
struct FirstItem<'a>(Option<&'a RawValue>);

impl<'de: 'a, 'a> Deserialize<'de> for FirstItem<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw: &'a RawValue = Deserialize::deserialize(d)?;
        if !raw.get().trim_start().starts_with('[') {
            return Ok(FirstItem(Some(raw)));
        }
        struct First<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for First<'a> {
            type Value = Option<&'a RawValue>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                let first = seq.next_element::<&'a RawValue>()?;
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(first)
            }
        }
        let mut de = serde_json::Deserializer::from_str(raw.get());
        serde::Deserializer::deserialize_seq(&mut de, First(std::marker::PhantomData))
            .map(FirstItem)
            .map_err(serde::de::Error::custom)
    }
}

/// Headers agents put their session id in (Claude Code, Codex, opencode,
/// generic), in the order [`session_key`] tries them.
pub const SESSION_HEADERS: &[&str] = &[
    "x-claude-code-session-id",
    "session_id",
    "session-id",
    "x-session-id",
    "conversation_id",
    "x-opencode-session",
];

/// The key a conversation is bound to a seller by: the agent's own session
/// signal (header, then body) when it sends one, else model + opening;
/// namespaced by client (the User-Agent's product name), so two agents
/// never share a binding.
pub fn session_key(headers: &http::HeaderMap, head: &RequestHead) -> u64 {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
    };
    let client = text("user-agent")
        .and_then(|ua| ua.split(['/', ' ']).next())
        .unwrap_or("");
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    client.hash(&mut hasher);
    if let Some(id) = SESSION_HEADERS.iter().find_map(|h| text(h)) {
        ("header", id).hash(&mut hasher);
    } else if let Some(id) = &head.session {
        ("body", id).hash(&mut hasher);
    } else {
        ("opening", &head.model, head.opening).hash(&mut hasher);
    }
    hasher.finish()
}

/// Why a request body could not be routed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeadError {
    /// Not a JSON object.
    #[error("request body is not valid JSON: {0}")]
    Json(String),
    /// No `model` field.
    #[error("request body has no \"model\" field")]
    NoModel,
}

/// Reads model and stream flag (skipping everything else unparsed).
pub fn read_head(body: &[u8]) -> Result<RequestHead, HeadError> {
    read_head_at(body, None)
}

/// Reads the head; `path`, when the protocol names the model and the stream
/// flag in the path, gives those (the body's are not read).
pub fn read_head_at(body: &[u8], path: Option<&PathHead>) -> Result<RequestHead, HeadError> {
    if !is_object(body) {
        return Err(HeadError::Json("not a JSON object".into()));
    }
    let head: Head<'_> =
        serde_json::from_slice(body).map_err(|e| HeadError::Json(e.to_string()))?;
    let (model, stream) = match path {
        Some(p) => (Cow::Owned(p.model.clone()), Some(p.stream)),
        None => (head.model.ok_or(HeadError::NoModel)?, head.stream),
    };
    let session = head
        .metadata
        .and_then(|m| m.user_id)
        .or(head.prompt_cache_key)
        .filter(|s| !s.is_empty())
        .map(Cow::into_owned);
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for part in [
        head.system
            .or(head.instructions)
            .or(head.system_instruction),
        head.messages.and_then(|m| m.0),
        head.input.and_then(|i| i.0),
        head.contents.and_then(|c| c.0),
    ] {
        part.map(RawValue::get).hash(&mut hasher);
    }
    Ok(RequestHead {
        opening: hasher.finish(),
        model: model.into_owned(),
        stream: stream.unwrap_or(false),
        session,
        previous_response_id: head.previous_response_id.map(Cow::into_owned),
    })
}

/// The body to send upstream: unchanged unless `upstream_model` differs from
/// `model`; then only the top-level `model` value is replaced and every other
/// byte (values, keys as spelled, whitespace) stays as the client sent it.
pub fn upstream_body(body: &Bytes, model: &str, upstream_model: &str) -> Bytes {
    #[derive(Deserialize)]
    struct ModelValue<'a> {
        #[serde(borrow)]
        model: &'a RawValue,
    }
    if model == upstream_model || !is_object(body) {
        return body.clone();
    }
    let Ok(found) = serde_json::from_slice::<ModelValue<'_>>(body) else {
        return body.clone();
    };
    let new_model = serde_json::Value::String(upstream_model.to_string()).to_string();
    // The raw value borrows from `body`: where it lies is where to splice.
    let raw = found.model.get().as_bytes();
    let start = (raw.as_ptr() as usize).wrapping_sub(body.as_ptr() as usize);
    let end = start.saturating_add(raw.len());
    if body.get(start..end) != Some(raw) {
        return body.clone();
    }
    let mut out = Vec::with_capacity(body.len() - raw.len() + new_model.len());
    out.extend_from_slice(&body[..start]);
    out.extend_from_slice(new_model.as_bytes());
    out.extend_from_slice(&body[end..]);
    Bytes::from(out)
}

/// Whether `body` starts as a JSON object (serde would also read a struct
/// from an array, by position).
fn is_object(body: &[u8]) -> bool {
    body.trim_ascii_start().first() == Some(&b'{')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head() {
        let h =
            read_head(br#"{"messages":[{"role":"user","content":"x"}],"model":"m","stream":true}"#)
                .unwrap();
        assert_eq!((h.model.as_str(), h.stream, h.session), ("m", true, None));
        assert!(!read_head(br#"{"model":"m"}"#).unwrap().stream);
        assert_eq!(read_head(br#"{"stream":true}"#), Err(HeadError::NoModel));
        assert!(matches!(read_head(b"{nope"), Err(HeadError::Json(_))));
        // Serde reads a struct from an array by position: not a body.
        assert!(matches!(
            read_head(br#"["m", true]"#),
            Err(HeadError::Json(_))
        ));
    }

    #[test]
    fn gemini_heads_come_from_the_path() {
        let body = br#"{"contents":[{"role":"user","parts":[{"text":"a"}]}],"systemInstruction":{"parts":[{"text":"s"}]}}"#;
        assert_eq!(read_head(body), Err(HeadError::NoModel));
        let path = PathHead {
            model: "gemini-2.5-pro".into(),
            stream: true,
        };
        let h = read_head_at(body, Some(&path)).unwrap();
        assert_eq!((h.model.as_str(), h.stream), ("gemini-2.5-pro", true));
        let longer = br#"{"contents":[{"role":"user","parts":[{"text":"a"}]},{"role":"model","parts":[{"text":"b"}]}],"systemInstruction":{"parts":[{"text":"s"}]}}"#;
        let other = br#"{"contents":[{"role":"user","parts":[{"text":"z"}]}],"systemInstruction":{"parts":[{"text":"s"}]}}"#;
        let opening = |b: &[u8]| read_head_at(b, Some(&path)).unwrap().opening;
        assert_eq!(opening(body), opening(longer));
        assert_ne!(opening(body), opening(other));
    }

    #[test]
    fn session_signals_and_a_stable_opening() {
        let claude =
            read_head(br#"{"model":"m","metadata":{"user_id":"user_x_session_42"},"messages":[]}"#)
                .unwrap();
        assert_eq!(claude.session.as_deref(), Some("user_x_session_42"));
        let codex =
            read_head(br#"{"model":"m","prompt_cache_key":"conv-7","input":"hi"}"#).unwrap();
        assert_eq!(codex.session.as_deref(), Some("conv-7"));
        // The opening stays the same as the conversation grows, and differs between conversations.
        let turn1 = read_head(
            br#"{"model":"m","system":"be brief","messages":[{"role":"user","content":"a"}]}"#,
        )
        .unwrap();
        let turn2 = read_head(
            br#"{"model":"m","system":"be brief","messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"},{"role":"user","content":"c"}]}"#,
        )
        .unwrap();
        let other = read_head(
            br#"{"model":"m","system":"be brief","messages":[{"role":"user","content":"z"}]}"#,
        )
        .unwrap();
        assert_eq!(turn1.opening, turn2.opening);
        assert_ne!(turn1.opening, other.opening);
    }

    #[test]
    fn model_mapping_keeps_other_bytes() {
        let body = Bytes::from_static(
            br#"{"model":"sonnet","messages":[{"content":"caf\u00e9  1.50e2"}],"max_tokens":10}"#,
        );
        assert_eq!(upstream_body(&body, "sonnet", "sonnet"), body);
        let out = upstream_body(&body, "sonnet", "anthropic/claude");
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"{"model":"anthropic/claude","messages":[{"content":"caf\u00e9  1.50e2"}],"max_tokens":10}"#
        );
        // Whitespace and key spellings stay too.
        let pretty = Bytes::from_static(b"{\n  \"\\u006dodel\" : \"sonnet\",\n  \"x\": 1\n}\n");
        assert_eq!(
            upstream_body(&pretty, "sonnet", "claude"),
            Bytes::from_static(b"{\n  \"\\u006dodel\" : \"claude\",\n  \"x\": 1\n}\n")
        );
    }
}
