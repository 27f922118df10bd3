//! What each sink has done, kept beside the store in `sinks.json`: how far it got, when it last
//! delivered, what went wrong last. The cursor itself lives in the store (it moves in step with
//! delivery); this file is for the operator — `status`, `/status` and `/metrics` read it, also
//! while a daemon holds the store.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::SinkError;

/// The file in the state dir.
pub const SINKS_FILE: &str = "sinks.json";

/// While a backlog drains the file is rewritten at most this often; a change of health is
/// written at once.
const WRITE_EVERY: Duration = Duration::from_secs(2);

/// What kind of failure stopped delivery, as `status` and the metrics name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The database is down or unreachable: passes by itself.
    Unavailable,
    Credentials,
    Permission,
    Tls,
    NewerSchema,
    Refused,
    /// The store could not be read.
    Store,
}

impl FailureKind {
    pub fn of(e: &SinkError) -> FailureKind {
        match e {
            SinkError::Unavailable { .. } => FailureKind::Unavailable,
            SinkError::Credentials { .. } => FailureKind::Credentials,
            SinkError::Permission { .. } => FailureKind::Permission,
            SinkError::Tls { .. } => FailureKind::Tls,
            SinkError::NewerSchema { .. } => FailureKind::NewerSchema,
            SinkError::Refused { .. } => FailureKind::Refused,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Unavailable => "unavailable",
            FailureKind::Credentials => "credentials",
            FailureKind::Permission => "permission",
            FailureKind::Tls => "tls",
            FailureKind::NewerSchema => "newer_schema",
            FailureKind::Refused => "refused",
            FailureKind::Store => "store",
        }
    }
}

/// One failed delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub at: DateTime<Utc>,
    pub kind: FailureKind,
    /// The error, as logged (never holds the password).
    pub message: String,
}

/// One sink's record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SinkState {
    /// The journal position delivered up to (the store's cursor, as last written here).
    pub cursor: Option<u64>,
    /// Revisions stored and not yet delivered, when this record was written.
    pub pending: u64,
    /// When PostgreSQL last committed a batch.
    pub last_delivery: Option<DateTime<Utc>>,
    /// Since when every attempt has failed; `None` while delivery works.
    pub failing_since: Option<DateTime<Utc>>,
    /// The last failure, kept after delivery recovers.
    pub last_error: Option<Failure>,
    /// Rows added to the database.
    pub inserted_total: u64,
    /// Rows whose text the database already had (a retry, or another instance sent it).
    pub duplicates_total: u64,
    /// Journal entries whose revision the store no longer keeps (`max_revisions`): not sent.
    pub skipped_total: u64,
}

/// The file's content.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SinksSnapshot {
    pub written_at: Option<DateTime<Utc>>,
    pub sinks: BTreeMap<String, SinkState>,
}

/// Reads `sinks.json` in the state dir `dir`; empty when there is none yet. A damaged file is
/// reported and read as empty: it only ever holds what the next delivery writes again.
pub fn read_snapshot(dir: &Path) -> SinksSnapshot {
    let path = dir.join(SINKS_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::warn!(path = %path.display(), "unreadable, ignored: {e}");
            SinksSnapshot::default()
        }),
        Err(_) => SinksSnapshot::default(),
    }
}

/// Every sink's state in one process, shared by its deliverers, written to `sinks.json`.
#[derive(Clone)]
pub struct SinkStates {
    inner: Arc<Mutex<Inner>>,
}

struct Inner {
    path: PathBuf,
    snapshot: SinksSnapshot,
    written: Option<Instant>,
    dirty: bool,
}

impl SinkStates {
    /// The states kept in state dir `dir`, as last written.
    pub fn load(dir: &Path) -> SinkStates {
        SinkStates {
            inner: Arc::new(Mutex::new(Inner {
                path: dir.join(SINKS_FILE),
                snapshot: read_snapshot(dir),
                written: None,
                dirty: false,
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while updating leaves a state that is still a state.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sink `name`'s state.
    pub fn get(&self, name: &str) -> SinkState {
        self.lock()
            .snapshot
            .sinks
            .get(name)
            .cloned()
            .unwrap_or_default()
    }

    /// Changes sink `name`'s state and writes the file: now when `urgent` (health changed, a
    /// run ends), else when it was last written a while ago.
    pub fn update(&self, name: &str, urgent: bool, change: impl FnOnce(&mut SinkState)) {
        let mut inner = self.lock();
        let state = inner.snapshot.sinks.entry(name.to_owned()).or_default();
        let before = state.clone();
        change(state);
        let changed = *state != before;
        inner.dirty |= changed;
        let due = inner.written.is_none_or(|t| t.elapsed() >= WRITE_EVERY);
        if inner.dirty && (urgent || due) {
            inner.write();
        }
    }

    /// Writes the file if anything changed since it was last written.
    pub fn flush(&self) {
        let mut inner = self.lock();
        if inner.dirty {
            inner.write();
        }
    }
}

impl Inner {
    fn write(&mut self) {
        self.snapshot.written_at = Some(Utc::now());
        let tmp = self.path.with_extension("json.tmp");
        let written = serde_json::to_vec_pretty(&self.snapshot)
            .map_err(std::io::Error::from)
            .and_then(|json| std::fs::write(&tmp, json))
            .and_then(|()| std::fs::rename(&tmp, &self.path));
        match written {
            Ok(()) => {
                self.dirty = false;
                self.written = Some(Instant::now());
            }
            // Only the operator's view falls behind; delivery goes on.
            Err(e) => tracing::warn!(path = %self.path.display(), "cannot write: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_survive_a_reload_and_name_their_failure() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let states = SinkStates::load(dir.path());
        assert_eq!(states.get("pg"), SinkState::default());
        let error = SinkError::Unavailable {
            sink: "pg".into(),
            reason: "connection refused".into(),
        };
        states.update("pg", true, |s| {
            s.pending = 3;
            s.failing_since = Some(Utc::now());
            s.last_error = Some(Failure {
                at: Utc::now(),
                kind: FailureKind::of(&error),
                message: error.to_string(),
            });
        });
        let again = SinkStates::load(dir.path()).get("pg");
        assert_eq!(again.pending, 3);
        assert_eq!(
            again.last_error.map(|f| f.kind),
            Some(FailureKind::Unavailable)
        );
        let json = std::fs::read_to_string(dir.path().join(SINKS_FILE)).unwrap_or_default();
        assert!(json.contains("\"kind\": \"unavailable\""), "{json}");
    }

    #[test]
    fn a_damaged_file_reads_as_empty() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let _ = std::fs::write(dir.path().join(SINKS_FILE), "{not json");
        assert!(read_snapshot(dir.path()).sinks.is_empty());
    }
}
