//! Prices and credits in a real sellers file on disk: read through
//! `Sellers::open` and its reload, priced with `cost()` (the seller's own
//! price, then the shipped table), and refused with file:line when wrong.

use tokenbuddy::protocol::Usage;
use tokenbuddy::sellers::{cost, price, PriceSource, Prices, Sellers};

const FILE: &str = "\
sellers:
  - id: acme
    base_url: https://api.acme.example/v1
    api_key: sk-acme-secret
    protocols: [anthropic-messages]
    models:
      - sonnet: anthropic/claude-sonnet-4.5
      - house: acme-house-1
    discount_ratio: 0.5
    service_fee_ratio: 0.1
    prices:
      house:
        input: 1
        output: 4
        cache_read: 0.1
    credits: 20
  - id: open
    base_url: http://127.0.0.1:9
    api_key: sk-open-secret
    protocols: [openai-chat]
";

fn usage() -> Usage {
    Usage {
        input: Some(2_000),
        output: Some(1_000),
        cache_read: Some(100_000),
        cache_write: Some(4_000),
    }
}

#[test]
fn prices_and_credits_round_trip_through_the_file_and_price_requests() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sellers.yaml");
    std::fs::write(&path, FILE).expect("write");
    let sellers = Sellers::open(path.clone(), Vec::new()).expect("the file opens");
    let set = sellers.snapshot();
    let acme = set
        .sellers
        .iter()
        .find(|s| s.id.as_str() == "acme")
        .expect("acme");
    assert_eq!(acme.credits, Some(20.0));
    assert_eq!(
        acme.prices.get("house"),
        Some(&Prices {
            input: 1.0,
            output: 4.0,
            cache_read: Some(0.1),
            cache_write: None,
        })
    );
    assert_eq!(acme.prices.len(), 1);

    // Its own price: (2000×1 + 1000×4 + 100000×0.1 + 4000×1) / 1e6 = 0.02,
    // × 0.5 × 1.1 = 0.011.
    let house = cost(acme, "house", "acme-house-1", &usage()).expect("priced");
    assert!((house - 0.011).abs() < 1e-12, "{house}");
    // The table's for the model sent (Sonnet 4.5: 3 / 15 / 0.3 / 3.75):
    // (6000 + 15000 + 30000 + 15000) / 1e6 = 0.066, × 0.55 = 0.0363.
    let sonnet = cost(acme, "sonnet", "anthropic/claude-sonnet-4.5", &usage()).expect("priced");
    assert!((sonnet - 0.0363).abs() < 1e-12, "{sonnet}");
    assert_eq!(
        price::price_for(acme, "sonnet", "anthropic/claude-sonnet-4.5").map(|(_, s)| s),
        Some(PriceSource::TableModelSent)
    );
    let open = set
        .sellers
        .iter()
        .find(|s| s.id.as_str() == "open")
        .expect("open");
    assert_eq!((open.credits, open.prices.len()), (None, 0));
    assert_eq!(cost(open, "unheard-of", "unheard-of", &usage()), None);

    // A new balance is read on reload.
    std::fs::write(&path, FILE.replace("credits: 20", "credits: 35.5")).expect("write");
    sellers.reload().expect("reloads");
    let acme = sellers.snapshot().sellers[0].clone();
    assert_eq!(acme.credits, Some(35.5));

    // A wrong price is refused with file:line; the last good set serves on.
    let bad = FILE.replace("cache_read: 0.1", "cache_read: -0.1");
    std::fs::write(&path, &bad).expect("write");
    let err = sellers.reload().expect_err("a negative price is refused");
    let shown = err.to_string();
    assert!(
        shown.starts_with(&format!("{}:12:", path.display())),
        "{shown}"
    );
    assert!(shown.contains("prices for \"house\""), "{shown}");
    assert!(!shown.contains("secret"), "{shown}");
    assert_eq!(sellers.snapshot().sellers[0].credits, Some(35.5));

    let unlisted = FILE.replace("      house:\n", "      cheap:\n");
    std::fs::write(&path, &unlisted).expect("write");
    let err = sellers.reload().expect_err("a price for an unlisted model");
    assert!(err.to_string().contains(":12:"), "{err}");
    assert!(err.to_string().contains("does not list"), "{err}");
}
