//! What TokenBuddy costs on the wire: the proxy (the real `tokenbuddy serve`
//! process) and a simulated seller on loopback, compared in the same run
//! against a direct connection to the same seller — and the store (the
//! request log in SQLite) on against off, in the same run: CPU per request,
//! TTFT, sustained writes at 2,000 requests/s, database size, and the rows
//! a SIGKILL under load loses.
//!
//! Run: `cargo bench --bench proxy_overhead` (add `-- --quick` for a short run).
//! Prints figures and ratios; asserts nothing (speed is measured, not tested).

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokenbuddy::protocol::sse::SseSplitter;
use tokenbuddy::protocol::{event, Protocol};
use tokenbuddy::sim::{Behavior, SimSeller};

mod support;

use support::{open_loop, Pace, Proxy};

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

/// Sends `rate` requests per second for `span`, open loop (a slow answer
/// does not slow the sender), at most `cap` in flight; returns (answered in
/// full, failed, elapsed).
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
        let sellers = [("fast", fast.base_url()), ("paced", paced.base_url())];
        let proxy = Proxy::start(&sellers, &[]);
        let bare = Proxy::start(&sellers, &[("TOKENBUDDY_STORE", "off")]);
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
        load(&client, &bare.url, &bare.token, "fast", 4, 50).await;

        let reqs = n(1000);
        let (_, direct, _) = load(&client, &fast.base_url(), "k", "fast", 1, reqs).await;
        let (_, proxied, _) = load(&client, &proxy.url, &proxy.token, "fast", 1, reqs).await;
        let (_, unstored, _) = load(&client, &bare.url, &bare.token, "fast", 1, reqs).await;
        println!("\n## c=1, 32-token streams, {reqs} requests: TTFT");
        for (name, p) in [("p50", 0.5), ("p99", 0.99)] {
            let (d, x, off) = (pct(&direct, p), pct(&proxied, p), pct(&unstored, p));
            println!(
                "{name}: direct {:.3} ms, proxied {:.3} ms, added {:.3} ms; store off {:.3} ms, so the store adds {:.3} ms",
                ms(d),
                ms(x),
                ms(x) - ms(d),
                ms(off),
                ms(x) - ms(off)
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
            let off0 = bare.cpu();
            let (b_el, _, _) = load(&client, &bare.url, &bare.token, "fast", c, total).await;
            let off = bare.cpu() - off0;
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
            println!(
                "store off: {:.0} req/s, CPU per request {:.3} ms, so the store adds {:.3} ms CPU per request",
                total as f64 / b_el.as_secs_f64(),
                ms(off) / total as f64,
                (ms(cpu) - ms(off)) / total as f64
            );
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
        drop(bare);

        // The store under a steady 2,000 requests/s: short whole-body
        // answers, so the 2 cores can carry the load at all.
        let span = Duration::from_secs(if quick { 5 } else { 30 });
        let rate = 2000;
        let before = proxy.store(&client).await;
        let (ok, failed, elapsed) =
            open_loop(&client, &proxy.url, &proxy.token, Pace { rate, span, cap: 512 }, None).await;
        // Let the writer's last batch land.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let after = proxy.store(&client).await;
        let count = |v: &serde_json::Value, k: &str| v[k].as_u64().unwrap_or(0);
        println!("\n## store: {rate} requests/s for {} s", span.as_secs());
        println!(
            "answered {ok}, failed {failed}, achieved {:.0} req/s; records written {}, dropped {}, batches {}",
            (ok + failed) as f64 / elapsed.as_secs_f64(),
            count(&after, "written") - count(&before, "written"),
            count(&after, "dropped") - count(&before, "dropped"),
            count(&after, "batches") - count(&before, "batches"),
        );
        let rows = count(&after, "rows").max(1);
        println!(
            "database: {} rows in {:.1} MB (with its WAL), {:.0} MB per million requests",
            rows,
            count(&after, "sizeBytes") as f64 / 1e6,
            count(&after, "sizeBytes") as f64 / rows as f64
        );
        drop(proxy);

        // SIGKILL under load: how many answered requests have no row.
        let mut victim = Proxy::start(&sellers, &[]);
        load(&client, &victim.url, &victim.token, "fast", 4, 50).await;
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let loader = {
            let (client, url, token) = (client.clone(), victim.url.clone(), victim.token.clone());
            tokio::spawn(async move {
                let pace = Pace { rate: 1000, span: Duration::from_secs(3600), cap: 256 };
                open_loop(&client, &url, &token, pace, Some(stop_rx)).await
            })
        };
        tokio::time::sleep(Duration::from_secs(3)).await;
        victim.kill9();
        let _ = stop_tx.send(true);
        let (answered, _, _) = loader.await.expect("loader");
        // 50 warm-up requests were answered too.
        let answered = answered + 50;
        let db = rusqlite::Connection::open(victim.dir().join("tokenbuddy.db")).expect("open the database");
        let kept: i64 = db
            .query_row("SELECT count(*) FROM requests", [], |r| r.get(0))
            .expect("count rows");
        let kept = kept as u64;
        println!("\n## SIGKILL at 1,000 requests/s after 3 s");
        println!(
            "answered {answered}, rows kept {kept}, lost {} (the writer batches up to 100 ms)",
            answered.saturating_sub(kept)
        );
        drop(victim);
        fast.shutdown().await;
        paced.shutdown().await;
    });
}
