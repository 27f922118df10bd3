//! Delivery: the store's journal followed into a sink.
//!
//! The journal is the outbox. Every stored revision gets a journal number in the transaction
//! that stores it; a sink's cursor (`sink:<NAME>` in the store) is how far it has delivered.
//! A [`Deliverer`] reads the entries past the cursor, oldest first, in batches of [`BATCH`],
//! turns each into a [`SinkRow`] and hands the batch to the sink, which writes it all or
//! nothing; only then does the cursor move. A crash or an outage between the two leaves the
//! cursor behind, and the batch is sent again — harmless, since the sink ignores texts it
//! already holds. So every revision arrives, and once.
//!
//! Only what the store has flushed is sent: a revision the store could still lose in a crash
//! never reaches the database, where it would outlive the article id it names.

use super::state::{Failure, FailureKind, SinkState, SinkStates};
use super::{Delivered, Sink, SinkError, SinkRow};
use crate::article::Article;
use crate::store::{ArticleId, Store, StoreError};
use chrono::Utc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use thiserror::Error;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Journal entries per batch: one statement and one commit in the database. 500–2000 deliver
/// fastest (docs/sink.md); smaller batches pay a round trip each, larger ones resend more after
/// a failure.
pub const BATCH: usize = 1000;

/// How often a sink that has caught up looks for new entries.
const POLL: Duration = Duration::from_millis(500);

/// The first wait after a failed delivery; it doubles up to [`LAST_RETRY`].
const FIRST_RETRY: Duration = Duration::from_secs(1);
const LAST_RETRY: Duration = Duration::from_secs(30);

/// What a sink's rows carry in their `signals` column, computed from the stored revision.
pub type SignalsFn = Arc<dyn Fn(&Article) -> Option<serde_json::Value> + Send + Sync>;

/// The store cursor of sink `name`.
pub fn cursor_name(name: &str) -> String {
    format!("sink:{name}")
}

/// Why a batch was not delivered. The cursor did not move; the batch goes again.
#[derive(Debug, Error)]
pub enum DeliverError {
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error("sink {sink}: reading the store")]
    Store {
        sink: String,
        #[source]
        source: StoreError,
    },
}

impl DeliverError {
    pub fn kind(&self) -> FailureKind {
        match self {
            DeliverError::Sink(e) => FailureKind::of(e),
            DeliverError::Store { .. } => FailureKind::Store,
        }
    }

    /// Whether it should pass by itself (the database is down or busy).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, DeliverError::Sink(e) if e.is_unavailable())
    }
}

/// Where a sink's delivery starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// From its cursor.
    Resumed(u64),
    /// A new sink on an empty store: from the first revision.
    Beginning,
    /// A new sink on a store that already holds `articles`: from what is stored next. The
    /// articles already stored go with `newswatch sink backfill` — one explicit, visible run,
    /// rather than years of archive pushed unannounced by the next crawl.
    End { at: u64, articles: usize },
}

/// What one or more batches did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Journal entries (or, in a backfill, revisions) handled.
    pub entries: usize,
    /// Rows the database added.
    pub inserted: usize,
    /// Rows whose text the database already held.
    pub duplicates: usize,
    /// Revisions the store no longer keeps (`max_revisions`): not sent.
    pub skipped: usize,
}

impl std::ops::AddAssign for Progress {
    fn add_assign(&mut self, o: Progress) {
        self.entries += o.entries;
        self.inserted += o.inserted;
        self.duplicates += o.duplicates;
        self.skipped += o.skipped;
    }
}

/// What [`Deliverer::drain`] did.
#[derive(Debug)]
pub struct Drained {
    pub progress: Progress,
    /// Revisions still waiting.
    pub pending: u64,
    /// Why it stopped before the end, if it did.
    pub error: Option<DeliverError>,
}

/// Turns stored revisions into rows. Cheap to clone, so the next batch is read on the blocking
/// pool while the previous one is in flight: the database and this process work at once.
#[derive(Clone)]
struct Rows {
    store: Store,
    instance: Arc<str>,
    signals: Option<SignalsFn>,
}

/// The rows for the journal entries past `after`, up to `last`.
struct Batch {
    after: u64,
    last: u64,
    entries: usize,
    rows: Vec<SinkRow>,
    /// Revisions the store no longer keeps.
    dropped: Vec<(ArticleId, u32)>,
}

impl Rows {
    fn row(&self, id: ArticleId, article: &Article) -> SinkRow {
        let signals = self.signals.as_ref().and_then(|f| f(article));
        SinkRow::new(&self.instance, id, article, signals)
    }

    fn batch(&self, after: u64) -> Result<Batch, StoreError> {
        let entries = self.store.journal(after, BATCH)?;
        let mut batch = Batch {
            after,
            last: entries.last().map_or(after, |entry| entry.seq),
            entries: entries.len(),
            rows: Vec::with_capacity(entries.len()),
            dropped: Vec::new(),
        };
        for entry in &entries {
            match self.store.revision(entry.id, entry.revision)? {
                Some(article) => batch.rows.push(self.row(entry.id, &article)),
                None => batch.dropped.push((entry.id, entry.revision)),
            }
        }
        Ok(batch)
    }

    /// [`Rows::batch`] on the blocking pool.
    async fn read(&self, after: u64) -> Result<Batch, StoreError> {
        let rows = self.clone();
        tokio::task::spawn_blocking(move || rows.batch(after))
            .await
            .unwrap_or(Err(StoreError::Interrupted("sink batch read")))
    }
}

/// Follows the store's journal into one sink.
pub struct Deliverer<S> {
    sink: S,
    rows: Rows,
    store: Store,
    states: SinkStates,
    cursor: String,
    /// Journal entries up to this one are on disk.
    durable: AtomicU64,
    /// The batch after the one last delivered, read while it was in flight.
    ahead: std::sync::Mutex<Option<Batch>>,
}

impl<S: Sink> Deliverer<S> {
    /// Delivers `store`'s revisions into `sink` as written by `instance`, recording what
    /// happens in `states`.
    pub fn new(
        sink: S,
        store: Store,
        instance: &str,
        signals: Option<SignalsFn>,
        states: SinkStates,
    ) -> Deliverer<S> {
        let cursor = cursor_name(sink.name());
        Deliverer {
            sink,
            rows: Rows {
                store: store.clone(),
                instance: instance.into(),
                signals,
            },
            store,
            states,
            cursor,
            durable: AtomicU64::new(0),
            ahead: std::sync::Mutex::new(None),
        }
    }

    pub fn name(&self) -> &str {
        self.sink.name()
    }

    pub fn sink(&self) -> &S {
        &self.sink
    }

    /// Gives a new sink its cursor (see [`Start`]); says where an existing one stands. Called
    /// before anything is stored, so a new store's first revisions are not passed over.
    pub fn start(&self) -> Result<Start, StoreError> {
        let start = self.place_cursor()?;
        let at = match start {
            Start::Resumed(at) | Start::End { at, .. } => at,
            Start::Beginning => 0,
        };
        // `status` reads the file while a daemon holds the store: a sink it follows is started.
        self.states
            .update(self.name(), false, |s| s.cursor = Some(at));
        Ok(start)
    }

    fn place_cursor(&self) -> Result<Start, StoreError> {
        if let Some(at) = self.store.cursor(&self.cursor)? {
            return Ok(Start::Resumed(at));
        }
        let end = self.store.journal_end()?;
        if end == 0 && self.store.is_empty() {
            self.store.reset_cursor(&self.cursor, 0)?;
            return Ok(Start::Beginning);
        }
        self.store.reset_cursor(&self.cursor, end)?;
        let articles = self.store.len();
        let name = self.name();
        tracing::warn!(
            sink = name,
            "sink {name} is new and the store already holds {articles} articles: it gets what is stored from now on; run `newswatch sink backfill {name}` to send the articles already stored"
        );
        Ok(Start::End { at: end, articles })
    }

    /// Revisions waiting for this sink.
    pub fn pending(&self) -> Result<u64, StoreError> {
        let cursor = self.store.cursor(&self.cursor)?.unwrap_or(0);
        self.store.journal_backlog(cursor)
    }

    fn store_error(&self, source: StoreError) -> DeliverError {
        DeliverError::Store {
            sink: self.name().to_owned(),
            source,
        }
    }

    /// Delivers the next batch past the cursor and moves the cursor over it. Nothing to do:
    /// `entries` is 0.
    async fn step(&self) -> Result<Progress, DeliverError> {
        let e = |source| self.store_error(source);
        let cursor = self.store.cursor(&self.cursor).map_err(e)?.unwrap_or(0);
        let ahead = self.ahead_slot().take();
        // An empty batch read ahead says nothing: entries may have come since.
        let batch = match ahead.filter(|b| b.after == cursor && b.entries > 0) {
            Some(batch) => batch,
            None => self.rows.read(cursor).await.map_err(e)?,
        };
        if batch.entries == 0 {
            return Ok(Progress::default());
        }
        if batch.last > self.durable.load(Ordering::SeqCst) {
            // Everything journalled before the flush starts is on disk once it returns.
            let end = self.store.journal_end().map_err(e)?;
            self.store.flush().await.map_err(e)?;
            self.durable.fetch_max(end, Ordering::SeqCst);
        }
        let (delivered, next) =
            tokio::join!(self.sink.deliver(&batch.rows), self.rows.read(batch.last));
        let delivered = match delivered {
            Ok(d) => d,
            Err(error) => {
                // Sent again next time, as read.
                *self.ahead_slot() = Some(batch);
                return Err(error.into());
            }
        };
        self.store.set_cursor(&self.cursor, batch.last).map_err(e)?;
        for (id, revision) in &batch.dropped {
            tracing::warn!(
                sink = self.name(),
                article = id,
                revision,
                "revision no longer kept by the store (max_revisions); not delivered"
            );
        }
        *self.ahead_slot() = next.ok();
        Ok(Progress {
            entries: batch.entries,
            inserted: delivered.inserted,
            duplicates: delivered.duplicates,
            skipped: batch.dropped.len(),
        })
    }

    fn ahead_slot(&self) -> std::sync::MutexGuard<'_, Option<Batch>> {
        // Only a read-ahead: a panic while holding it leaves nothing that matters.
        self.ahead.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a delivered batch. Returns whether delivery had been failing.
    fn delivered(&self, p: Progress) -> bool {
        let cursor = self.store.cursor(&self.cursor).ok().flatten();
        // Cheap: the journal numbers revisions without gaps, so the distance to its end is the
        // backlog (`pending` counts exactly, but costs a scan of it).
        let end = self.store.journal_end().unwrap_or(0);
        let mut recovered = false;
        let caught_up = p.entries == 0;
        self.states
            .update(self.name(), caught_up, |s: &mut SinkState| {
                recovered = s.failing_since.is_some();
                s.failing_since = None;
                s.cursor = cursor.or(s.cursor);
                s.pending = end.saturating_sub(cursor.unwrap_or(0));
                if p.inserted + p.duplicates > 0 {
                    s.last_delivery = Some(Utc::now());
                }
                s.inserted_total += p.inserted as u64;
                s.duplicates_total += p.duplicates as u64;
                s.skipped_total += p.skipped as u64;
            });
        if recovered {
            self.states.flush();
        }
        recovered
    }

    /// Records a failure. Returns whether it is news: the first of a run of failures, or a
    /// different error than the last.
    fn failed(&self, error: &DeliverError) -> bool {
        let message = crate::error_chain(error);
        let kind = error.kind();
        let pending = self.pending().unwrap_or(0);
        let mut news = false;
        self.states.update(self.name(), true, |s| {
            news = s.failing_since.is_none()
                || s.last_error
                    .as_ref()
                    .is_none_or(|f| f.kind != kind || f.message != message);
            let now = Utc::now();
            s.failing_since.get_or_insert(now);
            s.pending = pending;
            s.last_error = Some(Failure {
                at: now,
                kind,
                message: message.clone(),
            });
        });
        news
    }

    /// Delivers until `stop` fires: each batch as soon as it is stored (looked for every
    /// [`POLL`]), and after a failure again and again, waiting longer each time up to
    /// [`LAST_RETRY`]. A batch in flight when `stop` fires is dropped; it goes next time.
    pub async fn follow(&self, stop: &CancellationToken) {
        let name = self.name();
        let mut wait = FIRST_RETRY;
        loop {
            let result = tokio::select! {
                biased;
                () = stop.cancelled() => break,
                result = self.step() => result,
            };
            let pause = match result {
                Ok(p) => {
                    if self.delivered(p) {
                        tracing::info!(sink = name, "sink delivering again");
                    }
                    wait = FIRST_RETRY;
                    if p.entries > 0 {
                        tracing::debug!(sink = name, ?p, "sink batch delivered");
                        continue;
                    }
                    POLL
                }
                Err(e) => {
                    let pending = self.pending().unwrap_or(0);
                    if self.failed(&e) {
                        tracing::error!(
                            sink = name,
                            pending,
                            retry_in_secs = wait.as_secs(),
                            "{}; {pending} revisions wait, crawling goes on",
                            crate::error_chain(&e)
                        );
                    } else {
                        tracing::debug!(sink = name, pending, "still failing: {e}");
                    }
                    let pause = wait;
                    wait = (wait * 2).min(LAST_RETRY);
                    pause
                }
            };
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(pause) => {}
            }
        }
        self.states.flush();
    }

    /// Delivers everything stored so far, for a command that is about to exit. Retries while
    /// the database is unavailable, until `patience` passes without progress; any other error
    /// ends it at once. What is not delivered stays queued for the next run.
    pub async fn drain(&self, patience: Duration) -> Drained {
        let mut total = Progress::default();
        let mut deadline = Instant::now() + patience;
        let mut wait = FIRST_RETRY;
        loop {
            let result = match tokio::time::timeout_at(deadline, self.step()).await {
                Ok(result) => result,
                Err(_) => Err(DeliverError::Sink(SinkError::Unavailable {
                    sink: self.name().to_owned(),
                    reason: format!(
                        "no batch delivered within {} s",
                        patience.as_secs_f64().round()
                    ),
                })),
            };
            match result {
                Ok(p) => {
                    self.delivered(p);
                    if p.entries == 0 {
                        return Drained {
                            progress: total,
                            pending: 0,
                            error: None,
                        };
                    }
                    total += p;
                    deadline = Instant::now() + patience;
                    wait = FIRST_RETRY;
                }
                Err(e) => {
                    self.failed(&e);
                    tracing::debug!(sink = self.name(), "not delivered: {e}");
                    if !e.is_unavailable() || Instant::now() + wait >= deadline {
                        return Drained {
                            progress: total,
                            pending: self.pending().unwrap_or(0),
                            error: Some(e),
                        };
                    }
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(LAST_RETRY);
                }
            }
        }
    }

    /// Sends every article in the store with every revision it keeps, oldest first, in
    /// batches; then puts the cursor at the journal's end as it was when the backfill began
    /// (everything up to it has just been sent). Idempotent: texts already there are counted
    /// as duplicates. `progress` gets the articles done and the articles in the store.
    pub async fn backfill(
        &self,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<Progress, DeliverError> {
        let e = |source| self.store_error(source);
        let end = self.store.journal_end().map_err(e)?;
        let articles = self.store.len();
        // A thread reads the store into batches while the database takes the one before.
        let (tx, mut rx) =
            tokio::sync::mpsc::channel::<Result<(Vec<SinkRow>, usize), StoreError>>(2);
        let rows = self.rows.clone();
        let reader = tokio::task::spawn_blocking(move || {
            let mut batch = Vec::with_capacity(BATCH + 16);
            let mut done = 0;
            for item in rows.store.articles() {
                let revisions = item.and_then(|(id, _)| Ok((id, rows.store.revisions(id)?)));
                let (id, revisions) = match revisions {
                    Ok(r) => r,
                    Err(error) => {
                        let _ = tx.blocking_send(Err(error));
                        return;
                    }
                };
                batch.extend(revisions.iter().map(|a| rows.row(id, a)));
                done += 1;
                // A closed channel: the delivery failed and was reported; stop reading.
                if batch.len() >= BATCH
                    && tx
                        .blocking_send(Ok((std::mem::take(&mut batch), done)))
                        .is_err()
                {
                    return;
                }
            }
            let _ = tx.blocking_send(Ok((batch, done)));
        });
        let mut total = Progress::default();
        while let Some(read) = rx.recv().await {
            let (rows, done) = read.map_err(e)?;
            total += self.send(&rows).await?;
            progress(done, articles);
        }
        drop(rx);
        let _ = reader.await;
        self.store.set_cursor(&self.cursor, end).map_err(e)?;
        self.delivered(Progress {
            entries: 0,
            ..total
        });
        Ok(total)
    }

    async fn send(&self, rows: &[SinkRow]) -> Result<Progress, DeliverError> {
        match self.sink.deliver(rows).await {
            Ok(Delivered {
                inserted,
                duplicates,
            }) => Ok(Progress {
                entries: rows.len(),
                inserted,
                duplicates,
                skipped: 0,
            }),
            Err(error) => {
                let error = DeliverError::Sink(error);
                self.failed(&error);
                Err(error)
            }
        }
    }
}
