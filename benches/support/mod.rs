//! What the benchmarks share: a real `tokenbuddy serve` process and an
//! open-loop load.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_tokenbuddy");

/// A real `tokenbuddy serve --port 0` in a temporary data dir.
pub struct Proxy {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// The access token.
    pub token: String,
    /// The control panel's URL (token in the fragment).
    pub panel: String,
    /// From spawn to the listening line.
    pub ready: Duration,
    _dir: tempfile::TempDir,
}

impl Proxy {
    /// Serves `sellers` (id, base URL), each serving the model named as its id.
    pub fn start(sellers: &[(&str, String)], env: &[(&str, &str)]) -> Proxy {
        let mut yaml = String::from("sellers:\n");
        for (id, url) in sellers {
            yaml += &format!("  - id: {id}\n    base_url: {url}\n    api_key: k\n    protocols: [openai-chat, openai-responses, anthropic-messages]\n    models: [{id}]\n");
        }
        Self::start_with(&yaml, env)
    }

    /// Serves the sellers file `yaml`, with `env` set.
    pub fn start_with(yaml: &str, env: &[(&str, &str)]) -> Proxy {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("sellers.yaml"), yaml).expect("sellers");
        let started = Instant::now();
        let mut child = Command::new(BIN)
            .args(["serve", "--port", "0"])
            .env("TOKENBUDDY_DATA_DIR", dir.path())
            .env("TOKENBUDDY_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn tokenbuddy");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let line = lines.next().expect("line").expect("utf-8");
        let ready = started.elapsed();
        let url = line
            .trim_start_matches("TokenBuddy listening on ")
            .trim()
            .to_string();
        let panel = lines
            .next()
            .and_then(Result::ok)
            .and_then(|l| l.strip_prefix("Control panel: ").map(str::to_string))
            .unwrap_or_default();
        std::thread::spawn(move || lines.for_each(drop));
        let token = std::fs::read_to_string(dir.path().join("token"))
            .expect("token")
            .trim()
            .to_string();
        Proxy {
            child,
            url,
            token,
            panel,
            ready,
            _dir: dir,
        }
    }

    /// The data dir (token, sellers, database).
    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// `GET /api/store`.
    pub async fn store(&self, client: &reqwest::Client) -> serde_json::Value {
        client
            .get(format!("{}/api/store", self.url))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("api/store")
            .json()
            .await
            .expect("api/store json")
    }

    /// Kills it with SIGKILL.
    pub fn kill9(&mut self) {
        // The child's own handle: no `kill` command, and Drop's wait finds it reaped.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn proc_file(&self, name: &str) -> String {
        std::fs::read_to_string(format!("/proc/{}/{name}", self.child.id())).unwrap_or_default()
    }

    /// Resident set size in MB.
    pub fn rss_mb(&self) -> f64 {
        self.proc_file("status")
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    }

    /// User + system CPU time of the proxy process.
    pub fn cpu(&self) -> Duration {
        let stat = self.proc_file("stat");
        let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        // Fields 14 and 15 of /proc/PID/stat (utime, stime), counted after the name.
        let ticks: u64 = fields
            .get(11..13)
            .map_or(0, |f| f.iter().filter_map(|v| v.parse::<u64>().ok()).sum());
        Duration::from_secs_f64(ticks as f64 / 100.0)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// An open-loop load: how fast, how long, how many in flight at most.
#[derive(Clone, Copy)]
pub struct Pace {
    /// Requests per second.
    pub rate: u64,
    /// For how long.
    pub span: Duration,
    /// Most in flight at once.
    pub cap: usize,
}

pub async fn open_loop(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    Pace { rate, span, cap }: Pace,
    stop: Option<tokio::sync::watch::Receiver<bool>>,
) -> (u64, u64, Duration) {
    let model = "fast";
    let permits = Arc::new(tokio::sync::Semaphore::new(cap));
    let ok = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let failed = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let started = Instant::now();
    let total = rate * span.as_secs();
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut sent = 0u64;
    let mut tasks = tokio::task::JoinSet::new();
    while sent < total {
        tick.tick().await;
        if stop.as_ref().is_some_and(|s| *s.borrow()) {
            break;
        }
        // Requests due by now, at `rate`.
        let due = (started.elapsed().as_secs_f64() * rate as f64) as u64;
        while sent < due.min(total) {
            sent += 1;
            let permit = Arc::clone(&permits)
                .acquire_owned()
                .await
                .expect("semaphore");
            let (client, url, token, model) = (
                client.clone(),
                format!("{base}/v1/chat/completions"),
                token.to_string(),
                model.to_string(),
            );
            let (ok, failed) = (Arc::clone(&ok), Arc::clone(&failed));
            tasks.spawn(async move {
                let body = serde_json::json!({"model": model, "messages": [{"role": "user", "content": "hi"}]});
                let answered = async {
                    let resp = client.post(url).bearer_auth(token).json(&body).send().await.ok()?;
                    resp.status().is_success().then_some(())?;
                    resp.bytes().await.ok()
                };
                match answered.await {
                    Some(_) => ok.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                    None => failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                };
                drop(permit);
            });
        }
        while tasks.try_join_next().is_some() {}
    }
    let elapsed = started.elapsed();
    while tasks.join_next().await.is_some() {}
    (
        ok.load(std::sync::atomic::Ordering::Relaxed),
        failed.load(std::sync::atomic::Ordering::Relaxed),
        elapsed,
    )
}
