//! Terminal emulators: which are installed, which one TokenBuddy would open
//! an agent in, and which one this process runs inside.

pub mod table;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::agents::detect::{find_app, find_binary};
use crate::agents::spec::Env;
pub use table::{Os, TerminalSpec, TERMINALS};

/// Extra places Linux apps install binaries outside PATH (Flatpak, Snap).
const LINUX_EXTRA_DIRS: &[&str] = &[".local/share/flatpak/exports/bin", ".local/bin"];
const LINUX_SYSTEM_DIRS: &[&str] = &["/var/lib/flatpak/exports/bin", "/snap/bin"];

/// One terminal as `tokenbuddy terminals --json` and `GET /api/terminals` show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TerminalReport {
    /// Stable id.
    pub id: &'static str,
    /// Display name.
    pub name: &'static str,
    /// Where it was found.
    #[schema(value_type = String)]
    pub location: PathBuf,
    /// The one TokenBuddy would open.
    pub preferred: bool,
    /// This process runs inside it.
    pub current: bool,
}

fn is_inside(spec: &TerminalSpec, env: Env<'_>) -> bool {
    spec.inside.iter().any(|sign| match sign.split_once('=') {
        Some((var, value)) => env(var).as_deref() == Some(value),
        None => env(sign).is_some_and(|v| !v.is_empty()),
    })
}

/// Installed terminals for `os`, in preference order, the preferred one marked.
pub fn detect(os: Os, home: &Path, env: Env<'_>, path: &OsString) -> Vec<TerminalReport> {
    let mut dirs: Vec<&str> = Vec::new();
    if os == Os::Linux {
        dirs.extend(LINUX_EXTRA_DIRS);
    }
    let mut found: Vec<TerminalReport> = TERMINALS
        .iter()
        .filter(|t| t.os.contains(&os))
        .filter_map(|t| {
            let system: Vec<PathBuf> = if os == Os::Linux {
                LINUX_SYSTEM_DIRS.iter().map(PathBuf::from).collect()
            } else {
                Vec::new()
            };
            let location = find_binary(t.binaries, &dirs, home, path)
                .or_else(|| {
                    let extra = std::env::join_paths(system).ok()?;
                    find_binary(t.binaries, &[], home, &extra)
                })
                .or_else(|| find_app(t.apps, home))?;
            Some(TerminalReport {
                id: t.id,
                name: t.name,
                location,
                preferred: false,
                current: is_inside(t, env),
            })
        })
        .collect();
    // The user's own choice wins: $TERMINAL names a binary.
    let chosen = env("TERMINAL")
        .and_then(|t| {
            let name = Path::new(&t).file_name()?.to_string_lossy().into_owned();
            found.iter().position(|r| {
                TERMINALS
                    .iter()
                    .any(|s| s.id == r.id && s.binaries.contains(&name.as_str()))
            })
        })
        .unwrap_or(0);
    if let Some(r) = found.get_mut(chosen) {
        r.preferred = true;
    }
    found
}
