//! Starting and stopping one TokenBuddy (being written).

/// Starts TokenBuddy.
pub struct App;
/// A started TokenBuddy.
pub struct Running;
