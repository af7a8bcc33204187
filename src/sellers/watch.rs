//! Watching `sellers.yaml` for edits. (Being written: see the sellers helper brief.)
