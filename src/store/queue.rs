//! Digest queues and digest records: what is waiting for each digest, and what was built for
//! sending, so a digest is delivered once even across failures and restarts.

use super::{ArticleId, Store, StoreError, abort_or_storage, id_of, key, to_json};
use crate::article::Article;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sled::Transactional;
use sled::transaction::ConflictableTransactionError;

/// Why an article is waiting for a digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Change {
    /// Not yet in any digest of this queue.
    New,
    /// Changed since revision `from`, the one readers of this queue last saw.
    Updated { from: u32 },
}

/// A queue entry: the change, and the revision it was queued at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct PendingEntry {
    pub change: Change,
    pub revision: u32,
}

pub(super) fn entry_key(queue: &str, id: ArticleId) -> Vec<u8> {
    let mut k = queue_prefix(queue);
    k.extend_from_slice(&key(id));
    k
}

fn queue_prefix(queue: &str) -> Vec<u8> {
    let mut k = queue.as_bytes().to_vec();
    k.push(0);
    k
}

pub(super) fn decode_entry(bytes: &[u8]) -> Result<PendingEntry, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        what: "a digest queue entry".into(),
        reason: e.to_string(),
    })
}

/// An article waiting in a queue, with the revision readers last saw when it was updated.
#[derive(Debug, Clone)]
pub struct PendingItem {
    pub id: ArticleId,
    pub article: Article,
    pub change: Change,
    /// For [`Change::Updated`]: the text readers last saw (if still in the history).
    pub previous: Option<Article>,
}

/// A digest built for sending. It is recorded before the first attempt and reused, with its
/// Message-ID and exact content, until a send succeeds: so a retry after a failure, a crash or a
/// timeout sends the same mail, never a second different one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestRecord {
    pub id: u64,
    pub queue: String,
    pub message_id: String,
    pub created_at: DateTime<Utc>,
    /// `(article, revision)` pairs the digest shows.
    pub items: Vec<(ArticleId, u32)>,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
}

fn record_key(queue: &str, id: u64) -> Vec<u8> {
    let mut k = queue_prefix(queue);
    k.extend_from_slice(&id.to_be_bytes());
    k
}

fn decode_record(bytes: &[u8]) -> Result<DigestRecord, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        what: "a digest record".into(),
        reason: e.to_string(),
    })
}

impl Store {
    /// Queues already stored articles as new in `queue` (for `backfill --notify` into a digest
    /// that filters them).
    pub fn enqueue_new(&self, queue: &str, id: ArticleId, revision: u32) -> Result<(), StoreError> {
        let entry = PendingEntry {
            change: Change::New,
            revision,
        };
        self.pending
            .insert(entry_key(queue, id), to_json(&entry)?)?;
        Ok(())
    }

    /// Articles waiting in `queue`, in the order first stored.
    pub fn pending(&self, queue: &str) -> Result<Vec<PendingItem>, StoreError> {
        let prefix = queue_prefix(queue);
        let mut out = Vec::new();
        for kv in self.pending.scan_prefix(&prefix) {
            let (k, v) = kv?;
            let id = id_of(&k[prefix.len()..])?;
            let entry = decode_entry(&v)?;
            let Some(article) = self.article(id)? else {
                return Err(StoreError::Corrupt {
                    what: format!("queue {queue:?} entry {id}"),
                    reason: "its article is missing".into(),
                });
            };
            let previous = match entry.change {
                Change::Updated { from } => self.revision(id, from)?,
                Change::New => None,
            };
            out.push(PendingItem {
                id,
                article,
                change: entry.change,
                previous,
            });
        }
        Ok(out)
    }

    /// How many articles wait in `queue`.
    pub fn queue_len(&self, queue: &str) -> usize {
        self.pending.scan_prefix(queue_prefix(queue)).count()
    }

    /// The digest of `queue` built but not yet delivered, if any.
    pub fn digest_in_flight(&self, queue: &str) -> Result<Option<DigestRecord>, StoreError> {
        for kv in self.digests.scan_prefix(queue_prefix(queue)) {
            let (_, v) = kv?;
            let record = decode_record(&v)?;
            if record.sent_at.is_none() {
                return Ok(Some(record));
            }
        }
        Ok(None)
    }

    /// A fresh id for a digest record.
    pub fn new_digest_id(&self) -> Result<u64, StoreError> {
        Ok(self.db.generate_id()?)
    }

    /// Records `record` (new or after an attempt) and waits until it is on disk, so the
    /// Message-ID a server may have seen is never forgotten.
    pub async fn save_digest(&self, record: &DigestRecord) -> Result<(), StoreError> {
        self.digests
            .insert(record_key(&record.queue, record.id), to_json(record)?)?;
        self.db.flush_async().await?;
        Ok(())
    }

    /// Marks `record` delivered and removes its items from the queue, in one transaction, then
    /// waits until that is on disk. An item revised after the digest was built stays queued,
    /// as updated since the revision the digest showed.
    pub async fn complete_digest(&self, record: &DigestRecord) -> Result<(), StoreError> {
        let mut done = record.clone();
        done.sent_at = Some(Utc::now());
        let done_json = to_json(&done)?;
        let result = (&self.pending, &self.digests).transaction(|(pending, digests)| {
            let abort = ConflictableTransactionError::Abort;
            for &(id, sent_revision) in &record.items {
                let k = entry_key(&record.queue, id);
                let Some(v) = pending.get(&k)? else { continue };
                let entry = decode_entry(&v).map_err(abort)?;
                if entry.revision <= sent_revision {
                    pending.remove(k)?;
                } else {
                    let later = PendingEntry {
                        change: Change::Updated {
                            from: sent_revision,
                        },
                        revision: entry.revision,
                    };
                    pending.insert(k, to_json(&later).map_err(abort)?)?;
                }
            }
            digests.insert(record_key(&record.queue, record.id), done_json.as_slice())?;
            Ok(())
        });
        abort_or_storage(result)?;
        self.db.flush_async().await?;
        Ok(())
    }

    /// Delivered digest records of `queue`, oldest first (for tests and inspection).
    pub fn sent_digests(&self, queue: &str) -> Result<Vec<DigestRecord>, StoreError> {
        let mut out = Vec::new();
        for kv in self.digests.scan_prefix(queue_prefix(queue)) {
            let (_, v) = kv?;
            let r = decode_record(&v)?;
            if r.sent_at.is_some() {
                out.push(r);
            }
        }
        Ok(out)
    }
}
