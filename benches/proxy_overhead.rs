//! What TokenBuddy costs on the wire: the proxy (the real `tokenbuddy serve`
//! process) and a simulated seller on loopback, compared in the same run
//! against a direct connection to the same seller.
//!
//! Run: `cargo bench --bench proxy_overhead` (add `-- --quick` for a short run).
//! Prints figures and ratios; asserts nothing (speed is measured, not tested).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokenbuddy::protocol::sse::SseSplitter;
use tokenbuddy::protocol::{event, Protocol};
use tokenbuddy::sim::{Behavior, SimSeller};

const BIN: &str = env!("CARGO_BIN_EXE_tokenbuddy");

struct Proxy {
    child: Child,
    url: String,
    token: String,
    ready: Duration,
    _dir: tempfile::TempDir,
}

impl Proxy {
    fn start(sellers: &[(&str, String)]) -> Proxy {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut yaml = String::from("sellers:\n");
        for (id, url) in sellers {
            yaml += &format!("  - id: {id}\n    base_url: {url}\n    api_key: k\n    protocols: [openai-chat, openai-responses, anthropic-messages]\n    models: [{id}]\n");
        }
        std::fs::write(dir.path().join("sellers.yaml"), yaml).expect("sellers");
        let started = Instant::now();
        let mut child = Command::new(BIN)
            .args(["serve", "--port", "0"])
            .env("TOKENBUDDY_DATA_DIR", dir.path())
            .env("TOKENBUDDY_LOG", "warn")
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
        std::thread::spawn(move || lines.for_each(drop));
        let token = std::fs::read_to_string(dir.path().join("token"))
            .expect("token")
            .trim()
            .to_string();
        Proxy {
            child,
            url,
            token,
            ready,
            _dir: dir,
        }
    }

    fn proc_file(&self, name: &str) -> String {
        std::fs::read_to_string(format!("/proc/{}/{name}", self.child.id())).unwrap_or_default()
    }

    /// Resident set size in MB.
    fn rss_mb(&self) -> f64 {
        self.proc_file("status")
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    }

    /// User + system CPU time of the proxy process.
    fn cpu(&self) -> Duration {
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
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// One streamed chat completion; returns (TTFT, tokens/s between first and last delta, deltas).
async fn one_stream(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    model: &str,
) -> (Duration, Option<f64>, usize) {
    let body = serde_json::json!({"model": model, "stream": true, "messages": [{"role": "user", "content": "hi"}]});
    let sent = Instant::now();
    let resp = client
        .post(format!("{base}/v1/chat/completions"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("send");
    assert!(resp.status().is_success(), "status {}", resp.status());
    let mut stream = resp.bytes_stream();
    let mut splitter = SseSplitter::new();
    let (mut first, mut last, mut n) = (None, None, 0usize);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.expect("chunk");
        let now = Instant::now();
        splitter.push(&chunk, |e| {
            if event::inspect(Protocol::OpenAiChat, e.event, e.data).semantic {
                first.get_or_insert(now);
                last = Some(now);
                n += 1;
            }
        });
    }
    let first = first.expect("a delta");
    let gen = last.map(|l| l - first).filter(|d| !d.is_zero());
    (first - sent, gen.map(|g| n as f64 / g.as_secs_f64()), n)
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs `total` streams with `concurrency` workers; returns (elapsed, TTFTs, tokens/s samples).
async fn load(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    model: &str,
    concurrency: usize,
    total: usize,
) -> (Duration, Vec<Duration>, Vec<f64>) {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, base, token, model, next) = (
                client.clone(),
                base.to_string(),
                token.to_string(),
                model.to_string(),
                Arc::clone(&next),
            );
            tokio::spawn(async move {
                let mut out = Vec::new();
                while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < total {
                    out.push(one_stream(&client, &base, &token, &model).await);
                }
                out
            })
        })
        .collect();
    let mut ttfts = Vec::new();
    let mut rates = Vec::new();
    for w in workers {
        for (ttft, rate, _) in w.await.expect("worker") {
            ttfts.push(ttft);
            rates.extend(rate);
        }
    }
    let elapsed = started.elapsed();
    ttfts.sort();
    (elapsed, ttfts, rates)
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let scale = if quick { 0.2 } else { 1.0 };
    let n = |x: usize| ((x as f64 * scale) as usize).max(10);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let fast = SimSeller::start(Behavior {
            tokens: 32,
            ..Behavior::default()
        })
        .await
        .expect("sim");
        let paced = SimSeller::start(Behavior {
            tokens: 100,
            ttft: Duration::from_millis(200),
            tokens_per_sec: Some(100.0),
            ..Behavior::default()
        })
        .await
        .expect("sim");
        let proxy = Proxy::start(&[("fast", fast.base_url()), ("paced", paced.base_url())]);
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .build()
            .expect("client");
        // Let the allocator and the runtime settle before reading idle memory.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let idle_rss = proxy.rss_mb();
        println!("# TokenBuddy proxy overhead (loopback, simulated seller, 2-core machine)");
        println!(
            "start to ready (spawn → listening line): {:.1} ms",
            ms(proxy.ready)
        );
        println!("idle RSS: {idle_rss:.1} MB");

        // Warm connection pools on both paths.
        load(&client, &fast.base_url(), "k", "fast", 4, 50).await;
        load(&client, &proxy.url, &proxy.token, "fast", 4, 50).await;

        let reqs = n(1000);
        let (_, direct, _) = load(&client, &fast.base_url(), "k", "fast", 1, reqs).await;
        let (_, proxied, _) = load(&client, &proxy.url, &proxy.token, "fast", 1, reqs).await;
        println!("\n## c=1, 32-token streams, {reqs} requests: TTFT");
        for (name, p) in [("p50", 0.5), ("p99", 0.99)] {
            let (d, x) = (pct(&direct, p), pct(&proxied, p));
            println!(
                "{name}: direct {:.3} ms, proxied {:.3} ms, added {:.3} ms",
                ms(d),
                ms(x),
                ms(x) - ms(d)
            );
        }

        let mut loaded_rss = idle_rss;
        for c in [16usize, 64] {
            let total = n(4000);
            let (d_el, _, _) = load(&client, &fast.base_url(), "k", "fast", c, total).await;
            let cpu0 = proxy.cpu();
            let (p_el, _, _) = load(&client, &proxy.url, &proxy.token, "fast", c, total).await;
            let cpu = proxy.cpu() - cpu0;
            loaded_rss = loaded_rss.max(proxy.rss_mb());
            let (d_rps, p_rps) = (
                total as f64 / d_el.as_secs_f64(),
                total as f64 / p_el.as_secs_f64(),
            );
            println!("\n## c={c}, 32-token streams, no pacing, {total} requests");
            println!(
                "direct {d_rps:.0} req/s, proxied {p_rps:.0} req/s, ratio {:.2}",
                p_rps / d_rps
            );
            println!("proxy CPU per request: {:.3} ms", ms(cpu) / total as f64);
        }

        // Warm both paths' connection pools to the paced seller: agents keep
        // their connections, so steady state is what matters.
        load(&client, &paced.base_url(), "k", "paced", 64, 64).await;
        load(&client, &proxy.url, &proxy.token, "paced", 64, 64).await;
        let total = 64 * if quick { 1 } else { 5 };
        let (_, d_ttft, d_rate) = load(&client, &paced.base_url(), "k", "paced", 64, total).await;
        let (_, p_ttft, p_rate) = load(&client, &proxy.url, &proxy.token, "paced", 64, total).await;
        loaded_rss = loaded_rss.max(proxy.rss_mb());
        println!("\n## c=64, paced streams (TTFT 200 ms, 100 tok/s, 100 tokens), {total} requests");
        println!(
            "client tokens/s: direct {:.1}, proxied {:.1}, ratio {:.3}",
            mean(&d_rate),
            mean(&p_rate),
            mean(&p_rate) / mean(&d_rate)
        );
        println!(
            "TTFT p99: direct {:.2} ms, proxied {:.2} ms, added {:.2} ms",
            ms(pct(&d_ttft, 0.99)),
            ms(pct(&p_ttft, 0.99)),
            ms(pct(&p_ttft, 0.99)) - ms(pct(&d_ttft, 0.99))
        );
        println!("\nloaded RSS (max seen): {loaded_rss:.1} MB");
        drop(proxy);
        fast.shutdown().await;
        paced.shutdown().await;
    });
}
