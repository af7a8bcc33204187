//! An OpenAI Responses client served by an OpenAI Chat Completions seller:
//! the request ([`request`]), the whole answer ([`response`]) and the stream
//! ([`Stream`]).
//!
//! The rules where the two protocols differ, each decided here once:
//!
//! - **Freeform (`custom`) tools** become functions taking `{"input":
//!   string}` (a grammar goes into the description: it cannot constrain a
//!   chat model), and their calls come back as `custom_tool_call` items whose
//!   `input` streams out of the arguments as they arrive (`freeform`);
//!   `custom_tool_call(_output)` history items go back as tool calls and
//!   results.
//! - **Roles.** `instructions` becomes a leading `system` message;
//!   `developer` messages become `system` ones (every chat seller knows
//!   `system`; not all know `developer`).
//! - **History.** `function_call` items become the `tool_calls` of one
//!   assistant message (consecutive calls, and the assistant text right
//!   before them, merge into it); `function_call_output` items become
//!   `role: "tool"` messages. Ids are kept: `call_id` is the chat tool call id.
//! - **Reasoning items are dropped.** Chat takes no reasoning back (it is the
//!   model's scratch, and Codex's copy is encrypted for OpenAI's servers
//!   only); the model answers from the visible conversation.
//! - **Refused** (the request is [`Untranslatable`], so this seller is skipped
//!   with the reason): `previous_response_id` and `conversation` (they need a
//!   conversation the seller stored; chat sellers store none), `background`,
//!   `prompt` templates, `item_reference` items, files (`input_file`,
//!   `input_image` by `file_id`), images anywhere but a user message, every
//!   server tool (`web_search`, `file_search`, `code_interpreter`,
//!   `image_generation`, `computer_use_preview`, `mcp`, `local_shell`, …) and
//!   their call items, and any field this module does not know. Codex 0.169
//!   sends `web_search` by default; `-c web_search=disabled` turns it off.
//! - **Namespaces** (`namespace` tools, Codex's `multi_agent_v1`): each
//!   function is sent as `<namespace>__<name>`, and its calls come back as
//!   `function_call`s with `namespace` and `name` apart (`namespaces`).
//! - **Accepted without a chat equivalent**: `store` (nothing is stored: a
//!   translated response cannot be continued with `previous_response_id`),
//!   `include` (there is no encrypted reasoning to ask for), `reasoning.summary`
//!   (a display preference), `truncation` (chat never truncates: an
//!   over-long conversation fails instead), `metadata` (echoed back in the
//!   response, not sent: chat keeps it only for stored completions),
//!   `client_metadata` and `stream_options` (about the client's connection,
//!   not the answer). `tool_choice` and `parallel_tool_calls` are sent only
//!   with tools (chat sellers refuse them alone).
//! - **Renamed**: `max_output_tokens` → `max_tokens` (the one field every chat
//!   seller reads; OpenAI's own reasoning models want `max_completion_tokens`
//!   and refuse it with a 400, which fails over), `text.format` →
//!   `response_format`, `text.verbosity` → `verbosity`, `reasoning.effort` →
//!   `reasoning_effort`, `safety_identifier` → `safety_identifier` (and `user`
//!   stays `user`); `stream` also asks for the usage chunk.
//! - **Answer.** Chat's `reasoning_content` (DeepSeek) or `reasoning`
//!   (OpenRouter) is the model's raw reasoning, so it becomes a `reasoning`
//!   item with `reasoning_text` content (not a summary) and no
//!   `encrypted_content`; `finish_reason: "length"` makes the response
//!   `incomplete` (`max_output_tokens`), `content_filter` makes it
//!   `incomplete` (`content_filter`). Usage maps one to one (both count cached
//!   tokens inside the input).

mod body;
mod envelope;
mod freeform;
mod namespaces;
mod request;
mod stream;

pub use body::response;
pub use request::request;
pub use stream::Stream;
