//! A raw TCP seller, for failures below HTTP that an HTTP server cannot
//! make: a connection reset in the middle of the headers or of the body, and
//! bytes that are not HTTP at all. Each connection reads one request (head
//! and `Content-Length` body), answers exactly the scripted bytes, and then
//! resets (RST) or closes the connection.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Longest request head read (the simulator's clients are ours).
const MAX_HEAD: usize = 64 << 10;

/// How a raw answer ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawEnd {
    /// An abortive close: the peer sees "connection reset".
    Reset,
    /// A normal close (FIN) after the bytes.
    Close,
}

/// The bytes a raw seller answers every request with, and how it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawReply {
    /// Written as they are, in one go.
    pub bytes: Vec<u8>,
    /// Then the connection ends so.
    pub end: RawEnd,
}

/// A running raw seller on 127.0.0.1.
pub struct RawSeller {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl RawSeller {
    /// Starts answering every connection with `reply`.
    pub async fn start(reply: RawReply) -> std::io::Result<RawSeller> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let requests: Arc<Mutex<Vec<String>>> = Arc::default();
        let log = Arc::clone(&requests);
        let reply = Arc::new(reply);
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (log, reply) = (Arc::clone(&log), Arc::clone(&reply));
                tokio::spawn(async move {
                    if let Err(e) = answer(tcp, &reply, &log).await {
                        tracing::debug!(error = %e, "raw seller connection ended");
                    }
                });
            }
        });
        Ok(RawSeller {
            addr,
            requests,
            task,
        })
    }

    /// `http://127.0.0.1:<port>` (no `/v1`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The request line of every request read (`POST /v1/messages HTTP/1.1`).
    pub fn requests(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Stops accepting.
    pub fn shutdown(self) {
        self.task.abort();
    }
}

async fn answer(
    mut tcp: TcpStream,
    reply: &RawReply,
    log: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    let head = read_request(&mut tcp).await?;
    let line = head.lines().next().unwrap_or_default().to_string();
    log.lock().unwrap_or_else(|p| p.into_inner()).push(line);
    tcp.write_all(&reply.bytes).await?;
    tcp.flush().await?;
    match reply.end {
        // SO_LINGER 0: closing sends RST instead of FIN.
        RawEnd::Reset => tcp.set_zero_linger()?,
        RawEnd::Close => tcp.shutdown().await?,
    }
    Ok(())
}

/// Reads one request's head and its `Content-Length` body; returns the head.
async fn read_request(tcp: &mut TcpStream) -> std::io::Result<String> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if buf.len() > MAX_HEAD {
            return Err(std::io::Error::other("request head too long"));
        }
        let n = tcp.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let length = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut left = length.saturating_sub(buf.len() - end);
    while left > 0 {
        let n = tcp.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        left = left.saturating_sub(n);
    }
    Ok(head)
}
