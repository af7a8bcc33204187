//! Coding agents: point their config at TokenBuddy and back, without ever
//! breaking a user's file. (Being built: Codex so far; detection, the other
//! agents and the API come with the rest of the Agents issue.)

pub mod codex;
pub mod doc;
pub mod journal;
pub mod patch;
pub mod spec;
pub mod write;
