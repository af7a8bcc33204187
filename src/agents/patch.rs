//! Configure and restore, for any agent: apply the spec's edits to its file
//! through a format-preserving document, journal what each key was before,
//! write safely; restore puts back what was there for every key that still
//! holds our value, and leaves (and reports) keys the user changed since.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::doc::json::JsonDoc;
use super::doc::toml::TomlDoc;
use super::doc::yaml::YamlDoc;
use super::doc::{ConfigDoc, DocError};
use super::journal::{Change, Entry, Journal, JournalError};
use super::spec::{AgentSpec, Context, Env, Format, Left, Target};
use super::write::{self, Snapshot, WriteError};

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
}

impl Outcome {
    /// Whether the file changes.
    pub fn changes(&self) -> bool {
        self.before != self.after
    }

    /// A unified diff of the change.
    pub fn diff(&self) -> String {
        let path = self.path.display().to_string();
        similar::TextDiff::from_lines(&self.before, &self.after)
            .unified_diff()
            .header(&path, &path)
            .to_string()
    }
}

/// A document error while editing `path`: our own bug when an edit did not
/// re-parse, else something about the user's file.
fn doc_error(path: &Path) -> impl Fn(DocError) -> PatchError + '_ {
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

fn open(spec: &AgentSpec, snapshot: &Snapshot) -> Result<Box<dyn ConfigDoc>, PatchError> {
    let bytes = snapshot.bytes.as_deref().unwrap_or_default();
    let text = std::str::from_utf8(bytes).map_err(|e| PatchError::Parse {
        path: snapshot.path.clone(),
        source: DocError::Parse {
            line: String::from_utf8_lossy(&bytes[..e.valid_up_to()])
                .matches('\n')
                .count()
                + 1,
            message: "the file is not UTF-8 text".into(),
        },
    })?;
    open_text(spec.format, text).map_err(|source| PatchError::Parse {
        path: snapshot.path.clone(),
        source,
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

fn keys(key: &[String]) -> Vec<&str> {
    key.iter().map(String::as_str).collect()
}

fn is_empty_container(v: &Value) -> bool {
    matches!(v, Value::Object(m) if m.is_empty()) || matches!(v, Value::Array(a) if a.is_empty())
}

fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// How many times a configure re-reads a file another writer keeps changing.
const ATTEMPTS: usize = 3;

/// Points the agent at `target`; with `dry_run`, only says what would change.
pub fn configure(
    spec: &AgentSpec,
    path: PathBuf,
    target: &Target<'_>,
    env: Env<'_>,
    journal: &Journal,
    dry_run: bool,
) -> Result<Outcome, PatchError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match configure_once(spec, &path, target, env, journal, dry_run) {
            // The agent rewrote its file between our read and write: re-read, re-apply.
            Err(PatchError::Write(WriteError::Changed { .. })) if attempt < ATTEMPTS => continue,
            other => return other,
        }
    }
}

fn configure_once(
    spec: &AgentSpec,
    path: &Path,
    target: &Target<'_>,
    env: Env<'_>,
    journal: &Journal,
    dry_run: bool,
) -> Result<Outcome, PatchError> {
    let snapshot = write::read(path)?;
    let mut doc = open(spec, &snapshot)?;
    let before = doc.render();
    let plan = (spec.edits)(&Context {
        target: *target,
        doc: doc.as_ref(),
        path,
        env,
    })
    .map_err(|reason| PatchError::Refused {
        path: path.to_path_buf(),
        reason,
    })?;
    let edits = plan.edits;
    let owned: Vec<Vec<String>> = edits.iter().map(|e| e.key.clone()).collect();
    if let Some(policy) = policy_override(spec, env, &owned) {
        return Err(PatchError::Policy {
            path: path.to_path_buf(),
            policy,
        });
    }
    // A second configure keeps the first one's "before" values: restore must
    // go back to the user's file, not to our own earlier edit.
    let earlier = journal.get(spec.id)?;
    let earlier_before = |key: &[String]| {
        earlier
            .as_ref()
            .and_then(|e| e.changes.iter().find(|c| c.key == key))
            .map(|c| c.before.clone())
    };
    let parse_err = doc_error(path);
    let mut changes: Vec<Change> = Vec::new();
    for edit in &edits {
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
    if let Some(e) = &earlier {
        let mut kept: Vec<Change> = e
            .changes
            .iter()
            .filter(|old| !changes.iter().any(|c| c.key == old.key))
            .cloned()
            .collect();
        kept.append(&mut changes);
        changes = kept;
    }
    let after = doc.render();
    let outcome = Outcome {
        path: path.to_path_buf(),
        before,
        after,
        skipped: Vec::new(),
        left: plan.left,
    };
    if dry_run || (!outcome.changes() && earlier.is_some()) {
        return Ok(outcome);
    }
    // Journal first: a crash after it leaves a restorable record (startup
    // reconciliation drops it if the file was never written).
    let created = earlier.map_or(snapshot.bytes.is_none(), |e| e.created);
    journal.put(
        spec.id,
        Entry {
            file: path.to_path_buf(),
            created,
            changes,
            at: now_rfc3339(),
        },
    )?;
    if outcome.changes() {
        write::replace(&snapshot, outcome.after.as_bytes())?;
    }
    Ok(outcome)
}

/// Undoes the journaled changes in `doc`; returns the keys left alone.
fn undo(doc: &mut dyn ConfigDoc, entry: &Entry) -> Result<Vec<String>, DocError> {
    let mut skipped = Vec::new();
    for change in entry.changes.iter().rev() {
        let key = keys(&change.key);
        if change.container {
            let now = doc.value(&key);
            let emptied = now.as_ref().is_none_or(is_empty_container);
            match (&change.before, emptied, now.is_some()) {
                (None, true, true) => doc.remove(&key)?,
                (Some(source), true, true) if doc.get(&key).as_deref() != Some(source) => {
                    doc.set_source(&key, source)?
                }
                _ => {}
            }
            continue;
        }
        if doc.get(&key).as_deref() != Some(change.after.as_str()) {
            skipped.push(change.key.join("."));
            continue;
        }
        match &change.before {
            Some(source) => doc.set_source(&key, source)?,
            None => doc.remove(&key)?,
        }
    }
    Ok(skipped)
}

/// Puts back what the journal says each of our keys held before.
pub fn restore(spec: &AgentSpec, journal: &Journal, dry_run: bool) -> Result<Outcome, PatchError> {
    let entry = journal
        .get(spec.id)?
        .ok_or_else(|| PatchError::NotConfigured(spec.name.to_string()))?;
    let mut attempt = 0;
    loop {
        attempt += 1;
        match restore_once(spec, &entry, journal, dry_run) {
            Err(PatchError::Write(WriteError::Changed { .. })) if attempt < ATTEMPTS => continue,
            other => return other,
        }
    }
}

fn restore_once(
    spec: &AgentSpec,
    entry: &Entry,
    journal: &Journal,
    dry_run: bool,
) -> Result<Outcome, PatchError> {
    let snapshot = write::read(&entry.file)?;
    if snapshot.bytes.is_none() {
        // The file is gone: nothing of ours is left in it.
        if !dry_run {
            journal.remove(spec.id)?;
        }
        return Ok(Outcome {
            path: entry.file.clone(),
            before: String::new(),
            after: String::new(),
            skipped: Vec::new(),
            left: Vec::new(),
        });
    }
    let mut doc = open(spec, &snapshot)?;
    let before = doc.render();
    let skipped = undo(doc.as_mut(), entry).map_err(doc_error(&entry.file))?;
    let outcome = Outcome {
        path: entry.file.clone(),
        before,
        after: doc.render(),
        skipped,
        left: Vec::new(),
    };
    if dry_run {
        return Ok(outcome);
    }
    if entry.created && outcome.after.trim().is_empty() {
        // We made the file; with our keys gone it goes too.
        write::remove(&snapshot)?;
    } else if outcome.changes() {
        write::replace(&snapshot, outcome.after.as_bytes())?;
    }
    journal.remove(spec.id)?;
    Ok(outcome)
}

/// Whether every key the journal says we set still holds our value.
pub fn holds(doc: &dyn ConfigDoc, entry: &Entry) -> bool {
    entry
        .changes
        .iter()
        .filter(|c| !c.container)
        .all(|c| doc.get(&keys(&c.key)).as_deref() == Some(c.after.as_str()))
}

/// Startup reconciliation: a journal entry whose file shows none of our
/// values and all of the old ones is a configure that crashed before its
/// write — it is dropped. Left-over temp files of ours are removed.
/// Returns the agent ids dropped.
pub fn reconcile(journal: &Journal) -> Result<Vec<String>, PatchError> {
    let mut dropped = Vec::new();
    for (id, entry) in journal.all()? {
        write::remove_leftovers(&entry.file);
        let Some(spec) = super::spec::find(&id) else {
            continue;
        };
        let Ok(snapshot) = write::read(&entry.file) else {
            continue;
        };
        let doc = match (&snapshot.bytes, open(spec, &snapshot)) {
            (None, _) => None,
            (Some(_), Ok(doc)) => Some(doc),
            (Some(_), Err(_)) => continue,
        };
        let never_written = match &doc {
            None => entry.created,
            Some(doc) => entry.changes.iter().filter(|c| !c.container).all(|c| {
                let now = doc.get(&keys(&c.key));
                now.as_deref() != Some(c.after.as_str()) && now == c.before
            }),
        };
        if never_written {
            journal.remove(&id)?;
            dropped.push(id);
        }
    }
    Ok(dropped)
}

/// [`reconcile`] for a data dir, with the outcome logged (startup of the app
/// and of CLI configure/restore).
pub fn reconcile_at_startup(data_dir: &Path) {
    match reconcile(&Journal::new(data_dir)) {
        Ok(dropped) if !dropped.is_empty() => {
            tracing::info!(agents = ?dropped, "dropped journal entries of configures that never reached their file")
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "could not reconcile the agents journal"),
    }
}
