//! What is installed and where each agent stands: binaries on PATH (and the
//! login shell's PATH on macOS, where a tray app gets a short one; PATHEXT on
//! Windows through `which`), known install folders and app bundles, a
//! version read from the npm package when that is cheap, the config file
//! and its state.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::doc::json::Dialect;
use super::doc::ConfigDoc;
use super::journal::Journal;
use super::patch;
use super::spec::{AgentSpec, Context, Env, Format, Target, AGENTS};
use super::state::{self, Ours, State};

/// One agent as `tokenbuddy agents --json` and `GET /api/agents` show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentReport {
    /// Stable id.
    pub id: &'static str,
    /// Display name.
    pub name: &'static str,
    /// Whether a binary or app was found.
    pub installed: bool,
    /// Where (binary or app path).
    #[schema(value_type = Option<String>)]
    pub location: Option<PathBuf>,
    /// Its version, when cheap to read.
    pub version: Option<String>,
    /// The config file TokenBuddy edits (`null` for guide-only agents).
    #[schema(value_type = Option<String>)]
    pub config_path: Option<PathBuf>,
    /// Whether that file exists.
    pub config_exists: bool,
    /// `toml`, `json`, `jsonc`, `json5` or `yaml`.
    pub format: Option<&'static str>,
    /// The state.
    pub state: State,
    /// Why, in a sentence.
    pub detail: String,
    /// The model the config selects now.
    pub model: Option<String>,
    /// How to set it up by hand (guide-only agents).
    pub guide: Option<String>,
}

/// The search path for binaries: `PATH`, plus the login shell's on macOS.
pub fn search_path(env: Env<'_>) -> OsString {
    let mut dirs: Vec<PathBuf> = env("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if cfg!(target_os = "macos") {
        for dir in login_shell_path(env) {
            if !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
    }
    std::env::join_paths(dirs).unwrap_or_default()
}

/// The PATH an interactive login shell sets up (macOS gives GUI apps only
/// the system directories). Empty when the shell cannot tell within 3 s.
fn login_shell_path(env: Env<'_>) -> Vec<PathBuf> {
    let Some(shell) = env("SHELL") else {
        return Vec::new();
    };
    let child = std::process::Command::new(shell)
        .args(["-lic", "printf %s \"$PATH\""])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn();
    let Ok(mut child) = child else {
        return Vec::new();
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            _ => {
                let _ = child.kill();
                return Vec::new();
            }
        }
    }
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        let _ = std::io::Read::read_to_string(&mut stdout, &mut out);
    }
    std::env::split_paths(out.trim()).collect()
}

/// The first of `names` on `path`, else in one of the install folders.
pub fn find_binary(
    names: &[&str],
    install_dirs: &[&str],
    home: &Path,
    path: &OsString,
) -> Option<PathBuf> {
    let cwd = home.to_path_buf();
    for name in names {
        if let Ok(found) = which::which_in(name, Some(path), &cwd) {
            return Some(found);
        }
    }
    let extra: Vec<PathBuf> = install_dirs.iter().map(|d| home.join(d)).collect();
    let extra = std::env::join_paths(extra).ok()?;
    names
        .iter()
        .find_map(|n| which::which_in(n, Some(&extra), &cwd).ok())
}

/// The first app bundle or folder of `apps` that exists (`~/` is home; a
/// final `*` matches a name prefix, for versioned extension folders).
pub fn find_app(apps: &[&str], home: &Path) -> Option<PathBuf> {
    apps.iter().find_map(|app| {
        let path = match app.strip_prefix("~/") {
            Some(rest) => home.join(rest),
            None => PathBuf::from(app),
        };
        let Some(prefix) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix('*'))
        else {
            return path.exists().then_some(path);
        };
        let dir = path.parent()?;
        std::fs::read_dir(dir)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(prefix))
            })
    })
}

/// The version of the npm package a binary belongs to (its symlink leads
/// into `node_modules/<pkg>/`), without running it.
pub fn npm_version(binary: &Path) -> Option<String> {
    let real = std::fs::canonicalize(binary).ok()?;
    for dir in real.ancestors().skip(1).take(5) {
        let Ok(text) = std::fs::read_to_string(dir.join("package.json")) else {
            continue;
        };
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        return v.get("version")?.as_str().map(str::to_string);
    }
    None
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Toml => "toml",
        Format::Yaml => "yaml",
        Format::Json(Dialect::Json) => "json",
        Format::Json(Dialect::Jsonc) => "jsonc",
        Format::Json(Dialect::Json5) => "json5",
    }
}

/// Fills `{url}` and `{token}` in a guide.
pub fn fill_guide(guide: &str, ours: &Ours) -> String {
    guide
        .replace("{url}", &format!("http://127.0.0.1:{}", ours.port))
        .replace("{token}", &ours.token)
}

/// Reports one agent.
pub fn report(
    spec: &AgentSpec,
    home: &Path,
    env: Env<'_>,
    path: &OsString,
    ours: &Ours,
    journal: &Journal,
) -> AgentReport {
    let binary = find_binary(spec.binaries, spec.install_dirs, home, path);
    let version = binary.as_deref().and_then(npm_version);
    let location = binary.or_else(|| find_app(spec.apps, home));
    let config_path = (spec.config_path)(home, env);
    let mut r = AgentReport {
        id: spec.id,
        name: spec.name,
        installed: location.is_some(),
        location,
        version,
        config_exists: config_path.as_ref().is_some_and(|p| p.exists()),
        format: config_path.as_ref().map(|_| format_name(spec.format)),
        config_path: config_path.clone(),
        state: State::Guide,
        detail: String::new(),
        model: None,
        guide: None,
    };
    let Some(file) = config_path else {
        r.detail = "set up by hand".into();
        r.guide = spec.guide.map(|g| fill_guide(g, ours));
        return r;
    };
    let entry = journal.get(spec.id).ok().flatten();
    let read = match patch::read_all(spec, &file) {
        Ok(read) => read,
        Err(e) => {
            r.state = State::Unreadable;
            r.detail = match e {
                patch::PatchError::Parse { path, source } => {
                    format!("{}: {source}", path.display())
                }
                e => format!("{}: {e}", file.display()),
            };
            return r;
        }
    };
    let doc: &dyn ConfigDoc = &read.doc;
    r.model = (spec.current_model)(doc);
    let (state, detail) = state::classify(spec, doc, entry.as_ref(), ours);
    // The keys a configure would own, for the policy check.
    let probe = Target {
        url: "http://127.0.0.1:0",
        token: "",
        native: &crate::protocol::Protocol::ALL,
        model: "m",
    };
    let owned: Vec<Vec<String>> = (spec.edits)(&Context {
        target: probe,
        doc,
        path: &file,
        env,
    })
    .map(|plan| plan.edits.into_iter().map(|e| e.key).collect())
    .unwrap_or_default();
    match patch::policy_override(spec, env, &owned) {
        Some(policy) if state != State::Configured => {
            r.state = State::Policy;
            r.detail = format!(
                "managed settings in {} override the user's file",
                policy.display()
            );
            // Where the file route is blocked, the guide says what to do by hand.
            r.guide = spec.guide.map(|g| fill_guide(g, ours));
        }
        _ => {
            r.state = state;
            r.detail = detail;
        }
    }
    r
}

/// Reports every agent in the table.
pub fn report_all(home: &Path, env: Env<'_>, ours: &Ours, journal: &Journal) -> Vec<AgentReport> {
    let path = search_path(env);
    AGENTS
        .iter()
        .map(|spec| report(spec, home, env, &path, ours, journal))
        .collect()
}
