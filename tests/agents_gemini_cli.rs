//! Gemini CLI configured through the real CLI in a temporary HOME: two
//! files, `~/.gemini/settings.json` (comments, other keys) and
//! `~/.gemini/.env` (other variables, comments). Configure sets only our
//! lines and keys; configure twice = once; restore gives back both files
//! byte for byte, or removes the ones TokenBuddy created; a file that does
//! not parse is refused with both files untouched.

mod support;

use serde_json::Value;
use support::agent_home::{self, configure_args, Home};

const SETTINGS: &str = ".gemini/settings.json";
const ENV: &str = ".gemini/.env";

const USER_SETTINGS: &str = r#"// Gemini CLI settings, edited by hand.
{
  "general": { "vimMode": true },
  "ui": {
    "theme": "GitHub" // the light one
  },
  "security": {
    "auth": { "selectedType": "oauth-personal" }
  },
  "model": { "name": "gemini-2.5-pro", "maxSessionTurns": 30 }
}
"#;

const USER_ENV: &str = "# project keys\nexport GOOGLE_CLOUD_PROJECT=my-project\nGEMINI_API_KEY='AIza-old-key' # from AI Studio\n\nOTHER=\"a b\"\n";

fn settings(h: &Home) -> Value {
    let text = h.read(SETTINGS);
    agent_home::parse_jsonc(&text).unwrap_or_else(|e| panic!("settings do not parse: {e}\n{text}"))
}

/// `.env` as the `dotenv` package reads it (last definition wins).
fn env_var(h: &Home, name: &str) -> Option<String> {
    h.read(ENV).lines().rev().find_map(|l| {
        let l = l.trim_start().trim_start_matches("export ");
        let (k, v) = l.split_once('=')?;
        (k.trim() == name).then(|| {
            let v = v.split(" #").next().unwrap_or("").trim();
            v.trim_matches(['\'', '"']).to_string()
        })
    })
}

fn assert_configured(h: &Home) {
    assert_eq!(
        env_var(h, "GOOGLE_GEMINI_BASE_URL").as_deref(),
        Some("http://127.0.0.1:7444"),
        "{}",
        h.read(ENV)
    );
    assert_eq!(env_var(h, "GEMINI_API_KEY"), Some(h.token()));
    let v = settings(h);
    assert_eq!(
        v["security"]["auth"]["selectedType"], "gemini-api-key",
        "{v}"
    );
    assert_eq!(v["model"]["name"], "tb-model", "{v}");
}

#[test]
fn configures_both_files_and_restores_them_byte_for_byte() {
    let h = Home::new();
    h.write(SETTINGS, USER_SETTINGS);
    h.write(ENV, USER_ENV);
    let out = h.configure("gemini-cli", "tb-model");
    assert!(
        out.contains("trusted folder"),
        "the folder-trust note: {out}"
    );
    assert_configured(&h);
    let v = settings(&h);
    assert_eq!(v["ui"]["theme"], "GitHub", "other keys stay");
    assert_eq!(v["model"]["maxSessionTurns"], 30);
    let env = h.read(ENV);
    for line in [
        "# project keys",
        "export GOOGLE_CLOUD_PROJECT=my-project",
        "OTHER=\"a b\"",
    ] {
        assert!(env.contains(line), "{line:?} stays:\n{env}");
    }
    assert!(
        h.read(SETTINGS).contains("// the light one"),
        "comments stay"
    );
    let once = (h.read(SETTINGS), h.read(ENV));
    h.configure("gemini-cli", "tb-model");
    assert_eq!(
        (h.read(SETTINGS), h.read(ENV)),
        once,
        "configure twice = once"
    );
    h.restore("gemini-cli");
    assert_eq!(h.read(SETTINGS), USER_SETTINGS);
    assert_eq!(h.read(ENV), USER_ENV);
}

#[test]
fn a_fresh_home_gets_both_files_and_restore_removes_them() {
    let h = Home::new();
    h.configure("gemini-cli", "tb-model");
    assert_configured(&h);
    h.restore("gemini-cli");
    assert!(
        !h.home.path().join(".gemini").exists(),
        "the files and the folder TokenBuddy created are gone"
    );
}

#[test]
fn an_env_file_of_the_user_stays_when_only_settings_are_created() {
    let h = Home::new();
    h.write(ENV, USER_ENV);
    h.configure("gemini-cli", "tb-model");
    assert_configured(&h);
    h.restore("gemini-cli");
    assert_eq!(h.read(ENV), USER_ENV);
    assert!(!h.home.path().join(SETTINGS).exists());
}

#[test]
fn the_report_says_configured_and_the_dry_run_shows_both_files() {
    let h = Home::new();
    h.write(SETTINGS, USER_SETTINGS);
    h.write(ENV, USER_ENV);
    let (ok, diff) = h.run(&[
        "agents",
        "configure",
        "gemini-cli",
        "--model",
        "tb-model",
        "--port",
        "7444",
        "--dry-run",
    ]);
    assert!(ok, "{diff}");
    assert!(
        diff.contains("settings.json") && diff.contains(".env"),
        "{diff}"
    );
    assert!(
        diff.contains("+GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:7444"),
        "{diff}"
    );
    assert_eq!(h.read(ENV), USER_ENV, "a dry run writes nothing");
    h.configure("gemini-cli", "tb-model");
    let (ok, out) = h.run(&["agents", "--json", "--port", "7444"]);
    assert!(ok, "{out}");
    let list: Value = serde_json::from_str(&out).expect("json");
    let me = list
        .as_array()
        .and_then(|l| l.iter().find(|a| a["id"] == "gemini-cli"))
        .cloned()
        .expect("gemini-cli listed");
    assert_eq!(me["state"], "configured", "{me}");
    assert_eq!(me["model"], "tb-model", "{me}");
    assert_eq!(
        me["guide"],
        Value::Null,
        "no guide once it is configurable: {me}"
    );
}

#[test]
fn an_unparseable_file_is_refused_and_both_stay_untouched() {
    for (settings, env, bad) in [
        ("{ \"model\": { \"name\": \"x\" ", USER_ENV, SETTINGS),
        (USER_SETTINGS, "GEMINI_API_KEY=\"never closed\nB=1\n", ENV),
    ] {
        let h = Home::new();
        h.write(SETTINGS, settings);
        h.write(ENV, env);
        let (ok, out) = h.run(&configure_args("gemini-cli", "tb-model"));
        assert!(!ok, "{bad}: must be refused: {out}");
        assert!(
            out.contains("did not touch") && out.contains("line") && out.contains(bad),
            "{bad}: say which file, where, and that nothing was written: {out}"
        );
        assert_eq!(h.read(SETTINGS), settings);
        assert_eq!(h.read(ENV), env);
        assert!(
            !h.data.path().join("agents-journal.json").exists() || {
                let j = std::fs::read_to_string(h.data.path().join("agents-journal.json")).unwrap();
                !j.contains("gemini-cli")
            }
        );
    }
}

#[test]
fn a_user_edit_of_one_line_survives_restore() {
    let h = Home::new();
    h.write(SETTINGS, USER_SETTINGS);
    h.write(ENV, USER_ENV);
    h.configure("gemini-cli", "tb-model");
    let edited = h
        .read(ENV)
        .replace("http://127.0.0.1:7444", "https://my.gateway");
    h.write(ENV, &edited);
    let out = h.restore("gemini-cli");
    assert!(
        out.contains("left alone") && out.contains("GOOGLE_GEMINI_BASE_URL"),
        "{out}"
    );
    assert!(h
        .read(ENV)
        .contains("GOOGLE_GEMINI_BASE_URL=https://my.gateway"));
    assert!(
        h.read(ENV).contains("GEMINI_API_KEY='AIza-old-key'"),
        "ours restored"
    );
    assert_eq!(h.read(SETTINGS), USER_SETTINGS);
}

#[test]
fn a_system_settings_file_that_sets_auth_blocks_it() {
    let h = Home::new();
    let root = tempfile::tempdir().expect("system root");
    let system = root.path().join("etc/gemini-cli/settings.json");
    std::fs::create_dir_all(system.parent().expect("dir")).expect("mkdir");
    std::fs::write(
        &system,
        r#"{"security": {"auth": {"enforcedType": "oauth-personal"}}}"#,
    )
    .expect("write");
    let (ok, out) = support::agent_home::outcome(
        h.command(&configure_args("gemini-cli", "m"))
            .env("TOKENBUDDY_SYSTEM_ROOT", root.path()),
    );
    assert!(!ok && out.contains("managed by policy"), "{out}");
    assert!(!h.home.path().join(".gemini").exists(), "nothing written");
}

/// Configure killed after `.env` was written and before `settings.json`
/// was: the next start puts `.env` back, so neither file holds half a
/// configure and the journal has nothing for Gemini CLI.
#[test]
fn a_configure_killed_between_the_two_files_is_rolled_back() {
    use std::io::{BufRead, BufReader};
    for fresh in [false, true] {
        let h = Home::new();
        if !fresh {
            h.write(SETTINGS, USER_SETTINGS);
            h.write(ENV, USER_ENV);
        }
        let mut child = h
            .command(&configure_args("gemini-cli", "tb-model"))
            .env("TOKENBUDDY_PAUSE_AT", "temp-written:settings.json")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("paused at") {
                    let _ = tx.send(());
                }
            }
        });
        let paused = rx.recv_timeout(std::time::Duration::from_secs(30));
        child.kill().expect("kill");
        child.wait().expect("wait");
        assert!(paused.is_ok(), "configure never paused between the files");
        assert!(
            h.read(ENV).contains("GOOGLE_GEMINI_BASE_URL"),
            ".env was written first"
        );
        tokenbuddy::agents::patch::reconcile_at_startup(h.data.path());
        let journal = tokenbuddy::agents::journal::Journal::new(h.data.path());
        assert_eq!(journal.get("gemini-cli").expect("journal"), None);
        if fresh {
            assert!(
                !h.home.path().join(".gemini").exists(),
                "the files and folder of the killed configure are gone"
            );
        } else {
            assert_eq!(h.read(ENV), USER_ENV, ".env put back");
            assert_eq!(h.read(SETTINGS), USER_SETTINGS);
            let names: Vec<String> = std::fs::read_dir(h.home.path().join(".gemini"))
                .expect("dir")
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect();
            assert_eq!(names.len(), 2, "no temp files left: {names:?}");
        }
    }
}
