//! Coding agents: find what is installed, point their config at TokenBuddy
//! and back without ever breaking a user's file, and say where each stands.

pub mod claude_code;
pub mod claude_desktop;
pub mod codex;
pub mod commands;
pub mod crush;
pub mod detect;
pub mod doc;
pub mod gemini_cli;
pub mod guides;
pub mod hermes;
pub mod journal;
pub mod model;
pub mod openclaw;
pub mod opencode;
pub mod patch;
pub mod qwen_code;
pub mod reconcile;
pub mod restore;
pub mod spec;
pub mod state;
pub mod watch;
