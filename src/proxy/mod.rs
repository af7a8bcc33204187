//! The proxy (being written).
