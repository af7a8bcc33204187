//! The in-place sellers editor on golden files: every fixture (comments,
//! block and flow lists, flow items, CRLF, no final newline, anchors, a
//! seller using `api_key_env`, a comment-only file) gets an add, two edits
//! and two removes, each byte-compared with a reviewed golden file in
//! `tests/fixtures/sellers_edit/` (`UPDATE_GOLDEN=1` rewrites them — then
//! read the diff). Then a property: on random files, an edit parses back
//! to the intended set and leaves every other seller's bytes as they were.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use tokenbuddy::protocol::Protocol;
use tokenbuddy::sellers::edit::{self, Change, EditError, KeySource, SellerSpec};
use tokenbuddy::sellers::Seller;

const PATH: &str = "/d/sellers.yaml";

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sellers_edit")
}

fn parsed(text: &str) -> Vec<Seller> {
    edit::parse_for_check(Path::new(PATH), text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn new_spec() -> SellerSpec {
    SellerSpec {
        id: "new".into(),
        name: Some("New One".into()),
        base_url: "https://new.example/v1".into(),
        key: KeySource::Stored("new".into()),
        protocols: vec![Protocol::OpenAiChat, Protocol::OpenAiResponses],
        models: vec!["m1".into(), "3.5".into()],
        discount_ratio: None,
        service_fee_ratio: None,
        priority: None,
        max_concurrency: None,
        credits: Some(2.5),
    }
}

/// The changes every fixture gets, by name.
fn changes(text: &str) -> Vec<(&'static str, Change)> {
    let sellers = parsed(text);
    let mut out = vec![("add", Change::Add(new_spec()))];
    if let (Some(first), Some(last)) = (sellers.first(), sellers.last()) {
        let mut e = edit::spec_of(first);
        e.base_url = "https://moved.example".into();
        e.max_concurrency = Some(4);
        e.protocols = vec![Protocol::OpenAiChat];
        out.push(("edit-first", Change::Edit(e)));
        let mut e = edit::spec_of(last);
        e.key = KeySource::Stored(last.id.to_string());
        e.credits = None;
        e.name = Some("Last one".into());
        out.push(("edit-last", Change::Edit(e)));
        out.push(("remove-first", Change::Remove(first.id.to_string())));
        out.push(("remove-last", Change::Remove(last.id.to_string())));
    }
    out
}

fn shown(r: &Result<String, EditError>) -> String {
    match r {
        Ok(t) => t.clone(),
        Err(e) => format!("REFUSED: {e}\n"),
    }
}

#[test]
fn golden_add_edit_remove() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut fixtures: Vec<PathBuf> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            name.ends_with(".yaml") && name.matches('.').count() == 1
        })
        .collect();
    fixtures.sort();
    assert!(fixtures.len() >= 7, "{fixtures:?}");
    let mut failures = Vec::new();
    for fixture in &fixtures {
        let text = std::fs::read_to_string(fixture).unwrap();
        let stem = fixture.file_stem().unwrap().to_string_lossy().to_string();
        for (name, change) in changes(&text) {
            let got = edit::apply(Path::new(PATH), &text, &change);
            if let Ok(new) = &got {
                // Whatever else: the result parses, and an add or edit is what was asked.
                let sellers = parsed(new);
                if let Change::Add(s) | Change::Edit(s) = &change {
                    assert!(
                        sellers.iter().any(|x| x.id.as_str() == s.id),
                        "{stem}.{name}"
                    );
                }
                assert_eq!(
                    edit::apply(Path::new(PATH), new, &change).is_ok(),
                    matches!(change, Change::Edit(_)),
                    "{stem}.{name}: the same edit again changes nothing; an add or remove again is refused"
                );
            }
            let golden = dir().join(format!("{stem}.{name}.yaml"));
            let shown = shown(&got);
            if update {
                std::fs::write(&golden, &shown).unwrap();
            } else {
                let want = std::fs::read_to_string(&golden)
                    .unwrap_or_else(|_| panic!("missing {}", golden.display()));
                if want != shown {
                    failures.push(format!(
                        "{}:\n--- want\n{want}\n--- got\n{shown}",
                        golden.display()
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn an_unchanged_edit_writes_the_same_bytes() {
    for fixture in [
        "block.yaml",
        "flow.yaml",
        "crlf.yaml",
        "nofinal.yaml",
        "flow_items.yaml",
    ] {
        let text = std::fs::read_to_string(dir().join(fixture)).unwrap();
        for s in parsed(&text) {
            let got =
                edit::apply(Path::new(PATH), &text, &Change::Edit(edit::spec_of(&s))).unwrap();
            assert_eq!(got, text, "{fixture}: {}", s.id);
        }
    }
}

#[test]
fn a_broken_file_is_refused_with_its_own_line() {
    let text = "sellers:\n  - id: a\n    base_url: http://a.example\n    api_key: k\n    protocols: [openai-chat\n";
    for change in [Change::Add(new_spec()), Change::Remove("a".into())] {
        let err = edit::apply(Path::new(PATH), text, &change).unwrap_err();
        let EditError::Broken(e) = &err else {
            panic!("{err:?}")
        };
        assert!(e.line.is_some(), "{err}");
        assert!(err.to_string().starts_with("/d/sellers.yaml:"), "{err}");
    }
}

// --- property: random files, random edits ---------------------------------

#[derive(Debug, Clone)]
struct Gen {
    protocols: Vec<Protocol>,
    models: Vec<String>,
    priority: Option<i32>,
    credits: Option<u32>,
    comment: bool,
    flow_protocols: bool,
}

fn protocols() -> impl Strategy<Value = Vec<Protocol>> {
    proptest::sample::subsequence(
        vec![
            Protocol::OpenAiChat,
            Protocol::OpenAiResponses,
            Protocol::AnthropicMessages,
        ],
        1..=3,
    )
}

fn generated() -> impl Strategy<Value = Gen> {
    (
        protocols(),
        proptest::collection::btree_set("[a-z][a-z0-9.-]{0,6}", 0..3),
        proptest::option::of(-5i32..5),
        proptest::option::of(0u32..100),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(protocols, models, priority, credits, comment, flow_protocols)| Gen {
                protocols,
                models: models.into_iter().collect(),
                priority,
                credits,
                comment,
                flow_protocols,
            },
        )
}

fn render(gens: &[Gen], crlf: bool) -> (String, Vec<String>) {
    let nl = if crlf { "\r\n" } else { "\n" };
    let mut text = format!("# sellers{nl}sellers:{nl}");
    let mut items = Vec::new();
    for (i, g) in gens.iter().enumerate() {
        let mut item = String::new();
        if g.comment {
            item.push_str(&format!("  # seller {i}{nl}"));
        }
        item.push_str(&format!(
            "  - id: s{i}{nl}    base_url: http://s{i}.example/v1{nl}"
        ));
        item.push_str(&format!("    api_key: k{i}{nl}"));
        let names: Vec<&str> = g.protocols.iter().map(|p| p.as_str()).collect();
        if g.flow_protocols {
            item.push_str(&format!("    protocols: [{}]{nl}", names.join(", ")));
        } else {
            item.push_str(&format!("    protocols:{nl}"));
            for n in names {
                item.push_str(&format!("      - {n}{nl}"));
            }
        }
        if !g.models.is_empty() {
            item.push_str(&format!(
                "    models: [{}]   # served{nl}",
                g.models.join(", ")
            ));
        }
        if let Some(p) = g.priority {
            item.push_str(&format!("    priority: {p}{nl}"));
        }
        if let Some(c) = g.credits {
            item.push_str(&format!("    credits: {c}{nl}"));
        }
        text.push_str(&item);
        items.push(item);
    }
    (text, items)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn edits_parse_to_the_intended_set_and_keep_other_sellers_bytes(
        gens in proptest::collection::vec(generated(), 1..5),
        target in any::<proptest::sample::Index>(),
        new in generated(),
        op in 0u8..3,
        crlf in any::<bool>(),
    ) {
        let (text, items) = render(&gens, crlf);
        let before = parsed(&text);
        let at = target.index(gens.len());
        let id = format!("s{at}");
        let spec = SellerSpec {
            id: id.clone(),
            name: None,
            base_url: format!("http://edited{at}.example"),
            key: KeySource::Keep,
            protocols: new.protocols.clone(),
            models: new.models.clone(),
            discount_ratio: None,
            service_fee_ratio: None,
            priority: new.priority,
            max_concurrency: None,
            credits: new.credits.map(f64::from),
        };
        let (change, touched) = match op {
            0 => (Change::Edit(spec.clone()), Some(at)),
            1 => (Change::Remove(id.clone()), Some(at)),
            _ => (Change::Add(SellerSpec { id: "added".into(), key: KeySource::Env("ADDED_KEY".into()), ..spec.clone() }), None),
        };
        let got = edit::apply(Path::new(PATH), &text, &change).unwrap();
        let after = parsed(&got);
        let others = |v: &[Seller], skip: &str| v.iter().filter(|s| s.id.as_str() != skip && s.id.as_str() != "added").cloned().collect::<Vec<_>>();
        prop_assert_eq!(others(&after, &id), others(&before, &id));
        match &change {
            Change::Remove(_) => prop_assert!(after.iter().all(|s| s.id.as_str() != id)),
            Change::Edit(s) | Change::Add(s) => {
                let x = after.iter().find(|x| x.id.as_str() == s.id).unwrap();
                prop_assert_eq!(&x.base_url, &s.base_url);
                let mut protocols = s.protocols.clone();
                protocols.dedup();
                prop_assert_eq!(&x.protocols, &protocols);
                prop_assert_eq!(x.models.iter().map(|m| m.name.clone()).collect::<Vec<_>>(), s.models.clone());
                prop_assert_eq!(x.priority, s.priority.unwrap_or(0));
                prop_assert_eq!(x.credits, s.credits);
            }
        }
        for (i, item) in items.iter().enumerate() {
            if Some(i) != touched {
                prop_assert!(got.contains(item.as_str()), "seller s{} lost bytes:\n{}\n--- in\n{}", i, item, got);
            }
        }
        let nl_ok = if crlf { !got.replace("\r\n", "").contains('\n') } else { !got.contains('\r') };
        prop_assert!(nl_ok, "line endings mixed:\n{:?}", got);
    }
}
