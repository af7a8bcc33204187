//! `tokenbuddy sellers list|add|edit|remove`: the panel's seller form on the
//! command line. It works on `sellers.yaml` directly (no server needed; a
//! running TokenBuddy reloads it by itself), through the same in-place
//! editor and key store as `/api/sellers`.

use std::io::BufRead;
use std::path::Path;

use tokenbuddy::sellers::edit::{self, Change, KeySource, SellerSpec};
use tokenbuddy::sellers::write::{self, SaveError};
use tokenbuddy::sellers::Secret;

/// The fields `add` and `edit` take (for `edit`, only those given change).
#[derive(Debug, Default, clap::Args)]
pub struct Fields {
    /// Display name.
    #[arg(long)]
    pub name: Option<String>,
    /// Base URL, with or without a trailing /v1.
    #[arg(long)]
    pub base_url: Option<String>,
    /// The API key, kept outside the file (keychain or 0600 secrets.json);
    /// `-` reads it from the first line of stdin, out of shell history.
    #[arg(long, conflicts_with = "api_key_env")]
    pub api_key: Option<String>,
    /// Or the environment variable that holds the key.
    #[arg(long)]
    pub api_key_env: Option<String>,
    /// Protocols (comma-separated or repeated): openai-chat, openai-responses, anthropic-messages.
    #[arg(long = "protocol", value_delimiter = ',')]
    pub protocols: Vec<String>,
    /// Model names served (comma-separated or repeated); none: any model.
    #[arg(long = "model", value_delimiter = ',')]
    pub models: Vec<String>,
    /// Price multiplier, > 0.
    #[arg(long)]
    pub discount_ratio: Option<f64>,
    /// Fee on top, >= 0.
    #[arg(long)]
    pub service_fee_ratio: Option<f64>,
    /// Breaks ties between equal scores, higher first.
    #[arg(long, allow_hyphen_values = true)]
    pub priority: Option<i32>,
    /// Requests in flight at most.
    #[arg(long)]
    pub max_concurrency: Option<u32>,
    /// Prepaid balance.
    #[arg(long)]
    pub credits: Option<f64>,
}

fn sellers_path(dir: &Path) -> std::path::PathBuf {
    tokenbuddy::config::Config::new(dir.to_path_buf()).sellers_path()
}

fn read_text(path: &Path) -> Result<String, String> {
    match tokenbuddy::sellers::file::read(path).map_err(|e| e.to_string())? {
        Some(bytes) => {
            String::from_utf8(bytes).map_err(|_| format!("{}: not UTF-8 text", path.display()))
        }
        None => Ok(String::new()),
    }
}

/// `tokenbuddy sellers list`.
pub fn list(dir: &Path, json: bool) -> Result<(), String> {
    let path = sellers_path(dir);
    let sellers = edit::parse_for_check(&path, &read_text(&path)?).map_err(|e| e.to_string())?;
    let key = |s: &tokenbuddy::sellers::Seller| {
        let k = s.api_key.expose();
        match (k.strip_prefix("env:"), k.strip_prefix("ref:")) {
            (Some(v), _) => ("env", v.to_string()),
            (_, Some(r)) => ("stored", r.to_string()),
            // The key is in the file: say so, never show it.
            _ => ("file", String::new()),
        }
    };
    if json {
        let rows: Vec<serde_json::Value> = sellers
            .iter()
            .map(|s| {
                let (kind, name) = key(s);
                serde_json::json!({
                    "id": s.id.as_str(),
                    "name": s.name,
                    "baseUrl": s.base_url,
                    "protocols": s.protocols.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
                    "models": s.models.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(),
                    "apiKeyEnv": (kind == "env").then_some(&name),
                    "keyRef": (kind == "stored").then_some(&name),
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(rows));
        return Ok(());
    }
    if sellers.is_empty() {
        println!("no sellers in {} (add one: tokenbuddy sellers add ID --base-url URL --protocol openai-chat --api-key -)", path.display());
    }
    for s in &sellers {
        let (kind, name) = key(s);
        let key = match kind {
            "env" => format!("key from ${name}"),
            "stored" => format!("key stored as {name}"),
            _ => "key in the file".into(),
        };
        let protocols: Vec<&str> = s.protocols.iter().map(|p| p.as_str()).collect();
        let models: Vec<&str> = s.models.iter().map(|m| m.name.as_str()).collect();
        println!(
            "{}\t{}\t{}\t{}\t{}",
            s.id,
            s.base_url,
            protocols.join(","),
            if models.is_empty() {
                "any model".to_string()
            } else {
                models.join(",")
            },
            key
        );
    }
    Ok(())
}

fn read_key(given: Option<String>) -> Result<Option<Secret>, String> {
    match given.as_deref() {
        Some("-") => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| format!("cannot read the key from stdin: {e}"))?;
            let key = line.trim();
            if key.is_empty() {
                return Err("--api-key -: stdin held no key".into());
            }
            Ok(Some(Secret::new(key)))
        }
        Some("") => Err("--api-key: is empty".into()),
        Some(k) => Ok(Some(Secret::new(k.trim()))),
        None => Ok(None),
    }
}

fn overlay(mut spec: SellerSpec, f: Fields) -> Result<(SellerSpec, Option<Secret>), String> {
    if let Some(n) = f.name {
        spec.name = Some(n);
    }
    if let Some(u) = f.base_url {
        spec.base_url = u;
    }
    if !f.protocols.is_empty() {
        spec.protocols = f
            .protocols
            .iter()
            .map(|p| {
                p.trim()
                    .parse()
                    .map_err(|e: tokenbuddy::protocol::UnknownProtocol| e.to_string())
            })
            .collect::<Result<_, _>>()?;
    }
    if !f.models.is_empty() {
        spec.models = f.models.iter().map(|m| m.trim().to_string()).collect();
    }
    spec.discount_ratio = f.discount_ratio.or(spec.discount_ratio);
    spec.service_fee_ratio = f.service_fee_ratio.or(spec.service_fee_ratio);
    spec.priority = f.priority.or(spec.priority);
    spec.max_concurrency = f.max_concurrency.or(spec.max_concurrency);
    spec.credits = f.credits.or(spec.credits);
    let key = read_key(f.api_key)?;
    spec.key = match (&key, f.api_key_env) {
        (Some(_), _) => KeySource::Stored(spec.id.clone()),
        (None, Some(v)) => KeySource::Env(v),
        (None, None) => KeySource::Keep,
    };
    Ok((spec, key))
}

fn shown(e: SaveError) -> String {
    e.to_string()
}

fn done(what: &str, id: &str, path: &Path, saved: &write::Saved) {
    let key = match saved.key_store {
        Some(store) => format!(
            "; its key is stored in the {} (api_key_ref)",
            match store {
                tokenbuddy::sellers::secrets::KeyStore::Keychain => "OS keychain",
                tokenbuddy::sellers::secrets::KeyStore::File => "data dir's secrets.json (0600)",
            }
        ),
        None => String::new(),
    };
    println!("{what} seller {id} in {}{key}", path.display());
}

/// `tokenbuddy sellers add ID ...`.
pub fn add(dir: &Path, id: &str, fields: Fields) -> Result<(), String> {
    let path = sellers_path(dir);
    let base = SellerSpec {
        id: id.to_string(),
        name: None,
        base_url: fields.base_url.clone().ok_or("--base-url is required")?,
        key: KeySource::Keep,
        protocols: Vec::new(),
        models: Vec::new(),
        discount_ratio: None,
        service_fee_ratio: None,
        priority: None,
        max_concurrency: None,
        credits: None,
    };
    if fields.protocols.is_empty() {
        return Err(
            "--protocol is required (openai-chat, openai-responses, anthropic-messages)".into(),
        );
    }
    if fields.api_key.is_none() && fields.api_key_env.is_none() {
        return Err("give --api-key (- reads it from stdin) or --api-key-env VAR".into());
    }
    let (spec, key) = overlay(base, fields)?;
    let saved = write::save(&path, Change::Add(spec), key.as_ref()).map_err(shown)?;
    done("added", id, &path, &saved);
    Ok(())
}

/// `tokenbuddy sellers edit ID ...`: only the fields given change.
pub fn edit(dir: &Path, id: &str, fields: Fields) -> Result<(), String> {
    let path = sellers_path(dir);
    let sellers = edit::parse_for_check(&path, &read_text(&path)?)
        .map_err(|e| format!("{e} — fix the file first; TokenBuddy does not overwrite it"))?;
    let current = sellers
        .iter()
        .find(|s| s.id.as_str() == id)
        .ok_or_else(|| format!("no seller \"{id}\" in {}", path.display()))?;
    let (spec, key) = overlay(edit::spec_of(current), fields)?;
    let saved = write::save(&path, Change::Edit(spec), key.as_ref()).map_err(shown)?;
    done("edited", id, &path, &saved);
    Ok(())
}

/// `tokenbuddy sellers remove ID`: its stored key goes too.
pub fn remove(dir: &Path, id: &str) -> Result<(), String> {
    let path = sellers_path(dir);
    let saved = write::save(&path, Change::Remove(id.to_string()), None).map_err(shown)?;
    done("removed", id, &path, &saved);
    Ok(())
}
