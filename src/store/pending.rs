//! What waits for each digest, and the digest records built for sending, so a digest is
//! delivered once even across failures and restarts.

use super::{ArticleId, Damage, Store, StoreError, abort_or_storage, corrupt, id_of, key, to_json};
use crate::article::Article;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sled::Transactional;
use sled::transaction::ConflictableTransactionError;

/// Why an article is pending for a digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Change {
    /// Not yet in any digest sent under this name.
    New,
    /// Changed since revision `from`, the one this digest's readers last saw.
    Updated { from: u32 },
}

/// A pending entry: the change, and the revision it was put there at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct PendingEntry {
    pub change: Change,
    pub revision: u32,
}

pub(super) fn entry_key(digest: &str, id: ArticleId) -> Vec<u8> {
    let mut k = digest_prefix(digest);
    k.extend_from_slice(&key(id));
    k
}

fn digest_prefix(digest: &str) -> Vec<u8> {
    let mut k = digest.as_bytes().to_vec();
    k.push(0);
    k
}

pub(super) fn decode_entry(bytes: &[u8]) -> Result<PendingEntry, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| corrupt("a pending digest entry", e))
}

/// An article pending for a digest, with the revision readers last saw when it was updated.
#[derive(Debug, Clone)]
pub struct PendingItem {
    pub id: ArticleId,
    pub article: Article,
    pub change: Change,
    /// For [`Change::Updated`]: the text readers last saw (if still in the history).
    pub previous: Option<Article>,
    /// The investment signals of `article`.
    pub signals: crate::signals::Signals,
}

/// A digest built for sending. It is recorded before the first attempt and reused, with its
/// Message-ID and exact content, until a send succeeds: so a retry after a failure, a crash or a
/// timeout sends the same mail, never a second different one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestRecord {
    pub id: u64,
    /// The digest's name (stored as `queue` by earlier versions).
    #[serde(alias = "queue")]
    pub digest: String,
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
    /// How far delivery got, and what the server said for good (absent in older records).
    #[serde(default)]
    pub delivery: DeliveryState,
}

/// The parts of a digest record that delivery keeps beyond "sent or not".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryState {
    /// Chat: when each leading message of the digest was accepted. A retry (or a restart)
    /// resumes after them, so no message is posted twice, and the robot's rate limit counts them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts_delivered: Vec<DateTime<Utc>>,
    /// When the server refused this digest for good. It is never sent again; its items stay
    /// pending (unless `set_aside`) and go in the next digest, which is built afresh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Refusal>,
    /// The refused digest's one item was taken off the pending list: refused as too large on
    /// its own, it could never be sent. The article stays in the store.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub set_aside: bool,
    /// Bytes at most in the digests built after this one, learned from a server that refused
    /// a bigger one as too large; carried from record to record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub byte_cap: Option<usize>,
    /// Articles still pending beyond this digest's when it was built.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub more_pending: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Why a server refused a digest for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// Too large (SMTP 552, a robot's "content too long"): the next digest is built smaller.
    TooLarge,
    /// Anything else that will not change by sending again (a bad address, a password, a
    /// robot that does not exist): the next digest is built as usual.
    Rejected,
}

fn record_key(digest: &str, id: u64) -> Vec<u8> {
    let mut k = digest_prefix(digest);
    k.extend_from_slice(&id.to_be_bytes());
    k
}

fn decode_record(bytes: &[u8]) -> Result<DigestRecord, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| corrupt("a digest record", e))
}

impl Store {
    /// Articles pending for `digest`, in the order first stored.
    pub fn pending(&self, digest: &str) -> Result<Vec<PendingItem>, StoreError> {
        self.pending_first(digest, usize::MAX)
    }

    /// How many articles are pending for `digest`.
    pub fn pending_len(&self, digest: &str) -> usize {
        self.pending.scan_prefix(digest_prefix(digest)).count()
    }

    /// Articles pending for `digest`, the `limit` stored first.
    pub fn pending_first(
        &self,
        digest: &str,
        limit: usize,
    ) -> Result<Vec<PendingItem>, StoreError> {
        let prefix = digest_prefix(digest);
        let mut out = Vec::new();
        for kv in self.pending.scan_prefix(&prefix).take(limit) {
            let (k, v) = kv?;
            let id = id_of(&k[prefix.len()..])?;
            out.push(self.pending_item(digest, id, &v)?);
        }
        Ok(out)
    }

    fn pending_item(
        &self,
        digest: &str,
        id: ArticleId,
        v: &[u8],
    ) -> Result<PendingItem, StoreError> {
        let entry = decode_entry(v)?;
        let Some(article) = self.article(id)? else {
            return Err(corrupt(
                format!("digest {digest:?} entry {id}"),
                Damage::Missing("its article is missing"),
            ));
        };
        let previous = match entry.change {
            Change::Updated { from } => self.revision(id, from)?,
            Change::New => None,
        };
        Ok(PendingItem {
            id,
            signals: self.signals_of(id, &article)?,
            article,
            change: entry.change,
            previous,
        })
    }

    /// The digest record of `digest` built but not yet delivered nor refused, if any.
    pub fn digest_in_flight(&self, digest: &str) -> Result<Option<DigestRecord>, StoreError> {
        for kv in self.digests.scan_prefix(digest_prefix(digest)) {
            let (_, v) = kv?;
            let record = decode_record(&v)?;
            if record.sent_at.is_none() && record.delivery.refused_at.is_none() {
                return Ok(Some(record));
            }
        }
        Ok(None)
    }

    /// The digest record of `digest` built last (sent, refused or in flight), if any.
    pub fn last_digest(&self, digest: &str) -> Result<Option<DigestRecord>, StoreError> {
        match self.digests.scan_prefix(digest_prefix(digest)).next_back() {
            Some(kv) => Ok(Some(decode_record(&kv?.1)?)),
            None => Ok(None),
        }
    }

    /// A fresh id for a digest record.
    pub fn new_digest_id(&self) -> Result<u64, StoreError> {
        Ok(self.new_id())
    }

    /// Records `record` (new or after an attempt) and waits until it is on disk, so the
    /// Message-ID a server may have seen is never forgotten.
    pub async fn save_digest(&self, record: &DigestRecord) -> Result<(), StoreError> {
        self.digests
            .insert(record_key(&record.digest, record.id), to_json(record)?)?;
        self.flush().await
    }

    /// Marks `record` delivered and removes its items from the digest's pending list, in one
    /// transaction, then waits until that is on disk. An item revised after the digest was built
    /// stays pending, as updated since the revision the digest showed.
    pub async fn complete_digest(&self, record: &DigestRecord) -> Result<(), StoreError> {
        let mut done = record.clone();
        done.sent_at = Some(Utc::now());
        self.close_digest(&done, true).await
    }

    /// Records `record` as refused for good (its `delivery.refused_at` set by the caller), so
    /// the next delivery builds a new digest; with `delivery.set_aside` its items leave the
    /// pending list in the same transaction, else they stay for the next digest.
    pub async fn refuse_digest(&self, record: &DigestRecord) -> Result<(), StoreError> {
        self.close_digest(record, record.delivery.set_aside).await
    }

    /// Writes `record` and, with `remove_items`, takes its items off the pending list (an item
    /// revised since stays, as updated since the revision the digest showed), in one
    /// transaction, then waits until that is on disk.
    async fn close_digest(
        &self,
        record: &DigestRecord,
        remove_items: bool,
    ) -> Result<(), StoreError> {
        let done_json = to_json(record)?;
        let items: &[(ArticleId, u32)] = if remove_items { &record.items } else { &[] };
        let result = (&self.pending, &self.digests).transaction(|(pending, digests)| {
            let abort = ConflictableTransactionError::Abort;
            for &(id, sent_revision) in items {
                let k = entry_key(&record.digest, id);
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
            digests.insert(record_key(&record.digest, record.id), done_json.as_slice())?;
            Ok(())
        });
        abort_or_storage(result)?;
        self.flush().await
    }

    /// Up to `limit` digest records of `digest` (sent, refused or waiting), newest first.
    pub fn digest_records(
        &self,
        digest: &str,
        limit: usize,
    ) -> Result<Vec<DigestRecord>, StoreError> {
        self.digests
            .scan_prefix(digest_prefix(digest))
            .rev()
            .take(limit)
            .map(|kv| decode_record(&kv?.1))
            .collect()
    }

    /// Delivered digest records of `digest`, oldest first (for tests and inspection).
    pub fn sent_digests(&self, digest: &str) -> Result<Vec<DigestRecord>, StoreError> {
        let mut out = Vec::new();
        for kv in self.digests.scan_prefix(digest_prefix(digest)) {
            let (_, v) = kv?;
            let r = decode_record(&v)?;
            if r.sent_at.is_some() {
                out.push(r);
            }
        }
        Ok(out)
    }
}
