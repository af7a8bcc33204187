//! Hostile or lazy clients against the real `tokenbuddy serve`: hundreds of
//! idle connections, request heads and bodies dripped a byte a second, and
//! more connections than the cap. A normal client is served meanwhile; the
//! server closes the others once their read timeout passes (they see EOF), a
//! slow body is answered 408 in its protocol's shape, and no more than the
//! cap of connections is ever held.
//!
//! The timeouts are shortened through the environment
//! (`TOKENBUDDY_HEADER_TIMEOUT`, `TOKENBUDDY_BODY_TIMEOUT`,
//! `TOKENBUDDY_MAX_CONNECTIONS`) so the suite runs in seconds.

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::process::{settle, Served};
use support::{events, request_body, seller_yaml, sellers_file, HANG};
use tokenbuddy::protocol::Protocol;
use tokenbuddy::sim::{Behavior, SimSeller};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const IDLE: usize = 300;
const DRIP_HEADS: usize = 40;
const DRIP_BODIES: usize = 10;

/// `n` connections to `port` that never say anything.
async fn idle_connections(port: u16, n: usize) -> Vec<TcpStream> {
    let mut idle = Vec::new();
    for _ in 0..n {
        idle.push(
            TcpStream::connect(("127.0.0.1", port))
                .await
                .expect("connect (the kernel's backlog takes it)"),
        );
    }
    idle
}

/// Stops `served` and checks it exited cleanly (its log on failure).
fn stop(served: Served) {
    let (status, log) = served.stop_logged();
    assert!(status.success(), "{status:?}; log:\n{}", log.join("\n"));
}

/// How a connection the test left lazy ended.
#[derive(Debug)]
struct Ended {
    /// Bytes the server sent before closing.
    received: Vec<u8>,
}

/// Sends `head`, then `drip` one byte a second, reading all along; returns
/// once the server closes the connection (EOF or reset), or panics after
/// [`HANG`]. Only reading is raced against the next byte, so the answer is
/// read before another byte could make the kernel reset the connection.
async fn drip(port: u16, head: Vec<u8>, drip: Vec<u8>) -> Ended {
    let mut tcp = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    tcp.write_all(&head).await.expect("send head");
    let mut pending = drip.into_iter();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    let ended = tokio::time::timeout(HANG, async {
        loop {
            tokio::select! {
                biased;
                read = tcp.read(&mut buf) => match read {
                    Ok(0) | Err(_) => return,
                    Ok(n) => received.extend_from_slice(&buf[..n]),
                },
                _ = tick.tick() => {
                    let Some(byte) = pending.next() else { continue };
                    if tcp.write_all(&[byte]).await.is_err() {
                        return;
                    }
                }
            }
        }
    })
    .await;
    assert!(
        ended.is_ok(),
        "the server kept a lazy connection open past its timeout (received {:?})",
        String::from_utf8_lossy(&received)
    );
    Ended { received }
}

/// The status line and JSON body of a raw HTTP/1 response.
fn parse_response(raw: &[u8]) -> (u16, Value) {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("not an HTTP response: {text:?}"));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    assert!(
        head.to_ascii_lowercase().contains("connection: close"),
        "{head}"
    );
    let body = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body:?}"));
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_dripping_clients_do_not_stop_a_normal_one_and_are_closed() {
    let seller = SimSeller::start(Behavior::default()).await.expect("sim");
    let data = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        data.path().join("sellers.yaml"),
        sellers_file(&[seller_yaml("sim", &seller.base_url(), &Protocol::ALL)]),
    )
    .expect("sellers.yaml");
    let served = Served::start(
        data.path(),
        &[],
        &[
            ("TOKENBUDDY_HEADER_TIMEOUT", "6s"),
            ("TOKENBUDDY_BODY_TIMEOUT", "6s"),
        ],
    );
    let (port, token) = (served.port, served.token.clone());
    let seller_ports = [seller.addr().port()];
    let before = support::load::Descriptors::now(&served, &seller_ports);

    // Hundreds of connections that never say anything.
    let idle = idle_connections(port, IDLE).await;
    // Request heads that never finish, a byte a second.
    let mut drips = Vec::new();
    for i in 0..DRIP_HEADS {
        let head = format!("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n");
        let slow = format!("X-Slow-{i}: {}", "a".repeat(40)).into_bytes();
        drips.push(tokio::spawn(drip(port, head.into_bytes(), slow)));
    }
    // Whole heads with the token, then bodies that trickle.
    let mut bodies = Vec::new();
    for i in 0..DRIP_BODIES {
        let protocol = if i % 2 == 0 {
            Protocol::OpenAiChat
        } else {
            Protocol::AnthropicMessages
        };
        let body = request_body(protocol, "m", false).to_string();
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            protocol.path(),
            body.len()
        );
        let task = tokio::spawn(drip(port, head.into_bytes(), body.into_bytes()));
        bodies.push((protocol, task));
    }
    let lazy = IDLE + DRIP_HEADS + DRIP_BODIES;
    settle(
        "the server holds every lazy connection",
        || served.client_sockets(),
        |&n| n >= lazy,
    )
    .await;

    // A normal client, while all of them are connected.
    let client = reqwest::Client::new();
    let started = Instant::now();
    let resp = client
        .post(served.url(Protocol::OpenAiChat.path()))
        .bearer_auth(&token)
        .json(&request_body(Protocol::OpenAiChat, "m", true))
        .send()
        .await
        .expect("the normal client is served");
    assert_eq!(resp.status(), 200);
    let bytes = support::read_all(resp).await;
    let latency = started.elapsed();
    let evs = events(Protocol::OpenAiChat, &bytes);
    assert!(
        evs.last().is_some_and(|e| e.terminal),
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    // Still all there: the normal client did not wait for them to go.
    let mut probe = [0u8; 1];
    for tcp in &idle {
        assert!(
            matches!(tcp.try_read(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
            "an idle connection was closed before the normal client was done"
        );
    }
    drop(client);

    // Then the server closes every lazy connection.
    for mut tcp in idle {
        let n = tokio::time::timeout(HANG, tcp.read(&mut probe))
            .await
            .expect("the server closes an idle connection after the header timeout");
        assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");
    }
    for d in drips {
        let ended = d.await.expect("drip task");
        assert!(ended.received.is_empty(), "{:?}", ended.received);
    }
    for (protocol, task) in bodies {
        let ended = task.await.expect("body task");
        let (status, body) = parse_response(&ended.received);
        assert_eq!(status, 408, "{body}");
        let message = match protocol {
            Protocol::AnthropicMessages => {
                assert_eq!(body["type"], "error", "{body}");
                &body["error"]["message"]
            }
            _ => {
                assert_eq!(body["error"]["code"], "request_timeout", "{body}");
                &body["error"]["message"]
            }
        };
        assert!(
            message
                .as_str()
                .is_some_and(|m| m.contains("did not arrive")),
            "{body}"
        );
    }
    // Only the normal request's seller connection may stay (pooled); the
    // rest settles back to the baseline (a descriptor can take a moment to
    // close under load — a leak never does).
    let after = settle(
        "no client connection left, every other descriptor back to the baseline",
        || support::load::Descriptors::now(&served, &seller_ports),
        |d| d.clients == 0 && d.other == before.other,
    )
    .await;
    assert!(
        served.logged("request body too slowly") > 0,
        "the 408s are logged"
    );
    println!(
        "figures: lazy clients held {lazy} ({IDLE} idle, {DRIP_HEADS} dripping heads, \
         {DRIP_BODIES} dripping bodies); normal client served in {:.1} ms; fds before {}, \
         after {} ({} pooled seller connection)",
        latency.as_secs_f64() * 1000.0,
        before.total,
        after.total,
        after.upstream,
    );
    stop(served);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_more_connections_than_the_cap_are_held() {
    const CAP: usize = 16;
    const OPENED: usize = 40;
    let data = tempfile::tempdir().expect("tempdir");
    let served = Served::start(
        data.path(),
        &[],
        &[
            ("TOKENBUDDY_HEADER_TIMEOUT", "1s"),
            ("TOKENBUDDY_MAX_CONNECTIONS", &CAP.to_string()),
        ],
    );
    let port = served.port;
    let idle = idle_connections(port, OPENED).await;
    settle(
        "the server fills its slots",
        || served.client_sockets(),
        |&n| n >= CAP,
    )
    .await;
    // A normal request queues behind the idle ones and is served once the
    // header timeout has freed slots; until then the server holds at most CAP.
    let request = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(HANG)).expect("timeout");
        write!(
            s,
            "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
        )
        .expect("send");
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    });
    let mut most = 0;
    while !request.is_finished() {
        let n = served.client_sockets();
        most = most.max(n);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let answer = request.await.expect("request task");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    assert!(most <= CAP, "held {most} connections with a cap of {CAP}");
    println!("figures: cap {CAP}, {OPENED} idle connections opened, at most {most} held");
    drop(idle);
    stop(served);
}
