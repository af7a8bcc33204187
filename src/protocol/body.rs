//! What a whole non-streaming response body of HTTP 200 is: an answer, the
//! protocol's error object (some sellers send errors with a 200), or no JSON
//! at all (an HTML page, garbage). Read once, never re-serialised.

use serde::Deserialize;
use serde_json::value::RawValue;

/// What a 200 body turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// A JSON object that is no error: the answer.
    Answer,
    /// OpenAI's `{"error": {...}}` (also a Responses object whose `error` is
    /// set) or Anthropic's `{"type": "error", ...}`.
    Error,
    /// Not a JSON object.
    NotJson,
}

#[derive(Deserialize)]
struct Top<'a> {
    #[serde(default, rename = "type", borrow)]
    kind: Option<&'a RawValue>,
    #[serde(default, borrow)]
    error: Option<&'a RawValue>,
}

/// Reads a whole body (the same test for every protocol: their error
/// objects do not collide with each other's answers).
pub fn kind(body: &[u8]) -> BodyKind {
    // serde reads a struct from an array too: only an object is an answer.
    if !body.trim_ascii_start().starts_with(b"{") {
        return BodyKind::NotJson;
    }
    // Parsing into a struct also checks the rest of the document is JSON.
    let Ok(top) = serde_json::from_slice::<Top<'_>>(body) else {
        return BodyKind::NotJson;
    };
    let is_error_type = top.kind.is_some_and(|k| k.get() == "\"error\"");
    let has_error = top.error.is_some_and(|e| e.get() != "null");
    if is_error_type || has_error {
        BodyKind::Error
    } else {
        BodyKind::Answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_errors_and_pages() {
        let cases: &[(&[u8], BodyKind)] = &[
            (
                br#"{"id":"c","choices":[],"usage":{"completion_tokens":1}}"#,
                BodyKind::Answer,
            ),
            // A Responses answer says `"error": null`.
            (
                br#"{"id":"r","object":"response","status":"completed","error":null}"#,
                BodyKind::Answer,
            ),
            (br#"{"type":"message","content":[]}"#, BodyKind::Answer),
            (br#"{"input_tokens":12}"#, BodyKind::Answer),
            (
                br#"{"error":{"message":"overloaded","type":"server_error"}}"#,
                BodyKind::Error,
            ),
            (
                br#"{"id":"r","status":"failed","error":{"code":"server_error"}}"#,
                BodyKind::Error,
            ),
            (
                br#"{"type":"error","error":{"type":"overloaded_error","message":"x"}}"#,
                BodyKind::Error,
            ),
            (
                b"<!doctype html><html><body>Bad Gateway</body></html>",
                BodyKind::NotJson,
            ),
            (b"", BodyKind::NotJson),
            (b"[1,2]", BodyKind::NotJson),
            (br#"{"id":"c"} trailing"#, BodyKind::NotJson),
            (br#"{"id":"c","#, BodyKind::NotJson),
            (b"\xFF\xFE{}", BodyKind::NotJson),
        ];
        for (body, want) in cases {
            assert_eq!(kind(body), *want, "{}", String::from_utf8_lossy(body));
        }
    }
}
