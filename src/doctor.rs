//! `tokenbuddy doctor` and `GET /api/doctor`: checks that explain why an
//! agent is not going through TokenBuddy, each with a fix. Blocking I/O
//! (short timeouts); the API runs it on a blocking thread.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::agents::detect;
use crate::agents::journal::Journal;
use crate::agents::spec::Env;
use crate::agents::state::{Ours, State};
use crate::sellers::Seller;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = CheckStatus)]
pub enum Status {
    /// Fine.
    Ok,
    /// Works, but something may surprise the user.
    Warn,
    /// Broken.
    Fail,
}

/// One check.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Check {
    /// What was checked (`port`, `token`, `seller:<id>`, `agent:<id>`, `env:<VAR>`).
    pub id: String,
    /// The result.
    pub status: Status,
    /// What was found.
    pub message: String,
    /// What to do about it (empty when fine).
    pub fix: String,
}

fn check(
    id: impl Into<String>,
    status: Status,
    message: impl Into<String>,
    fix: impl Into<String>,
) -> Check {
    Check {
        id: id.into(),
        status,
        message: message.into(),
        fix: fix.into(),
    }
}

/// What the doctor looks at.
pub struct Input<'a> {
    /// Home directory.
    pub home: &'a Path,
    /// Environment.
    pub env: Env<'a>,
    /// Data directory.
    pub data_dir: &'a Path,
    /// The port TokenBuddy runs (or would run) on.
    pub port: u16,
    /// The sellers (from the file), or why they could not be read.
    pub sellers: Result<Vec<Seller>, String>,
}

const TIMEOUT: Duration = Duration::from_secs(2);

/// Variables in an agent's environment that override what TokenBuddy writes.
const SHADOWING: &[(&str, &str)] = &[
    (
        "OPENAI_BASE_URL",
        "sends OpenAI-compatible agents (Codex's built-in provider and others) to another server",
    ),
    (
        "ANTHROPIC_BASE_URL",
        "sends Anthropic clients elsewhere unless an agent's own settings override it",
    ),
    (
        "ANTHROPIC_API_KEY",
        "is preferred over TokenBuddy's token by Claude Code and Anthropic SDKs",
    ),
];

/// What answers on TokenBuddy's port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listener {
    /// TokenBuddy.
    Ours,
    /// Nothing: TokenBuddy is not running.
    Nothing,
    /// Another program.
    Other,
}

/// Runs every check.
pub fn run(input: &Input<'_>) -> Vec<Check> {
    let listener = listener(input.port);
    let mut checks = vec![port(listener, input.port), token(input.data_dir)];
    checks.extend(sellers(&input.sellers));
    let token = crate::token::read(input.data_dir).ok();
    if let Some(token) = &token {
        checks.extend(agents(input, token, listener));
    }
    checks.extend(store(input, token.as_deref(), listener));
    checks.extend(environment(input.env));
    checks
}

fn http_get(port: u16, path: &str) -> Option<String> {
    http_get_with(port, path, "")
}

/// A GET with extra header lines (each ending in `\r\n`); the whole reply.
fn http_get_with(port: u16, path: &str, headers: &str) -> Option<String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, TIMEOUT).ok()?;
    s.set_read_timeout(Some(TIMEOUT)).ok()?;
    s.write_all(
        format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n{headers}\r\n").as_bytes(),
    )
    .ok()?;
    let mut body = String::new();
    s.take(64 * 1024).read_to_string(&mut body).ok()?;
    Some(body)
}

fn listener(port: u16) -> Listener {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    if TcpStream::connect_timeout(&addr, TIMEOUT).is_err() {
        return Listener::Nothing;
    }
    match http_get(port, "/healthz") {
        Some(reply) if reply.contains("\"status\":\"ok\"") => Listener::Ours,
        _ => Listener::Other,
    }
}

fn port(listener: Listener, port: u16) -> Check {
    match listener {
        // Only a problem for the agents pointed here, which say so themselves.
        Listener::Nothing => check(
            "port",
            Status::Warn,
            format!("nothing listens on 127.0.0.1:{port}: TokenBuddy is not running"),
            "start it: `tokenbuddy serve` or the desktop app",
        ),
        Listener::Ours => {
            check("port", Status::Ok, format!("TokenBuddy is running on 127.0.0.1:{port}"), "")
        }
        Listener::Other => check(
            "port",
            Status::Fail,
            format!("127.0.0.1:{port} is taken by another program"),
            "stop that program, or run TokenBuddy on another port (--port) and configure the agents again",
        ),
    }
}

fn token(data_dir: &Path) -> Check {
    let file = crate::token::path(data_dir);
    let Ok(meta) = std::fs::metadata(&file) else {
        return check(
            "token",
            Status::Warn,
            format!("no token yet at {}", file.display()),
            "start TokenBuddy once; it creates the token",
        );
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return check(
                "token",
                Status::Fail,
                format!(
                    "{} is readable by other users (mode {mode:o})",
                    file.display()
                ),
                format!("chmod 600 '{}'", file.display()),
            );
        }
    }
    let _ = meta;
    check(
        "token",
        Status::Ok,
        format!("{} is private to you", file.display()),
        "",
    )
}

fn sellers(sellers: &Result<Vec<Seller>, String>) -> Vec<Check> {
    let list = match sellers {
        Err(e) => {
            return vec![check(
                "sellers",
                Status::Fail,
                e.clone(),
                "fix the sellers file; the last good one keeps serving meanwhile",
            )]
        }
        Ok(list) if list.is_empty() => {
            return vec![check(
                "sellers",
                Status::Warn,
                "no sellers are set up",
                "add one to sellers.yaml (see the README), or try `tokenbuddy serve --demo`",
            )]
        }
        Ok(list) => list,
    };
    list.iter()
        .map(|s| {
            let id = format!("seller:{}", s.id);
            let Ok(url) = reqwest::Url::parse(&s.base_url) else {
                return check(
                    id,
                    Status::Fail,
                    format!("base URL {} does not parse", s.base_url),
                    "fix base_url in sellers.yaml",
                );
            };
            let host = url
                .host_str()
                .unwrap_or_default()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string();
            let port = url.port_or_known_default().unwrap_or(443);
            let reachable = (host.as_str(), port)
                .to_socket_addrs()
                .ok()
                .and_then(|mut addrs| {
                    addrs.find(|a| TcpStream::connect_timeout(a, TIMEOUT).is_ok())
                });
            match reachable {
                Some(_) => check(
                    id,
                    Status::Ok,
                    format!("{} answers at {host}:{port}", s.name),
                    "",
                ),
                None => check(
                    id,
                    Status::Warn,
                    format!("{} is unreachable at {host}:{port}", s.name),
                    "check the base URL and your network; TokenBuddy routes around it meanwhile",
                ),
            }
        })
        .collect()
}

fn agents(input: &Input<'_>, token: &str, listener: Listener) -> Vec<Check> {
    let ours = Ours {
        port: input.port,
        token: token.to_string(),
    };
    let journal = Journal::new(input.data_dir);
    let configured = journal.all().unwrap_or_default();
    detect::report_all(input.home, input.env, &ours, &journal)
        .into_iter()
        .filter(|r| {
            configured.contains_key(r.id)
                || matches!(r.state, State::Configured | State::Stale | State::Drifted)
        })
        .map(|r| {
            let id = format!("agent:{}", r.id);
            let again = format!("tokenbuddy agents configure {} --port {}", r.id, input.port);
            let down = format!(
                "start TokenBuddy (`tokenbuddy serve` or the desktop app), or restore the agent: `tokenbuddy agents restore {}`",
                r.id
            );
            match (r.state, listener) {
                (State::Configured, Listener::Ours) => {
                    check(id, Status::Ok, format!("{}: {}", r.name, r.detail), "")
                }
                // Pointed at us, but nobody (or somebody else) answers: every request fails.
                (State::Configured, Listener::Nothing) => check(
                    id,
                    Status::Fail,
                    format!(
                        "{}: points at 127.0.0.1:{}, where nothing answers (TokenBuddy is not running): its requests fail",
                        r.name, input.port
                    ),
                    down,
                ),
                (State::Configured, Listener::Other) => check(
                    id,
                    Status::Fail,
                    format!(
                        "{}: points at 127.0.0.1:{}, where another program answers: its requests fail",
                        r.name, input.port
                    ),
                    down,
                ),
                (State::Stale, _) => {
                    check(id, Status::Fail, format!("{}: {}", r.name, r.detail), again)
                }
                (State::Drifted, _) => {
                    check(id, Status::Warn, format!("{}: {}", r.name, r.detail), again)
                }
                (State::Unreadable, _) => check(
                    id,
                    Status::Fail,
                    format!("{}: {}", r.name, r.detail),
                    "fix the file's syntax; TokenBuddy will not edit it until it parses",
                ),
                (State::Policy, _) => check(
                    id,
                    Status::Warn,
                    format!("{}: {}", r.name, r.detail),
                    "ask whoever manages this machine",
                ),
                (State::NotConfigured | State::Guide, _) => check(
                    id,
                    Status::Warn,
                    format!(
                        "{}: journaled as configured, but its file no longer points at TokenBuddy",
                        r.name
                    ),
                    again,
                ),
            }
        })
        .collect()
}

/// The store: what the running TokenBuddy says of it (dropped records, a
/// database moved aside, memory only), and databases moved aside earlier.
fn store(input: &Input<'_>, token: Option<&str>, listener: Listener) -> Vec<Check> {
    let mut checks = Vec::new();
    let db = input.data_dir.join(crate::store::config::DB_FILE);
    let live = match (listener, token) {
        (Listener::Ours, Some(token)) => {
            let auth = format!("Authorization: Bearer {token}\r\n");
            http_get_with(input.port, "/api/store", &auth)
                .and_then(|reply| reply.split_once("\r\n\r\n").map(|(_, b)| b.to_string()))
                .and_then(|body| serde_json::from_str::<serde_json::Value>(&body).ok())
        }
        _ => None,
    };
    if let Some(s) = &live {
        let n = |k: &str| s[k].as_u64().unwrap_or(0);
        if s["enabled"] == false {
            checks.push(check(
                "store",
                Status::Warn,
                "the store is off (TOKENBUDDY_STORE=off): no request log, usage or history",
                "unset TOKENBUDDY_STORE and restart TokenBuddy",
            ));
        } else if s["inMemory"] == true {
            checks.push(check(
                "store",
                Status::Warn,
                format!(
                    "the request log is kept in memory only ({}): it is lost when TokenBuddy stops",
                    s["lastIntegrityEvent"]["problem"]
                        .as_str()
                        .unwrap_or("the database could not be opened")
                ),
                format!(
                    "make {} a writable file (or remove it) and restart TokenBuddy",
                    db.display()
                ),
            ));
        } else {
            checks.push(check(
                "store",
                Status::Ok,
                format!(
                    "request log: {} rows in {} ({:.1} MB)",
                    n("rows"),
                    db.display(),
                    n("sizeBytes") as f64 / 1e6
                ),
                "",
            ));
        }
        if n("dropped") > 0 || n("writeErrors") > 0 {
            checks.push(check(
                "store:dropped",
                Status::Warn,
                format!(
                    "{} request records were not kept ({} write errors) since TokenBuddy started",
                    n("dropped"),
                    n("writeErrors")
                ),
                "check the disk (space, permissions); the log says why",
            ));
        }
    } else if db.exists() {
        checks.push(check(
            "store",
            Status::Ok,
            format!("request log: {}", db.display()),
            "",
        ));
    }
    let moved: Vec<String> = std::fs::read_dir(input.data_dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.starts_with("tokenbuddy.db.corrupt-") && !n.ends_with("-wal") && !n.ends_with("-shm")
        })
        .collect();
    if !moved.is_empty() {
        checks.push(check(
            "store:moved-aside",
            Status::Warn,
            format!(
                "a database TokenBuddy could not use was moved aside and replaced: {}",
                moved.join(", ")
            ),
            format!(
                "nothing to do for TokenBuddy; delete the file(s) in {} once you no longer want them",
                input.data_dir.display()
            ),
        ));
    }
    checks
}

fn environment(env: Env<'_>) -> Vec<Check> {
    let mut checks: Vec<Check> = SHADOWING
        .iter()
        .filter(|(var, _)| env(var).is_some_and(|v| !v.is_empty()))
        .map(|(var, what)| {
            check(
                format!("env:{var}"),
                Status::Warn,
                format!("{var} is set in this environment and {what}"),
                format!("remove `export {var}=…` from your shell profile, or unset it before starting agents"),
            )
        })
        .collect();
    let proxy = [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ]
    .iter()
    .find(|v| env(v).is_some_and(|x| !x.is_empty()));
    if let Some(var) = proxy {
        let no_proxy = env("NO_PROXY")
            .or_else(|| env("no_proxy"))
            .unwrap_or_default();
        if !no_proxy
            .split(',')
            .any(|h| matches!(h.trim(), "127.0.0.1" | "localhost" | "*"))
        {
            checks.push(check(
                "env:NO_PROXY",
                Status::Warn,
                format!("{var} is set and NO_PROXY does not list 127.0.0.1: agents may send TokenBuddy's traffic through that proxy"),
                "add 127.0.0.1,localhost to NO_PROXY",
            ));
        }
    }
    checks
}
