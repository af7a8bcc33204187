//! The store: request log, usage and cost, credits and per-minute seller
//! history in SQLite, written off the request path.

pub mod record;
