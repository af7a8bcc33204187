//! TokenBuddy's core: a local LLM router with no GUI dependency.
//!
//! Both faces (the `tokenbuddy` CLI and the Tauri tray shell) start the same
//! [`App`] and talk to it only through [`Running`] and its HTTP API.

pub mod agents;
pub mod app;
pub mod atomic_file;
pub mod clock;
pub mod config;
pub mod control;
pub mod desktop;
pub mod doctor;
pub mod error;
pub mod file_watch;
pub mod logging;
pub mod notices;
pub mod pool;
pub mod protocol;
pub mod proxy;
pub mod scheduler;
pub mod sellers;
pub mod server;
pub mod sim;
pub mod store;
pub mod terminals;
pub mod token;
pub mod translate;

pub use app::{App, Running};
pub use config::Config;
pub use error::Error;
