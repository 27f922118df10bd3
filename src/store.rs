//! Store: articles, their indexes, the digest queue and per-source state, in one sled database.
//!
//! Every write that must be all-or-nothing (an article with its indexes and its queue entry) is one
//! sled transaction. Nothing outside this module touches sled, so the storage engine can change
//! behind [`Store`]'s small API.

use crate::article::{Article, ContentHash};
use crate::fetch::Validators;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The on-disk layout version this build writes and understands.
pub const FORMAT_VERSION: u32 = 1;

/// A stored article's id: the order in which articles were first stored.
pub type ArticleId = u64;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("state dir {path} is in use by another newswatch process (only one may open it)")]
    Locked { path: PathBuf },
    #[error("cannot open state dir {path}: {reason}")]
    Open { path: PathBuf, reason: String },
    #[error(
        "state dir {path} was written by a newer newswatch (store format {found}); this build reads format {FORMAT_VERSION} and will not touch it"
    )]
    NewerFormat { path: PathBuf, found: u32 },
    #[error("state dir {path} holds data that is not a newswatch store")]
    Foreign { path: PathBuf },
    #[error("store damaged at {what}: {reason}")]
    Corrupt { what: String, reason: String },
    #[error("store I/O error: {0}")]
    Sled(#[from] sled::Error),
}

/// What [`Store::insert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// Stored (and queued, if asked) under this id.
    New(ArticleId),
    /// An article with the same content hash was already stored under this id.
    Duplicate(ArticleId),
}

/// What newswatch remembers about one source between crawls.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceState {
    pub last_attempt: Option<DateTime<Utc>>,
    pub last_success: Option<DateTime<Utc>>,
    pub consecutive_failures: u32,
    pub last_error: Option<String>,
    pub articles_stored: u64,
}

/// The sled database under `state_dir`.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    articles: sled::Tree,
    by_hash: sled::Tree,
    by_url: sled::Tree,
    pending: sled::Tree,
    sources: sled::Tree,
    http_cache: sled::Tree,
    dir: PathBuf,
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
            .map_err(|e| StoreError::Corrupt {
                what: path.display().to_string(),
                reason: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::Open {
            path,
            reason: e.to_string(),
        }),
    }
}

fn key(id: ArticleId) -> [u8; 8] {
    id.to_be_bytes()
}

fn id_of(bytes: &[u8]) -> Result<ArticleId, StoreError> {
    let arr: [u8; 8] = bytes.try_into().map_err(|_| StoreError::Corrupt {
        what: "an index entry".into(),
        reason: format!("{} bytes where an 8-byte id belongs", bytes.len()),
    })?;
    Ok(u64::from_be_bytes(arr))
}

impl Store {
    /// Opens (creating if needed) the store in `dir`, refusing a store in use, from a newer
    /// version, or a folder that holds something else.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let open_err = |reason: String| StoreError::Open {
            path: dir.to_owned(),
            reason,
        };
        if dir.exists() && !dir.is_dir() {
            return Err(open_err("it exists and is not a folder".into()));
        }
        std::fs::create_dir_all(dir).map_err(|e| open_err(e.to_string()))?;
        let db_path = dir.join("db");
        let foreign = std::fs::read_dir(dir)
            .map_err(|e| open_err(e.to_string()))?
            .filter_map(Result::ok)
            .any(|e| {
                let name = e.file_name();
                !matches!(
                    name.to_str(),
                    Some("db" | "outbox" | ".gitkeep" | "newswatch.lock")
                )
            });
        if foreign && !db_path.exists() {
            return Err(StoreError::Foreign {
                path: dir.to_owned(),
            });
        }
        let db = sled::Config::new()
            .path(&db_path)
            .open()
            .map_err(|e| match e {
                sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
                    StoreError::Locked {
                        path: dir.to_owned(),
                    }
                }
                other => open_err(other.to_string()),
            })?;
        let meta = db.open_tree("meta")?;
        match meta.get("format_version")? {
            Some(v) => {
                let found = v.as_ref().try_into().map(u32::from_be_bytes).map_err(|_| {
                    StoreError::Foreign {
                        path: dir.to_owned(),
                    }
                })?;
                if found > FORMAT_VERSION {
                    return Err(StoreError::NewerFormat {
                        path: dir.to_owned(),
                        found,
                    });
                }
            }
            None => {
                let has_data = db.tree_names().iter().any(|n| {
                    n.as_ref() != b"meta" && db.open_tree(n).map(|t| !t.is_empty()).unwrap_or(true)
                });
                if has_data || !db.is_empty() {
                    return Err(StoreError::Foreign {
                        path: dir.to_owned(),
                    });
                }
                meta.insert("format_version", &FORMAT_VERSION.to_be_bytes())?;
                db.flush()?;
            }
        }
        Ok(Store {
            articles: db.open_tree("articles")?,
            by_hash: db.open_tree("by_hash")?,
            by_url: db.open_tree("by_url")?,
            pending: db.open_tree("pending")?,
            sources: db.open_tree("sources")?,
            http_cache: db.open_tree("http_cache")?,
            dir: dir.to_owned(),
            db,
        })
    }

    /// Stores `article` unless its content hash is already stored, and queues it for the digest
    /// when `queue` is set — all in one transaction. Its URL and `aliases` (the listed link, the
    /// address before redirects) are indexed either way, so none of them is fetched again.
    pub fn insert(
        &self,
        article: &Article,
        queue: bool,
        aliases: &[&str],
    ) -> Result<Inserted, StoreError> {
        let json = serde_json::to_vec(article).map_err(|e| StoreError::Corrupt {
            what: "an article being written".into(),
            reason: e.to_string(),
        })?;
        let id = self.db.generate_id()?;
        let hash = article.hash.as_bytes();
        let urls: Vec<&[u8]> = article
            .url
            .as_deref()
            .into_iter()
            .chain(aliases.iter().copied())
            .map(str::as_bytes)
            .collect();
        let result = (&self.articles, &self.by_hash, &self.by_url, &self.pending).transaction(
            |(articles, by_hash, by_url, pending)| {
                if let Some(existing) = by_hash.get(hash)? {
                    for url in &urls {
                        if by_url.get(*url)?.is_none() {
                            by_url.insert(*url, existing.clone())?;
                        }
                    }
                    return Ok(Inserted::Duplicate(
                        id_of(&existing).map_err(ConflictableTransactionError::Abort)?,
                    ));
                }
                articles.insert(&key(id), json.as_slice())?;
                by_hash.insert(hash, &key(id))?;
                for url in &urls {
                    by_url.insert(*url, &key(id))?;
                }
                if queue {
                    pending.insert(&key(id), &[])?;
                }
                Ok(Inserted::New(id))
            },
        );
        result.map_err(|e| match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => StoreError::Sled(e),
        })
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

    /// How many articles are stored.
    pub fn len(&self) -> usize {
        self.articles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.articles.is_empty()
    }

    /// Articles waiting for the digest, oldest stored first.
    pub fn pending(&self) -> Result<Vec<(ArticleId, Article)>, StoreError> {
        let mut out = Vec::new();
        for kv in self.pending.iter() {
            let (k, _) = kv?;
            let id = id_of(&k)?;
            match self.article(id)? {
                Some(a) => out.push((id, a)),
                None => {
                    return Err(StoreError::Corrupt {
                        what: format!("digest queue entry {id}"),
                        reason: "its article is missing".into(),
                    });
                }
            }
        }
        Ok(out)
    }

    /// Removes `ids` from the digest queue in one atomic batch and waits until that is on disk:
    /// called only after the mail server accepted the digest.
    pub async fn dequeue(&self, ids: &[ArticleId]) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for &id in ids {
            batch.remove(&key(id));
        }
        self.pending.apply_batch(batch)?;
        self.db.flush_async().await?;
        Ok(())
    }

    /// The remembered state of source `name`.
    pub fn source_state(&self, name: &str) -> Result<SourceState, StoreError> {
        match self.sources.get(name)? {
            None => Ok(SourceState::default()),
            Some(v) => serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt {
                what: format!("state of source {name:?}"),
                reason: e.to_string(),
            }),
        }
    }

    pub fn set_source_state(&self, name: &str, state: &SourceState) -> Result<(), StoreError> {
        let json = serde_json::to_vec(state).map_err(|e| StoreError::Corrupt {
            what: format!("state of source {name:?}"),
            reason: e.to_string(),
        })?;
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
    /// so `newswatch status` can report while a daemon holds the store.
    pub fn write_status_snapshot(&self) -> Result<(), StoreError> {
        let snapshot = StatusSnapshot {
            written_at: Some(Utc::now()),
            sources: self.source_states()?.into_iter().collect(),
        };
        let path = self.dir.join(STATUS_SNAPSHOT);
        let tmp = self.dir.join("status.json.tmp");
        let io = |e: std::io::Error| StoreError::Open {
            path: path.clone(),
            reason: e.to_string(),
        };
        let json = serde_json::to_vec_pretty(&snapshot).map_err(|e| StoreError::Corrupt {
            what: "status snapshot".into(),
            reason: e.to_string(),
        })?;
        std::fs::write(&tmp, json).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)
    }

    /// The HTTP validators last seen for `url`.
    pub fn validators(&self, url: &str) -> Result<Option<Validators>, StoreError> {
        match self.http_cache.get(url)? {
            None => Ok(None),
            Some(v) => Ok(serde_json::from_slice(&v).ok()),
        }
    }

    /// Remembers `url`'s validators (or forgets them when empty).
    pub fn set_validators(&self, url: &str, validators: &Validators) -> Result<(), StoreError> {
        if validators.is_empty() {
            self.http_cache.remove(url)?;
        } else if let Ok(json) = serde_json::to_vec(validators) {
            self.http_cache.insert(url, json)?;
        }
        Ok(())
    }

    /// Waits until everything written so far is on disk.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.db.flush_async().await?;
        Ok(())
    }

    /// Blocking flush, for the synchronous command-line paths.
    pub fn flush_blocking(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }
}

fn decode(id: ArticleId, bytes: &[u8]) -> Result<Article, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        what: format!("article {id}"),
        reason: e.to_string(),
    })
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

    fn open(dir: &Path) -> Store {
        Store::open(dir).unwrap_or_else(|e| panic!("{e}"))
    }

    #[tokio::test]
    async fn dedups_by_hash_indexes_urls_and_queues_atomically() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = open(tmp.path());
        let a = store.insert(
            &article("甲", Some("http://h/1")),
            true,
            &["http://h/list-link"],
        );
        let Ok(Inserted::New(id)) = a else {
            panic!("{a:?}")
        };
        let again = store.insert(&article("甲", Some("http://h/2")), true, &[]);
        assert_eq!(again.ok(), Some(Inserted::Duplicate(id)));
        assert!(
            store.has_url("http://h/2").unwrap_or(false),
            "duplicate's URL indexed"
        );
        assert!(matches!(
            store.insert(&article("乙", None), false, &[]),
            Ok(Inserted::New(_))
        ));
        let pending = store.pending().unwrap_or_default();
        assert_eq!(pending.len(), 1, "only the queued article is pending");
        assert!(store.dequeue(&[id]).await.is_ok());
        assert!(store.pending().unwrap_or_default().is_empty());
        assert_eq!(store.len(), 2);
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
}
