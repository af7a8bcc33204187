//! Picks the folder the web UI is embedded from: `ui/dist` when the UI has
//! been built (`npm ci && npm run build:ui` writes `ui/dist/index.html`),
//! else a one-page placeholder written into `OUT_DIR` that says how to build
//! it — so `cargo build` on a fresh clone works without npm.

use std::path::{Path, PathBuf};

/// The page served when the binary was built without the UI.
const PLACEHOLDER: &str = "<!doctype html>
<html lang=\"en\"><head><meta charset=\"utf-8\"><title>TokenBuddy</title>
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head>
<body style=\"font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem\">
<h1>TokenBuddy is running</h1>
<p>This build has no control panel: the web UI was not built when TokenBuddy was compiled.</p>
<p>In the source tree, run <code>npm ci &amp;&amp; npm run build:ui</code>, then build TokenBuddy again
(or serve the built folder directly with <code>TOKENBUDDY_UI_DIR=ui/dist</code>).</p>
<p>The proxy and the <code>/api</code> work without it.</p>
</body></html>
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
    write(&folder, PLACEHOLDER);
    folder
}

fn write(folder: &Path, page: &str) {
    if let Err(e) = std::fs::create_dir_all(folder)
        .and_then(|()| std::fs::write(folder.join("index.html"), page))
    {
        // A build script has no caller to hand the error to: fail the build, saying why.
        panic!(
            "cannot write the UI placeholder in {}: {e}",
            folder.display()
        );
    }
}
