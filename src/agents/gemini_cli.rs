//! Gemini CLI: `~/.gemini/settings.json` (JSON with comments; the folder
//! moves with `GEMINI_CLI_HOME`) and `~/.gemini/.env` beside it. Gemini CLI
//! speaks only Gemini's native API: the `@google/genai` SDK sends it to
//! `GOOGLE_GEMINI_BASE_URL` (the root: the SDK appends `/v1beta`) with
//! `GEMINI_API_KEY` as `x-goog-api-key`. We own those two lines of `.env`,
//! `security.auth.selectedType` (`gemini-api-key`) and `model.name` in the
//! settings; every other line, comment and key stays.
//!
//! As of 0.61 a variable already set in the shell wins over `.env`, and
//! `~/.gemini/.env` is read only in a trusted folder (folder trust is on
//! unless `security.folderTrust.enabled` is false; `GEMINI_CLI_TRUST_WORKSPACE=true`
//! trusts any folder, which a run without a terminal needs). Both are named
//! in the result.

use std::path::{Path, PathBuf};

use super::doc::dotenv::DotenvDoc;
use super::doc::json::Dialect;
use super::doc::{ConfigDoc, DocError};
use super::spec::{
    self, side, string_at, AgentSpec, Context, Edit, Endpoint, Env, Format, Left, Plan, SideFile,
    GUIDE_ONLY,
};

/// The `.env` beside the settings.
const ENV_FILE: &str = ".env";

fn config_path(home: &Path, env: Env<'_>) -> Option<PathBuf> {
    // `GEMINI_CLI_HOME` stands in for the home directory (Storage's homedir()).
    let home = env("GEMINI_CLI_HOME")
        .filter(|v| !v.is_empty())
        .map_or_else(|| home.to_path_buf(), PathBuf::from);
    Some(home.join(".gemini").join("settings.json"))
}

fn parse_env(text: &str) -> Result<Box<dyn ConfigDoc>, DocError> {
    Ok(Box::new(DotenvDoc::parse(text)?))
}

/// A variable of the `.env` file.
fn var(name: &str) -> [String; 2] {
    [side(ENV_FILE), name.to_string()]
}

/// The variables we set, which the shell's own would override.
const OURS: &[&str] = &["GOOGLE_GEMINI_BASE_URL", "GEMINI_API_KEY", "GEMINI_MODEL"];

fn edits(cx: &Context<'_>) -> Result<Plan, String> {
    let t = &cx.target;
    let [file, url] = var("GOOGLE_GEMINI_BASE_URL");
    let [_, key] = var("GEMINI_API_KEY");
    let edits = vec![
        Edit::new(&[&file, &url], t.url),
        Edit::new(&[&file, &key], t.token),
        Edit::new(&["security", "auth", "selectedType"], "gemini-api-key"),
        Edit::new(&["model", "name"], t.model),
    ];
    let mut left = Vec::new();
    for name in OURS {
        if (cx.env)(name).is_some_and(|v| !v.is_empty()) {
            left.push(Left::new(
                format!("{name} (shell)"),
                "set in your shell, where it wins over what TokenBuddy wrote to ~/.gemini: unset it, or Gemini CLI does not use TokenBuddy as configured",
            ));
        }
    }
    let trust = cx.doc.value(&["security", "folderTrust", "enabled"]);
    if trust != Some(serde_json::Value::Bool(false)) {
        left.push(Left::new(
            "security.folderTrust",
            "Gemini CLI reads ~/.gemini/.env only in a trusted folder: trust your project folders when it asks (or run it with GEMINI_CLI_TRUST_WORKSPACE=true); in other folders it does not go through TokenBuddy",
        ));
    }
    Ok(Plan { edits, left })
}

fn endpoint(doc: &dyn ConfigDoc) -> Option<Endpoint> {
    // With no auth type selected, a base URL in the environment selects the gateway one.
    match string_at(doc, &["security", "auth", "selectedType"]).as_deref() {
        None | Some("gemini-api-key") | Some("gateway") => {}
        Some(_) => return None,
    }
    let [file, url] = var("GOOGLE_GEMINI_BASE_URL");
    let [_, key] = var("GEMINI_API_KEY");
    Some(Endpoint {
        url: string_at(doc, &[&file, &url])?,
        token: string_at(doc, &[&file, &key]),
    })
}

fn current_model(doc: &dyn ConfigDoc) -> Option<String> {
    string_at(doc, &["model", "name"])
}

fn policy_files(env: Env<'_>) -> Vec<PathBuf> {
    if let Some(path) = env("GEMINI_CLI_SYSTEM_SETTINGS_PATH").filter(|v| !v.is_empty()) {
        return vec![PathBuf::from(path)];
    }
    vec![spec::system_path(
        env,
        "/Library/Application Support/GeminiCli/settings.json",
        "/etc/gemini-cli/settings.json",
        "gemini-cli/settings.json",
    )]
}

/// Gemini CLI's entry in the table of agents.
pub const SPEC: AgentSpec = AgentSpec {
    id: "gemini-cli",
    name: "Gemini CLI",
    binaries: &["gemini"],
    install_dirs: &[".local/bin", ".npm-global/bin", ".bun/bin"],
    config_path,
    format: Format::Json(Dialect::Jsonc),
    side_files: &[SideFile {
        name: ENV_FILE,
        parse: parse_env,
    }],
    edits,
    endpoint,
    current_model,
    policy_files,
    // Shown where managed settings block the file route.
    guide: Some(
        "In ~/.gemini/.env set GOOGLE_GEMINI_BASE_URL={url} and GEMINI_API_KEY={token}, and in \
         ~/.gemini/settings.json set security.auth.selectedType to \"gemini-api-key\" (Gemini \
         CLI reads ~/.gemini/.env only in folders you trust).",
    ),
    ..GUIDE_ONLY
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::doc::files::Files;
    use crate::agents::doc::json::JsonDoc;
    use crate::agents::spec::Target;

    fn files(settings: &str, env: &str) -> Files {
        Files::new(
            Box::new(JsonDoc::parse(settings, Dialect::Jsonc).unwrap()),
            vec![(ENV_FILE, parse_env(env).unwrap())],
        )
    }

    #[test]
    fn the_endpoint_is_in_the_env_file_under_the_api_key_auth() {
        let env = "GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:7/\nGEMINI_API_KEY=tok\n";
        let doc = files(
            r#"{"security": {"auth": {"selectedType": "gemini-api-key"}}}"#,
            env,
        );
        assert_eq!(
            endpoint(&doc),
            Some(Endpoint {
                url: "http://127.0.0.1:7/".into(),
                token: Some("tok".into())
            })
        );
        let oauth = files(
            r#"{"security": {"auth": {"selectedType": "oauth-personal"}}}"#,
            env,
        );
        assert_eq!(
            endpoint(&oauth),
            None,
            "a Google login ignores the base URL"
        );
        assert_eq!(endpoint(&files("{}", "")), None);
    }

    #[test]
    fn shell_variables_and_folder_trust_are_named() {
        let doc = files(r#"{"security": {"folderTrust": {"enabled": false}}}"#, "");
        let shell = |k: &str| (k == "GEMINI_API_KEY").then(|| "AIza-user".to_string());
        let plan = edits(&Context {
            target: Target {
                url: "http://127.0.0.1:7",
                token: "tok",
                native: &crate::protocol::Protocol::ALL,
                model: "m",
            },
            doc: &doc,
            path: Path::new("settings.json"),
            env: &shell,
        })
        .unwrap();
        let left: Vec<&str> = plan.left.iter().map(|l| l.key.as_str()).collect();
        assert_eq!(left, ["GEMINI_API_KEY (shell)"]);
    }
}
