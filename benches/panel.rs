//! The control panel under load (issue 10, acceptance 4): 50 simulated
//! sellers, 100 requests/s through a real `tokenbuddy serve`; the core's CPU
//! with no panel open against one open (headless Chromium on the panel's
//! own URL), the page's long tasks per minute, and the bytes/s of the event
//! stream. Prints figures; asserts nothing.
//!
//! Run: `npm run build:ui && cargo bench --bench panel` (`-- --quick` for a short run).

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use support::{open_loop, Pace, Proxy};
use tokenbuddy::sim::{Behavior, SimSeller};

const SELLERS: usize = 50;
const RATE: u64 = 100;

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let phase = Duration::from_secs(if quick { 10 } else { 30 });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let mut sims = Vec::new();
        let mut yaml = String::from("sellers:\n");
        for i in 0..SELLERS {
            let sim = SimSeller::start(Behavior {
                ttft: Duration::from_millis(20 + (i as u64 % 10) * 15),
                tokens: 24,
                tokens_per_sec: Some(400.0 + i as f64 * 10.0),
                ..Behavior::default()
            })
            .await
            .expect("sim");
            yaml += &format!(
                "  - id: s{i:02}\n    base_url: {}\n    api_key: k\n    protocols: [openai-chat, openai-responses, anthropic-messages]\n    models: [fast]\n",
                sim.base_url()
            );
            sims.push(sim);
        }
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/ui/dist");
        let proxy = Proxy::start_with(&yaml, &[("TOKENBUDDY_UI_DIR", root)]);
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .build()
            .expect("client");
        println!("# The control panel under load: {SELLERS} sellers, {RATE} requests/s (2-core machine)");
        // Spread the load so every seller has numbers before measuring.
        let pace = |span| Pace { rate: RATE, span, cap: 128 };
        open_loop(&client, &proxy.url, &proxy.token, pace(Duration::from_secs(5)), None).await;

        let cpu0 = proxy.cpu();
        let (ok, failed, _) = open_loop(&client, &proxy.url, &proxy.token, pace(phase), None).await;
        let closed = proxy.cpu() - cpu0;
        println!(
            "\n## panel closed, {} s: {ok} answered, {failed} failed; core CPU {:.1} % of one core",
            phase.as_secs(),
            closed.as_secs_f64() / phase.as_secs_f64() * 100.0
        );

        // Panel open: the page in Chromium, and one more event-stream reader to count bytes.
        let events = {
            let (client, url, token) = (client.clone(), proxy.url.clone(), proxy.token.clone());
            tokio::spawn(async move {
                let Ok(resp) = client.get(format!("{url}/api/events")).bearer_auth(token).send().await else {
                    return None;
                };
                if !resp.status().is_success() {
                    return None;
                }
                let started = Instant::now();
                let mut body = resp.bytes_stream();
                let mut bytes = 0usize;
                let mut frames = 0usize;
                while started.elapsed() < phase {
                    match tokio::time::timeout(phase.saturating_sub(started.elapsed()), body.next()).await {
                        Ok(Some(Ok(chunk))) => {
                            bytes += chunk.len();
                            frames += chunk.windows(2).filter(|w| w == b"\n\n").count();
                        }
                        _ => break,
                    }
                }
                Some((bytes, frames, started.elapsed()))
            })
        };
        let page = {
            let panel = proxy.panel.clone();
            let secs = phase.as_secs().to_string();
            tokio::task::spawn_blocking(move || {
                Command::new("node")
                    .args([concat!(env!("CARGO_MANIFEST_DIR"), "/benches/panel_page.mjs"), &panel, &secs])
                    .output()
            })
        };
        let cpu0 = proxy.cpu();
        let (ok, failed, _) = open_loop(&client, &proxy.url, &proxy.token, pace(phase), None).await;
        let open = proxy.cpu() - cpu0;
        println!(
            "\n## panel open, {} s: {ok} answered, {failed} failed; core CPU {:.1} % of one core ({:+.1} points with the panel)",
            phase.as_secs(),
            open.as_secs_f64() / phase.as_secs_f64() * 100.0,
            (open.as_secs_f64() - closed.as_secs_f64()) / phase.as_secs_f64() * 100.0
        );
        match events.await.expect("events reader") {
            Some((bytes, frames, took)) => println!(
                "event stream: {:.0} bytes/s, {:.1} events/s",
                bytes as f64 / took.as_secs_f64(),
                frames as f64 / took.as_secs_f64()
            ),
            None => println!("event stream: /api/events not served"),
        }
        match page.await.expect("page task") {
            Ok(out) if out.status.success() => {
                println!("page: {}", String::from_utf8_lossy(&out.stdout).trim())
            }
            Ok(out) => println!("page: failed: {}", String::from_utf8_lossy(&out.stderr).trim()),
            Err(e) => println!("page: node did not run: {e}"),
        }
        println!("core RSS: {:.1} MB", proxy.rss_mb());
        drop(proxy);
        for s in sims {
            s.shutdown().await;
        }
    });
}
