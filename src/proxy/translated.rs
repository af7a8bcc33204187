//! A seller's answer put into the client's protocol on its way through:
//! the stream adapter (the seller's SSE events in, the client's out, each
//! as soon as it arrives), the whole-body translation, and the seller's
//! own errors re-shaped for the client. Everything downstream (the commit
//! point, the meter, the pass-through) then sees an answer in the client's
//! protocol, exactly as if the seller spoke it.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde_json::Value;

use crate::protocol::sse::SseSplitter;
use crate::translate::{Context, StreamTranslator};

/// Unique ids for translated responses, within one run.
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// The context of one translated answer: the model the client asked for, a
/// fresh id (`tb` + start time + a counter, so ids never repeat across
/// restarts either), and the time.
pub fn context(model: &str, request: Value, wall: SystemTime) -> Context {
    let since = wall.duration_since(UNIX_EPOCH).unwrap_or_default();
    let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    Context {
        model: model.to_string(),
        id: format!("tb{:x}{n:04x}", since.as_millis()),
        created: since.as_secs(),
        request,
    }
}

/// A boxed byte stream (what the adapter gives back).
pub type Translated<E> = Pin<Box<dyn Stream<Item = Result<Bytes, E>> + Send>>;

/// `upstream`'s SSE events translated by `translator`, event by event: a
/// chunk that completes no event yields nothing yet (the next chunk is read
/// at once), an error of the seller's connection passes through as it is,
/// and the seller's clean end lets the translator close the client's stream.
pub fn stream<S, E>(upstream: S, translator: Box<dyn StreamTranslator>) -> Translated<E>
where
    S: Stream<Item = Result<Bytes, E>> + Send + Unpin + 'static,
    E: Send + 'static,
{
    struct State<S> {
        upstream: S,
        splitter: SseSplitter,
        translator: Box<dyn StreamTranslator>,
        ended: bool,
    }
    let state = State {
        upstream,
        splitter: SseSplitter::new(),
        translator,
        ended: false,
    };
    Box::pin(futures_util::stream::unfold(state, |mut st| async move {
        loop {
            if st.ended {
                return None;
            }
            let mut out = Vec::new();
            match st.upstream.next().await {
                Some(Ok(chunk)) => {
                    let State {
                        splitter,
                        translator,
                        ..
                    } = &mut st;
                    splitter.push(&chunk, |e| translator.event(e.event, e.data, &mut out));
                }
                Some(Err(e)) => return Some((Err(e), st)),
                None => {
                    st.ended = true;
                    st.translator.end(&mut out);
                }
            }
            if !out.is_empty() {
                return Some((Ok(Bytes::from(out)), st));
            }
        }
    }))
}

/// The message in a seller's error body, whatever its protocol's shape
/// (`{"error": {"message"}}`, `{"type": "error", "error": {"message"}}`,
/// `{"error": "text"}`, `{"message"}`), or the body itself when it is short
/// text; `None` for nothing readable.
pub fn error_message(body: &[u8]) -> Option<String> {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        let found = [
            &v["error"]["message"],
            &v["error"],
            &v["message"],
            &v["detail"],
        ]
        .into_iter()
        .find_map(|m| m.as_str().filter(|m| !m.is_empty()));
        return found.map(str::to_string);
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    (!text.is_empty() && text.len() <= 500 && !text.starts_with('<')).then(|| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Echoes every event's data upper-cased, and closes with `END`.
    struct Upper;
    impl StreamTranslator for Upper {
        fn event(&mut self, _: Option<&str>, data: &str, out: &mut Vec<u8>) {
            crate::translate::frame::raw(out, &data.to_uppercase());
        }
        fn end(&mut self, out: &mut Vec<u8>) {
            crate::translate::frame::raw(out, "END");
        }
    }

    #[tokio::test]
    async fn events_are_translated_as_they_complete_across_chunks() {
        let chunks: Vec<Result<Bytes, String>> = vec![
            Ok(Bytes::from_static(b"data: a")),
            Ok(Bytes::from_static(b"b\n\ndata: c\n")),
            Ok(Bytes::from_static(b"\n")),
        ];
        let out: Vec<_> = stream(futures_util::stream::iter(chunks), Box::new(Upper))
            .collect()
            .await;
        let out: Vec<String> = out
            .into_iter()
            .map(|c| String::from_utf8_lossy(&c.expect("ok")).into_owned())
            .collect();
        // The first chunk completes nothing and yields nothing.
        assert_eq!(out, ["data: AB\n\n", "data: C\n\n", "data: END\n\n"]);
    }

    #[tokio::test]
    async fn a_broken_connection_passes_through_without_a_clean_end() {
        let chunks: Vec<Result<Bytes, String>> =
            vec![Ok(Bytes::from_static(b"data: a\n\n")), Err("reset".into())];
        let out: Vec<_> = stream(futures_util::stream::iter(chunks), Box::new(Upper))
            .take(2)
            .collect()
            .await;
        assert!(matches!(&out[1], Err(e) if e == "reset"));
    }

    #[test]
    fn error_messages_are_read_from_every_shape() {
        let cases: [(&[u8], Option<&str>); 6] = [
            (br#"{"error":{"message":"bad key","type":"x"}}"#, Some("bad key")),
            (br#"{"type":"error","error":{"type":"invalid_request_error","message":"too long"}}"#, Some("too long")),
            (br#"{"error":"plain"}"#, Some("plain")),
            (br#"{"message":"m"}"#, Some("m")),
            (b"rate limited, slow down", Some("rate limited, slow down")),
            (b"<html>oops</html>", None),
        ];
        for (body, want) in cases {
            assert_eq!(error_message(body).as_deref(), want);
        }
    }
}
