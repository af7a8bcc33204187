//! Token usage as a seller reported it, in one shape for every protocol.
//!
//! Protocols count differently: OpenAI's `prompt_tokens` include the cached
//! ones, Anthropic's `input_tokens` exclude cache reads and writes. Here
//! `input` is always the uncached input, so `input + cache_read +
//! cache_write` is the whole prompt and each part has one price.

use serde::{Deserialize, Serialize};

/// Tokens of one response; `None` where the seller did not say.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    /// Input tokens not served from a prompt cache.
    pub input: Option<u64>,
    /// Output tokens (including reasoning tokens).
    pub output: Option<u64>,
    /// Input tokens read from the seller's prompt cache.
    pub cache_read: Option<u64>,
    /// Input tokens written to the seller's prompt cache (Anthropic).
    pub cache_write: Option<u64>,
}

impl Usage {
    /// Whether the seller reported anything at all.
    pub fn is_empty(&self) -> bool {
        *self == Usage::default()
    }

    /// `other`'s fields where it has them, ours elsewhere (a stream reports
    /// input at its start and output at its end).
    pub fn merge(&mut self, other: Usage) {
        self.input = other.input.or(self.input);
        self.output = other.output.or(self.output);
        self.cache_read = other.cache_read.or(self.cache_read);
        self.cache_write = other.cache_write.or(self.cache_write);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_reports_win_field_by_field() {
        let mut u = Usage {
            input: Some(10),
            cache_read: Some(5),
            ..Usage::default()
        };
        u.merge(Usage {
            output: Some(7),
            input: Some(12),
            ..Usage::default()
        });
        assert_eq!(
            u,
            Usage {
                input: Some(12),
                output: Some(7),
                cache_read: Some(5),
                cache_write: None
            }
        );
        assert!(Usage::default().is_empty() && !u.is_empty());
    }
}
