//! The TokenBuddy desktop app's entry point: nothing but a call into the shell.

// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() -> std::process::ExitCode {
    tokenbuddy_desktop::run()
}
