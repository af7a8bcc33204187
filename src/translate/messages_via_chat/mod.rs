//! An Anthropic Messages client (Claude Code, the `anthropic` SDK) served by
//! an OpenAI Chat Completions seller.
//!
//! - [`request`]: Messages request → chat request ([`request.rs`](request));
//! - [`response`]: a whole `chat.completion` → a `message` ([`body.rs`](body));
//! - [`Stream`]: chat chunks → Messages stream events ([`stream.rs`](stream)).
//!
//! Rules where the two protocols differ (each is tested beside its code):
//!
//! - A `role: "system"` turn inside `messages` (Claude Code sends them)
//!   becomes a chat system message in the same place.
//! - `cache_control` on system, message or tool blocks is dropped: it is a
//!   caching hint, not content, and chat has no way to say it (chat sellers
//!   cache prompts by themselves).
//! - `top_k` is dropped: a sampling hint chat has no field for.
//! - `thinking` / `redacted_thinking` blocks in earlier assistant turns are
//!   dropped: they are the model's scratch, not the conversation, and chat
//!   has no way to send reasoning back. An assistant turn that held nothing
//!   else is left out.
//! - `thinking: {type: "enabled", budget_tokens}` becomes `reasoning_effort`:
//!   `low` up to 4,096 budget tokens, `medium` up to 16,384, `high` above;
//!   `disabled` and `adaptive` send none (the seller's default).
//! - `max_tokens` is sent as `max_tokens` (not `max_completion_tokens`): the
//!   field every chat-compatible seller takes.
//! - `tool_result` blocks become `role: "tool"` messages, sent before the
//!   rest of that user turn; `is_error: true` puts `Error: ` before the
//!   result's text (chat has no error flag). A result holding an image, and
//!   any `document` block, is [`Untranslatable`](super::Untranslatable): a
//!   chat tool message carries text only.
//! - Server tools (`web_search_*`, `bash_*`, `text_editor_*`, `computer_*`,
//!   `code_execution_*`, …) and `mcp_servers` are untranslatable: a chat
//!   seller cannot run them.
//! - The seller's reasoning (`reasoning_content`, DeepSeek's convention, or
//!   `reasoning`, OpenRouter's) becomes a `thinking` block with an empty
//!   `signature` (chat has no signatures; a stream sends an empty
//!   `signature_delta` before the block stops, as Anthropic does). Such a
//!   block sent back is dropped by the rule above.
//! - Tool call arguments that are not JSON make the whole body a
//!   [`BadAnswer`](super::BadAnswer) (the client could not run the call); a
//!   stream passes the pieces on as they come.
//! - `stop_reason`: `stop` → `end_turn` (a stop sequence hit cannot be told
//!   apart), `length` → `max_tokens`, `tool_calls` (or any answer with a
//!   tool call, since some sellers say `stop`) → `tool_use`,
//!   `content_filter` → `refusal`.
//! - Usage: `input_tokens` = prompt − cached, `cache_read_input_tokens` =
//!   cached (only when the seller said), `output_tokens` = completion. A
//!   stream's `message_start` says 0 (chat reports usage at the end); the
//!   whole usage is in `message_delta`. A stream without a usage chunk says
//!   one output token per content delta, the meter's own estimate.

mod body;
mod request;
mod stream;

pub use body::response;
pub use request::request;
pub use stream::Stream;
