//! `tokenbuddy serve`: start the core, print where it listens, stop cleanly
//! on Ctrl-C or SIGTERM.

use std::io::Write;
use std::path::PathBuf;

use tokenbuddy::{App, Config};

/// Runs the server until a shutdown signal.
pub fn run(port: u16, data_dir: PathBuf, demo: bool, demo_load: bool) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async move {
        let mut config = Config::new(data_dir)
            .with_env(|name| std::env::var(name).ok())
            .map_err(|e| e.to_string())?;
        config.port = port;
        config.demo = demo;
        config.demo_load = demo && demo_load;
        let running = App::start(config).await.map_err(|e| e.to_string())?;
        {
            // Scripts and tests read the port from this exact line.
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "TokenBuddy listening on {}", running.url());
            let _ = writeln!(out, "Control panel: {}", running.panel_url());
            let _ = out.flush();
        }
        wait_for_signal().await;
        tracing::info!("shutting down");
        running.stop().await.map_err(|e| e.to_string())
    })
}

async fn wait_for_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
