//! Fault suite — sellers file abuse: a thousand rapid edits of
//! `sellers.yaml` while a client keeps calling, with broken ones among them,
//! truncated writes, and the save patterns of real editors (write in place,
//! in place in two steps, write a temp file and rename it, vim's
//! rename-to-backup-then-write). The real `tokenbuddy serve` keeps serving
//! the last good set throughout — no request fails — and settles on the
//! final content.
//!
//! Seeded: the same edits every run.

mod support;

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::process::Served;
use support::seeded::SplitMix as Rng;
use support::{request_body, seller_yaml, sellers_file};
use tokenbuddy::protocol::Protocol;
use tokenbuddy::sim::{Behavior, SimSeller};

const EDITS: usize = 1000;

/// How one edit reaches the disk.
#[derive(Debug, Clone, Copy)]
enum Save {
    /// `open(O_TRUNC)`, write, close.
    InPlace,
    /// Truncate, write half, pause, write the rest, close.
    InPlaceSlowly,
    /// Write a temp file in the same folder, rename it over the file.
    TempRename,
    /// vim without `backupcopy`: rename the file to `file~`, write a new
    /// one, remove the backup.
    VimBackup,
}

fn save(path: &Path, text: &str, how: Save, pause: Duration) {
    let dir = path.parent().expect("a folder");
    match how {
        Save::InPlace => std::fs::write(path, text).expect("write"),
        Save::InPlaceSlowly => {
            let mut f = std::fs::File::create(path).expect("create");
            let (a, b) = text.split_at(text.len() / 2);
            f.write_all(a.as_bytes()).expect("first half");
            f.flush().expect("flush");
            std::thread::sleep(pause);
            f.write_all(b.as_bytes()).expect("second half");
        }
        Save::TempRename => {
            let tmp = dir.join(".sellers.yaml.tmp-editor");
            std::fs::write(&tmp, text).expect("temp");
            std::fs::rename(&tmp, path).expect("rename");
        }
        Save::VimBackup => {
            let backup = dir.join("sellers.yaml~");
            std::fs::rename(path, &backup).expect("to backup");
            std::thread::sleep(pause);
            std::fs::write(path, text).expect("new file");
            std::fs::remove_file(&backup).expect("drop backup");
        }
    }
}

async fn api_sellers(client: &reqwest::Client, served: &Served) -> Value {
    client
        .get(served.url("/api/sellers"))
        .bearer_auth(&served.token)
        .send()
        .await
        .expect("api/sellers")
        .json()
        .await
        .expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_rapid_edits_never_interrupt_serving() {
    let a = SimSeller::start(Behavior::default()).await.expect("a");
    let b = SimSeller::start(Behavior::default()).await.expect("b");
    let entry_a = seller_yaml("a", &a.base_url(), &Protocol::ALL);
    let entry_b = seller_yaml("b", &b.base_url(), &Protocol::ALL);
    let valid = [
        sellers_file(std::slice::from_ref(&entry_a)),
        sellers_file(std::slice::from_ref(&entry_b)),
        sellers_file(&[entry_a.clone(), entry_b.clone()]),
        format!(
            "# both, b first\n{}",
            sellers_file(&[entry_b.clone(), entry_a.clone()])
        ),
    ];
    let broken = [
        "sellers:\n  - id: a\n    base_url: [unclosed\n".to_string(),
        format!(
            "{}    colour: blue\n",
            sellers_file(std::slice::from_ref(&entry_a))
        ),
        "sellers: {not: a list}\n".to_string(),
        "\u{0}\u{1}garbage".to_string(),
        String::new(),
    ];
    let data = tempfile::tempdir().expect("data");
    let path = data.path().join("sellers.yaml");
    std::fs::write(&path, &valid[2]).expect("first file");
    let served = Served::start(data.path(), &[], &[]);

    // The client: new conversations back to back until the edits are done.
    let done = Arc::new(AtomicBool::new(false));
    let served_ok = Arc::new(AtomicU64::new(0));
    let client = reqwest::Client::new();
    let caller = {
        let (done, ok, client) = (Arc::clone(&done), Arc::clone(&served_ok), client.clone());
        let url = served.url("/v1/chat/completions");
        let token = served.token.clone();
        tokio::spawn(async move {
            let mut failures = Vec::new();
            let mut n = 0u64;
            while !done.load(Ordering::Relaxed) {
                n += 1;
                let mut body = request_body(Protocol::OpenAiChat, "m", false);
                body["messages"][0]["content"] = format!("conversation {n}").into();
                match client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await
                {
                    Ok(r) if r.status() == 200 => {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(r) => {
                        let status = r.status();
                        failures.push(format!("{status}: {}", r.text().await.unwrap_or_default()))
                    }
                    Err(e) => failures.push(e.to_string()),
                }
            }
            failures
        })
    };

    let started = Instant::now();
    let mut rng = Rng(20261201);
    let (mut broken_edits, mut patterns) = (0, [0usize; 4]);
    for i in 0..EDITS {
        let text = match rng.below(10) {
            0..=5 => valid[rng.below(valid.len() as u64) as usize].clone(),
            6 | 7 => {
                broken_edits += 1;
                broken[rng.below(broken.len() as u64) as usize].clone()
            }
            _ => {
                // Truncated: a valid file cut at a random byte.
                broken_edits += 1;
                let full = &valid[rng.below(valid.len() as u64) as usize];
                let cut = rng.below(full.len() as u64) as usize;
                full[..cut].to_string()
            }
        };
        let how = match rng.below(4) {
            0 => Save::InPlace,
            1 => Save::InPlaceSlowly,
            2 => Save::TempRename,
            _ => Save::VimBackup,
        };
        patterns[how as usize] += 1;
        let pause = Duration::from_millis(rng.below(15));
        let path = path.clone();
        tokio::task::spawn_blocking(move || save(&path, &text, how, pause))
            .await
            .expect("edit");
        // Rapid, but now and then slow enough for a reload to land.
        let gap = if i % 10 == 0 { 90 } else { rng.below(4) };
        tokio::time::sleep(Duration::from_millis(gap)).await;
    }
    let edits_took = started.elapsed();

    // The final content, saved the way most editors do.
    let final_text = sellers_file(std::slice::from_ref(&entry_b));
    save(&path, &final_text, Save::TempRename, Duration::ZERO);
    let deadline = Instant::now() + support::HANG;
    let settled = loop {
        let api = api_sellers(&client, &served).await;
        let ids: Vec<&str> = api["sellers"]
            .as_array()
            .map(|a| a.iter().filter_map(|s| s["id"].as_str()).collect())
            .unwrap_or_default();
        if ids == ["b"] && api["file"]["error"].is_null() {
            break api;
        }
        assert!(
            Instant::now() < deadline,
            "did not settle on the final content: {api}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    done.store(true, Ordering::Relaxed);
    let failures = caller.await.expect("caller");
    let ok = served_ok.load(Ordering::Relaxed);
    let reloads = served.logged("sellers file reloaded");
    let refused = served.logged("sellers file not reloaded");
    println!(
        "sellers file abuse: {EDITS} edits in {edits_took:.1?} ({broken_edits} broken or truncated; in place {}, in place slowly {}, temp+rename {}, vim backup {}), {reloads} reloads, {refused} refused, {ok} requests served, {} failed, generation {}, peak RSS {} KiB",
        patterns[0],
        patterns[1],
        patterns[2],
        patterns[3],
        failures.len(),
        settled["file"]["generation"],
        served.peak_rss_kib(),
    );
    assert!(
        failures.is_empty(),
        "{} requests failed during the edits, first: {:?}",
        failures.len(),
        &failures[..failures.len().min(3)]
    );
    assert!(ok > 100, "the client kept calling ({ok})");
    assert!(refused > 0 && reloads > 0, "both kinds of edit landed");
    assert!(served.stop().success());
}
