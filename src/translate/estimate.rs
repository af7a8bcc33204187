//! An honest token estimate for `count_tokens` when no seller can count:
//! about four characters of text per token (the usual rule of thumb for
//! English and code with today's tokenizers), and a flat allowance per
//! image. It is labelled as an estimate wherever it is served.

use serde_json::Value;

/// How the answer is labelled (`x-tokenbuddy-token-count`).
pub const LABEL: &str = "estimate (about 4 characters per token; images 1600 each)";

/// Characters per token.
const CHARS_PER_TOKEN: u64 = 4;

/// Tokens counted for one image, whatever its size (Anthropic's documented
/// cost of an image of about 1.15 megapixels).
const IMAGE_TOKENS: u64 = 1600;

/// The estimated input tokens of a request body of any protocol: every
/// string value (text, tool definitions, arguments) by its length, every
/// image by the flat allowance (its base64 data is not text the model reads).
pub fn input_tokens(request: &Value) -> u64 {
    let (chars, images) = walk(request);
    chars.div_ceil(CHARS_PER_TOKEN) + images * IMAGE_TOKENS
}

/// Characters of text and images found in `v`.
fn walk(v: &Value) -> (u64, u64) {
    match v {
        Value::String(s) => (s.chars().count() as u64, 0),
        Value::Array(items) => items.iter().map(walk).fold((0, 0), add),
        Value::Object(o) if is_image(o) => (0, 1),
        Value::Object(o) => o
            .iter()
            .filter(|(k, _)| !IGNORED.contains(&k.as_str()))
            .map(|(_, v)| walk(v))
            .fold((0, 0), add),
        _ => (0, 0),
    }
}

/// Keys whose values are settings, not prompt text.
const IGNORED: &[&str] = &[
    "model",
    "type",
    "role",
    "id",
    "tool_use_id",
    "cache_control",
    "media_type",
    "mimeType",
];

fn add(a: (u64, u64), b: (u64, u64)) -> (u64, u64) {
    (a.0 + b.0, a.1 + b.1)
}

/// An image part in any protocol's shape.
fn is_image(o: &serde_json::Map<String, Value>) -> bool {
    matches!(
        o.get("type").and_then(Value::as_str),
        Some("image" | "image_url" | "input_image")
    ) || o.contains_key("inlineData")
        || o.contains_key("inline_data")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_counts_by_length_and_images_flat() {
        let text = "x".repeat(400);
        let req = json!({
            "model": "claude-sonnet-4-5",
            "system": text,
            "messages": [{"role": "user", "content": [
                {"type": "text", "text": "abcd"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "A".repeat(100_000)}}
            ]}]
        });
        assert_eq!(input_tokens(&req), 100 + 1 + IMAGE_TOKENS);
        assert_eq!(input_tokens(&json!({"model": "m", "messages": []})), 0);
    }
}
