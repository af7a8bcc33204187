//! The core's error type: each variant names the thing that failed.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::sellers::FileError;

/// An error starting or running TokenBuddy.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The sellers file is invalid.
    #[error("sellers file: {0}")]
    Sellers(#[from] FileError),
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source} (is another TokenBuddy running? try --port 0)")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The file watcher could not start.
    #[error("cannot watch {}: {source}", path.display())]
    Watch {
        /// What was to be watched.
        path: PathBuf,
        /// The watcher's error.
        #[source]
        source: notify::Error,
    },
    /// The access token file is unusable.
    #[error("access token {}: {message}", path.display())]
    Token {
        /// The token file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The upstream HTTP client could not be built (TLS roots, …).
    #[error("HTTP client: {0}")]
    HttpClient(#[source] reqwest::Error),
    /// A simulated (demo) seller could not start.
    #[error("demo seller: {0}")]
    Demo(#[source] std::io::Error),
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
