//! The request body read deadline: a client has a fixed time, counted from
//! its request head, to send the whole body. hyper times only the head; a
//! body that trickles in (or never comes) would otherwise hold its
//! connection and its handler forever.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use tokio::time::{Instant, Sleep};

/// Why a request body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The client's connection failed or sent a malformed body.
    #[error("reading the request body: {0}")]
    Client(#[source] hyper::Error),
    /// The body did not arrive in time.
    #[error("the request body did not arrive within {0:?}")]
    TooSlow(Duration),
}

/// Set once a request's body missed its deadline, so the response can say so
/// (the handler only sees a failed read).
#[derive(Debug, Clone, Default)]
pub struct Missed(Arc<AtomicBool>);

impl Missed {
    /// Whether the body missed its deadline.
    pub fn get(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// A request body that fails with [`BodyError::TooSlow`] once its deadline passes.
pub struct DeadlineBody {
    inner: Incoming,
    limit: Duration,
    deadline: Instant,
    /// Created on the first wait, so a body read at once costs no timer.
    timer: Option<Pin<Box<Sleep>>>,
    missed: Missed,
}

impl DeadlineBody {
    /// `inner`, due in full within `limit` from now.
    pub fn new(inner: Incoming, limit: Duration) -> (DeadlineBody, Missed) {
        let missed = Missed::default();
        let body = DeadlineBody {
            inner,
            limit,
            deadline: Instant::now() + limit,
            timer: None,
            missed: missed.clone(),
        };
        (body, missed)
    }
}

impl Body for DeadlineBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(BodyError::Client)));
        }
        let deadline = this.deadline;
        let timer = this
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if timer.as_mut().poll(cx).is_ready() {
            this.missed.0.store(true, Ordering::Release);
            return Poll::Ready(Some(Err(BodyError::TooSlow(this.limit))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
