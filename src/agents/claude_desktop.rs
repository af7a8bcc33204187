//! Claude Desktop (third-party inference): its local config library, the
//! `configLibrary/` folder of `Claude-3p` — `~/Library/Application Support/`
//! on macOS, `%LOCALAPPDATA%` on Windows. Claude Desktop has no Linux build;
//! there TokenBuddy uses `$XDG_CONFIG_HOME/Claude-3p/configLibrary/`
//! (default `~/.config`, where Electron keeps app data), which is where a
//! test's temporary HOME lands too, so Linux tests run this same code.
//!
//! `_meta.json` lists the saved configurations (`entries: [{id, name}]`) and
//! names the applied one (`appliedId`); each one is `<id>.json` beside it.
//! We own one entry, with a fixed id (a UUID v5 of
//! `claude-desktop.tokenbuddy`, so every configure reuses the same file and
//! nothing has to remember it), its file (a gateway to TokenBuddy), and
//! `appliedId`. Restore puts `appliedId` back (or removes it), takes our
//! entry out of the list and deletes our file; the other entries and their
//! files are never touched. Claude Desktop reads the library once at launch
//! (the result says so). Managed preferences (an MDM profile) win over the
//! library: then configure refuses and the guide says what to do by hand.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::doc::json::{Dialect, JsonDoc};
use super::doc::{ConfigDoc, DocError};
use super::spec::{
    self, side, string_at, AgentSpec, Context, Edit, Endpoint, Env, Format, Left, Plan, SideFile,
    GUIDE_ONLY,
};

/// Our configuration's id in the library.
pub const ENTRY_ID: &str = "f7e5018c-2980-5df7-b984-2d310ba03b57";
/// Its file, beside `_meta.json`.
const ENTRY_FILE: &str = "f7e5018c-2980-5df7-b984-2d310ba03b57.json";

fn library(home: &Path, env: Env<'_>) -> PathBuf {
    let app_data = if cfg!(target_os = "macos") {
        home.join("Library/Application Support")
    } else if cfg!(windows) {
        env("LOCALAPPDATA")
            .filter(|v| !v.is_empty())
            .map_or_else(|| home.join("AppData/Local"), PathBuf::from)
    } else {
        env("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map_or_else(|| home.join(".config"), PathBuf::from)
    };
    app_data.join("Claude-3p").join("configLibrary")
}

fn config_path(home: &Path, env: Env<'_>) -> Option<PathBuf> {
    Some(library(home, env).join("_meta.json"))
}

fn parse_entry(text: &str) -> Result<Box<dyn ConfigDoc>, DocError> {
    Ok(Box::new(JsonDoc::parse(text, Dialect::Json)?))
}

/// A key of our entry's file.
fn entry_key(key: &str) -> [String; 2] {
    [side(ENTRY_FILE), key.to_string()]
}

fn edits(cx: &Context<'_>) -> Result<Plan, String> {
    let t = &cx.target;
    match cx.doc.value(&["entries"]) {
        None | Some(Value::Array(_)) => {}
        Some(_) => return Err("`entries` is not a list; not touching the library".into()),
    }
    match cx.doc.value(&["appliedId"]) {
        None | Some(Value::String(_)) | Some(Value::Null) => {}
        Some(_) => return Err("`appliedId` is not an id; not touching the library".into()),
    }
    let ours = format!("[id={ENTRY_ID}]");
    let mut edits = vec![
        Edit::new(
            &["entries", &ours],
            json!({"id": ENTRY_ID, "name": "TokenBuddy"}),
        ),
        Edit::new(&["appliedId"], ENTRY_ID),
    ];
    let gateway: [(&str, Value); 6] = [
        ("inferenceProvider", "gateway".into()),
        // The root: Claude Desktop appends `/v1/messages` and `/v1/models`.
        ("inferenceGatewayBaseUrl", t.url.into()),
        ("inferenceGatewayApiKey", t.token.into()),
        ("inferenceGatewayAuthScheme", "bearer".into()),
        ("modelDiscoveryEnabled", true.into()),
        ("inferenceModels", json!([{ "name": t.model }])),
    ];
    for (key, value) in gateway {
        let [file, key] = entry_key(key);
        edits.push(Edit::new(&[&file, &key], value));
    }
    Ok(Plan {
        edits,
        left: vec![Left::new(
            "Claude Desktop, if it is running",
            "it reads this configuration only at launch: quit and reopen it to use TokenBuddy",
        )],
    })
}

fn endpoint(doc: &dyn ConfigDoc) -> Option<Endpoint> {
    if string_at(doc, &["appliedId"]).as_deref() != Some(ENTRY_ID) {
        return None;
    }
    let [file, url] = entry_key("inferenceGatewayBaseUrl");
    let [_, key] = entry_key("inferenceGatewayApiKey");
    Some(Endpoint {
        url: string_at(doc, &[&file, &url])?,
        token: string_at(doc, &[&file, &key]),
    })
}

fn current_model(doc: &dyn ConfigDoc) -> Option<String> {
    let [file, models] = entry_key("inferenceModels");
    doc.value(&[&file, &models])?
        .get(0)?
        .get("name")?
        .as_str()
        .map(str::to_string)
}

/// The managed-preferences plists (the device's and the user's). On
/// Linux, which has no Claude Desktop, the macOS paths under
/// `TOKENBUDDY_SYSTEM_ROOT`, for tests. Windows keeps its policy in the
/// registry (`HKLM`/`HKCU\SOFTWARE\Policies\Claude`), not in a file, and it
/// is not checked.
fn policy_files(env: Env<'_>) -> Vec<PathBuf> {
    if cfg!(windows) {
        return Vec::new();
    }
    const PLIST: &str = "com.anthropic.claudefordesktop.plist";
    let device = format!("/Library/Managed Preferences/{PLIST}");
    let mut files = vec![spec::system_path(env, &device, &device, "")];
    if let Some(user) = env("USER").filter(|u| !u.is_empty() && !u.contains(['/', '\\'])) {
        let mine = format!("/Library/Managed Preferences/{user}/{PLIST}");
        files.push(spec::system_path(env, &mine, &mine, ""));
    }
    files
}

/// Claude Desktop's entry in the table of agents.
pub const SPEC: AgentSpec = AgentSpec {
    id: "claude-desktop",
    name: "Claude Desktop",
    apps: &[
        "/Applications/Claude.app",
        "~/Applications/Claude.app",
        "~/AppData/Local/AnthropicClaude",
        "~/Library/Application Support/Claude-3p",
        "~/AppData/Local/Claude-3p",
        "~/.config/Claude-3p",
    ],
    config_path,
    format: Format::Json(Dialect::Json),
    side_files: &[SideFile {
        name: ENTRY_FILE,
        parse: parse_entry,
    }],
    edits,
    endpoint,
    current_model,
    policy_files,
    // Shown where managed preferences block the file route.
    guide: Some(
        "Claude Desktop → Settings → Third-party inference: choose \"Gateway\", base URL \
         {url}, API key {token}, auth scheme \"bearer\", model discovery on; then quit and \
         reopen Claude Desktop (it reads this once at launch).",
    ),
    ..GUIDE_ONLY
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_entry_id_is_a_uuid_and_names_its_file() {
        let parts: Vec<usize> = ENTRY_ID.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12]);
        assert!(ENTRY_ID.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
        assert_eq!(ENTRY_FILE, format!("{ENTRY_ID}.json"));
    }
}
