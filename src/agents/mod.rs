//! Coding agents: detect them and point their config at TokenBuddy without
//! ever breaking a user's file. (Being built: so far the safe writer.)

pub mod write;
