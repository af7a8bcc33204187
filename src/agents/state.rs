//! Where an agent's config stands relative to this TokenBuddy: a pure
//! decision over the parsed file, the journal entry and our port and token.

use serde::Serialize;

use super::doc::ConfigDoc;
use super::journal::Entry;
use super::patch;
use super::spec::{AgentSpec, Endpoint};

/// This TokenBuddy, as agents should see it.
#[derive(Debug, Clone)]
pub struct Ours {
    /// The port on 127.0.0.1.
    pub port: u16,
    /// The access token.
    pub token: String,
}

/// An agent's configuration state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AgentState)]
pub enum State {
    /// Not pointed at any TokenBuddy.
    NotConfigured,
    /// Points at this TokenBuddy (loopback, our port, our token).
    Configured,
    /// Points at a loopback TokenBuddy on another port or with another token.
    Stale,
    /// TokenBuddy configured it, and our keys were changed since.
    Drifted,
    /// A managed-settings file overrides the user's file.
    Policy,
    /// The config file does not parse (TokenBuddy will not touch it).
    Unreadable,
    /// Set up by hand; TokenBuddy shows how.
    Guide,
}

/// Whether `url` is a loopback URL, and its port.
pub fn loopback_port(url: &str) -> Option<u16> {
    let parsed = reqwest::Url::parse(url).ok()?;
    let host = parsed
        .host_str()?
        .trim_start_matches('[')
        .trim_end_matches(']');
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    loopback.then(|| parsed.port_or_known_default()).flatten()
}

/// The state of an agent whose file parsed as `doc`, with a one-line reason.
pub fn classify(
    spec: &AgentSpec,
    doc: &dyn ConfigDoc,
    entry: Option<&Entry>,
    ours: &Ours,
) -> (State, String) {
    let endpoint: Option<Endpoint> = (spec.endpoint)(doc);
    let port = endpoint.as_ref().and_then(|e| loopback_port(&e.url));
    if let (Some(e), Some(p)) = (&endpoint, port) {
        if p == ours.port && e.token.as_deref() == Some(ours.token.as_str()) {
            return (State::Configured, format!("uses TokenBuddy at {}", e.url));
        }
    }
    if let Some(entry) = entry {
        if !patch::holds(doc, entry) {
            return (
                State::Drifted,
                "TokenBuddy configured it, and its settings were changed since; configure again to re-apply".into(),
            );
        }
    }
    match (endpoint, port) {
        (Some(e), Some(p)) if p != ours.port => (
            State::Stale,
            format!(
                "points at a TokenBuddy on port {p} ({}); this one listens on {}",
                e.url, ours.port
            ),
        ),
        (Some(_), Some(_)) => (
            State::Stale,
            "points at this port with another access token".into(),
        ),
        _ => (State::NotConfigured, "not using TokenBuddy".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::doc::toml::TomlDoc;
    use crate::agents::journal::Change;

    const OURS: &str = "model_provider = \"tokenbuddy\"\n[model_providers.tokenbuddy]\nbase_url = \"http://127.0.0.1:7333/v1\"\nexperimental_bearer_token = \"tok\"\n";

    fn ours(port: u16) -> Ours {
        Ours {
            port,
            token: "tok".into(),
        }
    }

    #[test]
    fn loopback_urls_only() {
        assert_eq!(loopback_port("http://127.0.0.1:7333/v1"), Some(7333));
        assert_eq!(loopback_port("http://localhost:9/"), Some(9));
        assert_eq!(loopback_port("http://[::1]:5"), Some(5));
        assert_eq!(loopback_port("http://127.0.0.1.evil.com:7333"), None);
        assert_eq!(loopback_port("https://api.openai.com/v1"), None);
        assert_eq!(loopback_port("not a url"), None);
    }

    #[test]
    fn configured_stale_drifted_and_not() {
        let spec = crate::agents::codex::SPEC;
        let doc = TomlDoc::parse(OURS).unwrap();
        assert_eq!(
            classify(&spec, &doc, None, &ours(7333)).0,
            State::Configured
        );
        assert_eq!(classify(&spec, &doc, None, &ours(7444)).0, State::Stale);
        let other = Ours {
            port: 7333,
            token: "new".into(),
        };
        assert_eq!(classify(&spec, &doc, None, &other).0, State::Stale);
        let entry = Entry {
            file: "x".into(),
            created: false,
            created_dirs: Vec::new(),
            created_files: Vec::new(),
            changes: vec![Change {
                key: vec!["model".into()],
                before: None,
                after: "\"m\"".into(),
                container: false,
            }],
            at: String::new(),
            pending: None,
        };
        assert_eq!(
            classify(&spec, &doc, Some(&entry), &ours(7444)).0,
            State::Drifted
        );
        let plain = TomlDoc::parse("model = \"gpt-5\"\n").unwrap();
        assert_eq!(
            classify(&spec, &plain, None, &ours(7333)).0,
            State::NotConfigured
        );
    }
}
