//! The per-install access token: 32 random bytes, hex, in `<data dir>/token`
//! with mode 0600, created once (whole, through the atomic writer: a crash
//! never leaves a half-written token) and reused; of two processes creating
//! it at once, the first one's token is the one both use.

use std::fs;
use std::path::{Path, PathBuf};

use crate::atomic_file::{self, Perms, WriteError};
use crate::error::Error;

const FILE_NAME: &str = "token";

/// The token file inside `data_dir`.
pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE_NAME)
}

/// Reads the token, creating the data dir and the token on first run.
pub fn load_or_create(data_dir: &Path) -> Result<String, Error> {
    let file = path(data_dir);
    match fs::read_to_string(&file) {
        Ok(text) => {
            let token = text.trim().to_string();
            if token.len() < 32 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(Error::Token {
                    path: file,
                    message: "is not a TokenBuddy token (delete the file to create a new one)"
                        .into(),
                });
            }
            Ok(token)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(data_dir, &file),
        Err(e) => Err(Error::io(file, e)),
    }
}

/// Reads an existing token without creating one.
pub fn read(data_dir: &Path) -> Result<String, Error> {
    let file = path(data_dir);
    fs::read_to_string(&file)
        .map(|t| t.trim().to_string())
        .map_err(|e| Error::io(file, e))
}

fn create(data_dir: &Path, file: &Path) -> Result<String, Error> {
    fs::create_dir_all(data_dir).map_err(|e| Error::io(data_dir, e))?;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| Error::Token {
        path: file.to_path_buf(),
        message: format!("no secure random source: {e}"),
    })?;
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    match atomic_file::create_new(file, token.as_bytes(), Perms::Private) {
        Ok(true) => Ok(token),
        // Another process created it between our read and our create: use theirs.
        Ok(false) => read(data_dir),
        Err(WriteError::Io { path, source }) => Err(Error::io(path, source)),
        Err(e @ WriteError::Changed { .. }) => Err(Error::Token {
            path: file.to_path_buf(),
            message: e.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_then_reused_with_private_mode() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("nested");
        let t1 = load_or_create(&data).unwrap();
        assert_eq!(t1.len(), 64);
        assert_eq!(load_or_create(&data).unwrap(), t1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(path(&data)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn concurrent_first_runs_agree_on_one_token() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let tokens: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| load_or_create(&data).unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(tokens.iter().all(|t| *t == tokens[0]), "{tokens:?}");
        assert_eq!(fs::read_to_string(path(&data)).unwrap(), tokens[0]);
        let names: Vec<String> = fs::read_dir(&data)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["token"], "no temp file is left");
    }

    #[test]
    fn garbage_token_file_is_an_error_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(path(dir.path()), "nope").unwrap();
        let err = load_or_create(dir.path()).unwrap_err().to_string();
        assert!(err.contains("not a TokenBuddy token"), "{err}");
        assert_eq!(fs::read_to_string(path(dir.path())).unwrap(), "nope");
    }
}
