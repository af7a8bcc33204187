//! Reading just enough of a client request (model, stream flag) and building
//! the upstream body: the client's bytes as they are, except the model name
//! when the seller maps it.

use bytes::Bytes;
use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::value::RawValue;

/// The few fields routing needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    /// The requested model.
    pub model: String,
    /// Whether the client asked for a stream.
    pub stream: bool,
}

#[derive(Deserialize)]
struct Head<'a> {
    #[serde(borrow)]
    model: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    stream: Option<bool>,
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
    let head: Head<'_> =
        serde_json::from_slice(body).map_err(|e| HeadError::Json(e.to_string()))?;
    let model = head.model.ok_or(HeadError::NoModel)?;
    Ok(RequestHead {
        model: model.into_owned(),
        stream: head.stream.unwrap_or(false),
    })
}

/// The body to send upstream: unchanged unless `upstream_model` differs from
/// `model`; then only the top-level `model` value is replaced and every other
/// value keeps its exact bytes.
pub fn upstream_body(body: &Bytes, model: &str, upstream_model: &str) -> Bytes {
    if model == upstream_model {
        return body.clone();
    }
    let Ok(fields) = serde_json::from_slice::<IndexMap<String, &RawValue>>(body) else {
        return body.clone();
    };
    let new_model = serde_json::Value::String(upstream_model.to_string()).to_string();
    let mut out = Vec::with_capacity(body.len() + upstream_model.len());
    out.push(b'{');
    for (i, (key, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(
            serde_json::Value::String(key.clone())
                .to_string()
                .as_bytes(),
        );
        out.push(b':');
        if key == "model" {
            out.extend_from_slice(new_model.as_bytes());
        } else {
            out.extend_from_slice(value.get().as_bytes());
        }
    }
    out.push(b'}');
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head() {
        let h =
            read_head(br#"{"messages":[{"role":"user","content":"x"}],"model":"m","stream":true}"#)
                .unwrap();
        assert_eq!(
            h,
            RequestHead {
                model: "m".into(),
                stream: true
            }
        );
        assert!(!read_head(br#"{"model":"m"}"#).unwrap().stream);
        assert_eq!(read_head(br#"{"stream":true}"#), Err(HeadError::NoModel));
        assert!(matches!(read_head(b"{nope"), Err(HeadError::Json(_))));
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
    }
}
