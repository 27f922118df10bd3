//! What a crawl did, as values: one outcome per URL, and one report per source from which
//! everything else is derived — the crawl's health ([`CrawlReport::health`]), the exit code of
//! `crawl`, what is recorded in the source's state ([`CrawlReport::record`]), the text line and
//! the JSON object `crawl` prints.

use crate::fetch::{FetchError, OffScope};
use crate::store::{SourceState, StoreError};
use chrono::{DateTime, Utc};
use serde::ser::SerializeStruct as _;
use serde::{Serialize, Serializer};
use std::fmt;
use thiserror::Error;

/// What became of a stored article.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stored {
    /// Stored for the first time.
    New,
    /// A new revision of a stored article (its text changed, or a re-titled repost from the
    /// same source).
    Updated,
    /// Its content was already stored (from any source or URL).
    Duplicate,
    /// A near-copy of an article stored from another source: its URL now leads there.
    Repost,
}

/// Why a URL was deliberately not fetched. Not a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Policy {
    /// The site's own robots.txt disallows it.
    RobotsDisallow { reason: String },
    /// The source's `max_articles` for one crawl was reached; it waits for the next crawl.
    MaxArticles { limit: usize },
    /// The URL (or where it redirects) is on a host outside the source's own site and its
    /// `allowed_hosts`.
    OffHost { host: String },
    /// The URL (or where it redirects) is on a host that belongs to another source: that
    /// source reads it.
    OtherSource { host: String, source: String },
}

impl Policy {
    /// The policy a fetch refused under, if it was one: robots.txt or the source's hosts.
    pub fn of(error: &FetchError) -> Option<Policy> {
        match error {
            FetchError::Blocked { reason, .. } => Some(Policy::RobotsDisallow {
                reason: reason.clone(),
            }),
            FetchError::OffScope { refusal, .. } => Some(Policy::off_scope(refusal)),
            _ => None,
        }
    }

    pub fn off_scope(refusal: &OffScope) -> Policy {
        match refusal {
            OffScope::Host { host } => Policy::OffHost { host: host.clone() },
            OffScope::OtherSource { host, source } => Policy::OtherSource {
                host: host.clone(),
                source: source.clone(),
            },
        }
    }

    /// A skip for the source's hosts (rather than robots.txt or `max_articles`).
    fn is_host(&self) -> bool {
        matches!(self, Policy::OffHost { .. } | Policy::OtherSource { .. })
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Policy::RobotsDisallow { reason } => write!(f, "blocked by robots.txt ({reason})"),
            Policy::MaxArticles { limit } => {
                write!(f, "left for the next crawl (max_articles = {limit})")
            }
            Policy::OffHost { host } => write!(
                f,
                "host {host} is not this source's own nor in its allowed_hosts"
            ),
            Policy::OtherSource { host, source } => {
                write!(f, "host {host} belongs to source {source:?}")
            }
        }
    }
}

/// What one URL came to in a crawl.
#[derive(Debug)]
pub enum UrlOutcome {
    /// A list page or feed, read: it listed this many links or items.
    Listed {
        links: usize,
    },
    Stored(Stored),
    /// Already stored: not fetched again.
    Known,
    /// Fetched conditionally and unchanged (HTTP 304, or the same text).
    Unchanged,
    Skipped(Policy),
    Failed(CrawlError),
}

impl UrlOutcome {
    pub fn is_failure(&self) -> bool {
        matches!(self, UrlOutcome::Failed(_))
    }

    /// A short name for the outcome, as in the JSON output.
    pub fn kind(&self) -> &'static str {
        match self {
            UrlOutcome::Listed { .. } => "listed",
            UrlOutcome::Stored(_) => "stored",
            UrlOutcome::Known => "known",
            UrlOutcome::Unchanged => "unchanged",
            UrlOutcome::Skipped(_) => "skipped",
            UrlOutcome::Failed(_) => "failed",
        }
    }
}

/// What was wrong with a page that was fetched but could not be read as an article.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ExtractProblem {
    #[error("the links selector matched no links")]
    NoLinks,
    #[error("no list of article links found on the page (give the source a `links` selector)")]
    NoList,
    #[error("no title found")]
    NoTitle,
    #[error("no body text found")]
    NoBody,
    #[error("title or body is empty after normalisation")]
    Empty,
    #[error("feed item has no title")]
    ItemNoTitle,
    #[error("feed item has no content (set full_text = true to read its page)")]
    ItemNoContent,
}

/// Why a URL failed, with its cause chain.
#[derive(Debug, Error)]
pub enum CrawlError {
    /// Network, HTTP status, timeout, size limit, robots.txt unavailable …
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("{}: 304 to an unconditional request", crate::short_url(.url))]
    NotModified { url: String },
    #[error("{}: {problem}", crate::short_url(.url))]
    Extract {
        url: String,
        problem: ExtractProblem,
    },
    #[error("{}: not a readable feed: {reason}", crate::short_url(.url))]
    Decode { url: String, reason: String },
    #[error("{}: could not be stored", crate::short_url(.url))]
    Store {
        url: String,
        #[source]
        source: StoreError,
    },
    #[error("{}: reading the page stopped", crate::short_url(.url))]
    Task {
        url: String,
        #[source]
        source: tokio::task::JoinError,
    },
}

impl CrawlError {
    /// A short name for what went wrong, as in the JSON output: the fetch stage's kinds
    /// (`network`, `status`, `timeout`, `too_large`, `robots_unavailable`, …), `extract`,
    /// `decode`, `store`, `internal`.
    pub fn kind(&self) -> &'static str {
        match self {
            CrawlError::Fetch(e) => e.kind(),
            CrawlError::NotModified { .. } => "status",
            CrawlError::Extract { .. } => "extract",
            CrawlError::Decode { .. } => "decode",
            CrawlError::Store { .. } => "store",
            CrawlError::Task { .. } => "internal",
        }
    }

    /// The message with its whole cause chain, as reports and the source's state show it.
    pub fn chain(&self) -> String {
        crate::error_chain(self)
    }

    fn status(&self) -> Option<u16> {
        match self {
            CrawlError::Fetch(FetchError::Status { status, .. }) => Some(status.as_u16()),
            CrawlError::Fetch(FetchError::RobotsUnavailable { cause, .. }) => match &**cause {
                FetchError::Status { status, .. } => Some(status.as_u16()),
                _ => None,
            },
            _ => None,
        }
    }
}

impl Serialize for CrawlError {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut e = s.serialize_struct("CrawlError", 3)?;
        e.serialize_field("kind", self.kind())?;
        e.serialize_field("message", &self.chain())?;
        e.serialize_field("status", &self.status())?;
        e.end()
    }
}

impl Serialize for UrlOutcome {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = s.serialize_struct("UrlOutcome", 3)?;
        o.serialize_field("kind", self.kind())?;
        match self {
            UrlOutcome::Listed { links } => o.serialize_field("links", links)?,
            UrlOutcome::Stored(stored) => o.serialize_field("stored", stored)?,
            UrlOutcome::Skipped(Policy::RobotsDisallow { reason }) => {
                o.serialize_field("policy", "robots_disallow")?;
                o.serialize_field("reason", reason)?;
            }
            UrlOutcome::Skipped(Policy::MaxArticles { limit }) => {
                o.serialize_field("policy", "max_articles")?;
                o.serialize_field("limit", limit)?;
            }
            UrlOutcome::Skipped(Policy::OffHost { host }) => {
                o.serialize_field("policy", "off_host")?;
                o.serialize_field("host", host)?;
            }
            UrlOutcome::Skipped(Policy::OtherSource { host, source }) => {
                o.serialize_field("policy", "other_source")?;
                o.serialize_field("host", host)?;
                o.serialize_field("source", source)?;
            }
            UrlOutcome::Failed(error) => o.serialize_field("error", error)?,
            UrlOutcome::Known | UrlOutcome::Unchanged => {}
        }
        o.end()
    }
}

/// One URL and its outcome.
#[derive(Debug, Serialize)]
pub struct UrlReport {
    pub url: String,
    pub outcome: UrlOutcome,
}

/// How one crawl went, for the source's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CrawlHealth {
    /// Nothing failed (policy skips are not failures).
    Ok,
    /// The list page or feed was read, but some pages failed.
    Degraded,
    /// The source could not be read: its list page or feed failed (robots.txt unavailable
    /// included), every article tried failed, or the outcome could not be stored.
    Failed,
}

impl CrawlHealth {
    /// The name used in metrics and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            CrawlHealth::Ok => "ok",
            CrawlHealth::Degraded => "degraded",
            CrawlHealth::Failed => "failed",
        }
    }
}

/// What one crawl of one source did.
#[derive(Debug)]
pub struct CrawlReport {
    pub source: String,
    /// When the crawl began.
    pub started: DateTime<Utc>,
    /// The list pages (or the feed), in the order read; the first is the source's entry and
    /// decides whether the source could be read at all.
    pub pages: Vec<UrlReport>,
    /// Each listed link or feed item.
    pub articles: Vec<UrlReport>,
    /// Recently stored articles fetched again to look for changes. A failed re-check (a deleted
    /// page, a timeout) is reported, not counted against the source.
    pub rechecks: Vec<UrlReport>,
    /// A failure that ended the crawl early (the store failing), if any.
    pub aborted: Option<CrawlError>,
}

/// The counts a report's line and JSON show.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub new: usize,
    pub updated: usize,
    pub duplicate: usize,
    pub repost: usize,
    pub known: usize,
    /// Articles that could not be read, and list pages after the first that failed.
    pub failed: usize,
    /// URLs robots.txt did not let us fetch.
    pub blocked: usize,
    /// Links left for the next crawl by `max_articles`.
    pub over_max_articles: usize,
    /// URLs not fetched because they lead outside the source's hosts (`allowed_hosts`, or a
    /// host of another source).
    pub off_host: usize,
    pub rechecked: usize,
    pub recheck_failed: usize,
}

impl CrawlReport {
    pub fn new(source: &str) -> Self {
        CrawlReport {
            source: source.to_owned(),
            started: Utc::now(),
            pages: Vec::new(),
            articles: Vec::new(),
            rechecks: Vec::new(),
            aborted: None,
        }
    }

    /// The first list page or the feed.
    pub fn entry(&self) -> Option<&UrlReport> {
        self.pages.first()
    }

    /// The list page or feed answered 304: nothing changed since the last crawl.
    pub fn unchanged(&self) -> bool {
        self.entry()
            .is_some_and(|p| matches!(p.outcome, UrlOutcome::Unchanged))
    }

    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for r in self.articles.iter().chain(&self.rechecks) {
            match r.outcome {
                UrlOutcome::Stored(Stored::New) => c.new += 1,
                UrlOutcome::Stored(Stored::Updated) => c.updated += 1,
                UrlOutcome::Stored(Stored::Duplicate) => c.duplicate += 1,
                UrlOutcome::Stored(Stored::Repost) => c.repost += 1,
                _ => {}
            }
        }
        for r in self.pages.iter().skip(1).chain(&self.articles) {
            match r.outcome {
                UrlOutcome::Known => c.known += 1,
                UrlOutcome::Failed(_) => c.failed += 1,
                UrlOutcome::Skipped(Policy::MaxArticles { .. }) => c.over_max_articles += 1,
                _ => {}
            }
        }
        c.blocked = self
            .pages
            .iter()
            .chain(&self.articles)
            .filter(|r| {
                matches!(
                    r.outcome,
                    UrlOutcome::Skipped(Policy::RobotsDisallow { .. })
                )
            })
            .count();
        c.off_host = self
            .pages
            .iter()
            .chain(&self.articles)
            .chain(&self.rechecks)
            .filter(|r| matches!(&r.outcome, UrlOutcome::Skipped(p) if p.is_host()))
            .count();
        c.rechecked = self.rechecks.len();
        c.recheck_failed = self
            .rechecks
            .iter()
            .filter(|r| r.outcome.is_failure())
            .count();
        c
    }

    /// Why the source as a whole could not be read, if so.
    pub fn source_error(&self) -> Option<&CrawlError> {
        self.aborted.as_ref().or_else(|| match self.entry() {
            Some(UrlReport {
                outcome: UrlOutcome::Failed(e),
                ..
            }) => Some(e),
            _ => None,
        })
    }

    /// Every failure that counts against the source: the source's own, then each failed list
    /// page or article. Re-checks are left out (their pages were read before).
    pub fn failures(&self) -> impl Iterator<Item = &CrawlError> {
        let articles = self
            .pages
            .iter()
            .chain(&self.articles)
            .filter_map(|r| match &r.outcome {
                UrlOutcome::Failed(e) => Some(e),
                _ => None,
            });
        self.aborted.iter().chain(articles)
    }

    /// The one rule for how a crawl went. The list page or feed decides whether the source
    /// could be read; a crawl in which every article tried failed read nothing either (a
    /// redesign that broke every page), so it fails too. Some failed pages beside stored ones
    /// degrade the crawl without failing the source.
    pub fn health(&self) -> CrawlHealth {
        if self.source_error().is_some() {
            return CrawlHealth::Failed;
        }
        let tried = self
            .articles
            .iter()
            .filter(|r| matches!(r.outcome, UrlOutcome::Stored(_) | UrlOutcome::Failed(_)))
            .count();
        let failed = self
            .articles
            .iter()
            .filter(|r| r.outcome.is_failure())
            .count();
        if tried > 0 && failed == tried {
            CrawlHealth::Failed
        } else if self.failures().next().is_some() {
            CrawlHealth::Degraded
        } else {
            CrawlHealth::Ok
        }
    }

    /// True when nothing failed: `crawl` exits 0 only then.
    pub fn succeeded(&self) -> bool {
        self.health() == CrawlHealth::Ok
    }

    /// The source's state after this crawl: a failed crawl adds to its consecutive failures
    /// (what `alert_after_failures` counts); any other resets them.
    pub fn record(&self, state: &mut SourceState) {
        let counts = self.counts();
        state.last_attempt = Some(self.started);
        state.articles_stored += counts.new as u64;
        state.errors_total += self.failures().count() as u64;
        let first_error = self.failures().next().map(CrawlError::chain);
        match self.health() {
            CrawlHealth::Failed => {
                state.consecutive_failures += 1;
                state.last_error = first_error;
            }
            CrawlHealth::Ok | CrawlHealth::Degraded => {
                state.last_success = Some(self.started);
                state.consecutive_failures = 0;
                state.last_error = first_error;
            }
        }
    }
}

impl Serialize for CrawlReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut r = s.serialize_struct("CrawlReport", 9)?;
        r.serialize_field("source", &self.source)?;
        r.serialize_field("started", &self.started)?;
        r.serialize_field("health", &self.health())?;
        r.serialize_field("ok", &self.succeeded())?;
        r.serialize_field("counts", &self.counts())?;
        r.serialize_field("error", &self.source_error())?;
        r.serialize_field("pages", &self.pages)?;
        r.serialize_field("articles", &self.articles)?;
        r.serialize_field("rechecks", &self.rechecks)?;
        r.end()
    }
}

/// The line `crawl` prints: `name: N new, N duplicate, N failed, N known[, …]`, then one line
/// per failure and per URL robots.txt blocked.
impl fmt::Display for CrawlReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.counts();
        write!(
            f,
            "{}: {} new, {} duplicate, {} failed, {} known",
            self.source, c.new, c.duplicate, c.failed, c.known
        )?;
        if c.updated > 0 {
            write!(f, ", {} updated", c.updated)?;
        }
        if c.repost > 0 {
            write!(
                f,
                ", {} repost{}",
                c.repost,
                if c.repost == 1 { "" } else { "s" }
            )?;
        }
        if c.rechecked > 0 {
            write!(f, ", {} rechecked", c.rechecked)?;
            if c.recheck_failed > 0 {
                write!(f, " ({} could not be read)", c.recheck_failed)?;
            }
        }
        if c.blocked > 0 {
            write!(f, ", {} blocked by robots.txt", c.blocked)?;
        }
        if c.over_max_articles > 0 {
            write!(
                f,
                ", {} left for the next crawl (max_articles)",
                c.over_max_articles
            )?;
        }
        if c.off_host > 0 {
            write!(f, ", {} on other hosts (allowed_hosts)", c.off_host)?;
        }
        if self.unchanged() {
            write!(f, "; unchanged since last crawl (HTTP 304)")?;
        }
        if let Some(e) = self.source_error() {
            write!(f, "; source failed: {}", e.chain())?;
        }
        for r in self.pages.iter().skip(1).chain(&self.articles) {
            if let UrlOutcome::Failed(e) = &r.outcome {
                let page = if self.pages.iter().any(|p| p.url == r.url) {
                    "list page "
                } else {
                    ""
                };
                write!(f, "\n  failed {page}{}", e.chain())?;
            }
        }
        for r in self.pages.iter().chain(&self.articles) {
            if let UrlOutcome::Skipped(Policy::RobotsDisallow { reason }) = &r.outcome {
                write!(
                    f,
                    "\n  blocked {}: blocked by robots.txt ({reason})",
                    crate::short_url(&r.url)
                )?;
            }
        }
        for r in self
            .pages
            .iter()
            .chain(&self.articles)
            .chain(&self.rechecks)
        {
            if let UrlOutcome::Skipped(policy) = &r.outcome
                && policy.is_host()
            {
                write!(f, "\n  skipped {}: {policy}", r.url)?;
            }
        }
        Ok(())
    }
}
