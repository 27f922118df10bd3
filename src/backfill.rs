//! Backfill: load a plain-text archive into the store, through the same normalisation as crawls.

use crate::archive::{Entry, Reader};
use crate::article::Article;
use crate::store::{Incoming, Inserted, Prepared, Store, StoreError};
use chrono::Utc;
use encoding_rs::{Encoding, UTF_8};
use std::io::{BufRead, Read as _};
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

/// Counts of what one import did. Each rejected record and skipped line was handed to
/// [`Backfill::notice`] as it was met, not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackfillReport {
    pub imported: usize,
    pub duplicate: usize,
    pub rejected: usize,
    pub skipped: usize,
    /// The encoding the archive was read in (detected, when not given).
    pub encoding: &'static Encoding,
}

/// Options for one import.
pub struct Backfill<'a> {
    /// Source name the records are stored under (`archive` by default).
    pub source: &'a str,
    /// Put imported records in the digests whose filters take them (`--notify`).
    pub routing: Option<&'a crate::notify::Routing>,
    /// The archive's encoding (ASCII-compatible: UTF-8, GB18030, Big5 …); `None`: detected
    /// from the opening of the input.
    pub encoding: Option<&'static Encoding>,
    /// Called after each entry with the input's line number, for progress display.
    pub progress: &'a dyn Fn(usize),
    /// Called with each rejected record and each skipped line, in file order, as they are met.
    pub notice: &'a dyn Fn(&Entry),
}

/// Records are stored in batches of this many, one transaction each.
const BATCH: usize = 256;

/// How much of the input encoding detection looks at.
const SAMPLE_BYTES: usize = 64 * 1024;

/// What the reading thread hands to the writing one.
enum Parsed {
    /// Articles ready to store with their signals, and the line of the last one.
    Batch(Vec<Prepared>, usize),
    /// A rejected record or a skipped line.
    Notice(Entry),
    ReadError(std::io::Error),
    StoreError(StoreError),
}

/// The encoding of an archive whose opening is `sample` (`whole`: the sample is all of it).
/// A byte-order mark or valid UTF-8 decides; else chardetng guesses (GBK read as its superset
/// GB18030, as pages are).
fn detect(sample: &[u8], whole: bool) -> &'static Encoding {
    if sample.starts_with(b"\xEF\xBB\xBF") {
        return UTF_8;
    }
    match std::str::from_utf8(sample) {
        Ok(_) => return UTF_8,
        // Cut inside the sample's last character: still UTF-8.
        Err(e) if !whole && e.error_len().is_none() => return UTF_8,
        Err(_) => {}
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(sample, whole);
    let guess = detector.guess(Some(b"cn"), chardetng::Utf8Detection::Allow);
    if guess == encoding_rs::GBK {
        encoding_rs::GB18030
    } else if guess.is_ascii_compatible() {
        guess
    } else {
        UTF_8
    }
}

impl Backfill<'_> {
    /// Imports every well-formed record of `input` (named `name` in messages) into `store`.
    /// Importing the same archive twice adds nothing: records are deduplicated by content hash.
    /// A malformed record, an over-long line or a line not valid in the encoding is reported
    /// through [`Backfill::notice`] and skipped; the import goes on.
    ///
    /// Reading, normalising (NFKC, hashing), finding each record's signals and preparing it for
    /// the store run on a second thread while this one writes to the store, in batches, so both
    /// cores work; ids still follow the order of the file.
    pub fn run(
        &self,
        store: &Store,
        mut input: impl BufRead + Send,
        name: &str,
    ) -> Result<BackfillReport, BackfillError> {
        let read_error = |source| BackfillError::Read {
            name: name.to_owned(),
            source,
        };
        // The opening is read ahead to detect the encoding, then read again as part of the file.
        let mut sample = Vec::new();
        let encoding = match self.encoding {
            Some(e) => e,
            None => {
                (&mut input)
                    .take(SAMPLE_BYTES as u64)
                    .read_to_end(&mut sample)
                    .map_err(read_error)?;
                detect(&sample, sample.len() < SAMPLE_BYTES)
            }
        };
        let input = std::io::Cursor::new(sample).chain(input);
        let mut report = BackfillReport {
            imported: 0,
            duplicate: 0,
            rejected: 0,
            skipped: 0,
            encoding,
        };
        let now = Utc::now();
        let source = self.source;
        let routing = self.routing;
        let extractor = store.extractor().as_ref();
        std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Parsed>(8);
            std::thread::Builder::new()
                .name("backfill-read".into())
                .spawn_scoped(scope, move || {
                    let mut batch: Vec<Prepared> = Vec::with_capacity(BATCH);
                    let mut last_line = 0;
                    for entry in Reader::with_encoding(input, encoding) {
                        let msg = match entry {
                            Err(e) => Parsed::ReadError(e),
                            Ok(Entry::Record(r)) => {
                                last_line = r.line;
                                let article =
                                    Article::new(&r.title, &r.body, r.date, None, source, now);
                                if article.title.is_empty() || article.body.is_empty() {
                                    Parsed::Notice(Entry::Rejected {
                                        line: r.line,
                                        reason: "title or body is empty after normalisation".into(),
                                    })
                                } else {
                                    let signals = extractor.extract(&article.title, &article.body);
                                    let digests = routing
                                        .map(|r| r.digests_for_signals(&article, &signals))
                                        .unwrap_or_default();
                                    match store.prepare(&Incoming {
                                        article,
                                        digests,
                                        signals,
                                    }) {
                                        Ok(p) => {
                                            batch.push(p);
                                            if batch.len() < BATCH {
                                                continue;
                                            }
                                            Parsed::Batch(std::mem::take(&mut batch), r.line)
                                        }
                                        Err(e) => Parsed::StoreError(e),
                                    }
                                }
                            }
                            Ok(other) => Parsed::Notice(other),
                        };
                        let stop = matches!(msg, Parsed::ReadError(_) | Parsed::StoreError(_));
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
                })
                .map_err(read_error)?;
            for msg in rx {
                match msg {
                    Parsed::Batch(batch, line) => {
                        for inserted in store.insert_prepared(&batch)? {
                            match inserted {
                                Inserted::New(_) => report.imported += 1,
                                _ => report.duplicate += 1,
                            }
                        }
                        (self.progress)(line);
                    }
                    Parsed::Notice(entry) => {
                        match entry {
                            Entry::Skipped { .. } => report.skipped += 1,
                            _ => report.rejected += 1,
                        }
                        (self.notice)(&entry);
                    }
                    Parsed::ReadError(source) => return Err(read_error(source)),
                    Parsed::StoreError(e) => return Err(e.into()),
                }
            }
            Ok(())
        })?;
        store.flush_blocking()?;
        Ok(report)
    }
}
