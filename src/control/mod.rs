//! The control API (being written).
