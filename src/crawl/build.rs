//! Building an [`Article`] from what extraction found: the one path every crawled page, feed
//! item, `check` and `extract` take, so they all store (or show) the same record.

use super::outcome::ExtractProblem;
use crate::article::Article;
use crate::extract::{self, FieldSelectors, PageHints, feed::FeedItem};
use crate::fetch::{Response, Scope, shown};
use chrono::{NaiveDate, Utc};
use chrono_tz::Tz;
use url::Url;

/// An article read from a page.
#[derive(Debug, Clone)]
pub struct Built {
    pub article: Article,
    /// Other URLs that lead to it (the listed link, the address before redirects).
    pub aliases: Vec<String>,
    /// Whether the page (or its feed item) gave a date; else it is the day it was read.
    pub dated: bool,
}

/// Reads the article in a fetched page listed as `listed` for source `source`: stored under its
/// canonical URL when it names one the source's scope accepts. The `anchor` of the list link
/// that led here, or a feed `item`'s title, names a page that names itself nowhere; the item's
/// date fills in one the page lacks.
pub fn page_article(
    source: &super::Source,
    resp: &Response,
    listed: &Url,
    anchor: Option<&str>,
    item: Option<&FeedItem>,
    timezone: Tz,
) -> Result<Built, ExtractProblem> {
    let text = resp.decode(source.encoding.as_deref()).text;
    let at = At {
        page: &resp.url,
        listed,
        anchor,
        scope: &source.fetch.scope,
    };
    html_article(&text, at, &source.fields, &source.name, item, timezone)
}

/// Where a page was read, and what it may claim.
#[derive(Clone, Copy)]
pub struct At<'a> {
    /// The page's URL, after redirects.
    pub page: &'a Url,
    /// The URL it was listed under.
    pub listed: &'a Url,
    /// The text of the list link that led here, if a list page did.
    pub anchor: Option<&'a str>,
    /// The source's hosts: a canonical URL outside them is not believed.
    pub scope: &'a Scope,
}

/// Reads the article in `html`, a page read at `at`, with `fields`' selectors where they
/// match.
pub fn html_article(
    html: &str,
    at: At<'_>,
    fields: &FieldSelectors,
    source: &str,
    item: Option<&FeedItem>,
    timezone: Tz,
) -> Result<Built, ExtractProblem> {
    let hints = PageHints {
        list_anchor: at
            .anchor
            .or_else(|| item.and_then(|i| i.title.as_deref()))
            .map(str::to_owned),
        fetched_on: Utc::now().with_timezone(&timezone).date_naive(),
    };
    let raw = extract::article_with(html, at.page, fields, &hints);
    let title = raw.title.ok_or(ExtractProblem::NoTitle)?;
    let body = raw.body.ok_or(ExtractProblem::NoBody)?;
    let date = raw.date.or_else(|| item.and_then(|i| i.date));
    // A page names its own canonical URL; pointing at another host it would store its text
    // under a URL it does not own (another source's article, an internal page re-checks
    // would then fetch), so that is not believed.
    let canonical = raw.canonical.filter(|c| {
        let accepted = at.scope.accepts_canonical(c, at.page);
        if !accepted {
            tracing::debug!(page = %shown(at.page), canonical = %shown(c), "canonical URL on another host ignored");
        }
        accepted
    });
    let stored_url = canonical.unwrap_or_else(|| at.listed.clone());
    let article = make_article(
        source,
        &title,
        &body,
        date,
        Some(stored_url.to_string()),
        timezone,
    )?;
    // The other URLs that lead here, except under another source's host: those it reads.
    let aliases = [at.listed, at.page]
        .into_iter()
        .filter(|u| **u != stored_url && at.scope.owner_of(u).is_none())
        .map(Url::to_string)
        .collect();
    Ok(Built {
        article,
        aliases,
        dated: date.is_some(),
    })
}

/// An article from a feed item's own content.
pub fn item_article(
    source: &str,
    item: &FeedItem,
    timezone: Tz,
) -> Result<Article, ExtractProblem> {
    let title = item.title.as_deref().ok_or(ExtractProblem::ItemNoTitle)?;
    let body = item
        .content_html
        .as_deref()
        .map(extract::fragment_text)
        .ok_or(ExtractProblem::ItemNoContent)?;
    let url = item.link.as_ref().map(Url::to_string);
    make_article(source, title, &body, item.date, url, timezone)
}

/// Normalises the fields into an article; a page without a date gets today in `timezone`.
fn make_article(
    source: &str,
    title: &str,
    body: &str,
    date: Option<NaiveDate>,
    url: Option<String>,
    timezone: Tz,
) -> Result<Article, ExtractProblem> {
    let date = date.unwrap_or_else(|| Utc::now().with_timezone(&timezone).date_naive());
    let article = Article::new(title, body, date, url, source, Utc::now());
    if article.title.is_empty() || article.body.is_empty() {
        return Err(ExtractProblem::Empty);
    }
    Ok(article)
}
