//! The wire protocols TokenBuddy speaks, and how to read their streams
//! just enough to meter them (never to re-serialise them).

pub mod anthropic_messages;
pub mod body;
pub mod event;
pub mod gemini;
pub mod openai_chat;
pub mod openai_responses;
pub mod sse;
pub mod usage;

use std::fmt;
use std::str::FromStr;

pub use event::EventInfo;
pub use usage::Usage;

/// An API protocol, as inbound on our proxy and as declared by a seller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// OpenAI `POST /v1/chat/completions`.
    OpenAiChat,
    /// OpenAI `POST /v1/responses`.
    OpenAiResponses,
    /// Anthropic `POST /v1/messages` (and `count_tokens`).
    AnthropicMessages,
    /// Google Gemini `POST /v1beta/models/{model}:generateContent`,
    /// `:streamGenerateContent` and `:countTokens` (the model and the
    /// stream flag are in the path, not the body).
    Gemini,
}

impl Protocol {
    /// Every protocol, in a stable order.
    pub const ALL: [Protocol; 4] = [
        Protocol::OpenAiChat,
        Protocol::OpenAiResponses,
        Protocol::AnthropicMessages,
        Protocol::Gemini,
    ];

    /// The name used in the sellers file and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::OpenAiChat => "openai-chat",
            Protocol::OpenAiResponses => "openai-responses",
            Protocol::AnthropicMessages => "anthropic-messages",
            Protocol::Gemini => "gemini",
        }
    }

    /// The path (below the base URL) of this protocol's generation endpoint.
    /// Gemini's names the model and the action after it
    /// ([`Protocol::gemini_path`]); this is the collection they are under.
    pub fn path(self) -> &'static str {
        match self {
            Protocol::OpenAiChat => "/v1/chat/completions",
            Protocol::OpenAiResponses => "/v1/responses",
            Protocol::AnthropicMessages => "/v1/messages",
            Protocol::Gemini => "/v1beta/models",
        }
    }

    /// Gemini's path and query for `action` (`generateContent`,
    /// `streamGenerateContent`, `countTokens`) of `model`: streams ask for
    /// SSE with `?alt=sse` (without it Gemini streams one JSON array).
    pub fn gemini_path(model: &str, action: &str) -> String {
        let alt = if action == "streamGenerateContent" {
            "?alt=sse"
        } else {
            ""
        };
        format!("/v1beta/models/{model}:{action}{alt}")
    }

    /// Whether errors to clients of this protocol take Anthropic's shape.
    pub fn is_anthropic(self) -> bool {
        matches!(self, Protocol::AnthropicMessages)
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A protocol name that is not one of [`Protocol::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown protocol `{0}` (expected one of: openai-chat, openai-responses, anthropic-messages, gemini)"
)]
pub struct UnknownProtocol(pub String);

impl FromStr for Protocol {
    type Err = UnknownProtocol;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Protocol::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownProtocol(s.to_string()))
    }
}

impl serde::Serialize for Protocol {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

// By hand, like its serde impls: the names come from `as_str`.
impl utoipa::PartialSchema for Protocol {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(Protocol::ALL.map(Protocol::as_str)))
            .description(Some("An API protocol"))
            .into()
    }
}

impl utoipa::ToSchema for Protocol {}

impl<'de> serde::Deserialize<'de> for Protocol {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in Protocol::ALL {
            assert_eq!(p.as_str().parse::<Protocol>(), Ok(p));
        }
        assert!("openai".parse::<Protocol>().is_err());
        assert_eq!("gemini".parse::<Protocol>(), Ok(Protocol::Gemini));
    }

    #[test]
    fn gemini_paths_name_model_and_action() {
        assert_eq!(
            Protocol::gemini_path("gemini-2.5-pro", "generateContent"),
            "/v1beta/models/gemini-2.5-pro:generateContent"
        );
        assert_eq!(
            Protocol::gemini_path("g", "streamGenerateContent"),
            "/v1beta/models/g:streamGenerateContent?alt=sse"
        );
    }
}
