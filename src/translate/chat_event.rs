//! What one event of an OpenAI Chat seller's stream is, read the one way
//! every `<client>_via_chat` translator reads it.

use serde_json::Value;

/// One event of a chat completions stream.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatEvent {
    /// `data: [DONE]`: the seller's end of the answer.
    Done,
    /// `{"error": …}`: the seller failed mid-stream, with its message.
    Error(String),
    /// A `chat.completion.chunk`.
    Chunk(Value),
    /// Not JSON: a keep-alive or comment some sellers send; nothing to say.
    Noise,
}

/// Reads the `data` of one event.
pub fn read(data: &str) -> ChatEvent {
    if data.trim() == "[DONE]" {
        return ChatEvent::Done;
    }
    let Ok(chunk) = serde_json::from_str::<Value>(data) else {
        return ChatEvent::Noise;
    };
    match chunk.get("error").filter(|e| !e.is_null()) {
        Some(err) => ChatEvent::Error(
            err.get("message")
                .and_then(Value::as_str)
                .map_or_else(|| err.to_string(), str::to_string),
        ),
        None => ChatEvent::Chunk(chunk),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ends_errors_chunks_and_noise() {
        assert_eq!(read(" [DONE] "), ChatEvent::Done);
        assert_eq!(
            read(r#"{"error":{"message":"overloaded","type":"x"}}"#),
            ChatEvent::Error("overloaded".into())
        );
        assert_eq!(
            read(r#"{"error":"plain"}"#),
            ChatEvent::Error("\"plain\"".into())
        );
        assert_eq!(
            read(r#"{"choices":[],"error":null}"#),
            ChatEvent::Chunk(json!({"choices": [], "error": null}))
        );
        assert_eq!(read(": keep-alive"), ChatEvent::Noise);
    }
}
