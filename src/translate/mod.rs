//! Protocol translation: a client that speaks one protocol served by a
//! seller that speaks another. One table ([`ROUTES`]) says which pairs
//! exist; each pair is one module, named `<client>_via_<seller>`, holding
//! three plain pieces:
//!
//! - `request`: the client's request body → the seller's (or
//!   [`Untranslatable`] when it uses a feature the seller's protocol lacks,
//!   so that seller is skipped with the reason, never silently degraded);
//! - `response`: the seller's whole (non-streaming) HTTP 200 body → the
//!   client's;
//! - `Stream`: a [`StreamTranslator`] that turns the seller's SSE events
//!   into the client's, event by event as they arrive (never buffering the
//!   whole stream).
//!
//! The proxy runs the translated bytes through the same commit point and
//! meter as a native answer, in the client's protocol: the first semantic
//! event the client sees still commits the request and marks TTFT, and the
//! usage the client sees (mapped faithfully) is what is metered.
//!
//! Pure: no sockets, no clock reads (the caller passes ids and times in).

pub mod chat_event;
pub mod chat_via_messages;
pub mod estimate;
pub mod frame;
pub mod gemini_via_chat;
pub mod messages_via_chat;
pub mod responses_via_chat;

use serde_json::Value;

use crate::protocol::Protocol;

/// A chat tool call's `arguments` text as the JSON value the other
/// protocols carry parsed (Anthropic's `input`, Gemini's `args`); no text
/// at all is no arguments, `{}`.
pub fn call_arguments(text: &str) -> Result<Value, serde_json::Error> {
    if text.trim().is_empty() {
        return Ok(Value::Object(serde_json::Map::new()));
    }
    serde_json::from_str(text)
}

/// A client protocol served through a seller protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Via {
    /// What the client speaks (and gets back).
    pub client: Protocol,
    /// What the seller speaks (and is sent).
    pub seller: Protocol,
}

impl Via {
    /// `chat ← messages`: the seller's protocol, then the client's, in the
    /// short names `route explain` and the request log show.
    pub fn label(self) -> String {
        format!("{} ← {}", short(self.seller), short(self.client))
    }
}

impl std::fmt::Display for Via {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label())
    }
}

/// A protocol's short name (`chat`, `responses`, `messages`, `gemini`).
pub fn short(p: Protocol) -> &'static str {
    match p {
        Protocol::OpenAiChat => "chat",
        Protocol::OpenAiResponses => "responses",
        Protocol::AnthropicMessages => "messages",
        Protocol::Gemini => "gemini",
    }
}

/// Every translation TokenBuddy does, in order of preference per client
/// protocol (the first seller protocol listed for a client is tried first
/// when scores tie). Adding a pair is one module and one line here.
pub const ROUTES: &[Via] = &[
    Via {
        client: Protocol::AnthropicMessages,
        seller: Protocol::OpenAiChat,
    },
    Via {
        client: Protocol::OpenAiChat,
        seller: Protocol::AnthropicMessages,
    },
    Via {
        client: Protocol::OpenAiResponses,
        seller: Protocol::OpenAiChat,
    },
    Via {
        client: Protocol::Gemini,
        seller: Protocol::OpenAiChat,
    },
];

/// The translation from `client` to `seller`, if TokenBuddy has one.
pub fn via(client: Protocol, seller: Protocol) -> Option<Via> {
    ROUTES
        .iter()
        .copied()
        .find(|v| v.client == client && v.seller == seller)
}

/// A request that cannot be sent to a seller of this protocol: what in it,
/// and why (the target protocol has no way to say it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} cannot be translated: {why}")]
pub struct Untranslatable {
    /// The feature, as the client named it (`a "document" content block`).
    pub what: String,
    /// Why, and what to do instead.
    pub why: String,
}

impl Untranslatable {
    /// `what` cannot be translated because `why`.
    pub fn new(what: impl Into<String>, why: impl Into<String>) -> Self {
        Untranslatable {
            what: what.into(),
            why: why.into(),
        }
    }
}

/// A seller's answer that is not what its protocol promises (so it cannot
/// be translated; the proxy treats it as no answer and fails over).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the seller's answer cannot be translated: {0}")]
pub struct BadAnswer(pub String);

/// What a translator knows of the request it answers.
#[derive(Debug, Clone)]
pub struct Context {
    /// The model name the client asked for (echoed back to it).
    pub model: String,
    /// A unique id for the response, without a prefix; each protocol puts
    /// its own in front (`msg_`, `chatcmpl-`, `resp_`).
    pub id: String,
    /// Unix seconds, for `created` fields.
    pub created: u64,
    /// The client's request body as it sent it.
    pub request: Value,
}

/// Turns a seller's SSE stream into the client's, one event at a time.
pub trait StreamTranslator: Send {
    /// One complete seller event (`event:` name, joined `data:`); the
    /// client's events it makes are appended to `out` as SSE bytes.
    fn event(&mut self, event: Option<&str>, data: &str, out: &mut Vec<u8>);

    /// The seller's stream ended (the connection closed cleanly). Appends
    /// the client's closing events when the seller had finished its answer
    /// (some sellers end without their protocol's last event); appends
    /// nothing when it had not, so the proxy reports the stream as broken
    /// in the client's protocol.
    fn end(&mut self, out: &mut Vec<u8>);
}

/// The seller's request body for a client `request` going `via`.
pub fn request(via: Via, request: &Value, upstream_model: &str) -> Result<Value, Untranslatable> {
    match (via.client, via.seller) {
        (Protocol::AnthropicMessages, Protocol::OpenAiChat) => {
            messages_via_chat::request(request, upstream_model)
        }
        (Protocol::OpenAiChat, Protocol::AnthropicMessages) => {
            chat_via_messages::request(request, upstream_model)
        }
        (Protocol::OpenAiResponses, Protocol::OpenAiChat) => {
            responses_via_chat::request(request, upstream_model)
        }
        (Protocol::Gemini, Protocol::OpenAiChat) => {
            gemini_via_chat::request(request, upstream_model)
        }
        _ => Err(Untranslatable::new(
            format!("a {} request", via.client),
            format!("TokenBuddy does not translate it to {}", via.seller),
        )),
    }
}

/// The client's body for a seller's whole HTTP 200 `body`.
pub fn response(via: Via, ctx: &Context, body: &[u8]) -> Result<Vec<u8>, BadAnswer> {
    match (via.client, via.seller) {
        (Protocol::AnthropicMessages, Protocol::OpenAiChat) => {
            messages_via_chat::response(ctx, body)
        }
        (Protocol::OpenAiChat, Protocol::AnthropicMessages) => {
            chat_via_messages::response(ctx, body)
        }
        (Protocol::OpenAiResponses, Protocol::OpenAiChat) => {
            responses_via_chat::response(ctx, body)
        }
        (Protocol::Gemini, Protocol::OpenAiChat) => gemini_via_chat::response(ctx, body),
        _ => Err(BadAnswer(format!("no translation {via}"))),
    }
}

/// A translator for a seller's stream answering `ctx`'s request `via`.
pub fn stream(via: Via, ctx: Context) -> Option<Box<dyn StreamTranslator>> {
    Some(match (via.client, via.seller) {
        (Protocol::AnthropicMessages, Protocol::OpenAiChat) => {
            Box::new(messages_via_chat::Stream::new(ctx))
        }
        (Protocol::OpenAiChat, Protocol::AnthropicMessages) => {
            Box::new(chat_via_messages::Stream::new(ctx))
        }
        (Protocol::OpenAiResponses, Protocol::OpenAiChat) => {
            Box::new(responses_via_chat::Stream::new(ctx))
        }
        (Protocol::Gemini, Protocol::OpenAiChat) => Box::new(gemini_via_chat::Stream::new(ctx)),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_has_a_translator_and_a_label() {
        for v in ROUTES {
            assert_eq!(via(v.client, v.seller), Some(*v));
            assert!(v.label().contains('←'));
            let ctx = Context {
                model: "m".into(),
                id: "x".into(),
                created: 0,
                request: serde_json::json!({}),
            };
            assert!(stream(*v, ctx).is_some(), "{v}");
        }
        assert_eq!(
            via(Protocol::AnthropicMessages, Protocol::OpenAiChat)
                .map(Via::label)
                .as_deref(),
            Some("chat ← messages")
        );
        assert!(via(Protocol::OpenAiChat, Protocol::OpenAiChat).is_none());
    }
}
