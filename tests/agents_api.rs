//! The agents API of a real `tokenbuddy serve --demo` in a temporary HOME:
//! list, dry run, one-click configure, drift noticed by the file watch and
//! cleared by re-applying, restore to the original bytes, errors by cause,
//! terminals and doctor, and the token required throughout.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_tokenbuddy");
const ORIGINAL: &str = "# mine\nmodel = \"gpt-5\"\n\n[history]\npersistence = \"none\"\n";

struct Server {
    child: Child,
    url: String,
    token: String,
    client: reqwest::Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(home: &std::path::Path, data: &std::path::Path) -> Server {
        let mut child = Command::new(BIN)
            .args(["serve", "--demo", "--port", "0"])
            .env_clear()
            .env("HOME", home)
            .env("TOKENBUDDY_DATA_DIR", data)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = lines.next().expect("line").expect("utf-8");
        let url = line
            .strip_prefix("TokenBuddy listening on ")
            .expect("listening line")
            .to_string();
        std::thread::spawn(move || lines.for_each(drop));
        let token = std::fs::read_to_string(data.join("token"))
            .expect("token")
            .trim()
            .to_string();
        Server {
            child,
            url,
            token,
            client: reqwest::Client::new(),
        }
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .client
            .get(format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("get");
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .client
            .post(format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .expect("post");
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn agent(&self, id: &str) -> Value {
        let (status, list) = self.get("/api/agents").await;
        assert_eq!(status, 200, "{list}");
        list.as_array()
            .and_then(|l| l.iter().find(|a| a["id"] == id).cloned())
            .expect("agent listed")
    }

    /// Polls the drift endpoint until `want` holds (the watch reacts to the filesystem).
    async fn drift_until(&self, want: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (_, drift) = self.get("/api/agents/drift").await;
            if want(&drift) {
                return drift;
            }
            assert!(
                Instant::now() < deadline,
                "drift never became as expected: {drift}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test]
async fn configure_drift_reapply_restore_through_the_api() {
    let home = tempfile::tempdir().expect("home");
    let data = tempfile::tempdir().expect("data");
    let config = home.path().join(".codex/config.toml");
    std::fs::create_dir_all(config.parent().expect("dir")).expect("mkdir");
    std::fs::write(&config, ORIGINAL).expect("write");
    let s = Server::start(home.path(), data.path());

    let unauth = s
        .client
        .get(format!("{}/api/agents", s.url))
        .send()
        .await
        .expect("get");
    assert_eq!(unauth.status().as_u16(), 401);
    assert_eq!(s.agent("codex").await["state"], "notConfigured");

    let (status, dry) = s
        .post(
            "/api/agents/codex/configure",
            json!({"model": "m1", "dryRun": true}),
        )
        .await;
    assert_eq!(status, 200, "{dry}");
    assert!(
        dry["diff"]
            .as_str()
            .is_some_and(|d| d.contains("+model_provider = \"tokenbuddy\"")),
        "{dry}"
    );
    assert_eq!(
        std::fs::read_to_string(&config).expect("read"),
        ORIGINAL,
        "a dry run writes nothing"
    );
    // The panel is on screens that get shared: its diff hides the token.
    let diff = dry["diff"].as_str().unwrap_or_default();
    assert!(!diff.contains(&s.token), "{diff}");
    assert!(diff.contains("<TokenBuddy access token>"), "{diff}");

    let (status, done) = s
        .post("/api/agents/codex/configure", json!({"model": "m1"}))
        .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["model"], "m1");
    assert_eq!(s.agent("codex").await["state"], "configured");
    assert!(
        std::fs::read_to_string(&config)
            .expect("read")
            .contains(&s.token),
        "the file itself gets the real token"
    );
    s.drift_until(|d| d["drifted"] == json!([])).await;

    // Another program points Codex elsewhere: the watch notices.
    let theirs = std::fs::read_to_string(&config).expect("read").replace(
        "model_provider = \"tokenbuddy\"",
        "model_provider = \"openai\"",
    );
    std::fs::write(&config, theirs).expect("write");
    let drift = s.drift_until(|d| d["drifted"] == json!(["codex"])).await;
    assert!(drift["generation"].as_u64() > Some(0), "{drift}");
    assert_eq!(s.agent("codex").await["state"], "drifted");

    // One click re-applies.
    let (status, again) = s
        .post("/api/agents/codex/configure", json!({"model": "m1"}))
        .await;
    assert_eq!(status, 200, "{again}");
    s.drift_until(|d| d["drifted"] == json!([])).await;
    assert_eq!(s.agent("codex").await["state"], "configured");

    // Errors say what was wrong, with a status by cause.
    assert_eq!(s.post("/api/agents/nope/configure", json!({})).await.0, 404);
    let (status, guide) = s.post("/api/agents/cursor/configure", json!({})).await;
    assert_eq!(status, 422, "{guide}");
    assert!(
        guide["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Cursor")),
        "{guide}"
    );
    assert_eq!(
        s.post("/api/agents/codex/configure", json!({"modle": "x"}))
            .await
            .0,
        400
    );
    assert_eq!(s.post("/api/agents/crush/restore", json!({})).await.0, 409);

    let (status, restored) = s.post("/api/agents/codex/restore", json!({})).await;
    assert_eq!(status, 200, "{restored}");
    assert_eq!(std::fs::read_to_string(&config).expect("read"), ORIGINAL);
    assert_eq!(s.agent("codex").await["state"], "notConfigured");

    let (status, terminals) = s.get("/api/terminals").await;
    assert_eq!(status, 200);
    assert!(terminals.is_array(), "{terminals}");
    let (status, doctor) = s.get("/api/doctor").await;
    assert_eq!(status, 200);
    assert_eq!(doctor["ok"], true, "{doctor}");
    let ids: Vec<&str> = doctor["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert!(
        ids.contains(&"port") && ids.contains(&"token") && ids.contains(&"seller:demo-fast"),
        "{doctor}"
    );
}
