//! The article: the one record every stage passes along, in the archive's schema.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::fmt;

/// SHA-256 of an article's normalised title and body.
///
/// Two articles with the same hash are the same article, whichever source or URL they came from:
/// a crawled page and its archive copy deduplicate because both are normalised the same way first.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct ContentHash([u8; 32]);

impl ContentHash {
    /// Hashes an already normalised title and body.
    pub fn of(title: &str, body: &str) -> Self {
        let mut h = Sha256::new();
        h.update(title.as_bytes());
        h.update(b"\n");
        h.update(body.as_bytes());
        ContentHash(h.finalize().into())
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(ContentHash)
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentHash({self})")
    }
}

impl From<ContentHash> for String {
    fn from(h: ContentHash) -> String {
        h.to_string()
    }
}

impl TryFrom<String> for ContentHash {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let bytes = hex::decode(&s).map_err(|e| format!("bad content hash {s:?}: {e}"))?;
        ContentHash::from_bytes(&bytes).ok_or_else(|| format!("content hash {s:?} is not 32 bytes"))
    }
}

/// One news article in normalised form, with where and when it was found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Article {
    /// Normalised one-line title.
    pub title: String,
    /// Normalised one-line body: paragraphs joined by one space.
    pub body: String,
    /// The publisher's calendar day (or the fetch day in the configured zone when the page has none).
    pub date: NaiveDate,
    /// Where the article was read; `None` for archive imports.
    pub url: Option<String>,
    /// The configured source name (`archive` for imports unless renamed).
    pub source: String,
    /// When newswatch first stored it.
    pub fetched_at: DateTime<Utc>,
    /// Hash of `title` and `body`.
    pub hash: ContentHash,
}

impl Article {
    /// Builds an article from raw title and body text, normalising both and computing the hash.
    pub fn new(
        raw_title: &str,
        raw_body: &str,
        date: NaiveDate,
        url: Option<String>,
        source: &str,
        fetched_at: DateTime<Utc>,
    ) -> Self {
        let title = crate::normalise::text(raw_title);
        let body = crate::normalise::text(raw_body);
        let hash = ContentHash::of(&title, &body);
        Article {
            title,
            body,
            date,
            url,
            source: source.to_owned(),
            fetched_at,
            hash,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_ignores_presentation_differences() {
        let day = NaiveDate::from_ymd_opt(2025, 7, 2).unwrap_or_default();
        let now = Utc::now();
        let a = Article::new(
            "武汉，光谷",
            "第一段。  \t第二段。",
            day,
            None,
            "archive",
            now,
        );
        let b = Article::new(
            " 武汉,光谷 ",
            "第一段。\u{2029}第二段。",
            day,
            Some("http://x/".into()),
            "qiaokou",
            now,
        );
        assert_eq!(a.hash, b.hash);
        let c = Article::new("武汉,光谷", "第一段。第二段。", day, None, "archive", now);
        assert_ne!(a.hash, c.hash);
    }

    #[test]
    fn hash_round_trips_through_hex() {
        let h = ContentHash::of("t", "b");
        let back = ContentHash::try_from(h.to_string());
        assert_eq!(back, Ok(h));
        assert!(ContentHash::try_from("zz".to_string()).is_err());
    }
}
