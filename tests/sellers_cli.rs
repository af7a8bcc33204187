//! `tokenbuddy sellers list|add|edit|remove` with the real binary: it edits
//! `sellers.yaml` in place with no server, the key read from stdin lands in
//! the secrets store and never in the file or the output, concurrent adds
//! from separate processes all land (compare-and-swap), a broken file is
//! refused untouched, and a running TokenBuddy picks the change up by itself.

mod support;

use std::io::Write;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::process::{command, Served};
use tokenbuddy::sim::{Behavior, SimSeller};

const KEY: &str = "sk-cli-SECRET-77";

fn run(data: &std::path::Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = command(data)
        .env("TOKENBUDDY_KEYSTORE", "file")
        .arg("sellers")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tokenbuddy sellers");
    let mut input = child.stdin.take().expect("stdin");
    input
        .write_all(stdin.unwrap_or("").as_bytes())
        .expect("write stdin");
    drop(input);
    let out = child.wait_with_output().expect("wait");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains(KEY), "the key is in the output: {all}");
    out
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

const ORIGINAL: &str = "# by hand\nsellers:\n  - id: a   # mine\n    base_url: http://127.0.0.1:9/v1\n    api_key: sk-a\n    protocols: [openai-chat]\n";

#[test]
fn add_list_edit_remove_in_place_without_a_server() {
    let data = tempfile::tempdir().unwrap();
    let path = data.path().join("sellers.yaml");
    std::fs::write(&path, ORIGINAL).unwrap();
    let out = ok(&run(
        data.path(),
        &[
            "add",
            "b",
            "--base-url",
            "https://b.example/v1",
            "--protocol",
            "openai-chat,anthropic-messages",
            "--model",
            "m1",
            "--api-key",
            "-",
        ],
        Some(&format!("{KEY}\n")),
    ));
    assert!(
        out.contains("added seller b") && out.contains("secrets.json"),
        "{out}"
    );
    let file = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        file,
        format!("{ORIGINAL}  - id: b\n    base_url: https://b.example/v1\n    api_key_ref: b\n    protocols: [openai-chat, anthropic-messages]\n    models: [m1]\n")
    );
    let secrets = std::fs::read_to_string(data.path().join("secrets.json")).unwrap();
    assert!(secrets.contains(KEY));

    let list: Value =
        serde_json::from_str(&ok(&run(data.path(), &["list", "--json"], None))).unwrap();
    assert_eq!(list[1]["id"], "b");
    assert_eq!(list[1]["keyRef"], "b");
    assert!(list[0]["keyRef"].is_null());
    let table = ok(&run(data.path(), &[], None));
    assert!(
        table.contains("key stored as b") && !table.contains("sk-a"),
        "{table}"
    );

    ok(&run(
        data.path(),
        &["edit", "b", "--priority", "3", "--credits", "12.5"],
        None,
    ));
    let edited = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        edited,
        format!("{file}    priority: 3\n    credits: 12.5\n"),
        "only the fields given change"
    );

    let wrong = run(data.path(), &["edit", "zz", "--priority", "1"], None);
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("no seller \"zz\""));

    ok(&run(data.path(), &["remove", "b"], None));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), ORIGINAL);
    let secrets = std::fs::read_to_string(data.path().join("secrets.json")).unwrap();
    assert!(
        !secrets.contains(KEY),
        "the stored key goes with the seller: {secrets}"
    );
}

#[test]
fn concurrent_adds_from_separate_processes_all_land() {
    // Found by this test: with no secrets.json yet, two first writers both
    // saw "missing" and the later rename dropped the other's key.
    for existing in [Some(ORIGINAL), None] {
        let data = tempfile::tempdir().unwrap();
        let path = data.path().join("sellers.yaml");
        if let Some(text) = existing {
            std::fs::write(&path, text).unwrap();
        }
        let ids: Vec<String> = (0..6).map(|i| format!("p{i}")).collect();
        let children: Vec<_> = ids
            .iter()
            .map(|id| {
                command(data.path())
                    .env("TOKENBUDDY_KEYSTORE", "file")
                    .args([
                        "sellers",
                        "add",
                        id,
                        "--base-url",
                        "http://x.example",
                        "--protocol",
                        "openai-chat",
                        "--api-key",
                        &format!("sk-{id}"),
                    ])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("spawn")
            })
            .collect();
        for c in children {
            ok(&c.wait_with_output().unwrap());
        }
        let file = std::fs::read_to_string(&path).unwrap();
        assert!(file.starts_with(existing.unwrap_or("sellers:\n")), "{file}");
        for id in &ids {
            assert!(
                file.contains(&format!("- id: {id}\n")),
                "{id} was lost:\n{file}"
            );
        }
        let secrets: Value = serde_json::from_str(
            &std::fs::read_to_string(data.path().join("secrets.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(
            secrets["keys"].as_object().unwrap().len(),
            ids.len(),
            "{secrets}"
        );
    }
}

#[test]
fn a_broken_file_is_refused_and_left_as_it_is() {
    let data = tempfile::tempdir().unwrap();
    let path = data.path().join("sellers.yaml");
    let broken = "sellers:\n  - id: a\n    base_url: [oops\n";
    std::fs::write(&path, broken).unwrap();
    let out = run(
        data.path(),
        &[
            "add",
            "b",
            "--base-url",
            "http://b.example",
            "--protocol",
            "openai-chat",
            "--api-key-env",
            "B",
        ],
        None,
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("sellers.yaml:") && err.contains("does not overwrite"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), broken);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_tokenbuddy_reloads_what_the_cli_wrote() {
    let sim = SimSeller::start(Behavior::default()).await.expect("sim");
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("sellers.yaml"), ORIGINAL).unwrap();
    let served = Served::start(data.path(), &[], &[("TOKENBUDDY_KEYSTORE", "file")]);
    let dir = data.path().to_path_buf();
    let url = sim.base_url();
    let out = tokio::task::spawn_blocking(move || {
        run(
            &dir,
            &[
                "add",
                "sim",
                "--base-url",
                &url,
                "--protocol",
                "openai-chat",
                "--model",
                "m",
                "--priority",
                "5",
                "--api-key",
                "-",
            ],
            Some(KEY),
        )
    })
    .await
    .unwrap();
    ok(&out);
    let client = reqwest::Client::new();
    // The file watcher reloads on its own; wait for it (bounded), then route.
    let deadline = Instant::now() + support::HANG;
    loop {
        let list: Value = client
            .get(served.url("/api/sellers"))
            .bearer_auth(&served.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if list["sellers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == "sim")
        {
            assert!(!list.to_string().contains(KEY));
            break;
        }
        assert!(Instant::now() < deadline, "never reloaded: {list}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let resp = client
        .post(served.url("/v1/chat/completions"))
        .bearer_auth(&served.token)
        .json(&serde_json::json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-tokenbuddy-seller"], "sim");
    let _ = resp.bytes().await;
    let auth = sim
        .requests()
        .last()
        .and_then(|r| r.header("authorization").map(str::to_string));
    assert_eq!(auth.as_deref(), Some(format!("Bearer {KEY}").as_str()));
    assert!(served.stop().success());
}

#[test]
fn a_stored_key_another_seller_still_names_is_kept() {
    // Found in review: removing one of two sellers that share an
    // `api_key_ref` (a hand edit) removed the key the other still uses.
    let data = tempfile::tempdir().unwrap();
    let path = data.path().join("sellers.yaml");
    let entry = |id: &str| {
        format!("  - id: {id}\n    base_url: http://{id}.example\n    api_key_ref: shared\n    protocols: [openai-chat]\n")
    };
    std::fs::write(&path, format!("sellers:\n{}{}", entry("a"), entry("b"))).unwrap();
    std::fs::write(
        data.path().join("secrets.json"),
        r#"{"keys": {"shared": "sk-shared"}}"#,
    )
    .unwrap();
    ok(&run(data.path(), &["remove", "a"], None));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        format!("sellers:\n{}", entry("b"))
    );
    let secrets = std::fs::read_to_string(data.path().join("secrets.json")).unwrap();
    assert!(secrets.contains("sk-shared"), "b still names it: {secrets}");
    ok(&run(data.path(), &["remove", "b"], None));
    let secrets = std::fs::read_to_string(data.path().join("secrets.json")).unwrap();
    assert!(
        !secrets.contains("sk-shared"),
        "no one names it now: {secrets}"
    );
}
