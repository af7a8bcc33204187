//! What can go wrong reading the store.

/// A store read that failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused; `what` says which read.
    #[error("the store could not {what}: {source}")]
    Sqlite {
        /// The read that failed.
        what: &'static str,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// The database at `path` could not be opened for reading.
    #[error("cannot open the request database {path}: {source}")]
    Open {
        /// The database file.
        path: std::path::PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// A query parameter that cannot be used; the message says what is expected.
    #[error("{0}")]
    BadQuery(String),
    /// The blocking read task did not finish (the runtime is shutting down).
    #[error("the store read was cancelled: {0}")]
    Cancelled(String),
}

impl StoreError {
    /// A SQLite error during `what`.
    pub fn sqlite(what: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
        move |source| StoreError::Sqlite { what, source }
    }
}
