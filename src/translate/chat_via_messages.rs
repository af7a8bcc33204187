//! An OpenAI Chat Completions client served by an Anthropic Messages seller.
//!
//! Placeholder: the translation itself lands with its golden tests.

use serde_json::Value;

use super::{BadAnswer, Context, StreamTranslator, Untranslatable};

/// The seller's request for a client `request`, sending `upstream_model`.
pub fn request(_request: &Value, _upstream_model: &str) -> Result<Value, Untranslatable> {
    Err(Untranslatable::new("this request", "not translated yet"))
}

/// The client's body for the seller's whole answer.
pub fn response(_ctx: &Context, _body: &[u8]) -> Result<Vec<u8>, BadAnswer> {
    Err(BadAnswer("not translated yet".into()))
}

/// The seller's stream, translated event by event.
pub struct Stream {
    _ctx: Context,
}

impl Stream {
    /// A translator at the start of a stream answering `ctx`.
    pub fn new(ctx: Context) -> Self {
        Stream { _ctx: ctx }
    }
}

impl StreamTranslator for Stream {
    fn event(&mut self, _event: Option<&str>, _data: &str, _out: &mut Vec<u8>) {}
    fn end(&mut self, _out: &mut Vec<u8>) {}
}
