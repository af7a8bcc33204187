//! Seller selection cost: gathering each candidate's live stats from the pool
//! and ranking them (`scheduler::gather` + `scheduler::plan`), for 10, 100
//! and 1000 compatible sellers. Run: `cargo bench --bench selection`.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use tokenbuddy::pool::{Pool, Sample};
use tokenbuddy::protocol::Protocol;
use tokenbuddy::scheduler::{self, RoutingSettings, Scorer};
use tokenbuddy::sellers::{Secret, Seller};

fn market(n: usize, pool: &Pool, now: Instant) -> Vec<Arc<Seller>> {
    (0..n)
        .map(|i| {
            let seller = Arc::new(Seller {
                id: format!("s{i}").as_str().into(),
                name: format!("Seller {i}"),
                base_url: format!("http://127.0.0.1:{}", 10_000 + i),
                api_key: Secret::new("k"),
                protocols: vec![Protocol::OpenAiChat],
                models: vec![],
                discount_ratio: 0.3 + (i % 7) as f64 * 0.1,
                service_fee_ratio: 0.05,
                priority: 0,
                max_concurrency: None,
                prices: Default::default(),
                credits: None,
                translation: true,
            });
            // Most sellers measured, some new.
            if i % 5 != 0 {
                pool.stats(&seller.id).record(
                    &Sample {
                        ttft: Some(Duration::from_millis(100 + (i * 37 % 900) as u64)),
                        output_tokens: Some(200),
                        generating: Some(Duration::from_millis(500 + (i * 53 % 3000) as u64)),
                    },
                    now,
                );
            }
            seller
        })
        .collect()
}

fn selection(c: &mut Criterion) {
    let mut group = c.benchmark_group("select");
    for n in [10usize, 100, 1000] {
        let pool = Pool::new();
        let now = Instant::now();
        let sellers = market(n, &pool, now);
        for scorer in [Scorer::Speed, Scorer::Balanced] {
            let settings = RoutingSettings {
                scorer,
                ..RoutingSettings::default()
            };
            group.bench_with_input(BenchmarkId::new(format!("{scorer:?}"), n), &n, |b, _| {
                b.iter(|| {
                    let candidates =
                        scheduler::gather(&pool, sellers.iter(), Instant::now(), SystemTime::now());
                    scheduler::plan(&settings, candidates, false)
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, selection);
criterion_main!(benches);
