//! The light client load `tokenbuddy serve --demo` runs, so a new user sees
//! the panel move within seconds: a few requests a second through the real
//! proxy on its own port, across the three protocols and the demo models,
//! each labelled `x-tokenbuddy-agent: demo` (the request log's agent
//! `demo`). `--demo-load off` (or `TOKENBUDDY_DEMO_LOAD=0`) turns it off.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::protocol::Protocol;
use crate::proxy::client_agent::MARKER;

/// Time between two requests (about 2.5 a second).
pub const EVERY: Duration = Duration::from_millis(400);

/// Most demo requests in flight; a tick with all of them busy is skipped.
const MAX_IN_FLIGHT: usize = 8;

/// The protocols the demo load speaks (the demo sellers do not speak
/// Gemini's, whose model and stream flag are in the path).
const DEMO_PROTOCOLS: [Protocol; 3] = [
    Protocol::OpenAiChat,
    Protocol::OpenAiResponses,
    Protocol::AnthropicMessages,
];

/// The `n`th demo request: its protocol, model and whether it streams.
/// Cycles through the protocols, mostly streaming, with the small model
/// every fifth request.
pub fn nth(n: u64) -> (Protocol, &'static str, bool) {
    let protocol = DEMO_PROTOCOLS[(n % DEMO_PROTOCOLS.len() as u64) as usize];
    let model = match (n % 5 == 4, protocol) {
        (true, _) => "demo-small",
        (false, Protocol::AnthropicMessages) => "claude-demo",
        (false, _) => "gpt-demo",
    };
    (protocol, model, n % 4 != 3)
}

/// The request body for one demo request.
pub fn body(protocol: Protocol, model: &str, stream: bool) -> Value {
    let prompt = "Explain this function in two sentences.";
    match protocol {
        Protocol::OpenAiChat => json!({
            "model": model, "stream": stream,
            "stream_options": if stream { json!({"include_usage": true}) } else { Value::Null },
            "messages": [{"role": "user", "content": prompt}],
        }),
        Protocol::OpenAiResponses => json!({"model": model, "stream": stream, "input": prompt}),
        Protocol::Gemini => json!({"contents": [{"role": "user", "parts": [{"text": prompt}]}]}),
        Protocol::AnthropicMessages => json!({
            "model": model, "stream": stream, "max_tokens": 256,
            "messages": [{"role": "user", "content": prompt}],
        }),
    }
}

/// Sends the demo load to `base_url` (the proxy) with `token` until
/// `shutdown` fires.
pub fn spawn(base_url: String, token: String, shutdown: CancellationToken) {
    tokio::spawn(async move {
        let client = reqwest::Client::new();
        let slots = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
        let mut ticks = tokio::time::interval(EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut n = 0u64;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = ticks.tick() => {}
            }
            let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
                continue;
            };
            let (protocol, model, stream) = nth(n);
            n += 1;
            let req = client
                .post(format!("{base_url}{}", protocol.path()))
                .bearer_auth(&token)
                .header(MARKER, "demo")
                .header("anthropic-version", "2023-06-01")
                .json(&body(protocol, model, stream));
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                let _slot = slot;
                let sent = async {
                    let resp = req.send().await?;
                    // Read to the end, as a client does: the stream is what gets measured.
                    resp.bytes().await.map(drop)
                };
                tokio::select! {
                    () = shutdown.cancelled() => {}
                    done = sent => if let Err(e) = done {
                        tracing::debug!(error = %e, "demo request failed");
                    },
                }
            });
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_load_covers_every_protocol_and_demo_model() {
        let seen: Vec<_> = (0..15).map(nth).collect();
        for p in DEMO_PROTOCOLS {
            assert!(seen.iter().any(|(q, _, _)| *q == p), "{p}");
        }
        for m in ["gpt-demo", "claude-demo", "demo-small"] {
            assert!(seen.iter().any(|(_, n, _)| *n == m), "{m}");
        }
        assert!(seen.iter().any(|(_, _, s)| *s) && seen.iter().any(|(_, _, s)| !*s));
        assert!(
            seen.iter()
                .all(|(p, m, _)| *m != "claude-demo" || *p == Protocol::AnthropicMessages),
            "claude-demo speaks Anthropic's protocol only"
        );
    }

    #[test]
    fn every_demo_model_is_priced() {
        let priced: Vec<&str> = crate::sim::demo::DEMO_MODELS
            .iter()
            .map(|(m, _)| *m)
            .collect();
        for n in 0..15 {
            assert!(priced.contains(&nth(n).1));
        }
    }
}
