//! A temporary HOME and data dir for the agents' black-box suites, and the
//! real `tokenbuddy` CLI run in them with a clean environment: nothing of
//! the caller's (a developer's `CODEX_HOME`, `QWEN_HOME`,
//! `CLAUDE_CONFIG_DIR`, `TOKENBUDDY_LOG` …) reaches it, only `HOME`, the data
//! dir and what a test adds. Also what those suites read back: an agent's
//! config file, the token, the realistic fixtures, and JSONC as the tools
//! that read it do.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use tokenbuddy::agents::spec::AgentSpec;

use super::process::{Served, BIN};

/// The port the suites configure agents for (nothing needs to listen on it).
pub const PORT: &str = "7444";

/// The arguments of `tokenbuddy agents configure <agent> --model <model>
/// --port 7444`.
pub fn configure_args<'a>(agent: &'a str, model: &'a str) -> [&'a str; 7] {
    [
        "agents",
        "configure",
        agent,
        "--model",
        model,
        "--port",
        PORT,
    ]
}

/// A temporary HOME and a temporary TokenBuddy data dir.
pub struct Home {
    /// The HOME every agent's config is under.
    pub home: tempfile::TempDir,
    /// TokenBuddy's data dir (its token, journal, sellers file).
    pub data: tempfile::TempDir,
}

impl Home {
    /// An empty HOME and an empty data dir.
    pub fn new() -> Home {
        Home {
            home: tempfile::tempdir().expect("temporary HOME"),
            data: tempfile::tempdir().expect("temporary data dir"),
        }
    }

    /// A fresh HOME with `text` at `path` (relative to HOME; no file there
    /// when `text` is `None`).
    pub fn with_file(path: &str, text: Option<&str>) -> Home {
        let h = Home::new();
        if let Some(text) = text {
            h.write(path, text);
        }
        h
    }

    /// `tokenbuddy <args>` with only `HOME` and the data dir in its
    /// environment; add to it before running.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env_clear()
            .env("HOME", self.home.path())
            .env("TOKENBUDDY_DATA_DIR", self.data.path());
        cmd
    }

    /// Runs `tokenbuddy <args>`: whether it succeeded, and its stdout
    /// followed by its stderr.
    pub fn run(&self, args: &[&str]) -> (bool, String) {
        outcome(&mut self.command(args))
    }

    /// `tokenbuddy agents configure <agent> --model <model> --port 7444`,
    /// which must succeed; its output.
    pub fn configure(&self, agent: &str, model: &str) -> String {
        let (ok, out) = self.run(&configure_args(agent, model));
        assert!(ok, "configure {agent} must succeed: {out}");
        out
    }

    /// `tokenbuddy agents restore <agent>`, which must succeed; its output.
    pub fn restore(&self, agent: &str) -> String {
        let (ok, out) = self.run(&["agents", "restore", agent]);
        assert!(ok, "restore {agent} must succeed: {out}");
        out
    }

    /// `spec`'s config file under this HOME.
    pub fn config(&self, spec: &AgentSpec) -> PathBuf {
        config_path(spec, self.home.path())
    }

    /// Writes `text` to `path` (relative to HOME, or absolute), creating its
    /// folders.
    pub fn write(&self, path: impl AsRef<Path>, text: &str) {
        let path = self.home.path().join(path);
        std::fs::create_dir_all(path.parent().expect("a file in a folder")).expect("mkdir");
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }

    /// The text of `path` (relative to HOME, or absolute).
    pub fn read(&self, path: impl AsRef<Path>) -> String {
        let path = self.home.path().join(path);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    }

    /// The access token TokenBuddy made in the data dir.
    pub fn token(&self) -> String {
        std::fs::read_to_string(self.data.path().join("token"))
            .expect("the token file")
            .trim()
            .to_string()
    }

    /// A real `tokenbuddy serve` on the data dir with this HOME, extra
    /// `args` and environment `envs`.
    pub fn serve(&self, args: &[&str], envs: &[(&str, &str)]) -> Served {
        let home = self.home.path().to_string_lossy().into_owned();
        let mut all = vec![("HOME", home.as_str())];
        all.extend_from_slice(envs);
        Served::start(self.data.path(), args, &all)
    }
}

impl Default for Home {
    fn default() -> Home {
        Home::new()
    }
}

/// Runs `cmd`: whether it succeeded, and its stdout followed by its stderr.
pub fn outcome(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().expect("run tokenbuddy");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// `spec`'s config file under `home`.
pub fn config_path(spec: &AgentSpec, home: &Path) -> PathBuf {
    (spec.config_path)(home, &|_| None).expect("a file agent")
}

/// The folder of realistic config files, `tests/fixtures/agents`.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/agents")
}

/// The text of fixture `name`.
pub fn fixture(name: &str) -> String {
    let path = fixtures().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// Parses `text` as the JSONC tools (VS Code's reader, opencode, Qwen Code)
/// do: comments and trailing commas, and nothing of JSON5 — not
/// TokenBuddy's own editor, so a file it writes is judged independently.
pub fn parse_jsonc(text: &str) -> Result<Value, String> {
    let options = jsonc_parser::ParseOptions {
        allow_comments: true,
        allow_trailing_commas: true,
        allow_loose_object_property_names: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    };
    jsonc_parser::parse_to_serde_value::<Value>(text, &options).map_err(|e| e.to_string())
}
