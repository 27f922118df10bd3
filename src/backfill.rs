//! Backfill: load a plain-text archive into the store, through the same normalisation as crawls.

use crate::archive::{Entry, Reader};
use crate::article::Article;
use crate::store::{Inserted, Store, StoreError};
use chrono::Utc;
use std::io::BufRead;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum BackfillError {
    #[error("reading {name}: {source}")]
    Read {
        name: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Counts and the places of every record not imported.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BackfillReport {
    pub imported: usize,
    pub duplicate: usize,
    /// `(line, reason)` of each malformed record.
    pub rejected: Vec<(usize, String)>,
    /// `(line, text)` of each line outside a record.
    pub skipped: Vec<(usize, String)>,
}

/// Options for one import.
pub struct Backfill<'a> {
    /// Source name the records are stored under (`archive` by default).
    pub source: &'a str,
    /// Queue imported records for the digests whose filters take them (`--notify`).
    pub routing: Option<&'a crate::notify::Routing>,
    /// Called after each entry with the input's line number, for progress display.
    pub progress: &'a dyn Fn(usize),
}

impl Backfill<'_> {
    /// Imports every well-formed record of `input` (named `name` in messages) into `store`.
    /// Importing the same archive twice adds nothing: records are deduplicated by content hash.
    pub fn run(
        &self,
        store: &Store,
        input: impl BufRead,
        name: &str,
    ) -> Result<BackfillReport, BackfillError> {
        let mut report = BackfillReport::default();
        let now = Utc::now();
        // Records are stored in batches of this many, one transaction each.
        const BATCH: usize = 256;
        let mut batch: Vec<(Article, Vec<String>)> = Vec::with_capacity(BATCH);
        let store_batch = |batch: &mut Vec<(Article, Vec<String>)>,
                           report: &mut BackfillReport|
         -> Result<(), StoreError> {
            for inserted in store.insert_batch(batch)? {
                match inserted {
                    Inserted::New(_) => report.imported += 1,
                    _ => report.duplicate += 1,
                }
            }
            batch.clear();
            Ok(())
        };
        for entry in Reader::new(input) {
            let entry = match entry {
                Ok(entry) => entry,
                Err(source) => {
                    // What was read before the error is imported, as one by one.
                    store_batch(&mut batch, &mut report)?;
                    return Err(BackfillError::Read {
                        name: name.to_owned(),
                        source,
                    });
                }
            };
            let line = match entry {
                Entry::Record(r) => {
                    let article = Article::new(&r.title, &r.body, r.date, None, self.source, now);
                    if article.title.is_empty() || article.body.is_empty() {
                        report
                            .rejected
                            .push((r.line, "title or body is empty after normalisation".into()));
                    } else {
                        let queues = self
                            .routing
                            .map(|r| r.queues_for(&article))
                            .unwrap_or_default();
                        batch.push((article, queues));
                        if batch.len() >= BATCH {
                            store_batch(&mut batch, &mut report)?;
                        }
                    }
                    r.line
                }
                Entry::Rejected { line, reason } => {
                    report.rejected.push((line, reason));
                    line
                }
                Entry::Skipped { line, text } => {
                    report.skipped.push((line, text));
                    line
                }
            };
            (self.progress)(line);
        }
        store_batch(&mut batch, &mut report)?;
        store.flush_blocking()?;
        Ok(report)
    }
}
