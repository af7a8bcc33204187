//! Golden tests of every protocol translation, over recorded-shape
//! requests, bodies and streams in `tests/translate/<client>_via_<seller>/<case>/`:
//!
//! - `request.json` → `upstream.json`: the client's request, translated for
//!   the seller (model `upstream-model`); or `untranslatable.txt`, a text the
//!   refusal's message must contain;
//! - `seller.json` → `client.json`: a whole HTTP 200 body;
//! - `seller.sse` → `client.sse`: a stream, event by event, then its end.
//!
//! Every translation uses the same context: the model the request names,
//! id `test`, created 1700000000. `TOKENBUDDY_BLESS=1` rewrites the expected
//! files from what the translator makes now (read the diff before committing).

use std::path::{Path, PathBuf};

use serde_json::Value;
use tokenbuddy::protocol::sse::SseSplitter;
use tokenbuddy::protocol::Protocol;
use tokenbuddy::translate::{self, Context, Via};

fn protocol(short: &str) -> Protocol {
    Protocol::ALL
        .into_iter()
        .find(|p| translate::short(*p) == short)
        .unwrap_or_else(|| panic!("no protocol named {short}"))
}

fn via_of(dir: &Path) -> Via {
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let (client, seller) = name
        .split_once("_via_")
        .unwrap_or_else(|| panic!("{name}: expected <client>_via_<seller>"));
    translate::via(protocol(client), protocol(seller))
        .unwrap_or_else(|| panic!("{name}: not in translate::ROUTES"))
}

fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

fn json(path: &Path) -> Option<Value> {
    let text = read(path)?;
    Some(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

fn bless() -> bool {
    std::env::var_os("TOKENBUDDY_BLESS").is_some()
}

/// Compares `got` with the file at `path` (or writes it when blessing).
fn expect(path: &Path, got: &str, failures: &mut Vec<String>) {
    if bless() {
        std::fs::write(path, got).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        return;
    }
    match read(path) {
        Some(want) if want == got => {}
        Some(want) => failures.push(format!(
            "{}: differs\n--- want\n{want}\n--- got\n{got}",
            path.display()
        )),
        None => failures.push(format!("{}: missing (got:\n{got})", path.display())),
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default() + "\n"
}

fn context(request: &Option<Value>) -> Context {
    let request = request.clone().unwrap_or(Value::Null);
    Context {
        model: request["model"]
            .as_str()
            .unwrap_or("test-model")
            .to_string(),
        id: "test".into(),
        created: 1_700_000_000,
        request,
    }
}

fn run_case(via: Via, case: &Path, failures: &mut Vec<String>) -> usize {
    let mut checked = 0;
    let request = json(&case.join("request.json"));
    if let Some(req) = &request {
        checked += 1;
        let got = translate::request(via, req, "upstream-model");
        match (got, read(&case.join("untranslatable.txt"))) {
            (Err(e), Some(want)) if e.to_string().contains(want.trim()) => {}
            (Err(e), Some(want)) => failures.push(format!(
                "{}: refused with {e:?}, expected a message containing {want:?}",
                case.display()
            )),
            (Ok(up), Some(_)) => failures.push(format!(
                "{}: expected a refusal, got {}",
                case.display(),
                pretty(&up)
            )),
            (Err(e), None) => failures.push(format!("{}: refused: {e}", case.display())),
            (Ok(up), None) => expect(&case.join("upstream.json"), &pretty(&up), failures),
        }
    }
    let ctx = context(&request);
    if let Some(body) = read(&case.join("seller.json")) {
        checked += 1;
        match translate::response(via, &ctx, body.as_bytes()) {
            Ok(out) => {
                let v: Value = serde_json::from_slice(&out).unwrap_or_else(|e| {
                    panic!("{}: the translated body is no JSON: {e}", case.display())
                });
                expect(&case.join("client.json"), &pretty(&v), failures);
            }
            Err(e) => expect(
                &case.join("client.json"),
                &format!("error: {e}\n"),
                failures,
            ),
        }
    }
    if let Some(stream) = read(&case.join("seller.sse")) {
        checked += 1;
        let mut t = translate::stream(via, ctx).expect("every route has a stream translator");
        let mut out = Vec::new();
        SseSplitter::new().push(stream.as_bytes(), |e| t.event(e.event, e.data, &mut out));
        t.end(&mut out);
        expect(
            &case.join("client.sse"),
            &String::from_utf8_lossy(&out),
            failures,
        );
    }
    checked
}

fn dirs(path: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(path)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn every_recorded_case_translates_as_expected() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/translate");
    let mut failures = Vec::new();
    let mut checked = 0;
    for pair in dirs(&root) {
        let via = via_of(&pair);
        for case in dirs(&pair) {
            let n = run_case(via, &case, &mut failures);
            assert!(
                n > 0,
                "{}: no request, body or stream in it",
                case.display()
            );
            checked += n;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    eprintln!("{checked} translations checked");
}
