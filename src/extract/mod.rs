//! Extract: find links, title, body and date in fetched HTML.
//!
//! Everything here is synchronous on purpose: `scraper::Html` is not `Send`, so a document is
//! parsed and fully read inside one call and only owned results cross an `.await`.

pub mod auto;
mod depth;
pub mod feed;
pub mod links;
pub mod text;

pub use links::ListedLink;

use crate::normalise::BLOCK_BREAK;
use chrono::NaiveDate;
use scraper::{ElementRef, Html, Selector};
use std::collections::HashSet;
use url::Url;

/// Parses a whole page, first capping hostile nesting depth (see [`depth`]).
pub fn parse_document(html: &str) -> Html {
    Html::parse_document(&depth::cap_nesting(html, depth::MAX_DEPTH))
}

/// What a list page offers: article links in page order, and the next list page.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ListPage {
    /// Each link with its visible text: the article's title as the list shows it (see
    /// [`PageHints::list_anchor`]).
    pub links: Vec<ListedLink>,
    pub next: Option<Url>,
    /// Why these links, when no `links` selector chose them: the group chosen and the groups
    /// passed over (see [`links::article_links`]).
    pub links_why: Option<String>,
    /// How the next page was recognised, when no `next` selector named it (see
    /// [`links::next_page`]).
    pub next_why: Option<String>,
}

/// Reads a list page. With a `links` selector, every element it matches (an `<a>`, or an
/// element holding one); without, the group of links that reads like a news list
/// ([`links::article_links`]). Links are resolved against the page URL (or its `<base href>`),
/// fragments and tracking parameters dropped, duplicates removed. The next page is the first
/// link `next` matches; without `next`, the usual next-page link ([`links::next_page`]). A
/// selector given always wins: one that matches nothing means no links, or no next page.
pub fn list_page(
    html: &str,
    page_url: &Url,
    links: Option<&Selector>,
    next: Option<&Selector>,
) -> ListPage {
    let doc = parse_document(html);
    let base = base_url(&doc, page_url);
    let mut out = ListPage::default();
    match links {
        Some(links) => {
            let mut seen = HashSet::new();
            for el in doc.select(links) {
                if let Some(url) = link_of(el, &base)
                    && seen.insert(url.clone())
                {
                    out.links.push(ListedLink {
                        url,
                        anchor: crate::normalise::text(&text::visible_text(el)),
                    });
                }
            }
        }
        None => match links::article_links_in(&doc, page_url) {
            Some(found) => {
                out.links = found.links;
                out.links_why = Some(found.why);
            }
            None => {
                out.links_why =
                    Some("no group of three or more links reads like a list of headlines".into());
            }
        },
    }
    match next {
        Some(next) => out.next = doc.select(next).find_map(|el| link_of(el, &base)),
        None => {
            if let Some(found) = links::next_page_in(&doc, page_url) {
                out.next = Some(found.url);
                out.next_why = Some(found.why);
            }
        }
    }
    out
}

fn base_url(doc: &Html, page_url: &Url) -> Url {
    static BASE: std::sync::LazyLock<Option<Selector>> =
        std::sync::LazyLock::new(|| Selector::parse("base[href]").ok());
    BASE.as_ref()
        .and_then(|s| doc.select(s).next())
        .and_then(|b| b.attr("href"))
        .and_then(|h| page_url.join(h.trim()).ok())
        .unwrap_or_else(|| page_url.clone())
}

/// Query parameters that only track the reader; two links differing in them are one article.
fn is_tracking_param(name: &str) -> bool {
    name.starts_with("utm_")
        || matches!(
            name,
            "fbclid" | "gclid" | "mc_cid" | "mc_eid" | "spm" | "from_source"
        )
}

/// A link as newswatch remembers it: no fragment, no tracking parameters.
pub fn clean_url(mut url: Url) -> Url {
    url.set_fragment(None);
    if url.query().is_some() {
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| !is_tracking_param(k))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if kept.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(kept);
        }
    }
    url
}

/// The http(s) URL an element links to: its own `href`, or that of its first `<a href>`.
fn link_of(el: ElementRef<'_>, base: &Url) -> Option<Url> {
    static A: std::sync::LazyLock<Option<Selector>> =
        std::sync::LazyLock::new(|| Selector::parse("a[href]").ok());
    let href = el.attr("href").or_else(|| {
        A.as_ref()
            .and_then(|a| el.select(a).next())
            .and_then(|a| a.attr("href"))
    })?;
    let href = href.trim();
    if href.is_empty() || href.starts_with('#') {
        return None;
    }
    let url = base.join(href).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    Some(clean_url(url))
}

/// CSS selectors for the article page's fields.
#[derive(Debug, Default, Clone)]
pub struct FieldSelectors {
    pub title: Option<Selector>,
    pub body: Option<Selector>,
    pub date: Option<Selector>,
}

/// Raw fields of an article page, before normalisation. Body text carries [`BLOCK_BREAK`]s.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RawArticle {
    pub title: Option<String>,
    pub body: Option<String>,
    pub date: Option<NaiveDate>,
    /// The page's `<link rel="canonical">`, when it names an http(s) URL.
    pub canonical: Option<Url>,
}

/// What the crawler knows about an article page besides its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageHints {
    /// The text of the list-page link that led here: the title of last resort but one.
    pub list_anchor: Option<String>,
    /// The day the page was fetched, in the user's time zone: no later date is a publication
    /// date.
    pub fetched_on: NaiveDate,
}

impl Default for PageHints {
    /// No anchor; fetched today wherever the user is (UTC+14, the earliest calendar, so a page
    /// published today anywhere is not mistaken for the future).
    fn default() -> Self {
        PageHints {
            list_anchor: None,
            fetched_on: (chrono::Utc::now() + chrono::Duration::hours(14)).date_naive(),
        }
    }
}

/// An article page read from its bytes: how they were decoded, and the fields found.
#[derive(Debug, Clone)]
pub struct PageRead {
    pub decoded: crate::fetch::charset::Decoded,
    pub article: RawArticle,
}

/// Reads an article page from the bytes served — charset detection (see
/// [`charset::decode`](crate::fetch::charset::decode)), then [`article_with`] — the path every
/// page takes into the store.
pub fn read_page(
    bytes: &[u8],
    content_type: Option<&str>,
    encoding: Option<&str>,
    page_url: &Url,
    selectors: &FieldSelectors,
    hints: &PageHints,
) -> PageRead {
    let decoded = crate::fetch::charset::decode(bytes, content_type, encoding);
    let article = article_with(&decoded.text, page_url, selectors, hints);
    PageRead { decoded, article }
}

/// [`article_with`] for a page fetched today, with no list link known.
pub fn article(html: &str, page_url: &Url, selectors: &FieldSelectors) -> RawArticle {
    article_with(html, page_url, selectors, &PageHints::default())
}

/// Reads an article page at `page_url`: each field by its selector when one is given and
/// matches, else automatically (see [`auto`]) — so a source without article selectors works,
/// and one whose selectors went stale after a redesign degrades instead of going silent.
pub fn article_with(
    html: &str,
    page_url: &Url,
    selectors: &FieldSelectors,
    hints: &PageHints,
) -> RawArticle {
    let doc = parse_document(html);
    let by_selector = RawArticle {
        title: selectors.title.as_ref().and_then(|s| first_text(&doc, s)),
        body: selectors.body.as_ref().and_then(|s| joined_text(&doc, s)),
        date: selectors.date.as_ref().and_then(|s| first_date(&doc, s)),
        canonical: canonical(&doc, page_url),
    };
    match (&by_selector.title, &by_selector.body, &by_selector.date) {
        (Some(_), Some(_), Some(_)) => by_selector,
        (_, None, _) => {
            // The body analysis also finds the title and the date: do it once for all three.
            let auto = auto::article_with(&doc, Some(page_url), hints);
            RawArticle {
                title: by_selector.title.or(auto.title),
                body: auto.body,
                date: by_selector.date.or(auto.date),
                canonical: by_selector.canonical,
            }
        }
        _ => RawArticle {
            title: by_selector.title.or_else(|| auto::title_with(&doc, hints)),
            date: by_selector
                .date
                .or_else(|| auto::date_with(&doc, Some(page_url), hints)),
            ..by_selector
        },
    }
}

/// How many elements `sel` matches in `html` (for `newswatch check`).
pub fn count_matches(html: &str, sel: &Selector) -> usize {
    parse_document(html).select(sel).count()
}

fn canonical(doc: &Html, page_url: &Url) -> Option<Url> {
    static CANONICAL: std::sync::LazyLock<Option<Selector>> =
        std::sync::LazyLock::new(|| Selector::parse("link[rel~=canonical][href]").ok());
    let href = CANONICAL
        .as_ref()
        .and_then(|s| doc.select(s).next())?
        .attr("href")?;
    let url = base_url(doc, page_url).join(href.trim()).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| clean_url(url))
}

/// Visible text of an HTML fragment (a feed item's content), with block breaks.
pub fn fragment_text(html: &str) -> String {
    text::visible_text(
        Html::parse_fragment(&depth::cap_nesting(html, depth::MAX_DEPTH)).root_element(),
    )
}

/// Text of the first match that has any: its visible text, or the `content` attribute of a
/// `<meta>` target (CMSs such as TRS put the clean title in `<meta name="ArticleTitle">`).
fn first_text(doc: &Html, sel: &Selector) -> Option<String> {
    doc.select(sel)
        .map(|el| match el.value().name() {
            "meta" => el.attr("content").unwrap_or_default().to_owned(),
            _ => text::visible_text(el),
        })
        .find(|t| !crate::normalise::text(t).is_empty())
}

/// Text of every match, in document order, each a block of its own. A match inside an earlier
/// match is passed over, so `div.content, div.content p` does not repeat paragraphs.
fn joined_text(doc: &Html, sel: &Selector) -> Option<String> {
    let mut taken: Vec<ElementRef<'_>> = Vec::new();
    let mut out = String::new();
    for el in doc.select(sel) {
        if el
            .ancestors()
            .any(|a| taken.iter().any(|t| t.id() == a.id()))
        {
            continue;
        }
        taken.push(el);
        out.push(BLOCK_BREAK);
        out.push_str(&text::visible_text(el));
    }
    (!crate::normalise::text(&out).is_empty()).then_some(out)
}

/// The first date shown by the matched elements: in their text, or in a `content`/`datetime`
/// attribute (for `<meta>` and `<time>` targets).
fn first_date(doc: &Html, sel: &Selector) -> Option<NaiveDate> {
    doc.select(sel).find_map(|el| {
        crate::normalise::date(&text::visible_text(el))
            .or_else(|| el.attr("content").and_then(crate::normalise::date))
            .or_else(|| el.attr("datetime").and_then(crate::normalise::date))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(s: &str) -> Selector {
        Selector::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn list_links_are_resolved_and_deduplicated() {
        let html = r#"<html><body><ul class="news">
            <li><a href="a1.html#top">一</a></li><li><a href="/n/a2.html">二</a></li>
            <li><a href="a1.html">一again</a></li><li><a href="javascript:void(0)">x</a></li>
            <li><span><a href="mailto:x@y">m</a></span></li></ul>
            <div class="pages"><a class="next" href="index_1.html">下一页</a></div></body></html>"#;
        let page = Url::parse("http://h.test/news/index.html").unwrap_or_else(|_| unreachable!());
        let got = list_page(
            html,
            &page,
            Some(&sel("ul.news li")),
            Some(&sel("div.pages a.next")),
        );
        let links: Vec<_> = got.links.iter().map(|l| l.url.as_str()).collect();
        assert_eq!(
            links,
            ["http://h.test/news/a1.html", "http://h.test/n/a2.html"]
        );
        assert_eq!(
            got.next.as_ref().map(Url::as_str),
            Some("http://h.test/news/index_1.html")
        );
    }

    #[test]
    fn tracking_parameters_and_canonical() {
        let u = |s: &str| Url::parse(s).unwrap_or_else(|_| unreachable!());
        assert_eq!(
            clean_url(u("http://h/a?utm_source=x&id=3#p")).as_str(),
            "http://h/a?id=3"
        );
        assert_eq!(
            clean_url(u("http://h/a?utm_source=x&utm_medium=y")).as_str(),
            "http://h/a"
        );
        let html = r#"<link rel="canonical" href="/news/a.html?utm_campaign=z"><h1>t</h1>"#;
        let got = article(html, &u("http://h/m/a.html"), &FieldSelectors::default());
        assert_eq!(
            got.canonical.as_ref().map(Url::as_str),
            Some("http://h/news/a.html")
        );
    }

    #[test]
    fn base_href_is_honoured() {
        let html = r#"<head><base href="http://cdn.test/x/"></head><a class=l href="y.html">y</a>"#;
        let page = Url::parse("http://h.test/").unwrap_or_else(|_| unreachable!());
        let got = list_page(html, &page, Some(&sel("a.l")), Some(&sel("a.next")));
        assert_eq!(got.links[0].url.as_str(), "http://cdn.test/x/y.html");
    }

    #[test]
    fn fields_by_selector() {
        let html = r#"<h1 class="t">标题</h1><span class="d">来源：本网 2025年07月02日</span>
            <div class="c"><p>一段。</p><p>二段。</p></div><div class="c"><p>三段。</p></div>
            <meta name="PubDate" content="2024-01-05 10:00">"#;
        let page = Url::parse("http://h.test/a.html").unwrap_or_else(|_| unreachable!());
        let got = article(
            html,
            &page,
            &FieldSelectors {
                title: Some(sel("h1.t")),
                body: Some(sel("div.c, div.c p")),
                date: Some(sel("span.d")),
            },
        );
        assert_eq!(
            got.title.as_deref().map(crate::normalise::text).as_deref(),
            Some("标题")
        );
        assert_eq!(
            got.body.as_deref().map(crate::normalise::text).as_deref(),
            Some("一段。 二段。 三段。")
        );
        assert_eq!(got.date, NaiveDate::from_ymd_opt(2025, 7, 2));
        let meta = article(
            html,
            &page,
            &FieldSelectors {
                date: Some(sel("meta[name=PubDate]")),
                ..Default::default()
            },
        );
        assert_eq!(meta.date, NaiveDate::from_ymd_opt(2024, 1, 5));
    }
}
