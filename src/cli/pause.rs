//! `tokenbuddy pause` / `tokenbuddy resume`: switch the running TokenBuddy's
//! proxy off or on (`PUT /api/proxy`); `/api` and the panel keep working.

use std::path::Path;

use serde_json::json;

/// Sets the proxy switch of the TokenBuddy on `port` and says what it is now.
pub fn run(data_dir: &Path, port: u16, enabled: bool) -> Result<(), String> {
    let (token, runtime) = super::api_client(data_dir)?;
    let base = format!("http://127.0.0.1:{port}");
    let now = runtime.block_on(async {
        let client = reqwest::Client::new();
        super::route::put_json(
            &client,
            &base,
            "/api/proxy",
            &token,
            &json!({ "enabled": enabled }),
        )
        .await
    })?;
    if now["enabled"].as_bool() == Some(true) {
        println!("TokenBuddy is routing requests again.");
    } else {
        println!(
            "TokenBuddy is paused: agents' requests get a 503 `paused` answer until `tokenbuddy resume`."
        );
    }
    Ok(())
}
