//! Configure, for any agent: apply the spec's edits to its file through a
//! format-preserving document, journal what each key was before, write
//! safely. The whole run holds the journal's lock, so two configures (or a
//! configure and a restore) of any agents take turns; the entry is journaled
//! as pending before the file is written and committed after, so a crash at
//! any point leaves a journal that startup reconciliation can square with
//! the file. Restore is in `restore.rs`, reconciliation in `reconcile.rs`.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::doc::files::Files;
use super::doc::json::JsonDoc;
use super::doc::toml::TomlDoc;
use super::doc::yaml::YamlDoc;
use super::doc::{ConfigDoc, DocError};
use super::journal::{Change, Entry, Journal, JournalError, Locked, Pending};
use super::spec::{AgentSpec, Context, Env, Format, Left, Target};
use crate::atomic_file::{self, pause_point, Perms, Snapshot, WriteError};

pub use super::reconcile::reconcile_at_startup;
pub use super::restore::restore;

/// Why an agent was not configured or restored (its file is left as it was).
#[derive(Debug, thiserror::Error)]
pub enum PatchError {
    /// The config file does not parse, or holds something we will not edit.
    #[error("{}: {source} — TokenBuddy did not touch the file", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// Where and why.
        #[source]
        source: DocError,
    },
    /// The agent's own rules say no (an `$include`, a value of an unexpected type…).
    #[error("{}: {reason} — TokenBuddy did not touch the file", path.display())]
    Refused {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A managed-settings file overrides the user's.
    #[error("{} is managed by policy ({}) — ask whoever manages this machine; TokenBuddy did not touch it", path.display(), policy.display())]
    Policy {
        /// The user's file.
        path: PathBuf,
        /// The managed file.
        policy: PathBuf,
    },
    /// An edit of ours did not re-parse: a bug in TokenBuddy (the file is
    /// left as it was).
    #[error("{}: {source}", path.display())]
    Internal {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: DocError,
    },
    /// The agent is set up by hand.
    #[error("{name} is not configured through a file: {guide}")]
    GuideOnly {
        /// Display name.
        name: String,
        /// What to do instead.
        guide: String,
    },
    /// Reading or writing the file failed, or it kept changing under us.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// The journal could not be read or written.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// Nothing to restore.
    #[error("{0} was not configured by TokenBuddy (nothing in the journal)")]
    NotConfigured(String),
}

/// What a configure or restore did, or would do.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The file.
    pub path: PathBuf,
    /// Its text before.
    pub before: String,
    /// Its text after.
    pub after: String,
    /// Keys left alone because the user changed them since we set them.
    pub skipped: Vec<String>,
    /// Model settings configure left as they are, and why.
    pub left: Vec<Left>,
    /// What restore kept that TokenBuddy had created (a file or folder that
    /// holds something else now), in a sentence each.
    pub kept: Vec<String>,
    /// The agent's side files (see [`super::spec::SideFile`]), before and after.
    pub sides: Vec<SideChange>,
}

/// One side file's text before and after.
#[derive(Debug, Clone)]
pub struct SideChange {
    /// The file.
    pub path: PathBuf,
    /// Its text before (empty when absent).
    pub before: String,
    /// Its text after (empty when removed).
    pub after: String,
}

fn unified(path: &Path, before: &str, after: &str) -> String {
    let path = path.display().to_string();
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .header(&path, &path)
        .to_string()
}

impl Outcome {
    /// Whether the file, or one of its side files, changes.
    pub fn changes(&self) -> bool {
        self.before != self.after || self.sides.iter().any(|s| s.before != s.after)
    }

    /// A unified diff of the change (the file's, then each side file's).
    pub fn diff(&self) -> String {
        let mut diff = unified(&self.path, &self.before, &self.after);
        for side in self.sides.iter().filter(|s| s.before != s.after) {
            diff.push_str(&unified(&side.path, &side.before, &side.after));
        }
        diff
    }
}

/// A document error while editing `path`: our own bug when an edit did not
/// re-parse, else something about the user's file.
pub(crate) fn doc_error(path: &Path) -> impl Fn(DocError) -> PatchError + '_ {
    move |source| match source {
        DocError::Bug(_) => PatchError::Internal {
            path: path.to_path_buf(),
            source,
        },
        source => PatchError::Parse {
            path: path.to_path_buf(),
            source,
        },
    }
}

/// Parses a config file's text in the agent's format.
pub fn open_text(format: Format, text: &str) -> Result<Box<dyn ConfigDoc>, DocError> {
    Ok(match format {
        Format::Toml => Box::new(TomlDoc::parse(text)?),
        Format::Json(dialect) => Box::new(JsonDoc::parse(text, dialect)?),
        Format::Yaml => Box::new(YamlDoc::parse(text)?),
    })
}

/// The text of a file read as `snapshot` (empty when absent).
fn text_of(snapshot: &Snapshot) -> Result<&str, PatchError> {
    let bytes = snapshot.bytes.as_deref().unwrap_or_default();
    std::str::from_utf8(bytes).map_err(|e| PatchError::Parse {
        path: snapshot.path.clone(),
        source: DocError::Parse {
            line: String::from_utf8_lossy(&bytes[..e.valid_up_to()])
                .matches('\n')
                .count()
                + 1,
            message: "the file is not UTF-8 text".into(),
        },
    })
}

/// Where the agent's side files are, beside its config file `path`.
pub fn side_paths(spec: &AgentSpec, path: &Path) -> Vec<PathBuf> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    spec.side_files.iter().map(|s| dir.join(s.name)).collect()
}

/// An agent's files as they are now: a snapshot of each (the config file
/// first, then its side files) and the one document over all of them.
pub struct Read {
    /// The snapshots, in the document's part order.
    pub snapshots: Vec<Snapshot>,
    /// The document.
    pub doc: Files,
}

impl Read {
    /// Whether none of the files exists.
    pub fn all_absent(&self) -> bool {
        self.snapshots.iter().all(|s| s.bytes.is_none())
    }
}

/// Reads and parses the agent's config file `path` and its side files.
pub fn read_all(spec: &AgentSpec, path: &Path) -> Result<Read, PatchError> {
    let main = atomic_file::read(path)?;
    let doc = open_text(spec.format, text_of(&main)?).map_err(|source| PatchError::Parse {
        path: main.path.clone(),
        source,
    })?;
    let mut snapshots = vec![main];
    let mut sides = Vec::new();
    for (side, side_path) in spec.side_files.iter().zip(side_paths(spec, path)) {
        let snapshot = atomic_file::read(&side_path)?;
        let side_doc = (side.parse)(text_of(&snapshot)?).map_err(|source| PatchError::Parse {
            path: snapshot.path.clone(),
            source,
        })?;
        sides.push((side.name, side_doc));
        snapshots.push(snapshot);
    }
    Ok(Read {
        snapshots,
        doc: Files::new(doc, sides),
    })
}

/// The agent's config file, or why there is none to edit.
pub fn config_path(spec: &AgentSpec, home: &Path, env: Env<'_>) -> Result<PathBuf, PatchError> {
    (spec.config_path)(home, env).ok_or_else(|| PatchError::GuideOnly {
        name: spec.name.to_string(),
        guide: spec.guide.unwrap_or_default().to_string(),
    })
}

/// The managed-settings file that overrides one of `keys`, if any.
pub fn policy_override(spec: &AgentSpec, env: Env<'_>, keys: &[Vec<String>]) -> Option<PathBuf> {
    (spec.policy_files)(env).into_iter().find(|file| {
        let Ok(text) = std::fs::read_to_string(file) else {
            return false;
        };
        match open_text(spec.format, &text) {
            // A managed file we cannot read still wins over the user's.
            Err(_) => true,
            Ok(doc) => keys.iter().any(|k| {
                let path: Vec<&str> = k.iter().map(String::as_str).collect();
                // The owned key, or its first step (an `env` block, a `provider` map…).
                doc.value(&path).is_some() || doc.value(&path[..1]).is_some()
            }),
        }
    })
}

pub(crate) fn keys(key: &[String]) -> Vec<&str> {
    key.iter().map(String::as_str).collect()
}

pub(crate) fn is_empty_container(v: &Value) -> bool {
    matches!(v, Value::Object(m) if m.is_empty()) || matches!(v, Value::Array(a) if a.is_empty())
}

fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// How many times a configure re-reads a file another writer keeps changing.
pub(crate) const ATTEMPTS: usize = 3;

/// Points the agent at `target`; with `dry_run`, only says what would change.
pub fn configure(
    spec: &AgentSpec,
    path: PathBuf,
    target: &Target<'_>,
    env: Env<'_>,
    journal: &Journal,
    dry_run: bool,
) -> Result<Outcome, PatchError> {
    let locked = journal.lock()?;
    // A crash may have left this agent's entry pending: square it first.
    super::reconcile::settle_one(&locked, spec.id)?;
    let mut attempt = 0;
    loop {
        attempt += 1;
        match configure_once(spec, &path, target, env, &locked, dry_run) {
            // The agent rewrote its file between our read and write: re-read, re-apply.
            Err(PatchError::Write(WriteError::Changed { .. })) if attempt < ATTEMPTS => continue,
            other => return other,
        }
    }
}

/// The keys `edits` set in `doc`, with what each held before (a second
/// configure keeps the first one's "before": restore must go back to the
/// user's file, not to our own earlier edit), applied to `doc`.
fn apply(
    doc: &mut dyn ConfigDoc,
    edits: &[super::spec::Edit],
    earlier: Option<&Entry>,
    path: &Path,
) -> Result<Vec<Change>, PatchError> {
    let earlier_before = |key: &[String]| {
        earlier
            .and_then(|e| e.changes.iter().find(|c| c.key == key))
            .map(|c| c.before.clone())
    };
    let parse_err = doc_error(path);
    let mut changes: Vec<Change> = Vec::new();
    for edit in edits {
        let key = keys(&edit.key);
        // Containers we add to, outermost first, so restore can put back
        // one that was absent or empty.
        for depth in 0..key.len() {
            let parent = &edit.key[..depth];
            if changes.iter().any(|c| c.key == parent) {
                continue;
            }
            let value = doc.value(&key[..depth]);
            if value.as_ref().is_none_or(is_empty_container) {
                changes.push(Change {
                    key: parent.to_vec(),
                    before: earlier_before(parent).unwrap_or_else(|| doc.get(&key[..depth])),
                    after: String::new(),
                    container: true,
                });
            }
        }
        // Never replace a table or list with a value of another kind: that
        // would drop whatever the user keeps in it.
        if let Some(now) = doc.value(&key) {
            let kind = |v: &Value| match v {
                Value::Object(_) => "a table",
                Value::Array(_) => "a list",
                _ => "a single value",
            };
            if (now.is_object() || now.is_array()) && kind(&now) != kind(&edit.value) {
                return Err(PatchError::Refused {
                    path: path.to_path_buf(),
                    reason: format!(
                        "`{}` is {}, where TokenBuddy expects {}; not touching it",
                        edit.key.join("."),
                        kind(&now),
                        kind(&edit.value)
                    ),
                });
            }
        }
        let previous = earlier_before(&edit.key).unwrap_or_else(|| doc.get(&key));
        doc.set(&key, &edit.value).map_err(&parse_err)?;
        changes.push(Change {
            key: edit.key.clone(),
            before: previous,
            after: doc.get(&key).unwrap_or_default(),
            container: false,
        });
    }
    // Keys an earlier configure set that this one did not (an allowlist
    // entry for another model) stay journaled, so restore still undoes them.
    if let Some(e) = earlier {
        let mut kept: Vec<Change> = e
            .changes
            .iter()
            .filter(|old| !changes.iter().any(|c| c.key == old.key))
            .cloned()
            .collect();
        kept.append(&mut changes);
        changes = kept;
    }
    Ok(changes)
}

fn configure_once(
    spec: &AgentSpec,
    path: &Path,
    target: &Target<'_>,
    env: Env<'_>,
    locked: &Locked<'_>,
    dry_run: bool,
) -> Result<Outcome, PatchError> {
    let Read {
        snapshots,
        doc: mut files,
    } = read_all(spec, path)?;
    let befores: Vec<String> = (0..files.len()).map(|i| files.text(i)).collect();
    let plan = (spec.edits)(&Context {
        target: *target,
        doc: &files,
        path,
        env,
    })
    .map_err(|reason| PatchError::Refused {
        path: path.to_path_buf(),
        reason,
    })?;
    let owned: Vec<Vec<String>> = plan.edits.iter().map(|e| e.key.clone()).collect();
    if let Some(policy) = policy_override(spec, env, &owned) {
        return Err(PatchError::Policy {
            path: path.to_path_buf(),
            policy,
        });
    }
    let earlier = locked.get(spec.id)?;
    let changes = apply(&mut files, &plan.edits, earlier.as_ref(), path)?;
    let afters: Vec<String> = (0..files.len()).map(|i| files.text(i)).collect();
    let outcome = Outcome {
        path: path.to_path_buf(),
        before: befores[0].clone(),
        after: afters[0].clone(),
        skipped: Vec::new(),
        left: plan.left,
        kept: Vec::new(),
        sides: (1..files.len())
            .map(|i| SideChange {
                path: snapshots[i].path.clone(),
                before: befores[i].clone(),
                after: afters[i].clone(),
            })
            .collect(),
    };
    if dry_run || (!outcome.changes() && earlier.is_some()) {
        return Ok(outcome);
    }
    // A file we create now, and the folders we create for it, are ours to
    // remove again at restore.
    let changed: Vec<usize> = (0..files.len())
        .filter(|&i| befores[i] != afters[i])
        .collect();
    let creating = snapshots[0].bytes.is_none();
    let mut created_dirs = earlier
        .as_ref()
        .map(|e| e.created_dirs.clone())
        .unwrap_or_default();
    let mut created_files = earlier
        .as_ref()
        .map(|e| e.created_files.clone())
        .unwrap_or_default();
    for (i, snapshot) in snapshots.iter().enumerate() {
        if snapshot.bytes.is_some() || !(i == 0 || changed.contains(&i)) {
            continue;
        }
        for dir in atomic_file::missing_dirs(&snapshot.path)? {
            if !created_dirs.contains(&dir) {
                created_dirs.push(dir);
            }
        }
        if i > 0 && !created_files.contains(&snapshot.path) {
            created_files.push(snapshot.path.clone());
        }
    }
    let entry = Entry {
        file: path.to_path_buf(),
        created: creating || earlier.as_ref().is_some_and(|e| e.created),
        created_dirs,
        created_files,
        changes,
        at: now_rfc3339(),
        pending: None,
    };
    if outcome.changes() {
        // Journal first: whatever happens next, the journal can undo it.
        locked.put(
            spec.id,
            Entry {
                pending: Some(Pending {
                    previous: earlier.clone().map(Box::new),
                }),
                ..entry.clone()
            },
        )?;
        pause_point("configure-journaled");
        // Side files first: the config file may point at them (Claude
        // Desktop's `appliedId`), so it is written once they are there.
        let order: Vec<usize> = changed
            .iter()
            .copied()
            .filter(|&i| i > 0)
            .chain(changed.iter().copied().filter(|&i| i == 0))
            .collect();
        let mut written = Vec::new();
        for &i in &order {
            match atomic_file::replace(&snapshots[i], afters[i].as_bytes(), Perms::Secret) {
                Ok(()) => written.push(i),
                Err(e) => {
                    // Nothing of this configure stays: the files written so
                    // far go back, and the journal to what it held.
                    for &w in written.iter().rev() {
                        put_back(&snapshots[w], &afters[w]);
                    }
                    if let Err(j) = locked.set(spec.id, earlier.clone()) {
                        tracing::warn!(agent = spec.id, error = %j, "could not take back a journal entry; startup reconciliation will");
                    }
                    if earlier.is_none() {
                        super::restore::remove_created_dirs(&entry, &mut Vec::new());
                    }
                    return Err(e.into());
                }
            }
        }
        pause_point("configure-written");
    }
    locked.put(spec.id, entry)?;
    Ok(outcome)
}

/// Puts back the file read as `snapshot` after we wrote `ours` to it (a
/// configure that failed on a later file); a file that changed again since
/// is left, with a warning.
fn put_back(snapshot: &Snapshot, ours: &str) {
    let result = atomic_file::read(&snapshot.path).and_then(|now| {
        if now.bytes.as_deref() != Some(ours.as_bytes()) {
            return Err(WriteError::Changed {
                path: snapshot.path.clone(),
            });
        }
        match &snapshot.bytes {
            Some(bytes) => atomic_file::replace(&now, bytes, Perms::Secret),
            None => atomic_file::remove(&now),
        }
    });
    if let Err(e) = result {
        tracing::warn!(file = %snapshot.path.display(), error = %e, "could not put back a file of a failed configure");
    }
}

/// Whether every key the journal says we set still holds our value.
pub fn holds(doc: &dyn ConfigDoc, entry: &Entry) -> bool {
    entry
        .changes
        .iter()
        .filter(|c| !c.container)
        .all(|c| doc.get(&keys(&c.key)).as_deref() == Some(c.after.as_str()))
}
