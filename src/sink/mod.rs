//! Sinks: stored article revisions delivered into an external database, so several newswatch
//! instances fill one archive and BI tools read it as it grows.
//!
//! The stage after the store: the store hands over [`SinkRow`]s (one per stored revision), a
//! [`Sink`] delivers a batch or says why not. Delivery is idempotent — a row whose text (content
//! hash) is already there is counted as a duplicate and changes nothing — so a batch may be
//! retried after a timeout, crash or outage without being inserted twice. [`SinkError`] tells a
//! database that is down (retry later) from one that refuses the work (an operator must act).
//!
//! [`PostgresSink`] is the one implementation; it creates and migrates its own tables.
//! [`Deliverer`] follows the store's journal into a sink, moving the sink's cursor only after
//! the database committed; [`SinkStates`] keeps what each sink did for `status` and metrics.

mod deliver;
mod migrations;
mod postgres;
mod settings;
mod state;
mod tls;

pub use deliver::{
    BATCH, DeliverError, Deliverer, Drained, Progress, SignalsFn, Start, cursor_name,
};

pub use migrations::SCHEMA_VERSION;
pub use postgres::PostgresSink;
pub use settings::{
    DEFAULT_SCHEMA, DEFAULT_TIMEOUT, Password, SettingsError, SinkKind, SinkSettings, TlsMode,
    check_instance, password_env,
};
pub use state::{
    Failure, FailureKind, SINKS_FILE, SinkState, SinkStates, SinksSnapshot, read_snapshot,
};

use crate::article::{Article, ContentHash};
use crate::store::ArticleId;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::future::Future;
use thiserror::Error;

/// One stored revision of an article, as a sink receives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SinkRow {
    /// The store's id of the article; with `instance`, the article's identity.
    pub id: ArticleId,
    pub revision: u32,
    pub title: String,
    pub body: String,
    pub date: NaiveDate,
    pub url: Option<String>,
    pub source: String,
    pub fetched_at: DateTime<Utc>,
    pub revised_at: Option<DateTime<Utc>>,
    /// The text's identity: one row per hash in the sink, whichever instance sent it first.
    pub hash: ContentHash,
    /// What the signals stage found in the article, when it ran.
    pub signals: Option<serde_json::Value>,
    /// The newswatch instance that stored the revision.
    pub instance: String,
}

impl SinkRow {
    /// The row for revision `article.revision` of stored article `id`.
    pub fn new(
        instance: &str,
        id: ArticleId,
        article: &Article,
        signals: Option<serde_json::Value>,
    ) -> SinkRow {
        SinkRow {
            id,
            revision: article.revision,
            title: article.title.clone(),
            body: article.body.clone(),
            date: article.date,
            url: article.url.clone(),
            source: article.source.clone(),
            fetched_at: article.fetched_at,
            revised_at: article.revised_at,
            hash: article.hash,
            signals,
            instance: instance.to_owned(),
        }
    }
}

/// What one delivery did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivered {
    /// Rows added.
    pub inserted: usize,
    /// Rows whose text was already in the sink (sent before, by this or another instance, or
    /// twice in the batch): nothing added.
    pub duplicates: usize,
}

/// Why a delivery failed. Nothing of the batch was written in any case.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SinkError {
    /// The database is down, unreachable, shutting down, overloaded or timed out: retry later.
    #[error("sink {sink}: database unavailable: {reason}")]
    Unavailable { sink: String, reason: String },
    /// The server refused the login (wrong or missing password, unknown role, no pg_hba entry).
    #[error("sink {sink}: login refused: {reason}")]
    Credentials { sink: String, reason: String },
    /// The role may not create or write the sink's schema, tables or rows.
    #[error("sink {sink}: permission denied: {reason}")]
    Permission { sink: String, reason: String },
    /// TLS could not be set up as the URL asks: bad certificate, server without TLS, CA file.
    #[error("sink {sink}: TLS: {reason}")]
    Tls { sink: String, reason: String },
    /// The schema was migrated by a newer newswatch; this one will not write to it.
    #[error(
        "sink {sink}: schema {schema:?} is at version {found}, newer than this newswatch knows ({known}); upgrade this instance"
    )]
    NewerSchema {
        sink: String,
        schema: String,
        found: u32,
        known: u32,
    },
    /// Anything else the database refused (a missing database, a table changed by hand, a row
    /// it cannot take): retrying will not help until someone acts.
    #[error("sink {sink}: refused: {reason}")]
    Refused { sink: String, reason: String },
}

impl SinkError {
    /// Whether the failure should pass by itself: the database is down or busy. Every other
    /// error needs an operator; its rows should still be kept, and retried slowly.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, SinkError::Unavailable { .. })
    }

    /// The sink the error is about.
    pub fn sink(&self) -> &str {
        match self {
            SinkError::Unavailable { sink, .. }
            | SinkError::Credentials { sink, .. }
            | SinkError::Permission { sink, .. }
            | SinkError::Tls { sink, .. }
            | SinkError::NewerSchema { sink, .. }
            | SinkError::Refused { sink, .. } => sink,
        }
    }
}

/// Somewhere stored revisions go. The seam between the store's outbox and the database.
pub trait Sink: Send + Sync {
    /// The configured name, for logs, status and metrics.
    fn name(&self) -> &str;

    /// Writes `rows` all or nothing. Idempotent: rows already delivered count as duplicates.
    fn deliver(
        &self,
        rows: &[SinkRow],
    ) -> impl Future<Output = Result<Delivered, SinkError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_carries_every_stored_field() {
        let day = NaiveDate::from_ymd_opt(2025, 7, 2).unwrap_or_default();
        let mut article = Article::new(
            "光谷签约",
            "正文。",
            day,
            Some("https://example.gov.cn/a.html".into()),
            "optics-valley",
            Utc::now(),
        );
        article.revision = 3;
        article.revised_at = Some(Utc::now());
        let signals = serde_json::json!({"amount_yuan": 1.2e9});
        let row = SinkRow::new("wuhan-1", 42, &article, Some(signals.clone()));
        assert_eq!(row.id, 42);
        assert_eq!(row.revision, 3);
        assert_eq!(row.title, article.title);
        assert_eq!(row.body, article.body);
        assert_eq!(row.date, day);
        assert_eq!(row.url, article.url);
        assert_eq!(row.source, "optics-valley");
        assert_eq!(row.fetched_at, article.fetched_at);
        assert_eq!(row.revised_at, article.revised_at);
        assert_eq!(row.hash, article.hash);
        assert_eq!(row.signals, Some(signals));
        assert_eq!(row.instance, "wuhan-1");
    }

    #[test]
    fn only_outages_count_as_unavailable() {
        let down = SinkError::Unavailable {
            sink: "pg".into(),
            reason: "connection refused".into(),
        };
        assert!(down.is_unavailable());
        assert_eq!(down.sink(), "pg");
        let refused = SinkError::Credentials {
            sink: "pg".into(),
            reason: "password authentication failed".into(),
        };
        assert!(!refused.is_unavailable());
    }
}
