//! Fault suite — the sellers file under random input (proptest, seeded,
//! 400 cases per property):
//! - any text: the parser never panics, and a refusal names the file and
//!   a line that exists;
//! - random valid files (random fields, list styles, quoting, comments):
//!   read exactly as written — no seller, field, model, price or credit
//!   lost or invented;
//! - those files cut, spliced or garbled anywhere: either still a correct
//!   reading of what is left, or a refusal — and a key's value never
//!   appears in an error message.

use std::path::Path;

use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use tokenbuddy::protocol::Protocol;
use tokenbuddy::sellers::file::parse;
use tokenbuddy::sellers::Prices;

const PATH: &str = "/data/sellers.yaml";

fn no_env(_: &str) -> Option<String> {
    None
}

/// One seller as the generator means it.
#[derive(Debug, Clone)]
struct Spec {
    id: String,
    name: Option<String>,
    base_url: String,
    key: String,
    protocols: Vec<Protocol>,
    models: Vec<(String, Option<String>)>,
    discount: Option<f64>,
    fee: Option<f64>,
    priority: Option<i32>,
    max_concurrency: Option<u32>,
    /// Per model: prices, and whether written as a flow mapping.
    prices: Vec<(String, Prices, bool)>,
    credits: Option<f64>,
    flow_protocols: bool,
    quote: u8,
}

fn protocols() -> impl Strategy<Value = Vec<Protocol>> {
    proptest::sample::subsequence(Protocol::ALL.to_vec(), 1..=3)
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        "[a-z][a-z0-9_.-]{0,10}",
        proptest::option::of("[A-Z][a-z]{1,8}( [A-Z][a-z]{1,6})?"),
        ("[a-z]{1,10}", any::<bool>(), any::<bool>()),
        "sk-[A-Za-z0-9]{12,24}",
        protocols(),
        proptest::collection::vec(
            (
                "[a-z][a-z0-9.-]{0,8}",
                proptest::option::of("[a-z]{1,6}/[a-z0-9.-]{1,10}"),
            ),
            0..4,
        ),
        (
            proptest::option::of(1u32..400),
            proptest::option::of(0u32..50),
            proptest::option::of(-9i32..10),
            proptest::option::of(1u32..200),
        ),
        (any::<bool>(), 0u8..3),
        (
            proptest::collection::vec(
                (
                    0u32..100_000,
                    0u32..100_000,
                    proptest::option::of(0u32..10_000),
                    proptest::option::of(0u32..10_000),
                    any::<bool>(),
                ),
                0..4,
            ),
            proptest::option::of(0u32..1_000_000),
        ),
    )
        .prop_map(
            |(
                id,
                name,
                (host, v1, slash),
                key,
                protocols,
                models,
                numbers,
                (flow, quote),
                (prices, credits),
            )| {
                let mut models = models;
                models.sort_by(|a, b| a.0.cmp(&b.0));
                models.dedup_by(|a, b| a.0 == b.0);
                let (discount, fee, priority, max_concurrency) = numbers;
                let cents = |c: u32| f64::from(c) / 100.0;
                // Prices for listed models only (the file refuses others);
                // any names when the seller takes any model.
                let mut priced: Vec<(String, Prices, bool)> = prices
                    .into_iter()
                    .enumerate()
                    .map(|(i, (input, output, read, write, flow))| {
                        let model = if models.is_empty() {
                            format!("any-{i}.m")
                        } else {
                            models[i % models.len()].0.clone()
                        };
                        let p = Prices {
                            input: cents(input),
                            output: cents(output),
                            cache_read: read.map(cents),
                            cache_write: write.map(cents),
                        };
                        (model, p, flow)
                    })
                    .collect();
                priced.sort_by(|a, b| a.0.cmp(&b.0));
                priced.dedup_by(|a, b| a.0 == b.0);
                Spec {
                    id,
                    name,
                    base_url: format!(
                        "https://{host}.example{}{}",
                        if v1 { "/v1" } else { "" },
                        if slash { "/" } else { "" }
                    ),
                    key,
                    protocols,
                    models,
                    discount: discount.map(|d| f64::from(d) / 100.0),
                    fee: fee.map(|f| f64::from(f) / 100.0),
                    priority,
                    max_concurrency,
                    prices: priced,
                    credits: credits.map(cents),
                    flow_protocols: flow,
                    quote,
                }
            },
        )
}

fn quoted(s: &str, style: u8) -> String {
    match style {
        0 => s.to_string(),
        1 => format!("\"{s}\""),
        _ => format!("'{s}'"),
    }
}

fn render(specs: &[Spec], comments: bool) -> String {
    let mut out = String::new();
    if comments {
        out.push_str("# my sellers\n");
    }
    out.push_str("sellers:\n");
    for s in specs {
        let q = |v: &str| quoted(v, s.quote);
        out.push_str(&format!("  - id: {}\n", q(&s.id)));
        if comments {
            out.push_str("    # where it lives\n");
        }
        if let Some(n) = &s.name {
            out.push_str(&format!("    name: {}\n", q(n)));
        }
        out.push_str(&format!("    base_url: {}\n", q(&s.base_url)));
        out.push_str(&format!("    api_key: {}\n", q(&s.key)));
        let names: Vec<&str> = s.protocols.iter().map(|p| p.as_str()).collect();
        if s.flow_protocols {
            out.push_str(&format!("    protocols: [{}]\n", names.join(", ")));
        } else {
            out.push_str("    protocols:\n");
            for n in names {
                out.push_str(&format!("      - {n}\n"));
            }
        }
        if !s.models.is_empty() {
            out.push_str("    models:\n");
            for (name, upstream) in &s.models {
                match upstream {
                    Some(u) => out.push_str(&format!("      - {}: {}\n", q(name), q(u))),
                    None => out.push_str(&format!("      - {}\n", q(name))),
                }
            }
        }
        if let Some(d) = s.discount {
            out.push_str(&format!("    discount_ratio: {d}\n"));
        }
        if let Some(f) = s.fee {
            out.push_str(&format!(
                "    service_fee_ratio: {f}{}\n",
                if comments { "   # fee" } else { "" }
            ));
        }
        if let Some(p) = s.priority {
            out.push_str(&format!("    priority: {p}\n"));
        }
        if let Some(c) = s.max_concurrency {
            out.push_str(&format!("    max_concurrency: {c}\n"));
        }
        if !s.prices.is_empty() {
            out.push_str("    prices:\n");
            for (model, p, flow) in &s.prices {
                let mut fields = vec![
                    format!("input: {}", p.input),
                    format!("output: {}", p.output),
                ];
                if let Some(r) = p.cache_read {
                    fields.push(format!("cache_read: {r}"));
                }
                if let Some(w) = p.cache_write {
                    fields.push(format!("cache_write: {w}"));
                }
                if *flow {
                    out.push_str(&format!("      {}: {{{}}}\n", q(model), fields.join(", ")));
                } else {
                    out.push_str(&format!("      {}:\n", q(model)));
                    for f in fields {
                        out.push_str(&format!("        {f}\n"));
                    }
                }
            }
        }
        if let Some(c) = s.credits {
            out.push_str(&format!("    credits: {c}\n"));
        }
    }
    out
}

fn sellers() -> impl Strategy<Value = Vec<Spec>> {
    proptest::collection::vec(spec(), 0..5).prop_map(|mut v| {
        // Unique ids, as the file requires.
        for (i, s) in v.iter_mut().enumerate() {
            s.id = format!("{}{i}", s.id);
        }
        v
    })
}

fn check_error(e: &tokenbuddy::sellers::FileError, text: &str, keys: &[String]) {
    let msg = e.to_string();
    assert!(msg.starts_with(PATH), "names the file: {msg}");
    if let Some(line) = e.line {
        // YAML's line breaks: \r\n, \n, and a lone \r.
        let lines = text
            .replace("\r\n", "\n")
            .replace('\r', "\n")
            .matches('\n')
            .count()
            + 1;
        assert!(
            line >= 1 && line <= lines,
            "line {line} exists in a file of {lines} lines: {msg}"
        );
    }
    for k in keys {
        assert!(
            !msg.contains(k.as_str()),
            "a key leaked into an error: {msg}"
        );
    }
}

proptest! {
    // Seeded: the same cases every run; no failure files in the tree.
    #![proptest_config(ProptestConfig {
        cases: 400,
        rng_seed: RngSeed::Fixed(0x5e11_e125),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn any_text_is_read_or_refused_never_a_panic(text in ".{0,400}") {
        match parse(Path::new(PATH), &text, &no_env) {
            Ok(_) => {}
            Err(e) => check_error(&e, &text, &[]),
        }
    }

    #[test]
    fn valid_files_are_read_exactly(specs in sellers(), comments in any::<bool>()) {
        let text = render(&specs, comments);
        let got = parse(Path::new(PATH), &text, &no_env).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(got.len(), specs.len(), "{}", text);
        for (s, g) in specs.iter().zip(&got) {
            prop_assert_eq!(g.id.as_str(), s.id.as_str());
            prop_assert_eq!(&g.name, s.name.as_ref().unwrap_or(&s.id));
            let url = s.base_url.trim_end_matches('/');
            prop_assert_eq!(g.base_url.as_str(), url.strip_suffix("/v1").unwrap_or(url));
            prop_assert_eq!(g.api_key.expose(), s.key.as_str());
            prop_assert_eq!(&g.protocols, &s.protocols);
            let models: Vec<(String, String)> = g.models.iter().map(|m| (m.name.clone(), m.upstream.clone())).collect();
            let want: Vec<(String, String)> = s.models.iter().map(|(n, u)| (n.clone(), u.clone().unwrap_or_else(|| n.clone()))).collect();
            prop_assert_eq!(models, want);
            prop_assert_eq!(g.discount_ratio, s.discount.unwrap_or(1.0));
            prop_assert_eq!(g.service_fee_ratio, s.fee.unwrap_or(0.0));
            prop_assert_eq!(g.priority, s.priority.unwrap_or(0));
            prop_assert_eq!(g.max_concurrency, s.max_concurrency);
            let prices: Vec<(String, Prices)> = g.prices.iter().map(|(m, p)| (m.clone(), *p)).collect();
            let want: Vec<(String, Prices)> = s.prices.iter().map(|(m, p, _)| (m.clone(), *p)).collect();
            prop_assert_eq!(prices, want);
            prop_assert_eq!(g.credits, s.credits);
        }
    }

    #[test]
    fn damaged_files_are_refused_or_read_as_they_stand(
        specs in sellers(),
        cut in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        junk in "[\\[\\]{}:,'\"#&*!|> \\t\\n-]{1,6}",
        how in 0u8..3,
    ) {
        let text = render(&specs, true);
        let damaged = match how {
            // Truncated (a write cut short).
            0 => text[..cut.index(text.len() + 1)].to_string(),
            // Junk spliced in.
            1 => {
                let i = at.index(text.len() + 1);
                format!("{}{junk}{}", &text[..i], &text[i..])
            }
            // A line dropped.
            _ => {
                let lines: Vec<&str> = text.lines().collect();
                let drop = at.index(lines.len().max(1));
                lines.iter().enumerate().filter(|(i, _)| *i != drop).map(|(_, l)| format!("{l}\n")).collect()
            }
        };
        let keys: Vec<String> = specs.iter().map(|s| s.key.clone()).collect();
        match parse(Path::new(PATH), &damaged, &no_env) {
            Err(e) => check_error(&e, &damaged, &keys),
            Ok(got) => {
                // Whatever was read is really in the file: no seller invented,
                // every key read is one that was written (or a prefix of it,
                // when the cut fell inside the key).
                // (Modulo whitespace: YAML folds a line break inside a
                // quoted scalar into a space.)
                let squeeze = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
                let file = squeeze(&damaged);
                for g in &got {
                    let key = squeeze(g.api_key.expose());
                    prop_assert!(file.contains(&key), "read a key that is not in the file:\n{}", damaged);
                    prop_assert!(file.contains(&squeeze(g.id.as_str())), "{}", damaged);
                }
                prop_assert!(got.len() <= specs.len() + 1);
            }
        }
    }
}
