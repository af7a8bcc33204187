//! What translation costs: the real `tokenbuddy serve` in front of one
//! simulated seller, asked for 32-token streams by clients of each
//! protocol, once where the seller speaks the client's protocol
//! (pass-through) and once where it does not (translated), in one run.
//! Prints TTFT at c=1 (p50, p99) with the added time over pass-through, and
//! the proxy's CPU per request at c=16, with the ratio translated /
//! pass-through. Asserts nothing (speed is measured, not tested).
//!
//! Run: `cargo bench --bench translation` (add `-- --quick` for a short run).

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokenbuddy::protocol::sse::SseSplitter;
use tokenbuddy::protocol::{event, Protocol};
use tokenbuddy::sim::{Behavior, SimSeller};

mod support;

use support::Proxy;

/// One way a client is served: its protocol and the model that picks the seller.
#[derive(Clone, Copy)]
struct Path {
    name: &'static str,
    client: Protocol,
    model: &'static str,
}

/// The request body a `protocol` client sends for a short streamed answer.
fn body(protocol: Protocol, model: &str) -> serde_json::Value {
    let text = "Write a short greeting for the benchmark, please.";
    match protocol {
        Protocol::OpenAiChat => serde_json::json!({"model": model, "stream": true,
            "stream_options": {"include_usage": true},
            "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": text}]}),
        Protocol::OpenAiResponses => serde_json::json!({"model": model, "stream": true,
            "instructions": "Be brief.", "input": text}),
        Protocol::AnthropicMessages => {
            serde_json::json!({"model": model, "stream": true, "max_tokens": 256,
            "system": "Be brief.", "messages": [{"role": "user", "content": text}]})
        } // The model and the stream flag are in Gemini's path; not benched yet.
        Protocol::Gemini => {
            serde_json::json!({"systemInstruction": {"parts": [{"text": "Be brief."}]},
            "contents": [{"role": "user", "parts": [{"text": text}]}]})
        }
    }
}

/// One stream; returns its TTFT (to the first semantic event the client reads).
async fn one(client: &reqwest::Client, proxy: &Proxy, path: Path) -> Duration {
    let sent = Instant::now();
    let resp = client
        .post(format!("{}{}", proxy.url, path.client.path()))
        .bearer_auth(&proxy.token)
        .json(&body(path.client, path.model))
        .send()
        .await
        .expect("send");
    assert!(
        resp.status().is_success(),
        "{}: {}",
        path.name,
        resp.status()
    );
    let mut stream = resp.bytes_stream();
    let mut splitter = SseSplitter::new();
    let (mut first, mut ended) = (None, false);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.expect("chunk");
        let now = Instant::now();
        splitter.push(&chunk, |e| {
            let info = event::inspect(path.client, e.event, e.data);
            if info.semantic {
                first.get_or_insert(now);
            }
            ended |= info.terminal;
        });
    }
    assert!(ended, "{}: the stream ended properly", path.name);
    first.expect("a semantic event") - sent
}

/// `total` streams over `concurrency` workers.
async fn load(
    client: &reqwest::Client,
    proxy: &Arc<Proxy>,
    path: Path,
    concurrency: usize,
    total: usize,
) -> Vec<Duration> {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, proxy, next) = (client.clone(), Arc::clone(proxy), Arc::clone(&next));
            tokio::spawn(async move {
                let mut ttfts = Vec::new();
                while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < total {
                    ttfts.push(one(&client, &proxy, path).await);
                }
                ttfts
            })
        })
        .collect();
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.expect("worker"));
    }
    all.sort();
    all
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let n = |x: usize| if quick { x / 5 } else { x }.max(10);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let sim = SimSeller::start(Behavior {
            tokens: 32,
            ..Behavior::default()
        })
        .await
        .expect("sim");
        let url = sim.base_url();
        // The same simulated seller twice: once as a chat-only seller, once
        // as a messages-only one, so a model picks the protocol it is sent in.
        let yaml = format!(
            "sellers:\n  - id: chat-only\n    base_url: {url}\n    api_key: k\n    protocols: [openai-chat]\n    models: [on-chat]\n  - id: messages-only\n    base_url: {url}\n    api_key: k\n    protocols: [anthropic-messages]\n    models: [on-messages]\n"
        );
        let proxy = Arc::new(Proxy::start_with(&yaml, &[]));
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()
            .expect("client");
        let pairs = [
            (
                Path { name: "messages ← messages", client: Protocol::AnthropicMessages, model: "on-messages" },
                Path { name: "chat ← messages", client: Protocol::AnthropicMessages, model: "on-chat" },
            ),
            (
                Path { name: "chat ← chat", client: Protocol::OpenAiChat, model: "on-chat" },
                Path { name: "messages ← chat", client: Protocol::OpenAiChat, model: "on-messages" },
            ),
            (
                Path { name: "chat ← chat", client: Protocol::OpenAiChat, model: "on-chat" },
                Path { name: "chat ← responses", client: Protocol::OpenAiResponses, model: "on-chat" },
            ),
        ];
        println!("# Translation cost (loopback, one simulated seller, 32-token streams, 2-core machine)");
        for (native, translated) in pairs {
            for p in [native, translated] {
                load(&client, &proxy, p, 4, 40).await;
            }
            let reqs = n(500);
            let a = load(&client, &proxy, native, 1, reqs).await;
            let b = load(&client, &proxy, translated, 1, reqs).await;
            println!("\n## {} (pass-through) vs {} (translated)", native.name, translated.name);
            for (label, p) in [("p50", 0.5), ("p99", 0.99)] {
                println!(
                    "TTFT {label} at c=1, {reqs} requests: pass-through {:.3} ms, translated {:.3} ms, added {:.3} ms",
                    pct(&a, p),
                    pct(&b, p),
                    pct(&b, p) - pct(&a, p)
                );
            }
            let total = n(2000);
            let mut cpu = [0.0f64; 2];
            for (i, p) in [native, translated].into_iter().enumerate() {
                let before = proxy.cpu();
                load(&client, &proxy, p, 16, total).await;
                cpu[i] = (proxy.cpu() - before).as_secs_f64() * 1000.0 / total as f64;
            }
            println!(
                "proxy CPU per request at c=16, {total} requests: pass-through {:.3} ms, translated {:.3} ms, ratio {:.2}",
                cpu[0],
                cpu[1],
                cpu[1] / cpu[0]
            );
        }
    });
}
