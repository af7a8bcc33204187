//! The request-head reader under random input (`src/proxy/request.rs`):
//! `read_head` and `session_key` never panic on arbitrary bytes, arbitrary
//! JSON or arbitrary headers; `upstream_body` keeps every byte of the body
//! but the model's value (whitespace, key spellings, number spellings,
//! escapes) and its result parses to the same JSON with the new model.
//! Seeded and bounded: the same cases every run; the count is printed.

use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{json, Map, Value};
use tokenbuddy::proxy::request::{read_head, session_key, upstream_body, SESSION_HEADERS};

/// A runner with a fixed seed and no failure files.
fn runner(cases: u32) -> TestRunner {
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha))
}

/// Any string, control characters, quotes and astral planes included.
fn text() -> impl Strategy<Value = String> {
    vec(any::<char>(), 0..12).prop_map(String::from_iter)
}

/// Any JSON value, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            btree_map(text(), inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Whitespace JSON allows between tokens.
fn space() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["", "", " ", "\n", "\t", "\r\n    "])
}

/// A request body as a client might write it: top-level fields in any
/// order, one of them the model, with any whitespace, keys spelled with
/// needless `\u` escapes or not, values compact or pretty.
#[derive(Debug, Clone)]
struct Body {
    fields: Vec<(String, Value)>,
    /// Where the model goes among the fields.
    model_at: usize,
    model: String,
    spaces: Vec<&'static str>,
    escape_keys: bool,
    pretty: bool,
}

fn body() -> impl Strategy<Value = Body> {
    let known = prop::sample::select(vec![
        "messages",
        "input",
        "system",
        "instructions",
        "metadata",
        "max_tokens",
        "temperature",
        "tools",
    ]);
    let key = prop_oneof![known.prop_map(str::to_string), text()];
    (
        btree_map(key, json_value(), 0..8),
        any::<prop::sample::Index>(),
        text(),
        vec(space(), 64),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(fields, at, model, spaces, escape_keys, pretty)| {
            let fields: Vec<(String, Value)> =
                fields.into_iter().filter(|(k, _)| k != "model").collect();
            Body {
                model_at: at.index(fields.len() + 1),
                fields,
                model,
                spaces,
                escape_keys,
                pretty,
            }
        })
}

/// A JSON string spelled with `\u` escapes for its ASCII letters.
fn escaped(key: &str) -> String {
    let mut out = String::from("\"");
    for c in key.chars() {
        if c.is_ascii_alphabetic() {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            let one = serde_json::to_string(&c.to_string()).expect("a string serialises");
            out.push_str(&one[1..one.len() - 1]);
        }
    }
    out.push('"');
    out
}

impl Body {
    /// The body's text, and the byte range of the model's value in it.
    fn render(&self) -> (String, std::ops::Range<usize>) {
        let mut spaces = self.spaces.iter().cycle();
        let mut sp = || *spaces.next().unwrap_or(&"");
        let mut out = String::new();
        out.push_str(sp());
        out.push('{');
        let mut span = 0..0;
        let mut model = Some(Value::String(self.model.clone()));
        let mut fields = self.fields.iter().map(|(k, v)| (k.as_str(), v.clone()));
        let total = self.fields.len() + 1;
        for i in 0..total {
            let (key, value, is_model) = if i == self.model_at {
                ("model", model.take().unwrap_or(Value::Null), true)
            } else {
                let (k, v) = fields.next().expect("a field");
                (k, v, false)
            };
            out.push_str(sp());
            out.push_str(&if self.escape_keys {
                escaped(key)
            } else {
                serde_json::to_string(key).expect("key")
            });
            out.push_str(sp());
            out.push(':');
            out.push_str(sp());
            let start = out.len();
            out.push_str(&if self.pretty {
                serde_json::to_string_pretty(&value).expect("value")
            } else {
                serde_json::to_string(&value).expect("value")
            });
            if is_model {
                span = start..out.len();
            }
            out.push_str(sp());
            if i + 1 < total {
                out.push(',');
            }
        }
        out.push('}');
        out.push_str(sp());
        (out, span)
    }

    /// The body as JSON, with `model` as its model.
    fn value(&self, model: &str) -> Value {
        let mut map: Map<String, Value> = self.fields.iter().cloned().collect();
        map.insert("model".into(), Value::String(model.into()));
        Value::Object(map)
    }
}

#[test]
fn arbitrary_bytes_never_panic() {
    let strategy = prop_oneof![
        vec(any::<u8>(), 0..512),
        // Nearly JSON: a real body, cut short or with a byte changed.
        (body(), any::<prop::sample::Index>(), any::<u8>()).prop_map(|(b, at, byte)| {
            let mut bytes = b.render().0.into_bytes();
            let i = at.index(bytes.len());
            if byte % 2 == 0 {
                bytes.truncate(i);
            } else {
                bytes[i] = byte;
            }
            bytes
        }),
    ];
    let tried = AtomicUsize::new(0);
    runner(3000)
        .run(&strategy, |bytes| {
            tried.fetch_add(1, Ordering::Relaxed);
            if let Ok(head) = read_head(&bytes) {
                session_key(&http::HeaderMap::new(), &head);
            }
            upstream_body(&Bytes::from(bytes), "m", "other");
            Ok(())
        })
        .expect("no panic");
    let tried = tried.into_inner();
    println!("figures: read_head on {tried} random byte strings, no panic");
}

#[test]
fn arbitrary_json_and_headers_never_panic() {
    let header = (
        prop::sample::select(
            ["user-agent"]
                .iter()
                .chain(SESSION_HEADERS)
                .copied()
                .collect::<Vec<_>>(),
        ),
        vec(any::<u8>(), 0..24),
    );
    let strategy = (json_value(), vec(header, 0..4));
    let tried = AtomicUsize::new(0);
    runner(3000)
        .run(&strategy, |(value, headers)| {
            tried.fetch_add(1, Ordering::Relaxed);
            let bytes = serde_json::to_vec(&value).expect("serialise");
            let mut map = http::HeaderMap::new();
            for (name, raw) in headers {
                if let Ok(v) = http::HeaderValue::from_bytes(&raw) {
                    map.append(name, v);
                }
            }
            if let Ok(head) = read_head(&bytes) {
                // Only an object with a string model has a head, and it is that model.
                prop_assert!(value.is_object());
                prop_assert_eq!(
                    value.get("model").and_then(Value::as_str),
                    Some(head.model.as_str())
                );
                // The key is a function of its inputs.
                prop_assert_eq!(session_key(&map, &head), session_key(&map, &head));
            }
            Ok(())
        })
        .expect("no panic, and a head only for a model");
    let tried = tried.into_inner();
    println!("figures: read_head and session_key on {tried} random JSON values and header sets");
}

#[test]
fn upstream_body_changes_only_the_model_value() {
    let strategy = (body(), text());
    let tried = AtomicUsize::new(0);
    runner(3000)
        .run(&strategy, |(b, new_model)| {
            tried.fetch_add(1, Ordering::Relaxed);
            let (text, span) = b.render();
            let bytes = Bytes::from(text.clone());
            // The reader finds the model, however the body is spelled.
            if let Ok(head) = read_head(&bytes) {
                prop_assert_eq!(&head.model, &b.model);
            }
            // The same model: the very same bytes.
            prop_assert_eq!(upstream_body(&bytes, &b.model, &b.model), bytes.clone());
            let out = upstream_body(&bytes, &b.model, &new_model);
            let expected = format!(
                "{}{}{}",
                &text[..span.start],
                serde_json::to_string(&new_model).expect("model"),
                &text[span.end..]
            );
            let out_text = String::from_utf8_lossy(&out).into_owned();
            prop_assert_eq!(
                &out_text,
                &expected,
                "bytes other than the model's value changed"
            );
            let parsed: Value = serde_json::from_slice(&out).expect("the new body parses");
            // Through text both ways: serde_json's float parsing is not exact.
            let want: Value =
                serde_json::from_str(&b.value(&new_model).to_string()).expect("reparse");
            prop_assert_eq!(parsed, want);
            Ok(())
        })
        .expect("only the model's value changes");
    let tried = tried.into_inner();
    println!("figures: upstream_body on {tried} random bodies");
}

#[test]
fn deep_nesting_never_crashes() {
    for depth in [200, 10_000, 200_000] {
        let nest = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        // Skipped unparsed (serde_json skips iteratively): read, model found.
        let skipped = Bytes::from(format!("{{\"model\":\"m\",\"tools\":{nest}}}"));
        assert_eq!(
            read_head(&skipped).map(|h| h.model),
            Ok("m".into()),
            "depth {depth}"
        );
        let out = upstream_body(&skipped, "m", "other");
        assert!(
            out.starts_with(b"{\"model\":\"other\",\"tools\":[[["),
            "depth {depth}"
        );
        assert_eq!(out.len(), skipped.len() + 4, "depth {depth}");
        // Parsed into a type (metadata): the recursion limit refuses it.
        let parsed = Bytes::from(format!(
            "{{\"model\":\"m\",\"metadata\":{{\"user_id\":{nest}}}}}"
        ));
        assert!(read_head(&parsed).is_err(), "depth {depth}");
    }
}

#[test]
fn escaped_keys_render_as_written() {
    // The generator's needless escapes are valid JSON for the same key.
    for key in ["model", "messages", "a\"b", "é", "\u{1}"] {
        let spelled = escaped(key);
        assert_eq!(
            serde_json::from_str::<String>(&spelled).expect(&spelled),
            key
        );
    }
    assert_eq!(escaped("model"), r#""\u006d\u006f\u0064\u0065\u006c""#);
}
