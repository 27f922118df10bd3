//! Keeps the index in step with the store, through the store's journal.
//!
//! The index's commit watermark is the last journal sequence number indexed. Catching up reads
//! the journal past it, indexes the latest revision of each article named there and commits
//! with the new watermark, so after any stop — SIGKILL included — the tail lost with the last
//! uncommitted batch is found in the journal again and indexed on the next start. Indexing an
//! article twice is harmless: a document replaces whatever was indexed under its id.
//!
//! An index without a watermark (new, cleared by `reindex`, or from a store older than the
//! journal) is built from every stored article. The journal's end is read first, so articles
//! stored while the build runs are picked up from the journal afterwards; a build commits every
//! [`COMMIT_EVERY`] articles with how far it got, and one cut short resumes there.

use super::{IndexDoc, IndexSignals, Rebuild, SearchError, SearchIndex, SearchReader};
use crate::article::Article;
use crate::signals::Signals;
use crate::store::{ArticleId, Store, StoreError};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The index's folder inside the state dir.
pub const INDEX_DIR: &str = "search";
/// Articles indexed between two commits while catching up (each commit writes a segment and
/// waits for the disk; more articles per commit index faster, fewer lose less to a crash).
pub const COMMIT_EVERY: u64 = 10_000;
/// Journal entries read at a time.
const BATCH: usize = 1_000;

#[derive(Debug, Error)]
pub enum IndexerError {
    #[error(transparent)]
    Search(#[from] SearchError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where the index of the store in `state_dir` lives.
pub fn index_dir(state_dir: &Path) -> PathBuf {
    state_dir.join(INDEX_DIR)
}

/// The index as it holds `article` (stored under `id`) with its `signals`: stages by their
/// Chinese label, canonical regions and industries, and the largest amount in yuan (at
/// [`crate::signals::Currency::approx_cny`]), so "an amount of at least X" is one range.
pub fn index_doc(id: ArticleId, article: &Article, signals: &Signals) -> IndexDoc {
    IndexDoc {
        id,
        revision: article.revision,
        title: article.title.clone(),
        body: article.body.clone(),
        date: article.date,
        source: article.source.clone(),
        url: article.url.clone().unwrap_or_default(),
        signals: IndexSignals {
            stages: signals
                .stages
                .iter()
                .map(|s| s.label().to_owned())
                .collect(),
            regions: signals.regions.clone(),
            industries: signals.industries.clone(),
            amount_cny: signals
                .amounts
                .iter()
                .map(|a| a.amount * a.currency.approx_cny())
                .filter(|v| v.is_finite())
                .reduce(f64::max),
        },
    }
}

/// How far the index is behind the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backlog {
    /// The journal entries past the watermark.
    Journal(u64),
    /// A build from the store: this many articles of `total` still to index.
    Build { left: u64, total: u64 },
}

impl Backlog {
    /// Articles (or journal entries) still to index.
    pub fn left(self) -> u64 {
        match self {
            Backlog::Journal(n) => n,
            Backlog::Build { left, .. } => left,
        }
    }
}

/// The index of one store, open for writing.
pub struct Indexer {
    index: SearchIndex,
    store: Store,
}

impl Indexer {
    /// Opens (creating if need be) the index of `store` for writing. An index built by another
    /// version of newswatch is removed and built again from the store; one that names a journal
    /// position the store never reached belongs to another store (a restored backup, a swapped
    /// state dir) and is cleared.
    pub fn open(store: Store) -> Result<Indexer, IndexerError> {
        let dir = index_dir(store.dir());
        let index = match SearchIndex::open(&dir) {
            Err(SearchError::Outdated { .. }) => {
                tracing::warn!(index = %dir.display(), "search index built by another version of newswatch: rebuilding it from the store");
                SearchIndex::remove(&dir)?;
                SearchIndex::open(&dir)?
            }
            other => other?,
        };
        let mut indexer = Indexer { index, store };
        let end = indexer.store.journal_end()?;
        let foreign = match (
            indexer.index.last_indexed()?,
            indexer.index.rebuild_progress()?,
        ) {
            (Some(w), _) => w > end,
            (None, Some(r)) => r.watermark > end,
            (None, None) => false,
        };
        if foreign {
            tracing::warn!(index = %dir.display(), "search index does not match this store: rebuilding it");
            indexer.index.clear()?;
        }
        Ok(indexer)
    }

    /// A handle for searching, to share with other threads.
    pub fn reader(&self) -> SearchReader {
        self.index.reader()
    }

    /// How far the index is behind the store now.
    pub fn backlog(&self) -> Result<Backlog, IndexerError> {
        match self.index.last_indexed()? {
            Some(w) => Ok(Backlog::Journal(self.store.journal_backlog(w)?)),
            None => {
                let total = self.store.len() as u64;
                let done = match self.index.rebuild_progress()? {
                    Some(_) => self.index.len().min(total),
                    None => 0,
                };
                Ok(Backlog::Build {
                    left: total - done,
                    total,
                })
            }
        }
    }

    /// Empties the index, so the next [`Indexer::catch_up`] builds it from every stored
    /// article (`reindex`).
    pub fn clear(&mut self) -> Result<(), IndexerError> {
        Ok(self.index.clear()?)
    }

    /// Brings the index up to date with the store and commits: a build from every stored
    /// article when the index has no watermark, then the journal past it. `progress` is told
    /// the articles done so far; `stop` is asked between batches and ends the work early (what
    /// was indexed since the last commit is then left for next time). Returns the articles
    /// indexed.
    pub fn catch_up(
        &mut self,
        progress: &mut dyn FnMut(u64),
        stop: &dyn Fn() -> bool,
    ) -> Result<u64, IndexerError> {
        let mut done = 0;
        let watermark = match self.index.last_indexed()? {
            Some(w) => w,
            None => match self.build(&mut done, progress, stop)? {
                Some(w) => w,
                None => return Ok(done),
            },
        };
        self.follow(watermark, &mut done, progress, stop)?;
        Ok(done)
    }

    /// Indexes every stored article (resuming a build cut short) and commits the watermark
    /// read before it began; `None` when stopped first.
    fn build(
        &mut self,
        done: &mut u64,
        progress: &mut dyn FnMut(u64),
        stop: &dyn Fn() -> bool,
    ) -> Result<Option<u64>, IndexerError> {
        let mut at = match self.index.rebuild_progress()? {
            Some(r) => r,
            None => Rebuild {
                watermark: self.store.journal_end()?,
                through: 0,
            },
        };
        // Resuming: the article `through` names was indexed; a fresh build starts at id 0.
        let from = if self.index.rebuild_progress()?.is_some() {
            at.through.saturating_add(1)
        } else {
            0
        };
        let mut batch = Vec::with_capacity(BATCH);
        let mut uncommitted = 0u64;
        for item in self.store.articles_from(from) {
            let (id, article) = item?;
            let signals = self.store.signals_of(id, &article)?;
            batch.push(index_doc(id, &article, &signals));
            at.through = id;
            if batch.len() == BATCH {
                if stop() {
                    return Ok(None);
                }
                self.index.index(&batch)?;
                *done += batch.len() as u64;
                uncommitted += batch.len() as u64;
                batch.clear();
                progress(*done);
                if uncommitted >= COMMIT_EVERY {
                    self.index.commit_rebuild(at)?;
                    uncommitted = 0;
                }
            }
        }
        self.index.index(&batch)?;
        *done += batch.len() as u64;
        progress(*done);
        self.index.commit(at.watermark)?;
        Ok(Some(at.watermark))
    }

    /// Indexes the articles the journal names past `watermark`, committing as it goes.
    fn follow(
        &mut self,
        mut watermark: u64,
        done: &mut u64,
        progress: &mut dyn FnMut(u64),
        stop: &dyn Fn() -> bool,
    ) -> Result<(), IndexerError> {
        let mut uncommitted = 0u64;
        let mut committed = watermark;
        loop {
            let entries = self.store.journal(watermark, BATCH)?;
            let Some(last) = entries.last() else { break };
            if stop() {
                break;
            }
            // An article revised twice in the batch is indexed once, at its latest revision.
            let mut ids: Vec<ArticleId> = entries.iter().map(|e| e.id).collect();
            ids.sort_unstable();
            ids.dedup();
            let mut docs = Vec::with_capacity(ids.len());
            for id in ids {
                // Articles are never deleted; one missing was never committed whole.
                if let Some(article) = self.store.article(id)? {
                    let signals = self.store.signals_of(id, &article)?;
                    docs.push(index_doc(id, &article, &signals));
                }
            }
            self.index.index(&docs)?;
            watermark = last.seq;
            *done += entries.len() as u64;
            uncommitted += entries.len() as u64;
            progress(*done);
            if uncommitted >= COMMIT_EVERY {
                self.index.commit(watermark)?;
                committed = watermark;
                uncommitted = 0;
            }
        }
        if watermark != committed {
            self.index.commit(watermark)?;
        }
        Ok(())
    }

    /// Waits for background merges and releases the writer lock.
    pub fn close(self) -> Result<(), IndexerError> {
        Ok(self.index.close()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::Query;
    use chrono::{NaiveDate, Utc};

    fn article(title: &str, body: &str) -> Article {
        let day = NaiveDate::from_ymd_opt(2025, 7, 2).unwrap_or_default();
        Article::new(title, body, day, None, "s", Utc::now())
    }

    fn titles(reader: &SearchReader, q: &str) -> Vec<String> {
        let mut t: Vec<String> = reader
            .search(&Query::new(q))
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .map(|h| h.title.text)
            .collect();
        t.sort();
        t
    }

    fn open(dir: &Path) -> Store {
        for _ in 0..50 {
            match Store::open(dir) {
                Err(StoreError::Locked { .. }) => {
                    std::thread::sleep(std::time::Duration::from_millis(20))
                }
                other => return other.unwrap_or_else(|e| panic!("{e}")),
            }
        }
        Store::open(dir).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn builds_follows_revisions_and_resumes_from_its_watermark() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = open(dir.path());
        let insert = |s: &Store, t: &str, b: &str| match s.insert(&article(t, b), &[], &[]) {
            Ok(crate::store::Inserted::New(id)) => id,
            other => panic!("{other:?}"),
        };
        let a = insert(&store, "算力中心开工", "东西湖区算力中心开工。");
        insert(&store, "光谷签约", "光谷签约三个项目。");
        let mut ix = Indexer::open(store.clone()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            ix.backlog().ok(),
            Some(Backlog::Build { left: 2, total: 2 })
        );
        let n = ix
            .catch_up(&mut |_| {}, &|| false)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(n, 2);
        assert_eq!(ix.backlog().ok(), Some(Backlog::Journal(0)));
        assert_eq!(titles(&ix.reader(), "算力"), ["算力中心开工"]);

        // A revision replaces the article's text; a new article follows through the journal.
        let revised = article("算力中心投产", "东西湖区数据中心投产。");
        store
            .revise(a, &revised, &[], &[], 10)
            .unwrap_or_else(|e| panic!("{e}"));
        insert(&store, "营商环境", "优化营商环境。");
        assert_eq!(ix.backlog().ok(), Some(Backlog::Journal(2)));
        ix.catch_up(&mut |_| {}, &|| false)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(titles(&ix.reader(), "开工"), Vec::<String>::new());
        assert_eq!(titles(&ix.reader(), "投产"), ["算力中心投产"]);
        assert_eq!(titles(&ix.reader(), "营商环境"), ["营商环境"]);
        ix.close().unwrap_or_else(|e| panic!("{e}"));

        // Stored while no indexer ran: found in the journal on the next open.
        insert(&store, "招商引资", "招商引资大会。");
        let mut ix = Indexer::open(store.clone()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ix.backlog().ok(), Some(Backlog::Journal(1)));
        ix.catch_up(&mut |_| {}, &|| false)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(titles(&ix.reader(), "招商"), ["招商引资"]);
        assert_eq!(ix.reader().len(), 4);

        // `reindex`: cleared, built again from the store.
        ix.clear().unwrap_or_else(|e| panic!("{e}"));
        assert!(ix.reader().is_empty());
        assert_eq!(
            ix.backlog().ok(),
            Some(Backlog::Build { left: 4, total: 4 })
        );
        ix.catch_up(&mut |_| {}, &|| false)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ix.reader().len(), 4);
        assert_eq!(titles(&ix.reader(), "投产"), ["算力中心投产"]);
    }

    #[test]
    fn a_build_cut_short_resumes_where_it_committed() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = open(dir.path());
        let batch: Vec<crate::store::Incoming> = (0..(COMMIT_EVERY as usize + 2 * BATCH))
            .map(|i| crate::store::Incoming {
                article: article(&format!("第{i}篇"), &format!("正文{i}。")),
                digests: Vec::new(),
                signals: crate::signals::Signals::default(),
            })
            .collect();
        store.insert_batch(&batch).unwrap_or_else(|e| panic!("{e}"));
        let mut ix = Indexer::open(store.clone()).unwrap_or_else(|e| panic!("{e}"));
        // Stop once the first commit is behind us.
        let seen = std::cell::Cell::new(0u64);
        ix.catch_up(&mut |d| seen.set(d), &|| seen.get() > COMMIT_EVERY)
            .unwrap_or_else(|e| panic!("{e}"));
        let progress = ix
            .index
            .rebuild_progress()
            .unwrap_or_else(|e| panic!("{e}"));
        let Some(r) = progress else {
            panic!("no rebuild recorded")
        };
        assert_eq!(ix.index.last_indexed().ok(), Some(None));
        assert_eq!(ix.reader().len(), COMMIT_EVERY);
        drop(ix);

        let mut ix = Indexer::open(store.clone()).unwrap_or_else(|e| panic!("{e}"));
        let left = ix
            .catch_up(&mut |_| {}, &|| false)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            left,
            2 * BATCH as u64,
            "resumed after article {}",
            r.through
        );
        assert_eq!(ix.reader().len(), batch.len() as u64);
        assert_eq!(ix.backlog().ok(), Some(Backlog::Journal(0)));
    }
}
