//! Which agent sent a request, from its headers alone: one ordered table of
//! what each agent's requests carry (captured from the real CLIs and SDKs,
//! `tests/fixtures/user_agents/`), checked with a few byte comparisons and no
//! allocation. The request log's "agent" column comes from here.
//!
//! Order matters: an agent built on an SDK sends that SDK's headers too
//! (OpenClaw and Hermes send the plain OpenAI SDK's `User-Agent`), so the
//! agents come first and the bare SDKs last. An explicit
//! [`MARKER`] header naming a known agent wins over everything.

use http::header::USER_AGENT;
use http::HeaderMap;

/// The header a client may send to name itself (`x-tokenbuddy-agent: demo`).
/// Honoured first, when its value is one of [`NAMES`]; configured agents
/// that cannot be told apart otherwise (OpenClaw) get it through their config.
pub const MARKER: &str = "x-tokenbuddy-agent";

/// The name given when nothing matches.
pub const UNKNOWN: &str = "unknown";

/// Every name [`identify`] can return.
pub const NAMES: &[&str] = &[
    "claude-code",
    "codex",
    "openclaw",
    "hermes",
    "opencode",
    "qwen-code",
    "gemini-cli",
    "crush",
    "openai-sdk",
    "anthropic-sdk",
    "demo",
    UNKNOWN,
];

/// What one rule looks at.
enum Test {
    /// The `User-Agent` starts with this (ASCII case ignored).
    Agent(&'static str),
    /// This header is present.
    Has(&'static str),
    /// This header's value starts with this (ASCII case ignored).
    Starts(&'static str, &'static str),
    /// Both hold.
    Both(&'static Test, &'static Test),
}

/// The table, most specific first. The captured User-Agents are in the
/// README ("Request log") and the fixture files.
const RULES: &[(Test, &str)] = &[
    // `claude-cli/2.1.330 (external, sdk-cli)`; the session header is sent
    // even when a wrapper changes the User-Agent.
    (Test::Agent("claude-cli/"), "claude-code"),
    (Test::Has("x-claude-code-session-id"), "claude-code"),
    // `codex_exec/0.169.0 (...)` with `originator: codex_exec`; the
    // interactive CLI is `codex_cli_rs`.
    (Test::Starts("originator", "codex"), "codex"),
    (Test::Agent("codex"), "codex"),
    // `opencode/1.18.33 ai-sdk/provider-utils/4.0.23 runtime/bun/1.3.14`.
    (Test::Agent("opencode/"), "opencode"),
    // `QwenCode/0.24.4 (linux; x64)` (over the OpenAI JS SDK's headers).
    (Test::Agent("QwenCode/"), "qwen-code"),
    // `GeminiCLI-tui/0.61.0/<model> (linux; x64; terminal)` (`GeminiCLI/`
    // without a terminal), over the google-genai SDK's `x-goog-api-client`.
    (Test::Agent("GeminiCLI"), "gemini-cli"),
    // Crush (not captured here; its docs and other proxies name
    // `Charm-Crush/<version>`).
    (Test::Agent("Charm-Crush/"), "crush"),
    // Hermes sends the OpenAI Python SDK's headers unchanged; its own read
    // timeout (1800 s, `HERMES_API_TIMEOUT`) is what differs from the SDK's
    // default of 600 s. A heuristic: a changed timeout reads as the SDK.
    (
        Test::Both(
            &Test::Agent("OpenAI/Python"),
            &Test::Starts("x-stainless-read-timeout", "1800"),
        ),
        "hermes",
    ),
    // `OpenAI/Python 3.57.0`, `OpenAI/JS 7.59.0`.
    (Test::Agent("OpenAI/"), "openai-sdk"),
    // `Anthropic/Python 2.15.0`, `Anthropic/JS 1.15.0`.
    (Test::Agent("Anthropic/"), "anthropic-sdk"),
];

/// The agent that sent a request with `headers`: one of [`NAMES`].
pub fn identify(headers: &HeaderMap) -> &'static str {
    if let Some(named) = headers.get(MARKER).and_then(|v| known(v.as_bytes())) {
        return named;
    }
    RULES
        .iter()
        .find(|(test, _)| holds(test, headers))
        .map_or(UNKNOWN, |(_, agent)| agent)
}

/// The name in [`NAMES`] equal to `value` (ASCII case ignored).
fn known(value: &[u8]) -> Option<&'static str> {
    NAMES
        .iter()
        .copied()
        .find(|n| n.as_bytes().eq_ignore_ascii_case(value))
}

fn holds(test: &Test, headers: &HeaderMap) -> bool {
    match test {
        Test::Agent(prefix) => starts(headers, USER_AGENT.as_str(), prefix),
        Test::Has(name) => headers.contains_key(*name),
        Test::Starts(name, prefix) => starts(headers, name, prefix),
        Test::Both(a, b) => holds(a, headers) && holds(b, headers),
    }
}

fn starts(headers: &HeaderMap, name: &str, prefix: &str) -> bool {
    headers.get(name).is_some_and(|v| {
        let (v, p) = (v.as_bytes(), prefix.as_bytes());
        v.len() >= p.len() && v[..p.len()].eq_ignore_ascii_case(p)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderName, HeaderValue};

    /// Each captured file and the agent its requests must be named.
    const FIXTURES: &[(&str, &str, &str)] = &[
        (
            "claude-code-2.1.330",
            include_str!("../../tests/fixtures/user_agents/claude-code-2.1.330.headers"),
            "claude-code",
        ),
        (
            "codex-0.169.0",
            include_str!("../../tests/fixtures/user_agents/codex-0.169.0.headers"),
            "codex",
        ),
        (
            "openclaw-2026.9.6",
            include_str!("../../tests/fixtures/user_agents/openclaw-2026.9.6.headers"),
            "openclaw",
        ),
        (
            "hermes-0.19.0",
            include_str!("../../tests/fixtures/user_agents/hermes-0.19.0.headers"),
            "hermes",
        ),
        (
            "opencode-1.18.33",
            include_str!("../../tests/fixtures/user_agents/opencode-1.18.33.headers"),
            "opencode",
        ),
        (
            "qwen-code-0.24.4",
            include_str!("../../tests/fixtures/user_agents/qwen-code-0.24.4.headers"),
            "qwen-code",
        ),
        (
            "gemini-cli-0.61.0",
            include_str!("../../tests/fixtures/user_agents/gemini-cli-0.61.0.headers"),
            "gemini-cli",
        ),
        (
            "openai-sdk-3.57.0",
            include_str!("../../tests/fixtures/user_agents/openai-sdk-3.57.0.headers"),
            "openai-sdk",
        ),
        (
            "openai-sdk-js-7.59.0",
            include_str!("../../tests/fixtures/user_agents/openai-sdk-js-7.59.0.headers"),
            "openai-sdk",
        ),
        (
            "anthropic-sdk-2.15.0",
            include_str!("../../tests/fixtures/user_agents/anthropic-sdk-2.15.0.headers"),
            "anthropic-sdk",
        ),
        (
            "anthropic-sdk-js-1.15.0",
            include_str!("../../tests/fixtures/user_agents/anthropic-sdk-js-1.15.0.headers"),
            "anthropic-sdk",
        ),
    ];

    /// The requests of a fixture file: `> METHOD PATH` opens one, then
    /// `name: value` lines; `#` lines are comments.
    fn requests(text: &str) -> Vec<HeaderMap> {
        let mut out: Vec<HeaderMap> = Vec::new();
        for line in text.lines() {
            if line.starts_with('>') {
                out.push(HeaderMap::new());
            } else if let (Some((k, v)), Some(map)) = (line.split_once(": "), out.last_mut()) {
                map.append(
                    HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    HeaderValue::from_str(v).unwrap(),
                );
            }
        }
        out
    }

    fn with(pairs: &[(&str, &[u8])]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_bytes(v).unwrap(),
            );
        }
        map
    }

    #[test]
    fn every_captured_request_is_named_for_its_tool() {
        for (file, text, agent) in FIXTURES {
            let reqs = requests(text);
            assert!(!reqs.is_empty(), "{file}: no requests in the fixture");
            for (i, headers) in reqs.iter().enumerate() {
                assert_eq!(identify(headers), *agent, "{file}, request {}", i + 1);
            }
        }
    }

    #[test]
    fn openclaw_without_its_marker_reads_as_the_sdk_it_is_built_on() {
        // Why the marker exists: the bare capture is the OpenAI JS SDK's.
        let text = FIXTURES[2].1;
        let mut headers = requests(text).remove(0);
        headers.remove(MARKER);
        assert_eq!(identify(&headers), "openai-sdk");
    }

    #[test]
    fn the_marker_wins_for_known_names_only() {
        let claude = &[("user-agent", &b"claude-cli/2.1.330 (external, sdk-cli)"[..])];
        let mut h = with(claude);
        h.insert(MARKER, HeaderValue::from_static("demo"));
        assert_eq!(identify(&h), "demo");
        h.insert(MARKER, HeaderValue::from_static("Hermes"));
        assert_eq!(identify(&h), "hermes");
        // An unknown name is ignored: the table decides.
        h.insert(MARKER, HeaderValue::from_static("my-script"));
        assert_eq!(identify(&h), "claude-code");
        h.insert(MARKER, HeaderValue::from_static(""));
        assert_eq!(identify(&h), "claude-code");
        assert_eq!(identify(&with(&[(MARKER, b"openclaw")])), "openclaw");
    }

    #[test]
    fn every_name_is_reachable_through_the_marker() {
        for name in NAMES {
            assert_eq!(identify(&with(&[(MARKER, name.as_bytes())])), *name);
        }
    }

    #[test]
    fn garbage_empty_and_non_utf8_headers_are_unknown() {
        assert_eq!(identify(&HeaderMap::new()), UNKNOWN);
        for ua in [
            &b""[..],
            b"curl/8.5.0",
            b"Mozilla/5.0",
            b"claude",
            b"OpenAI",
            b"\xff\xfe\xfd",
            b"claude-cli\xff/2",
            b"x claude-cli/2.1",
        ] {
            assert_eq!(identify(&with(&[("user-agent", ua)])), UNKNOWN, "{ua:?}");
        }
        assert_eq!(identify(&with(&[(MARKER, b"\xffdemo")])), UNKNOWN);
        assert_eq!(identify(&with(&[("originator", b"\xc3\x28")])), UNKNOWN);
    }

    #[test]
    fn crush_by_its_documented_user_agent() {
        assert_eq!(
            identify(&with(&[("user-agent", b"Charm-Crush/0.7.1")])),
            "crush"
        );
        assert_eq!(
            identify(&with(&[("user-agent", b"charm-crush/0.4.2")])),
            "crush"
        );
    }

    #[test]
    fn hermes_needs_its_timeout_and_the_sdk_its_default() {
        let sdk = |timeout: &'static [u8]| {
            with(&[
                ("user-agent", b"OpenAI/Python 2.24.0"),
                ("x-stainless-read-timeout", timeout),
            ])
        };
        assert_eq!(identify(&sdk(b"1800.0")), "hermes");
        assert_eq!(identify(&sdk(b"600")), "openai-sdk");
        // The JS SDK at Hermes' timeout is still the SDK.
        let js = with(&[
            ("user-agent", b"OpenAI/JS 7.59.0"),
            ("x-stainless-read-timeout", b"1800"),
        ]);
        assert_eq!(identify(&js), "openai-sdk");
    }
}
