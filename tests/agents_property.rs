//! Properties. For random valid documents in each agent's format and layout
//! (indent widths, tabs, CRLF, comments, one-line objects, trailing commas,
//! missing final newline, keys that collide with ours), configure either
//! refuses and leaves the bytes alone, or succeeds with a file that still
//! parses — and restore then gives back the original bytes exactly. Each
//! config editor under random input (proptest, seeded: near-valid token
//! soup as well as valid documents): no panic, output bounded by the input
//! plus the value written, and refusal rather than a wrong write — a set
//! either leaves the text as it was or puts exactly that value at that path.
//! Qwen Code's provider list in every shape a user may have (absent, empty,
//! holding the user's entries, of the wrong type) goes through the
//! list-creation path of the patcher.

mod support;

use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, RngSeed};
use serde_json::{json, Map, Value};
use support::seeded::XorShift as Rng;
use tokenbuddy::agents::doc::json::Dialect;
use tokenbuddy::agents::journal::Journal;
use tokenbuddy::agents::patch;
use tokenbuddy::agents::spec::{AgentSpec, Format, Target, AGENTS};

/// Keys, some of which collide with the ones agents own.
const KEYS: &[&str] = &[
    "model",
    "env",
    "provider",
    "models",
    "agents",
    "defaults",
    "name",
    "theme",
    "list",
    "primary",
    "modelProviders",
    "providers",
    "options",
    "x_1",
];

fn scalar(r: &mut Rng) -> Value {
    match r.below(5) {
        0 => Value::from(r.below(100_000) as i64),
        1 => Value::from(r.chance(50)),
        2 => Value::from(format!("v{} caf\u{e9}", r.below(99))),
        3 => Value::from("a \"quoted\" \\ path"),
        _ => Value::from(r.pick(&["gpt-5", "anthropic/claude", "x"])),
    }
}

fn object(r: &mut Rng, depth: usize) -> Value {
    let mut map = Map::new();
    for _ in 0..r.below(5) {
        let key = r.pick(KEYS).to_string();
        let value = match r.below(6) {
            0 | 1 if depth < 3 => object(r, depth + 1),
            2 => Value::Array((0..r.below(3)).map(|_| scalar(r)).collect()),
            _ => scalar(r),
        };
        map.insert(key, value);
    }
    Value::Object(map)
}

/// Layout choices for one document.
struct Style {
    unit: String,
    crlf: bool,
    final_newline: bool,
    comments: bool,
    trailing_commas: bool,
    one_line: bool,
}

impl Style {
    fn random(r: &mut Rng, format: Format) -> Style {
        let commentable = !matches!(format, Format::Json(Dialect::Json));
        Style {
            unit: r.pick(&["  ", "    ", "\t", "  "]).to_string(),
            crlf: r.chance(25),
            final_newline: r.chance(80),
            comments: commentable && r.chance(60),
            trailing_commas: commentable && r.chance(40),
            one_line: r.chance(20),
        }
    }
}

fn json(v: &Value, s: &Style, r: &mut Rng, indent: &str, json5: bool) -> String {
    let key = |k: &str, r: &mut Rng| {
        if json5 && r.chance(50) && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            k.to_string()
        } else {
            serde_json::to_string(k).unwrap_or_default()
        }
    };
    match v {
        Value::Object(map) if map.is_empty() => "{}".into(),
        Value::Object(map) if s.one_line && r.chance(40) => {
            let items: Vec<String> = map
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}: {}",
                        key(k, r),
                        serde_json::to_string(v).unwrap_or_default()
                    )
                })
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        Value::Object(map) => {
            let inner = format!("{indent}{}", s.unit);
            let mut out = String::from("{\n");
            let n = map.len();
            for (i, (k, v)) in map.iter().enumerate() {
                if s.comments && r.chance(30) {
                    out.push_str(&format!("{inner}// about {k}\n"));
                }
                let comma = if i + 1 < n || s.trailing_commas {
                    ","
                } else {
                    ""
                };
                let tail = if s.comments && r.chance(20) {
                    " /* note */"
                } else {
                    ""
                };
                out.push_str(&format!(
                    "{inner}{}: {}{comma}{tail}\n",
                    key(k, r),
                    json(v, s, r, &inner, json5)
                ));
            }
            out.push_str(indent);
            out.push('}');
            out
        }
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

fn yaml(v: &Value, s: &Style, r: &mut Rng, indent: &str) -> String {
    let unit = if s.unit == "\t" {
        "  "
    } else {
        s.unit.as_str()
    };
    let mut out = String::new();
    if let Value::Object(map) = v {
        for (k, v) in map {
            if s.comments && r.chance(25) {
                out.push_str(&format!(
                    "{}# about {k}\n",
                    if r.chance(50) { "" } else { indent }
                ));
            }
            match v {
                Value::Object(m) if !m.is_empty() => {
                    out.push_str(&format!("{indent}{k}:\n"));
                    out.push_str(&yaml(v, s, r, &format!("{indent}{unit}")));
                }
                Value::Array(items) if !items.is_empty() && r.chance(50) => {
                    out.push_str(&format!("{indent}{k}:\n"));
                    for item in items {
                        out.push_str(&format!("{indent}{unit}- {item}\n"));
                    }
                }
                other => out.push_str(&format!("{indent}{k}: {other}\n")),
            }
        }
    }
    out
}

fn toml(v: &Value) -> String {
    // Built through toml_edit, which writes valid TOML from any of our values.
    let mut doc = toml_edit::DocumentMut::new();
    fn item(v: &Value) -> Option<toml_edit::Item> {
        Some(match v {
            Value::Object(m) => {
                let mut t = toml_edit::Table::new();
                for (k, v) in m {
                    if let Some(i) = item(v) {
                        t.insert(k, i);
                    }
                }
                toml_edit::Item::Table(t)
            }
            Value::Array(a) => {
                let mut arr = toml_edit::Array::new();
                for e in a {
                    if let Some(toml_edit::Item::Value(v)) = item(e) {
                        arr.push(v);
                    }
                }
                toml_edit::value(arr)
            }
            Value::String(s) => toml_edit::value(s.as_str()),
            Value::Bool(b) => toml_edit::value(*b),
            Value::Number(n) => toml_edit::value(n.as_i64()?),
            Value::Null => return None,
        })
    }
    if let Some(toml_edit::Item::Table(t)) = item(v) {
        for (k, i) in t.iter() {
            doc.insert(k, i.clone());
        }
    }
    format!("# generated\n{doc}")
}

fn document(r: &mut Rng, format: Format) -> String {
    let value = object(r, 0);
    render_document(r, format, value)
}

fn render_document(r: &mut Rng, format: Format, value: Value) -> String {
    let s = Style::random(r, format);
    let mut text = match format {
        Format::Json(d) => json(&value, &s, r, "", d == Dialect::Json5),
        Format::Yaml => yaml(&value, &s, r, ""),
        Format::Toml => toml(&value),
    };
    if !text.ends_with('\n') {
        text.push('\n');
    }
    if !s.final_newline {
        text.pop();
    }
    if s.crlf {
        text = text.replace('\n', "\r\n");
    }
    text
}

fn check(spec: &AgentSpec, text: &str, case: usize) -> bool {
    let home = tempfile::tempdir().expect("home");
    let data = tempfile::tempdir().expect("data");
    let path = (spec.config_path)(home.path(), &|_| None).expect("file agent");
    std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
    std::fs::write(&path, text).expect("write");
    let journal = Journal::new(data.path());
    let target = Target {
        url: "http://127.0.0.1:7444",
        token: "0123456789abcdef0123456789abcdef",
        native: &tokenbuddy::protocol::Protocol::ALL,
        model: "tb-model",
    };
    let result = patch::configure(spec, path.clone(), &target, &|_| None, &journal, false);
    let now = std::fs::read_to_string(&path).expect("read");
    match result {
        Err(e) => {
            assert_eq!(
                now, text,
                "{} case {case}: refused ({e}) but the file changed",
                spec.id
            );
            false
        }
        Ok(_) => {
            patch::open_text(spec.format, &now).unwrap_or_else(|e| {
                panic!(
                    "{} case {case}: configured file does not parse: {e}\n{now}",
                    spec.id
                )
            });
            patch::restore(spec, &journal, false)
                .unwrap_or_else(|e| panic!("{} case {case}: restore failed: {e}", spec.id));
            let back = std::fs::read_to_string(&path).expect("read");
            assert_eq!(
                back, text,
                "{} case {case}: restore must give back the original bytes; configured:\n{now}",
                spec.id
            );
            true
        }
    }
}

#[test]
fn random_documents_round_trip_byte_exactly() {
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    let mut cases: Vec<(&AgentSpec, usize, String)> = Vec::new();
    for spec in AGENTS.iter().filter(|a| a.guide.is_none()) {
        for case in 0..120 {
            let text = document(&mut r, spec.format);
            if patch::open_text(spec.format, &text).is_err() {
                panic!(
                    "{} case {case}: generator made an invalid document:\n{text}",
                    spec.id
                );
            }
            cases.push((spec, case, text));
        }
    }
    // The same documents as one sequence; checked by a few workers, since
    // each round trip waits on fsyncs rather than the CPU.
    let configured: usize = std::thread::scope(|s| {
        let workers: Vec<_> = cases
            .chunks(cases.len().div_ceil(4))
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .filter(|(spec, case, text)| check(spec, text, *case))
                        .count()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("worker")).sum()
    });
    // Most random documents are configurable; refusals are the exceptions.
    assert!(
        configured >= 500,
        "only {configured} of {} documents were configured",
        cases.len()
    );
}

/// Every editor the agents use.
const FORMATS: &[Format] = &[
    Format::Toml,
    Format::Json(Dialect::Json),
    Format::Json(Dialect::Jsonc),
    Format::Json(Dialect::Json5),
    Format::Yaml,
];

/// Near-valid text: tokens of the format's syntax in random order, so most
/// inputs are broken in a different place and some parse.
fn soup(format: Format) -> impl Strategy<Value = String> {
    let tokens: &'static [&'static str] = match format {
        Format::Toml => &[
            "[t]",
            "[[a]]",
            "[model_providers.x]",
            "a = 1",
            "model = \"m\"",
            "b = [1, 2]",
            "c = {x = 1}",
            "\n",
            "\r\n",
            "# c",
            " ",
            "=",
            ".",
            "\"",
            "[",
            "]",
            "{",
            "}",
        ],
        Format::Yaml => &[
            "a:", "model:", "env:", " x", "\n", "  ", "    ", "- x", "{", "}", "[", "]", "# c",
            "\"q\"", "&a ", "*a", "|", "1", ": ", "---\n", "\r\n", "'s'",
        ],
        Format::Json(_) => &[
            "{",
            "}",
            "[",
            "]",
            ":",
            ",",
            "\"a\"",
            "\"model\"",
            "\"env\"",
            "\"list\"",
            "1",
            "true",
            "null",
            " ",
            "\n",
            "\r\n",
            "//c\n",
            "/*x*/",
            "'s'",
            "a",
            "\"",
        ],
    };
    proptest::collection::vec(proptest::sample::select(tokens), 0..48).prop_map(|t| t.concat())
}

/// A valid document of the format, from the generator above.
fn valid(format: Format) -> impl Strategy<Value = String> {
    any::<u64>().prop_map(move |seed| document(&mut Rng(seed | 1), format))
}

/// A key path, with list selectors among its steps.
fn key_path() -> impl Strategy<Value = Vec<&'static str>> {
    let steps = &[
        "model",
        "env",
        "a",
        "list",
        "provider",
        "x_1",
        "[id=x]",
        "[envKey=K]",
    ];
    proptest::collection::vec(proptest::sample::select(steps), 1..5)
}

fn written_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!("tb")),
        Just(json!(7)),
        Just(json!(true)),
        Just(json!({"id": "x", "envKey": "K", "v": 1})),
        Just(json!({"nested": {"k": "v"}})),
        Just(json!(["a", "b"])),
    ]
}

/// One editor, one random edit: no panic; a refusal leaves the text as it
/// was; a success re-parses, is found again at its path, and grew the file
/// by no more than the value written (no runaway output).
fn edit_property(format: Format, text: &str, path: &[&str], value: &Value) {
    let Ok(mut doc) = patch::open_text(format, text) else {
        return; // Refused to parse: nothing to edit, nothing written.
    };
    let before = doc.render();
    match doc.set(path, value) {
        Err(_) => assert_eq!(doc.render(), before, "a refused set changed the text"),
        Ok(()) => {
            let after = doc.render();
            let reparsed = patch::open_text(format, &after)
                .unwrap_or_else(|e| panic!("an accepted edit does not parse ({e}):\n{after}"));
            let found = reparsed.value(path);
            match value {
                // TOML merges a table into what is there: check its keys.
                Value::Object(map) => {
                    for (k, v) in map {
                        let mut child = path.to_vec();
                        child.push(k);
                        let got = reparsed.value(&child);
                        if !v.is_object() {
                            assert_eq!(got.as_ref(), Some(v), "{child:?} in:\n{after}");
                        }
                    }
                }
                v => assert_eq!(found.as_ref(), Some(v), "{path:?} in:\n{after}"),
            }
            let budget = 64 * (path.len() + 1) + 16 * value.to_string().len();
            assert!(
                after.len() <= before.len() + budget,
                "{} bytes grew to {}",
                before.len(),
                after.len()
            );
        }
    }
    let mut doc = patch::open_text(format, text).expect("parsed before");
    if doc.remove(path).is_ok() {
        let after = doc.render();
        assert!(after.len() <= before.len(), "a removal grew the text");
        patch::open_text(format, &after)
            .unwrap_or_else(|e| panic!("a removal does not parse ({e}):\n{after}"));
    } else {
        assert_eq!(doc.render(), before, "a refused removal changed the text");
    }
}

fn seeded(cases: u32, seed: u64) -> ProptestConfig {
    ProptestConfig {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(seeded(512, 0x7b_0008))]

    #[test]
    fn editors_on_near_valid_text(
        (format, text) in proptest::sample::select(FORMATS).prop_flat_map(|f| (Just(f), soup(f))),
        path in key_path(),
        value in written_value(),
    ) {
        edit_property(format, &text, &path, &value);
    }

    #[test]
    fn editors_on_valid_documents(
        (format, text) in proptest::sample::select(FORMATS).prop_flat_map(|f| (Just(f), valid(f))),
        path in key_path(),
        value in written_value(),
    ) {
        edit_property(format, &text, &path, &value);
    }
}

/// The shapes a user's `modelProviders` may have.
fn providers_shape() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(None),
        Just(Some(json!({}))),
        Just(Some(json!({"openai": []}))),
        Just(Some(
            json!({"openai": [{"id": "tb-model", "envKey": "DASHSCOPE_API_KEY", "baseUrl": "https://x/v1"}]})
        )),
        Just(Some(
            json!({"openai": [{"id": "other", "envKey": "K"}], "anthropic": []})
        )),
        Just(Some(json!({"openai": {}}))),
        Just(Some(json!("x"))),
    ]
}

proptest! {
    #![proptest_config(seeded(48, 0x9e_0008))]

    #[test]
    fn qwen_code_provider_list_in_every_shape(seed in any::<u64>(), shape in providers_shape()) {
        let spec = tokenbuddy::agents::spec::find("qwen-code").expect("agent");
        let mut r = Rng(seed | 1);
        let mut value = object(&mut r, 0);
        if let (Some(shape), Value::Object(map)) = (shape, &mut value) {
            map.insert("modelProviders".into(), shape);
        }
        let text = render_document(&mut r, spec.format, value);
        check(spec, &text, seed as usize);
    }
}
