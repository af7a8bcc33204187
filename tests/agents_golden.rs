//! Golden tests over realistic config files of every configurable agent
//! (`tests/fixtures/agents/<agent>.<case>.<ext>`), through the real CLI in a
//! temporary HOME: the result parses with the tool's own grammar; parsed, it
//! equals the input plus exactly our keys; every other input line is still
//! there, in order; configure twice = once; restore gives back the original
//! bytes; a user edit made in between survives; a file cut mid-token is
//! refused with its bytes and mtime untouched; a symlinked file stays a link.

mod support;

use std::path::PathBuf;

use serde_json::Value;
use support::agent_home::{self, configure_args, Home};
use tokenbuddy::agents::doc::json::Dialect;
use tokenbuddy::agents::doc::{ConfigDoc, Segment};
use tokenbuddy::agents::patch;
use tokenbuddy::agents::spec::{self, AgentSpec, Context, Format, Target};

const URL: &str = "http://127.0.0.1:7444";
const MODEL: &str = "tb-model";

struct Case {
    name: String,
    spec: &'static AgentSpec,
    text: String,
}

fn cases() -> Vec<Case> {
    let dir = agent_home::fixtures();
    let mut cases: Vec<Case> = std::fs::read_dir(&dir)
        .expect("fixtures dir")
        .map(|e| e.expect("entry").path())
        .map(|path| {
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            let id = name.split('.').next().expect("agent id").to_string();
            let spec = spec::find(&id).unwrap_or_else(|| panic!("fixture {name}: no agent {id}"));
            let text = std::fs::read_to_string(&path).expect("fixture");
            Case { name, spec, text }
        })
        .collect();
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(cases.len() >= 10, "fixtures missing");
    cases
}

/// Parses with the tool's own grammar (not TokenBuddy's editor).
fn grammar(format: Format, text: &str) -> Result<Value, String> {
    match format {
        Format::Json(Dialect::Json) => serde_json::from_str(text).map_err(|e| e.to_string()),
        Format::Json(Dialect::Jsonc) => agent_home::parse_jsonc(text),
        Format::Json(Dialect::Json5) => json5::from_str(text).map_err(|e| e.to_string()),
        Format::Yaml => serde_saphyr::from_str(text).map_err(|e| e.to_string()),
        Format::Toml => {
            let doc =
                tokenbuddy::agents::doc::toml::TomlDoc::parse(text).map_err(|e| e.to_string())?;
            doc.value(&[]).ok_or_else(|| "empty".into())
        }
    }
}

/// `root` with `value` set at `key` (parents created).
fn set_path(root: &mut Value, key: &[String], value: Value) {
    let Some((first, rest)) = key.split_first() else {
        *root = value;
        return;
    };
    let slot = match Segment::parse(first) {
        Segment::Key(k) => {
            if !root.is_object() {
                *root = Value::Object(Default::default());
            }
            let map = root.as_object_mut().expect("object");
            map.entry(k.to_string())
                .or_insert(Value::Object(Default::default()))
        }
        Segment::Select { field, value: want } => {
            if !root.is_array() {
                *root = Value::Array(Vec::new());
            }
            let list = root.as_array_mut().expect("array");
            let at = list
                .iter()
                .position(|e| e.get(field).and_then(Value::as_str) == Some(want));
            let at = at.unwrap_or_else(|| {
                list.push(Value::Object(Default::default()));
                list.len() - 1
            });
            &mut list[at]
        }
    };
    set_path(slot, rest, value);
}

/// The input's parsed value plus exactly our keys.
fn expected(case: &Case, token: &str) -> (Value, Vec<String>) {
    let doc = patch::open_text(case.spec.format, &case.text).expect("fixture parses");
    let path = PathBuf::from(&case.name);
    let edits = (case.spec.edits)(&Context {
        target: Target {
            url: URL,
            token,
            native: &tokenbuddy::protocol::Protocol::ALL,
            model: MODEL,
        },
        doc: doc.as_ref(),
        path: &path,
        env: &|_| None,
    })
    .expect("edits")
    .edits;
    let mut value =
        grammar(case.spec.format, &case.text).expect("fixture parses with the tool's grammar");
    let mut owned = Vec::new();
    for e in edits {
        owned.push(e.key.last().cloned().unwrap_or_default());
        set_path(&mut value, &e.key, e.value);
    }
    (value, owned)
}

/// Every input line is in the output, in order, except lines that held a key
/// we own, or a line we only appended a comma to.
fn keeps_other_lines(name: &str, before: &str, after: &str, owned: &[String]) {
    let diff = similar::TextDiff::from_lines(before, after);
    let inserted: Vec<String> = diff
        .iter_all_changes()
        .filter(|c| c.tag() == similar::ChangeTag::Insert)
        .map(|c| c.value().trim_end_matches(['\r', '\n']).to_string())
        .collect();
    for change in diff
        .iter_all_changes()
        .filter(|c| c.tag() == similar::ChangeTag::Delete)
    {
        let line = change.value().trim_end_matches(['\r', '\n']);
        let ours = owned.iter().any(|k| line.contains(k.as_str()));
        let comma_added = inserted.iter().any(|l| {
            l.trim_end() == format!("{},", line.trim_end()) || l.starts_with(&format!("{line},"))
        });
        let widened = inserted
            .iter()
            .any(|l| l.starts_with(line.trim_end_matches(['}', ']', ' '])) && l.len() > line.len());
        assert!(
            ours || comma_added || widened,
            "{name}: line {line:?} was lost or changed:\n{after}"
        );
    }
}

#[test]
fn configure_restore_round_trips_for_every_fixture() {
    for case in cases() {
        let h = Home::new();
        let file = h.config(case.spec);
        h.write(&file, &case.text);
        h.configure(case.spec.id, MODEL);
        let after = h.read(&file);
        let parsed = grammar(case.spec.format, &after).unwrap_or_else(|e| {
            panic!(
                "{}: the result does not parse with the tool's grammar: {e}\n{after}",
                case.name
            )
        });
        let (want, owned) = expected(&case, &h.token());
        assert_eq!(
            parsed, want,
            "{}: parsed result must be the input plus exactly our keys\n{after}",
            case.name
        );
        keeps_other_lines(&case.name, &case.text, &after, &owned);
        assert_eq!(
            after.contains("\r\n"),
            case.text.contains("\r\n"),
            "{}: line endings",
            case.name
        );
        assert_eq!(
            after.ends_with('\n'),
            case.text.ends_with('\n'),
            "{}: final newline",
            case.name
        );

        h.configure(case.spec.id, MODEL);
        assert_eq!(
            h.read(&file),
            after,
            "{}: configure twice = configure once",
            case.name
        );

        h.restore(case.spec.id);
        assert_eq!(
            h.read(&file),
            case.text,
            "{}: restore gives back the original bytes",
            case.name
        );
    }
}

#[test]
fn a_user_edit_between_configure_and_restore_survives() {
    for case in cases() {
        let h = Home::new();
        let file = h.config(case.spec);
        h.write(&file, &case.text);
        h.configure(case.spec.id, MODEL);
        // The user picks another model by hand in one place.
        let edited = h.read(&file).replacen(MODEL, "user-model", 1);
        h.write(&file, &edited);
        let out = h.restore(case.spec.id);
        let after = h.read(&file);
        assert!(
            after.contains("user-model"),
            "{}: the user's edit is gone:\n{after}",
            case.name
        );
        assert!(
            out.contains("left alone"),
            "{}: restore must report what it left: {out}",
            case.name
        );
        grammar(case.spec.format, &after).unwrap_or_else(|e| panic!("{}: {e}\n{after}", case.name));
        if expected(&case, &h.token()).1.len() > 1 {
            assert_ne!(
                after, edited,
                "{}: the keys the user did not touch are restored",
                case.name
            );
        }
    }
}

#[test]
fn a_file_cut_mid_token_is_refused_and_untouched() {
    for case in cases() {
        // Cut right after an opening quote in the second half: an unterminated string.
        let half = case.text.len() / 2;
        let opening: Vec<usize> = case
            .text
            .match_indices('"')
            .map(|(i, _)| i)
            .filter(|&i| {
                i > 0
                    && matches!(
                        case.text.as_bytes()[i - 1],
                        b' ' | b':' | b'=' | b'[' | b'('
                    )
            })
            .collect();
        let quote = opening
            .iter()
            .find(|&&i| i >= half)
            .or(opening.last())
            .map(|i| i + 1)
            .expect("an opening quote");
        let cut = &case.text[..quote];
        let h = Home::new();
        let file = h.config(case.spec);
        h.write(&file, cut);
        let mtime = std::fs::metadata(&file)
            .and_then(|m| m.modified())
            .expect("mtime");
        std::thread::sleep(std::time::Duration::from_millis(20));
        let (ok, out) = h.run(&configure_args(case.spec.id, MODEL));
        assert!(!ok, "{}: a broken file must be refused: {out}", case.name);
        assert!(
            out.contains("did not touch") && out.contains("line"),
            "{}: say where and that nothing was written: {out}",
            case.name
        );
        assert_eq!(h.read(&file), cut, "{}: bytes unchanged", case.name);
        assert_eq!(
            std::fs::metadata(&file)
                .and_then(|m| m.modified())
                .expect("mtime"),
            mtime,
            "{}: mtime unchanged",
            case.name
        );
    }
}

#[cfg(unix)]
#[test]
fn a_symlinked_config_stays_a_link_and_keeps_its_mode() {
    use std::os::unix::fs::{symlink, PermissionsExt};
    for case in cases() {
        let h = Home::new();
        let dotfiles = h.home.path().join("dotfiles");
        std::fs::create_dir_all(&dotfiles).expect("dotfiles");
        let real = dotfiles.join(&case.name);
        std::fs::write(&real, &case.text).expect("write");
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        let link = h.config(case.spec);
        std::fs::create_dir_all(link.parent().expect("dir")).expect("mkdir");
        symlink(&real, &link).expect("symlink");
        h.configure(case.spec.id, MODEL);
        assert!(
            std::fs::symlink_metadata(&link)
                .expect("link")
                .file_type()
                .is_symlink(),
            "{}",
            case.name
        );
        assert!(
            std::fs::read_to_string(&real)
                .expect("target")
                .contains(URL),
            "{}: target patched",
            case.name
        );
        assert_eq!(
            std::fs::metadata(&real).expect("meta").permissions().mode() & 0o777,
            0o640,
            "{}",
            case.name
        );
        h.restore(case.spec.id);
        assert_eq!(
            std::fs::read_to_string(&real).expect("target"),
            case.text,
            "{}",
            case.name
        );
    }
}
