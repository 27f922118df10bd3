//! Crawl: run one source through fetch → extract → normalise → store, and report what happened.
//!
//! A crawl never fails as a whole: every problem becomes a line in its [`CrawlReport`], so one
//! broken source or page never stops the others.

use crate::article::Article;
use crate::config::{SourceConfig, SourceKind};
use crate::extract;
use crate::fetch::Fetcher;
use crate::store::{Inserted, SourceState, Store, StoreError};
use chrono::{NaiveDate, Utc};
use chrono_tz::Tz;
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
    /// Articles that could not be read, each `url: reason`.
    pub failed: Vec<String>,
    /// Why the source as a whole could not be read (its list page), if so.
    pub error: Option<String>,
}

impl CrawlReport {
    fn new(source: &str) -> Self {
        CrawlReport {
            source: source.to_owned(),
            ..CrawlReport::default()
        }
    }

    /// True when nothing failed.
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
        if let Some(e) = &self.error {
            write!(f, "; source failed: {e}")?;
        }
        for failure in &self.failed {
            write!(f, "\n  failed {failure}")?;
        }
        Ok(())
    }
}

/// Everything a crawl needs, shared by all sources.
#[derive(Clone)]
pub struct Crawler {
    pub fetcher: Fetcher,
    pub store: Store,
    pub timezone: Tz,
}

impl Crawler {
    /// Crawls `source` once, stores what is new, queues it for the digest, and records the
    /// outcome in the source's state.
    pub async fn crawl(&self, source: &SourceConfig) -> CrawlReport {
        let mut report = CrawlReport::new(&source.name);
        let started = Utc::now();
        match &source.kind {
            SourceKind::Html {
                links,
                next,
                max_pages,
            } => {
                self.crawl_html(source, links, next.as_ref(), *max_pages, &mut report)
                    .await;
            }
        }
        if let Err(e) = self.record_outcome(source, started, &report).await {
            report.error.get_or_insert_with(|| e.to_string());
        }
        tracing::info!(source = %source.name, new = report.new, duplicate = report.duplicate,
            failed = report.failed.len(), error = report.error.as_deref().unwrap_or(""), "crawled");
        report
    }

    async fn crawl_html(
        &self,
        source: &SourceConfig,
        links: &scraper::Selector,
        next: Option<&scraper::Selector>,
        max_pages: usize,
        report: &mut CrawlReport,
    ) {
        let listed = match self
            .list_links(source, links, next, max_pages, report)
            .await
        {
            Ok(l) => l,
            Err(e) => {
                report.error = Some(e);
                return;
            }
        };
        let mut fetched = 0;
        for url in listed {
            match self.store.has_url(url.as_str()) {
                Ok(true) => {
                    report.known += 1;
                    continue;
                }
                Ok(false) => {}
                Err(e) => {
                    report.error = Some(e.to_string());
                    return;
                }
            }
            if fetched >= source.max_articles {
                break;
            }
            fetched += 1;
            match self.article(source, &url).await {
                Ok(article) => match self.store.insert(&article, true) {
                    Ok(Inserted::New(_)) => report.new += 1,
                    Ok(Inserted::Duplicate(_)) => report.duplicate += 1,
                    Err(e) => {
                        report.error = Some(e.to_string());
                        return;
                    }
                },
                Err(reason) => {
                    tracing::warn!(source = %source.name, %url, %reason, "article failed");
                    report.failed.push(format!("{url}: {reason}"));
                }
            }
        }
    }

    /// Article links from the list page and up to `max_pages - 1` following pages, in listed order.
    async fn list_links(
        &self,
        source: &SourceConfig,
        links: &scraper::Selector,
        next: Option<&scraper::Selector>,
        max_pages: usize,
        report: &mut CrawlReport,
    ) -> Result<Vec<Url>, String> {
        let mut page_url = source.url.clone();
        let mut visited = HashSet::new();
        let mut seen = HashSet::new();
        let mut all = Vec::new();
        for page_no in 0..max_pages {
            visited.insert(page_url.clone());
            let resp = match self.fetcher.get(&page_url).await {
                Ok(r) => r,
                // The first list page is the source; a later one failing only ends pagination.
                Err(e) if page_no == 0 => return Err(format!("list page {e}")),
                Err(e) => {
                    report.failed.push(format!("{page_url}: list page {e}"));
                    break;
                }
            };
            let text = resp.decode(source.encoding.as_deref()).text;
            let page = extract::list_page(&text, &resp.url, links, next);
            if page_no == 0 && page.links.is_empty() {
                return Err(format!(
                    "list page {}: the links selector matched no links",
                    resp.url
                ));
            }
            all.extend(page.links.into_iter().filter(|u| seen.insert(u.clone())));
            match page.next {
                Some(n) if !visited.contains(&n) => page_url = n,
                _ => break,
            }
        }
        Ok(all)
    }

    /// Fetches and reads one article page.
    async fn article(&self, source: &SourceConfig, url: &Url) -> Result<Article, String> {
        let resp = self.fetcher.get(url).await.map_err(|e| e.to_string())?;
        let text = resp.decode(source.encoding.as_deref()).text;
        let raw = extract::article(&text, &source.fields);
        let title = raw.title.ok_or("no title found")?;
        let body = raw.body.ok_or("no body text found")?;
        let date = raw.date.unwrap_or_else(|| self.today());
        let article = Article::new(
            &title,
            &body,
            date,
            Some(url.to_string()),
            &source.name,
            Utc::now(),
        );
        if article.title.is_empty() || article.body.is_empty() {
            return Err("title or body is empty after normalisation".into());
        }
        Ok(article)
    }

    /// Today in the configured zone: the date of pages that show none.
    fn today(&self) -> NaiveDate {
        Utc::now().with_timezone(&self.timezone).date_naive()
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
        self.store.flush().await
    }
}
