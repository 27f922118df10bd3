//! The journal: every revision the store takes, in the order it took them, for the consumers
//! that follow the store from outside (a database sink, the search index).
//!
//! Each stored revision gets a sequence number in the same transaction that stores it, so a
//! consumer can never miss one: it reads the journal past its cursor, hands the revisions on,
//! and moves its cursor only once they are safely delivered ([`Store::set_cursor`]). After a
//! crash or an outage the consumer starts again from its cursor; what it sends twice must be
//! idempotent on its side (the sink inserts `on conflict (hash) do nothing`).
//!
//! Sequence numbers are handed out and committed under one lock, so they become visible in
//! order: a consumer that has read up to `n` will never later find an entry below `n`. (With
//! numbers taken outside the lock, a slow transaction holding 5 could commit after a fast one
//! holding 6 had been read, and 5 would be skipped for good.) Numbers may have gaps: a number
//! taken for an article that turned out to be a duplicate is not used.
//!
//! Entries are not pruned: 20 bytes per revision, so a million revisions cost tens of
//! megabytes, against kilobytes per article.

use super::{ArticleId, Store, StoreError, corrupt, id_of};
use crate::store::Damage;

/// One stored revision, by its place in the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// Its sequence number, increasing in the order revisions were stored.
    pub seq: u64,
    pub id: ArticleId,
    pub revision: u32,
}

pub(super) fn entry_value(id: ArticleId, revision: u32) -> [u8; 12] {
    super::revision_key(id, revision)
}

fn decode_entry(k: &[u8], v: &[u8]) -> Result<Entry, StoreError> {
    let seq = id_of(k)?;
    if v.len() != 12 {
        return Err(corrupt(
            format!("journal entry {seq}"),
            Damage::Length {
                found: v.len(),
                expected: 12,
            },
        ));
    }
    let id = id_of(&v[..8])?;
    let mut rev = [0u8; 4];
    rev.copy_from_slice(&v[8..]);
    Ok(Entry {
        seq,
        id,
        revision: u32::from_be_bytes(rev),
    })
}

impl Store {
    /// Up to `limit` journal entries after sequence number `after` (0 for all), oldest first.
    pub fn journal(&self, after: u64, limit: usize) -> Result<Vec<Entry>, StoreError> {
        let start = after.saturating_add(1).to_be_bytes();
        self.journal
            .range(start..)
            .take(limit)
            .map(|kv| {
                let (k, v) = kv?;
                decode_entry(&k, &v)
            })
            .collect()
    }

    /// The sequence number of the newest journal entry (0 when the journal is empty).
    pub fn journal_end(&self) -> Result<u64, StoreError> {
        match self.journal.last()? {
            Some((k, _)) => id_of(&k),
            None => Ok(0),
        }
    }

    /// How many journal entries lie past `after`: a consumer's backlog.
    pub fn journal_backlog(&self, after: u64) -> Result<u64, StoreError> {
        let start = after.saturating_add(1).to_be_bytes();
        Ok(self.journal.range(start..).keys().count() as u64)
    }

    /// Where consumer `name` stands in the journal (`None` if it never said).
    pub fn cursor(&self, name: &str) -> Result<Option<u64>, StoreError> {
        match self.cursors.get(name.as_bytes())? {
            Some(v) => id_of(&v).map(Some),
            None => Ok(None),
        }
    }

    /// Records that consumer `name` has delivered everything up to `seq`. A cursor never moves
    /// back through this call, so two deliverers racing cannot lose ground.
    pub fn set_cursor(&self, name: &str, seq: u64) -> Result<(), StoreError> {
        self.cursors.fetch_and_update(name.as_bytes(), |old| {
            let old = old
                .and_then(|v| v.try_into().ok().map(u64::from_be_bytes))
                .unwrap_or(0);
            Some(old.max(seq).to_be_bytes().to_vec())
        })?;
        Ok(())
    }

    /// Puts consumer `name` at `seq`, backwards if need be (a new consumer starting at the
    /// end, or one told to send everything again).
    pub fn reset_cursor(&self, name: &str, seq: u64) -> Result<(), StoreError> {
        self.cursors.insert(name.as_bytes(), &seq.to_be_bytes())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::article::Article;
    use crate::store::Inserted;
    use chrono::{NaiveDate, Utc};

    fn article(title: &str, body: &str) -> Article {
        let day = NaiveDate::from_ymd_opt(2025, 7, 2).unwrap_or_default();
        Article::new(title, body, day, None, "s", Utc::now())
    }

    fn ids(store: &Store, after: u64) -> Vec<(ArticleId, u32)> {
        let entries = store.journal(after, 100).unwrap_or_else(|e| panic!("{e}"));
        assert!(entries.windows(2).all(|w| w[0].seq < w[1].seq));
        entries.iter().map(|e| (e.id, e.revision)).collect()
    }

    #[test]
    fn every_stored_revision_is_journalled_once_in_order_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = Store::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let Ok(Inserted::New(a)) = store.insert(&article("甲", "一。"), &[], &[]) else {
            panic!("not stored")
        };
        // A duplicate takes no entry.
        assert!(matches!(
            store.insert(&article("甲", "一。"), &[], &[]),
            Ok(Inserted::Duplicate(_))
        ));
        let incoming = |article| crate::store::Incoming {
            article,
            digests: Vec::new(),
            signals: crate::signals::Signals::default(),
        };
        let batch = vec![
            incoming(article("乙", "二。")),
            incoming(article("甲", "一。")),
            incoming(article("丙", "三。")),
        ];
        let out = store.insert_batch(&batch).unwrap_or_else(|e| panic!("{e}"));
        let (Inserted::New(b), Inserted::New(c)) = (out[0], out[2]) else {
            panic!("{out:?}")
        };
        assert!(matches!(
            store.revise(a, &article("甲", "一改。"), &[], &[], 5),
            Ok(Inserted::Revised { revision: 2, .. })
        ));
        let first = article("甲", "一。").revision;
        assert_eq!(
            ids(&store, 0),
            vec![(a, first), (b, first), (c, first), (a, 2)]
        );
        let end = store.journal_end().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(store.journal_backlog(0).ok(), Some(4));
        let second = store.journal(0, 2).unwrap_or_else(|e| panic!("{e}"))[1].seq;
        assert_eq!(ids(&store, second), vec![(c, first), (a, 2)]);
        assert_eq!(store.journal_backlog(end).ok(), Some(0));
        drop(store);

        let store = loop {
            match Store::open(dir.path()) {
                Err(StoreError::Locked { .. }) => {
                    std::thread::sleep(std::time::Duration::from_millis(20))
                }
                other => break other.unwrap_or_else(|e| panic!("{e}")),
            }
        };
        let Ok(Inserted::New(d)) = store.insert(&article("丁", "四。"), &[], &[]) else {
            panic!("not stored")
        };
        let after = store.journal(end, 10).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(after.len(), 1);
        assert!(after[0].seq > end, "numbers continue after a reopen");
        assert_eq!(after[0].id, d);
    }

    #[test]
    fn a_cursor_only_moves_forward_unless_reset() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = Store::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(store.cursor("pg").ok(), Some(None));
        store.set_cursor("pg", 7).unwrap_or_else(|e| panic!("{e}"));
        store.set_cursor("pg", 3).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(store.cursor("pg").ok(), Some(Some(7)));
        store
            .reset_cursor("pg", 0)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(store.cursor("pg").ok(), Some(Some(0)));
        assert_eq!(store.cursor("other").ok(), Some(None));
    }

    #[test]
    fn concurrent_writers_commit_in_number_order() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = Store::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let reader = store.clone();
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let store = store.clone();
                std::thread::spawn(move || {
                    for i in 0..50 {
                        let a = article(&format!("{w}-{i}"), &format!("正文{w}-{i}。"));
                        store.insert(&a, &[], &[]).unwrap_or_else(|e| panic!("{e}"));
                    }
                })
            })
            .collect();
        // A reader following the journal as the writers go sees every entry: one committed
        // below a number it had already passed would be missed, and `seen` would fall short.
        let mut cursor = 0;
        let mut seen = 0;
        let mut follow = |cursor: &mut u64| {
            for e in reader
                .journal(*cursor, 1000)
                .unwrap_or_else(|e| panic!("{e}"))
            {
                assert!(e.seq > *cursor);
                *cursor = e.seq;
                seen += 1;
            }
        };
        while !writers.iter().all(|w| w.is_finished()) {
            follow(&mut cursor);
        }
        follow(&mut cursor);
        for w in writers {
            w.join().unwrap_or_else(|_| panic!("writer panicked"));
        }
        assert_eq!(seen, 200);
        assert_eq!(reader.journal_backlog(0).ok(), Some(200));
        assert_eq!(reader.journal_backlog(cursor).ok(), Some(0));
    }
}
