//! Detection through the real CLI, with fake binaries on a temporary PATH
//! and fake config dirs in a temporary HOME: installed or not, versions from
//! npm packages, each tool's own path overrides, and every state
//! (not configured, configured, stale, drifted, policy, unreadable, guide);
//! terminals with the preferred and the current one.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_tokenbuddy");

struct Machine {
    home: tempfile::TempDir,
    data: tempfile::TempDir,
    bin: tempfile::TempDir,
    system: tempfile::TempDir,
}

#[cfg(unix)]
fn fake_binary(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
    std::fs::write(path, "#!/bin/sh\nexit 0\n").expect("write");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

impl Machine {
    fn new() -> Machine {
        Machine {
            home: tempfile::tempdir().expect("home"),
            data: tempfile::tempdir().expect("data"),
            bin: tempfile::tempdir().expect("bin"),
            system: tempfile::tempdir().expect("system"),
        }
    }

    fn file(&self, rel: &str, text: &str) {
        let path = self.home.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    fn run(&self, args: &[&str], env: &[(&str, String)]) -> (bool, String) {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env_clear()
            .env("HOME", self.home.path())
            .env("PATH", self.bin.path())
            .env("TOKENBUDDY_DATA_DIR", self.data.path())
            .env("TOKENBUDDY_SYSTEM_ROOT", self.system.path());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run");
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }

    fn agents(&self, env: &[(&str, String)]) -> Vec<Value> {
        let (ok, out) = self.run(&["agents", "--json", "--port", "7444"], env);
        assert!(ok, "{out}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
    }
}

fn agent<'a>(list: &'a [Value], id: &str) -> &'a Value {
    list.iter()
        .find(|a| a["id"] == id)
        .unwrap_or_else(|| panic!("no {id}"))
}

#[cfg(unix)]
#[test]
fn binaries_install_dirs_versions_and_path_overrides() {
    let m = Machine::new();
    fake_binary(&m.bin.path().join("codex"));
    // An npm install: the PATH entry is a link into the package.
    let pkg = m
        .home
        .path()
        .join("npm/lib/node_modules/@anthropic-ai/claude-code");
    fake_binary(&pkg.join("cli.js"));
    std::fs::write(
        pkg.join("package.json"),
        r#"{"name": "@anthropic-ai/claude-code", "version": "2.1.330"}"#,
    )
    .expect("pkg");
    std::os::unix::fs::symlink(pkg.join("cli.js"), m.bin.path().join("claude")).expect("link");
    // Not on PATH, but in a known install folder.
    fake_binary(&m.home.path().join(".local/bin/hermes"));
    m.file(".hermes/active_profile", "work\n");
    let codex_home = m.home.path().join("elsewhere/codex");
    let list = m.agents(&[
        ("CODEX_HOME", codex_home.display().to_string()),
        (
            "CLAUDE_CONFIG_DIR",
            m.home.path().join("cc").display().to_string(),
        ),
        (
            "XDG_CONFIG_HOME",
            m.home.path().join("xdg").display().to_string(),
        ),
        (
            "OPENCLAW_CONFIG_PATH",
            m.home.path().join("oc.json5").display().to_string(),
        ),
    ]);
    let codex = agent(&list, "codex");
    assert_eq!(codex["installed"], true);
    assert_eq!(
        codex["configPath"],
        codex_home.join("config.toml").display().to_string()
    );
    assert_eq!(codex["format"], "toml");
    let claude = agent(&list, "claude-code");
    assert_eq!(claude["installed"], true);
    assert_eq!(claude["version"], "2.1.330");
    assert_eq!(
        claude["configPath"],
        m.home.path().join("cc/settings.json").display().to_string()
    );
    let hermes = agent(&list, "hermes");
    assert_eq!(hermes["installed"], true, "found in ~/.local/bin");
    assert_eq!(
        hermes["configPath"],
        m.home
            .path()
            .join(".hermes/profiles/work/config.yaml")
            .display()
            .to_string()
    );
    assert_eq!(agent(&list, "opencode")["installed"], false);
    assert_eq!(
        agent(&list, "opencode")["configPath"],
        m.home
            .path()
            .join("xdg/opencode/opencode.json")
            .display()
            .to_string()
    );
    assert_eq!(
        agent(&list, "crush")["configPath"],
        m.home
            .path()
            .join("xdg/crush/crush.json")
            .display()
            .to_string()
    );
    assert_eq!(
        agent(&list, "openclaw")["configPath"],
        m.home.path().join("oc.json5").display().to_string()
    );
    for id in ["cursor", "cline", "roo-code"] {
        let a = agent(&list, id);
        assert_eq!(a["state"], "guide", "{id}");
        assert!(
            a["guide"]
                .as_str()
                .is_some_and(|g| g.contains("127.0.0.1:7444")),
            "{id}: {a}"
        );
        assert_eq!(a["configPath"], Value::Null);
    }
    // Configured through their files now; the guide is for a managed machine.
    for (id, path) in [
        ("gemini-cli", ".gemini/settings.json"),
        ("claude-desktop", "xdg/Claude-3p/configLibrary/_meta.json"),
    ] {
        let a = agent(&list, id);
        assert_eq!(a["state"], "notConfigured", "{id}: {a}");
        assert_eq!(a["guide"], Value::Null, "{id}: {a}");
        assert_eq!(
            a["configPath"],
            m.home.path().join(path).display().to_string()
        );
    }
    // OpenClaw's state dir and legacy names.
    m.file(".clawdbot/clawdbot.json", "{}");
    let list = m.agents(&[]);
    assert_eq!(
        agent(&list, "openclaw")["configPath"],
        m.home
            .path()
            .join(".clawdbot/clawdbot.json")
            .display()
            .to_string()
    );
    let list = m.agents(&[(
        "OPENCLAW_STATE_DIR",
        m.home.path().join("st").display().to_string(),
    )]);
    assert_eq!(
        agent(&list, "openclaw")["configPath"],
        m.home.path().join("st/openclaw.json").display().to_string()
    );
}

#[test]
fn every_state() {
    let m = Machine::new();
    m.file(".codex/config.toml", "model = \"gpt-5\"\n");
    m.file(
        ".config/opencode/opencode.json",
        "{\n  \"model\": \"anthropic/x\",\n  \"oops\": \n}\n",
    );
    let list = m.agents(&[]);
    assert_eq!(agent(&list, "codex")["state"], "notConfigured");
    assert_eq!(agent(&list, "codex")["model"], "gpt-5");
    assert_eq!(agent(&list, "opencode")["state"], "unreadable");
    assert!(agent(&list, "opencode")["detail"]
        .as_str()
        .is_some_and(|d| d.contains("line 4")));

    let (ok, out) = m.run(&["agents", "configure", "codex", "--port", "7444"], &[]);
    assert!(ok, "{out}");
    assert_eq!(agent(&m.agents(&[]), "codex")["state"], "configured");
    assert_eq!(
        agent(&m.agents(&[]), "codex")["model"],
        "gpt-5",
        "kept the agent's own model (no sellers yet)"
    );
    let (ok, out) = m.run(&["agents", "--json", "--port", "7555"], &[]);
    assert!(ok, "{out}");
    assert!(out.contains("\"stale\""), "{out}");

    // The user points Codex elsewhere: drifted.
    let path = m.home.path().join(".codex/config.toml");
    let text = std::fs::read_to_string(&path).expect("read").replace(
        "model_provider = \"tokenbuddy\"",
        "model_provider = \"openai\"",
    );
    std::fs::write(&path, text).expect("write");
    assert_eq!(agent(&m.agents(&[]), "codex")["state"], "drifted");
    let (ok, out) = m.run(&["agents", "configure", "codex", "--port", "7444"], &[]);
    assert!(ok, "{out}");
    assert_eq!(
        agent(&m.agents(&[]), "codex")["state"],
        "configured",
        "one click re-applies"
    );

    // A managed-settings file overrides Claude Code's env: policy, and configure refuses.
    m.file(".claude/settings.json", "{}\n");
    let managed = m
        .system
        .path()
        .join("etc/claude-code/managed-settings.json");
    std::fs::create_dir_all(managed.parent().expect("dir")).expect("mkdir");
    std::fs::write(
        &managed,
        "{\"env\": {\"ANTHROPIC_BASE_URL\": \"https://gw.corp\"}}",
    )
    .expect("managed");
    if cfg!(target_os = "linux") {
        assert_eq!(agent(&m.agents(&[]), "claude-code")["state"], "policy");
        let (ok, out) = m.run(
            &[
                "agents",
                "configure",
                "claude-code",
                "--model",
                "m",
                "--port",
                "7444",
            ],
            &[],
        );
        assert!(!ok && out.contains("managed by policy"), "{out}");
        assert_eq!(
            std::fs::read_to_string(m.home.path().join(".claude/settings.json")).expect("read"),
            "{}\n"
        );
    }
}

#[cfg(unix)]
#[test]
fn terminals_installed_preferred_and_current() {
    let m = Machine::new();
    for name in ["gnome-terminal", "kitty", "xterm"] {
        fake_binary(&m.bin.path().join(name));
    }
    let (ok, out) = m.run(
        &["terminals", "--json"],
        &[
            ("TERMINAL", "kitty".into()),
            ("KITTY_WINDOW_ID", "3".into()),
        ],
    );
    assert!(ok, "{out}");
    let list: Vec<Value> = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    if !cfg!(target_os = "linux") {
        return;
    }
    let ids: Vec<&str> = list.iter().filter_map(|t| t["id"].as_str()).collect();
    assert_eq!(ids, ["gnome-terminal", "kitty", "xterm"], "{out}");
    let kitty = &list[1];
    assert_eq!(kitty["preferred"], true);
    assert_eq!(kitty["current"], true);
    assert_eq!(list[0]["preferred"], false);
    let (ok, out) = m.run(&["terminals", "--json"], &[]);
    assert!(ok);
    let list: Vec<Value> = serde_json::from_str(&out).expect("json");
    assert_eq!(list[0]["id"], "gnome-terminal");
    assert_eq!(
        list[0]["preferred"], true,
        "without $TERMINAL, the first in preference order"
    );
}
