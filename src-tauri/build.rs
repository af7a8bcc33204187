//! Tauri's build step, reading the config from the repository's top level.

fn main() {
    let attributes = tauri_build::Attributes::new()
        .config_path("../tauri.conf.json")
        .capabilities_path_pattern("./capabilities/**/*");
    if let Err(e) = tauri_build::try_build(attributes) {
        // Build scripts report by printing; a panic here is the build failing.
        panic!("tauri build step failed: {e:#}");
    }
}
