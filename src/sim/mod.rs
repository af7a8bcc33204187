//! Simulated sellers (being written).
