//! Playing one simulated answer into its response body: the events of a
//! stream (paced, held on request) or a whole JSON body, and the in-body
//! failures a hostile seller injects — a cut, a stall, a huge line, a line
//! that never ends, invalid UTF-8, a slow drip. Every frame sent is recorded
//! first, so tests compare what the client got with what the seller sent.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, watch};

use super::behavior::{Behavior, Failure};
use super::reply::Script;

/// Where body frames go: the response body's channel.
pub type Tx = mpsc::Sender<Result<Bytes, std::io::Error>>;

/// Size of the pieces a huge line is sent in.
const PIECE: usize = 64 << 10;

/// The bytes a simulated seller has sent in one response.
pub type Recorded = Arc<Mutex<Vec<u8>>>;

fn record(response: &Recorded, bytes: &[u8]) {
    response
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .extend_from_slice(bytes);
}

/// Sends one frame, recording it first; `false` once the client is gone.
async fn send(tx: &Tx, response: &Recorded, frame: impl Into<Bytes>) -> bool {
    let frame = frame.into();
    record(response, &frame);
    tx.send(Ok(frame)).await.is_ok()
}

/// Cuts the connection: the body ends with an error, not a clean end.
async fn cut(tx: &Tx) {
    let _ = tx
        .send(Err(std::io::Error::other("simulated connection drop")))
        .await;
}

/// Invalid UTF-8 put into every delta's text (a lone lead byte, then `(`).
const BAD_UTF8: &[u8] = b"\xC3(\xFF";

/// `frame` with [`BAD_UTF8`] inside its first text value (the delta's own
/// key in each protocol), or unchanged when it has none.
fn spoil_text(frame: &str) -> Vec<u8> {
    let bytes = frame.as_bytes();
    for key in [&b"\"content\":\""[..], b"\"text\":\"", b"\"delta\":\""] {
        if let Some(at) = bytes.windows(key.len()).position(|w| w == key) {
            let cut = at + key.len();
            let mut out = bytes[..cut].to_vec();
            out.extend_from_slice(BAD_UTF8);
            out.extend_from_slice(&bytes[cut..]);
            return out;
        }
    }
    bytes.to_vec()
}

/// One SSE stream: `first_error` alone, or the script with its failure.
pub async fn stream(
    script: Script,
    first_error: Option<String>,
    behavior: Behavior,
    mut held: watch::Receiver<bool>,
    response: Recorded,
    tx: Tx,
) {
    if let Some(frame) = first_error {
        send(&tx, &response, frame).await;
        return;
    }
    if let Some(Failure::Drip { every, last_bytes }) = behavior.failure {
        return drip(script, every, last_bytes, &response, &tx).await;
    }
    let spoil = matches!(behavior.failure, Some(Failure::InvalidUtf8));
    for frame in script.preamble {
        if spoil && !send(&tx, &response, &b": keep-alive \xFF\xFE\n\n"[..]).await {
            return;
        }
        if !send(&tx, &response, frame).await {
            return;
        }
    }
    if !behavior.ttft.is_zero() {
        tokio::time::sleep(behavior.ttft).await;
    }
    // Where the deltas stop: a cut, a stall, or a huge line.
    let stop_at = match behavior.failure {
        Some(Failure::DropAfter { tokens }) => Some(tokens),
        Some(Failure::Stall { after_tokens }) => Some(after_tokens),
        Some(Failure::HugeLine { after_tokens, .. }) => Some(after_tokens),
        _ => None,
    };
    let gap = behavior.token_gap().unwrap_or(Duration::ZERO);
    let first_at = tokio::time::Instant::now();
    for (i, frame) in script.deltas.into_iter().enumerate() {
        if stop_at == Some(i) {
            match behavior.failure {
                Some(Failure::HugeLine { bytes, newline, .. }) => {
                    if !huge_line(bytes, newline, &response, &tx).await || !newline {
                        return;
                    }
                }
                Some(Failure::Stall { .. }) => return stall(&tx).await,
                _ => return cut(&tx).await,
            }
        }
        if i > 0 && !gap.is_zero() {
            // Deadlines from the first token, so pacing does not drift.
            tokio::time::sleep_until(first_at + gap * i as u32).await;
        }
        let frame = if spoil {
            spoil_text(&frame)
        } else {
            frame.into_bytes()
        };
        if !send(&tx, &response, frame).await {
            return;
        }
        if i == 0 && held.wait_for(|h| !*h).await.is_err() {
            return;
        }
    }
    match behavior.failure {
        // Fewer deltas than the failure wanted: it happens at the end.
        Some(Failure::DropAfter { .. }) => return cut(&tx).await,
        Some(Failure::Stall { .. }) => return stall(&tx).await,
        _ => {}
    }
    for frame in script.closing {
        if !send(&tx, &response, frame).await {
            return;
        }
    }
}

/// No more bytes, ever; ends only when the client goes away.
async fn stall(tx: &Tx) {
    tx.closed().await;
}

/// One `data:` line of `bytes` bytes, sent in pieces; `false` once the client
/// is gone.
async fn huge_line(bytes: usize, newline: bool, response: &Recorded, tx: &Tx) -> bool {
    let mut left = bytes;
    let mut first = true;
    while left > 0 {
        let n = left.min(PIECE);
        let mut piece = Vec::with_capacity(n);
        if first {
            piece.extend_from_slice(b"data: ");
            first = false;
        }
        piece.resize(n, b'x');
        left -= n;
        // Recorded as a length only would hide what was sent: keep it all.
        if !send(tx, response, piece).await {
            return false;
        }
    }
    !newline || send(tx, response, &b"\n\n"[..]).await
}

/// The whole stream at once, except its last `last_bytes` bytes (all of
/// them when `None`), which follow one byte per `every`.
async fn drip(
    script: Script,
    every: Duration,
    last_bytes: Option<usize>,
    response: &Recorded,
    tx: &Tx,
) {
    let all: Vec<u8> = script
        .preamble
        .into_iter()
        .chain(script.deltas)
        .chain(script.closing)
        .flat_map(String::into_bytes)
        .collect();
    let split = all.len() - last_bytes.unwrap_or(all.len()).min(all.len());
    let (head, tail) = all.split_at(split);
    if !head.is_empty() && !send(tx, response, head.to_vec()).await {
        return;
    }
    for byte in tail {
        tokio::time::sleep(every).await;
        if !send(tx, response, vec![*byte]).await {
            return;
        }
    }
}

/// One whole JSON body (cut halfway with [`Failure::DropAfter`]).
pub async fn body(body: String, behavior: Behavior, response: Recorded, tx: Tx) {
    if !behavior.ttft.is_zero() {
        tokio::time::sleep(behavior.ttft).await;
    }
    if matches!(behavior.failure, Some(Failure::DropAfter { .. })) {
        let half = body.len() / 2;
        let head = body.get(..half).unwrap_or_default().to_string();
        send(&tx, &response, head).await;
        cut(&tx).await;
        return;
    }
    if matches!(behavior.failure, Some(Failure::Stall { .. })) {
        let half = body.len() / 2;
        send(
            &tx,
            &response,
            body.get(..half).unwrap_or_default().to_string(),
        )
        .await;
        return stall(&tx).await;
    }
    send(&tx, &response, body).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spoiled_deltas_hold_invalid_utf8_in_their_text() {
        let frame = "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n";
        let spoiled = spoil_text(frame);
        assert!(std::str::from_utf8(&spoiled).is_err());
        assert!(spoiled
            .windows(BAD_UTF8.len() + 2)
            .any(|w| w == b"\xC3(\xFFHi"));
    }
}
