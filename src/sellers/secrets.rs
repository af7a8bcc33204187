//! Sellers' keys kept outside `sellers.yaml`, named there by
//! `api_key_ref: <name>`: in the OS keychain (macOS Keychain, Windows
//! Credential Manager, the Secret Service on Linux) through the `keyring`
//! crate, or — where there is none, as on a Linux box without a running
//! Secret Service — in `secrets.json` in the data dir, private to the user
//! (0600), written with the one atomic writer.
//!
//! The keychain entry is service `tokenbuddy`, account `<data dir>/<name>`,
//! so two data dirs never share a key. A lookup tries the keychain, then the
//! file (a key stored while the keychain was away is still found).
//! `TOKENBUDDY_KEYSTORE=file` (or `keychain`) forces the choice. A key's
//! value is never logged nor put in an error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::atomic_file::{self, Perms, WriteError};

/// The environment variable that forces where keys go: `file` or `keychain`.
pub const KEYSTORE_ENV: &str = "TOKENBUDDY_KEYSTORE";

/// The file in the data dir that holds keys when there is no keychain.
pub const SECRETS_FILE: &str = "secrets.json";

const SERVICE: &str = "tokenbuddy";

/// Where keys are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStore {
    /// The OS keychain.
    Keychain,
    /// `secrets.json` in the data dir (0600).
    File,
}

impl KeyStore {
    /// `"keychain"` or `"file"`, as the API reports it.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStore::Keychain => "keychain",
            KeyStore::File => "file",
        }
    }
}

/// A key that could not be stored, read or removed.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The secrets file could not be read or written.
    #[error("{0}")]
    Write(#[from] WriteError),
    /// The secrets file is not what TokenBuddy writes.
    #[error("{}: not a secrets file TokenBuddy wrote ({message}); move it aside and store the keys again", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// The keychain refused.
    #[error("the OS keychain refused: {0}")]
    Keychain(String),
}

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct File {
    #[serde(default)]
    keys: BTreeMap<String, String>,
}

/// The key store of one data dir.
#[derive(Debug, Clone)]
pub struct Secrets {
    dir: PathBuf,
    store: KeyStore,
}

impl Secrets {
    /// The store for `data_dir`: the keychain when one answers (or
    /// [`KEYSTORE_ENV`] says so), else the file.
    pub fn open(data_dir: &Path) -> Secrets {
        let dir = std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
        let store = match std::env::var(KEYSTORE_ENV).ok().as_deref() {
            Some("file") => KeyStore::File,
            Some("keychain") => KeyStore::Keychain,
            _ if keychain_answers() => KeyStore::Keychain,
            _ => KeyStore::File,
        };
        Secrets { dir, store }
    }

    /// Where new keys go.
    pub fn store(&self) -> KeyStore {
        self.store
    }

    fn path(&self) -> PathBuf {
        self.dir.join(SECRETS_FILE)
    }

    fn account(&self, name: &str) -> String {
        format!("{}/{name}", self.dir.display())
    }

    /// The key stored as `name`, if any.
    pub fn get(&self, name: &str) -> Result<Option<String>, SecretError> {
        if self.store == KeyStore::Keychain {
            if let Some(found) = keychain::get(&self.account(name))? {
                return Ok(Some(found));
            }
        }
        Ok(self.read()?.1.keys.get(name).cloned())
    }

    /// Stores `value` as `name`, replacing what was there.
    pub fn set(&self, name: &str, value: &str) -> Result<KeyStore, SecretError> {
        match self.store {
            KeyStore::Keychain => {
                keychain::set(&self.account(name), value)?;
                // An older copy in the file would be found by nothing, but
                // must not outlive the one replacing it.
                self.update(|keys| keys.remove(name).is_some())?;
            }
            KeyStore::File => {
                self.update(|keys| {
                    keys.insert(name.into(), value.into()).as_deref() != Some(value)
                })?;
            }
        }
        Ok(self.store)
    }

    /// Removes the key stored as `name` (nothing if there is none).
    pub fn remove(&self, name: &str) -> Result<(), SecretError> {
        if self.store == KeyStore::Keychain {
            keychain::remove(&self.account(name))?;
        }
        self.update(|keys| keys.remove(name).is_some())
    }

    fn read(&self) -> Result<(atomic_file::Snapshot, File), SecretError> {
        let path = self.path();
        let snapshot = atomic_file::read(&path)?;
        let file = match &snapshot.bytes {
            None => File::default(),
            Some(bytes) => serde_json::from_slice(bytes).map_err(|e| SecretError::Corrupt {
                path: path.clone(),
                message: e.to_string(),
            })?,
        };
        Ok((snapshot, file))
    }

    /// Applies `change` to the file's keys (it says whether it changed
    /// anything), compare-and-swap, retried when another writer got in first.
    fn update(
        &self,
        change: impl Fn(&mut BTreeMap<String, String>) -> bool,
    ) -> Result<(), SecretError> {
        // Compare-and-swap needs a file to compare: two first writers would
        // both see "missing" and the later rename would drop the other's key.
        if !self.path().exists() {
            atomic_file::create_new(&self.path(), b"{\n  \"keys\": {}\n}", Perms::Private)?;
        }
        let mut tries = 0;
        loop {
            let (snapshot, mut file) = self.read()?;
            if !change(&mut file.keys) {
                return Ok(());
            }
            let bytes = serde_json::to_vec_pretty(&file).map_err(|e| SecretError::Corrupt {
                path: self.path(),
                message: e.to_string(),
            })?;
            match atomic_file::replace(&snapshot, &bytes, Perms::Secret) {
                Err(WriteError::Changed { .. }) if tries < 20 => tries += 1,
                other => return other.map_err(SecretError::from),
            }
        }
    }
}

/// Whether the OS keychain answers at all (asked once per process).
fn keychain_answers() -> bool {
    static ANSWERS: OnceLock<bool> = OnceLock::new();
    *ANSWERS.get_or_init(|| {
        let answers = keychain::get("probe").is_ok();
        if !answers {
            tracing::debug!(
                "no OS keychain answers; sellers' keys go to {SECRETS_FILE} in the data dir (0600)"
            );
        }
        answers
    })
}

#[cfg(any(target_os = "linux", target_os = "macos", target_os = "windows"))]
mod keychain {
    use super::{SecretError, SERVICE};

    fn entry(account: &str) -> Result<keyring::Entry, SecretError> {
        keyring::Entry::new(SERVICE, account).map_err(|e| SecretError::Keychain(e.to_string()))
    }

    pub fn get(account: &str) -> Result<Option<String>, SecretError> {
        match entry(account)?.get_password() {
            Ok(v) => Ok(Some(v)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(SecretError::Keychain(e.to_string())),
        }
    }

    pub fn set(account: &str, value: &str) -> Result<(), SecretError> {
        entry(account)?
            .set_password(value)
            .map_err(|e| SecretError::Keychain(e.to_string()))
    }

    pub fn remove(account: &str) -> Result<(), SecretError> {
        match entry(account)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(SecretError::Keychain(e.to_string())),
        }
    }
}

/// Elsewhere `keyring` has only an in-memory mock: no keychain.
#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
mod keychain {
    use super::SecretError;

    pub fn get(_: &str) -> Result<Option<String>, SecretError> {
        Err(SecretError::Keychain("no keychain on this OS".into()))
    }

    pub fn set(account: &str, _: &str) -> Result<(), SecretError> {
        get(account).map(|_| ())
    }

    pub fn remove(account: &str) -> Result<(), SecretError> {
        get(account).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn the_file_store_is_private_and_round_trips() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let s = Secrets {
            dir: dir.path().to_path_buf(),
            store: KeyStore::File,
        };
        assert_eq!(s.get("a").unwrap(), None);
        assert_eq!(s.set("a", "sk-1").unwrap(), KeyStore::File);
        s.set("b", "sk-2").unwrap();
        assert_eq!(s.get("a").unwrap().as_deref(), Some("sk-1"));
        let mode = std::fs::metadata(dir.path().join(SECRETS_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        s.remove("a").unwrap();
        s.remove("a").unwrap();
        assert_eq!(s.get("a").unwrap(), None);
        assert_eq!(s.get("b").unwrap().as_deref(), Some("sk-2"));
    }

    #[test]
    fn a_file_not_ours_is_refused_without_its_content() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(SECRETS_FILE), "sk-SECRET not json").unwrap();
        let s = Secrets {
            dir: dir.path().to_path_buf(),
            store: KeyStore::File,
        };
        let err = s.set("a", "x").unwrap_err().to_string();
        assert!(
            err.contains("not a secrets file") && !err.contains("SECRET"),
            "{err}"
        );
    }
}
