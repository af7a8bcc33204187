//! `tokenbuddy open`: the running TokenBuddy's control panel in the default
//! browser, its URL carrying the access token in the fragment (a fragment
//! is never sent to a server); `--print` prints the URL instead.

use std::path::Path;

/// Opens (or prints) the panel of the TokenBuddy on `port`.
pub fn run(data_dir: &Path, port: u16, print: bool) -> Result<(), String> {
    let (token, runtime) = super::api_client(data_dir)?;
    let base = format!("http://127.0.0.1:{port}");
    runtime.block_on(async {
        // Only a running TokenBuddy has a panel to open.
        reqwest::Client::new()
            .get(format!("{base}/healthz"))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| {
                format!("TokenBuddy is not answering on {base}: {e} (start it with `tokenbuddy serve`, or pass --port)")
            })
    })?;
    let url = format!("{base}/#token={token}");
    if print {
        println!("{url}");
        return Ok(());
    }
    opener::open_browser(&url).map_err(|e| {
        format!("cannot open a browser ({e}); open the panel yourself: `tokenbuddy open --print` prints its URL")
    })?;
    println!("Opened the control panel of TokenBuddy on port {port}.");
    Ok(())
}
