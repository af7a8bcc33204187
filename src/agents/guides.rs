//! Agents TokenBuddy detects and explains but does not edit: their settings
//! live in app storage rather than files (Cursor, Cline, Roo Code).

use super::spec::{AgentSpec, GUIDE_ONLY};

/// Cursor: settings live in its app storage, and its servers cannot reach 127.0.0.1.
pub const CURSOR: AgentSpec = AgentSpec {
    id: "cursor",
    name: "Cursor",
    binaries: &["cursor"],
    apps: &[
        "/Applications/Cursor.app",
        "~/AppData/Local/Programs/cursor",
    ],
    guide: Some(
        "Cursor sends requests through its own servers, which cannot reach 127.0.0.1: it needs \
         a public tunnel to {url}. Then Settings → Models → OpenAI API key {token} and \
         \"Override OpenAI Base URL\" {url}/v1.",
    ),
    ..GUIDE_ONLY
};

/// Cline (VS Code extension): settings in VS Code's storage.
pub const CLINE: AgentSpec = AgentSpec {
    id: "cline",
    name: "Cline",
    apps: &["~/.vscode/extensions/saoudrizwan.claude-dev-*"],
    guide: Some(
        "In Cline's settings choose API provider \"OpenAI Compatible\", base URL {url}/v1, \
         API key {token}, and a model TokenBuddy's sellers serve.",
    ),
    ..GUIDE_ONLY
};

/// Roo Code (VS Code extension): settings in VS Code's storage.
pub const ROO_CODE: AgentSpec = AgentSpec {
    id: "roo-code",
    name: "Roo Code",
    apps: &["~/.vscode/extensions/rooveterinaryinc.roo-cline-*"],
    guide: Some(
        "In Roo Code's settings add a profile with API provider \"OpenAI Compatible\", base URL \
         {url}/v1, API key {token}, and a model TokenBuddy's sellers serve.",
    ),
    ..GUIDE_ONLY
};
