//! An OpenAI Chat Completions client (the `openai` SDK, opencode, Qwen
//! Code, …) served by an Anthropic Messages seller.
//!
//! - [`request`]: chat request → Messages request ([`request.rs`](request));
//! - [`response`]: a whole `message` → a `chat.completion` ([`body.rs`](body));
//! - [`Stream`]: Messages stream events → chat chunks ([`stream.rs`](stream)).
//!
//! Rules where the two protocols differ (each is tested beside its code):
//!
//! - `system` and `developer` messages, wherever they stand, join (blank
//!   lines between) into Anthropic's one `system` prompt.
//! - Anthropic wants user and assistant turns to alternate: consecutive
//!   messages of one role (`tool` messages count as user) merge into one
//!   turn; a message with nothing in it (empty text, no tool calls) is left
//!   out, since Anthropic refuses empty content.
//! - `reasoning_content` on earlier assistant messages is dropped: Anthropic
//!   takes thinking back only with the signature it made, which a chat
//!   client never had.
//! - Tool call arguments that are not JSON are [`Untranslatable`](super::Untranslatable)
//!   (Anthropic takes the input as an object).
//! - `max_tokens` is required by Anthropic: `max_completion_tokens`, else
//!   `max_tokens`, else 4,096 (the seller's model limit is unknown here).
//! - `reasoning_effort` becomes a `thinking` budget: `low` 1,024 tokens,
//!   `medium` 4,096, `high` 16,384 (`minimal`/`none`: no thinking). The
//!   budget must be below `max_tokens`: it shrinks to fit, and thinking is
//!   left off when less than Anthropic's 1,024-token minimum would remain.
//!   Anthropic takes no thinking with a forced tool (`tool_choice`
//!   `required` or named): thinking is then left off. With thinking on,
//!   `temperature` and `top_p` are left out (Anthropic refuses them then).
//! - `temperature` above 1 is sent as 1 (Anthropic's range is 0–1).
//! - `frequency_penalty`, `presence_penalty`, `seed`, `store`, `metadata`,
//!   `service_tier` and `prediction` are dropped: sampling and bookkeeping
//!   hints Anthropic has no field for. `n > 1`, `logprobs`, a non-empty
//!   `logit_bias`, `response_format` other than `text`, audio output,
//!   `web_search_options` and non-function tools are untranslatable.
//! - The seller's thinking comes back as `reasoning_content` (the DeepSeek
//!   convention the chat clients that show reasoning read); its signature
//!   and redacted thinking are not shown.
//! - `finish_reason`: `end_turn`, `stop_sequence` and `pause_turn` → `stop`,
//!   `max_tokens` → `length`, `tool_use` → `tool_calls`, `refusal` →
//!   `content_filter`.
//! - Usage: `prompt_tokens` = input + cache reads + cache writes,
//!   `prompt_tokens_details.cached_tokens` = cache reads,
//!   `prompt_tokens_details.cache_write_tokens` = cache writes (when told:
//!   OpenRouter's field, which the `openai` SDK knows), so the meter reading
//!   the client's stream reads the seller's usage.
//! - A stream's usage comes in OpenAI's own last chunk with `choices: []`
//!   when the client asked for `stream_options.include_usage`; otherwise
//!   it rides on the finish chunk as `usage` (a field every chunk may
//!   carry, which clients that did not ask ignore), so the meter reads the
//!   seller's usage either way.

mod body;
mod request;
mod stream;

pub use body::response;
pub use request::request;
pub use stream::Stream;
