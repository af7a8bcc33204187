//! Hostile and broken sellers against the real `tokenbuddy serve` process.
//!
//! Each case starts the binary on port 0 with its own data dir and short
//! time limits (`TOKENBUDDY_IDLE_TIMEOUT`, `TOKENBUDDY_TTFT_TIMEOUT`), routes
//! to the hostile seller first (`fixed` mode, a good seller on standby), and
//! checks what a demanding client would: it gets the answer (from the good
//! seller when the failure came before the commit point) or a
//! protocol-correct error, never a hang; the process's memory stays bounded
//! (peak RSS printed per case); nothing stays in flight.
//!
//! Sellers are simulated in this test process — HTTP ones by `SimSeller`,
//! failures below HTTP (resets, bytes that are not HTTP) by `RawSeller`.

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::process::Served;
use support::{
    events, read_all, read_to_first_delta, request_body, seller_of, seller_yaml, sellers_file, HANG,
};
use tokenbuddy::protocol::Protocol;
use tokenbuddy::sim::reply::{tokens, Reply, Script};
use tokenbuddy::sim::{
    anthropic_messages, openai_chat, openai_responses, Behavior, Failure, RawEnd, RawReply,
    RawSeller, SimSeller,
};

/// The idle limit the process runs with (the default is 5 minutes).
const IDLE: &str = "1s";
const IDLE_TIME: Duration = Duration::from_secs(1);
/// The TTFT limit the process runs with (the default is 90 s).
const TTFT: &str = "2s";

/// How much a hostile case may grow the process's peak RSS: far below what
/// holding a 10 MB line (or a 32 MB one without end) would take.
const RSS_GROWTH_LIMIT_KIB: u64 = 12 * 1024;

/// A running process with a hostile seller first and a good one on standby.
struct Scene {
    served: Served,
    client: reqwest::Client,
    rss_at_start: u64,
    _dir: tempfile::TempDir,
}

impl Scene {
    /// `hostile` first (fixed mode), `good` as the standby, if any.
    async fn start(hostile: &str, good: Option<&str>) -> Scene {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut entries = vec![seller_yaml("hostile", hostile, &Protocol::ALL)];
        if let Some(good) = good {
            entries.push(seller_yaml("good", good, &Protocol::ALL));
        }
        std::fs::write(dir.path().join("sellers.yaml"), sellers_file(&entries)).expect("write");
        let served = Served::start(
            dir.path(),
            &[],
            &[
                ("TOKENBUDDY_IDLE_TIMEOUT", IDLE),
                ("TOKENBUDDY_TTFT_TIMEOUT", TTFT),
            ],
        );
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let scene = Scene {
            rss_at_start: served.rss_kib(),
            served,
            client,
            _dir: dir,
        };
        let resp = scene
            .client
            .put(scene.served.url("/api/routing"))
            .bearer_auth(&scene.served.token)
            .json(&json!({"mode": "fixed", "fixedSeller": "hostile", "fixedFailover": true}))
            .send()
            .await
            .expect("PUT /api/routing");
        assert_eq!(resp.status(), 200, "routing set");
        scene
    }

    async fn call(&self, protocol: Protocol, stream: bool) -> reqwest::Response {
        tokio::time::timeout(
            HANG,
            self.client
                .post(self.served.url(&support::call_path(protocol, "m", stream)))
                .bearer_auth(&self.served.token)
                .json(&request_body(protocol, "m", stream))
                .send(),
        )
        .await
        .expect("response headers in time")
        .expect("TokenBuddy answers")
    }

    async fn sellers(&self) -> Value {
        self.client
            .get(self.served.url("/api/sellers"))
            .bearer_auth(&self.served.token)
            .send()
            .await
            .expect("GET /api/sellers")
            .json()
            .await
            .expect("json")
    }

    async fn stats(&self, id: &str) -> Value {
        support::seller_stats(&self.sellers().await, id)
    }

    /// Waits until no seller has a request in flight (the body's end
    /// releases its slot just after the last byte).
    async fn settles(&self) {
        tokio::time::timeout(HANG, async {
            loop {
                let all = self.sellers().await;
                let busy = all["sellers"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|s| s["stats"]["inFlight"] != 0));
                if !busy {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("in-flight returns to 0");
    }

    /// Prints the memory figure and checks it stayed bounded.
    fn memory(&self, case: &str) {
        let peak = self.served.peak_rss_kib();
        let grew = peak.saturating_sub(self.rss_at_start);
        println!(
            "[fault] {case}: peak RSS {peak} KiB (start {} KiB, +{grew} KiB)",
            self.rss_at_start
        );
        assert!(
            grew < RSS_GROWTH_LIMIT_KIB,
            "{case}: peak RSS grew by {grew} KiB"
        );
    }
}

/// What `seller` sent for its last request on `protocol`'s path.
fn sent_by(seller: &SimSeller, protocol: Protocol) -> Vec<u8> {
    seller
        .requests()
        .into_iter()
        .rfind(|r| support::call_path(protocol, "m", true).starts_with(&r.path))
        .expect("the seller served")
        .response_bytes()
}

/// A good seller's whole answer for the client.
fn assert_good_answer(protocol: Protocol, stream: bool, got: &[u8], good: &SimSeller, case: &str) {
    let sent = sent_by(good, protocol);
    assert_eq!(
        got,
        sent.as_slice(),
        "{case} {protocol}: the good seller's bytes"
    );
    if stream {
        let evs = events(protocol, got);
        assert!(evs.iter().any(|e| e.terminal) && evs.iter().all(|e| !e.error));
    }
}

/// The preamble and first `n` deltas of a real-looking stream of `protocol`.
fn stream_start(protocol: Protocol, n: usize) -> Vec<u8> {
    let reply = Reply {
        model: "m".into(),
        seq: 1,
        input_tokens: 3,
        cache_read: 0,
        cache_write: 0,
        tokens: tokens(4),
        include_usage: false,
        created: 0,
    };
    let script: Script = match protocol {
        Protocol::OpenAiChat => openai_chat::script(&reply),
        Protocol::OpenAiResponses => openai_responses::script(&reply),
        Protocol::AnthropicMessages => anthropic_messages::script(&reply),
        Protocol::Gemini => tokenbuddy::sim::gemini::script(&reply),
    };
    script
        .preamble
        .into_iter()
        .chain(script.deltas.into_iter().take(n))
        .collect::<String>()
        .into_bytes()
}

/// Each of `calls` (a protocol, streamed or not) is answered by the good
/// seller, byte for byte, after the hostile one failed before the commit
/// point (and was counted as failing); then nothing stays in flight and the
/// memory stayed bounded.
async fn good_seller_answers(
    scene: &Scene,
    good: &SimSeller,
    case: &str,
    calls: [(Protocol, bool); 3],
) {
    for (protocol, stream) in calls {
        let resp = scene.call(protocol, stream).await;
        assert_eq!(resp.status(), 200, "{case} {protocol}");
        assert_eq!(seller_of(&resp), "good", "{case} {protocol}");
        let got = read_all(resp).await;
        assert_good_answer(protocol, stream, &got, good, case);
    }
    let stats = scene.stats("hostile").await;
    assert!(stats["errors"].as_u64() >= Some(1), "{case}: {stats}");
    scene.settles().await;
    scene.memory(case);
}

const SSE_HEAD: &str =
    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_before_the_commit_point_are_replaced_by_the_next_seller() {
    let sse_then = |body: &[u8]| [SSE_HEAD.as_bytes(), body].concat();
    let raw_cases: Vec<(&str, RawReply)> = vec![
        (
            "reset mid-headers",
            RawReply {
                bytes: b"HTTP/1.1 200 OK\r\ncontent-type: text/event-str".to_vec(),
                end: RawEnd::Reset,
            },
        ),
        (
            "reset mid-body before content",
            RawReply {
                bytes: sse_then(b": hello\n\n"),
                end: RawEnd::Reset,
            },
        ),
        (
            "reset mid-body of a JSON answer",
            RawReply {
                bytes: b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 400\r\n\r\n{\"id\":\"x\",".to_vec(),
                end: RawEnd::Reset,
            },
        ),
        (
            "bytes that are not HTTP",
            RawReply {
                bytes: b"SSH-2.0-OpenSSH_9.6\r\n\0\xFF garbage\r\n\r\n".to_vec(),
                end: RawEnd::Close,
            },
        ),
    ];
    for (case, reply) in raw_cases {
        let raw = RawSeller::start(reply).await.expect("raw seller");
        let good = SimSeller::start(Behavior::default()).await.expect("good");
        let scene = Scene::start(&raw.base_url(), Some(&good.base_url())).await;
        let calls = [
            (Protocol::OpenAiChat, true),
            (Protocol::OpenAiResponses, false),
            (Protocol::AnthropicMessages, true),
        ];
        good_seller_answers(&scene, &good, case, calls).await;
        assert!(
            !raw.requests().is_empty(),
            "{case}: the hostile seller was tried"
        );
        raw.shutdown();
    }

    let sim_cases: Vec<(&str, Failure)> = vec![
        ("HTML page with status 200", Failure::Html { code: 200 }),
        ("HTTP 200 with an error body", Failure::OkErrorBody),
        ("redirect", Failure::Redirect { code: 302 }),
        ("stall before content", Failure::Stall { after_tokens: 0 }),
    ];
    for (case, failure) in sim_cases {
        let hostile = SimSeller::start(Behavior {
            failure: Some(failure),
            ..Behavior::default()
        })
        .await
        .expect("hostile");
        let good = SimSeller::start(Behavior::default()).await.expect("good");
        let scene = Scene::start(&hostile.base_url(), Some(&good.base_url())).await;
        let calls = [
            (Protocol::OpenAiChat, false),
            (Protocol::OpenAiResponses, true),
            (Protocol::AnthropicMessages, false),
        ];
        good_seller_answers(&scene, &good, case, calls).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_after_the_commit_point_end_with_the_protocols_error_event() {
    for protocol in Protocol::ALL {
        // A stall mid-stream: the idle limit fires.
        let stall = SimSeller::start(Behavior {
            tokens: 8,
            failure: Some(Failure::Stall { after_tokens: 2 }),
            ..Behavior::default()
        })
        .await
        .expect("stall");
        // A reset mid-body, after content.
        let reset = RawSeller::start(RawReply {
            bytes: [SSE_HEAD.as_bytes(), &stream_start(protocol, 1)].concat(),
            end: RawEnd::Reset,
        })
        .await
        .expect("raw");
        for (case, url, deltas, why) in [
            ("stall mid-stream", stall.base_url(), 2, "silent"),
            ("reset mid-stream", reset.base_url(), 1, "broke"),
        ] {
            let scene = Scene::start(&url, None).await;
            let started = Instant::now();
            let resp = scene.call(protocol, true).await;
            assert_eq!(resp.status(), 200, "{case} {protocol}");
            let got = read_all(resp).await;
            let evs = events(protocol, &got);
            assert_eq!(
                evs.iter().filter(|e| e.semantic).count(),
                deltas,
                "{case} {protocol}"
            );
            assert!(
                evs.last().is_some_and(|e| e.error),
                "{case} {protocol}: ends with an error event: {}",
                String::from_utf8_lossy(&got)
            );
            assert!(
                String::from_utf8_lossy(&got).contains(why),
                "{case} {protocol}"
            );
            println!(
                "[fault] {case} ({protocol}): error event after {} ms",
                started.elapsed().as_millis()
            );
            let stats = scene.stats("hostile").await;
            assert_eq!(stats["errors"], 1, "{case} {protocol}: {stats}");
            scene.settles().await;
            scene.memory(&format!("{case} ({protocol})"));
        }
        reset.shutdown();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_lines_flow_through_untouched_in_bounded_memory() {
    let cases = [
        ("10 MB line", 1, 10_000_000, true),
        ("24 MB line before any content", 0, 24_000_000, true),
        ("32 MB without a newline", 1, 32_000_000, false),
    ];
    for (case, after_tokens, bytes, newline) in cases {
        let protocol = Protocol::OpenAiChat;
        let hostile = SimSeller::start(Behavior {
            tokens: 4,
            failure: Some(Failure::HugeLine {
                after_tokens,
                bytes,
                newline,
            }),
            ..Behavior::default()
        })
        .await
        .expect("hostile");
        let scene = Scene::start(&hostile.base_url(), None).await;
        let resp = scene.call(protocol, true).await;
        assert_eq!(resp.status(), 200, "{case}");
        let got = read_all(resp).await;
        let sent = sent_by(&hostile, protocol);
        let evs = events(protocol, &got);
        if newline {
            // Byte for byte, and the stream ends as it should.
            assert!(
                got == sent,
                "{case}: {} bytes sent, {} got",
                sent.len(),
                got.len()
            );
            assert!(evs.iter().any(|e| e.terminal) && evs.iter().all(|e| !e.error));
        } else {
            // What was sent, then the error event: the line never ended.
            assert!(got.starts_with(&sent), "{case}: the bytes arrive untouched");
            assert!(got.len() > sent.len(), "{case}");
            assert!(evs.last().is_some_and(|e| e.error), "{case}");
        }
        scene.settles().await;
        scene.memory(case);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_in_the_stream_passes_untouched() {
    let hostile = SimSeller::start(Behavior {
        tokens: 6,
        failure: Some(Failure::InvalidUtf8),
        ..Behavior::default()
    })
    .await
    .expect("hostile");
    let scene = Scene::start(&hostile.base_url(), None).await;
    for protocol in Protocol::ALL {
        let resp = scene.call(protocol, true).await;
        assert_eq!(resp.status(), 200, "{protocol}");
        let got = read_all(resp).await;
        let sent = sent_by(&hostile, protocol);
        assert!(
            std::str::from_utf8(&sent).is_err(),
            "the seller sent invalid UTF-8"
        );
        assert_eq!(got, sent, "{protocol}: byte for byte");
        let evs = events(protocol, &got);
        assert_eq!(evs.iter().filter(|e| e.semantic).count(), 6, "{protocol}");
        assert!(evs.iter().all(|e| !e.error), "{protocol}");
    }
    let stats = scene.stats("hostile").await;
    assert_eq!(stats["errors"], 0, "{stats}");
    assert_eq!(
        stats["outputTokens"],
        6 * Protocol::ALL.len(),
        "metered through the bad bytes: {stats}"
    );
    scene.settles().await;
    scene.memory("invalid UTF-8");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_drip_flows_but_the_ttft_limit_still_holds_before_commit() {
    let protocol = Protocol::OpenAiChat;
    // After content: the last 14 bytes (`data: [DONE]\n\n`) at 4 per second,
    // 3.5 s in all, each gap a quarter of the 1 s idle limit: never cut.
    let every = Duration::from_millis(250);
    let dripping = SimSeller::start(Behavior {
        tokens: 3,
        failure: Some(Failure::Drip {
            every,
            last_bytes: Some(14),
        }),
        ..Behavior::default()
    })
    .await
    .expect("drip");
    let scene = Scene::start(&dripping.base_url(), None).await;
    let started = Instant::now();
    let resp = scene.call(protocol, true).await;
    assert_eq!(resp.status(), 200);
    let got = read_all(resp).await;
    let took = started.elapsed();
    let evs = events(protocol, &got);
    assert!(
        evs.iter().any(|e| e.terminal),
        "{}",
        String::from_utf8_lossy(&got)
    );
    assert!(evs.iter().all(|e| !e.error));
    // The premise: the stream outlasted the idle limit several times over.
    assert!(took > IDLE_TIME * 3, "{took:?}");
    println!(
        "[fault] slow drip: 14 bytes at {every:?} each flowed in {took:?} (idle limit {IDLE})"
    );
    assert_eq!(scene.stats("hostile").await["errors"], 0);
    scene.settles().await;
    scene.memory("slow drip after content");
    drop(scene);

    // Before content: a byte every 250 ms never reaches a first token within
    // the 2 s TTFT limit, so the next seller answers.
    let dripping = SimSeller::start(Behavior {
        failure: Some(Failure::Drip {
            every,
            last_bytes: None,
        }),
        ..Behavior::default()
    })
    .await
    .expect("drip");
    let good = SimSeller::start(Behavior::default()).await.expect("good");
    let scene = Scene::start(&dripping.base_url(), Some(&good.base_url())).await;
    let resp = scene.call(protocol, true).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(seller_of(&resp), "good");
    let got = read_all(resp).await;
    assert_good_answer(protocol, true, &got, &good, "slow drip before content");
    let stats = scene.stats("hostile").await;
    assert!(
        stats["lastError"]
            .as_str()
            .is_some_and(|e| e.contains("no first token in time")),
        "{stats}"
    );
    scene.settles().await;
    scene.memory("slow drip before content");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_disconnects_mid_stream_cancels_the_upstream_request() {
    // Long and paced: the stream would run 10 s if nobody cancelled it.
    let seller = SimSeller::start(Behavior {
        tokens: 200,
        tokens_per_sec: Some(20.0),
        ..Behavior::default()
    })
    .await
    .expect("seller");
    let scene = Scene::start(&seller.base_url(), None).await;
    for (n, protocol) in Protocol::ALL.into_iter().enumerate() {
        let resp = scene.call(protocol, true).await;
        assert_eq!(resp.status(), 200, "{protocol}");
        let mut body = resp.bytes_stream();
        let mut received = Vec::new();
        // Content arrives.
        read_to_first_delta(protocol, &mut body, &mut received).await;
        let gone = Instant::now();
        drop(body);
        tokio::time::timeout(HANG, seller.wait_cancelled(n as u64 + 1))
            .await
            .expect("the seller sees its response cancelled");
        println!(
            "[fault] client gone ({protocol}): seller saw the cancel after {} ms",
            gone.elapsed().as_millis()
        );
        scene.settles().await;
    }
    let stats = scene.stats("hostile").await;
    assert_eq!(
        stats["errors"], 0,
        "the client's leaving is no one's failure: {stats}"
    );
    assert_eq!(stats["circuit"], "closed", "{stats}");
    assert_eq!(stats["lastError"], Value::Null, "{stats}");
    scene.memory("client disconnects");
}
