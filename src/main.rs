//! The headless `tokenbuddy` CLI: parses arguments and hands them to the core.

mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
