//! The response body pass-through with a meter on the side.
//!
//! Bytes go to the client exactly as they arrive, chunk by chunk (first those
//! held until the commit point, then the rest); the meter only looks at them.
//! A stream that breaks, goes silent or is cut by shutdown after bytes were
//! sent ends with a protocol-correct error event, never a hang.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio_util::sync::CancellationToken;

use super::commit::Primed;
use super::failover::Failure;
use super::journey::{Answered, Journey, RecordSink};
use super::meter::Meter;
use super::outcome::{classify, Outcome, OutcomeClass, SHUTTING_DOWN};
use super::respond::stream_error_event;
use crate::clock::Clock;
use crate::pool::{InFlight, SellerStats};
use crate::protocol::Protocol;
use crate::sellers::Seller;

/// What the request log needs when the body ends.
pub struct Finish {
    /// The request so far.
    pub journey: Journey,
    /// The sellers that failed it before this one.
    pub trail: Vec<Failure>,
    /// The seller answering.
    pub seller: Arc<Seller>,
    /// The model name it was sent.
    pub model_sent: String,
    /// The translation the seller was reached through, if any.
    pub via: Option<crate::translate::Via>,
    /// The status passed to the client.
    pub status: u16,
    /// Where the finished record goes.
    pub sink: RecordSink,
}

/// Everything the tap needs besides the upstream stream.
pub struct TapContext {
    /// For the request log.
    pub finish: Finish,
    /// The protocol being streamed.
    pub protocol: Protocol,
    /// SSE (metered event by event) or a plain body (read, with its usage,
    /// before the commit point, or an error passed through unread).
    pub is_sse: bool,
    /// When the upstream request was sent.
    pub sent: Instant,
    /// The seller's statistics.
    pub stats: Arc<SellerStats>,
    /// Holds the seller's in-flight slot until the body ends.
    pub in_flight: InFlight,
    /// Time source.
    pub clock: Arc<dyn Clock>,
    /// Longest silence between chunks.
    pub idle: Duration,
    /// Fires on shutdown.
    pub shutdown: CancellationToken,
}

struct Tap<S> {
    upstream: S,
    prefix: VecDeque<Bytes>,
    ctx: TapContext,
    meter: Meter,
    finished: bool,
}

/// How a body ended.
enum End<'a> {
    /// The seller's answer reached its end.
    Complete,
    /// It broke (how, for the error table, and why, for the seller's record).
    Broken(Outcome, &'a str),
    /// The client stopped reading.
    ClientGone,
}

enum Step {
    Chunk(Bytes),
    End,
    /// The stream ends early: how (for the error table) and why (for the client).
    Broken(Outcome, &'static str),
}

impl<S> Tap<S> {
    fn observe(&mut self, chunk: &[u8]) {
        if self.ctx.is_sse {
            self.meter.feed(chunk, self.ctx.clock.now());
        }
    }

    /// Our error event ending the stream, after whatever ends the seller's
    /// unfinished line (else the client would read it as part of that line).
    fn error_event(&self, message: &str) -> Bytes {
        let end = self.meter.to_event_boundary();
        let event = stream_error_event(self.ctx.protocol, message);
        if end.is_empty() {
            return event;
        }
        [end, &event[..]].concat().into()
    }

    /// Records what the stream measured, what the error table holds
    /// against the seller when it ended early, and the request's log row.
    fn finish(&mut self, end: End<'_>) {
        if self.finished {
            return;
        }
        self.finished = true;
        let now = self.ctx.clock.now();
        let sample = self.meter.sample(self.ctx.sent);
        self.ctx.stats.record(&sample, now);
        let f = &self.ctx.finish;
        let answered = (200..300).contains(&f.status);
        let outcome = match end {
            _ if !answered => OutcomeClass::ClientError,
            End::Complete => OutcomeClass::Served,
            End::ClientGone => OutcomeClass::ClientGone,
            End::Broken(Outcome::Shutdown, _) => OutcomeClass::Shutdown,
            End::Broken(..) => OutcomeClass::StreamBroken,
        };
        if let End::Broken(outcome, cause) = end {
            classify(outcome).charge(&self.ctx.stats, cause, now, self.ctx.clock.wall());
        }
        let usage = self.meter.usage();
        let cost = if outcome == OutcomeClass::ClientError && usage.is_empty() {
            // The seller refused the request itself: nothing was generated.
            Some(0.0)
        } else {
            crate::sellers::cost(&f.seller, f.journey.model_asked(), &f.model_sent, &usage)
        };
        let answer = Answered {
            seller: &f.seller,
            model_sent: &f.model_sent,
            via: f.via,
            status: f.status,
            outcome,
            sample,
            usage,
            cost,
        };
        (f.sink)(f.journey.answered(&f.trail, answer, now));
    }
}

impl<S> Drop for Tap<S> {
    fn drop(&mut self) {
        // The client went away mid-stream: keep what was measured, blame no one.
        self.finish(End::ClientGone);
    }
}

/// A body that has not been read at all yet (non-SSE, or passed-through errors).
pub fn unread<S>(upstream: S, protocol: Protocol) -> Primed<S> {
    Primed {
        prefix: Vec::new(),
        meter: Meter::new(protocol),
        upstream,
    }
}

/// Forwards `primed`'s held bytes, then every further chunk as it comes, and
/// meters them.
pub fn metered<S, E>(
    primed: Primed<S>,
    ctx: TapContext,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send
where
    S: Stream<Item = Result<Bytes, E>> + Send + Unpin + 'static,
    E: std::fmt::Display + Send,
{
    let tap = Tap {
        upstream: primed.upstream,
        prefix: primed.prefix.into(),
        ctx,
        meter: primed.meter,
        finished: false,
    };
    futures_util::stream::unfold(tap, |mut tap| async move {
        // Held bytes were metered already at the commit point.
        if let Some(held) = tap.prefix.pop_front() {
            return Some((Ok(held), tap));
        }
        if tap.finished {
            return None;
        }
        let step = tokio::select! {
            // Shutdown first: a seller that never pauses must not keep us up.
            biased;
            () = tap.ctx.shutdown.cancelled() => Step::Broken(Outcome::Shutdown, SHUTTING_DOWN),
            next = tokio::time::timeout(tap.ctx.idle, tap.upstream.next()) => match next {
                Ok(Some(Ok(chunk))) => Step::Chunk(chunk),
                Ok(None) => Step::End,
                Ok(Some(Err(e))) => {
                    tracing::warn!(error = %e, "seller's stream broke mid-response");
                    Step::Broken(Outcome::StreamBroken, "the seller's connection broke mid-stream")
                }
                Err(_) => Step::Broken(Outcome::StreamBroken, "the seller went silent mid-stream"),
            },
        };
        match step {
            Step::Chunk(chunk) => {
                tap.observe(&chunk);
                Some((Ok(chunk), tap))
            }
            Step::End if !tap.ctx.is_sse || tap.meter.ended() => {
                tap.finish(End::Complete);
                None
            }
            Step::End => {
                let msg = "the seller closed the stream before it was complete";
                tap.finish(End::Broken(Outcome::StreamBroken, msg));
                Some((Ok(tap.error_event(msg)), tap))
            }
            Step::Broken(outcome, msg) => {
                tap.finish(End::Broken(outcome, msg));
                if tap.ctx.is_sse {
                    Some((Ok(tap.error_event(msg)), tap))
                } else {
                    // A JSON body cannot carry an error event: abort the
                    // connection so the client sees a failure, not a short body.
                    Some((Err(std::io::Error::other(msg)), tap))
                }
            }
        }
    })
}
