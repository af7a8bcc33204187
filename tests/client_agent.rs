//! The captured requests of the real agents and SDKs
//! (`tests/fixtures/user_agents/*.headers`) go through a real TokenBuddy
//! with exactly those headers: each is forwarded, the seller receives the
//! identifying headers unchanged, and both what the client sent and what the
//! seller received are named for the tool that sent them.

mod support;

use std::path::Path;

use http::{HeaderMap, HeaderName, HeaderValue};
use support::{request_body, seller_of, Harness, HANG};
use tokenbuddy::protocol::Protocol;
use tokenbuddy::proxy::client_agent::identify;
use tokenbuddy::sim::{Behavior, SimSeller};

/// Headers TokenBuddy does not pass on (hop-by-hop, credentials, encoding).
const NOT_FORWARDED: &[&str] = &["accept-encoding", "connection", "host", "content-length"];

/// One captured request.
struct Captured {
    file: String,
    path: String,
    headers: HeaderMap,
}

/// Every request of every fixture file, with the agent its file names.
fn fixtures() -> Vec<(String, Vec<Captured>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/user_agents");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("the fixtures directory")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "headers"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).expect("a fixture file");
            let file = p.file_name().unwrap().to_string_lossy().into_owned();
            // `# <tool> <version>: ...`; the JS SDKs are the same agent.
            let tool = text
                .strip_prefix("# ")
                .and_then(|t| t.split_whitespace().next())
                .unwrap_or_else(|| panic!("{file}: no `# <tool> <version>` line"));
            let agent = tool.trim_end_matches("-js").to_string();
            let mut reqs: Vec<Captured> = Vec::new();
            for line in text.lines() {
                if let Some(rest) = line.strip_prefix("> ") {
                    let (_, path) = rest.split_once(' ').expect("`> METHOD PATH`");
                    reqs.push(Captured {
                        file: file.clone(),
                        path: path.to_string(),
                        headers: HeaderMap::new(),
                    });
                } else if let (Some((k, v)), Some(req)) = (line.split_once(": "), reqs.last_mut()) {
                    req.headers.append(
                        HeaderName::from_bytes(k.as_bytes()).expect("a header name"),
                        HeaderValue::from_str(v).expect("a header value"),
                    );
                }
            }
            assert!(!reqs.is_empty(), "{file}: no requests");
            (agent, reqs)
        })
        .collect()
}

fn protocol_of(path: &str) -> Protocol {
    let bare = path.split('?').next().unwrap_or(path);
    if bare.starts_with("/v1beta/models/") {
        return Protocol::Gemini;
    }
    Protocol::ALL
        .into_iter()
        .find(|p| p.path() == bare)
        .unwrap_or_else(|| panic!("no protocol serves {path}"))
}

#[tokio::test]
async fn every_captured_request_is_forwarded_and_named_for_its_tool() {
    let sim = SimSeller::start(Behavior::default())
        .await
        .expect("sim starts");
    let h = Harness::start_one("s1", &sim.base_url()).await;
    let all = fixtures();
    let tools: Vec<&str> = all.iter().map(|(a, _)| a.as_str()).collect();
    for wanted in [
        "claude-code",
        "codex",
        "openclaw",
        "hermes",
        "opencode",
        "qwen-code",
    ] {
        assert!(
            tools.contains(&wanted),
            "no fixture for {wanted}: {tools:?}"
        );
    }
    let mut sent = 0;
    for (agent, reqs) in &all {
        for req in reqs {
            let what = format!("{} {}", req.file, req.path);
            assert_eq!(identify(&req.headers), agent, "{what}: as sent");
            let protocol = protocol_of(&req.path);
            let resp = tokio::time::timeout(
                HANG,
                h.client
                    .post(h.url(&req.path))
                    .headers(req.headers.clone())
                    .bearer_auth(h.running.token())
                    .json(&request_body(protocol, "sim-small", false))
                    .send(),
            )
            .await
            .expect("no hang")
            .expect("the request reaches TokenBuddy");
            assert_eq!(resp.status(), 200, "{what}");
            assert_eq!(seller_of(&resp), "s1", "{what}");
            resp.bytes().await.expect("the whole answer");
            sent += 1;

            let got = sim.requests();
            assert_eq!(got.len(), sent, "{what}: one request upstream per request");
            let upstream = got.last().expect("the seller got it");
            let mut received = HeaderMap::new();
            for (k, v) in &upstream.headers {
                received.append(
                    HeaderName::from_bytes(k.as_bytes()).expect("a header name"),
                    HeaderValue::from_str(v).expect("a header value"),
                );
            }
            for (name, value) in &req.headers {
                if NOT_FORWARDED.contains(&name.as_str()) {
                    continue;
                }
                let values: Vec<_> = received.get_all(name).iter().collect();
                assert_eq!(values, vec![value], "{what}: {name} upstream");
            }
            assert_eq!(identify(&received), agent, "{what}: as the seller got it");
            // And the request log's row names it so.
            let rows = h.rows().await;
            assert_eq!(rows.len(), sent, "{what}: one row per request");
            assert_eq!(
                rows[0]["agent"],
                agent.as_str(),
                "{what}: the row: {}",
                rows[0]
            );
        }
    }
}
