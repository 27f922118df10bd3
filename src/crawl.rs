//! Crawl: run one source through fetch → extract → normalise → store, and report what happened.
//!
//! A crawl never fails as a whole: every problem becomes a line in its [`CrawlReport`], so one
//! broken source or page never stops the others.

use crate::article::{Article, Fingerprint, NEAR_DUPLICATE_BITS};
use crate::config::{SourceConfig, SourceKind};
use crate::extract::{self, feed::FeedItem};
use crate::fetch::{FetchError, Fetched, Fetcher, Response, Validators};
use crate::notify::Routing;
use crate::store::{Inserted, SourceState, Store, StoreError};
use chrono::{NaiveDate, Utc};
use chrono_tz::Tz;
use futures_util::StreamExt as _;
use std::collections::HashSet;
use std::fmt;
use url::Url;

/// What one crawl of one source did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrawlReport {
    pub source: String,
    /// Articles stored for the first time.
    pub new: usize,
    /// Articles whose content was already stored (from any source or URL).
    pub duplicate: usize,
    /// Listed links already stored, not fetched again.
    pub known: usize,
    /// Stored articles whose text changed (a re-checked page, or a re-titled repost from the
    /// same source): stored as new revisions and queued as updated.
    pub updated: usize,
    /// Near-copies of an article already stored from another source: not queued again.
    pub reposts: usize,
    /// Recently stored articles fetched again to look for changes (unchanged ones included).
    pub rechecked: usize,
    /// Re-checks that failed (a deleted page, a timeout): logged, not failures of the source.
    pub recheck_errors: usize,
    /// The list page or feed answered 304: nothing changed since the last crawl.
    pub unchanged: bool,
    /// URLs robots.txt did not let us fetch, each `url: why`. Not failures.
    pub blocked: Vec<String>,
    /// Articles that could not be read, each `url: reason`.
    pub failed: Vec<String>,
    /// Why the source as a whole could not be read (its list page or feed), if so.
    pub error: Option<String>,
    /// When the crawl began.
    pub started: chrono::DateTime<Utc>,
}

impl CrawlReport {
    fn new(source: &str) -> Self {
        CrawlReport {
            source: source.to_owned(),
            started: Utc::now(),
            ..CrawlReport::default()
        }
    }

    /// True when nothing failed (robots.txt blocks are not failures).
    pub fn succeeded(&self) -> bool {
        self.error.is_none() && self.failed.is_empty()
    }
}

impl fmt::Display for CrawlReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} new, {} duplicate, {} failed, {} known",
            self.source,
            self.new,
            self.duplicate,
            self.failed.len(),
            self.known
        )?;
        if self.updated > 0 {
            write!(f, ", {} updated", self.updated)?;
        }
        if self.reposts > 0 {
            write!(
                f,
                ", {} repost{}",
                self.reposts,
                if self.reposts == 1 { "" } else { "s" }
            )?;
        }
        if self.rechecked > 0 {
            write!(f, ", {} rechecked", self.rechecked)?;
            if self.recheck_errors > 0 {
                write!(f, " ({} could not be read)", self.recheck_errors)?;
            }
        }
        if !self.blocked.is_empty() {
            write!(f, ", {} blocked by robots.txt", self.blocked.len())?;
        }
        if self.unchanged {
            write!(f, "; unchanged since last crawl (HTTP 304)")?;
        }
        if let Some(e) = &self.error {
            write!(f, "; source failed: {e}")?;
        }
        for failure in &self.failed {
            write!(f, "\n  failed {failure}")?;
        }
        for blocked in &self.blocked {
            write!(f, "\n  blocked {blocked}")?;
        }
        Ok(())
    }
}

/// An article found by a crawl, before it is stored.
struct Found {
    article: Article,
    /// Other URLs that lead to it (the listed link, the address before redirects).
    aliases: Vec<String>,
    validators: Validators,
}

/// Everything a crawl needs, shared by all sources.
#[derive(Clone)]
pub struct Crawler {
    pub fetcher: Fetcher,
    pub store: Store,
    pub timezone: Tz,
    /// Which digests each new or updated article is queued for.
    pub routing: Routing,
    pub metrics: crate::metrics::Metrics,
}

impl Crawler {
    /// A crawler for `config`'s sources, its fetcher sized by their politeness settings.
    pub fn new(config: &crate::config::Config, store: Store) -> Result<Crawler, FetchError> {
        let hosts = config.sources.iter().map(|s| (&s.url, &s.fetch));
        Ok(Crawler {
            fetcher: Fetcher::new(config.settings.concurrency, hosts)?,
            store,
            timezone: config.settings.timezone,
            routing: Routing::new(&config.digests),
            metrics: crate::metrics::Metrics::new(),
        })
    }

    /// Crawls `source` once, stores what is new, queues it for the digest, and records the
    /// outcome in the source's state.
    pub async fn crawl(&self, source: &SourceConfig) -> CrawlReport {
        let mut report = CrawlReport::new(&source.name);
        let started = report.started;
        let result = match &source.kind {
            SourceKind::Html {
                links,
                next,
                max_pages,
            } => {
                self.crawl_html(source, links, next.as_ref(), *max_pages, &mut report)
                    .await
            }
            SourceKind::Feed { full_text } => {
                self.crawl_feed(source, *full_text, &mut report).await
            }
        };
        if let Err(e) = result {
            report.error.get_or_insert_with(|| e.to_string());
        }
        self.metrics
            .articles(&source.name, "new", report.new as u64);
        self.metrics
            .articles(&source.name, "updated", report.updated as u64);
        self.metrics
            .articles(&source.name, "repost", report.reposts as u64);
        if let Err(e) = self.record_outcome(source, started, &report).await {
            report.error.get_or_insert_with(|| e.to_string());
        }
        tracing::info!(source = %source.name, new = report.new, duplicate = report.duplicate,
            failed = report.failed.len(), blocked = report.blocked.len(),
            error = report.error.as_deref().unwrap_or(""), "crawled");
        report
    }

    /// Fetches for `source`, counting the outcome in the metrics.
    async fn fetch(
        &self,
        source: &SourceConfig,
        url: &Url,
        policy: &crate::fetch::FetchPolicy,
        validators: Option<&Validators>,
    ) -> Result<Fetched, FetchError> {
        let result = self.fetcher.get(url, policy, validators).await;
        let outcome = match &result {
            Ok(Fetched::Page(resp)) => resp.status.as_u16().to_string(),
            Ok(Fetched::NotModified) => "304".to_owned(),
            Err(FetchError::Status { status, .. }) => status.as_u16().to_string(),
            Err(FetchError::Timeout { .. }) => "timeout".to_owned(),
            Err(FetchError::Blocked { .. }) => "blocked".to_owned(),
            Err(FetchError::TooLarge { .. }) => "too_large".to_owned(),
            Err(_) => "error".to_owned(),
        };
        self.metrics.fetch(&source.name, &outcome);
        result
    }

    /// Fetches the source's entry point (list page 1 or the feed) conditionally. `None` means
    /// there is nothing to do: unchanged, blocked, or failed (recorded in `report`).
    async fn entry(
        &self,
        source: &SourceConfig,
        url: &Url,
        report: &mut CrawlReport,
    ) -> Result<Option<Response>, StoreError> {
        let validators = self.store.validators(url.as_str())?;
        match self
            .fetch(source, url, &source.fetch, validators.as_ref())
            .await
        {
            Ok(Fetched::Page(resp)) => Ok(Some(*resp)),
            Ok(Fetched::NotModified) => {
                report.unchanged = true;
                Ok(None)
            }
            Err(e) if e.is_blocked() => {
                report.blocked.push(e.to_string());
                Ok(None)
            }
            Err(e) => {
                report.error = Some(e.to_string());
                Ok(None)
            }
        }
    }

    async fn crawl_html(
        &self,
        source: &SourceConfig,
        links: &scraper::Selector,
        next: Option<&scraper::Selector>,
        max_pages: usize,
        report: &mut CrawlReport,
    ) -> Result<(), StoreError> {
        let Some(first) = self.entry(source, &source.url, report).await? else {
            // An unchanged list can still hide edited articles.
            if report.unchanged {
                self.recheck(source, None, report).await?;
            }
            return Ok(());
        };
        let mut pages = vec![(source.url.clone(), first.validators.clone())];
        let mut listed = Vec::new();
        let mut seen = HashSet::new();
        let mut response = first;
        loop {
            let text = response.decode(source.encoding.as_deref()).text;
            let page = extract::list_page(&text, &response.url, links, next);
            if pages.len() == 1 && page.links.is_empty() {
                report.error = Some(format!(
                    "list page {}: the links selector matched no links",
                    response.url
                ));
                return Ok(());
            }
            listed.extend(page.links.into_iter().filter(|u| seen.insert(u.clone())));
            let Some(next_url) = page.next.filter(|n| !pages.iter().any(|(p, _)| p == n)) else {
                break;
            };
            if pages.len() >= max_pages {
                break;
            }
            match self.fetch(source, &next_url, &source.fetch, None).await {
                Ok(Fetched::Page(resp)) => {
                    pages.push((next_url, resp.validators.clone()));
                    response = *resp;
                }
                Ok(Fetched::NotModified) => break,
                Err(e) if e.is_blocked() => {
                    report.blocked.push(e.to_string());
                    break;
                }
                // A later list page failing only ends pagination.
                Err(e) => {
                    report.failed.push(format!("list page {e}"));
                    break;
                }
            }
        }
        let mut to_fetch = Vec::new();
        for url in listed {
            if self.store.has_url(url.as_str())? {
                report.known += 1;
                continue;
            }
            if to_fetch.len() >= source.max_articles {
                break;
            }
            to_fetch.push(url);
        }
        // Up to `per_host_concurrency` article pages are fetched and read at once (the fetcher
        // still enforces every per-host and global limit); results are stored one at a time in
        // listed order, so ids and the report come out as with one page after another.
        let width = source.fetch.per_host_concurrency.max(1);
        let mut reads = futures_util::stream::iter(to_fetch.into_iter().map(|url| async move {
            let found = self.article_page(source, &url, None).await;
            (url, found)
        }))
        .buffered(width);
        while let Some((url, found)) = reads.next().await {
            // An article stored moments ago by this crawl may have made this link known (its
            // canonical URL or an alias): counted as known, as when fetched one by one.
            if self.store.has_url(url.as_str())? {
                report.known += 1;
                continue;
            }
            match found {
                Ok(found) => self.keep(source, found, report)?,
                Err(e) if e.is_blocked() => report.blocked.push(e.to_string()),
                Err(e) => {
                    tracing::warn!(source = %source.name, %url, reason = %e, "article failed");
                    report.failed.push(e.to_string());
                }
            }
        }
        // Remember the first list page's validators only once every listed link was dealt
        // with: a 304 next time must not hide an article that failed this time.
        if report.failed.is_empty()
            && let Some((url, v)) = pages.first()
        {
            self.store.set_validators(url.as_str(), v)?;
        }
        self.recheck(source, None, report).await
    }

    /// Fetches again, conditionally, every article of `source` first stored within
    /// `recheck_days`; one whose text changed becomes a new revision, queued as updated.
    /// `feed` gives the current feed items, whose dates fill in pages that show none.
    async fn recheck(
        &self,
        source: &SourceConfig,
        feed: Option<&[FeedItem]>,
        report: &mut CrawlReport,
    ) -> Result<(), StoreError> {
        if source.recheck_days == 0 {
            return Ok(());
        }
        let since = Utc::now() - chrono::Duration::days(i64::from(source.recheck_days));
        for (id, stored) in self.store.recent(&source.name, since)? {
            // Read moments ago by this very crawl: nothing to re-check yet.
            if stored.fetched_at >= report.started {
                continue;
            }
            let Some(url) = stored.url.as_deref().and_then(|u| Url::parse(u).ok()) else {
                continue;
            };
            report.rechecked += 1;
            let validators = self.store.validators(url.as_str())?;
            let resp = match self
                .fetch(source, &url, &source.fetch, validators.as_ref())
                .await
            {
                Ok(Fetched::Page(resp)) => resp,
                Ok(Fetched::NotModified) => continue,
                Err(e) => {
                    tracing::warn!(source = %source.name, %url, error = %e, "re-check failed");
                    report.recheck_errors += 1;
                    continue;
                }
            };
            let item = feed.and_then(|items| items.iter().find(|i| i.link.as_ref() == Some(&url)));
            let article = match page_article(source, &resp, &url, item, self.timezone) {
                Ok((mut article, _)) => {
                    // The stored URL stays the article's identity across revisions.
                    article.url = stored.url.clone();
                    article
                }
                Err(e) => {
                    tracing::warn!(source = %source.name, %url, error = %e, "re-check unreadable");
                    report.recheck_errors += 1;
                    continue;
                }
            };
            self.store.set_validators(url.as_str(), &resp.validators)?;
            if article.hash != stored.hash {
                self.revise(source, id, &article, &[], report)?;
            }
        }
        Ok(())
    }

    fn revise(
        &self,
        source: &SourceConfig,
        id: crate::store::ArticleId,
        article: &Article,
        aliases: &[&str],
        report: &mut CrawlReport,
    ) -> Result<(), StoreError> {
        let queues = self.routing.queues_for(article);
        match self
            .store
            .revise(id, article, &queues, aliases, source.max_revisions)?
        {
            Inserted::Revised { .. } => report.updated += 1,
            _ => report.duplicate += 1,
        }
        Ok(())
    }

    async fn crawl_feed(
        &self,
        source: &SourceConfig,
        full_text: bool,
        report: &mut CrawlReport,
    ) -> Result<(), StoreError> {
        let Some(resp) = self.entry(source, &source.url, report).await? else {
            return Ok(());
        };
        let items = match extract::feed::parse(&resp.body, &resp.url) {
            Ok(items) => items,
            Err(e) => {
                report.error = Some(format!("feed {}: not a readable feed: {e}", resp.url));
                return Ok(());
            }
        };
        let mut fetched = 0;
        let since = Utc::now() - chrono::Duration::days(i64::from(source.recheck_days));
        for item in &items {
            if let Some(link) = &item.link
                && let Some(id) = self.store.url_article(link.as_str())?
            {
                report.known += 1;
                // Without full text the feed item is the article: a changed item is a revision.
                if !full_text
                    && let Some(stored) = self.store.article(id)?
                    && stored.fetched_at >= since
                    && stored.source == source.name
                    && let Ok(mut now) = item_article(source, item, self.timezone)
                {
                    now.url = stored.url.clone();
                    if now.hash != stored.hash {
                        self.revise(source, id, &now, &[], report)?;
                    }
                }
                continue;
            }
            if fetched >= source.max_articles {
                break;
            }
            fetched += 1;
            let where_ = item
                .link
                .as_ref()
                .map_or_else(|| resp.url.to_string(), Url::to_string);
            let found = match (&item.link, full_text) {
                (Some(link), true) => self
                    .article_page(source, link, Some(item))
                    .await
                    .map_err(|e| (e.is_blocked(), e.to_string())),
                _ => self
                    .feed_article(source, item)
                    .map_err(|e| (false, format!("{where_}: {e}"))),
            };
            match found {
                Ok(found) => self.keep(source, found, report)?,
                Err((true, e)) => report.blocked.push(e),
                Err((false, e)) => report.failed.push(e),
            }
        }
        if report.failed.is_empty() {
            self.store
                .set_validators(source.url.as_str(), &resp.validators)?;
        }
        if full_text {
            self.recheck(source, Some(&items), report).await?;
        }
        Ok(())
    }

    /// Stores a found article: new, an exact duplicate, or — when its fingerprint is within
    /// [`NEAR_DUPLICATE_BITS`] of a stored article — a revision of it (same source: a re-titled
    /// repost, a corrected figure) or a repost of it (another source: the same press release).
    fn keep(
        &self,
        source: &SourceConfig,
        found: Found,
        report: &mut CrawlReport,
    ) -> Result<(), StoreError> {
        let aliases: Vec<&str> = found.aliases.iter().map(String::as_str).collect();
        let article = &found.article;
        let fingerprint = Fingerprint::of(&article.body);
        let near = match fingerprint {
            Some(fp) if self.store.find_hash(&article.hash)?.is_none() => {
                self.store.near_duplicate(fp, NEAR_DUPLICATE_BITS)?
            }
            _ => None,
        };
        if let Some((id, bits)) = near
            && let Some(existing) = self.store.article(id)?
        {
            tracing::info!(source = %source.name, url = ?article.url, near = id, bits, "near-duplicate");
            let mut urls: Vec<&str> = aliases.clone();
            urls.extend(article.url.as_deref());
            if existing.source == article.source {
                self.revise(source, id, article, &urls, report)?;
            } else {
                self.store.add_aliases(id, &urls)?;
                report.reposts += 1;
            }
        } else {
            let queues = self.routing.queues_for(article);
            match self
                .store
                .insert_fingerprinted(article, fingerprint, &queues, &aliases)?
            {
                Inserted::New(_) => report.new += 1,
                _ => report.duplicate += 1,
            }
        }
        if let Some(url) = &found.article.url {
            self.store.set_validators(url, &found.validators)?;
        }
        Ok(())
    }

    /// An article from a feed item's own content.
    fn feed_article(&self, source: &SourceConfig, item: &FeedItem) -> Result<Found, String> {
        Ok(Found {
            article: item_article(source, item, self.timezone)?,
            aliases: Vec::new(),
            validators: Validators::default(),
        })
    }

    /// Fetches and reads one article page. A feed `item` fills in a title or date the page lacks.
    async fn article_page(
        &self,
        source: &SourceConfig,
        url: &Url,
        item: Option<&FeedItem>,
    ) -> Result<Found, ArticleError> {
        let resp = match self.fetch(source, url, &source.fetch, None).await? {
            Fetched::Page(resp) => resp,
            Fetched::NotModified => {
                return Err(ArticleError::Page(
                    url.to_string(),
                    "304 to an unconditional request".into(),
                ));
            }
        };
        // Parsing and normalising a page is the CPU-heavy part of a crawl: done on the blocking
        // pool, so pages fetched at once are read in parallel on every core.
        let (source, listed, item, tz) =
            (source.clone(), url.clone(), item.cloned(), self.timezone);
        let read = tokio::task::spawn_blocking(move || {
            page_article(&source, &resp, &listed, item.as_ref(), tz).map(|r| (r, resp.validators))
        })
        .await
        .map_err(|e| {
            ArticleError::Page(url.to_string(), format!("reading the page failed: {e}"))
        })?;
        let ((article, aliases), validators) =
            read.map_err(|e| ArticleError::Page(url.to_string(), e))?;
        Ok(Found {
            article,
            aliases,
            validators,
        })
    }

    async fn record_outcome(
        &self,
        source: &SourceConfig,
        started: chrono::DateTime<Utc>,
        report: &CrawlReport,
    ) -> Result<(), StoreError> {
        let mut state: SourceState = self.store.source_state(&source.name)?;
        state.last_attempt = Some(started);
        state.articles_stored += report.new as u64;
        state.errors_total += report.failed.len() as u64 + u64::from(report.error.is_some());
        if report.succeeded() {
            state.last_success = Some(started);
            state.consecutive_failures = 0;
            state.last_error = None;
        } else {
            state.consecutive_failures += 1;
            state.last_error = report
                .error
                .clone()
                .or_else(|| report.failed.first().cloned());
        }
        self.store.set_source_state(&source.name, &state)?;
        self.store.flush().await?;
        self.store.write_status_snapshot()
    }
}

/// Reads the article in a fetched page listed as `listed`, with the URL it is stored under
/// (its canonical URL when it names one) and the other URLs that lead to it.
pub fn page_article(
    source: &SourceConfig,
    resp: &Response,
    listed: &Url,
    item: Option<&FeedItem>,
    timezone: Tz,
) -> Result<(Article, Vec<String>), String> {
    let text = resp.decode(source.encoding.as_deref()).text;
    let raw = extract::article(&text, &resp.url, &source.fields);
    let title = raw
        .title
        .or_else(|| item.and_then(|i| i.title.clone()))
        .ok_or("no title found")?;
    let body = raw.body.ok_or("no body text found")?;
    let date = raw.date.or_else(|| item.and_then(|i| i.date));
    let stored_url = raw.canonical.unwrap_or_else(|| listed.clone());
    let article = make_article(
        source,
        &title,
        &body,
        date,
        Some(stored_url.to_string()),
        timezone,
    )?;
    let aliases = [listed, &resp.url]
        .into_iter()
        .filter(|u| **u != stored_url)
        .map(Url::to_string)
        .collect();
    Ok((article, aliases))
}

/// An article from a feed item's own content.
pub fn item_article(
    source: &SourceConfig,
    item: &FeedItem,
    timezone: Tz,
) -> Result<Article, String> {
    let title = item.title.as_deref().ok_or("feed item has no title")?;
    let body = item
        .content_html
        .as_deref()
        .map(extract::fragment_text)
        .ok_or("feed item has no content (set full_text = true to read its page)")?;
    let url = item.link.as_ref().map(Url::to_string);
    make_article(source, title, &body, item.date, url, timezone)
}

/// Normalises the fields into an article; a page without a date gets today in `timezone`.
fn make_article(
    source: &SourceConfig,
    title: &str,
    body: &str,
    date: Option<NaiveDate>,
    url: Option<String>,
    timezone: Tz,
) -> Result<Article, String> {
    let date = date.unwrap_or_else(|| Utc::now().with_timezone(&timezone).date_naive());
    let article = Article::new(title, body, date, url, &source.name, Utc::now());
    if article.title.is_empty() || article.body.is_empty() {
        return Err("title or body is empty after normalisation".into());
    }
    Ok(article)
}

/// Why one article page could not be read.
enum ArticleError {
    Fetch(FetchError),
    Page(String, String),
}

impl ArticleError {
    fn is_blocked(&self) -> bool {
        matches!(self, ArticleError::Fetch(e) if e.is_blocked())
    }
}

impl From<FetchError> for ArticleError {
    fn from(e: FetchError) -> Self {
        ArticleError::Fetch(e)
    }
}

impl fmt::Display for ArticleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArticleError::Fetch(e) => write!(f, "{e}"),
            ArticleError::Page(url, why) => write!(f, "{url}: {why}"),
        }
    }
}
