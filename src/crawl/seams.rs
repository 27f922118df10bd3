//! The crawler's two seams: where pages come from ([`Pages`], the fetch stage) and where
//! articles go ([`CrawlStore`], the store). The daemon and the commands use [`Fetcher`] and
//! [`Store`]; the crawler's own tests put doubles behind them, so pagination, known URLs,
//! re-checks, revisions and outcomes are tested without a network or a spawned binary.

use crate::article::{Article, ContentHash, Fingerprint};
use crate::fetch::{FetchError, FetchSettings, Fetched, Fetcher, Validators};
use crate::store::{ArticleId, Inserted, SourceState, Store, StoreError};
use chrono::{DateTime, Utc};
use std::future::Future;
use url::Url;

/// Where a crawl gets its pages.
pub trait Pages: Send + Sync {
    /// A conditional GET of `url` (see [`Fetcher::get`]).
    fn get(
        &self,
        url: &Url,
        settings: &FetchSettings,
        validators: Option<&Validators>,
    ) -> impl Future<Output = Result<Fetched, FetchError>> + Send;
}

impl Pages for Fetcher {
    fn get(
        &self,
        url: &Url,
        settings: &FetchSettings,
        validators: Option<&Validators>,
    ) -> impl Future<Output = Result<Fetched, FetchError>> + Send {
        Fetcher::get(self, url, settings, validators)
    }
}

/// What a crawl reads from and writes to the store.
pub trait CrawlStore: Send + Sync {
    /// The article `url` leads to, if any.
    fn url_article(&self, url: &str) -> Result<Option<ArticleId>, StoreError>;
    fn article(&self, id: ArticleId) -> Result<Option<Article>, StoreError>;
    fn find_hash(&self, hash: &ContentHash) -> Result<Option<ArticleId>, StoreError>;
    fn near_duplicate(
        &self,
        fp: Fingerprint,
        max_bits: u32,
    ) -> Result<Option<(ArticleId, u32)>, StoreError>;
    /// Stores a new article (or finds it a duplicate), pending for `digests`.
    fn insert(
        &self,
        article: &Article,
        fingerprint: Option<Fingerprint>,
        digests: &[String],
        aliases: &[&str],
    ) -> Result<Inserted, StoreError>;
    fn revise(
        &self,
        id: ArticleId,
        article: &Article,
        digests: &[String],
        aliases: &[&str],
        max_revisions: u32,
    ) -> Result<Inserted, StoreError>;
    fn add_aliases(&self, id: ArticleId, urls: &[&str]) -> Result<(), StoreError>;
    /// Articles of `source` with a URL first stored since `since`, newest first.
    fn recent(
        &self,
        source: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<(ArticleId, Article)>, StoreError>;
    fn validators(&self, url: &str) -> Result<Option<Validators>, StoreError>;
    fn set_validators(&self, url: &str, validators: &Validators) -> Result<(), StoreError>;
    fn source_state(&self, name: &str) -> Result<SourceState, StoreError>;
    fn set_source_state(&self, name: &str, state: &SourceState) -> Result<(), StoreError>;
    /// Makes everything written so far durable, and visible to `status` while a daemon runs.
    fn commit(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
}

impl CrawlStore for Store {
    fn url_article(&self, url: &str) -> Result<Option<ArticleId>, StoreError> {
        Store::url_article(self, url)
    }

    fn article(&self, id: ArticleId) -> Result<Option<Article>, StoreError> {
        Store::article(self, id)
    }

    fn find_hash(&self, hash: &ContentHash) -> Result<Option<ArticleId>, StoreError> {
        Store::find_hash(self, hash)
    }

    fn near_duplicate(
        &self,
        fp: Fingerprint,
        max_bits: u32,
    ) -> Result<Option<(ArticleId, u32)>, StoreError> {
        Store::near_duplicate(self, fp, max_bits)
    }

    fn insert(
        &self,
        article: &Article,
        fingerprint: Option<Fingerprint>,
        digests: &[String],
        aliases: &[&str],
    ) -> Result<Inserted, StoreError> {
        Store::insert_fingerprinted(self, article, fingerprint, digests, aliases)
    }

    fn revise(
        &self,
        id: ArticleId,
        article: &Article,
        digests: &[String],
        aliases: &[&str],
        max_revisions: u32,
    ) -> Result<Inserted, StoreError> {
        Store::revise(self, id, article, digests, aliases, max_revisions)
    }

    fn add_aliases(&self, id: ArticleId, urls: &[&str]) -> Result<(), StoreError> {
        Store::add_aliases(self, id, urls)
    }

    fn recent(
        &self,
        source: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<(ArticleId, Article)>, StoreError> {
        Store::recent(self, source, since)
    }

    fn validators(&self, url: &str) -> Result<Option<Validators>, StoreError> {
        Ok(Store::validators(self, url)?.and_then(|b| Validators::from_bytes(&b)))
    }

    fn set_validators(&self, url: &str, validators: &Validators) -> Result<(), StoreError> {
        Store::set_validators(self, url, &validators.to_bytes())
    }

    fn source_state(&self, name: &str) -> Result<SourceState, StoreError> {
        Store::source_state(self, name)
    }

    fn set_source_state(&self, name: &str, state: &SourceState) -> Result<(), StoreError> {
        Store::set_source_state(self, name, state)
    }

    async fn commit(&self) -> Result<(), StoreError> {
        Store::commit(self).await
    }
}
