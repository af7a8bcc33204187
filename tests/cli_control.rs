//! The control panel's CLI twins on the real binary: `tokenbuddy route set`
//! changes the running TokenBuddy's routing (confirmed through
//! `/api/routing`) and prints the API's refusal clearly; `tokenbuddy open
//! --print` prints the panel's URL with the token in the fragment.

mod support;

use serde_json::{json, Value};
use support::process::{self, Served};
use support::{seller_yaml, sellers_file};
use tokenbuddy::protocol::Protocol;

fn cli(served: &Served, args: &[&str]) -> (bool, String, String) {
    let out = process::command(&served.data_dir)
        .args(args)
        .args(["--port", &served.port.to_string()])
        .output()
        .expect("run tokenbuddy");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn routing(served: &Served) -> Value {
    reqwest::Client::new()
        .get(served.url("/api/routing"))
        .bearer_auth(&served.token)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json")
}

fn start() -> (tempfile::TempDir, Served) {
    let dir = tempfile::tempdir().expect("tempdir");
    let entries: Vec<String> = ["a", "b", "c"]
        .iter()
        .map(|id| seller_yaml(id, "http://127.0.0.1:9", &Protocol::ALL))
        .collect();
    std::fs::write(dir.path().join("sellers.yaml"), sellers_file(&entries)).expect("sellers");
    let served = Served::start(dir.path(), &[], &[]);
    (dir, served)
}

#[tokio::test]
async fn route_set_changes_the_running_routing_and_prints_refusals() {
    let (_dir, served) = start();
    let (ok, out, err) = cli(
        &served,
        &[
            "route",
            "set",
            "--mode",
            "fixed",
            "--scorer",
            "speed",
            "--seller",
            "b",
            "--no-failover",
        ],
    );
    assert!(ok, "{err}");
    assert!(
        out.contains("mode fixed, scorer speed, seller b (no failover)"),
        "{out}"
    );
    assert_eq!(
        routing(&served).await,
        json!({"mode": "fixed", "scorer": "speed", "fixedSeller": "b", "fixedSet": [], "fixedFailover": false, "translation": true})
    );
    let (ok, out, err) = cli(
        &served,
        &[
            "route", "set", "--mode", "fixedSet", "--scorer", "discount", "--set", "a,c",
        ],
    );
    assert!(ok, "{err}");
    assert!(out.contains("sellers a, c"), "{out}");
    let now = routing(&served).await;
    assert_eq!(now["fixedSet"], json!(["a", "c"]), "{now}");
    assert_eq!(now["mode"], "fixedSet");
    assert_eq!(now["scorer"], "discount");

    // Refusals from the API, printed with their reason; nothing changes.
    let (ok, _, err) = cli(
        &served,
        &["route", "set", "--mode", "fixed", "--scorer", "speed"],
    );
    assert!(!ok);
    assert!(err.starts_with("tokenbuddy: 400 Bad Request: "), "{err}");
    assert!(err.to_lowercase().contains("fixed"), "{err}");
    let (ok, _, err) = cli(
        &served,
        &["route", "set", "--mode", "sometimes", "--scorer", "speed"],
    );
    assert!(!ok);
    assert!(err.contains("400") && err.contains("sometimes"), "{err}");
    assert_eq!(
        routing(&served).await,
        now,
        "a refused change changes nothing"
    );
    // No --scorer: the one in force stays.
    let (ok, out, err) = cli(&served, &["route", "set", "--mode", "fullAuto"]);
    assert!(ok, "{err}");
    assert!(out.contains("mode fullAuto, scorer discount"), "{out}");
    served.stop();
}

#[tokio::test]
async fn open_print_gives_the_panel_url_with_the_token() {
    let (_dir, served) = start();
    let (ok, out, err) = cli(&served, &["open", "--print"]);
    assert!(ok, "{err}");
    let url = out.trim();
    assert_eq!(
        url,
        format!("http://127.0.0.1:{}/#token={}", served.port, served.token)
    );
    // The URL loads the panel.
    let page = reqwest::get(url).await.expect("panel");
    assert_eq!(page.status(), 200);
    assert!(page.text().await.expect("text").contains("TokenBuddy"));
    let data = served.data_dir.clone();
    served.stop();
    // Nobody listening: a clear message, no URL.
    let out = process::command(&data)
        .args(["open", "--print", "--port", "1"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("TokenBuddy is not answering on http://127.0.0.1:1"),
        "{err}"
    );
}
