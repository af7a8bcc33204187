//! Per-seller live statistics (being written).
