//! The real `tokenbuddy serve` process, for black-box suites: spawned on
//! port 0 with its own data dir, its log (stderr) captured so tests can grep
//! it, measured through `/proc` (RSS, open descriptors, CPU time), stopped by
//! SIGTERM. The simulated sellers stay in the test process: they are the
//! outside world, the process under test is ours.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The `tokenbuddy` binary cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_tokenbuddy");

/// A `tokenbuddy` command with `data` as its data dir and a quiet default log.
pub fn command(data: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.env("TOKENBUDDY_DATA_DIR", data)
        .env_remove("TOKENBUDDY_LOG");
    c
}

/// A running `tokenbuddy serve`.
pub struct Served {
    child: Child,
    /// The port it listens on.
    pub port: u16,
    /// Its access token.
    pub token: String,
    /// Its data dir.
    pub data_dir: PathBuf,
    log: Arc<Mutex<Vec<String>>>,
}

impl Served {
    /// Starts `tokenbuddy serve --port 0` on `data_dir` with extra `args`
    /// and environment `envs`; returns once it printed its listening line.
    pub fn start(data_dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Served {
        let mut cmd = command(data_dir);
        cmd.args(["serve", "--port", "0"]).args(args);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tokenbuddy serve");
        let log: Arc<Mutex<Vec<String>>> = Arc::default();
        let stderr = child.stderr.take().expect("stderr piped");
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap_or_else(|p| p.into_inner()).push(line);
            }
        });
        let stdout = child.stdout.take().expect("stdout piped");
        let mut lines = BufReader::new(stdout).lines();
        let first = match lines.next() {
            Some(Ok(l)) => l,
            other => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "tokenbuddy serve printed no listening line ({other:?}); log:\n{}",
                    log.lock().unwrap_or_else(|p| p.into_inner()).join("\n")
                );
            }
        };
        let port = first
            .strip_prefix("TokenBuddy listening on http://127.0.0.1:")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line: {first}"));
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        let token = std::fs::read_to_string(data_dir.join("token"))
            .expect("token file")
            .trim()
            .to_string();
        Served {
            child,
            port,
            token,
            data_dir: data_dir.to_path_buf(),
            log,
        }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Every log line so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// How many log lines so far contain `needle`.
    pub fn logged(&self, needle: &str) -> usize {
        let log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        log.iter().filter(|l| l.contains(needle)).count()
    }

    /// Resident memory now, in KiB.
    pub fn rss_kib(&self) -> u64 {
        status_field(self.pid(), "VmRSS:")
    }

    /// The most resident memory so far, in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        status_field(self.pid(), "VmHWM:")
    }

    /// Open file descriptors now.
    pub fn fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    /// User plus system CPU time used so far.
    pub fn cpu_time(&self) -> Duration {
        cpu_time(self.pid())
    }

    /// The TCP sockets it holds open, with their ports and states.
    pub fn tcp_sockets(&self) -> Vec<TcpSocket> {
        tcp_sockets(self.pid())
    }

    /// The client connections it holds (to its port, not its listener).
    pub fn client_sockets(&self) -> usize {
        client_sockets(self.port, &self.tcp_sockets())
    }

    /// Like [`Served::stop`], also returning the log (for failure messages).
    pub fn stop_logged(self) -> (ExitStatus, Vec<String>) {
        let log = Arc::clone(&self.log);
        let status = self.stop();
        let lines = log.lock().unwrap_or_else(|p| p.into_inner()).clone();
        (status, lines)
    }

    /// Sends SIGTERM and waits for the exit (a kill after 20 s).
    pub fn stop(mut self) -> ExitStatus {
        signal(self.pid(), "TERM");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return status,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => {
                    let _ = self.child.kill();
                    return self.child.wait().expect("wait");
                }
            }
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Sends `SIG<name>` to `pid`.
pub fn signal(pid: u32, name: &str) {
    let _ = Command::new("kill")
        .args([format!("-{name}"), pid.to_string()])
        .status();
}

fn status_field(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// User plus system CPU time of process `pid` (from `/proc/<pid>/stat`).
pub fn cpu_time(pid: u32) -> Duration {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return Duration::ZERO;
    };
    // The command name may hold spaces: fields are counted after its ')'.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return Duration::ZERO;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after ')'.
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|v| v.parse::<u64>().ok()))
        .sum();
    Duration::from_millis(ticks * 1000 / clock_ticks())
}

fn clock_ticks() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .filter(|&t| t > 0)
        .unwrap_or(100)
}

/// One TCP socket a process holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpSocket {
    /// Its local port.
    pub local_port: u16,
    /// The peer's port (0 for a listener).
    pub remote_port: u16,
    /// The kernel's state code (`0x01` established, `0x0A` listening, …).
    pub state: u8,
    /// The socket's inode (what `/proc/<pid>/fd` links name).
    pub inode: u64,
}

impl TcpSocket {
    /// The kernel's state code for a listening socket.
    pub const LISTEN: u8 = 0x0A;
}

/// The TCP sockets among `pid`'s open descriptors (matched by inode against
/// `/proc/<pid>/net/tcp` and `tcp6`). Only sockets open throughout the
/// reading count: the descriptors are listed before and after the kernel's
/// tables and a socket must be in both lists, so a count never exceeds what
/// was open at one instant, even while connections churn (and a socket the
/// table repeats counts once).
pub fn tcp_sockets(pid: u32) -> Vec<TcpSocket> {
    let socket_inodes = || -> std::collections::HashSet<u64> {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            return Default::default();
        };
        fds.flatten()
            .filter_map(|e| std::fs::read_link(e.path()).ok())
            .filter_map(|target| {
                let t = target.to_string_lossy().into_owned();
                t.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
            })
            .collect()
    };
    let before = socket_inodes();
    let tables: Vec<String> = ["tcp", "tcp6"]
        .iter()
        .filter_map(|t| std::fs::read_to_string(format!("/proc/{pid}/net/{t}")).ok())
        .collect();
    let after = socket_inodes();
    let inodes: std::collections::HashSet<u64> = before.intersection(&after).copied().collect();
    let port = |addr: &str| {
        addr.rsplit_once(':')
            .and_then(|(_, p)| u16::from_str_radix(p, 16).ok())
            .unwrap_or(0)
    };
    let mut out = Vec::new();
    for text in &tables {
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(remote), Some(state), Some(inode)) =
                (f.get(1), f.get(2), f.get(3), f.get(9))
            else {
                continue;
            };
            let Ok(inode) = inode.parse::<u64>() else {
                continue;
            };
            // The kernel's table can list a socket twice when it changes
            // while being read in chunks: count each inode once.
            if inodes.contains(&inode) && !out.iter().any(|s: &TcpSocket| s.inode == inode) {
                out.push(TcpSocket {
                    local_port: port(local),
                    remote_port: port(remote),
                    state: u8::from_str_radix(state, 16).unwrap_or(0),
                    inode,
                });
            }
        }
    }
    out
}

/// How many of `sockets` are connections from clients to `port` (the
/// listener itself not counted).
pub fn client_sockets(port: u16, sockets: &[TcpSocket]) -> usize {
    sockets
        .iter()
        .filter(|s| s.local_port == port && s.state != TcpSocket::LISTEN)
        .count()
}

/// Polls `read` (a reading of the process: `/proc` has no events to wait
/// on) until `ok` holds for its value; panics with the last value after
/// 20 s, the suites' hang guard.
pub async fn settle<T: std::fmt::Debug>(
    what: &str,
    mut read: impl FnMut() -> T,
    ok: impl Fn(&T) -> bool,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = read();
        if ok(&now) {
            return now;
        }
        assert!(
            Instant::now() < deadline,
            "never settled: {what}; last {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A loopback port free right now (for a server a test starts itself).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}
