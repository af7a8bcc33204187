//! Writing a user's config file safely: read it (through symlinks), and later
//! replace it only if nobody changed it meanwhile — a temp file in the same
//! directory, fsync, permissions of the original, atomic rename over the
//! link's target, fsync of the directory. An advisory lock keeps two
//! TokenBuddy processes (app and CLI) from interleaving.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Why a config file was not written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Reading or writing failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The file changed since it was read: nothing was written.
    #[error("{} changed while TokenBuddy was editing it; nothing was written (try again)", path.display())]
    Changed {
        /// The file.
        path: PathBuf,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> WriteError + '_ {
    move |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A config file as read: where it really is, and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The path the user knows (maybe a symlink).
    pub path: PathBuf,
    /// The file actually written (the symlink's final target).
    pub target: PathBuf,
    /// Its bytes; `None` when it does not exist yet.
    pub bytes: Option<Vec<u8>>,
}

/// Follows `path`'s symlinks to the file they name (which may not exist yet).
fn resolve(path: &Path) -> Result<PathBuf, WriteError> {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = fs::read_link(&current).map_err(io_err(&current))?;
                current = match current.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            Ok(_) => return Ok(current),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(current),
            Err(e) => return Err(io_err(&current)(e)),
        }
    }
    Err(io_err(path)(io::Error::other(
        "too many levels of symbolic links",
    )))
}

/// Reads `path` for a later [`replace`].
pub fn read(path: &Path) -> Result<Snapshot, WriteError> {
    let target = resolve(path)?;
    let bytes = match fs::read(&target) {
        Ok(b) => Some(b),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(io_err(&target)(e)),
    };
    Ok(Snapshot {
        path: path.to_path_buf(),
        target,
        bytes,
    })
}

static TEMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// Removes temp files a crashed write of ours left beside `path`'s target.
pub fn remove_leftovers(path: &Path) {
    let Ok(target) = resolve(path) else { return };
    let (Some(dir), Some(name)) = (target.parent(), target.file_name()) else {
        return;
    };
    let prefix = format!(".{}.tokenbuddy-", name.to_string_lossy());
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if n.starts_with(&prefix) && n.ends_with(".tmp") {
            if let Err(err) = fs::remove_file(e.path()) {
                tracing::warn!(file = %e.path().display(), error = %err, "could not remove a left-over temp file");
            }
        }
    }
}

/// Removes the file read as `snapshot` (one TokenBuddy created), unless it
/// changed since.
pub fn remove(snapshot: &Snapshot) -> Result<(), WriteError> {
    let now = match fs::read(&snapshot.target) {
        Ok(b) => Some(b),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err(&snapshot.target)(e)),
    };
    if now != snapshot.bytes {
        return Err(WriteError::Changed {
            path: snapshot.path.clone(),
        });
    }
    fs::remove_file(&snapshot.target).map_err(io_err(&snapshot.target))
}

/// Replaces the file read as `snapshot` with `new`, unless it changed since
/// (then [`WriteError::Changed`], and the file is left as the other writer
/// left it).
pub fn replace(snapshot: &Snapshot, new: &[u8]) -> Result<(), WriteError> {
    let target = &snapshot.target;
    let dir = target.parent().unwrap_or_else(|| Path::new("."));
    // Hold an advisory lock on the existing file while we compare and swap.
    let _lock = match File::open(target) {
        Ok(f) => {
            f.lock().map_err(io_err(target))?;
            Some(f)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(io_err(target)(e)),
    };
    let now = match fs::read(target) {
        Ok(b) => Some(b),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(io_err(target)(e)),
    };
    if now != snapshot.bytes {
        return Err(WriteError::Changed {
            path: snapshot.path.clone(),
        });
    }
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config".into());
    let temp = dir.join(format!(
        ".{name}.tokenbuddy-{}-{}.tmp",
        std::process::id(),
        TEMP_SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| -> io::Result<()> {
        if snapshot.bytes.is_none() {
            fs::create_dir_all(dir)?;
        }
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        f.write_all(new)?;
        if let Ok(meta) = fs::metadata(target) {
            f.set_permissions(meta.permissions())?;
        }
        f.sync_all()?;
        fs::rename(&temp, target)?;
        // The rename itself must survive a crash too.
        #[cfg(unix)]
        File::open(dir)?.sync_all()?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result.map_err(io_err(target))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leftovers(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("tokenbuddy") && n.ends_with(".tmp"))
            .collect()
    }

    #[test]
    fn replaces_in_place_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        fs::write(&path, "a = 1\n").unwrap();
        let snap = read(&path).unwrap();
        replace(&snap, b"a = 2\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "a = 2\n");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_stays_a_link_and_its_target_keeps_its_mode() {
        use std::os::unix::fs::{symlink, PermissionsExt};
        let dir = tempfile::tempdir().unwrap();
        let dotfiles = dir.path().join("dotfiles");
        fs::create_dir(&dotfiles).unwrap();
        let real = dotfiles.join("settings.json");
        fs::write(&real, "{}\n").unwrap();
        fs::set_permissions(&real, fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.path().join("settings.json");
        symlink("dotfiles/settings.json", &link).unwrap();

        let snap = read(&link).unwrap();
        assert_eq!(snap.target, real);
        replace(&snap, b"{\"a\":1}\n").unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink(),
            "still a link"
        );
        assert_eq!(fs::read_to_string(&real).unwrap(), "{\"a\":1}\n");
        assert_eq!(
            fs::metadata(&real).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(leftovers(&dotfiles).is_empty());
    }

    #[test]
    fn a_concurrent_rewrite_is_detected_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        fs::write(&path, "a = 1\n").unwrap();
        let snap = read(&path).unwrap();
        fs::write(&path, "a = 1\nb = 2\n").unwrap(); // the agent rewrote it
        let err = replace(&snap, b"a = 9\n").unwrap_err();
        assert!(matches!(err, WriteError::Changed { .. }), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "a = 1\nb = 2\n");
    }

    #[test]
    fn a_missing_file_is_created_unless_someone_beat_us_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.json");
        let snap = read(&path).unwrap();
        assert_eq!(snap.bytes, None);
        replace(&snap, b"{}").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"{}");
        let other = dir.path().join("other.json");
        let snap = read(&other).unwrap();
        fs::write(&other, "theirs").unwrap();
        assert!(matches!(
            replace(&snap, b"ours"),
            Err(WriteError::Changed { .. })
        ));
        assert_eq!(fs::read_to_string(&other).unwrap(), "theirs");
    }
}
