//! `tokenbuddy agents …`, `terminals` and `doctor`: list agents and their
//! state, point one at TokenBuddy or put it back (`--dry-run` shows the diff
//! and writes nothing), list terminals, and check the whole set-up.

use std::path::{Path, PathBuf};

use tokenbuddy::agents::commands::{self, Done, Setup};
use tokenbuddy::agents::detect;
use tokenbuddy::agents::journal::Journal;
use tokenbuddy::agents::state::Ours;
use tokenbuddy::doctor::{self, Status};
use tokenbuddy::terminals::{self, Os};

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn home() -> Result<PathBuf, String> {
    directories::BaseDirs::new()
        .map(|d| d.home_dir().to_path_buf())
        .ok_or_else(|| "no home directory found".to_string())
}

fn json(value: &impl serde::Serialize) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    println!("{text}");
    Ok(())
}

fn sellers(data_dir: &Path) -> Result<Vec<tokenbuddy::sellers::Seller>, String> {
    tokenbuddy::sellers::file::load(&data_dir.join("sellers.yaml")).map_err(|e| e.to_string())
}

/// `tokenbuddy agents [--json]`.
pub fn list(data_dir: &Path, port: u16, as_json: bool) -> Result<(), String> {
    let token = tokenbuddy::token::load_or_create(data_dir).map_err(|e| e.to_string())?;
    let ours = Ours { port, token };
    let reports = detect::report_all(&home()?, &env, &ours, &Journal::new(data_dir));
    if as_json {
        return json(&reports);
    }
    for r in &reports {
        let installed = match (&r.installed, &r.version) {
            (false, _) => "not installed".to_string(),
            (true, Some(v)) => format!("installed {v}"),
            (true, None) => "installed".to_string(),
        };
        let state = serde_json::to_value(r.state)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        println!("{:<16} {:<15} {:<14} {}", r.id, installed, state, r.detail);
        if let Some(path) = &r.config_path {
            println!("{:<16} {}", "", path.display());
        }
    }
    Ok(())
}

fn show(done: &Done, verb: &str) {
    let path = done.path.display().to_string();
    if !done.changed {
        println!("{path}: nothing to change");
    } else if done.dry_run {
        print!("{}", done.diff);
    } else {
        println!("{verb} {path}");
    }
    for key in &done.skipped {
        println!("left alone (changed since TokenBuddy set it): {key}");
    }
    for left in &done.left {
        println!("left as is: {} — {}", left.key, left.reason);
    }
    for kept in &done.kept {
        println!("{kept}");
    }
}

/// `tokenbuddy agents configure <id>`.
pub fn configure(
    data_dir: &Path,
    id: &str,
    model: Option<&str>,
    port: u16,
    dry_run: bool,
) -> Result<(), String> {
    let token = tokenbuddy::token::load_or_create(data_dir).map_err(|e| e.to_string())?;
    let home = home()?;
    let sellers = sellers(data_dir)?;
    let setup = Setup {
        home: &home,
        env: &env,
        data_dir,
        port,
        token: &token,
        sellers: &sellers,
    };
    let done = commands::configure(&setup, id, model, dry_run).map_err(|e| e.to_string())?;
    let name = commands::agent(id).map(|s| s.name).unwrap_or(id);
    let model = done.model.clone().unwrap_or_default();
    show(&done, &format!("{name} now uses TokenBuddy ({model}):"));
    Ok(())
}

/// `tokenbuddy agents restore <id>|--all`.
pub fn restore(data_dir: &Path, id: Option<&str>, all: bool, dry_run: bool) -> Result<(), String> {
    let ids: Vec<String> = match (id, all) {
        (Some(id), false) => vec![id.to_string()],
        (None, true) => commands::configured_ids(data_dir).map_err(|e| e.to_string())?,
        _ => return Err("name one agent, or pass --all".into()),
    };
    if ids.is_empty() {
        println!("no agent is configured by TokenBuddy");
    }
    let mut failed = Vec::new();
    for id in &ids {
        match commands::restore(data_dir, id, dry_run) {
            Ok(done) => show(&done, "restored"),
            Err(e) => {
                eprintln!("tokenbuddy: {e}");
                failed.push(id.clone());
            }
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("not restored: {}", failed.join(", ")))
    }
}

/// `tokenbuddy terminals [--json]`.
pub fn terminals(as_json: bool) -> Result<(), String> {
    let path = detect::search_path(&env);
    let found = terminals::detect(Os::current(), &home()?, &env, &path);
    if as_json {
        return json(&found);
    }
    if found.is_empty() {
        println!("no terminal emulator found");
    }
    for t in &found {
        let mark = if t.preferred { "*" } else { " " };
        let inside = if t.current { " (this one)" } else { "" };
        println!(
            "{mark} {:<22} {:<28} {}{inside}",
            t.id,
            t.name,
            t.location.display()
        );
    }
    Ok(())
}

/// `tokenbuddy doctor [--json]`; fails when a check fails.
pub fn doctor(data_dir: &Path, port: u16, as_json: bool) -> Result<(), String> {
    let home = home()?;
    let input = doctor::Input {
        home: &home,
        env: &env,
        data_dir,
        port,
        sellers: sellers(data_dir),
    };
    let checks = doctor::run(&input);
    let failed = checks.iter().filter(|c| c.status == Status::Fail).count();
    if as_json {
        json(&serde_json::json!({"ok": failed == 0, "checks": checks}))?;
    } else {
        for c in &checks {
            let tag = match c.status {
                Status::Ok => "ok  ",
                Status::Warn => "warn",
                Status::Fail => "FAIL",
            };
            println!("[{tag}] {:<22} {}", c.id, c.message);
            if !c.fix.is_empty() {
                println!("       {:<22} fix: {}", "", c.fix);
            }
        }
    }
    if failed > 0 {
        return Err(format!("{failed} check(s) failed"));
    }
    Ok(())
}
