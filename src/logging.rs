//! Logging for both faces: `tracing` to stderr, filtered by `TOKENBUDDY_LOG`
//! (an `EnvFilter` expression, default `info`), colours only on a terminal.

/// Installs the global subscriber; call once, at start.
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TOKENBUDDY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
