//! Writing SSE events, the one way every translator does it.

use serde::Serialize;

/// Appends one event: an `event:` line when `name` is given, one `data:`
/// line of compact JSON, and the blank line that ends it.
pub fn event(out: &mut Vec<u8>, name: Option<&str>, data: &impl Serialize) {
    if let Some(name) = name {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(name.as_bytes());
        out.push(b'\n');
    }
    out.extend_from_slice(b"data: ");
    // Serialising a `Value` (or any plain struct) into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, data);
    out.extend_from_slice(b"\n\n");
}

/// Appends a `data: <text>` event whose data is not JSON (chat's `[DONE]`).
pub fn raw(out: &mut Vec<u8>, data: &str) {
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(data.as_bytes());
    out.extend_from_slice(b"\n\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_single_line_json() {
        let mut out = Vec::new();
        event(
            &mut out,
            Some("ping"),
            &serde_json::json!({"type": "ping", "t": "a\nb"}),
        );
        raw(&mut out, "[DONE]");
        assert_eq!(
            String::from_utf8_lossy(&out),
            "event: ping\ndata: {\"type\":\"ping\",\"t\":\"a\\nb\"}\n\ndata: [DONE]\n\n"
        );
    }
}
