//! Simulated sellers: an in-process LLM API that speaks the four protocols'
//! HTTP and SSE as the real APIs do, with configurable TTFT, pace, length and
//! failures. Tests and benchmarks use it as the outside world; `--demo` runs
//! three of them (and a light client load, `demo_load.rs`). A raw TCP seller (`raw.rs`) makes the failures below HTTP.

pub mod anthropic_messages;
pub mod behavior;
pub mod demo;
pub mod demo_load;
pub mod gemini;
pub mod openai_chat;
pub mod openai_responses;
pub mod play;
pub mod raw;
pub mod reply;
pub mod server;

pub use behavior::{Behavior, Failure, ModelsAnswer};
pub use raw::{RawEnd, RawReply, RawSeller};
pub use server::{closed_port, Hold, RecordedRequest, RequestLog, SimSeller};
