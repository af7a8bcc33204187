//! The request log end to end: real TokenBuddy, simulated sellers, the
//! store underneath. Each row is read back through `/api`, as the panel
//! and the CLI read it.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::*;
use tokenbuddy::protocol::Protocol;
use tokenbuddy::sim::{Behavior, SimSeller};

const CLAUDE_CODE_UA: &str = "claude-cli/2.1.330 (external, sdk-cli)";

fn priced(id: &str, url: &str, extra: &str) -> String {
    format!(
        "  - id: {id}\n    base_url: {url}/v1\n    api_key: sk-{id}\n    protocols: [openai-chat, openai-responses, anthropic-messages]\n    models: [m, n]\n{extra}"
    )
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[tokio::test]
async fn a_failed_over_request_keeps_both_attempts_and_the_agent() {
    let down = SimSeller::start(failing(503, None)).await.unwrap();
    let up = SimSeller::start(Behavior::default()).await.unwrap();
    let h = Harness::start(&sellers_file(&[
        priced("down", &down.base_url(), "    priority: 10\n"),
        priced("up", &up.base_url(), ""),
    ]))
    .await;
    let resp = h
        .post(
            "/v1/messages",
            &request_body(Protocol::AnthropicMessages, "m", true),
        )
        .header("user-agent", CLAUDE_CODE_UA)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    read_all(resp).await;

    let rows = h.rows().await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(row["agent"], "claude-code");
    assert_eq!(row["protocol"], "anthropic-messages");
    assert_eq!(row["endpoint"], "/v1/messages");
    assert_eq!(
        (row["modelAsked"].clone(), row["modelSent"].clone()),
        (json!("m"), json!("m"))
    );
    assert_eq!(
        (row["seller"].clone(), row["status"].clone()),
        (json!("up"), json!(200))
    );
    assert_eq!(row["outcome"], "served");
    assert_eq!(row["stream"], true);
    assert!(num(&row["ttftMs"]) >= 0.0 && num(&row["durationMs"]) >= num(&row["ttftMs"]));
    let attempts = row["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{row}");
    assert_eq!(attempts[0]["seller"], "down");
    assert_eq!(attempts[0]["outcome"], "status");
    assert_eq!(attempts[0]["status"], 503);
    assert!(
        attempts[0]["why"].as_str().unwrap().starts_with("HTTP 503"),
        "{row}"
    );
    assert_eq!(attempts[1]["seller"], "up");
    assert_eq!(attempts[1]["outcome"], "served");

    // One row by id carries the same trail.
    let id = row["id"].as_i64().unwrap();
    let one = h.api(&format!("/api/requests/{id}")).await;
    assert_eq!(one["attempts"], row["attempts"]);
    // No prompt or answer text is kept anywhere in the row.
    assert!(!row.to_string().contains("Say hello"), "{row}");
}

#[tokio::test]
async fn tokens_and_cost_are_what_the_seller_reported_at_the_configured_prices() {
    let seller = SimSeller::start(Behavior {
        tokens: 12,
        ..Behavior::default()
    })
    .await
    .unwrap();
    let h = Harness::start(&sellers_file(&[priced(
        "acme",
        &seller.base_url(),
        "    discount_ratio: 0.5\n    service_fee_ratio: 0.1\n    prices:\n      m: {input: 3, output: 15, cache_read: 0.3}\n",
    )]))
    .await;
    // Anthropic, a whole body, with a cached prompt.
    let body = json!({
        "model": "m", "max_tokens": 64,
        "system": [{"type": "text", "text": "You are terse. ".repeat(40), "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": "Say hello"}],
    });
    let resp = h.post("/v1/messages", &body).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let answer: Value = resp.json().await.unwrap();
    let reported = &answer["usage"];
    let rows = h.rows().await;
    let usage = &rows[0]["usage"];
    assert_eq!(
        usage["input"], reported["input_tokens"],
        "{usage} vs {reported}"
    );
    assert_eq!(usage["output"], reported["output_tokens"]);
    assert_eq!(usage["output"], 12);
    assert_eq!(usage["cacheRead"], reported["cache_read_input_tokens"]);
    assert!(
        num(&usage["cacheRead"]) > 0.0,
        "the prompt was cached: {reported}"
    );
    let (input, output, cached) = (
        num(&usage["input"]),
        num(&usage["output"]),
        num(&usage["cacheRead"]),
    );
    let expected = (input * 3.0 + output * 15.0 + cached * 0.3) / 1e6 * 0.5 * 1.1;
    let cost = num(&rows[0]["cost"]);
    assert!((cost - expected).abs() < 1e-12, "{cost} vs {expected}");

    // OpenAI chat, streamed with include_usage: prompt tokens include the cached ones.
    let resp = h.call(Protocol::OpenAiChat, "m", true).await;
    let sent = read_all(resp).await;
    let rows = h.rows().await;
    let usage = &rows[0]["usage"];
    let text = String::from_utf8_lossy(&sent);
    let last_usage: Value = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .rfind(|v| v["usage"].is_object())
        .map(|v| v["usage"].clone())
        .expect("the stream reported usage");
    let cached = last_usage["prompt_tokens_details"]["cached_tokens"]
        .as_u64()
        .unwrap_or(0);
    assert_eq!(
        usage["input"].as_u64(),
        Some(last_usage["prompt_tokens"].as_u64().unwrap() - cached)
    );
    assert_eq!(usage["output"], last_usage["completion_tokens"]);

    // A model with no price anywhere: cost unknown, never zero.
    let resp = h.call(Protocol::OpenAiChat, "n", false).await;
    assert_eq!(resp.status(), 200);
    resp.bytes().await.unwrap();
    let rows = h.rows().await;
    assert_eq!(rows[0]["modelAsked"], "n");
    assert_eq!(rows[0]["cost"], Value::Null, "{}", rows[0]);
    assert!(rows[0]["usage"]["output"].as_u64().is_some());
}

#[tokio::test]
async fn usage_by_seller_model_agent_and_day_sums_the_rows() {
    let a = SimSeller::start(Behavior::default()).await.unwrap();
    let b = SimSeller::start(Behavior::default()).await.unwrap();
    let h = Harness::start(&sellers_file(&[
        priced(
            "a",
            &a.base_url(),
            "    priority: 5\n    prices:\n      m: {input: 1, output: 2}\n",
        ),
        priced(
            "b",
            &b.base_url(),
            "    prices:\n      m: {input: 1, output: 2}\n",
        ),
    ]))
    .await;
    let agents = [
        CLAUDE_CODE_UA,
        "OpenAI/Python 2.24.0",
        "QwenCode/0.24.4 (linux; x64)",
    ];
    for (i, ua) in agents.iter().cycle().take(9).enumerate() {
        let (protocol, model) = match i % 3 {
            0 => (Protocol::AnthropicMessages, "m"),
            1 => (Protocol::OpenAiChat, "n"),
            _ => (Protocol::OpenAiResponses, "m"),
        };
        let resp = h
            .post(protocol.path(), &request_body(protocol, model, i % 2 == 0))
            .header("user-agent", *ua)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        read_all(resp).await;
        if i == 4 {
            // Later requests go to b: a is blocked for a while.
            a.set_behavior(failing(401, None));
        }
    }
    let rows = h.rows().await;
    assert_eq!(rows.len(), 9);
    for by in ["seller", "model", "agent", "day"] {
        let usage = h.api(&format!("/api/usage?by={by}")).await;
        let groups = usage
            .as_array()
            .or_else(|| usage["rows"].as_array())
            .unwrap_or_else(|| panic!("{usage}"));
        let total = |f: &dyn Fn(&Value) -> f64| groups.iter().map(f).sum::<f64>();
        assert_eq!(total(&|g| num(&g["requests"])), 9.0, "{by}: {usage}");
        let rows_out: f64 = rows.iter().map(|r| num(&r["usage"]["output"])).sum();
        assert_eq!(total(&|g| num(&g["outputTokens"])), rows_out, "{by}");
        let rows_in: f64 = rows.iter().map(|r| num(&r["usage"]["input"])).sum();
        assert_eq!(total(&|g| num(&g["inputTokens"])), rows_in, "{by}");
        let rows_cost: f64 = rows.iter().filter_map(|r| r["cost"].as_f64()).sum();
        let cost = total(&|g| g["cost"].as_f64().unwrap_or(0.0));
        assert!(
            (cost - rows_cost).abs() < 1e-9,
            "{by}: {cost} vs {rows_cost}"
        );
        let unpriced = rows.iter().filter(|r| r["cost"].is_null()).count() as f64;
        assert_eq!(total(&|g| num(&g["unpricedRequests"])), unpriced, "{by}");
        // Each group is the sum of its own rows.
        for g in groups {
            let key = &g["key"];
            let mine = rows.iter().filter(|r| match by {
                "seller" => &r["seller"] == key,
                "model" => &r["modelAsked"] == key,
                "agent" => &r["agent"] == key,
                _ => true,
            });
            let n = mine.count() as f64;
            assert_eq!(num(&g["requests"]), n, "{by} {key}: {usage}");
        }
    }
    let by_seller = h.api("/api/usage?by=seller").await;
    let keys: Vec<String> = by_seller
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["key"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        keys.contains(&"a".to_string()) && keys.contains(&"b".to_string()),
        "{by_seller}"
    );
}

#[tokio::test]
async fn a_seller_out_of_credits_is_left_out_until_the_balance_is_raised() {
    let cheap = SimSeller::start(Behavior::default()).await.unwrap();
    let other = SimSeller::start(Behavior::default()).await.unwrap();
    let file = |credits: &str| {
        sellers_file(&[
            priced(
                "cheap",
                &cheap.base_url(),
                &format!("    priority: 10\n    credits: {credits}\n    prices:\n      m: {{input: 1000, output: 1000}}\n"),
            ),
            priced("other", &other.base_url(), ""),
        ])
    };
    let h = Harness::start(&file("0.01")).await;
    let resp = h.call(Protocol::OpenAiChat, "m", false).await;
    assert_eq!(seller_of(&resp), "cheap");
    resp.bytes().await.unwrap();
    h.rows().await;

    let sellers = h.api_sellers().await;
    let credits = sellers["sellers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "cheap")
        .map(|s| s["credits"].clone())
        .unwrap();
    assert_eq!(credits["exhausted"], true, "{credits}");
    assert_eq!(credits["low"], true);
    assert_eq!(credits["balance"], 0.01);
    assert!(num(&credits["remaining"]) <= 0.0);

    let plan = h.api("/api/route-plan?model=m").await;
    let excluded = plan["excluded"].as_array().unwrap();
    assert_eq!(excluded.len(), 1, "{plan}");
    assert_eq!(excluded[0]["seller"], "cheap");
    assert!(
        excluded[0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("credits exhausted"),
        "{plan}"
    );
    let resp = h.call(Protocol::OpenAiChat, "m", false).await;
    assert_eq!(seller_of(&resp), "other", "left out while exhausted");
    resp.bytes().await.unwrap();

    // Raising the balance in the file brings it back, with the count started over.
    h.rewrite_sellers(&file("50")).await;
    let plan = h.api("/api/route-plan?model=m").await;
    assert_eq!(plan["excluded"], json!([]), "{plan}");
    assert_eq!(plan["ranked"][0]["seller"], "cheap", "{plan}");
    // A new conversation (the old one stays with the seller that took it over).
    let mut body = request_body(Protocol::OpenAiChat, "m", false);
    body["messages"][0]["content"] = json!("A new question");
    let resp = h.post("/v1/chat/completions", &body).send().await.unwrap();
    assert_eq!(seller_of(&resp), "cheap");
    resp.bytes().await.unwrap();
    h.rows().await;
    let sellers = h.api_sellers().await;
    let credits = &sellers["sellers"][0]["credits"];
    assert_eq!(credits["balance"], 50.0, "{sellers}");
    assert_eq!(credits["exhausted"], false);
    assert!(num(&credits["spent"]) > 0.0 && num(&credits["spent"]) < 0.01 + 50.0);
}

#[tokio::test]
async fn history_survives_a_restart_and_warm_starts_the_estimates() {
    let seller = SimSeller::start(Behavior {
        ttft: Duration::from_millis(40),
        tokens: 30,
        tokens_per_sec: Some(600.0),
        ..Behavior::default()
    })
    .await
    .unwrap();
    let h = Harness::start(&sellers_file(&[priced("acme", &seller.base_url(), "")])).await;
    for _ in 0..3 {
        read_all(h.call(Protocol::OpenAiChat, "m", true).await).await;
    }
    h.rows().await;
    let h = h.restart().await;
    let before = seller.request_count();

    // Before any request of the new run, route explain already has numbers.
    let plan = h.api("/api/route-plan?model=m").await;
    let inputs = &plan["ranked"][0]["inputs"];
    let ttft = num(&inputs["ttftMs"]);
    assert!(ttft >= 40.0, "warm-started TTFT from history: {plan}");
    assert!(num(&inputs["tokensPerSec"]) > 0.0, "{plan}");
    let missing = plan["ranked"][0]["score"]["missing"].as_array().unwrap();
    assert!(missing.is_empty(), "nothing scored neutral: {plan}");
    assert_eq!(seller.request_count(), before, "no request was needed");
    // `ttftLastMs` stays empty: no request of this run measured it.
    assert_eq!(h.stats("acme").await["ttftLastMs"], Value::Null);

    // The minute history is there for charts, and the rows survived too.
    let history = h.api("/api/history?seller=acme").await;
    let points = history
        .as_array()
        .or_else(|| history["points"].as_array())
        .unwrap_or_else(|| panic!("{history}"));
    let requests: f64 = points.iter().map(|p| num(&p["requests"])).sum();
    assert_eq!(requests, 3.0, "{history}");
    assert_eq!(h.rows().await.len(), 3);
}

#[tokio::test]
async fn a_corrupt_database_is_moved_aside_and_requests_are_still_served() {
    let seller = SimSeller::start(Behavior::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("sellers.yaml"),
        sellers_file(&[priced("acme", &seller.base_url(), "")]),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("tokenbuddy.db"),
        b"this is not a database, just bytes that were there",
    )
    .unwrap();
    let h = Harness::start_in(dir, |_| {}).await;
    let resp = h.call(Protocol::OpenAiChat, "m", false).await;
    assert_eq!(resp.status(), 200);
    resp.bytes().await.unwrap();
    assert_eq!(h.rows().await.len(), 1, "the fresh database keeps requests");
    let status = h.api("/api/store").await;
    let event = &status["lastIntegrityEvent"];
    let moved = event["movedTo"]
        .as_str()
        .unwrap_or_else(|| panic!("{status}"));
    assert!(moved.contains("tokenbuddy.db.corrupt-"), "{status}");
    assert!(std::path::Path::new(moved).exists(), "{moved}");
    assert_eq!(status["inMemory"], false);
    let kept = std::fs::read(moved).unwrap();
    assert!(
        kept.starts_with(b"this is not a database"),
        "the old bytes are kept, not lost"
    );

    // The doctor says so too, next to a healthy store.
    let (dir, port) = (h.dir.path().to_path_buf(), h.running.addr().port());
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_tokenbuddy"))
            .args(["doctor", "--json", "--port", &port.to_string()])
            .arg("--data-dir")
            .arg(&dir)
            .env("HOME", &dir)
            .output()
            .expect("doctor runs")
    })
    .await
    .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    let checks = report
        .as_array()
        .or_else(|| report["checks"].as_array())
        .unwrap();
    let find = |id: &str| checks.iter().find(|c| c["id"] == id).cloned();
    let store = find("store").unwrap_or_else(|| panic!("{report}"));
    assert_eq!(store["status"], "ok", "{store}");
    assert!(
        store["message"]
            .as_str()
            .unwrap()
            .starts_with("request log: 1 rows in "),
        "{store}"
    );
    let aside = find("store:moved-aside").unwrap_or_else(|| panic!("{report}"));
    assert_eq!(aside["status"], "warn");
    assert!(
        aside["message"]
            .as_str()
            .unwrap()
            .contains("tokenbuddy.db.corrupt-"),
        "{aside}"
    );
}
