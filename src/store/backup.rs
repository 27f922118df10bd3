//! Backup and restore of the whole state: every tree, byte for byte, in a portable text file.
//!
//! One JSON object per line: a header `{"newswatch_backup":2,"format_version":N,"next_id":M,…}`,
//! then `{"tree":…,"key":…,"value":…}` with base64 keys and values, then a closing
//! `{"newswatch_backup_end":COUNT}`. Text survives mail, diff and any filesystem; the header lets
//! a newer newswatch refuse a backup it cannot read, the closing line tells a whole file from a
//! cut one, and `next_id` keeps ids unique after a restore.
//!
//! A restore loads the file into a store in a folder beside the target, checking every line,
//! and moves it into place only when all of it loaded: a bad or cut file leaves the state dir
//! as it was, and names the file and line.

use super::pending::PendingEntry;
use super::{DigestRecord, FORMAT_VERSION, NEXT_ID, SourceState, Store, StoreError};
use crate::article::Article;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Read as _, Write};
use std::path::Path;
use thiserror::Error;

/// The backup file format this build writes. 2 added `next_id` and the closing line; 1 is read
/// too (without the check for a cut file, which it cannot give).
const BACKUP_VERSION: u32 = 2;

/// The longest line a restore reads (a digest record holds a whole rendered mail; an article
/// at most `max_body_bytes`, 10 MiB by default, base64-encoded).
const MAX_LINE_BYTES: u64 = 256 * 1024 * 1024;

/// The folder inside the state dir a restore stages its store in.
pub(super) const STAGING: &str = ".restore";

#[derive(Serialize, Deserialize)]
struct Header {
    newswatch_backup: u32,
    format_version: u32,
    created_at: chrono::DateTime<chrono::Utc>,
    /// The next id the store would have handed out (absent in version 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    next_id: Option<u64>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    tree: String,
    key: String,
    value: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct End {
    newswatch_backup_end: u64,
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
    #[error(
        "backup file format {found} is newer than this build reads ({BACKUP_VERSION}); use a newer newswatch"
    )]
    NewerFile { found: u32 },
    #[error("unknown store format {found}")]
    UnknownFormat { found: u32 },
    #[error("not a backup entry")]
    Entry(#[source] serde_json::Error),
    #[error("not base64")]
    Base64(#[source] base64::DecodeError),
    #[error("line longer than {MAX_LINE_BYTES} bytes")]
    TooLong,
    #[error("{tree} entry: {problem}")]
    Invalid { tree: String, problem: String },
    #[error(
        "the file ends after line {last} without its closing line: it was cut short (restore a whole copy)"
    )]
    Truncated { last: usize },
    #[error("the closing line counts {said} entries, the file holds {found}")]
    Count { said: u64, found: u64 },
    #[error("text after the closing line")]
    AfterEnd,
}

fn at(place: String, source: BackupError) -> StoreError {
    StoreError::Backup { at: place, source }
}

fn written(e: std::io::Error) -> StoreError {
    at("backup".into(), BackupError::Io(e))
}

/// Checks that an entry's key and value have the shape its tree holds, so nothing restored
/// fails later, in `export` or a digest, far from its cause.
fn check_entry(tree: &str, key: &[u8], value: &[u8]) -> Result<(), String> {
    let len = |what: &str, got: usize, want: usize| {
        if got == want {
            Ok(())
        } else {
            Err(format!("{what} is {got} bytes, not {want}"))
        }
    };
    let json = |what: &str, ok: Result<(), serde_json::Error>| {
        ok.map_err(|e| format!("{what} is not the JSON expected: {e}"))
    };
    // `name ‖ 0 ‖ 8-byte id`.
    let named_id = |what: &str| {
        if key.len() >= 9 && key[key.len() - 9] == 0 {
            Ok(())
        } else {
            Err(format!("{what} key is not name, 0, id"))
        }
    };
    match tree {
        // sled's own tree, empty in newswatch stores, and the HTTP cache's opaque bytes.
        "__sled__default" | "http_cache" => Ok(()),
        "meta" => match key {
            b"format_version" => {
                len("format_version", value.len(), 4)?;
                let v = u32::from_be_bytes([value[0], value[1], value[2], value[3]]);
                match v {
                    0 => Err("store format 0 is not a format".into()),
                    v if v > FORMAT_VERSION => Err(format!(
                        "store format {v} is newer than this build reads ({FORMAT_VERSION})"
                    )),
                    _ => Ok(()),
                }
            }
            k if k == NEXT_ID.as_bytes() => len("next_id", value.len(), 8),
            k => Err(format!("unknown key {:?}", String::from_utf8_lossy(k))),
        },
        "articles" | "revisions" => {
            len("key", key.len(), if tree == "articles" { 8 } else { 12 })?;
            json(
                "article",
                serde_json::from_slice::<Article>(value).map(drop),
            )
        }
        "signals" => {
            len("key", key.len(), 12)?;
            json(
                "signals",
                serde_json::from_slice::<crate::signals::Signals>(value).map(drop),
            )
        }
        "by_hash" => {
            len("key", key.len(), 32)?;
            len("value", value.len(), 8)
        }
        "by_url" => len("value", value.len(), 8),
        // seq → id ‖ revision.
        "journal" => {
            len("key", key.len(), 8)?;
            len("value", value.len(), 12)
        }
        "cursors" => len("value", value.len(), 8),
        // id ‖ fingerprint.
        "simhashes" => {
            len("key", key.len(), 16)?;
            len("value", value.len(), 0)
        }
        // Format 2 and older: band ‖ 16 bits ‖ id → fingerprint (converted after the restore).
        "fingerprints" => {
            len("key", key.len(), 11)?;
            len("value", value.len(), 8)
        }
        "recent" => {
            if key.len() < 17 || key[key.len() - 17] != 0 {
                return Err("key is not source, 0, time, id".into());
            }
            len("value", value.len(), 0)
        }
        "pending" => {
            named_id("pending")?;
            json(
                "pending entry",
                serde_json::from_slice::<PendingEntry>(value).map(drop),
            )
        }
        "digests" => {
            named_id("digest record")?;
            json(
                "digest record",
                serde_json::from_slice::<DigestRecord>(value).map(drop),
            )
        }
        "sources" => json(
            "source state",
            serde_json::from_slice::<SourceState>(value).map(drop),
        ),
        other => Err(format!("unknown tree {other:?}")),
    }
}

/// Reads one line of at most [`MAX_LINE_BYTES`] into `buf` (cleared first); `Ok(false)` at the
/// end of the input. A longer line is an error: it is not read into memory whole.
fn read_line(input: &mut impl BufRead, buf: &mut Vec<u8>) -> Result<bool, BackupError> {
    buf.clear();
    let n = input
        .by_ref()
        .take(MAX_LINE_BYTES + 1)
        .read_until(b'\n', buf)
        .map_err(BackupError::Io)?;
    if n as u64 > MAX_LINE_BYTES {
        return Err(BackupError::TooLong);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
    }
    Ok(n > 0)
}

impl Store {
    /// Writes every tree to `out`; returns how many entries were written.
    pub fn backup(&self, out: &mut impl Write) -> Result<u64, StoreError> {
        let header = Header {
            newswatch_backup: BACKUP_VERSION,
            format_version: FORMAT_VERSION,
            created_at: chrono::Utc::now(),
            next_id: Some(self.next_id()),
        };
        line(out, &header)?;
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
                line(out, &entry)?;
                n += 1;
            }
        }
        line(
            out,
            &End {
                newswatch_backup_end: n,
            },
        )?;
        out.flush().map_err(written)?;
        Ok(n)
    }

    /// Loads the backup `input` (named `name` in messages) into the state dir `dir`, which must
    /// hold no articles; returns how many entries were restored.
    ///
    /// The file is loaded into a store staged inside `dir`, every line checked, and the staged
    /// store moved into place only when the whole file loaded. A bad line, a cut file or a
    /// backup from a newer newswatch is an error naming `name` and the line, and leaves `dir`
    /// as it was, so a retry with a good file works. A backup of an older store format is
    /// brought up to this one.
    pub fn restore(dir: &Path, input: impl BufRead, name: &str) -> Result<u64, StoreError> {
        let had_dir = dir.exists();
        let db = dir.join("db");
        let had_db = db.exists();
        // Opening the target checks it is a store (or nothing yet) and locks it against a
        // daemon or a second restore while this one works.
        let target = Store::open(dir)?;
        if !target.is_empty() {
            return Err(StoreError::NotEmpty {
                path: dir.to_owned(),
            });
        }
        let staging = dir.join(STAGING);
        let staged = remove_dir(&staging)
            .and_then(|()| Store::open(&staging))
            .and_then(|store| {
                let n = store.load(input, name)?;
                store.flush_blocking()?;
                Ok(n)
            });
        let n = match staged {
            Ok(n) => n,
            Err(e) => {
                let _ = remove_dir(&staging);
                drop(target);
                if !had_db {
                    let _ = remove_dir(&db);
                }
                if !had_dir {
                    let _ = std::fs::remove_dir(dir);
                }
                return Err(e);
            }
        };
        // Swap: the empty store goes aside into the staging folder, the loaded one into place
        // (each a rename inside the state dir), then the staging folder goes.
        drop(target);
        let aside = staging.join("replaced");
        let moved = |from: &Path, to: &Path| {
            std::fs::rename(from, to).map_err(|source| StoreError::Write {
                path: to.to_owned(),
                source,
            })
        };
        moved(&db, &aside)?;
        if let Err(e) = moved(&staging.join("db"), &db) {
            // Put the empty store back, so the state dir is as it was.
            let _ = std::fs::rename(&aside, &db);
            return Err(e);
        }
        let _ = remove_dir(&staging);
        Ok(n)
    }

    /// Loads every line of a backup into this (fresh) store, checking each.
    fn load(&self, mut input: impl BufRead, name: &str) -> Result<u64, StoreError> {
        let place = |line: usize| format!("{name}:{line}");
        let mut buf = Vec::new();
        let header: Header = match read_line(&mut input, &mut buf) {
            Err(e) => return Err(at(place(1), e)),
            Ok(false) => return Err(at(name.to_owned(), BackupError::Empty)),
            Ok(true) => serde_json::from_slice(&buf)
                .map_err(|e| at(place(1), BackupError::NotABackup(e)))?,
        };
        let refuse = |e| Err(at(place(1), e));
        if header.newswatch_backup > BACKUP_VERSION {
            return refuse(BackupError::NewerFile {
                found: header.newswatch_backup,
            });
        }
        match header.format_version {
            0 => return refuse(BackupError::UnknownFormat { found: 0 }),
            v if v > FORMAT_VERSION => return refuse(BackupError::Newer { found: v }),
            _ => {}
        }
        let mut n = 0;
        let mut line = 1;
        let mut end = None;
        loop {
            match read_line(&mut input, &mut buf) {
                Err(e) => return Err(at(place(line + 1), e)),
                Ok(false) => break,
                Ok(true) => line += 1,
            }
            if buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            if end.is_some() {
                return Err(at(place(line), BackupError::AfterEnd));
            }
            if let Ok(closing) = serde_json::from_slice::<End>(&buf) {
                end = Some(closing.newswatch_backup_end);
                continue;
            }
            let e: Entry =
                serde_json::from_slice(&buf).map_err(|e| at(place(line), BackupError::Entry(e)))?;
            let key = B64
                .decode(&e.key)
                .map_err(|err| at(place(line), BackupError::Base64(err)))?;
            let value = B64
                .decode(&e.value)
                .map_err(|err| at(place(line), BackupError::Base64(err)))?;
            check_entry(&e.tree, &key, &value).map_err(|problem| {
                at(
                    place(line),
                    BackupError::Invalid {
                        tree: e.tree.clone(),
                        problem,
                    },
                )
            })?;
            self.db.open_tree(e.tree.as_bytes())?.insert(key, value)?;
            n += 1;
        }
        match end {
            Some(said) if said != n => {
                return Err(at(name.to_owned(), BackupError::Count { said, found: n }));
            }
            None if header.newswatch_backup >= 2 => {
                return Err(at(name.to_owned(), BackupError::Truncated { last: line }));
            }
            _ => {}
        }
        self.upgrade()?;
        // Past every id stored and the counter the backup carried.
        let next = self.id_floor()?.max(header.next_id.unwrap_or(0));
        self.db
            .open_tree("meta")?
            .insert(NEXT_ID, &next.to_be_bytes())?;
        Ok(n)
    }
}

/// Removes a folder and what it holds; a folder that is not there is already removed.
fn remove_dir(path: &Path) -> Result<(), StoreError> {
    match std::fs::remove_dir_all(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StoreError::Write {
            path: path.to_owned(),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// Writes `value` as one JSON line.
fn line(out: &mut impl Write, value: &impl Serialize) -> Result<(), StoreError> {
    let json = serde_json::to_vec(value).map_err(|e| written(e.into()))?;
    out.write_all(&json).map_err(written)?;
    out.write_all(b"\n").map_err(written)
}
