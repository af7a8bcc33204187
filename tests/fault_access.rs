//! Access to the real `tokenbuddy serve`: the token and the sellers' keys
//! never reach its log, at any level; a page on another loopback port can
//! neither call `/v1` nor `/api` (simple requests, preflights, and a real
//! page in headless Chromium when it is installed); every file TokenBuddy
//! creates that holds a secret is private (0600).

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::{json, Value};
use support::process::{self, Served};
use support::{failing, read_all, request_body};
use tokenbuddy::protocol::Protocol;
use tokenbuddy::sim::{Behavior, SimSeller};

/// A wrong token a client might send (itself a secret of someone's).
const WRONG_TOKEN: &str = "0123456789abcdef0123456789abcdef-not-ours";
/// A key given through `api_key_env`.
const ENV_KEY: &str = "sk-from-the-environment-7f3a";

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// A sellers file: `good` answers; `broken` fails with 500, `refused` with
/// 401; `model-x` is served only by the two failing ones.
fn sellers(good: &SimSeller, broken: &SimSeller, refused: &SimSeller) -> String {
    format!(
        "sellers:\n\
         \x20 - id: good\n    base_url: {}/v1\n    api_key: sk-good-secret-111\n    protocols: [openai-chat, openai-responses, anthropic-messages, gemini]\n    models: [m]\n\
         \x20 - id: broken\n    base_url: {}/v1\n    api_key_env: FAULT_ACCESS_KEY\n    protocols: [openai-chat, openai-responses, anthropic-messages, gemini]\n    models: [m, model-x]\n\
         \x20 - id: refused\n    base_url: {}/v1\n    api_key: sk-refused-secret-333\n    protocols: [openai-chat, openai-responses, anthropic-messages, gemini]\n    models: [m, model-x]\n",
        good.base_url(),
        broken.base_url(),
        refused.base_url(),
    )
}

const SELLER_KEYS: [&str; 3] = ["sk-good-secret-111", ENV_KEY, "sk-refused-secret-333"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_and_the_keys_never_reach_the_log_at_any_level() {
    let good = SimSeller::start(Behavior::default()).await.expect("sim");
    let broken = SimSeller::start(failing(500, None)).await.expect("sim");
    let refused = SimSeller::start(failing(401, None)).await.expect("sim");
    let data = tempfile::tempdir().expect("tempdir");
    let home = tempfile::tempdir().expect("home");
    std::fs::write(
        data.path().join("sellers.yaml"),
        sellers(&good, &broken, &refused),
    )
    .expect("sellers.yaml");
    let home_dir = home.path().to_string_lossy().into_owned();
    let served = Served::start(
        data.path(),
        &[],
        &[
            ("TOKENBUDDY_LOG", "trace"),
            ("FAULT_ACCESS_KEY", ENV_KEY),
            ("HOME", &home_dir),
            ("XDG_CONFIG_HOME", &format!("{home_dir}/.config")),
        ],
    );
    let token = served.token.clone();
    let c = reqwest::Client::new();

    // Every protocol, streamed and not, with the token both ways.
    for protocol in Protocol::ALL {
        for stream in [false, true] {
            let body = request_body(protocol, "m", stream);
            let by_bearer = c
                .post(served.url(&support::call_path(protocol, "m", stream)))
                .bearer_auth(&token)
                .json(&body);
            let by_key = c
                .post(served.url(&support::call_path(protocol, "m", stream)))
                .header("x-api-key", &token)
                .header("anthropic-version", "2023-06-01")
                .json(&body);
            for req in [by_bearer, by_key] {
                let resp = req.send().await.expect("request");
                assert_eq!(resp.status(), 200, "{protocol} stream={stream}");
                read_all(resp).await;
            }
        }
    }
    // Only the failing sellers serve model-x: every one fails, the client is told.
    let resp = c
        .post(served.url("/v1/chat/completions"))
        .bearer_auth(&token)
        .json(&request_body(Protocol::OpenAiChat, "model-x", true))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 502);
    read_all(resp).await;
    // A wrong token, both ways.
    for (name, value) in [
        ("authorization", format!("Bearer {WRONG_TOKEN}")),
        ("x-api-key", WRONG_TOKEN.to_string()),
    ] {
        let resp = c
            .post(served.url("/v1/messages"))
            .header(name, value)
            .json(&request_body(Protocol::AnthropicMessages, "m", false))
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 401);
    }
    // A configured agent (its file holds the token), and the other API calls.
    let resp = c
        .post(served.url("/api/agents/claude-code/configure"))
        .bearer_auth(&token)
        .json(&json!({"model": "m"}))
        .send()
        .await
        .expect("configure");
    assert_eq!(
        resp.status(),
        200,
        "{}",
        resp.text().await.unwrap_or_default()
    );
    let settings = home.path().join(".claude/settings.json");
    assert!(std::fs::read_to_string(&settings)
        .expect("claude settings")
        .contains(&token));
    for path in ["/api/agents", "/api/doctor", "/api/sellers", "/v1/models"] {
        let resp = c
            .get(served.url(path))
            .bearer_auth(&token)
            .send()
            .await
            .expect("GET");
        assert_eq!(resp.status(), 200, "{path}");
        let text = resp.text().await.expect("body");
        for key in SELLER_KEYS {
            assert!(!text.contains(key), "{path} shows a seller's key");
        }
    }
    drop(c);
    assert!(broken.request_count() > 0 && refused.request_count() > 0);

    let (status, log) = served.stop_logged();
    assert!(status.success(), "{status:?}");
    // The filter really was `trace`: the log is full of detail.
    let detailed = log
        .iter()
        .filter(|l| l.contains("TRACE") || l.contains("DEBUG"))
        .count();
    assert!(detailed > 0, "no debug or trace lines: {log:?}");
    for (what, secret) in [
        ("the access token", token.as_str()),
        ("a wrong token", WRONG_TOKEN),
    ]
    .into_iter()
    .chain(SELLER_KEYS.iter().map(|k| ("a seller's key", *k)))
    {
        let leaks: Vec<&String> = log.iter().filter(|l| l.contains(secret)).collect();
        assert!(leaks.is_empty(), "{what} is in the log: {leaks:?}");
    }
    println!(
        "figures: {} log lines at trace ({detailed} debug/trace), no token or key in any",
        log.len()
    );
}

/// Requests a seller got other than TokenBuddy's own probes (`GET /v1/models`).
fn completions(sim: &SimSeller) -> usize {
    sim.requests().iter().filter(|r| r.method != "GET").count()
}

/// The `Access-Control-Allow-*` headers of a response (there must be none).
fn cors_grants(resp: &reqwest::Response) -> Vec<String> {
    resp.headers()
        .keys()
        .map(|k| k.as_str().to_string())
        .filter(|k| k.starts_with("access-control-allow"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_on_another_port_cannot_call_v1_or_api() {
    let sim = SimSeller::start(Behavior::default()).await.expect("sim");
    let data = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        data.path().join("sellers.yaml"),
        support::sellers_file(&[support::seller_yaml("sim", &sim.base_url(), &Protocol::ALL)]),
    )
    .expect("sellers.yaml");
    let served = Served::start(data.path(), &[], &[]);
    let token = served.token.clone();
    let c = reqwest::Client::new();
    let other = support::process::free_port();
    let routing = |c: reqwest::Client, url: String, token: String| async move {
        c.get(url)
            .bearer_auth(token)
            .send()
            .await
            .expect("GET /api/routing")
            .json::<Value>()
            .await
            .expect("routing JSON")
    };
    let routing_before = routing(c.clone(), served.url("/api/routing"), token.clone()).await;

    let chat = request_body(Protocol::OpenAiChat, "m", false).to_string();
    for origin in [
        format!("http://127.0.0.1:{other}"),
        format!("http://localhost:{other}"),
        "http://127.0.0.1".to_string(),
        "null".to_string(),
    ] {
        // Simple requests (no preflight): text/plain bodies, plain GETs, with and without the token.
        for with_token in [false, true] {
            let auth = |r: reqwest::RequestBuilder| {
                if with_token {
                    r.bearer_auth(&token)
                } else {
                    r
                }
            };
            let requests = [
                auth(c.get(served.url("/v1/models"))),
                auth(c.get(served.url("/api/sellers"))),
                auth(c.post(served.url("/v1/chat/completions")))
                    .header("content-type", "text/plain")
                    .body(chat.clone()),
                auth(c.post(served.url("/api/agents/codex/configure")))
                    .header("content-type", "text/plain")
                    .body("{}"),
                auth(c.put(served.url("/api/routing")))
                    .header("content-type", "text/plain")
                    .body(r#"{"mode":"fixed","fixedSeller":"sim"}"#),
            ];
            for req in requests {
                let resp = req.header("origin", &origin).send().await.expect("request");
                let url = resp.url().path().to_string();
                assert_eq!(resp.status(), 403, "{origin} {url} token={with_token}");
                assert!(cors_grants(&resp).is_empty(), "{origin} {url}");
            }
        }
        // Preflights, as a browser sends them before a request with the token.
        for (path, method) in [
            ("/v1/chat/completions", "POST"),
            ("/v1/messages", "POST"),
            ("/v1/models", "GET"),
            ("/api/routing", "PUT"),
            ("/api/agents/codex/configure", "POST"),
        ] {
            let resp = c
                .request(reqwest::Method::OPTIONS, served.url(path))
                .header("origin", &origin)
                .header("access-control-request-method", method)
                .header(
                    "access-control-request-headers",
                    "authorization, x-api-key, content-type",
                )
                .send()
                .await
                .expect("preflight");
            assert!(
                !resp.status().is_success(),
                "{origin} OPTIONS {path}: {}",
                resp.status()
            );
            assert!(cors_grants(&resp).is_empty(), "{origin} OPTIONS {path}");
        }
    }
    assert_eq!(completions(&sim), 0, "a refused request reached a seller");
    assert_eq!(
        routing(c.clone(), served.url("/api/routing"), token.clone()).await,
        routing_before
    );
    assert!(!data.path().join("agents-journal.json").exists());

    // Not vacuous: our own page's origin is served.
    let resp = c
        .get(served.url("/v1/models"))
        .bearer_auth(&token)
        .header("origin", served.url(""))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);

    browser_page_is_refused(&served, &sim, other).await;
    let (status, log) = served.stop_logged();
    assert!(status.success(), "{status:?}; log:\n{}", log.join("\n"));
}

/// The same from a real page in headless Chromium on another loopback port,
/// when Chromium and playwright-core are installed (`scripts/test` installs
/// them); every call is blocked and none reaches a seller.
async fn browser_page_is_refused(served: &Served, sim: &SimSeller, other: u16) {
    // The other origin: a page that is not TokenBuddy's.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", other))
        .await
        .expect("bind the other page's port");
    let page = axum::Router::new().route(
        "/",
        axum::routing::get(|| async {
            axum::response::Html("<!doctype html><title>elsewhere</title>")
        }),
    );
    let page_server = tokio::spawn(async move {
        let _ = axum::serve(listener, page).await;
    });
    let script = include_str!("fault_access_page.mjs");
    let page_url = format!("http://127.0.0.1:{other}/");
    let results =
        support::browser::run_page(script, page_url, served.url(""), served.token.clone()).await;
    page_server.abort();
    let Some(results) = results else { return };
    assert!(results.len() >= 6, "{results:?}");
    for (call, outcome) in &results {
        let outcome = outcome.as_str().unwrap_or_default();
        // A no-cors call resolves, but only to an opaque answer the page cannot read.
        let blocked = outcome.starts_with("rejected") || outcome == "opaque 0";
        assert!(blocked, "{call}: the page got {outcome}");
    }
    assert_eq!(completions(sim), 0, "a call from the page reached a seller");
    println!(
        "figures: headless Chromium on :{other}: {} calls, all blocked",
        results.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_that_hold_a_secret_are_private() {
    let data = tempfile::tempdir().expect("tempdir");
    let home = tempfile::tempdir().expect("home");
    std::fs::write(
        data.path().join("sellers.yaml"),
        "sellers:\n  - id: s\n    base_url: http://127.0.0.1:9/v1\n    api_key: sk-x\n    protocols: [openai-chat, openai-responses, anthropic-messages, gemini]\n    models: [m]\n",
    )
    .expect("sellers.yaml");
    let home_dir = home.path().to_string_lossy().into_owned();
    let xdg = format!("{home_dir}/.config");
    let run = |args: &[&str]| {
        let out = process::command(data.path())
            .args(args)
            .env("HOME", &home_dir)
            .env("XDG_CONFIG_HOME", &xdg)
            .output()
            .expect("run tokenbuddy");
        assert!(
            out.status.success(),
            "{args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    // Each file-based agent, configured into a HOME where its file does not
    // exist yet. (An existing file keeps the mode its owner gave it.)
    let agents = [
        ("claude-code", ".claude/settings.json"),
        ("codex", ".codex/config.toml"),
        ("opencode", ".config/opencode/opencode.json"),
        ("qwen-code", ".qwen/settings.json"),
        ("hermes", ".hermes/config.yaml"),
        ("openclaw", ".openclaw/openclaw.json"),
        ("crush", ".config/crush/crush.json"),
    ];
    for (id, _) in agents {
        run(&["agents", "configure", id, "--model", "m"]);
    }
    let token = std::fs::read_to_string(data.path().join("token")).expect("token");
    let mut found = vec![
        ("token".to_string(), mode(&data.path().join("token"))),
        (
            "agents-journal.json".to_string(),
            mode(&data.path().join("agents-journal.json")),
        ),
    ];
    for (id, rel) in agents {
        let path = home.path().join(rel);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{id}: {e}"));
        let holds = if text.contains(token.trim()) {
            "token"
        } else {
            "no token"
        };
        found.push((format!("{id} {rel} ({holds})"), mode(&path)));
    }
    println!(
        "figures: file modes {}",
        found
            .iter()
            .map(|(f, m)| format!("{f}={m:o}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let open: Vec<String> = found
        .iter()
        .filter(|(_, m)| m & 0o077 != 0)
        .map(|(f, m)| format!("{f} is {m:o}"))
        .collect();
    assert!(
        open.is_empty(),
        "files holding a secret are readable by others: {open:?}"
    );
}
