//! `tokenbuddy route explain`: asks the running TokenBuddy how it would route
//! a request, and prints the candidates in order with their score breakdown,
//! missing inputs, and every excluded seller with its reason; `tokenbuddy
//! route set`: changes the routing of the running TokenBuddy.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

/// What to explain.
pub struct Explain<'a> {
    /// Model name.
    pub model: &'a str,
    /// Protocol name (`openai-chat`, …).
    pub protocol: &'a str,
    /// Port of the running TokenBuddy.
    pub port: u16,
    /// Print the raw JSON instead of a table.
    pub json: bool,
}

/// Fetches and prints the route plan.
pub fn explain(data_dir: &Path, what: &Explain<'_>) -> Result<(), String> {
    let (token, runtime) = super::api_client(data_dir)?;
    let base = format!("http://127.0.0.1:{}", what.port);
    let (routing, plan) = runtime.block_on(async {
        let client = reqwest::Client::new();
        let routing = get_json(&client, &base, "/api/routing", &token).await?;
        let query = format!(
            "/api/route-plan?model={}&protocol={}",
            encode(what.model),
            encode(what.protocol)
        );
        let plan = get_json(&client, &base, &query, &token).await?;
        Ok::<_, String>((routing, plan))
    })?;
    if what.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&plan).unwrap_or_default()
        );
    } else {
        print!("{}", render(what, &routing, &plan));
    }
    Ok(())
}

/// `GET` `path` on the running TokenBuddy.
pub(super) async fn get_json(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    token: &str,
) -> Result<Value, String> {
    answer(base, client.get(format!("{base}{path}")).bearer_auth(token)).await
}

/// `PUT` `body` to `path` on the running TokenBuddy.
pub(super) async fn put_json(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    token: &str,
    body: &Value,
) -> Result<Value, String> {
    let req = client
        .put(format!("{base}{path}"))
        .bearer_auth(token)
        .json(body);
    answer(base, req).await
}

/// Sends `req`; an error answer becomes its message.
async fn answer(base: &str, req: reqwest::RequestBuilder) -> Result<Value, String> {
    let resp = req.send().await.map_err(|e| {
        format!("TokenBuddy is not answering on {base}: {e} (start it with `tokenbuddy serve`, or pass --port)")
    })?;
    let status = resp.status();
    let body: Value = resp
        .json()
        .await
        .map_err(|e| format!("unexpected answer from {base}: {e}"))?;
    if !status.is_success() {
        return Err(format!(
            "{status}: {}",
            body["error"]["message"].as_str().unwrap_or("error")
        ));
    }
    Ok(body)
}

/// The routing to set.
pub struct Set<'a> {
    /// `fixed`, `fixedSet` or `fullAuto`.
    pub mode: &'a str,
    /// `speed`, `discount` or `balanced`; `None` keeps the one in force.
    pub scorer: Option<&'a str>,
    /// The seller of `fixed`.
    pub seller: Option<&'a str>,
    /// The sellers of `fixedSet`.
    pub set: &'a [String],
    /// `fixed` may not fail over.
    pub no_failover: bool,
    /// Port of the running TokenBuddy.
    pub port: u16,
}

/// `tokenbuddy route set`: `PUT /api/routing` with the whole settings.
pub fn set(data_dir: &Path, what: &Set<'_>) -> Result<(), String> {
    let (token, runtime) = super::api_client(data_dir)?;
    let base = format!("http://127.0.0.1:{}", what.port);
    let now = runtime.block_on(async {
        let client = reqwest::Client::new();
        // What the command does not set (the scorer unless given, the
        // translation switch) stays as it is in force.
        let mut current = get_json(&client, &base, "/api/routing", &token).await?;
        let scorer = match what.scorer {
            Some(s) => Value::from(s),
            None => current["scorer"].take(),
        };
        let body = serde_json::json!({
            "mode": what.mode,
            "scorer": scorer,
            "fixedSeller": what.seller,
            "fixedSet": what.set,
            "fixedFailover": !what.no_failover,
            "translation": current["translation"].take(),
        });
        put_json(&client, &base, "/api/routing", &token, &body).await
    })?;
    println!("{}", describe(&now));
    Ok(())
}

/// One line for routing settings.
fn describe(r: &Value) -> String {
    let mut line = format!(
        "Routing: mode {}, scorer {}",
        r["mode"].as_str().unwrap_or("?"),
        r["scorer"].as_str().unwrap_or("?")
    );
    match r["mode"].as_str() {
        Some("fixed") => {
            let _ = write!(
                line,
                ", seller {}{}",
                r["fixedSeller"].as_str().unwrap_or("?"),
                if r["fixedFailover"].as_bool() == Some(false) {
                    " (no failover)"
                } else {
                    " (may fail over)"
                }
            );
        }
        Some("fixedSet") => {
            let names: Vec<&str> = r["fixedSet"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let _ = write!(line, ", sellers {}", names.join(", "));
        }
        _ => {}
    }
    line
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The human-readable plan.
fn render(what: &Explain<'_>, routing: &Value, plan: &Value) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Routing for model {} ({}): mode {}, scorer {}",
        what.model,
        what.protocol,
        routing["mode"].as_str().unwrap_or("?"),
        routing["scorer"].as_str().unwrap_or("?")
    );
    let ranked = plan["ranked"].as_array().cloned().unwrap_or_default();
    if ranked.is_empty() {
        let _ = writeln!(out, "No seller would be tried.");
    } else {
        let _ = writeln!(
            out,
            "{:>2}  {:<20} {:>6} {:>6} {:>6} {:>6} {:>6}  notes",
            "#", "seller", "score", "ttft", "tok/s", "health", "price"
        );
        for (i, r) in ranked.iter().enumerate() {
            let s = &r["score"];
            let f = |k: &str| s[k].as_f64().map_or("-".into(), |v| format!("{v:.2}"));
            let mut notes: Vec<String> = Vec::new();
            let inputs = &r["inputs"];
            let measured: Vec<String> = [
                inputs["ttftMs"].as_f64().map(|v| format!("ttft {v:.0} ms")),
                inputs["tokensPerSec"]
                    .as_f64()
                    .map(|v| format!("{v:.1} tok/s")),
            ]
            .into_iter()
            .flatten()
            .collect();
            if !measured.is_empty() {
                notes.push(measured.join(", "));
            }
            if let Some(missing) = s["missing"].as_array().filter(|m| !m.is_empty()) {
                let names: Vec<&str> = missing.iter().filter_map(Value::as_str).collect();
                notes.push(format!("no data: {}", names.join(", ")));
            }
            if let Some(via) = r["via"].as_str() {
                notes.push(format!("via translation {via}"));
            }
            if let Some(note) = r["note"].as_str() {
                notes.push(note.to_string());
            }
            let _ = writeln!(
                out,
                "{:>2}  {:<20} {:>6} {:>6} {:>6} {:>6} {:>6}  {}",
                i + 1,
                r["seller"].as_str().unwrap_or("?"),
                f("total"),
                f("ttft"),
                f("throughput"),
                f("health"),
                f("price"),
                notes.join("; ")
            );
        }
    }
    for e in plan["excluded"].as_array().cloned().unwrap_or_default() {
        let _ = writeln!(
            out,
            "excluded: {}: {}",
            e["seller"].as_str().unwrap_or("?"),
            e["reason"].as_str().unwrap_or("?")
        );
    }
    out
}
