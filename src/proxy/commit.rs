//! The commit point. Until the first semantic event (text, tool-call or
//! reasoning delta) a streamed response is read but not forwarded: the events
//! before it (role chunk, `response.created`, `message_start`, pings) are
//! held, so a seller that errors, breaks or stays silent can still be replaced
//! and the client never knows. At the first semantic event everything held is
//! forwarded at once, byte for byte, and the request is committed.
//!
//! A whole (non-streaming) body of HTTP 200 is not a stream: it is read to
//! its end before anything is forwarded, so a 200 whose body is an error
//! object or no JSON at all is replaced just the same. Both holds are
//! bounded: past [`MAX_HELD_STREAM`] a stream is committed as it is, past
//! [`MAX_HELD_BODY`] a body is forwarded unread.
//!
//! TokenBuddy's own shutdown ends the wait at once ([`Outcome::Shutdown`]).

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use tokio_util::sync::CancellationToken;

use super::meter::Meter;
use super::outcome::{Outcome, SHUTTING_DOWN};
use crate::clock::Clock;
use crate::protocol::body::{self, BodyKind};
use crate::protocol::{event, Protocol};

/// Most bytes of a stream held before its first semantic event; a longer
/// preamble (far beyond any API's: Responses echoes instructions and tools
/// twice) is committed as it is rather than held without bound.
pub const MAX_HELD_STREAM: usize = 4 << 20;

/// Most bytes of a whole body held to judge it; a longer body is forwarded
/// as it is, unread.
pub const MAX_HELD_BODY: usize = 8 << 20;

/// A response past its commit point: held bytes, the meter, and the rest.
pub struct Primed<S> {
    /// Bytes read before the commit, to forward first.
    pub prefix: Vec<Bytes>,
    /// The meter, having read the prefix.
    pub meter: Meter,
    /// The rest of the upstream body.
    pub upstream: S,
}

/// How reading up to the commit point ended.
pub enum Precommit<S> {
    /// Content arrived (or the stream ended properly without any): forward.
    Committed(Primed<S>),
    /// The seller failed before any content (or we are shutting down).
    Failed(Outcome, String),
}

/// The next item of `upstream` within `wait` (`Err` when it took longer),
/// or `None` when our own shutdown came first: a shutdown is never kept
/// waiting on a seller.
async fn next_or_shutdown<S: Stream + Unpin>(
    upstream: &mut S,
    wait: Duration,
    shutdown: &CancellationToken,
) -> Option<Result<Option<S::Item>, tokio::time::error::Elapsed>> {
    tokio::select! {
        biased;
        () = shutdown.cancelled() => None,
        next = tokio::time::timeout(wait, upstream.next()) => Some(next),
    }
}

/// Reads `upstream` until its first semantic event. `ttft_limit` bounds the
/// wait from `sent` (none for the last candidate: it is never cut off).
pub async fn read_until_commit<S, E>(
    mut upstream: S,
    protocol: Protocol,
    clock: &dyn Clock,
    sent: Instant,
    ttft_limit: Option<Duration>,
    idle: Duration,
    shutdown: &CancellationToken,
) -> Precommit<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut meter = Meter::new(protocol);
    let mut prefix = Vec::new();
    let mut held = 0;
    loop {
        let now = clock.now();
        let wait = match ttft_limit {
            Some(limit) => match (sent + limit).checked_duration_since(now) {
                Some(left) if !left.is_zero() => left.min(idle),
                _ => {
                    return Precommit::Failed(Outcome::TtftTimeout, "no first token in time".into())
                }
            },
            None => idle,
        };
        let Some(next) = next_or_shutdown(&mut upstream, wait, shutdown).await else {
            return Precommit::Failed(Outcome::Shutdown, SHUTTING_DOWN.into());
        };
        match next {
            Ok(Some(Ok(chunk))) => {
                meter.feed(&chunk, clock.now());
                held += chunk.len();
                prefix.push(chunk);
                if meter.error_before_content() {
                    return Precommit::Failed(
                        Outcome::ErrorEvent,
                        "error event before any content".into(),
                    );
                }
                if meter.has_content() || held > MAX_HELD_STREAM {
                    return Precommit::Committed(Primed {
                        prefix,
                        meter,
                        upstream,
                    });
                }
            }
            // A proper end without content (an empty answer) is still an answer.
            Ok(None) if meter.ended() => {
                return Precommit::Committed(Primed {
                    prefix,
                    meter,
                    upstream,
                })
            }
            Ok(None) => {
                return Precommit::Failed(
                    Outcome::BrokenBeforeCommit,
                    "stream ended before any content".into(),
                )
            }
            Ok(Some(Err(e))) => {
                return Precommit::Failed(
                    Outcome::BrokenBeforeCommit,
                    format!("stream broke before any content ({e})"),
                )
            }
            Err(_) if ttft_limit.is_some_and(|l| clock.now() >= sent + l) => {
                return Precommit::Failed(Outcome::TtftTimeout, "no first token in time".into())
            }
            Err(_) => {
                return Precommit::Failed(
                    Outcome::BrokenBeforeCommit,
                    "seller went silent before any content".into(),
                )
            }
        }
    }
}

/// The next chunk of a body (`None` at its end; the first one tells what
/// the body is); `Err` is how the seller failed before it.
pub async fn next_body_chunk<S, E>(
    upstream: &mut S,
    idle: Duration,
    shutdown: &CancellationToken,
) -> Result<Option<Bytes>, (Outcome, String)>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let Some(next) = next_or_shutdown(upstream, idle, shutdown).await else {
        return Err((Outcome::Shutdown, SHUTTING_DOWN.into()));
    };
    match next {
        Ok(Some(Ok(chunk))) => Ok(Some(chunk)),
        Ok(None) => Ok(None),
        Ok(Some(Err(e))) => Err((
            Outcome::BrokenBeforeCommit,
            format!("body broke before its end ({e})"),
        )),
        Err(_) => Err((
            Outcome::BrokenBeforeCommit,
            "seller went silent before the body's end".into(),
        )),
    }
}

/// Reads a whole HTTP-200 body of `protocol` and judges it: an answer is
/// committed (byte for byte, its usage read), an error object or a body
/// that is no JSON fails. `idle` bounds each wait for the next chunk.
pub async fn read_whole_body<S, E>(
    mut upstream: S,
    protocol: Protocol,
    idle: Duration,
    shutdown: &CancellationToken,
) -> Precommit<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut whole = BytesMut::new();
    loop {
        match next_body_chunk(&mut upstream, idle, shutdown).await {
            Ok(Some(chunk)) => {
                whole.extend_from_slice(&chunk);
                if whole.len() > MAX_HELD_BODY {
                    // Too long to hold: forwarded as it is, unjudged.
                    return Precommit::Committed(Primed {
                        prefix: vec![whole.freeze()],
                        meter: Meter::new(protocol),
                        upstream,
                    });
                }
            }
            Ok(None) => break,
            Err((outcome, why)) => return Precommit::Failed(outcome, why),
        }
    }
    let whole = whole.freeze();
    match body::kind(&whole) {
        BodyKind::Answer => {
            let mut meter = Meter::new(protocol);
            meter.set_usage(event::body_usage(protocol, &whole));
            Precommit::Committed(Primed {
                prefix: vec![whole],
                meter,
                upstream,
            })
        }
        BodyKind::Error => {
            Precommit::Failed(Outcome::ErrorEvent, "HTTP 200 with an error body".into())
        }
        BodyKind::NotJson => Precommit::Failed(
            Outcome::NotAnAnswer,
            "HTTP 200 but the body is not JSON (an error page?)".into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;

    type Chunks = futures_util::stream::Iter<std::vec::IntoIter<Result<Bytes, String>>>;

    fn chunks(parts: Vec<Vec<u8>>) -> Chunks {
        futures_util::stream::iter(
            parts
                .into_iter()
                .map(|p| Ok(Bytes::from(p)))
                .collect::<Vec<_>>(),
        )
    }

    const IDLE: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn a_preamble_longer_than_the_hold_is_committed_as_it_is() {
        let ping = b"event: ping\ndata: {\"type\":\"ping\"}\n\n".to_vec();
        let n = MAX_HELD_STREAM / ping.len() + 2;
        let upstream = chunks(vec![ping; n]);
        let token = CancellationToken::new();
        let clock = SystemClock;
        let got = read_until_commit(
            upstream,
            Protocol::AnthropicMessages,
            &clock,
            clock.now(),
            None,
            IDLE,
            &token,
        )
        .await;
        let Precommit::Committed(primed) = got else {
            panic!("a long preamble is committed, not held for ever");
        };
        let held: usize = primed.prefix.iter().map(Bytes::len).sum();
        assert!(held > MAX_HELD_STREAM && held <= MAX_HELD_STREAM + 64);
        assert!(!primed.meter.has_content());
    }

    #[tokio::test]
    async fn whole_bodies_are_judged_and_kept_byte_for_byte() {
        let token = CancellationToken::new();
        let answer = br#"{"id":"c", "choices":[], "usage":{"prompt_tokens":20,"completion_tokens":3,"prompt_tokens_details":{"cached_tokens":16}}}"#;
        let parts = vec![answer[..9].to_vec(), answer[9..].to_vec()];
        match read_whole_body(chunks(parts), Protocol::OpenAiChat, IDLE, &token).await {
            Precommit::Committed(p) => {
                assert_eq!(p.prefix.concat(), answer.to_vec());
                assert_eq!(p.meter.sample(Instant::now()).output_tokens, Some(3));
                assert_eq!(
                    p.meter.usage(),
                    crate::protocol::Usage {
                        input: Some(4),
                        output: Some(3),
                        cache_read: Some(16),
                        cache_write: None,
                    }
                );
            }
            Precommit::Failed(o, why) => panic!("{o:?} {why}"),
        }
        let error = br#"{"type":"error","error":{"type":"overloaded_error","message":"x"}}"#;
        let got = read_whole_body(
            chunks(vec![error.to_vec()]),
            Protocol::AnthropicMessages,
            IDLE,
            &token,
        )
        .await;
        assert!(matches!(got, Precommit::Failed(Outcome::ErrorEvent, _)));
        let page = b"<html>502</html>".to_vec();
        let got =
            read_whole_body(chunks(vec![page]), Protocol::OpenAiResponses, IDLE, &token).await;
        assert!(matches!(got, Precommit::Failed(Outcome::NotAnAnswer, _)));
        // Over the cap: forwarded unjudged, nothing lost.
        let big = vec![b' '; MAX_HELD_BODY + 1];
        match read_whole_body(
            chunks(vec![big, b"tail".to_vec()]),
            Protocol::OpenAiChat,
            IDLE,
            &token,
        )
        .await
        {
            Precommit::Committed(mut p) => {
                assert_eq!(p.prefix.concat().len(), MAX_HELD_BODY + 1);
                let rest = p.upstream.next().await.expect("the rest").expect("chunk");
                assert_eq!(rest.as_ref(), b"tail");
            }
            Precommit::Failed(o, why) => panic!("{o:?} {why}"),
        }
    }

    #[tokio::test]
    async fn shutdown_ends_the_wait_without_blame() {
        let token = CancellationToken::new();
        token.cancel();
        let silent = || futures_util::stream::pending::<Result<Bytes, String>>();
        let got = read_whole_body(silent(), Protocol::OpenAiChat, IDLE, &token).await;
        assert!(matches!(got, Precommit::Failed(Outcome::Shutdown, _)));
        let clock = SystemClock;
        let got = read_until_commit(
            silent(),
            Protocol::OpenAiChat,
            &clock,
            clock.now(),
            Some(IDLE),
            IDLE,
            &token,
        )
        .await;
        assert!(matches!(got, Precommit::Failed(Outcome::Shutdown, _)));
        let got = next_body_chunk(&mut silent(), IDLE, &token).await;
        assert!(matches!(got, Err((Outcome::Shutdown, _))));
    }

    #[tokio::test(start_paused = true)]
    async fn the_next_chunk_or_a_timeout_when_not_shutting_down() {
        let token = CancellationToken::new();
        let mut one = chunks(vec![b"x".to_vec()]);
        let got = next_or_shutdown(&mut one, IDLE, &token).await;
        assert!(matches!(got, Some(Ok(Some(Ok(ref c)))) if c.as_ref() == b"x"));
        assert!(matches!(
            next_or_shutdown(&mut one, IDLE, &token).await,
            Some(Ok(None))
        ));
        let mut silent = futures_util::stream::pending::<Result<Bytes, String>>();
        assert!(matches!(
            next_or_shutdown(&mut silent, IDLE, &token).await,
            Some(Err(_))
        ));
        token.cancel();
        // A ready chunk does not win over our own shutdown.
        let mut ready = chunks(vec![b"y".to_vec()]);
        assert!(next_or_shutdown(&mut ready, IDLE, &token).await.is_none());
    }
}
