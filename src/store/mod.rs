//! Store: articles, their indexes, what waits for each digest and per-source state, in one sled
//! database.
//!
//! Every write that must be all-or-nothing (an article with its indexes and its digest entries)
//! is one sled transaction. Nothing outside this module touches sled, so the storage engine can
//! change behind [`Store`]'s small API. The store knows articles, not HTTP: validators and the
//! like are opaque bytes to it.

mod backup;
mod journal;
mod neardup;
mod pending;
mod serial;
mod signals;

pub use backup::BackupError;
pub use journal::Entry;
pub use pending::{Change, DeliveryState, DigestRecord, PendingItem, Refusal};
pub use signals::Incoming;

use crate::article::{Article, ContentHash, Fingerprint};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use thiserror::Error;

/// The on-disk layout version this build writes and understands. 2 added the per-source index
/// of articles by first-stored time (built on first open of a version-1 store); 3 keeps the
/// SimHashes by article instead of by band (converted on first open of an older store).
pub const FORMAT_VERSION: u32 = 3;

/// sled's page cache, at most.
const CACHE_BYTES: u64 = 256 * 1024 * 1024;

/// The `meta` key of the id counter a restored backup carried (8 bytes, big-endian).
const NEXT_ID: &str = "next_id";

/// A stored article's id: the order in which articles were first stored.
pub type ArticleId = u64;

/// Why the store could not do what was asked. Messages name the place; the cause, where there
/// is one, is the error's source.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("state dir {path} is in use by another newswatch process (only one may open it)")]
    Locked { path: PathBuf },
    #[error("cannot open state dir {path}")]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open state dir {path}")]
    Database {
        path: PathBuf,
        #[source]
        source: sled::Error,
    },
    #[error("state dir {path} exists and is not a folder")]
    NotAFolder { path: PathBuf },
    #[error(
        "state dir {path} was written by a newer newswatch (store format {found}); this build reads format {FORMAT_VERSION} and will not touch it"
    )]
    NewerFormat { path: PathBuf, found: u32 },
    #[error("state dir {path} holds {what}, not a newswatch store")]
    Foreign { path: PathBuf, what: String },
    /// A usage error, not damage: restore wants a fresh state dir.
    #[error("state dir {path} already holds articles; restore into a new state_dir")]
    NotEmpty { path: PathBuf },
    #[error("store damaged at {what}")]
    Corrupt {
        what: String,
        #[source]
        source: Damage,
    },
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A fault in a backup file (or in writing one): the place is the file's, not the store's.
    #[error("{at}")]
    Backup {
        /// `FILE:LINE`, `FILE`, or `backup` when writing one.
        at: String,
        #[source]
        source: BackupError,
    },
    #[error("store I/O error")]
    Sled(#[from] sled::Error),
    /// A flush or snapshot handed to a worker thread that did not come back (the runtime is
    /// shutting down).
    #[error("store {0} was interrupted")]
    Interrupted(&'static str),
}

/// What is wrong with a damaged entry.
#[derive(Debug, Error)]
pub enum Damage {
    #[error("not the JSON expected")]
    Json(#[from] serde_json::Error),
    #[error("{found} bytes where {expected} belong")]
    Length { found: usize, expected: usize },
    #[error("{0}")]
    Missing(&'static str),
}

fn corrupt(what: impl Into<String>, source: impl Into<Damage>) -> StoreError {
    StoreError::Corrupt {
        what: what.into(),
        source: source.into(),
    }
}

/// What [`Store::insert`] or [`Store::revise`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// Stored (and put in its digests' pending lists) under this id.
    New(ArticleId),
    /// An article with the same content hash was already stored under this id.
    Duplicate(ArticleId),
    /// Stored as a new revision of this article, and pending as updated.
    Revised { id: ArticleId, revision: u32 },
}

/// What newswatch remembers about one source between crawls.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceState {
    pub last_attempt: Option<DateTime<Utc>>,
    pub last_success: Option<DateTime<Utc>>,
    pub consecutive_failures: u32,
    pub last_error: Option<String>,
    pub articles_stored: u64,
    /// Every error ever counted for the source (failed articles and failed crawls).
    #[serde(default)]
    pub errors_total: u64,
}

/// The sled database under `state_dir`.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    articles: sled::Tree,
    by_hash: sled::Tree,
    by_url: sled::Tree,
    /// Articles waiting for each digest: digest ‖ 0 ‖ id → entry.
    pending: sled::Tree,
    sources: sled::Tree,
    /// Opaque per-URL bytes for the fetch stage (HTTP validators).
    http_cache: sled::Tree,
    /// Older revisions: id ‖ revision → article.
    revisions: sled::Tree,
    /// SimHashes: id ‖ fingerprint → nothing (see [`neardup`]).
    simhashes: sled::Tree,
    /// Digests built for sending: digest ‖ 0 ‖ record id → record.
    digests: sled::Tree,
    /// Articles with a URL by source and first-stored time: source ‖ 0 ‖ time ‖ id → ().
    recent: sled::Tree,
    /// Every stored revision in the order stored: seq → id ‖ revision (see [`journal`]).
    journal: sled::Tree,
    /// Where each journal consumer stands: name → seq.
    cursors: sled::Tree,
    /// Investment signals of each revision: id ‖ revision → JSON (see `signals.rs`).
    signals: sled::Tree,
    /// Computes the signals of what is stored.
    extractor: Arc<crate::signals::Extractor>,
    dir: PathBuf,
    /// What every clone of this store shares: the id counter, and the one-at-a-time flush and
    /// status snapshot.
    shared: Arc<Shared>,
}

/// State shared by the clones of one open [`Store`].
struct Shared {
    /// The next id for an article or a digest record. Never below the highest id stored (see
    /// [`Store::id_floor`]), so no id is handed out twice, whatever path the data came by.
    next_id: AtomicU64,
    flush: serial::Serial,
    snapshot: serial::Serial,
    /// Async callers queue here so at most one of them holds a blocking thread at a time.
    flush_turn: tokio::sync::Mutex<()>,
    /// The next journal sequence number, held while a write that takes numbers commits, so
    /// numbers become visible in order (see [`journal`]).
    journal_next: std::sync::Mutex<u64>,
    fingerprints: neardup::Fingerprints,
}

/// The file `status` reads while a daemon holds the store.
pub const STATUS_SNAPSHOT: &str = "status.json";

/// Source states as last written by the process holding the store.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StatusSnapshot {
    pub written_at: Option<DateTime<Utc>>,
    pub sources: std::collections::BTreeMap<String, SourceState>,
}

/// Reads the snapshot in `dir`, if any.
pub fn read_status_snapshot(dir: &Path) -> Result<Option<StatusSnapshot>, StoreError> {
    let path = dir.join(STATUS_SNAPSHOT);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| corrupt(path.display().to_string(), e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(StoreError::Open { path, source }),
    }
}

/// What newswatch keeps in a state dir besides the database (`db`).
const OWN_ENTRIES: &[&str] = &[
    "db",
    "outbox",
    ".gitkeep",
    "newswatch.lock",
    STATUS_SNAPSHOT,
    "status.json.tmp",
    backup::STAGING,
    // What each sink did, for `status` (written by the sink stage, which comes after this one).
    "sinks.json",
    "sinks.json.tmp",
    // The full-text index (`crate::search`), kept in step with the store.
    "search",
];

/// Whether `name` is something sled 0.34 keeps in its folder.
fn is_sled_file(name: &str) -> bool {
    matches!(name, "conf" | "db" | "blobs") || name.starts_with("snap.")
}

/// Checks, without creating or locking anything, that `dir` can be a state dir: absent (it is
/// created on first use), or a folder holding a newswatch store or nothing else. Refuses a
/// regular file, a folder of other files (the user's home, `/`), and a `db` folder that holds
/// anything but sled's files (the user's own `db/`), so the store is never written among
/// someone else's files.
pub fn check_dir(dir: &Path) -> Result<(), StoreError> {
    let open_err = |source: std::io::Error| StoreError::Open {
        path: dir.to_owned(),
        source,
    };
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(open_err(e)),
        Ok(m) if !m.is_dir() => {
            return Err(StoreError::NotAFolder {
                path: dir.to_owned(),
            });
        }
        Ok(_) => {}
    }
    let names = |d: &Path| -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(d).map_err(open_err)? {
            let entry = entry.map_err(open_err)?;
            out.push(entry.file_name().to_string_lossy().into_owned());
        }
        out.sort();
        Ok(out)
    };
    let shown = |names: &[String]| {
        let mut s = names.iter().take(3).cloned().collect::<Vec<_>>().join(", ");
        if names.len() > 3 {
            s.push_str(", …");
        }
        s
    };
    let foreign = |what: String| StoreError::Foreign {
        path: dir.to_owned(),
        what,
    };
    let db = dir.join("db");
    let others: Vec<String> = names(dir)?
        .into_iter()
        .filter(|n| !OWN_ENTRIES.contains(&n.as_str()))
        .collect();
    let inside = match std::fs::symlink_metadata(&db) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(open_err(e)),
        Ok(m) if !m.is_dir() => return Err(foreign("a `db` that is not a folder".into())),
        Ok(_) => names(&db)?,
    };
    if inside.is_empty() {
        // No store yet: the folder must hold nothing of anyone else's.
        return if others.is_empty() {
            Ok(())
        } else {
            Err(foreign(format!("other files ({})", shown(&others))))
        };
    }
    let strange: Vec<String> = inside
        .iter()
        .filter(|n| !is_sled_file(n))
        .cloned()
        .collect();
    if !strange.is_empty() {
        return Err(foreign(format!(
            "a `db` folder with other files ({})",
            shown(&strange)
        )));
    }
    if !inside.iter().any(|n| n == "conf") {
        return Err(foreign("a `db` folder without sled's `conf`".into()));
    }
    Ok(())
}

fn key(id: ArticleId) -> [u8; 8] {
    id.to_be_bytes()
}

fn id_of(bytes: &[u8]) -> Result<ArticleId, StoreError> {
    let arr: [u8; 8] = bytes.try_into().map_err(|_| {
        corrupt(
            "an index entry",
            Damage::Length {
                found: bytes.len(),
                expected: 8,
            },
        )
    })?;
    Ok(u64::from_be_bytes(arr))
}

/// `source ‖ 0`, the prefix of a source's entries in the recent index.
fn recent_prefix(source: &str) -> Vec<u8> {
    let mut k = source.as_bytes().to_vec();
    k.push(0);
    k
}

/// Microseconds since the epoch with the sign bit flipped, so byte order is time order.
fn time_bytes(t: DateTime<Utc>) -> [u8; 8] {
    ((t.timestamp_micros() as u64) ^ (1 << 63)).to_be_bytes()
}

/// An article ready to store ([`Store::prepare`]): everything the transaction writes, already
/// serialised, so the transaction holds the journal lock no longer than it must.
pub struct Prepared {
    id: ArticleId,
    revision: u32,
    json: Vec<u8>,
    hash: [u8; 32],
    urls: Vec<Vec<u8>>,
    fingerprint: Option<Fingerprint>,
    recent: Option<Vec<u8>>,
    entry: Vec<u8>,
    digests: Vec<String>,
    signals: Vec<u8>,
}

fn recent_key(article: &Article, id: ArticleId) -> Option<Vec<u8>> {
    article.url.as_ref()?;
    let mut k = recent_prefix(&article.source);
    k.extend_from_slice(&time_bytes(article.fetched_at));
    k.extend_from_slice(&key(id));
    Some(k)
}

impl Store {
    /// Opens (creating if needed) the store in `dir`, refusing a store in use, from a newer
    /// version, or a folder that holds something else.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let open_err = |source: std::io::Error| StoreError::Open {
            path: dir.to_owned(),
            source,
        };
        check_dir(dir)?;
        std::fs::create_dir_all(dir).map_err(open_err)?;
        let db_path = dir.join("db");
        let db = sled::Config::new()
            .path(&db_path)
            // sled's default cache (1 GiB) lets a long-running daemon with a big store grow
            // far past what a small machine expects; this bounds it.
            .cache_capacity(CACHE_BYTES)
            .open()
            .map_err(|e| match e {
                sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
                    StoreError::Locked {
                        path: dir.to_owned(),
                    }
                }
                source => StoreError::Database {
                    path: dir.to_owned(),
                    source,
                },
            })?;
        let meta = db.open_tree("meta")?;
        let fresh = match meta.get("format_version")? {
            Some(_) => false,
            None => {
                let has_data = db.tree_names().iter().any(|n| {
                    n.as_ref() != b"meta" && db.open_tree(n).map(|t| !t.is_empty()).unwrap_or(true)
                });
                if has_data || !db.is_empty() {
                    return Err(StoreError::Foreign {
                        path: dir.to_owned(),
                        what: "a database without newswatch's format version".into(),
                    });
                }
                meta.insert("format_version", &FORMAT_VERSION.to_be_bytes())?;
                db.flush()?;
                true
            }
        };
        let store = Store {
            articles: db.open_tree("articles")?,
            by_hash: db.open_tree("by_hash")?,
            by_url: db.open_tree("by_url")?,
            pending: db.open_tree("pending")?,
            sources: db.open_tree("sources")?,
            http_cache: db.open_tree("http_cache")?,
            revisions: db.open_tree("revisions")?,
            simhashes: db.open_tree("simhashes")?,
            digests: db.open_tree("digests")?,
            recent: db.open_tree("recent")?,
            journal: db.open_tree("journal")?,
            cursors: db.open_tree("cursors")?,
            signals: db.open_tree("signals")?,
            extractor: crate::signals::Extractor::standard_shared(),
            dir: dir.to_owned(),
            db,
            shared: Arc::new(Shared {
                next_id: AtomicU64::new(0),
                flush: serial::Serial::default(),
                snapshot: serial::Serial::default(),
                flush_turn: tokio::sync::Mutex::new(()),
                journal_next: std::sync::Mutex::new(1),
                fingerprints: neardup::Fingerprints::default(),
            }),
        };
        if !fresh {
            store.upgrade()?;
        }
        store
            .shared
            .next_id
            .store(store.id_floor()?, Ordering::SeqCst);
        *store.journal_lock() = store.journal_end()?.saturating_add(1);
        Ok(store)
    }

    /// The lowest id that is safe to hand out: past every article and digest record stored,
    /// past the counter a restored backup carried (`meta/next_id`), and past sled's own counter
    /// (which earlier versions used). A backup restored into a fresh store, a store written in
    /// several runs: ids are never reused, so a new article can never overwrite a stored one.
    fn id_floor(&self) -> Result<u64, StoreError> {
        let mut floor = 0;
        if let Some((k, _)) = self.articles.last()? {
            floor = floor.max(id_of(&k)?.saturating_add(1));
        }
        for kv in self.digests.iter() {
            let (k, _) = kv?;
            let id = id_of(&k[k.len().saturating_sub(8)..])?;
            floor = floor.max(id.saturating_add(1));
        }
        if let Some(v) = self.db.open_tree("meta")?.get(NEXT_ID)? {
            floor = floor.max(id_of(&v)?);
        }
        Ok(floor)
    }

    /// A fresh id for an article or a digest record.
    fn new_id(&self) -> ArticleId {
        self.shared.next_id.fetch_add(1, Ordering::SeqCst)
    }

    /// The journal's next sequence number, locked for a write that takes numbers.
    fn journal_lock(&self) -> std::sync::MutexGuard<'_, u64> {
        // A panic while holding it cannot leave the number wrong: it is only advanced once the
        // transaction has returned.
        self.shared
            .journal_next
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The next id this store would hand out (carried in backups).
    pub(crate) fn next_id(&self) -> u64 {
        self.shared.next_id.load(Ordering::SeqCst)
    }

    /// The store format recorded in `meta`.
    fn format_version(&self) -> Result<u32, StoreError> {
        let meta = self.db.open_tree("meta")?;
        let Some(v) = meta.get("format_version")? else {
            return Ok(FORMAT_VERSION);
        };
        v.as_ref()
            .try_into()
            .map(u32::from_be_bytes)
            .map_err(|_| StoreError::Foreign {
                path: self.dir.clone(),
                what: format!("a format version of {} bytes", v.len()),
            })
    }

    /// Brings an older store up to [`FORMAT_VERSION`]; refuses a newer one.
    fn upgrade(&self) -> Result<(), StoreError> {
        let found = self.format_version()?;
        if found > FORMAT_VERSION {
            return Err(StoreError::NewerFormat {
                path: self.dir.clone(),
                found,
            });
        }
        if found < 2 {
            // Version 1 had no recent index: build it once from the articles. Safe to repeat
            // after a crash, since every entry is written with the same key.
            for item in self.articles() {
                let (id, article) = item?;
                if let Some(k) = recent_key(&article, id) {
                    self.recent.insert(k, &[])?;
                }
            }
        }
        if found < 3 {
            // Versions 1 and 2 kept four keys per fingerprint, band ‖ 16 bits ‖ id → fingerprint;
            // band 0's keys name every one. Safe to repeat after a crash: the same keys are
            // written again, and the old tree goes only once they all are.
            let old = self.db.open_tree("fingerprints")?;
            let mut batch = sled::Batch::default();
            for kv in old.scan_prefix([0u8]) {
                let (k, v) = kv?;
                let bits: [u8; 8] = v.as_ref().try_into().map_err(|_| {
                    corrupt(
                        "a fingerprint",
                        Damage::Length {
                            found: v.len(),
                            expected: 8,
                        },
                    )
                })?;
                let id = id_of(k.get(3..).unwrap_or_default())?;
                batch.insert(
                    &neardup::key(id, Fingerprint(u64::from_be_bytes(bits))),
                    &[],
                );
            }
            self.simhashes.apply_batch(batch)?;
            self.simhashes.flush()?;
            drop(old);
            self.db.drop_tree("fingerprints")?;
        }
        if found < FORMAT_VERSION {
            self.db
                .open_tree("meta")?
                .insert("format_version", &FORMAT_VERSION.to_be_bytes())?;
            self.flush_blocking()?;
        }
        Ok(())
    }

    /// Stores `article` unless its content hash is already stored, and puts it as new in the
    /// pending list of each of `digests` — all in one transaction. Its URL and `aliases` (the
    /// listed link, the address before redirects) are indexed either way, so none of them is
    /// fetched again.
    pub fn insert(
        &self,
        article: &Article,
        digests: &[String],
        aliases: &[&str],
    ) -> Result<Inserted, StoreError> {
        self.insert_fingerprinted(article, Fingerprint::of(&article.body), digests, aliases)
    }

    /// [`Store::insert`] for a caller that already computed `Fingerprint::of(&article.body)`
    /// (a crawl does, to look for near-duplicates first), so it is not computed twice.
    pub fn insert_fingerprinted(
        &self,
        article: &Article,
        fingerprint: Option<Fingerprint>,
        digests: &[String],
        aliases: &[&str],
    ) -> Result<Inserted, StoreError> {
        let signals = self.extractor.extract(&article.title, &article.body);
        let staged = self.stage(article, fingerprint, digests.to_vec(), aliases, &signals)?;
        let mut out = self.insert_prepared(std::slice::from_ref(&staged))?;
        out.pop()
            .ok_or_else(|| corrupt("an insert", Damage::Missing("no outcome returned")))
    }

    /// [`Store::insert`] for many articles at once (an archive import), each pending for its own
    /// digests and with its signals found by the caller, in one transaction: cheaper per article
    /// than one transaction each. Each article is deduplicated against the store and the
    /// articles before it, exactly as one by one.
    pub fn insert_batch(&self, batch: &[Incoming]) -> Result<Vec<Inserted>, StoreError> {
        let prepared = batch
            .iter()
            .map(|i| self.prepare(i))
            .collect::<Result<Vec<_>, _>>()?;
        self.insert_prepared(&prepared)
    }

    /// `incoming` made ready for [`Store::insert_prepared`]: serialised, fingerprinted, its id
    /// taken. An import prepares on its reading thread, so the writing one only writes.
    pub fn prepare(&self, incoming: &Incoming) -> Result<Prepared, StoreError> {
        let article = &incoming.article;
        self.stage(
            article,
            Fingerprint::of(&article.body),
            incoming.digests.clone(),
            &[],
            &incoming.signals,
        )
    }

    fn stage(
        &self,
        article: &Article,
        fingerprint: Option<Fingerprint>,
        digests: Vec<String>,
        aliases: &[&str],
        signals: &crate::signals::Signals,
    ) -> Result<Prepared, StoreError> {
        let id = self.new_id();
        Ok(Prepared {
            id,
            revision: article.revision,
            json: to_json(article)?,
            hash: *article.hash.as_bytes(),
            urls: url_keys(article, aliases),
            fingerprint,
            recent: recent_key(article, id),
            entry: to_json(&pending::PendingEntry {
                change: Change::New,
                revision: article.revision,
            })?,
            digests,
            signals: to_json(signals)?,
        })
    }

    /// Stores each prepared article whose content hash is not stored yet (by an earlier
    /// article of the batch too), with its pending entries, fingerprint, journal entry and
    /// signals, all in one transaction; a duplicate's URLs are indexed under the article
    /// already stored.
    pub fn insert_prepared(&self, prepared: &[Prepared]) -> Result<Vec<Inserted>, StoreError> {
        let mut next_seq = self.journal_lock();
        let first_seq = *next_seq;
        let result = (
            &self.articles,
            &self.by_hash,
            &self.by_url,
            &self.pending,
            &self.simhashes,
            &self.recent,
            &self.journal,
            &self.signals,
        )
            .transaction(
                |(
                    articles,
                    by_hash,
                    by_url,
                    pending,
                    simhashes,
                    recent_tree,
                    journal,
                    signals_tree,
                )| {
                    let mut out = Vec::with_capacity(prepared.len());
                    let mut seq = first_seq;
                    for p in prepared {
                        if let Some(existing) = by_hash.get(p.hash)? {
                            for url in &p.urls {
                                if by_url.get(url)?.is_none() {
                                    by_url.insert(url.as_slice(), existing.clone())?;
                                }
                            }
                            out.push(Inserted::Duplicate(
                                id_of(&existing).map_err(ConflictableTransactionError::Abort)?,
                            ));
                            continue;
                        }
                        articles.insert(&key(p.id), p.json.as_slice())?;
                        by_hash.insert(&p.hash, &key(p.id))?;
                        for url in &p.urls {
                            by_url.insert(url.as_slice(), &key(p.id))?;
                        }
                        for d in &p.digests {
                            pending.insert(pending::entry_key(d, p.id), p.entry.as_slice())?;
                        }
                        if let Some(fp) = p.fingerprint {
                            simhashes.insert(&neardup::key(p.id, fp), &[])?;
                        }
                        if let Some(k) = &p.recent {
                            recent_tree.insert(k.as_slice(), &[])?;
                        }
                        journal
                            .insert(&seq.to_be_bytes(), &journal::entry_value(p.id, p.revision))?;
                        seq += 1;
                        signals_tree
                            .insert(&revision_key(p.id, p.revision), p.signals.as_slice())?;
                        out.push(Inserted::New(p.id));
                    }
                    Ok(out)
                },
            );
        if let Ok(out) = &result {
            *next_seq += out.iter().filter(|i| matches!(i, Inserted::New(_))).count() as u64;
            self.shared.fingerprints.add(
                prepared
                    .iter()
                    .zip(out)
                    .filter(|(_, i)| matches!(i, Inserted::New(_)))
                    .filter_map(|(p, _)| Some((p.id, p.fingerprint?))),
            );
        }
        drop(next_seq);
        abort_or_storage(result)
    }

    /// Stores `article` as the next revision of article `id` and puts it as updated in the
    /// pending list of each of `digests`, keeping at most `max_revisions` versions. The previous
    /// text moves to the revision history; the digest shows what changed since the version its
    /// readers last saw.
    pub fn revise(
        &self,
        id: ArticleId,
        article: &Article,
        digests: &[String],
        aliases: &[&str],
        max_revisions: u32,
    ) -> Result<Inserted, StoreError> {
        let hash = article.hash.as_bytes();
        let urls = url_keys(article, aliases);
        let fingerprint = Fingerprint::of(&article.body);
        let mut next_seq = self.journal_lock();
        let seq = *next_seq;
        let signals = to_json(&self.extractor.extract(&article.title, &article.body))?;
        let result = (
            &self.articles,
            &self.revisions,
            &self.by_hash,
            &self.by_url,
            &self.pending,
            &self.simhashes,
            &self.journal,
            &self.signals,
        )
            .transaction(
                |(
                    articles,
                    revisions,
                    by_hash,
                    by_url,
                    pending,
                    simhashes,
                    journal,
                    signals_tree,
                )| {
                    let abort = ConflictableTransactionError::Abort;
                    let Some(current) = articles.get(key(id))? else {
                        return Err(abort(corrupt(
                            format!("article {id}"),
                            Damage::Missing("revised but not stored"),
                        )));
                    };
                    let current = decode(id, &current).map_err(abort)?;
                    if current.hash == article.hash {
                        return Ok(Inserted::Duplicate(id));
                    }
                    if let Some(other) = by_hash.get(hash)?
                        && id_of(&other).map_err(abort)? != id
                    {
                        return Ok(Inserted::Duplicate(id_of(&other).map_err(abort)?));
                    }
                    let revision = current.revision + 1;
                    let mut latest = article.clone();
                    latest.revision = revision;
                    // The first-stored time and source are the article's identity in the recent
                    // index; a revision keeps them.
                    latest.fetched_at = current.fetched_at;
                    latest.source = current.source.clone();
                    latest.revised_at = Some(chrono::Utc::now());
                    revisions.insert(
                        revision_key(id, current.revision).as_slice(),
                        to_json(&current).map_err(abort)?,
                    )?;
                    if revision > max_revisions {
                        let gone = revision_key(id, revision - max_revisions);
                        revisions.remove(gone.as_slice())?;
                        signals_tree.remove(gone.as_slice())?;
                    }
                    signals_tree.insert(&revision_key(id, revision), signals.as_slice())?;
                    articles.insert(&key(id), to_json(&latest).map_err(abort)?)?;
                    by_hash.insert(hash, &key(id))?;
                    for url in &urls {
                        by_url.insert(url.as_slice(), &key(id))?;
                    }
                    if let Some(fp) = fingerprint {
                        simhashes.insert(&neardup::key(id, fp), &[])?;
                    }
                    for d in digests {
                        let k = pending::entry_key(d, id);
                        let change = match pending.get(&k)? {
                            // Still unread: stays new (or keeps the version readers last saw).
                            Some(v) => pending::decode_entry(&v).map_err(abort)?.change,
                            None => Change::Updated {
                                from: current.revision,
                            },
                        };
                        let entry = pending::PendingEntry { change, revision };
                        pending.insert(k, to_json(&entry).map_err(abort)?)?;
                    }
                    journal.insert(&seq.to_be_bytes(), &journal::entry_value(id, revision))?;
                    Ok(Inserted::Revised { id, revision })
                },
            );
        if let Ok(Inserted::Revised { .. }) = result {
            self.shared.fingerprints.add(fingerprint.map(|fp| (id, fp)));
            *next_seq += 1;
        }
        drop(next_seq);
        abort_or_storage(result)
    }

    /// Makes `urls` lead to article `id` (a repost elsewhere), so they are not fetched again.
    pub fn add_aliases(&self, id: ArticleId, urls: &[&str]) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for url in urls {
            batch.insert(url.as_bytes(), &key(id));
        }
        self.by_url.apply_batch(batch)?;
        Ok(())
    }

    /// The stored article closest to `fp` within `max_bits` (any of its revisions' fingerprints),
    /// if any; the earliest stored among equally close ones.
    pub fn near_duplicate(
        &self,
        fp: Fingerprint,
        max_bits: u32,
    ) -> Result<Option<(ArticleId, u32)>, StoreError> {
        self.shared
            .fingerprints
            .nearest(&self.simhashes, fp, max_bits)
    }

    /// The article `url` leads to.
    pub fn url_article(&self, url: &str) -> Result<Option<ArticleId>, StoreError> {
        self.by_url.get(url)?.map(|v| id_of(&v)).transpose()
    }

    /// Articles of `source` with a URL first stored at or after `since`, newest first. Read
    /// from the recent index, so the cost follows the source's recent articles, not the store's.
    pub fn recent(
        &self,
        source: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<(ArticleId, Article)>, StoreError> {
        let prefix = recent_prefix(source);
        let mut from = prefix.clone();
        from.extend_from_slice(&time_bytes(since));
        let mut to = prefix;
        // One past the last possible time ‖ id under this source.
        to.extend_from_slice(&[0xff; 17]);
        let mut out = Vec::new();
        for kv in self.recent.range(from..to).rev() {
            let (k, _) = kv?;
            let id = id_of(&k[k.len().saturating_sub(8)..])?;
            let Some(article) = self.article(id)? else {
                return Err(corrupt(
                    format!("recent index entry {id}"),
                    Damage::Missing("its article is missing"),
                ));
            };
            out.push((id, article));
        }
        Ok(out)
    }

    /// Every stored revision of article `id`, oldest first, the latest last.
    pub fn revisions(&self, id: ArticleId) -> Result<Vec<Article>, StoreError> {
        let mut out = Vec::new();
        for kv in self.revisions.scan_prefix(key(id)) {
            let (_, v) = kv?;
            out.push(decode(id, &v)?);
        }
        if let Some(latest) = self.article(id)? {
            out.push(latest);
        }
        Ok(out)
    }

    /// Revision `revision` of article `id`, wherever it is kept.
    pub fn revision(&self, id: ArticleId, revision: u32) -> Result<Option<Article>, StoreError> {
        match self.article(id)? {
            Some(a) if a.revision == revision => Ok(Some(a)),
            _ => self
                .revisions
                .get(revision_key(id, revision))?
                .map(|v| decode(id, &v))
                .transpose(),
        }
    }

    /// Whether an article was already read from `url`.
    pub fn has_url(&self, url: &str) -> Result<bool, StoreError> {
        Ok(self.by_url.contains_key(url)?)
    }

    /// The article stored under `id`.
    pub fn article(&self, id: ArticleId) -> Result<Option<Article>, StoreError> {
        self.articles
            .get(key(id))?
            .map(|v| decode(id, &v))
            .transpose()
    }

    /// The id of the article with this content hash.
    pub fn find_hash(&self, hash: &ContentHash) -> Result<Option<ArticleId>, StoreError> {
        self.by_hash
            .get(hash.as_bytes())?
            .map(|v| id_of(&v))
            .transpose()
    }

    /// Every stored article in the order first stored.
    pub fn articles(&self) -> impl Iterator<Item = Result<(ArticleId, Article), StoreError>> + '_ {
        self.articles.iter().map(|kv| {
            let (k, v) = kv?;
            let id = id_of(&k)?;
            Ok((id, decode(id, &v)?))
        })
    }

    /// Stored articles from id `from` on, in the order first stored (a rebuild resuming where
    /// it stopped).
    pub fn articles_from(
        &self,
        from: ArticleId,
    ) -> impl Iterator<Item = Result<(ArticleId, Article), StoreError>> + '_ {
        self.articles.range(key(from)..).map(|kv| {
            let (k, v) = kv?;
            let id = id_of(&k)?;
            Ok((id, decode(id, &v)?))
        })
    }

    /// Up to `limit` articles stored before id `before` (all when `None`), newest first: one
    /// page of the latest articles, the next page starting below its last id.
    pub fn latest(
        &self,
        before: Option<ArticleId>,
        limit: usize,
    ) -> Result<Vec<(ArticleId, Article)>, StoreError> {
        let range = match before {
            Some(b) => self.articles.range(..key(b)),
            None => self.articles.range::<&[u8], _>(..),
        };
        range
            .rev()
            .take(limit)
            .map(|kv| {
                let (k, v) = kv?;
                let id = id_of(&k)?;
                Ok((id, decode(id, &v)?))
            })
            .collect()
    }

    /// How many articles are stored.
    pub fn len(&self) -> usize {
        self.articles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.articles.is_empty()
    }

    /// The remembered state of source `name`.
    pub fn source_state(&self, name: &str) -> Result<SourceState, StoreError> {
        match self.sources.get(name)? {
            None => Ok(SourceState::default()),
            Some(v) => serde_json::from_slice(&v)
                .map_err(|e| corrupt(format!("state of source {name:?}"), e)),
        }
    }

    pub fn set_source_state(&self, name: &str, state: &SourceState) -> Result<(), StoreError> {
        let json = serde_json::to_vec(state)
            .map_err(|e| corrupt(format!("state of source {name:?}"), e))?;
        self.sources.insert(name, json)?;
        Ok(())
    }

    /// Every source with remembered state, by name.
    pub fn source_states(&self) -> Result<Vec<(String, SourceState)>, StoreError> {
        self.sources
            .iter()
            .map(|kv| {
                let (k, _) = kv?;
                let name = String::from_utf8_lossy(&k).into_owned();
                let state = self.source_state(&name)?;
                Ok((name, state))
            })
            .collect()
    }

    /// Writes every source's state to `status.json` beside the database (write, then rename),
    /// so `newswatch status` can report while a daemon holds the store. One writer at a time
    /// (they share the temporary file), and a caller whose request a later write already covered
    /// returns at once: a hundred crawls ending together write it a few times, not a hundred.
    pub fn write_status_snapshot(&self) -> Result<(), StoreError> {
        let ticket = self.shared.snapshot.ticket();
        self.shared
            .snapshot
            .run(ticket, || self.write_status_snapshot_now())
    }

    fn write_status_snapshot_now(&self) -> Result<(), StoreError> {
        let snapshot = StatusSnapshot {
            written_at: Some(Utc::now()),
            sources: self.source_states()?.into_iter().collect(),
        };
        let path = self.dir.join(STATUS_SNAPSHOT);
        let tmp = self.dir.join("status.json.tmp");
        let json =
            serde_json::to_vec_pretty(&snapshot).map_err(|e| corrupt("the status snapshot", e))?;
        std::fs::write(&tmp, json).map_err(|source| StoreError::Write {
            path: tmp.clone(),
            source,
        })?;
        std::fs::rename(&tmp, &path).map_err(|source| StoreError::Write { path, source })
    }

    /// The bytes the fetch stage last left for `url` (its HTTP validators).
    pub fn validators(&self, url: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.http_cache.get(url)?.map(|v| v.to_vec()))
    }

    /// Remembers `bytes` for `url`, or forgets them when empty.
    pub fn set_validators(&self, url: &str, bytes: &[u8]) -> Result<(), StoreError> {
        if bytes.is_empty() {
            self.http_cache.remove(url)?;
        } else {
            self.http_cache.insert(url, bytes)?;
        }
        Ok(())
    }

    /// Waits until everything written so far is on disk.
    ///
    /// sled 0.34's `flush_async` deadlocks when called concurrently (spacejam/sled#1308, fixed
    /// upstream but never released): a daemon whose crawls ended together stopped for good. So
    /// every flush is sled's blocking one, on tokio's blocking pool, one at a time, and callers
    /// whose writes an already started flush does not cover share the next one.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let ticket = self.shared.flush.ticket();
        let _turn = self.shared.flush_turn.lock().await;
        if self.shared.flush.covers(ticket) {
            return Ok(());
        }
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.flush_for(ticket))
            .await
            .map_err(|_| StoreError::Interrupted("flush"))?
    }

    /// [`Store::flush`] and the status snapshot, on the blocking pool: what a finished crawl
    /// needs before its outcome is reported.
    pub async fn commit(&self) -> Result<(), StoreError> {
        self.flush().await?;
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.write_status_snapshot())
            .await
            .map_err(|_| StoreError::Interrupted("status snapshot"))?
    }

    /// Blocking flush, for the synchronous command-line paths; shares the one-at-a-time rule
    /// with [`Store::flush`].
    pub fn flush_blocking(&self) -> Result<(), StoreError> {
        let ticket = self.shared.flush.ticket();
        self.flush_for(ticket)
    }

    fn flush_for(&self, ticket: u64) -> Result<(), StoreError> {
        self.shared.flush.run(ticket, || {
            self.db.flush()?;
            Ok(())
        })
    }

    /// The state dir this store lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

fn revision_key(id: ArticleId, revision: u32) -> [u8; 12] {
    let mut k = [0u8; 12];
    k[..8].copy_from_slice(&id.to_be_bytes());
    k[8..].copy_from_slice(&revision.to_be_bytes());
    k
}

fn url_keys(article: &Article, aliases: &[&str]) -> Vec<Vec<u8>> {
    article
        .url
        .as_deref()
        .into_iter()
        .chain(aliases.iter().copied())
        .map(|u| u.as_bytes().to_vec())
        .collect()
}

fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| corrupt("a value being written", e))
}

fn abort_or_storage<T>(result: Result<T, TransactionError<StoreError>>) -> Result<T, StoreError> {
    result.map_err(|e| match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => StoreError::Sled(e),
    })
}

fn decode(id: ArticleId, bytes: &[u8]) -> Result<Article, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| corrupt(format!("article {id}"), e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn article(title: &str, url: Option<&str>) -> Article {
        let day = NaiveDate::from_ymd_opt(2025, 7, 2).unwrap_or_default();
        Article::new(
            title,
            "正文。",
            day,
            url.map(str::to_owned),
            "s",
            Utc::now(),
        )
    }

    /// Opens the store in `dir`. After a `drop`, sled's flusher thread can hold the lock a few
    /// milliseconds longer on a busy machine, so a reopen waits for it (up to a second).
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

    /// [`Store::restore`] of `file` into `dir`, waiting out sled's lock as [`open`] does.
    fn restore(dir: &Path, file: &[u8]) -> Result<u64, StoreError> {
        for _ in 0..50 {
            match Store::restore(dir, file, "backup.jsonl") {
                Err(StoreError::Locked { .. }) => {
                    std::thread::sleep(std::time::Duration::from_millis(20))
                }
                other => return other,
            }
        }
        Store::restore(dir, file, "backup.jsonl")
    }

    fn digests(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[tokio::test]
    async fn dedups_by_hash_indexes_urls_and_queues_atomically() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = open(tmp.path());
        let q = digests(&["morning", "wecom"]);
        let a = store.insert(
            &article("甲", Some("http://h/1")),
            &q,
            &["http://h/list-link"],
        );
        let Ok(Inserted::New(id)) = a else {
            panic!("{a:?}")
        };
        let again = store.insert(&article("甲", Some("http://h/2")), &q, &[]);
        assert_eq!(again.ok(), Some(Inserted::Duplicate(id)));
        assert!(
            store.has_url("http://h/2").unwrap_or(false),
            "duplicate's URL indexed"
        );
        assert!(
            store.has_url("http://h/list-link").unwrap_or(false),
            "alias indexed"
        );
        assert!(matches!(
            store.insert(&article("乙", None), &q[..1], &[]),
            Ok(Inserted::New(_))
        ));
        assert_eq!(store.pending_len("morning"), 2);
        assert_eq!(
            store.pending_len("wecom"),
            1,
            "each digest holds only what was routed to it"
        );
        assert_eq!(store.len(), 2);
    }

    #[test]
    fn batch_insert_dedups_within_the_batch_and_against_the_store() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = open(tmp.path());
        let q = digests(&["d"]);
        let Ok(Inserted::New(first)) = store.insert(&article("甲", None), &q, &[]) else {
            panic!("insert")
        };
        let incoming = |a: Article, digests: Vec<String>| {
            let mut signals = crate::signals::Signals::default();
            signals.regions.push(a.title.clone());
            Incoming {
                article: a,
                digests,
                signals,
            }
        };
        let batch = vec![
            incoming(article("乙", None), q.clone()),
            incoming(article("甲", None), q.clone()),
            incoming(article("乙", None), q.clone()),
            incoming(article("丙", None), Vec::new()),
        ];
        let got = store.insert_batch(&batch).unwrap_or_else(|e| panic!("{e}"));
        let Inserted::New(second) = got[0] else {
            panic!("{got:?}")
        };
        assert_eq!(got[1], Inserted::Duplicate(first));
        assert_eq!(
            got[2],
            Inserted::Duplicate(second),
            "seen earlier in the batch"
        );
        assert!(matches!(got[3], Inserted::New(_)));
        assert_eq!(store.len(), 3);
        assert_eq!(store.pending_len("d"), 2, "queued as each article asked");
        // The signals the caller found are the ones kept, under each new article's revision.
        let kept = store.signals(second, 1).ok().flatten().unwrap_or_default();
        assert_eq!(kept.regions, ["乙"]);
        assert_eq!(
            store
                .signals(first, 1)
                .ok()
                .flatten()
                .map(|s| s.regions.len()),
            Some(0)
        );
    }

    #[tokio::test]
    async fn revisions_keep_history_and_queue_updates() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = open(tmp.path());
        let q = digests(&["d"]);
        let Ok(Inserted::New(id)) = store.insert(&article("甲", Some("http://h/1")), &q, &[])
        else {
            panic!("insert")
        };
        // Delivered: nothing pending again.
        let record = DigestRecord {
            id: 1,
            digest: "d".into(),
            message_id: "<m@x>".into(),
            created_at: Utc::now(),
            items: vec![(id, 1)],
            subject: String::new(),
            text: String::new(),
            html: String::new(),
            attempts: 0,
            last_error: None,
            sent_at: None,
            delivery: Default::default(),
        };
        assert!(store.complete_digest(&record).await.is_ok());
        assert_eq!(store.pending_len("d"), 0);
        let mut edited = article("甲", Some("http://h/1"));
        edited.body = "正文。更正。".into();
        edited.hash = ContentHash::of(&edited.title, &edited.body);
        for n in 2..=4 {
            edited.body.push('又');
            edited.hash = ContentHash::of(&edited.title, &edited.body);
            let r = store.revise(id, &edited, &q, &[], 3);
            assert_eq!(r.ok(), Some(Inserted::Revised { id, revision: n }));
        }
        let history = store.revisions(id).unwrap_or_default();
        assert_eq!(
            history.iter().map(|a| a.revision).collect::<Vec<_>>(),
            vec![2, 3, 4],
            "at most 3 kept"
        );
        let pending = store.pending("d").unwrap_or_default();
        assert_eq!(pending.len(), 1);
        assert_eq!(
            pending[0].change,
            Change::Updated { from: 1 },
            "compared with what readers saw"
        );
        assert_eq!(pending[0].article.revision, 4);
        assert_eq!(
            store.revise(id, &edited, &q, &[], 3).ok(),
            Some(Inserted::Duplicate(id))
        );
    }

    #[test]
    fn near_duplicates_are_found_by_fingerprint() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = open(tmp.path());
        let body = "东湖高新区举行招商引资集中签约活动，共签约项目十个，总投资超过一百亿元，涵盖光电子信息、生物医药、高端装备等领域。".repeat(3);
        let mut a = article("甲", Some("http://h/1"));
        a.body = body.clone();
        a.hash = ContentHash::of(&a.title, &a.body);
        let Ok(Inserted::New(id)) = store.insert(&a, &[], &[]) else {
            panic!("insert")
        };
        let near = Fingerprint::of(&body.replacen("十个", "十一个", 1));
        let found = near.map(|fp| store.near_duplicate(fp, 6));
        assert!(
            matches!(found, Some(Ok(Some((got, _)))) if got == id),
            "{found:?}"
        );
        let far = Fingerprint::of(
            &"硚口区纪检监察机关聚焦营商环境建设，针对企业反映的痛点堵点启动专项巡察行动。"
                .repeat(4),
        );
        assert!(matches!(
            far.map(|fp| store.near_duplicate(fp, 6)),
            Some(Ok(None))
        ));
    }

    #[tokio::test]
    async fn digest_records_survive_until_completed() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = open(tmp.path());
        let q = digests(&["d"]);
        let Ok(Inserted::New(id)) = store.insert(&article("甲", None), &q, &[]) else {
            panic!()
        };
        let record = DigestRecord {
            id: store.new_digest_id().unwrap_or(7),
            digest: "d".into(),
            message_id: "<a@b>".into(),
            created_at: Utc::now(),
            items: vec![(id, 1)],
            subject: "s".into(),
            text: "t".into(),
            html: "h".into(),
            attempts: 1,
            last_error: Some("451".into()),
            sent_at: None,
            delivery: Default::default(),
        };
        assert!(store.save_digest(&record).await.is_ok());
        drop(store);
        let store = open(tmp.path());
        let back = store.digest_in_flight("d").ok().flatten();
        assert_eq!(back.as_ref().map(|r| r.message_id.as_str()), Some("<a@b>"));
        assert_eq!(
            store.pending_len("d"),
            1,
            "items stay queued until the send succeeds"
        );
        assert!(store.complete_digest(&record).await.is_ok());
        assert_eq!(store.pending_len("d"), 0);
        assert!(store.digest_in_flight("d").ok().flatten().is_none());
        assert_eq!(store.sent_digests("d").map(|v| v.len()).ok(), Some(1));
    }

    #[tokio::test]
    async fn backup_and_restore_round_trip_every_tree() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = open(&tmp.path().join("a"));
        let q = digests(&["d"]);
        let Ok(Inserted::New(id)) = store.insert(&article("甲", Some("http://h/1")), &q, &[])
        else {
            panic!()
        };
        let mut edited = article("甲", Some("http://h/1"));
        edited.body = "改过的正文。".into();
        edited.hash = ContentHash::of(&edited.title, &edited.body);
        assert!(store.revise(id, &edited, &q, &[], 5).is_ok());
        let _ = store.set_source_state(
            "s",
            &SourceState {
                consecutive_failures: 2,
                ..SourceState::default()
            },
        );
        let _ = store.set_validators("http://h/1", br#"{"etag":"\"e\""}"#);
        let mut file = Vec::new();
        let n = store.backup(&mut file).unwrap_or(0);
        assert!(n >= 8, "{n} entries");
        let b = tmp.path().join("b");
        let restored = restore(&b, &file);
        assert_eq!(restored.ok(), Some(n));
        let copy = open(&b);
        assert_eq!(copy.revisions(id).map(|r| r.len()).ok(), Some(2));
        assert_eq!(copy.pending("d").map(|p| p.len()).ok(), Some(1));
        assert_eq!(
            copy.source_state("s").map(|s| s.consecutive_failures).ok(),
            Some(2)
        );
        assert!(copy.validators("http://h/1").ok().flatten().is_some());
        assert!(copy.has_url("http://h/1").unwrap_or(false));
        drop(copy);
        assert!(
            matches!(restore(&b, &file), Err(StoreError::NotEmpty { .. })),
            "refuses a store holding articles, as a usage error, not as damage"
        );
        let newer = String::from_utf8_lossy(&file).replacen(
            &format!("\"format_version\":{FORMAT_VERSION}"),
            "\"format_version\":99",
            1,
        );
        let refused = restore(&tmp.path().join("c"), newer.as_bytes());
        assert!(
            matches!(
                &refused,
                Err(StoreError::Backup {
                    source: BackupError::Newer { found: 99 },
                    ..
                })
            ),
            "{refused:?}"
        );
        assert!(
            refused
                .err()
                .and_then(|e| std::error::Error::source(&e).map(ToString::to_string))
                .is_some_and(|s| s.contains("newer")),
            "the cause says why"
        );
    }

    #[test]
    fn second_opener_and_newer_format_are_refused() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = open(tmp.path());
        assert!(matches!(
            Store::open(tmp.path()),
            Err(StoreError::Locked { .. })
        ));
        let meta = store.db.open_tree("meta").unwrap_or_else(|e| panic!("{e}"));
        let _ = meta.insert("format_version", &(FORMAT_VERSION + 1).to_be_bytes());
        let _ = store.flush_blocking();
        drop((meta, store));
        assert!(matches!(
            Store::open(tmp.path()),
            Err(StoreError::NewerFormat { .. })
        ));
    }

    #[test]
    fn foreign_folder_is_refused() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let _ = std::fs::write(tmp.path().join("thesis.docx"), b"x");
        assert!(matches!(
            Store::open(tmp.path()),
            Err(StoreError::Foreign { .. })
        ));
    }

    #[test]
    fn recent_reads_one_sources_window_newest_first() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = open(tmp.path());
        let now = Utc::now();
        let at = |title: &str, source: &str, days: i64, url: Option<&str>| {
            let mut a = article(title, url);
            a.source = source.into();
            a.fetched_at = now - chrono::Duration::days(days);
            a
        };
        let mut ids = Vec::new();
        for a in [
            at("old", "s", 30, Some("http://h/old")),
            at("mid", "s", 3, Some("http://h/mid")),
            at("other", "t", 1, Some("http://h/other")),
            at("no url", "s", 1, None),
            at("new", "s", 0, Some("http://h/new")),
        ] {
            let Ok(Inserted::New(id)) = store.insert(&a, &[], &[]) else {
                panic!("insert")
            };
            ids.push(id);
        }
        let got = store
            .recent("s", now - chrono::Duration::days(7))
            .unwrap_or_else(|e| panic!("{e}"));
        let titles: Vec<&str> = got.iter().map(|(_, a)| a.title.as_str()).collect();
        assert_eq!(
            titles,
            ["new", "mid"],
            "only s, only with a URL, newest first"
        );
        assert_eq!(got[0].0, ids[4]);
        assert!(
            store
                .recent("", now - chrono::Duration::days(365))
                .is_ok_and(|v| v.is_empty()),
            "a source name is not a prefix match"
        );
    }

    #[test]
    fn a_version_1_store_gets_its_recent_index_on_open() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = open(tmp.path());
        let Ok(Inserted::New(id)) = store.insert(&article("甲", Some("http://h/1")), &[], &[])
        else {
            panic!("insert")
        };
        // What a version-1 store looked like: no recent index.
        let _ = store.recent.clear();
        let meta = store.db.open_tree("meta").unwrap_or_else(|e| panic!("{e}"));
        let _ = meta.insert("format_version", &1u32.to_be_bytes());
        let _ = store.flush_blocking();
        drop((meta, store));
        let store = open(tmp.path());
        let got = store.recent("s", Utc::now() - chrono::Duration::days(1));
        assert_eq!(got.map(|v| v.len()).ok(), Some(1));
        assert_eq!(store.format_version().ok(), Some(FORMAT_VERSION));
        assert!(store.article(id).is_ok_and(|a| a.is_some()));
    }

    #[test]
    fn a_version_2_store_keeps_its_fingerprints_by_article_after_open() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = open(tmp.path());
        let body = "东西湖区举行重大项目集中签约活动，共签约项目十二个，总投资超过二百亿元，涵盖网络安全、大健康、智能制造等领域。".repeat(3);
        let mut a = article("甲", Some("http://h/1"));
        a.body = body.clone();
        a.hash = ContentHash::of(&a.title, &a.body);
        let Ok(Inserted::New(id)) = store.insert(&a, &[], &[]) else {
            panic!("insert")
        };
        let Some(fp) = Fingerprint::of(&body) else {
            panic!("no fingerprint")
        };
        // What a version-2 store looked like: four band keys per fingerprint, no simhashes.
        let _ = store.simhashes.clear();
        let old = store
            .db
            .open_tree("fingerprints")
            .unwrap_or_else(|e| panic!("{e}"));
        for band in 0u8..4 {
            let mut k = vec![band];
            k.extend_from_slice(&((fp.0 >> (16 * u32::from(band))) as u16).to_be_bytes());
            k.extend_from_slice(&id.to_be_bytes());
            let _ = old.insert(k, &fp.0.to_be_bytes());
        }
        let meta = store.db.open_tree("meta").unwrap_or_else(|e| panic!("{e}"));
        let _ = meta.insert("format_version", &2u32.to_be_bytes());
        let _ = store.flush_blocking();
        drop((old, meta, store));
        let store = open(tmp.path());
        assert_eq!(store.format_version().ok(), Some(FORMAT_VERSION));
        assert_eq!(
            store.simhashes.len(),
            1,
            "one key per fingerprint, not four"
        );
        let near = Fingerprint::of(&body.replacen("十二个", "十三个", 1));
        let found = near.map(|fp| store.near_duplicate(fp, 6));
        assert!(
            matches!(found, Some(Ok(Some((got, _)))) if got == id),
            "{found:?}"
        );
        assert!(
            !store
                .db
                .tree_names()
                .iter()
                .any(|n| n.as_ref() == b"fingerprints"),
            "the banded tree is gone"
        );
    }

    #[test]
    fn a_fingerprint_stored_after_the_first_lookup_is_found() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = open(tmp.path());
        let body = "汉阳区召开优化营商环境工作推进会，部署推进政务服务一网通办、企业开办一日办结等二十项重点任务，助力市场主体发展。".repeat(3);
        let fp = Fingerprint::of(&body).unwrap_or_else(|| panic!("no fingerprint"));
        // The first lookup loads the (empty) index; what is stored later must join it.
        assert!(matches!(store.near_duplicate(fp, 6), Ok(None)));
        let mut a = article("乙", Some("http://h/2"));
        a.body = body.clone();
        a.hash = ContentHash::of(&a.title, &a.body);
        let Ok(Inserted::New(id)) = store.insert(&a, &[], &[]) else {
            panic!("insert")
        };
        assert!(matches!(store.near_duplicate(fp, 0), Ok(Some((got, 0))) if got == id));
        // A revision's fingerprint joins too, and the article's earlier one still counts.
        let mut b = a.clone();
        b.body = "硚口区纪检监察机关聚焦营商环境建设，针对企业反映的痛点堵点启动专项巡察行动，推动问题整改。".repeat(3);
        b.hash = ContentHash::of(&b.title, &b.body);
        assert!(matches!(
            store.revise(id, &b, &[], &[], 5),
            Ok(Inserted::Revised { .. })
        ));
        let revised = Fingerprint::of(&b.body).unwrap_or_else(|| panic!("no fingerprint"));
        assert!(matches!(store.near_duplicate(revised, 0), Ok(Some((got, 0))) if got == id));
        assert!(matches!(store.near_duplicate(fp, 0), Ok(Some((got, 0))) if got == id));
    }

    #[test]
    fn damage_keeps_its_cause() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = open(tmp.path());
        let _ = store.sources.insert("s", &b"{not json"[..]);
        let err = store.source_state("s").err();
        assert!(
            matches!(
                &err,
                Some(StoreError::Corrupt {
                    source: Damage::Json(_),
                    ..
                })
            ),
            "{err:?}"
        );
        let shown = err.map(|e| crate::error_chain(&e)).unwrap_or_default();
        assert!(
            shown.contains("state of source \"s\"") && shown.contains("not the JSON expected"),
            "{shown}"
        );
    }
}
