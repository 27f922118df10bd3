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
    /// Put imported records in the digests whose filters take them (`--notify`).
    pub routing: Option<&'a crate::notify::Routing>,
    /// Called after each entry with the input's line number, for progress display.
    pub progress: &'a dyn Fn(usize),
}

/// Records are stored in batches of this many, one transaction each.
const BATCH: usize = 256;

/// What the reading thread hands to the writing one.
enum Parsed {
    /// Articles ready to store, and the line of the last one.
    Batch(Vec<(Article, Vec<String>)>, usize),
    Rejected(usize, String),
    Skipped(usize, String),
    ReadError(std::io::Error),
}

impl Backfill<'_> {
    /// Imports every well-formed record of `input` (named `name` in messages) into `store`.
    /// Importing the same archive twice adds nothing: records are deduplicated by content hash.
    ///
    /// Reading and normalising (NFKC, hashing) run on a second thread while this one writes to
    /// the store, in batches, so both cores work; ids still follow the order of the file.
    pub fn run(
        &self,
        store: &Store,
        input: impl BufRead + Send,
        name: &str,
    ) -> Result<BackfillReport, BackfillError> {
        let mut report = BackfillReport::default();
        let now = Utc::now();
        let source = self.source;
        let routing = self.routing;
        std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Parsed>(8);
            scope.spawn(move || {
                let mut batch: Vec<(Article, Vec<String>)> = Vec::with_capacity(BATCH);
                let mut last_line = 0;
                for entry in Reader::new(input) {
                    let msg = match entry {
                        Err(e) => Parsed::ReadError(e),
                        Ok(Entry::Record(r)) => {
                            last_line = r.line;
                            let article =
                                Article::new(&r.title, &r.body, r.date, None, source, now);
                            if article.title.is_empty() || article.body.is_empty() {
                                Parsed::Rejected(
                                    r.line,
                                    "title or body is empty after normalisation".into(),
                                )
                            } else {
                                let digests =
                                    routing.map(|r| r.digests_for(&article)).unwrap_or_default();
                                batch.push((article, digests));
                                if batch.len() < BATCH {
                                    continue;
                                }
                                Parsed::Batch(std::mem::take(&mut batch), r.line)
                            }
                        }
                        Ok(Entry::Rejected { line, reason }) => Parsed::Rejected(line, reason),
                        Ok(Entry::Skipped { line, text }) => Parsed::Skipped(line, text),
                    };
                    let stop = matches!(msg, Parsed::ReadError(_));
                    // What was read before a rejected line or an error goes first, in order.
                    if !batch.is_empty() && !matches!(msg, Parsed::Batch(..)) {
                        let done = Parsed::Batch(std::mem::take(&mut batch), last_line);
                        if tx.send(done).is_err() {
                            return;
                        }
                    }
                    if tx.send(msg).is_err() || stop {
                        return;
                    }
                }
                if !batch.is_empty() {
                    let _ = tx.send(Parsed::Batch(batch, last_line));
                }
            });
            for msg in rx {
                match msg {
                    Parsed::Batch(batch, line) => {
                        for inserted in store.insert_batch(&batch)? {
                            match inserted {
                                Inserted::New(_) => report.imported += 1,
                                _ => report.duplicate += 1,
                            }
                        }
                        (self.progress)(line);
                    }
                    Parsed::Rejected(line, reason) => report.rejected.push((line, reason)),
                    Parsed::Skipped(line, text) => report.skipped.push((line, text)),
                    Parsed::ReadError(source) => {
                        return Err(BackfillError::Read {
                            name: name.to_owned(),
                            source,
                        });
                    }
                }
            }
            Ok(())
        })?;
        store.flush_blocking()?;
        Ok(report)
    }
}
