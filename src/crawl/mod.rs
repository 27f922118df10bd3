//! Crawl: run one source through fetch → extract → normalise → store, and report what happened.
//!
//! A crawl never fails as a whole: every URL gets a typed outcome in its [`CrawlReport`], so one
//! broken source or page never stops the others. The crawler takes its pages and its store
//! behind two small traits ([`Pages`], [`CrawlStore`]); the crawl layer owns the settings of a
//! source ([`Source`]), which the config assembles.

pub mod build;
pub mod outcome;
pub mod seams;
#[cfg(test)]
mod tests;

pub use outcome::{
    Counts, CrawlError, CrawlHealth, CrawlReport, ExtractProblem, Policy, Stored, UrlOutcome,
    UrlReport,
};
pub use seams::{CrawlStore, Pages};

use crate::article::{Article, Fingerprint, NEAR_DUPLICATE_BITS};
use crate::extract::{self, FieldSelectors, feed::FeedItem};
use crate::fetch::{FetchError, FetchSettings, Fetched, Fetcher, Response, Validators, shown};
use crate::metrics::Metrics;
use crate::notify::Routing;
use crate::schedule::Schedule;
use crate::store::{ArticleId, Inserted, Store, StoreError};
use chrono::Utc;
use chrono_tz::Tz;
use futures_util::StreamExt as _;
use std::collections::HashSet;
use url::Url;

/// What kind of source, with the kind's own settings.
#[derive(Debug, Clone)]
pub enum SourceKind {
    /// An HTML list page whose links lead to article pages.
    Html {
        /// The article links; without it they are found by their look ([`extract::links`]).
        links: Option<scraper::Selector>,
        /// The next list page; without it the usual next-page link is followed.
        next: Option<scraper::Selector>,
        /// List pages read per crawl at most; paging also stops at a list page that brings no
        /// link not already known.
        max_pages: usize,
    },
    /// An RSS, Atom or JSON feed; with `full_text`, each item's link is fetched and its body
    /// extracted from the page instead of taken from the feed.
    Feed { full_text: bool },
}

impl SourceKind {
    pub fn name(&self) -> &'static str {
        match self {
            SourceKind::Html { .. } => "html",
            SourceKind::Feed { .. } => "feed",
        }
    }
}

/// One source: what to crawl, when, and how.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub url: Url,
    pub schedule: Schedule,
    pub kind: SourceKind,
    /// Selectors for the article page; a missing one means automatic extraction.
    pub fields: FieldSelectors,
    /// Charset label overriding what the server and page declare.
    pub encoding: Option<String>,
    /// At most this many new articles per crawl.
    pub max_articles: usize,
    pub fetch: FetchSettings,
    /// Articles first seen this many days ago or less are fetched again on each crawl.
    pub recheck_days: u32,
    /// Versions kept per article, the latest included.
    pub max_revisions: u32,
    /// Consecutive failed crawls before the source is reported as failing (in `status`, the
    /// metrics and the digest footer), so one blip is not noise.
    pub alert_after_failures: u32,
}

/// An article found by a crawl, before it is stored.
struct Found {
    article: Article,
    /// Other URLs that lead to it (the listed link, the address before redirects).
    aliases: Vec<String>,
    validators: Validators,
}

/// A fetch failure as a URL's outcome: a robots.txt the site served and that disallows the
/// URL, or a URL outside the source's hosts, is a policy; anything else (robots.txt
/// unavailable included) is a failure.
fn outcome_of(error: CrawlError) -> UrlOutcome {
    match &error {
        CrawlError::Fetch(e) => {
            Policy::of(e).map_or(UrlOutcome::Failed(error), UrlOutcome::Skipped)
        }
        _ => UrlOutcome::Failed(error),
    }
}

fn store_error(url: &str) -> impl FnOnce(StoreError) -> CrawlError + '_ {
    move |source| CrawlError::Store {
        url: crate::fetch::redact(url).into_owned(),
        source,
    }
}

/// Everything a crawl needs, shared by all sources.
#[derive(Clone)]
pub struct Crawler<P = Fetcher, S = Store> {
    pub pages: P,
    pub store: S,
    pub timezone: Tz,
    /// Which digests each new or updated article is pending for.
    pub routing: Routing,
    pub metrics: Metrics,
}

impl Crawler {
    /// A crawler for `sources`, its fetcher sized by their politeness settings and allowing
    /// `concurrency` requests at once overall.
    pub fn new(
        sources: &[Source],
        concurrency: usize,
        timezone: Tz,
        routing: Routing,
        store: Store,
    ) -> Result<Crawler, FetchError> {
        let hosts = sources.iter().map(|s| (&s.url, &s.fetch));
        Ok(Crawler {
            pages: Fetcher::new(concurrency, hosts)?,
            store,
            timezone,
            routing,
            metrics: Metrics::new(),
        })
    }
}

impl<P: Pages, S: CrawlStore> Crawler<P, S> {
    /// Crawls every source in `sources` once, together, so a slow one does not delay the
    /// others; the reports come back in the same order.
    pub async fn crawl_all(&self, sources: &[&Source]) -> Vec<CrawlReport> {
        futures_util::future::join_all(sources.iter().map(|s| self.crawl(s))).await
    }

    /// Crawls `source` once, stores what is new, puts it in its digests' pending lists, and
    /// records the outcome in the source's state.
    pub async fn crawl(&self, source: &Source) -> CrawlReport {
        let mut report = CrawlReport::new(&source.name);
        let result = match &source.kind {
            SourceKind::Html {
                links,
                next,
                max_pages,
            } => {
                self.crawl_html(
                    source,
                    links.as_ref(),
                    next.as_ref(),
                    *max_pages,
                    &mut report,
                )
                .await
            }
            SourceKind::Feed { full_text } => {
                self.crawl_feed(source, *full_text, &mut report).await
            }
        };
        if let Err(e) = result {
            report.aborted.get_or_insert(e);
        }
        let counts = report.counts();
        self.metrics
            .articles(&source.name, "new", counts.new as u64);
        self.metrics
            .articles(&source.name, "updated", counts.updated as u64);
        self.metrics
            .articles(&source.name, "repost", counts.repost as u64);
        if let Err(e) = self.record(source, &report).await {
            report
                .aborted
                .get_or_insert_with(|| store_error(source.url.as_str())(e));
        }
        let health = report.health();
        self.metrics.crawl(&source.name, health.as_str());
        let error = report.source_error().map(CrawlError::chain);
        tracing::info!(source = %source.name, ?health, new = counts.new,
            duplicate = counts.duplicate, failed = counts.failed, blocked = counts.blocked,
            error = error.as_deref().unwrap_or(""), "crawled");
        report
    }

    async fn record(&self, source: &Source, report: &CrawlReport) -> Result<(), StoreError> {
        let mut state = self.store.source_state(&source.name)?;
        report.record(&mut state);
        self.store.set_source_state(&source.name, &state)?;
        self.store.commit().await
    }

    /// Fetches for `source`, counting the outcome in the metrics.
    async fn fetch(
        &self,
        source: &Source,
        url: &Url,
        validators: Option<&Validators>,
    ) -> Result<Fetched, FetchError> {
        let result = self.pages.get(url, &source.fetch, validators).await;
        let outcome = match &result {
            Ok(Fetched::Page(resp)) => resp.status.as_u16().to_string(),
            Ok(Fetched::NotModified) => "304".to_owned(),
            Err(FetchError::Status { status, .. }) => status.as_u16().to_string(),
            Err(e) => match e.kind() {
                kind @ ("timeout" | "blocked" | "too_large" | "robots_unavailable" | "off_host"
                | "other_source") => kind.to_owned(),
                _ => "error".to_owned(),
            },
        };
        self.metrics.fetch(&source.name, &outcome);
        result
    }

    fn known(&self, url: &Url) -> Result<bool, CrawlError> {
        Ok(self
            .store
            .url_article(url.as_str())
            .map_err(store_error(url.as_str()))?
            .is_some())
    }

    /// Fetches the source's entry point (list page 1 or the feed) conditionally. `None` means
    /// there is nothing more to do: unchanged, skipped or failed, as recorded in `report`.
    async fn entry(
        &self,
        source: &Source,
        report: &mut CrawlReport,
    ) -> Result<Option<Response>, CrawlError> {
        let url = &source.url;
        let validators =
            CrawlStore::validators(&self.store, url.as_str()).map_err(store_error(url.as_str()))?;
        let outcome = match self.fetch(source, url, validators.as_ref()).await {
            Ok(Fetched::Page(resp)) => return Ok(Some(*resp)),
            Ok(Fetched::NotModified) => UrlOutcome::Unchanged,
            // The list page itself moved to a host the source may not use (a site that moved
            // house): the source cannot be read until its url or allowed_hosts says so.
            Err(e @ FetchError::OffScope { .. }) => UrlOutcome::Failed(e.into()),
            Err(e) => outcome_of(e.into()),
        };
        report.pages.push(UrlReport {
            url: shown(url),
            outcome,
        });
        Ok(None)
    }

    async fn crawl_html(
        &self,
        source: &Source,
        links: Option<&scraper::Selector>,
        next: Option<&scraper::Selector>,
        max_pages: usize,
        report: &mut CrawlReport,
    ) -> Result<(), CrawlError> {
        let Some(first) = self.entry(source, report).await? else {
            // An unchanged list can still hide edited articles.
            if report.unchanged() {
                self.recheck(source, None, report).await?;
            }
            return Ok(());
        };
        let first_validators = first.validators.clone();
        let mut requested = vec![source.url.clone()];
        let mut listed: Vec<extract::ListedLink> = Vec::new();
        let mut seen = HashSet::new();
        let mut response = first;
        loop {
            let text = response.decode(source.encoding.as_deref()).text;
            let page = extract::list_page(&text, &response.url, links, next);
            let page_url = requested.last().map_or_else(String::new, shown);
            if requested.len() == 1 && page.links.is_empty() {
                let problem = match links {
                    Some(_) => ExtractProblem::NoLinks,
                    None => ExtractProblem::NoList,
                };
                report.pages.push(UrlReport {
                    url: page_url,
                    outcome: UrlOutcome::Failed(CrawlError::Extract {
                        url: shown(&response.url),
                        problem,
                    }),
                });
                return Ok(());
            }
            report.pages.push(UrlReport {
                url: page_url,
                outcome: UrlOutcome::Listed {
                    links: page.links.len(),
                },
            });
            // A list page that brings nothing new ends paging: what follows is older still.
            let mut fresh = false;
            for link in page.links {
                if !seen.insert(link.url.clone()) {
                    continue;
                }
                fresh = fresh
                    || (source.fetch.scope.check(&link.url).is_ok() && !self.known(&link.url)?);
                listed.push(link);
            }
            if !fresh {
                break;
            }
            let Some(next_url) = page.next.filter(|n| !requested.contains(n)) else {
                break;
            };
            if requested.len() >= max_pages {
                break;
            }
            // A later list page failing only ends pagination.
            let outcome = match self.fetch(source, &next_url, None).await {
                Ok(Fetched::Page(resp)) => {
                    requested.push(next_url);
                    response = *resp;
                    continue;
                }
                Ok(Fetched::NotModified) => UrlOutcome::Unchanged,
                Err(e) => outcome_of(e.into()),
            };
            report.pages.push(UrlReport {
                url: shown(&next_url),
                outcome,
            });
            break;
        }
        // Each listed link gets a slot, so the report keeps the listed order.
        let mut slots: Vec<(Url, Option<UrlOutcome>)> = Vec::with_capacity(listed.len());
        let mut to_fetch = Vec::new();
        for extract::ListedLink { url, anchor } in listed {
            // Checked before max_articles, so links to other hosts never crowd out the
            // source's own; the fetcher checks again, and every redirect.
            let outcome = if let Err(refusal) = source.fetch.scope.check(&url) {
                Some(UrlOutcome::Skipped(Policy::off_scope(&refusal)))
            } else if self.known(&url)? {
                Some(UrlOutcome::Known)
            } else if to_fetch.len() >= source.max_articles {
                Some(UrlOutcome::Skipped(Policy::MaxArticles {
                    limit: source.max_articles,
                }))
            } else {
                to_fetch.push((slots.len(), url.clone(), anchor));
                None
            };
            slots.push((url, outcome));
        }
        // Up to `per_host_concurrency` article pages are fetched and read at once (the fetcher
        // still enforces every per-host and global limit); results are stored one at a time in
        // listed order, so ids and the report come out as with one page after another.
        let width = source.fetch.per_host_concurrency.max(1);
        let mut reads = futures_util::stream::iter(to_fetch.into_iter().map(
            |(slot, url, anchor)| async move {
                let found = self.article_page(source, &url, Some(anchor), None).await;
                (slot, url, found)
            },
        ))
        .buffered(width);
        let mut aborted = None;
        while let Some((slot, url, found)) = reads.next().await {
            // An article stored moments ago by this crawl may have made this link known (its
            // canonical URL or an alias): counted as known, as when fetched one by one.
            let outcome = match self.known(&url) {
                Ok(true) => UrlOutcome::Known,
                Ok(false) => match found {
                    Ok(found) => match self.keep(source, found) {
                        Ok(stored) => UrlOutcome::Stored(stored),
                        Err(e) => {
                            aborted = Some(e);
                            break;
                        }
                    },
                    Err(e) => {
                        tracing::warn!(source = %source.name, url = %crate::short_url(&shown(&url)), reason = %e.chain(), "article failed");
                        outcome_of(e)
                    }
                },
                Err(e) => {
                    aborted = Some(e);
                    break;
                }
            };
            slots[slot].1 = Some(outcome);
        }
        drop(reads);
        report
            .articles
            .extend(slots.into_iter().filter_map(|(url, o)| {
                o.map(|outcome| UrlReport {
                    url: shown(&url),
                    outcome,
                })
            }));
        if let Some(e) = aborted {
            return Err(e);
        }
        // Remember the first list page's validators only once every listed link was dealt
        // with: a 304 next time must not hide an article that failed, or waited for
        // `max_articles`, this time.
        if every_link_dealt_with(report) {
            self.store
                .set_validators(source.url.as_str(), &first_validators)
                .map_err(store_error(source.url.as_str()))?;
        }
        self.recheck(source, None, report).await
    }

    /// Fetches again, conditionally, every article of `source` first stored within
    /// `recheck_days`; one whose text changed becomes a new revision, pending as updated.
    /// `feed` gives the current feed items, whose dates fill in pages that show none.
    async fn recheck(
        &self,
        source: &Source,
        feed: Option<&[FeedItem]>,
        report: &mut CrawlReport,
    ) -> Result<(), CrawlError> {
        if source.recheck_days == 0 {
            return Ok(());
        }
        let since = Utc::now() - chrono::Duration::days(i64::from(source.recheck_days));
        let recent = self
            .store
            .recent(&source.name, since)
            .map_err(store_error(source.url.as_str()))?;
        for (id, stored) in recent {
            // Read moments ago by this very crawl: nothing to re-check yet.
            if stored.fetched_at >= report.started {
                continue;
            }
            let Some(url) = stored.url.as_deref().and_then(|u| Url::parse(u).ok()) else {
                continue;
            };
            let validators = CrawlStore::validators(&self.store, url.as_str())
                .map_err(store_error(url.as_str()))?;
            let outcome = match self.fetch(source, &url, validators.as_ref()).await {
                Ok(Fetched::Page(resp)) => {
                    let item =
                        feed.and_then(|items| items.iter().find(|i| i.link.as_ref() == Some(&url)));
                    match build::page_article(source, &resp, &url, None, item, self.timezone) {
                        Ok(built) => {
                            self.store
                                .set_validators(url.as_str(), &resp.validators)
                                .map_err(store_error(url.as_str()))?;
                            self.revise_if_changed(source, id, &stored, built.article)?
                        }
                        Err(problem) => UrlOutcome::Failed(CrawlError::Extract {
                            url: shown(&url),
                            problem,
                        }),
                    }
                }
                Ok(Fetched::NotModified) => UrlOutcome::Unchanged,
                Err(e) => outcome_of(e.into()),
            };
            if let UrlOutcome::Failed(e) = &outcome {
                tracing::warn!(source = %source.name, url = %crate::short_url(&shown(&url)), error = %e.chain(), "re-check failed");
            }
            report.rechecks.push(UrlReport {
                url: shown(&url),
                outcome,
            });
        }
        Ok(())
    }

    /// The one revision path (re-checks, changed feed items): `now` is stored as a new
    /// revision of article `id` when its text differs from `stored`, under the stored URL,
    /// which stays the article's identity across revisions.
    fn revise_if_changed(
        &self,
        source: &Source,
        id: ArticleId,
        stored: &Article,
        mut now: Article,
    ) -> Result<UrlOutcome, CrawlError> {
        now.url = stored.url.clone();
        if now.hash == stored.hash {
            return Ok(UrlOutcome::Unchanged);
        }
        Ok(UrlOutcome::Stored(self.revise(source, id, &now, &[])?))
    }

    fn revise(
        &self,
        source: &Source,
        id: ArticleId,
        article: &Article,
        aliases: &[&str],
    ) -> Result<Stored, CrawlError> {
        let digests = self.routing.digests_for(article);
        let url = article.url.as_deref().unwrap_or(source.url.as_str());
        match self
            .store
            .revise(id, article, &digests, aliases, source.max_revisions)
            .map_err(store_error(url))?
        {
            Inserted::Revised { .. } => Ok(Stored::Updated),
            _ => Ok(Stored::Duplicate),
        }
    }

    async fn crawl_feed(
        &self,
        source: &Source,
        full_text: bool,
        report: &mut CrawlReport,
    ) -> Result<(), CrawlError> {
        let Some(resp) = self.entry(source, report).await? else {
            return Ok(());
        };
        let items = match extract::feed::parse(&resp.body, &resp.url) {
            Ok(items) => items,
            Err(reason) => {
                report.pages.push(UrlReport {
                    url: shown(&source.url),
                    outcome: UrlOutcome::Failed(CrawlError::Decode {
                        url: shown(&resp.url),
                        reason,
                    }),
                });
                return Ok(());
            }
        };
        report.pages.push(UrlReport {
            url: shown(&source.url),
            outcome: UrlOutcome::Listed { links: items.len() },
        });
        let mut fetched = 0;
        let since = Utc::now() - chrono::Duration::days(i64::from(source.recheck_days));
        for item in &items {
            let at = item.link.as_ref().map_or_else(|| shown(&resp.url), shown);
            let known = match &item.link {
                Some(link) => self
                    .store
                    .url_article(link.as_str())
                    .map_err(store_error(link.as_str()))?,
                None => None,
            };
            // A feed without full text fetches no pages, so only another source's hosts are
            // off limits for its links; with full text, the page's host must be in scope too.
            let refused = item.link.as_ref().and_then(|link| match full_text {
                true => source.fetch.scope.check(link).err(),
                false => source.fetch.scope.owner_of(link).map(|owner| {
                    crate::fetch::OffScope::OtherSource {
                        host: link.host_str().unwrap_or_default().to_owned(),
                        source: owner.to_owned(),
                    }
                }),
            });
            let outcome = if let Some(refusal) = refused {
                UrlOutcome::Skipped(Policy::off_scope(&refusal))
            } else if let Some(id) = known {
                // Without full text the feed item is the article: a changed item is a revision.
                let stored = self.store.article(id).map_err(store_error(&at))?;
                match stored {
                    Some(stored)
                        if !full_text
                            && stored.fetched_at >= since
                            && stored.source == source.name =>
                    {
                        match build::item_article(&source.name, item, self.timezone) {
                            Ok(now) => match self.revise_if_changed(source, id, &stored, now)? {
                                UrlOutcome::Unchanged => UrlOutcome::Known,
                                changed => changed,
                            },
                            Err(_) => UrlOutcome::Known,
                        }
                    }
                    _ => UrlOutcome::Known,
                }
            } else if fetched >= source.max_articles {
                UrlOutcome::Skipped(Policy::MaxArticles {
                    limit: source.max_articles,
                })
            } else {
                fetched += 1;
                let found = match (&item.link, full_text) {
                    (Some(link), true) => self.article_page(source, link, None, Some(item)).await,
                    _ => build::item_article(&source.name, item, self.timezone)
                        .map(|article| Found {
                            article,
                            aliases: Vec::new(),
                            validators: Validators::default(),
                        })
                        .map_err(|problem| CrawlError::Extract {
                            url: at.clone(),
                            problem,
                        }),
                };
                match found {
                    Ok(found) => UrlOutcome::Stored(self.keep(source, found)?),
                    Err(e) => outcome_of(e),
                }
            };
            report.articles.push(UrlReport { url: at, outcome });
        }
        if every_link_dealt_with(report) {
            self.store
                .set_validators(source.url.as_str(), &resp.validators)
                .map_err(store_error(source.url.as_str()))?;
        }
        if full_text {
            self.recheck(source, Some(&items), report).await?;
        }
        Ok(())
    }

    /// Stores a found article: new, an exact duplicate, or — when its fingerprint is within
    /// [`NEAR_DUPLICATE_BITS`] of a stored article — a revision of it (same source: a re-titled
    /// repost, a corrected figure) or a repost of it (another source: the same press release).
    fn keep(&self, source: &Source, found: Found) -> Result<Stored, CrawlError> {
        let aliases: Vec<&str> = found.aliases.iter().map(String::as_str).collect();
        let article = &found.article;
        let url = article.url.as_deref().unwrap_or(source.url.as_str());
        let fingerprint = Fingerprint::of(&article.body);
        let near = match fingerprint {
            Some(fp)
                if self
                    .store
                    .find_hash(&article.hash)
                    .map_err(store_error(url))?
                    .is_none() =>
            {
                self.store
                    .near_duplicate(fp, NEAR_DUPLICATE_BITS)
                    .map_err(store_error(url))?
            }
            _ => None,
        };
        let existing = match near {
            Some((id, bits)) => self
                .store
                .article(id)
                .map_err(store_error(url))?
                .map(|a| (id, bits, a)),
            None => None,
        };
        let stored = if let Some((id, bits, existing)) = existing {
            tracing::info!(source = %source.name, url = article.url.as_deref().map(crate::fetch::redact).as_deref().unwrap_or(""), near = id, bits, "near-duplicate");
            let mut urls: Vec<&str> = aliases.clone();
            urls.extend(article.url.as_deref());
            if existing.source == article.source {
                self.revise(source, id, article, &urls)?
            } else {
                self.store
                    .add_aliases(id, &urls)
                    .map_err(store_error(url))?;
                Stored::Repost
            }
        } else {
            let digests = self.routing.digests_for(article);
            match self
                .store
                .insert(article, fingerprint, &digests, &aliases)
                .map_err(store_error(url))?
            {
                Inserted::New(_) => Stored::New,
                _ => Stored::Duplicate,
            }
        };
        if let Some(stored_url) = &found.article.url {
            self.store
                .set_validators(stored_url, &found.validators)
                .map_err(store_error(url))?;
        }
        Ok(stored)
    }

    /// Fetches and reads one article page, listed as `anchor` on a list page or as `item` in a
    /// feed: either names a page that names itself nowhere, and the item's date fills in one
    /// the page lacks.
    async fn article_page(
        &self,
        source: &Source,
        url: &Url,
        anchor: Option<String>,
        item: Option<&FeedItem>,
    ) -> Result<Found, CrawlError> {
        let resp = match self.fetch(source, url, None).await? {
            Fetched::Page(resp) => resp,
            Fetched::NotModified => {
                return Err(CrawlError::NotModified { url: shown(url) });
            }
        };
        // Parsing and normalising a page is the CPU-heavy part of a crawl: done on the blocking
        // pool, so pages fetched at once are read in parallel on every core.
        let (owned, listed, item, tz) = (source.clone(), url.clone(), item.cloned(), self.timezone);
        let read = tokio::task::spawn_blocking(move || {
            build::page_article(&owned, &resp, &listed, anchor.as_deref(), item.as_ref(), tz)
                .map(|built| (built, resp.validators))
        })
        .await
        .map_err(|source| CrawlError::Task {
            url: shown(url),
            source,
        })?;
        let (built, validators) = read.map_err(|problem| CrawlError::Extract {
            url: shown(url),
            problem,
        })?;
        Ok(Found {
            article: built.article,
            aliases: built.aliases,
            validators,
        })
    }
}

/// Whether every listed link was read or known: no failure, nothing left for the next crawl.
fn every_link_dealt_with(report: &CrawlReport) -> bool {
    !report.pages.iter().chain(&report.articles).any(|r| {
        r.outcome.is_failure()
            || matches!(r.outcome, UrlOutcome::Skipped(Policy::MaxArticles { .. }))
    })
}
