//! The commit point. Until the first semantic event (text, tool-call or
//! reasoning delta) a streamed response is read but not forwarded: the events
//! before it (role chunk, `response.created`, `message_start`, pings) are
//! held, so a seller that errors, breaks or stays silent can still be replaced
//! and the client never knows. At the first semantic event everything held is
//! forwarded at once, byte for byte, and the request is committed.

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use super::meter::Meter;
use super::outcome::Outcome;
use crate::clock::Clock;
use crate::protocol::Protocol;

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
    /// The seller failed before any content: try the next one.
    Failed(Outcome, String),
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
) -> Precommit<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut meter = Meter::new(protocol);
    let mut prefix = Vec::new();
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
        match tokio::time::timeout(wait, upstream.next()).await {
            Ok(Some(Ok(chunk))) => {
                meter.feed(&chunk, clock.now());
                prefix.push(chunk);
                if meter.error_before_content() {
                    return Precommit::Failed(
                        Outcome::ErrorEvent,
                        "error event before any content".into(),
                    );
                }
                if meter.has_content() {
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
