//! Backup and restore of the whole state: every tree, byte for byte, in a portable text file.
//!
//! One JSON object per line: a header `{"newswatch_backup":1,"format_version":N,…}`, then
//! `{"tree":…,"key":…,"value":…}` with base64 keys and values. Text survives mail, diff and
//! any filesystem; the header lets a newer newswatch refuse a backup it cannot read.

use super::{FORMAT_VERSION, Store, StoreError};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Write};
use thiserror::Error;

#[derive(Serialize, Deserialize)]
struct Header {
    newswatch_backup: u32,
    format_version: u32,
    created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    tree: String,
    key: String,
    value: String,
}

/// What is wrong with a backup file, or with writing one.
#[derive(Debug, Error)]
pub enum BackupError {
    #[error("cannot read or write it")]
    Io(#[source] std::io::Error),
    #[error("not a newswatch backup")]
    NotABackup(#[source] serde_json::Error),
    #[error("empty file")]
    Empty,
    #[error(
        "written by a newer newswatch (store format {found}); this build reads {FORMAT_VERSION}"
    )]
    Newer { found: u32 },
    #[error("not a backup entry")]
    Entry(#[source] serde_json::Error),
    #[error("not base64")]
    Base64(#[source] base64::DecodeError),
}

fn file(source: BackupError) -> StoreError {
    StoreError::Backup {
        at: "file".into(),
        source,
    }
}

fn io(e: std::io::Error) -> StoreError {
    file(BackupError::Io(e))
}

fn line(n: usize, source: BackupError) -> StoreError {
    StoreError::Backup {
        at: format!("line {n}"),
        source,
    }
}

impl Store {
    /// Writes every tree to `out`; returns how many entries were written.
    pub fn backup(&self, out: &mut impl Write) -> Result<u64, StoreError> {
        let header = Header {
            newswatch_backup: 1,
            format_version: FORMAT_VERSION,
            created_at: chrono::Utc::now(),
        };
        writeln!(
            out,
            "{}",
            serde_json::to_string(&header).map_err(|e| io(e.into()))?
        )
        .map_err(io)?;
        let mut n = 0;
        for name in self.db.tree_names() {
            let tree = self.db.open_tree(&name)?;
            let tree_name = String::from_utf8_lossy(&name).into_owned();
            for kv in tree.iter() {
                let (k, v) = kv?;
                let entry = Entry {
                    tree: tree_name.clone(),
                    key: B64.encode(&k),
                    value: B64.encode(&v),
                };
                writeln!(
                    out,
                    "{}",
                    serde_json::to_string(&entry).map_err(|e| io(e.into()))?
                )
                .map_err(io)?;
                n += 1;
            }
        }
        out.flush().map_err(io)?;
        Ok(n)
    }

    /// Loads a backup into this store, which must hold no articles; returns how many entries
    /// were restored. A backup from a newer store format is refused; one from an older format
    /// is brought up to this one after loading.
    pub fn restore(&self, input: impl BufRead) -> Result<u64, StoreError> {
        if !self.is_empty() {
            return Err(StoreError::NotEmpty {
                path: self.dir.clone(),
            });
        }
        let mut lines = input.lines();
        let header: Header = match lines.next() {
            Some(l) => serde_json::from_str(&l.map_err(io)?)
                .map_err(|e| line(1, BackupError::NotABackup(e)))?,
            None => return Err(line(1, BackupError::Empty)),
        };
        if header.format_version > FORMAT_VERSION {
            return Err(line(
                1,
                BackupError::Newer {
                    found: header.format_version,
                },
            ));
        }
        let mut n = 0;
        for (i, l) in lines.enumerate() {
            let l = l.map_err(io)?;
            if l.trim().is_empty() {
                continue;
            }
            let e: Entry =
                serde_json::from_str(&l).map_err(|e| line(i + 2, BackupError::Entry(e)))?;
            let key = B64
                .decode(&e.key)
                .map_err(|err| line(i + 2, BackupError::Base64(err)))?;
            let value = B64
                .decode(&e.value)
                .map_err(|err| line(i + 2, BackupError::Base64(err)))?;
            self.db.open_tree(e.tree.as_bytes())?.insert(key, value)?;
            n += 1;
        }
        self.flush_blocking()?;
        self.upgrade()?;
        Ok(n)
    }
}
