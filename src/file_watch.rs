//! Watching files for real changes, shared by the sellers-file watch and the
//! agents' drift watch.
//!
//! A notify watch reports every access to a file, including the reads of
//! whoever reacts to the change (on Linux, inotify's `IN_OPEN`): reacting to
//! those makes a watcher wake itself forever. So only events that can change
//! a file's content count ([`signal`]); a burst of them is coalesced; an
//! in-place write is waited out until its writer closes the file, where the
//! OS reports that, so a half-written file is not read; and whether the
//! content really changed is decided by comparing it ([`Fingerprint`]), not
//! by counting events (an editor that saves unchanged bytes changes nothing).

use std::hash::{Hash, Hasher};
use std::time::Duration;

use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind};
use tokio::sync::mpsc;

/// How long a burst must stay quiet before it is acted on.
pub const SETTLE: Duration = Duration::from_millis(75);

/// Longest wait for a writer to close a file it is writing in place.
pub const WRITE_GRACE: Duration = Duration::from_secs(2);

/// Whether the OS reports that a writer closed the file (inotify's
/// `IN_CLOSE_WRITE`); elsewhere a write counts as done once quiet.
const REPORTS_CLOSE_WRITE: bool = cfg!(any(target_os = "linux", target_os = "android"));

/// What one filesystem event means for a watched file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Cannot change its content: an open, a read, a close after reading,
    /// a metadata change (`touch`, `chmod`).
    Ignore,
    /// Created, removed or renamed: look again once things are quiet.
    Changed,
    /// Bytes are being written in place: wait for the writer to finish.
    Writing,
    /// A writer closed the file.
    Written,
}

/// The meaning of an event of kind `kind`.
pub fn signal(kind: &EventKind) -> Signal {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => Signal::Written,
        EventKind::Access(_) => Signal::Ignore,
        EventKind::Modify(ModifyKind::Metadata(_)) => Signal::Ignore,
        EventKind::Modify(ModifyKind::Data(_)) if REPORTS_CLOSE_WRITE => Signal::Writing,
        EventKind::Modify(_) | EventKind::Create(_) | EventKind::Remove(_) | EventKind::Any => {
            Signal::Changed
        }
        EventKind::Other => Signal::Ignore,
    }
}

/// Waits for the next change: the first signal, then until the burst is
/// over (quiet for [`SETTLE`], and no in-place write still open, for at most
/// [`WRITE_GRACE`]). `None` when the sender is gone.
pub async fn next_change(rx: &mut mpsc::UnboundedReceiver<Signal>) -> Option<()> {
    let mut writing = rx.recv().await? == Signal::Writing;
    loop {
        let wait = if writing { WRITE_GRACE } else { SETTLE };
        match tokio::time::timeout(wait, rx.recv()).await {
            Ok(Some(Signal::Writing)) => writing = true,
            Ok(Some(Signal::Written)) => writing = false,
            Ok(Some(_)) => {}
            Ok(None) => return None,
            // Quiet long enough (or the writer never closed): look now.
            Err(_) => return Some(()),
        }
    }
}

/// A cheap summary of a file's content (or its absence), to tell a real
/// change from an event that changed nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint(u64);

impl Fingerprint {
    /// The fingerprint of `bytes` (`None`: the file does not exist).
    pub fn of(bytes: Option<&[u8]>) -> Fingerprint {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        bytes.hash(&mut h);
        Fingerprint(h.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, DataChange, MetadataKind, RemoveKind, RenameMode};

    #[test]
    fn only_events_that_can_change_content_count() {
        let rows = [
            (
                EventKind::Access(AccessKind::Open(AccessMode::Any)),
                Signal::Ignore,
            ),
            (EventKind::Access(AccessKind::Read), Signal::Ignore),
            (
                EventKind::Access(AccessKind::Close(AccessMode::Read)),
                Signal::Ignore,
            ),
            (
                EventKind::Access(AccessKind::Close(AccessMode::Write)),
                Signal::Written,
            ),
            (
                EventKind::Modify(ModifyKind::Metadata(MetadataKind::Any)),
                Signal::Ignore,
            ),
            (
                EventKind::Modify(ModifyKind::Name(RenameMode::To)),
                Signal::Changed,
            ),
            (EventKind::Create(CreateKind::File), Signal::Changed),
            (EventKind::Remove(RemoveKind::File), Signal::Changed),
        ];
        for (kind, want) in rows {
            assert_eq!(signal(&kind), want, "{kind:?}");
        }
        let data = signal(&EventKind::Modify(ModifyKind::Data(DataChange::Content)));
        assert_eq!(
            data,
            if REPORTS_CLOSE_WRITE {
                Signal::Writing
            } else {
                Signal::Changed
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_is_one_change_and_an_open_write_is_waited_for() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        tx.send(Signal::Changed).unwrap();
        tx.send(Signal::Changed).unwrap();
        let start = tokio::time::Instant::now();
        assert_eq!(next_change(&mut rx).await, Some(()));
        assert_eq!(
            start.elapsed(),
            SETTLE,
            "one change after the burst settles"
        );

        tx.send(Signal::Writing).unwrap();
        let writer = tx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            writer.send(Signal::Written).unwrap();
        });
        let start = tokio::time::Instant::now();
        assert_eq!(next_change(&mut rx).await, Some(()));
        assert_eq!(
            start.elapsed(),
            Duration::from_millis(500) + SETTLE,
            "a slow in-place write is read only after its writer closed the file"
        );

        tx.send(Signal::Writing).unwrap();
        let start = tokio::time::Instant::now();
        assert_eq!(next_change(&mut rx).await, Some(()));
        assert_eq!(start.elapsed(), WRITE_GRACE, "a writer that never closes");
        drop(tx);
        assert_eq!(next_change(&mut rx).await, None);
    }

    #[test]
    fn fingerprints_tell_content_apart() {
        assert_eq!(Fingerprint::of(Some(b"a")), Fingerprint::of(Some(b"a")));
        assert_ne!(Fingerprint::of(Some(b"a")), Fingerprint::of(Some(b"b")));
        assert_ne!(Fingerprint::of(None), Fingerprint::of(Some(b"")));
    }
}
