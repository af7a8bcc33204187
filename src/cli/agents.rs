//! `tokenbuddy agents configure|restore <id>`: point an agent's config at
//! TokenBuddy, or put it back; `--dry-run` shows the diff and writes nothing.

use std::path::Path;

use tokenbuddy::agents::doc::toml::TomlDoc;
use tokenbuddy::agents::doc::ConfigDoc;
use tokenbuddy::agents::journal::Journal;
use tokenbuddy::agents::patch::{self, Outcome};
use tokenbuddy::agents::spec::{self, Target};

fn agent(id: &str) -> Result<&'static spec::AgentSpec, String> {
    spec::find(id).ok_or_else(|| {
        let known: Vec<&str> = spec::AGENTS.iter().map(|a| a.id).collect();
        format!("unknown agent `{id}` (known: {})", known.join(", "))
    })
}

fn home() -> Result<std::path::PathBuf, String> {
    directories::BaseDirs::new()
        .map(|d| d.home_dir().to_path_buf())
        .ok_or_else(|| "no home directory found".to_string())
}

fn show(outcome: &Outcome, dry_run: bool, verb: &str) {
    let path = outcome.path.display().to_string();
    if !outcome.changes() {
        println!("{path}: nothing to change");
    } else if dry_run {
        let diff = similar::TextDiff::from_lines(&outcome.before, &outcome.after);
        print!("{}", diff.unified_diff().header(&path, &path));
    } else {
        println!("{verb} {path}");
    }
    for key in &outcome.skipped {
        println!("left alone (changed since TokenBuddy set it): {key}");
    }
}

/// Configures agent `id` to use TokenBuddy on `port`.
pub fn configure(
    data_dir: &Path,
    id: &str,
    model: Option<&str>,
    port: u16,
    dry_run: bool,
) -> Result<(), String> {
    let spec = agent(id)?;
    let token = tokenbuddy::token::load_or_create(data_dir).map_err(|e| e.to_string())?;
    let path = (spec.config_path)(&home()?, &|name| std::env::var(name).ok());
    let model = match model {
        Some(m) => m.to_string(),
        None => default_model(data_dir, &path)?,
    };
    let url = format!("http://127.0.0.1:{port}");
    let target = Target {
        url: &url,
        token: &token,
        model: &model,
    };
    let outcome = patch::configure(spec, path, &target, &Journal::new(data_dir), dry_run)
        .map_err(|e| e.to_string())?;
    show(
        &outcome,
        dry_run,
        &format!("{} now uses TokenBuddy ({model}):", spec.name),
    );
    Ok(())
}

/// The model to configure when none is given: the agent's current one, else
/// the first model a seller declares.
fn default_model(data_dir: &Path, config: &Path) -> Result<String, String> {
    let current = std::fs::read_to_string(config)
        .ok()
        .and_then(|text| TomlDoc::parse(&text).ok())
        .and_then(|doc| doc.get(&["model"]))
        .and_then(|source| {
            source
                .trim_matches('"')
                .split('"')
                .next()
                .map(str::to_string)
        })
        .filter(|m| !m.is_empty());
    if let Some(m) = current {
        return Ok(m);
    }
    let sellers = tokenbuddy::sellers::file::load(&data_dir.join("sellers.yaml"))
        .map_err(|e| e.to_string())?;
    sellers
        .iter()
        .flat_map(|s| s.models.iter())
        .map(|m| m.name.clone())
        .next()
        .ok_or_else(|| "no model to configure: pass --model".to_string())
}

/// Restores agent `id`'s config.
pub fn restore(data_dir: &Path, id: &str, dry_run: bool) -> Result<(), String> {
    let spec = agent(id)?;
    let outcome =
        patch::restore(spec, &Journal::new(data_dir), dry_run).map_err(|e| e.to_string())?;
    show(&outcome, dry_run, "restored");
    Ok(())
}
