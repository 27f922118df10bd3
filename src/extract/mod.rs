//! Extract: find links, title, body and date in fetched HTML.
//!
//! Everything here is synchronous on purpose: `scraper::Html` is not `Send`, so a document is
//! parsed and fully read inside one call and only owned results cross an `.await`.

pub mod auto;
pub mod text;

use crate::normalise::BLOCK_BREAK;
use chrono::NaiveDate;
use scraper::{ElementRef, Html, Selector};
use std::collections::HashSet;
use url::Url;

/// What a list page offers: article links in page order, and the next list page.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ListPage {
    pub links: Vec<Url>,
    pub next: Option<Url>,
}

/// Reads a list page: every element matched by `links` (an `<a>`, or an element holding one),
/// resolved against the page URL (or its `<base href>`), fragments dropped, duplicates removed.
pub fn list_page(
    html: &str,
    page_url: &Url,
    links: &Selector,
    next: Option<&Selector>,
) -> ListPage {
    let doc = Html::parse_document(html);
    let base = base_url(&doc, page_url);
    let mut seen = HashSet::new();
    let mut out = ListPage::default();
    for el in doc.select(links) {
        if let Some(url) = link_of(el, &base)
            && seen.insert(url.clone())
        {
            out.links.push(url);
        }
    }
    if let Some(next) = next {
        out.next = doc.select(next).find_map(|el| link_of(el, &base));
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
    let mut url = base.join(href).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    url.set_fragment(None);
    Some(url)
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
}

/// Reads an article page with the given selectors.
pub fn article(html: &str, selectors: &FieldSelectors) -> RawArticle {
    let doc = Html::parse_document(html);
    RawArticle {
        title: selectors.title.as_ref().and_then(|s| first_text(&doc, s)),
        body: selectors.body.as_ref().and_then(|s| joined_text(&doc, s)),
        date: selectors.date.as_ref().and_then(|s| first_date(&doc, s)),
    }
}

fn first_text(doc: &Html, sel: &Selector) -> Option<String> {
    doc.select(sel)
        .map(text::visible_text)
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
            &sel("ul.news li"),
            Some(&sel("div.pages a.next")),
        );
        let links: Vec<_> = got.links.iter().map(Url::as_str).collect();
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
    fn base_href_is_honoured() {
        let html = r#"<head><base href="http://cdn.test/x/"></head><a class=l href="y.html">y</a>"#;
        let page = Url::parse("http://h.test/").unwrap_or_else(|_| unreachable!());
        let got = list_page(html, &page, &sel("a.l"), None);
        assert_eq!(got.links[0].as_str(), "http://cdn.test/x/y.html");
    }

    #[test]
    fn fields_by_selector() {
        let html = r#"<h1 class="t">标题</h1><span class="d">来源：本网 2025年07月02日</span>
            <div class="c"><p>一段。</p><p>二段。</p></div><div class="c"><p>三段。</p></div>
            <meta name="PubDate" content="2024-01-05 10:00">"#;
        let got = article(
            html,
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
            &FieldSelectors {
                date: Some(sel("meta[name=PubDate]")),
                ..Default::default()
            },
        );
        assert_eq!(meta.date, NaiveDate::from_ymd_opt(2024, 1, 5));
    }
}
