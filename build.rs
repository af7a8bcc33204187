//! Picks the folder the web UI is embedded from: `ui/dist` when the UI has
//! been built (`npm ci && npm run build:ui` writes `ui/dist/index.html`),
//! else a one-page placeholder written into `OUT_DIR` that says how to build
//! it (with its stylesheet under a content-hashed name, as a bundler names
//! assets) — so `cargo build` on a fresh clone works without npm.

use std::path::{Path, PathBuf};

/// The page served when the binary was built without the UI.
const PLACEHOLDER: &str = "<!doctype html>
<html lang=\"en\"><head><meta charset=\"utf-8\"><title>TokenBuddy</title>
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">
<link rel=\"stylesheet\" href=\"/assets/{STYLESHEET}\"></head>
<body>
<h1>TokenBuddy is running</h1>
<p>This build has no control panel: the web UI was not built when TokenBuddy was compiled.</p>
<p>In the source tree, run <code>npm ci &amp;&amp; npm run build:ui</code>, then build TokenBuddy again
(or serve the built folder directly with <code>TOKENBUDDY_UI_DIR=ui/dist</code>).</p>
<p>The proxy and the <code>/api</code> work without it.</p>
</body></html>
";

/// The placeholder's stylesheet.
const STYLE: &str = "body { font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem; }
code { font-size: 0.95em; }
@media (prefers-color-scheme: dark) { body { background: #16181d; color: #e6e6e6; } }
";

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let dist = manifest.join("ui").join("dist");
    let folder = if dist.join("index.html").is_file() {
        // Rebuild when the UI is rebuilt (cargo scans the folder's files).
        println!("cargo:rerun-if-changed={}", dist.display());
        dist
    } else {
        // Rebuild once the UI appears.
        println!("cargo:rerun-if-changed={}", manifest.join("ui").display());
        placeholder()
    };
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rustc-env=TOKENBUDDY_UI_EMBED={}", folder.display());
}

/// Writes the placeholder folder and returns it.
fn placeholder() -> PathBuf {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    let folder = out.join("ui-not-built");
    let stylesheet = format!("not-built-{:016x}.css", fnv1a(STYLE.as_bytes()));
    let page = PLACEHOLDER.replace("{STYLESHEET}", &stylesheet);
    write(&folder, &page, &stylesheet);
    folder
}

/// FNV-1a, 64 bits: a content hash for the stylesheet's name.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn write(folder: &Path, page: &str, stylesheet: &str) {
    let assets = folder.join("assets");
    // A fresh folder: no stylesheet of an older placeholder stays embedded.
    let _ = std::fs::remove_dir_all(&assets);
    if let Err(e) = std::fs::create_dir_all(&assets)
        .and_then(|()| std::fs::write(folder.join("index.html"), page))
        .and_then(|()| std::fs::write(assets.join(stylesheet), STYLE))
    {
        // A build script has no caller to hand the error to: fail the build, saying why.
        panic!(
            "cannot write the UI placeholder in {}: {e}",
            folder.display()
        );
    }
}
