//! What the proxy hands the store when a client request is finished: one
//! row of the request log with its attempt trail. Never a prompt or an
//! answer: only what routing, metering and billing need.

use serde::{Deserialize, Serialize};

use crate::protocol::{Protocol, Usage};
use crate::proxy::outcome::OutcomeClass;

/// One finished client request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequestRecord {
    /// When the request arrived, in milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// The client, named from its User-Agent and headers (`claude-code`,
    /// `codex`, `openai-sdk`, `unknown`, …).
    pub agent: String,
    /// The protocol the client spoke.
    pub protocol: Protocol,
    /// The path it called, e.g. `/v1/messages`.
    pub endpoint: String,
    /// The model the client asked for.
    pub model_asked: String,
    /// The model name sent to the final seller (after its mapping), if one was tried.
    pub model_sent: Option<String>,
    /// Whether the client asked for a stream.
    pub stream: bool,
    /// The seller that answered (or was tried last), if any.
    pub seller: Option<String>,
    /// The HTTP status the client got.
    pub status: u16,
    /// How the request ended.
    pub outcome: OutcomeClass,
    /// From sending to the final seller to its first semantic event.
    pub ttft_ms: Option<f64>,
    /// From arrival to the end of the response body.
    pub duration_ms: f64,
    /// From the first to the last semantic event (for tokens/s).
    pub generating_ms: Option<f64>,
    /// Tokens as the seller reported them.
    pub usage: Usage,
    /// Output tokens per second while generating.
    pub tokens_per_sec: Option<f64>,
    /// What the request cost, in the sellers file's currency; `None` when
    /// a price is unknown (never zero for unknown).
    pub cost: Option<f64>,
    /// Every seller tried, in order; the last one answered unless the
    /// request failed.
    pub attempts: Vec<Attempt>,
}

/// One seller tried for a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    /// The seller's id.
    pub seller: String,
    /// `served`, `full` (at its max_concurrency), or the outcome's name
    /// from the outcome table (`connect`, `timeout`, `status`, …).
    pub outcome: String,
    /// The seller's HTTP status, when it answered.
    pub status: Option<u16>,
    /// Why it was left, in words (`None` for the one that served).
    pub why: Option<String>,
    /// The translation it was reached through (`chat ← messages`), when it
    /// does not speak the client's protocol (rows before translation have none).
    #[serde(default)]
    pub via: Option<String>,
}
