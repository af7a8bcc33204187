//! `GET`/`PUT /api/desktop` on the headless `tokenbuddy serve`: no desktop
//! app runs it, so it says `present: false`, refuses start-at-login (the
//! panel hides the desktop switches), and still keeps the desktop settings
//! (notifications, put agents back on quit) in `desktop.json`, across a
//! restart.

mod support;

use serde_json::{json, Value};
use support::process::Served;

async fn call(served: &Served, method: reqwest::Method, body: Option<Value>) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .request(method, served.url("/api/desktop"))
        .bearer_auth(&served.token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.expect("send");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn headless_serve_has_no_desktop_but_keeps_its_settings() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(dir.path(), &[], &[]);
    let (status, view) = call(&served, reqwest::Method::GET, None).await;
    assert_eq!(status, 200);
    assert_eq!(
        view,
        json!({"present": false, "autostart": null, "notifications": true, "restoreAgentsOnQuit": false})
    );

    let (status, err) = call(
        &served,
        reqwest::Method::PUT,
        Some(json!({"autostart": true})),
    )
    .await;
    assert_eq!(status, 400, "{err}");
    assert!(err.to_string().contains("desktop app"), "{err}");

    let (status, err) = call(&served, reqwest::Method::PUT, Some(json!({"bogus": 1}))).await;
    assert_eq!(status, 400, "{err}");

    let (status, view) = call(
        &served,
        reqwest::Method::PUT,
        Some(json!({"notifications": false, "restoreAgentsOnQuit": true})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(view["notifications"], false);
    assert_eq!(view["restoreAgentsOnQuit"], true);
    served.stop();

    let served = Served::start(dir.path(), &[], &[]);
    let (_, view) = call(&served, reqwest::Method::GET, None).await;
    assert_eq!(view["notifications"], false);
    assert_eq!(view["restoreAgentsOnQuit"], true);
    served.stop();
}
