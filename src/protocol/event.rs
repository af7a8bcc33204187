//! (being written)
pub struct EventInfo;
