//! The one way TokenBuddy writes a file, whether the user's (an agent's
//! config) or its own (the journal, the token, the routing settings): the
//! new bytes go to a uniquely named temp file in the same directory, are
//! fsynced, take the permissions asked for, and replace the file by an atomic
//! rename (onto a symlink's final target, so the link stays a link), and the
//! directory is fsynced so the rename survives a crash too. A reader — or the
//! next start after a crash — sees the old bytes or the new, never a mix.
//!
//! [`replace`] is compare-and-swap: it writes only if the file still holds
//! what [`read`] saw. [`write`] replaces unconditionally (a file only
//! TokenBuddy writes), [`create_new`] never replaces (first writer wins).
//! Serialising TokenBuddy's own writers of one file is the caller's lock (the
//! agents journal's); the advisory lock here only narrows the window between
//! the compare and the swap.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Why a file was not written.
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

/// Which permissions the written file gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Perms {
    /// An existing file keeps its mode; a new one gets the usual default.
    Keep,
    /// An existing file keeps its mode (the user chose it); a new one is
    /// private to the user (0600): it will hold TokenBuddy's token.
    Secret,
    /// Always private to the user (0600): a file of TokenBuddy's that holds
    /// secrets (the token, the journal of previous values).
    Private,
}

/// A file as read: where it really is, and its bytes.
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
pub fn resolve(path: &Path) -> Result<PathBuf, WriteError> {
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

fn read_bytes(target: &Path) -> Result<Option<Vec<u8>>, WriteError> {
    match fs::read(target) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(target)(e)),
    }
}

/// Reads `path` for a later [`replace`] or [`remove`].
pub fn read(path: &Path) -> Result<Snapshot, WriteError> {
    let target = resolve(path)?;
    let bytes = read_bytes(&target)?;
    Ok(Snapshot {
        path: path.to_path_buf(),
        target,
        bytes,
    })
}

/// The folders `path`'s file would need that do not exist yet, outermost
/// first (what a write of a new file creates).
pub fn missing_dirs(path: &Path) -> Result<Vec<PathBuf>, WriteError> {
    let target = resolve(path)?;
    let mut missing: Vec<PathBuf> = target
        .ancestors()
        .skip(1)
        .filter(|d| !d.as_os_str().is_empty())
        .take_while(|d| !d.exists())
        .map(Path::to_path_buf)
        .collect();
    missing.reverse();
    Ok(missing)
}

/// The prefix of our temp files beside `target` (`.<name>.tokenbuddy-`).
fn temp_prefix(target: &Path) -> String {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    format!(".{name}.tokenbuddy-")
}

static TEMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// A temp name no other writer uses: process, sequence and a random part
/// (a crashed process's left-over name may come back with a reused pid).
fn temp_path(target: &Path) -> PathBuf {
    let dir = target.parent().unwrap_or_else(|| Path::new("."));
    let mut random = [0u8; 6];
    // Without randomness the pid and sequence still keep live writers apart.
    let _ = getrandom::fill(&mut random);
    let random: String = random.iter().map(|b| format!("{b:02x}")).collect();
    dir.join(format!(
        "{}{}-{}-{random}.tmp",
        temp_prefix(target),
        std::process::id(),
        TEMP_SEQ.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Removes temp files a crashed write left beside `path`'s target. Only call
/// it where no other writer of that file can be running (under its lock, or
/// at startup).
pub fn remove_leftovers(path: &Path) {
    let Ok(target) = resolve(path) else { return };
    let Some(dir) = target.parent() else { return };
    let prefix = temp_prefix(&target);
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

/// Where a test may stop the process on purpose (`TOKENBUDDY_PAUSE_AT=<point>`):
/// it says so on stderr and waits to be killed, so a crash lands exactly
/// there. Nothing happens unless that variable names this point.
pub fn pause_point(point: &str) {
    if std::env::var("TOKENBUDDY_PAUSE_AT").is_ok_and(|p| p == point) {
        eprintln!("tokenbuddy: paused at {point}");
        loop {
            std::thread::park();
        }
    }
}

#[cfg(unix)]
fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn fsync_dir(_: &Path) -> io::Result<()> {
    // Windows has no directory handle to flush; the rename is journaled by NTFS.
    Ok(())
}

/// Writes `new` to a fresh temp file beside `target`, fsynced and with the
/// permissions asked for; returns its path (the caller renames or links it).
fn stage(target: &Path, new: &[u8], perms: Perms, existing: bool) -> io::Result<PathBuf> {
    let temp = temp_path(target);
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    let private = perms == Perms::Private || (perms == Perms::Secret && !existing);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        // Private from the first byte, not chmod-ed afterwards.
        options.mode(0o600);
    }
    let result = (|| {
        let mut f = options.open(&temp)?;
        f.write_all(new)?;
        if private {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                f.set_permissions(fs::Permissions::from_mode(0o600))?;
            }
        } else if let Ok(meta) = fs::metadata(target) {
            f.set_permissions(meta.permissions())?;
        }
        f.sync_all()?;
        if let Some(name) = target.file_name() {
            pause_point(&format!("temp-written:{}", name.to_string_lossy()));
        }
        Ok(temp.clone())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Renames the staged `temp` over `target` and makes the rename durable.
fn commit(temp: &Path, target: &Path) -> io::Result<()> {
    let dir = target.parent().unwrap_or_else(|| Path::new("."));
    if let Err(e) = fs::rename(temp, target) {
        let _ = fs::remove_file(temp);
        return Err(e);
    }
    fsync_dir(dir)
}

/// Creates the folders `target` needs, each made durable in its parent.
fn create_dirs(target: &Path) -> io::Result<()> {
    let Some(dir) = target.parent() else {
        return Ok(());
    };
    if dir.as_os_str().is_empty() || dir.exists() {
        return Ok(());
    }
    let missing = missing_dirs(target).map_err(|e| io::Error::other(e.to_string()))?;
    fs::create_dir_all(dir)?;
    for created in &missing {
        if let Some(parent) = created.parent() {
            fsync_dir(parent)?;
        }
    }
    Ok(())
}

/// Replaces the file read as `snapshot` with `new`, unless it changed since
/// (then [`WriteError::Changed`], and the file is left as the other writer
/// left it).
pub fn replace(snapshot: &Snapshot, new: &[u8], perms: Perms) -> Result<(), WriteError> {
    let target = &snapshot.target;
    // An advisory lock on the existing file while we compare and swap.
    let _lock = match File::open(target) {
        Ok(f) => {
            f.lock().map_err(io_err(target))?;
            Some(f)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(io_err(target)(e)),
    };
    if read_bytes(target)? != snapshot.bytes {
        return Err(WriteError::Changed {
            path: snapshot.path.clone(),
        });
    }
    create_dirs(target).map_err(io_err(target))?;
    let temp = stage(target, new, perms, snapshot.bytes.is_some()).map_err(io_err(target))?;
    commit(&temp, target).map_err(io_err(target))
}

/// Replaces `path` (through symlinks) with `new`, whatever it holds now: for
/// files only TokenBuddy writes. Concurrent writers never collide — each
/// writes its own temp file, and the last rename wins whole.
pub fn write(path: &Path, new: &[u8], perms: Perms) -> Result<(), WriteError> {
    let target = resolve(path)?;
    create_dirs(&target).map_err(io_err(&target))?;
    let temp = stage(&target, new, perms, target.exists()).map_err(io_err(&target))?;
    commit(&temp, &target).map_err(io_err(&target))
}

/// Creates `path` with `new` unless it exists; `Ok(false)` when another
/// writer got there first (its file is left as it is). The file appears
/// whole or not at all.
pub fn create_new(path: &Path, new: &[u8], perms: Perms) -> Result<bool, WriteError> {
    let target = resolve(path)?;
    create_dirs(&target).map_err(io_err(&target))?;
    let temp = stage(&target, new, perms, false).map_err(io_err(&target))?;
    // A hard link never replaces an existing name: first writer wins.
    let linked = fs::hard_link(&temp, &target);
    let _ = fs::remove_file(&temp);
    match linked {
        Ok(()) => {
            let dir = target.parent().unwrap_or_else(|| Path::new("."));
            fsync_dir(dir).map_err(io_err(&target))?;
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(io_err(&target)(e)),
    }
}

/// Removes the file read as `snapshot` (one TokenBuddy created), unless it
/// changed since.
pub fn remove(snapshot: &Snapshot) -> Result<(), WriteError> {
    let now = match read_bytes(&snapshot.target)? {
        None => return Ok(()),
        now => now,
    };
    if now != snapshot.bytes {
        return Err(WriteError::Changed {
            path: snapshot.path.clone(),
        });
    }
    fs::remove_file(&snapshot.target).map_err(io_err(&snapshot.target))?;
    let dir = snapshot.target.parent().unwrap_or_else(|| Path::new("."));
    fsync_dir(dir).map_err(io_err(&snapshot.target))
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

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn replaces_in_place_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        fs::write(&path, "a = 1\n").unwrap();
        let snap = read(&path).unwrap();
        replace(&snap, b"a = 2\n", Perms::Keep).unwrap();
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
        fs::set_permissions(&real, fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("settings.json");
        symlink("dotfiles/settings.json", &link).unwrap();

        let snap = read(&link).unwrap();
        assert_eq!(snap.target, real);
        // Even a secret keeps the mode the user gave their own file.
        replace(&snap, b"{\"a\":1}\n", Perms::Secret).unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read_to_string(&real).unwrap(), "{\"a\":1}\n");
        assert_eq!(mode(&real), 0o640);
        assert!(leftovers(&dotfiles).is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn secrets_are_created_private_and_private_files_stay_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let created = dir.path().join("new/dir/settings.json");
        replace(&read(&created).unwrap(), b"{}", Perms::Secret).unwrap();
        assert_eq!(mode(&created), 0o600);
        let own = dir.path().join("journal.json");
        fs::write(&own, "old").unwrap();
        fs::set_permissions(&own, fs::Permissions::from_mode(0o644)).unwrap();
        write(&own, b"new", Perms::Private).unwrap();
        assert_eq!(mode(&own), 0o600);
        let plain = dir.path().join("routing.json");
        write(&plain, b"{}", Perms::Keep).unwrap();
        assert_eq!(mode(&plain) & 0o600, 0o600);
    }

    #[test]
    fn a_concurrent_rewrite_is_detected_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        fs::write(&path, "a = 1\n").unwrap();
        let snap = read(&path).unwrap();
        fs::write(&path, "a = 1\nb = 2\n").unwrap(); // the agent rewrote it
        let err = replace(&snap, b"a = 9\n", Perms::Keep).unwrap_err();
        assert!(matches!(err, WriteError::Changed { .. }), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "a = 1\nb = 2\n");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn a_missing_file_is_created_unless_someone_beat_us_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.json");
        let snap = read(&path).unwrap();
        assert_eq!(snap.bytes, None);
        replace(&snap, b"{}", Perms::Keep).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"{}");
        let other = dir.path().join("other.json");
        let snap = read(&other).unwrap();
        fs::write(&other, "theirs").unwrap();
        assert!(matches!(
            replace(&snap, b"ours", Perms::Keep),
            Err(WriteError::Changed { .. })
        ));
        assert_eq!(fs::read_to_string(&other).unwrap(), "theirs");
    }

    #[test]
    fn create_new_never_replaces_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        assert!(create_new(&path, b"first", Perms::Private).unwrap());
        assert!(!create_new(&path, b"second", Perms::Private).unwrap());
        assert_eq!(fs::read(&path).unwrap(), b"first");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn missing_dirs_are_listed_outermost_first_and_leftovers_removed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a/b/c.json");
        assert_eq!(
            missing_dirs(&file).unwrap(),
            vec![dir.path().join("a"), dir.path().join("a/b")]
        );
        fs::write(dir.path().join(".x.json.tokenbuddy-1-2-ab.tmp"), "half").unwrap();
        fs::write(dir.path().join(".y.json.tokenbuddy-1-2-ab.tmp"), "other").unwrap();
        remove_leftovers(&dir.path().join("x.json"));
        assert_eq!(leftovers(dir.path()), vec![".y.json.tokenbuddy-1-2-ab.tmp"]);
    }
}
