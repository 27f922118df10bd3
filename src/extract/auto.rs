//! Automatic extraction: title, body and date of an article page without per-site selectors.
//!
//! A source whose article layout nobody has described still has to yield an article, and a
//! source whose selectors went stale after a redesign must degrade gracefully rather than go
//! silent. So this module reads any news page the way a person skims it:
//!
//! * **Body.** The page's visible text is cut into blocks at block-element edges (`<br>` does not
//!   cut: old portals wrap one paragraph over many `<br>` lines). Each block gets a value: long,
//!   punctuated, link-free prose is worth its length; short labels, link lists, copyright lines
//!   and anything under a `nav`/`footer`/`comment`/`share`/`related` element cost. The body starts
//!   from the element whose blocks add up to the most — the maximum-sum subtree — so a wrapper
//!   that also holds menus and related lists loses to the tighter container. It is then widened
//!   over its siblings while that gains more prose than it takes in noise (paragraphs that sit
//!   directly in a layout cell between ad tables). A container that is a list of dated posts (a
//!   blog archive, a forum thread) gives its first post only. Inside the result, link lists,
//!   forms and hinted furniture are dropped, and so are a trailing comments/related/disclaimer
//!   section and the source/editor/print/share lines at both ends. Data tables keep their cells,
//!   which would otherwise be priced as menu labels.
//! * **Title.** `og:title`, else the `<h1>`/`<h2>` that `<title>` contains, else `<title>` without
//!   its site suffix.
//! * **Date.** Publication meta tags, then `<time datetime>`, then a date line near the title and
//!   before the body, never a date from a script, a copyright line or a link list; the URL's date
//!   path is the last resort.
//!
//! The body comes out in the raw form of [`visible_text`](super::text::visible_text), paragraphs
//! separated by [`BLOCK_BREAK`], so [`normalise::text`] gives the same canonical line (and the same
//! content hash) as the selector route would for the same element.
//!
//! The DOM is only ever walked iteratively: a hostile page of deeply nested elements cannot
//! overflow the stack.

use super::text::{is_block, is_hidden, is_skipped};
use super::{PageHints, RawArticle};
use crate::normalise::{self, BLOCK_BREAK};
use chrono::NaiveDate;
use ego_tree::iter::Edge;
use regex::Regex;
use scraper::{ElementRef, Html, Node, Selector};
use std::sync::LazyLock;
use url::Url;

/// Title, body and date of an article page, analysing the page once, for a page fetched today
/// with no list link known (see [`article_with`]).
pub fn article(doc: &Html, url: Option<&Url>) -> RawArticle {
    article_with(doc, url, &PageHints::default())
}

/// Title, body and date of an article page, analysing the page once. A page with readable text
/// always gets a title: see [`title_with`] for the order of the fallbacks.
pub fn article_with(doc: &Html, url: Option<&Url>, hints: &PageHints) -> RawArticle {
    let head = Head::read(doc);
    let page = Page::read(doc);
    let sel = page.select();
    let found = page_title(&head, &page, sel.as_ref(), hints);
    let body = sel
        .as_ref()
        .and_then(|s| page.body_text(s, found.as_deref()));
    let date = page_date(&head, &page, sel.as_ref(), found.as_deref(), url, hints);
    let title = found
        .or_else(|| anchor_title(hints))
        .or_else(|| body.as_deref().and_then(first_sentence));
    RawArticle {
        title,
        body,
        date,
        canonical: None,
    }
}

/// The page's headline (see [`title_with`]), for a page reached by no known link.
pub fn title(doc: &Html) -> Option<String> {
    title_with(doc, &PageHints::default())
}

/// The page's headline, by the first of these that the page has:
///
/// 1. `og:title` or `<meta name="ArticleTitle">` (the 2017 Chinese government-website guideline
///    mandates the latter); a longer headline that starts with it wins, as an unescaped quote
///    cuts such a `content` attribute short;
/// 2. the headline element: the longest heading or block whose text `<title>` repeats, else the
///    heading printed right above the article text;
/// 3. `<title>` without its site suffix (`_硚口区人民政府`, ` - 东湖高新区`, `|新华网`);
/// 4. the text of the list-page link that led to the page ([`PageHints::list_anchor`]);
/// 5. the body's first sentence, cut to a headline's length.
pub fn title_with(doc: &Html, hints: &PageHints) -> Option<String> {
    let page = Page::read(doc);
    let sel = page.select();
    page_title(&Head::read(doc), &page, sel.as_ref(), hints)
        .or_else(|| anchor_title(hints))
        .or_else(|| {
            sel.as_ref()
                .and_then(|s| page.body_text(s, None))
                .as_deref()
                .and_then(first_sentence)
        })
}

/// The main text of the page, paragraphs separated by [`BLOCK_BREAK`].
pub fn body(doc: &Html) -> Option<String> {
    let page = Page::read(doc);
    let sel = page.select()?;
    let title = page_title(&Head::read(doc), &page, Some(&sel), &PageHints::default());
    page.body_text(&sel, title.as_deref())
}

/// The publication day of the page (see [`date_with`]), for a page fetched today.
pub fn date(doc: &Html, url: Option<&Url>) -> Option<NaiveDate> {
    date_with(doc, url, &PageHints::default())
}

/// The publication day of the page: from its metadata, else the by-line by the headline, else
/// the date in the page URL. A day after [`PageHints::fetched_on`] or before 1990 is never a
/// publication date.
pub fn date_with(doc: &Html, url: Option<&Url>, hints: &PageHints) -> Option<NaiveDate> {
    let head = Head::read(doc);
    let page = Page::read(doc);
    let sel = page.select();
    let title = page_title(&head, &page, sel.as_ref(), hints);
    page_date(&head, &page, sel.as_ref(), title.as_deref(), url, hints)
}

fn page_date(
    head: &Head<'_>,
    page: &Page,
    sel: Option<&Selection>,
    title: Option<&str>,
    url: Option<&Url>,
    hints: &PageHints,
) -> Option<NaiveDate> {
    let plausible = |d: &NaiveDate| plausible_date(*d, hints);
    let known = known_dates(head, url);
    let printed = page.text_date(sel, title, hints, &known);
    match (meta_date(head, hints), printed) {
        // The day printed under the headline is what readers see: it beats a meta tag that
        // disagrees (a template's leftover, a migration date, a timestamp converted to another
        // time zone), as it does a date anywhere else.
        (Some(_), Some(p)) if p.under_headline && !ablated("bylinewins") => Some(p.day),
        (Some(meta), Some(p)) if (meta - p.day).num_days().abs() == 1 => Some(p.day),
        (Some(meta), _) => Some(meta),
        (None, printed) => printed
            .map(|p| p.day)
            .or_else(|| url.and_then(url_date).filter(plausible)),
    }
}

/// Whether `day` can be a publication day of a page fetched on `hints.fetched_on`.
fn plausible_date(day: NaiveDate, hints: &PageHints) -> bool {
    NaiveDate::from_ymd_opt(1990, 1, 1).is_some_and(|first| day >= first) && day <= hints.fetched_on
}

fn anchor_title(hints: &PageHints) -> Option<String> {
    hints
        .list_anchor
        .as_deref()
        .map(normalise::text)
        .filter(|t| !t.is_empty())
}

/// Headlines longer than this (in display columns: a CJK character is two) are cut.
const HEADLINE_WIDTH: usize = 80;

/// The first sentence of `body`, cut to a headline's length at a word or clause boundary.
fn first_sentence(body: &str) -> Option<String> {
    let text = normalise::text(body.split(BLOCK_BREAK).find(|l| !l.trim().is_empty())?);
    let end = text
        .char_indices()
        .find(|(_, c)| matches!(c, '。' | '!' | '?' | '！' | '？' | ';' | '；'))
        .map_or(text.len(), |(i, c)| i + c.len_utf8());
    let sentence = text[..end].trim_end_matches(['。', ';', '；']).trim();
    let mut width = 0;
    let mut cut = sentence.len();
    let mut boundary = None;
    for (i, c) in sentence.char_indices() {
        width += if is_wide_char(c) { 2 } else { 1 };
        if width > HEADLINE_WIDTH {
            cut = i;
            break;
        }
        if matches!(c, ' ' | ',' | '，' | '、' | ':' | '：') && i > 0 {
            boundary = Some(i);
        }
    }
    let head = if cut < sentence.len() {
        // Cut at the last clause or word boundary in the second half, else hard.
        match boundary {
            Some(b) if b * 2 >= cut => &sentence[..b],
            _ => &sentence[..cut],
        }
    } else {
        sentence
    };
    let head = head
        .trim_end_matches([',', '，', '、', ':', '：', ' '])
        .trim();
    (!head.is_empty()).then(|| head.to_string())
}

fn is_wide_char(c: char) -> bool {
    matches!(c as u32, 0x1100..=0x115F | 0x2E80..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x20000..=0x3FFFD)
}

/// Steps 1–3 of [`title_with`]: the headline the page itself states.
fn page_title(
    head: &Head<'_>,
    page: &Page,
    sel: Option<&Selection>,
    hints: &PageHints,
) -> Option<String> {
    let head_title = head.title.clone();
    let headline = headline(
        page,
        sel,
        head_title.as_deref(),
        hints.list_anchor.as_deref(),
    );
    if let Some(meta) = head
        .meta_content(&["og:title", "articletitle"])
        .map(normalise::text)
        .filter(|t| !t.is_empty())
    {
        let key = squeeze(&meta);
        // `content="他说"对"的"` ends at the first inner quote: the full headline starts with it.
        let longer = [headline.as_deref(), head_title.as_deref()]
            .into_iter()
            .flatten()
            .find(|h| {
                let k = squeeze(h);
                k.len() > key.len() && k.starts_with(&key)
            });
        return Some(longer.map_or(meta.clone(), |h| {
            if Some(h) == head_title.as_deref() {
                strip_site_suffix(h)
            } else {
                h.to_string()
            }
        }));
    }
    headline.or_else(|| {
        head_title
            .as_deref()
            .map(strip_site_suffix)
            .filter(|t| !t.is_empty())
    })
}

/// The headline element's text, found by what it repeats or where it stands:
///
/// 1. the block that the list link's text names (a list may cut it short with `...`);
/// 2. the longest block that `<title>` repeats (a heading, or any block at least half as long as
///    the title without its suffix);
/// 3. the heading printed right above the article text, or opening it;
/// 4. the block right above the by-line (`发布时间：…`) that stands above the text.
fn headline(
    page: &Page,
    sel: Option<&Selection>,
    head_title: Option<&str>,
    anchor: Option<&str>,
) -> Option<String> {
    const MAX_CHARS: u32 = 150;
    let usable = |b: &Block| b.chars >= 4 && b.chars <= MAX_CHARS && b.link_chars * 2 <= b.chars;
    let text_of = |i: usize| Some(normalise::text(&page.blocks[i].text)).filter(|t| !t.is_empty());
    if let Some(anchor) = anchor {
        let key = squeeze(anchor.trim_end_matches(['.', '…', '。', ' ']));
        let key_len = key.chars().count() as u32;
        if key_len >= 4 {
            let found = page.blocks.iter().position(|b| {
                usable(b)
                    && b.chars + 2 >= key_len
                    && b.chars <= key_len * 2 + 10
                    && squeeze(&b.text).starts_with(&key)
            });
            if let Some(i) = found {
                return text_of(i);
            }
        }
    }
    if let Some(head_title) = head_title {
        let squeezed = squeeze(head_title);
        let title_len = squeezed.chars().count() as u32;
        let main = strip_site_suffix(head_title);
        let stripped_len = squeeze(&main).chars().count();
        // The site and channel names in the title: a logo or menu entry repeating one of them
        // is not the headline.
        // (The longest part is never taken for a site name: `频道--长标题` leads with the
        // channel.)
        let parts = title_parts(head_title);
        let longest = parts.iter().max_by_key(|p| p.chars().count()).cloned();
        let site_parts: Vec<String> = parts
            .iter()
            .filter(|p| **p != main && Some(*p) != longest.as_ref())
            .map(|p| squeeze(p))
            .collect();
        // Headlines stand above the text or in it, never under it (a footer repeating the site
        // name the title ends with).
        let before_end = sel.map_or(page.blocks.len(), |s| s.end);
        let mut best: Option<(usize, usize)> = None;
        for (i, b) in page.blocks.iter().enumerate().take(before_end) {
            // A block longer than the title cannot be part of it (NFKC never lengthens these
            // much), so most blocks are passed over without being folded.
            if !usable(b) || b.chars > title_len + 4 {
                continue;
            }
            // A block the title repeats starts with one of the title's characters: most menu
            // entries are passed over without being folded.
            if !b.text.trim_start().chars().next().is_some_and(|c| {
                head_title.contains(c) || squeezed.contains(&squeeze(&c.to_string()))
            }) {
                continue;
            }
            let key = squeeze(&b.text);
            let len = key.chars().count();
            let enough = b.heading || len * 2 >= stripped_len.max(8);
            let site_name = site_parts.iter().any(|p| p.contains(&key));
            if enough && len >= 4 && !site_name && squeezed.contains(&key) {
                // Headings first, then length.
                let rank = len + if b.heading { 1000 } else { 0 };
                if best.is_none_or(|(r, _)| rank > r) {
                    best = Some((rank, i));
                }
            }
        }
        if let Some((_, i)) = best {
            return text_of(i);
        }
    }
    let sel = sel?;
    // The last heading before the body, within a few blocks of it, or the body's first line.
    let from = sel.start.saturating_sub(8);
    let to = (sel.start + 1).min(sel.end);
    let is_byline = |b: &Block| {
        b.chars <= BYLINE_CHARS as u32
            && b.text
                .split(BLOCK_BREAK)
                .any(|l| DATE_LABEL.is_match(l) && any_date(l).is_some() && !is_sentence(l))
    };
    if let Some(i) = (from..to).rev().find(|&i| {
        let b = &page.blocks[i];
        b.heading && !b.negative && usable(b) && !is_byline(b)
    }) {
        return text_of(i);
    }
    // The by-line under the title: a short labelled date line just above or opening the text.
    let byline = (from..to).find(|&i| is_byline(&page.blocks[i]))?;
    (from..byline)
        .rev()
        .find(|&i| {
            let b = &page.blocks[i];
            usable(b) && !b.negative && !is_edge_line(&b.text, "") && !is_sentence(&b.text)
        })
        .and_then(text_of)
}

// ---------------------------------------------------------------------------------------------
// Static selectors and patterns.

fn selector(css: &str) -> Option<Selector> {
    Selector::parse(css).ok()
}

static HEAD: LazyLock<Option<Selector>> = LazyLock::new(|| {
    selector(r#"title, meta[content], script[type="application/ld+json"], time[datetime]"#)
});

/// Whether the rule `name` is switched off by `NW_ABLATE=name,name…`: for the evaluation only
/// (`eval_extract` measures what each rule is worth on each half of the data), never set in
/// service. Read once; an unset variable switches nothing off.
fn ablated(name: &str) -> bool {
    static OFF: LazyLock<String> = LazyLock::new(|| std::env::var("NW_ABLATE").unwrap_or_default());
    !OFF.is_empty() && OFF.split(',').any(|x| x == name)
}

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| unreachable!("static pattern {pattern}: {e}"))
}

/// Class/id words of containers that hold navigation, promotion or reader chatter.
static NEGATIVE_HINT: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)nav|menu|footer|comment|share|related|relate|recommend|sidebar|breadcrumb|crumb|copyright|banner|advert|sponsor|social|toolbar|pager|pagination|popup|subscribe|disqus|replies|reply|rss|shoutbox|skyscraper|promo|(^|[-_ ])(ads?|foot|header|sns|tags?|login|hot|rank|bottom|links?|print|tool|side|comments?|bshare|jiathis)($|[-_ ])",
    )
});

/// Class/id words of containers that hold the article itself.
static POSITIVE_HINT: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)article|content|zoom|trs_editor|main|post|entry|detail|story|artic|(^|[-_ ])(text|txt|body|con|cont|news)($|[-_ ])",
    )
});

/// Lines that are page furniture whatever element they sit in.
static FURNITURE: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)版权所有|copyright|©|icp备|icp证|备案号|网站地图|联系我们|关于我们|免责声明|all rights reserved",
    )
});

/// Short lines at either end of the body that are about the article, not of it.
static EDGE_LINE: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)来源[:：]|责任编辑|编辑[:：]|作者[:：]|字号|打印|分享到|关闭窗口|【\s*[大中小]|\[\s*[大中小]|字体[:：]|发布时间|发布日期|发表时间|发表于|发布于|浏览次数|点击数|阅读次数|阅读量|访问量|上一篇|下一篇|上一条|下一条|返回顶部|返回首页|当前位置|您的位置|你的位置|现在的位置|所在位置|首页\s*[>»›]|相关新闻|相关链接|相关文章|相关阅读|收藏本文|推荐给朋友|我要评论|发表评论|扫一扫|微信扫|^[\s\d年月日时分秒:：/.\-]+$",
    )
});

/// Labels that introduce a publication date.
static DATE_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)发布|发表|日期|时间|更新|来源|published|posted|updated|date|[0-9]{4}\s*[-/.年]\s*[0-9]{1,2}\s*[-/.月]\s*[0-9]{1,2}\s*日?\s+[0-9]{1,2}:[0-9]{2}",
    )
});

/// Date paths of CMS article URLs: `/2025-07/02/`, `/202507/t20250702_`, `/2025/07/02/`,
/// `/20250702/`.
static URL_DATE: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?x)
        /t((?:19|20)\d{2})(\d{2})(\d{2})_
        | /((?:19|20)\d{2})-?(\d{2})/(\d{2})/
        | /((?:19|20)\d{2})/(\d{1,2})/(\d{1,2})/
        | /((?:19|20)\d{2})(\d{2})(\d{2})/",
    )
});

static LD_DATE: LazyLock<Regex> =
    LazyLock::new(|| regex(r#""(?:datePublished|dateCreated)"\s*:\s*"([^"]+)""#));

// ---------------------------------------------------------------------------------------------
// Title helpers.

/// What a page says about itself beside its text — `<title>`, meta tags, JSON-LD, `<time>`
/// elements — collected in one walk over the document.
struct Head<'a> {
    /// The first `<title>`, normalised, when it has text.
    title: Option<String>,
    /// Every `<meta>` with content, keyed by its lower-cased name/property/itemprop/http-equiv.
    metas: Vec<(String, &'a str)>,
    /// The text of each `<script type="application/ld+json">`.
    ld_json: Vec<String>,
    times: Vec<ElementRef<'a>>,
}

impl<'a> Head<'a> {
    fn read(doc: &'a Html) -> Head<'a> {
        let mut head = Head {
            title: None,
            metas: Vec::new(),
            ld_json: Vec::new(),
            times: Vec::new(),
        };
        let Some(sel) = HEAD.as_ref() else {
            return head;
        };
        for el in doc.select(sel) {
            match el.value().name() {
                "title" if head.title.is_none() => {
                    head.title = Some(normalise::text(&el.text().collect::<String>()))
                        .filter(|t| !t.is_empty());
                }
                "meta" => {
                    let key = el
                        .attr("property")
                        .or_else(|| el.attr("name"))
                        .or_else(|| el.attr("itemprop"))
                        .or_else(|| el.attr("http-equiv"));
                    if let (Some(key), Some(content)) = (key, el.attr("content")) {
                        head.metas.push((key.trim().to_ascii_lowercase(), content));
                    }
                }
                "script" => head.ld_json.push(el.text().collect()),
                "time" => head.times.push(el),
                _ => {}
            }
        }
        head
    }

    /// The `content` of the first `<meta>` whose name/property/itemprop is one of `names`
    /// (case-insensitive), in the order of `names`.
    fn meta_content(&self, names: &[&str]) -> Option<&'a str> {
        names.iter().find_map(|n| {
            self.metas
                .iter()
                .find(|(k, c)| k == n && !c.trim().is_empty())
                .map(|(_, c)| *c)
        })
    }
}

/// Cuts the site and channel names off a `<title>`: `标题_栏目_网站`, `Title | Site`,
/// `标题 - 东湖高新区`. The first part is the headline when it is substantial; otherwise (a title
/// that leads with the site name) the longest part is.
fn strip_site_suffix(title: &str) -> String {
    let parts = title_parts(title);
    let Some(first) = parts.first() else {
        return String::new();
    };
    if parts.len() == 1 || first.chars().count() >= 5 {
        return first.clone();
    }
    parts
        .iter()
        .max_by_key(|p| p.chars().count())
        .cloned()
        .unwrap_or_default()
}

/// The parts of a `<title>` between separators: `_`, `|`, and dashes that stand apart (with
/// spaces round them, doubled, or between wide characters), so `COVID-19` stays whole.
fn title_parts(title: &str) -> Vec<String> {
    let chars: Vec<char> = title.chars().collect();
    let is_dash = |c: char| matches!(c, '-' | '–' | '—');
    let mut parts: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if matches!(c, '_' | '|' | '｜') {
            parts.push(std::mem::take(&mut cur));
            i += 1;
            continue;
        }
        if is_dash(c) {
            let mut j = i;
            while j < chars.len() && is_dash(chars[j]) {
                j += 1;
            }
            let before = i.checked_sub(1).and_then(|k| chars.get(k)).copied();
            let after = chars.get(j).copied();
            let apart = j - i >= 2
                || (before == Some(' ') && after == Some(' '))
                || (before.is_some_and(|p| !p.is_ascii()) && after.is_some_and(|n| !n.is_ascii()));
            if apart {
                parts.push(std::mem::take(&mut cur));
            } else {
                cur.extend(&chars[i..j]);
            }
            i = j;
            continue;
        }
        cur.push(c);
        i += 1;
    }
    parts.push(cur);
    parts
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Date helpers.

/// Meta names under which CMSs (Chinese government TRS/Hanweb sites included) and the Open Graph,
/// Dublin Core and schema.org vocabularies put the publication time, most specific first.
const DATE_METAS: &[&str] = &[
    "article:published_time",
    "og:article:published_time",
    "article:published",
    "og:published_time",
    "og:release_date",
    "pubdate",
    "publishdate",
    "publish_date",
    "publish-date",
    "publishtime",
    "publish_time",
    "articlepublishdate",
    "firstpublishedtime",
    "datepublished",
    "dc.date.issued",
    "dc.date",
    "dcterms.issued",
    "dcterms.created",
    "parsely-pub-date",
    "sailthru.date",
    "weibo:article:create_at",
    "contentpublishedtime",
    "releasedate",
    "date",
];

/// The publication day the page's metadata states: the meta tags of [`DATE_METAS`], JSON-LD
/// `datePublished`, `<time datetime>`; days that cannot be publication days are passed over.
fn meta_date(head: &Head<'_>, hints: &PageHints) -> Option<NaiveDate> {
    let plausible = |d: &NaiveDate| plausible_date(*d, hints);
    let metas = &head.metas;
    if let Some(d) = DATE_METAS.iter().find_map(|n| {
        metas
            .iter()
            .filter(|(k, _)| k == n)
            .find_map(|(_, c)| normalise::date(c).filter(plausible))
    }) {
        return Some(d);
    }
    // Names of other CMSs that say publication and time (`apub:time`, `pubtime`).
    if let Some(d) = metas
        .iter()
        .filter(|(k, _)| PUB_META.is_match(k))
        .find_map(|(_, c)| normalise::date(c).filter(plausible))
    {
        return Some(d);
    }
    // JSON-LD is structured metadata, not program text, so its datePublished is trusted.
    if let Some(d) = head.ld_json.iter().find_map(|json| {
        LD_DATE
            .captures(json)
            .and_then(|c| c.get(1))
            .and_then(|m| normalise::date(m.as_str()))
            .filter(plausible)
    }) {
        return Some(d);
    }
    // An explicitly marked publication time beats the first <time> (which may be a comment's).
    let times = &head.times;
    times
        .iter()
        .filter(|t| t.attr("pubdate").is_some() || t.attr("itemprop") == Some("datePublished"))
        .chain(times.iter())
        .filter(|t| !in_negative_container(**t))
        .find_map(|t| {
            t.attr("datetime")
                .and_then(normalise::date)
                .filter(plausible)
        })
}

/// A meta name that speaks of publication and of a date or time.
static PUB_META: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"(?i)(pub|publish|release|issue).*(date|time)|(date|time).*(pub|publish|release|issue)")
});

/// Every full date the page's meta tags and URL state, whatever they name (a `dateModified`
/// included): the years a year-less by-line may take.
fn known_dates(head: &Head<'_>, url: Option<&Url>) -> Vec<NaiveDate> {
    head.metas
        .iter()
        .filter(|(k, _)| k.contains("date") || k.contains("time") || k.contains("modified"))
        .filter_map(|(_, c)| normalise::date(c))
        .chain(url.and_then(url_date))
        .collect()
}

/// Class or id words of the element that prints the headline.
static TITLE_CLASS: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?i)title|headline|heading|biaoti|(?:^|[-_\s])tit(?:[-_\s]|$)"));

/// Class or id words of what stands by a title without being one (`title-meta-time`).
static BESIDE_TITLE: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?i)meta|time|date|info|author|source|sub|bar|nav|menu"));

/// A heading element, or one whose class or id names a title (`class="news_title"`).
fn names_title(el: &scraper::node::Element, names: &Names) -> bool {
    matches!(el.name(), "h1" | "h2" | "h3" | "h4" | "h5" | "h6") || names.title
}

/// `M/D/YYYY` as printed by ASP pages (`7/5/2005 9:23:57 PM`); read day-first when the first
/// number cannot be a month.
static SLASH_DATE: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"(?:^|[^0-9/])([0-9]{1,2})/([0-9]{1,2})/((?:19|20)[0-9]{2})(?:[^0-9/]|$)")
});

/// `YYYY MM/DD`, the year set apart from the day (`2019 09/07`).
static YEAR_APART: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"(?:^|[^0-9])((?:19|20)[0-9]{2})\s+([0-9]{1,2})/([0-9]{1,2})(?:[^0-9/]|$)")
});

/// A date in any of [`normalise::date`]'s forms, else in `YYYY MM/DD` or `M/D/YYYY`.
fn any_date(text: &str) -> Option<NaiveDate> {
    normalise::date(text).or_else(|| {
        if let Some(caps) = YEAR_APART.captures(text) {
            let (y, m, d) = (
                caps[1].parse().ok()?,
                caps[2].parse().ok()?,
                caps[3].parse().ok()?,
            );
            return NaiveDate::from_ymd_opt(y, m, d);
        }
        if ablated("slash") {
            return None;
        }
        let caps = SLASH_DATE.captures(text)?;
        let a: u32 = caps[1].parse().ok()?;
        let b: u32 = caps[2].parse().ok()?;
        let y: i32 = caps[3].parse().ok()?;
        let (m, d) = if a > 12 { (b, a) } else { (a, b) };
        NaiveDate::from_ymd_opt(y, m, d)
    })
}

fn in_negative_container(el: ElementRef<'_>) -> bool {
    el.ancestors()
        .filter_map(ElementRef::wrap)
        .map(|a| hint(a.value()))
        .find(|h| *h != 0)
        .is_some_and(|h| h < 0)
}

fn url_date(url: &Url) -> Option<NaiveDate> {
    let caps = URL_DATE.captures(url.path())?;
    let groups: Vec<&str> = caps.iter().skip(1).flatten().map(|m| m.as_str()).collect();
    let [y, m, d] = groups.as_slice() else {
        return None;
    };
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

/// +1 for a container named like article content, -1 for one named like page furniture, 0 when
/// the name says nothing or says both (`article-comments`, `comment-body`: unsure, so neutral).
/// `<html>` and `<body>` get none: their classes describe the page (`has-header`), not a part.
fn hint(el: &scraper::node::Element) -> i8 {
    hint_with(el, &Names::of(el))
}

/// [`hint`] from the element's tag and what its class and id say.
fn hint_with(el: &scraper::node::Element, names: &Names) -> i8 {
    let tag = match el.name() {
        "nav" | "footer" | "aside" => -1,
        "article" | "main" => 1,
        "html" | "body" => return 0,
        _ => 0,
    };
    if ablated("hints") {
        return tag;
    }
    if names.hint != 0 { names.hint } else { tag }
}

/// What an element's class and id say about it.
#[derive(Clone, Copy, Default)]
struct Names {
    /// +1 content, -1 furniture, 0 neither or both (see [`hint`]).
    hint: i8,
    /// Named like a title (see [`names_title`]).
    title: bool,
    /// Named like a comment section (see [`CHATTER`]).
    chatter: bool,
}

impl Names {
    fn of(el: &scraper::node::Element) -> Names {
        let class = el.attr("class").unwrap_or("");
        let id = el.attr("id").unwrap_or("");
        if class.is_empty() && id.is_empty() {
            return Names::default();
        }
        let names = format!("{class} {id}");
        let neg = NEGATIVE_HINT.is_match(&names);
        let pos = POSITIVE_HINT.is_match(&names);
        Names {
            hint: match (neg, pos) {
                (true, false) => -1,
                (false, true) => 1,
                _ => 0,
            },
            title: [class, id]
                .into_iter()
                .any(|v| TITLE_CLASS.is_match(v) && !BESIDE_TITLE.is_match(v)),
            chatter: CHATTER.is_match(&names),
        }
    }

    /// [`Names::of`], remembered per class and id: a page repeats the same few classes on
    /// hundreds of elements, and the regexes are the costly part of reading one.
    fn cached<'a>(
        el: &'a scraper::node::Element,
        memo: &mut std::collections::HashMap<(&'a str, &'a str), Names>,
    ) -> Names {
        let key = (el.attr("class").unwrap_or(""), el.attr("id").unwrap_or(""));
        // Most elements have neither, and say nothing: no lookup for them.
        if key == ("", "") {
            return Names::default();
        }
        *memo.entry(key).or_insert_with(|| Names::of(el))
    }
}

// ---------------------------------------------------------------------------------------------
// Block segmentation and scoring.

/// A run of text between two block-element edges.
struct Block {
    /// Raw text; `<br>` inside it is a [`BLOCK_BREAK`].
    text: String,
    /// Non-whitespace characters.
    chars: u32,
    /// Non-whitespace characters inside `<a href>`.
    link_chars: u32,
    /// Sentence punctuation marks.
    punct: u32,
    /// Inside a container hinted as furniture.
    negative: bool,
    /// The block-level element whose hint made it `negative`, if it was one.
    negative_from: Option<usize>,
    /// Inside a heading or an element named like a title (see [`names_title`]).
    heading: bool,
    /// How much this block speaks for its container being the article.
    value: f32,
}

/// The tags that the body rules treat specially.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tag {
    /// A sign-up or search box inside the article, or a page-wide ASP.NET form.
    Form,
    Table,
    Cell,
    Other,
}

/// Below this many visible characters a page is taken whole when nothing scores as prose.
const TINY_PAGE: u32 = 500;

/// A block-level element and the blocks it holds.
struct Candidate {
    start: usize,
    end: usize,
    /// The nearest enclosing block-level element.
    parent: Option<usize>,
    /// The first block-level element whose parent this is.
    first_child: Option<usize>,
    /// The next block-level element with the same parent.
    next_sibling: Option<usize>,
    hint: i8,
    anchors: u32,
    tag: Tag,
    /// One past the index of the last candidate inside this one (candidates are in pre-order).
    subtree_end: usize,
    /// Tag name and class, hashed: equal for the repeated items of a list.
    signature: u64,
    /// Named like a comment section (see [`CHATTER`]).
    chatter: bool,
    /// A paragraph-level element (`p`, `blockquote`, `pre`, a sub-heading): the pieces an
    /// article is made of.
    para: bool,
}

/// A child of a container, seen as one piece when deciding how far the body reaches: a
/// block-level child element, or a run of the container's own text.
struct Unit {
    start: usize,
    end: usize,
    value: f32,
    /// Made like an article's pieces: a run of text, a paragraph, or an element like the one
    /// the body grows from.
    like: bool,
}

/// Where the body is on a page that lists posts.
#[derive(Clone, Copy)]
enum Posts {
    /// The blocks before the posts: an article followed by its comments.
    Before(usize, usize),
    /// The first post (a candidate index): a blog archive or a forum thread.
    First(usize),
}

/// The blocks that make up the body, and those inside it that are left out.
struct Selection {
    start: usize,
    end: usize,
    /// Whether each block of `start..end` is kept.
    keep: Vec<bool>,
}

#[derive(Default)]
struct Pending {
    text: String,
    chars: u32,
    link_chars: u32,
    punct: u32,
}

/// What the enclosing elements' names say about the text inside them.
#[derive(Clone, Copy, Default)]
struct Context {
    /// The nearest non-zero [`hint`].
    hint: i8,
    /// The block-level element that gave `hint`, when one did.
    hint_from: Option<usize>,
    /// Some enclosing element is a heading (see [`names_title`]).
    heading: bool,
}

struct Frame {
    /// Index into `candidates` for a block-level element.
    candidate: Option<usize>,
    anchor: bool,
    ctx: Context,
    anchors: u32,
}

struct Page {
    blocks: Vec<Block>,
    candidates: Vec<Candidate>,
    /// `prefix[i]` is the sum of the values of `blocks[..i]`.
    prefix: Vec<f32>,
    /// Likewise for characters and link characters, so any element's densities cost O(1).
    prefix_chars: Vec<u32>,
    prefix_links: Vec<u32>,
}

fn is_punct(c: char) -> bool {
    matches!(
        c,
        '，' | '。'
            | '！'
            | '？'
            | '；'
            | '：'
            | '、'
            | '“'
            | '”'
            | '‘'
            | '’'
            | '（'
            | '）'
            | '《'
            | '》'
            | '…'
            | ','
            | '.'
            | '!'
            | '?'
            | ';'
            | ':'
            | '"'
    )
}

impl Pending {
    fn add(&mut self, text: &str, in_link: bool) {
        self.text.push_str(text);
        for c in text.chars() {
            if c.is_whitespace() {
                continue;
            }
            self.chars += 1;
            if in_link {
                self.link_chars += 1;
            }
            if is_punct(c) {
                self.punct += 1;
            }
        }
    }

    fn flush(&mut self, blocks: &mut Vec<Block>, ctx: Context) {
        if self.chars == 0 {
            self.text.clear();
            return;
        }
        let p = std::mem::take(self);
        blocks.push(Block {
            text: p.text,
            chars: p.chars,
            link_chars: p.link_chars,
            punct: p.punct,
            negative: ctx.hint < 0,
            negative_from: ctx.hint_from,
            heading: ctx.heading,
            value: 0.0,
        });
    }
}

fn signature(name: &str, class: Option<&str>) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    name.hash(&mut h);
    class.unwrap_or("").trim().hash(&mut h);
    h.finish()
}

/// Takes back a furniture hint from an element that holds the page's article text: at least half
/// of the page's prose (punctuated lines that are not mostly links) sits inside it. A class name
/// is a guess about an element (`BSHARE_POP` on an article body, `side-header` on a layout
/// wrapper); the text inside is the evidence, and one unlucky name must not leave a page
/// without its body. Comment sections keep their hint: a busy thread can hold more prose than
/// the article it follows.
fn trust_prose(blocks: &mut [Block], candidates: &mut [Candidate]) {
    let prose = |b: &Block| {
        if b.punct > 0 && b.link_chars * 4 < b.chars {
            b.chars - b.link_chars
        } else {
            0
        }
    };
    let mut prefix = Vec::with_capacity(blocks.len() + 1);
    let mut sum = 0u32;
    prefix.push(sum);
    for b in blocks.iter() {
        sum += prose(b);
        prefix.push(sum);
    }
    if sum < 150 {
        return;
    }
    let revoked: Vec<bool> = candidates
        .iter()
        .map(|c| {
            let inside = prefix[c.end] - prefix[c.start];
            c.hint < 0 && !c.chatter && inside >= 150 && inside * 2 >= sum
        })
        .collect();
    for b in blocks.iter_mut() {
        if b.negative && b.negative_from.is_some_and(|k| revoked[k]) {
            b.negative = false;
        }
    }
    for (c, r) in candidates.iter_mut().zip(&revoked) {
        if *r {
            c.hint = 0;
        }
    }
}

/// Class or id words of reader chatter, whose furniture hint is never taken back.
static CHATTER: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?i)comment|repl(?:y|ies)|disqus|discuss|guestbook|评论|留言"));

/// Gives the cells of data tables (a film list, an admissions table) the worth of their text.
///
/// A cell is a short block without punctuation, which [`block_value`] prices as a menu label;
/// a table of many such cells would sink the article that holds it. A table with at least four
/// cells, no table inside it, mostly plain text and no furniture hint is data, not layout.
fn value_data_tables(blocks: &mut [Block], candidates: &[Candidate]) {
    // Bottom-up in one pass: children come after parents in pre-order.
    let mut cells = vec![0u32; candidates.len()];
    let mut nested = vec![false; candidates.len()];
    for (k, c) in candidates.iter().enumerate().rev() {
        if let Some(p) = c.parent {
            cells[p] += cells[k] + u32::from(c.tag == Tag::Cell);
            nested[p] |= nested[k] || c.tag == Tag::Table;
        }
    }
    for (k, c) in candidates.iter().enumerate() {
        if c.tag != Tag::Table || nested[k] || cells[k] < 4 || c.hint < 0 || c.end <= c.start {
            continue;
        }
        let Some(table) = blocks.get_mut(c.start..c.end) else {
            continue;
        };
        let (chars, links) = table
            .iter()
            .fold((0, 0), |(a, l), b| (a + b.chars, l + b.link_chars));
        if links * 2 >= chars {
            continue;
        }
        for b in table {
            if !b.negative && !FURNITURE.is_match(&b.text) {
                let plain = b.chars.saturating_sub(b.link_chars) as f32;
                b.value = b.value.max(0.5 * plain - 2.0);
            }
        }
    }
}

/// What one block costs just by being there: a label or menu entry of this size is worth nothing.
const BLOCK_COST: f32 = 10.0;

/// What furniture between two stretches of body costs when the body is widened over it: it is
/// left out of the text, but a gap still makes it less likely the two stretches belong together.
const REMOVED_COST: f32 = 20.0;

fn block_value(b: &Block) -> f32 {
    let chars = b.chars as f32;
    let links = b.link_chars as f32;
    if b.negative || (b.chars < 200 && FURNITURE.is_match(&b.text)) {
        return -chars * 0.5 - BLOCK_COST;
    }
    let mut text = chars - links;
    if b.punct == 0 {
        text *= 0.3;
    }
    text - 1.5 * links - BLOCK_COST
}

impl Page {
    /// Cuts the visible text into blocks and records every block-level element's block range,
    /// in one iterative walk over the document.
    fn read(doc: &Html) -> Page {
        let mut blocks: Vec<Block> = Vec::new();
        let mut candidates: Vec<Candidate> = Vec::new();
        let mut pending = Pending::default();
        let mut stack: Vec<Frame> = Vec::new();
        let mut skip = 0usize;
        let mut in_link = 0u32;
        // The last child so far of each candidate, to link siblings in one pass.
        let mut last_child: Vec<Option<usize>> = Vec::new();
        let mut memo = std::collections::HashMap::new();
        for edge in doc.root_element().traverse() {
            match edge {
                Edge::Open(node) => match node.value() {
                    Node::Element(el) => {
                        let name = el.name();
                        if skip > 0 || is_skipped(name) || is_hidden(el) {
                            skip += 1;
                            continue;
                        }
                        let outer = stack.last().map_or(Context::default(), |f| f.ctx);
                        let names = Names::cached(el, &mut memo);
                        let own = hint_with(el, &names);
                        let block = is_block(name) && name != "br";
                        if name == "br" {
                            pending.text.push(BLOCK_BREAK);
                        } else if block {
                            pending.flush(&mut blocks, outer);
                        }
                        let anchor = name == "a" && el.attr("href").is_some();
                        if anchor {
                            in_link += 1;
                        }
                        let candidate = block.then(|| {
                            let index = candidates.len();
                            let parent = stack.iter().rev().find_map(|f| f.candidate);
                            if let Some(p) = parent {
                                match last_child.get(p).copied().flatten() {
                                    Some(prev) => candidates[prev].next_sibling = Some(index),
                                    None => candidates[p].first_child = Some(index),
                                }
                                last_child[p] = Some(index);
                            }
                            last_child.push(None);
                            candidates.push(Candidate {
                                start: blocks.len(),
                                end: blocks.len(),
                                parent,
                                first_child: None,
                                next_sibling: None,
                                hint: own,
                                anchors: 0,
                                tag: match name {
                                    "form" => Tag::Form,
                                    "table" => Tag::Table,
                                    "td" | "th" => Tag::Cell,
                                    _ => Tag::Other,
                                },
                                subtree_end: 0,
                                signature: signature(name, el.attr("class")),
                                para: matches!(
                                    name,
                                    "p" | "blockquote" | "pre" | "h2" | "h3" | "h4" | "h5" | "h6"
                                ),
                                chatter: own < 0 && names.chatter,
                            });
                            candidates.len() - 1
                        });
                        stack.push(Frame {
                            candidate,
                            anchor,
                            ctx: Context {
                                hint: if own != 0 { own } else { outer.hint },
                                hint_from: if own != 0 { candidate } else { outer.hint_from },
                                heading: outer.heading || names_title(el, &names),
                            },
                            anchors: 0,
                        });
                    }
                    Node::Text(t) if skip == 0 => pending.add(t, in_link > 0),
                    _ => {}
                },
                Edge::Close(node) => {
                    if !node.value().is_element() {
                        continue;
                    }
                    if skip > 0 {
                        skip -= 1;
                        continue;
                    }
                    let Some(frame) = stack.pop() else { continue };
                    let anchors = frame.anchors + u32::from(frame.anchor);
                    if let Some(parent) = stack.last_mut() {
                        parent.anchors += anchors;
                    }
                    if frame.anchor {
                        in_link = in_link.saturating_sub(1);
                    }
                    if let Some(c) = frame.candidate {
                        pending.flush(&mut blocks, frame.ctx);
                        let subtree_end = candidates.len();
                        if let Some(c) = candidates.get_mut(c) {
                            c.end = blocks.len();
                            c.anchors = anchors;
                            c.subtree_end = subtree_end;
                        }
                    }
                }
            }
        }
        pending.flush(&mut blocks, Context::default());
        if !ablated("trust") {
            trust_prose(&mut blocks, &mut candidates);
        }
        for b in &mut blocks {
            b.value = block_value(b);
        }
        if !ablated("tables") {
            value_data_tables(&mut blocks, &candidates);
        }
        let mut prefix = Vec::with_capacity(blocks.len() + 1);
        let mut prefix_chars = Vec::with_capacity(blocks.len() + 1);
        let mut prefix_links = Vec::with_capacity(blocks.len() + 1);
        let (mut sum, mut chars, mut links) = (0.0, 0, 0);
        prefix.push(sum);
        prefix_chars.push(chars);
        prefix_links.push(links);
        for b in &blocks {
            sum += b.value;
            chars += b.chars;
            links += b.link_chars;
            prefix.push(sum);
            prefix_chars.push(chars);
            prefix_links.push(links);
        }
        Page {
            blocks,
            candidates,
            prefix,
            prefix_chars,
            prefix_links,
        }
    }

    fn sum(&self, c: &Candidate) -> f32 {
        self.prefix[c.end] - self.prefix[c.start]
    }

    /// Whether the element is furniture that is dropped from the body wherever it sits: hinted
    /// navigation/comments/sharing, or a list of links worth less than nothing.
    fn removable(&self, c: &Candidate) -> bool {
        if c.start == c.end {
            return false;
        }
        if c.hint < 0 || c.tag == Tag::Form {
            return true;
        }
        let chars = self.chars(c.start, c.end);
        let links = self.prefix_links[c.end] - self.prefix_links[c.start];
        links * 2 > chars && c.anchors >= 2 && self.sum(c) < 0.0
    }

    /// The element whose blocks are worth the most: the article container. `within` limits the
    /// search to a range of candidate indices (one element's subtree).
    fn best_element(&self, within: std::ops::Range<usize>) -> Option<usize> {
        let whole_page = within.start == 0;
        let mut best: Option<(usize, f32)> = None;
        for (i, c) in self
            .candidates
            .iter()
            .enumerate()
            .take(within.end)
            .skip(within.start)
        {
            let mut score = self.sum(c);
            if score > 0.0 && c.hint > 0 && !ablated("boost") {
                score *= 1.1;
            }
            if best.is_none_or(|(_, s)| score > s) {
                best = Some((i, score));
            }
        }
        // A page too small to have furniture worth the name is all body.
        let tiny = !ablated("tiny") && self.prefix_chars.last().is_some_and(|&n| n < TINY_PAGE);
        match best {
            Some((i, s)) if s > 0.0 => Some(i),
            _ if whole_page && tiny && !self.candidates.is_empty() => Some(0),
            _ => None,
        }
    }

    /// The children of container `p` as units, in document order.
    fn units(&self, p: usize, like: u64) -> Vec<Unit> {
        let Some(parent) = self.candidates.get(p) else {
            return Vec::new();
        };
        let mut units = Vec::new();
        let mut pos = parent.start;
        let own = |units: &mut Vec<Unit>, from: usize, to: usize| {
            for b in from..to {
                units.push(Unit {
                    start: b,
                    end: b + 1,
                    value: self.blocks[b].value,
                    like: true,
                });
            }
        };
        for c in self.children(p).map(|k| &self.candidates[k]) {
            own(&mut units, pos, c.start);
            let value = if self.removable(c) {
                -REMOVED_COST
            } else {
                self.sum(c)
            };
            units.push(Unit {
                start: c.start,
                end: c.end,
                value,
                like: c.para || c.signature == like || ablated("like"),
            });
            pos = c.end;
        }
        own(&mut units, pos, parent.end);
        units
    }

    /// The body: the best element, widened over its siblings while that gains more prose than it
    /// takes in noise (articles whose paragraphs sit directly in a layout cell, between ad
    /// tables), minus the furniture nested inside.
    fn select(&self) -> Option<Selection> {
        let top = self.best_element(0..self.candidates.len())?;
        // In a list of posts the body is the first post's text, found the same way but without
        // leaving the post; or the article before the posts (comments), taken as it is.
        let (best, ceiling, fixed) = match self.posts(top) {
            Some(Posts::Before(start, end)) => (top, None, Some((start, end))),
            Some(Posts::First(head)) => {
                let subtree = head..self.candidates[head].subtree_end;
                (self.best_element(subtree).unwrap_or(head), Some(head), None)
            }
            None => (top, None, None),
        };
        let mut cur = best;
        let (mut start, mut end) =
            fixed.unwrap_or((self.candidates[best].start, self.candidates[best].end));
        while let (None, Some(p)) = (fixed, self.candidates[cur].parent) {
            if ceiling == Some(cur) {
                break;
            }
            let units = self.units(p, self.candidates[cur].signature);
            let Some(k) = units.iter().position(|u| u.start == start && u.end == end) else {
                break;
            };
            // A piece unlike the article's (a teaser box, a summary above it) is crossed when
            // article text lies beyond it, but never taken in for its own sake.
            let worth = |u: &Unit| if u.like { u.value } else { u.value.min(0.0) };
            let (mut left, mut gain, mut acc) = (k, 0.0f32, 0.0f32);
            for l in (0..k).rev() {
                acc += worth(&units[l]);
                if acc > gain {
                    (left, gain) = (l, acc);
                }
            }
            let (mut right, mut gain, mut acc) = (k, 0.0f32, 0.0f32);
            for (r, u) in units.iter().enumerate().skip(k + 1) {
                acc += worth(u);
                if acc > gain {
                    (right, gain) = (r, acc);
                }
            }
            start = units[left].start;
            end = units[right].end;
            if ablated("widen") {
                start = self.candidates[best].start;
                end = self.candidates[best].end;
                break;
            }
            if left == 0 && right + 1 == units.len() {
                // The whole container is body: see whether its own siblings are too.
                cur = p;
                (start, end) = (self.candidates[p].start, self.candidates[p].end);
            } else {
                break;
            }
        }
        let mut keep = vec![true; end - start];
        let best_range = (self.candidates[best].start, self.candidates[best].end);
        // Candidates are in pre-order, so a removed element's descendants come right after it
        // and need no second look.
        let mut removed_until = start;
        for c in &self.candidates {
            let inside = c.start >= start && c.end <= end && c.end > c.start;
            let holds_best = c.start <= best_range.0 && c.end >= best_range.1;
            if inside
                && c.start >= removed_until
                && !holds_best
                && !ablated("remove")
                && self.removable(c)
            {
                for k in &mut keep[c.start - start..c.end - start] {
                    *k = false;
                }
                removed_until = c.end;
            }
        }
        Some(Selection { start, end, keep })
    }

    fn chars(&self, start: usize, end: usize) -> u32 {
        self.prefix_chars[end] - self.prefix_chars[start]
    }

    /// The block-level children of candidate `p` that hold text, in document order.
    fn children(&self, p: usize) -> impl Iterator<Item = usize> + '_ {
        std::iter::successors(self.candidates.get(p).and_then(|c| c.first_child), |&k| {
            self.candidates[k].next_sibling
        })
        .filter(|&k| self.candidates[k].end > self.candidates[k].start)
    }

    /// A container that is a list of posts — a blog's archive page, a forum thread, an article
    /// followed by its comments — shows as three or more alike children each with its own date.
    /// Then the body is the first post, or whatever precedes the posts when that is substantial.
    fn posts(&self, best: usize) -> Option<Posts> {
        if ablated("posts") {
            return None;
        }
        let mut c = best;
        let kids = loop {
            let node = self.candidates.get(c)?;
            let kids: Vec<usize> = self.children(c).collect();
            // Look through wrappers (`<table><tbody>`) that hold nearly everything.
            match kids.as_slice() {
                [only]
                    if self.chars(self.candidates[*only].start, self.candidates[*only].end)
                        * 10
                        >= self.chars(node.start, node.end) * 9 =>
                {
                    c = *only;
                }
                _ => break kids,
            }
        };
        let node = &self.candidates[c];
        let dated: Vec<usize> = kids
            .iter()
            .copied()
            .filter(|&k| {
                let kid = &self.candidates[k];
                kid.end - kid.start >= 2
                    && self.chars(kid.start, kid.end) >= 40
                    && self.blocks[kid.start..kid.end]
                        .iter()
                        .any(|b| b.chars < 200 && normalise::date(&b.text).is_some())
            })
            .collect();
        let first = *dated.first()?;
        let sig = self.candidates[first].signature;
        let alike: Vec<usize> = dated
            .into_iter()
            .filter(|&k| self.candidates[k].signature == sig)
            .collect();
        if alike.len() < 3 {
            return None;
        }
        let listed: u32 = alike
            .iter()
            .map(|&k| self.chars(self.candidates[k].start, self.candidates[k].end))
            .sum();
        if listed * 2 < self.chars(node.start, node.end) {
            return None;
        }
        let head = &self.candidates[first];
        let before = self.chars(node.start, head.start);
        if before * 2 >= self.chars(head.start, head.end) {
            Some(Posts::Before(node.start, head.start))
        } else {
            Some(Posts::First(first))
        }
    }

    /// The selection's text without the byline, share and print lines at its ends.
    fn body_text(&self, sel: &Selection, title: Option<&str>) -> Option<String> {
        let mut lines: Vec<&str> = Vec::new();
        for (b, keep) in self.blocks[sel.start..sel.end].iter().zip(&sel.keep) {
            if *keep {
                lines.extend(b.text.split(BLOCK_BREAK));
            }
        }
        let title_key = title.map(squeeze).unwrap_or_default();
        if let Some(cut) = trailing_section(&lines).filter(|_| !ablated("trailing")) {
            lines.truncate(cut);
        }
        let first = if ablated("edges") {
            0
        } else {
            leading_furniture(&lines, &title_key)
        };
        lines.drain(..first);
        lines.reverse();
        let last = if ablated("edges") {
            0
        } else {
            leading_furniture(&lines, &title_key)
        };
        lines.drain(..last);
        lines.reverse();
        let mut out = String::new();
        for l in &lines {
            if !out.is_empty() {
                out.push(BLOCK_BREAK);
            }
            out.push_str(l);
        }
        // The first line left is not an edge line, so it has visible text.
        (!lines.is_empty()).then_some(out)
    }

    /// The date printed in the by-line: the best-placed short date line outside scripts,
    /// furniture and link lists, preferring the lines between the headline and the text. A date
    /// inside a sentence of prose is what the article talks about, not when it appeared, so a
    /// long line never counts; nor does a day after the fetch day or before 1990.
    fn text_date(
        &self,
        sel: Option<&Selection>,
        title: Option<&str>,
        hints: &PageHints,
        known: &[NaiveDate],
    ) -> Option<Printed> {
        let (body_start, body_end) = sel.map_or((0, self.blocks.len()), |s| (s.start, s.end));
        let title_key = title.map(squeeze).unwrap_or_default();
        let title_chars = title_key.chars().count() as u32;
        // The headline with at most a by-line beside it, not a sentence that quotes it.
        let repeats_title = |i: usize| {
            let b = &self.blocks[i];
            title_chars >= 4 && b.chars <= title_chars + 60 && squeeze(&b.text).contains(&title_key)
        };
        // Where the headline is printed: the last block repeating it before the body's first
        // paragraph of prose (the body may start with the headline itself).
        let prose = (body_start..body_end)
            .find(|&i| self.blocks[i].value > 20.0 && !repeats_title(i))
            .unwrap_or(body_start);
        // Blocks 0..=prose, none when the page has no blocks at all.
        let anchor = (0..self.blocks.len().min(prose + 1))
            .rev()
            .find(|&i| repeats_title(i));
        // The by-line: from the headline to the first prose, or the few blocks above the prose.
        // (The first prose block may open with the by-line: its lines before the prose count.)
        let byline = |i: usize| match anchor {
            Some(a) => i >= a && i <= prose,
            None => i <= prose && prose - i <= 3,
        };
        let mut best: Option<(f32, NaiveDate)> = None;
        for (i, b) in self.blocks.iter().enumerate() {
            let by_headline = byline(i);
            // A link list is related news, unless it sits between the headline and the text
            // (`<a>www.site.com</a> 2005-07-18 13:03`); a furniture hint does not hide a by-line.
            let link_list = b.link_chars * 2 > b.chars;
            if !by_headline && (b.negative || link_list) || FURNITURE.is_match(&b.text) {
                continue;
            }
            for line in b.text.split(BLOCK_BREAK) {
                // No digit, no date (`0xEF` leads the full-width ones): most lines end here,
                // except in the first prose block, whose by-line lines end at its first prose.
                let digits = line.bytes().any(|c| c.is_ascii_digit() || c == 0xEF);
                if !digits && i != prose {
                    continue;
                }
                let len = visible_len(line);
                if len > BYLINE_CHARS || is_sentence(line) || is_note(line) {
                    if i == prose {
                        break;
                    }
                    continue;
                }
                if !digits {
                    continue;
                }
                let Some(day) = any_date(line)
                    .or_else(|| yearless_date(line, known, hints, DATE_LABEL.is_match(line)))
                    .filter(|d| plausible_date(*d, hints))
                else {
                    continue;
                };
                let mut score = 1.0;
                if DATE_LABEL.is_match(line) {
                    score += 3.0;
                }
                let dist = match anchor {
                    Some(a) if by_headline => {
                        score += 6.0;
                        i - a
                    }
                    Some(a) => a.abs_diff(i) + 3,
                    None if by_headline => {
                        score += 6.0;
                        prose - i
                    }
                    None if i <= prose => prose - i,
                    None => i - prose + 3,
                };
                score += 3.0 / (1.0 + dist as f32);
                if best.is_none_or(|(s, _)| score > s) {
                    best = Some((score, day));
                }
            }
        }
        best.filter(|(s, _)| *s >= 3.0).map(|(s, day)| Printed {
            day,
            under_headline: s >= BYLINE_SCORE,
        })
    }
}

/// A line that reads as a sentence (it ends with a full stop, or runs on over commas) is prose,
/// however short.
fn is_sentence(line: &str) -> bool {
    let t = line
        .trim_end()
        .trim_end_matches(['”', '’', '」', ')', '）']);
    t.ends_with(['。', '！', '？'])
        || line.matches(['，', '；', ',', ';']).count() >= 2
        || (line.contains(['，', ',']) && line.contains('。'))
}

/// A date printed on the page, and whether it stands in the by-line under the headline.
struct Printed {
    day: NaiveDate,
    under_headline: bool,
}

/// The score of a date line in the by-line zone: the base point and the zone's bonus.
const BYLINE_SCORE: f32 = 7.0;

/// A line in parentheses is a note on the text (`（2007年6月29日…会议通过）`), not a by-line.
fn is_note(line: &str) -> bool {
    let t = line.trim();
    t.starts_with(['(', '（']) && t.ends_with([')', '）'])
}

/// A line longer than this is prose, not a by-line, whatever dates it mentions.
const BYLINE_CHARS: usize = 80;

/// `MM-DD HH:MM` without a year (`发布时间：10-08 12:00`), as portals print recent news.
static YEARLESS: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"(?:^|[^0-9/.\-])([0-9]{1,2})[-/月]([0-9]{1,2})日?\s*[0-9]{1,2}:[0-9]{2}")
});

/// `YY-MM-DD`, a two-digit year (`18-03-08 23:16`).
static SHORT_YEAR: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"(?:^|[^0-9/.\-])([0-9]{2})-([0-9]{2})-([0-9]{2})(?:[^0-9\-]|[0-9]{1,2}:|$)")
});

/// The day of a year-less by-line: the year of another date on the page with the same month
/// and day (a `dateModified` meta, the URL), else — only for a line labelled as the
/// publication time — the latest such day not after the fetch day.
fn yearless_date(
    line: &str,
    known: &[NaiveDate],
    hints: &PageHints,
    labelled: bool,
) -> Option<NaiveDate> {
    use chrono::Datelike;
    if let Some(caps) = SHORT_YEAR.captures(line) {
        let y: i32 = caps[1].parse().ok()?;
        let m: u32 = caps[2].parse().ok()?;
        let d: u32 = caps[3].parse().ok()?;
        // `18-03-08 23:16` is 2018-03-08 when the page confirms it, or when labelled as such.
        let day = NaiveDate::from_ymd_opt(2000 + y, m, d)?;
        return (labelled || known.contains(&day)).then_some(day);
    }
    let caps = YEARLESS.captures(line)?;
    let m: u32 = caps[1].parse().ok()?;
    let d: u32 = caps[2].parse().ok()?;
    if let Some(k) = known.iter().find(|k| k.month() == m && k.day() == d) {
        return Some(*k);
    }
    if !labelled {
        return None;
    }
    let year = hints.fetched_on.year();
    NaiveDate::from_ymd_opt(year, m, d)
        .filter(|day| *day <= hints.fetched_on)
        .or_else(|| NaiveDate::from_ymd_opt(year - 1, m, d))
}

/// Non-whitespace characters in `s`: a cheap length that needs no normalisation.
fn visible_len(s: &str) -> usize {
    s.chars().filter(|c| !c.is_whitespace()).count()
}

/// The text without any whitespace, NFKC-folded, for containment tests.
fn squeeze(s: &str) -> String {
    normalise::text(s)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

/// A line at the body's edge that is the headline again, a byline/source/print/share line, a
/// bare date, or empty. Long lines are prose and never dropped.
fn is_edge_line(line: &str, title_key: &str) -> bool {
    // NFKC never changes a string's length by more than a small factor; skip folding prose.
    if visible_len(line) > 200 {
        return false;
    }
    let key = squeeze(line);
    if key.is_empty() {
        return true;
    }
    let len = key.chars().count();
    if !title_key.is_empty()
        && (key == title_key || (key.contains(title_key) && len < 40 && !is_sentence(line)))
    {
        return true;
    }
    if len > 60 {
        return false;
    }
    // A short line with a labelled or timed date at the edge is a by-line (`最后更新:
    // 2019-09-07 15:14`, `原创 GameForce 2019-09-04 22:18`).
    EDGE_LINE.is_match(&key)
        || FURNITURE.is_match(&key)
        || (!ablated("edgedate")
            && len <= 40
            && DATE_LABEL.is_match(line)
            && any_date(line).is_some())
}

/// Lines short enough to be a site name, a channel or a byline before the real edge line.
fn is_short_line(line: &str) -> bool {
    visible_len(line) <= 40
}

/// How many lines at the start of `lines` are not article text: edge lines, and any short lines
/// before the last edge line among the first few (`www.site.cn` above `2005年08月16日 来源：…`).
/// A line that reads as a sentence is article text however short, and ends the search: a short
/// story's lines must not go with the `来源：` line under them.
fn leading_furniture(lines: &[&str], title_key: &str) -> usize {
    const LOOKAHEAD: usize = 8;
    let mut cut = 0;
    for (i, l) in lines.iter().enumerate().take(LOOKAHEAD) {
        if is_edge_line(l, title_key) {
            cut = i + 1;
        } else if !is_short_line(l) || (!ablated("sentstop") && is_sentence(l)) {
            break;
        }
    }
    cut
}

/// A short line that opens the comment, related-reading or disclaimer section after an article.
static SECTION_MARK: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)^[\[【〖<(]?\s*(?:(?:热门|最新|精彩|网友|读者|全部|相关)(?:评论|留言)|(?:评论|留言)(?:列表|区)\s*[(（]?\d*[)）]?|相关(?:新闻|阅读|文章|链接|报道|专题|推荐)|延伸阅读|推荐阅读|猜你喜欢|.{0,10}(?:免责声明|版权声明)|related|related (?:stories|articles|posts|content|coverage)|more stories|you may also like|recommended for you)\s*[\]】〗>)]?[:：]?$",
    )
});

/// Where the trailing comment/related/disclaimer section starts, if one starts after the first
/// quarter of the text (a popular post can have more comment text than article text).
fn trailing_section(lines: &[&str]) -> Option<usize> {
    let sizes: Vec<usize> = lines.iter().map(|l| visible_len(l)).collect();
    let total: usize = sizes.iter().sum();
    let mut seen = 0;
    for (i, l) in lines.iter().enumerate() {
        if seen * 4 >= total && seen >= 200 && sizes[i] <= 20 && SECTION_MARK.is_match(&squeeze(l))
        {
            return Some(i);
        }
        // A disclaimer closes the article: what follows it is the site's, not the author's.
        if !ablated("disclaimer")
            && seen * 2 >= total
            && seen >= 50
            && DISCLAIMER.is_match(l.trim_start())
        {
            return Some(i);
        }
        seen += sizes[i];
    }
    None
}

/// The opening of a publisher's disclaimer (`特别声明：`, `免责声明：`, `【声明】`).
static DISCLAIMER: LazyLock<Regex> =
    LazyLock::new(|| regex(r"^[\[【(（]?\s*(?:特别|免责|版权|郑重)?声明\s*[\]】)）]?\s*[:：]?"));

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(html: &str) -> Html {
        Html::parse_document(html)
    }

    fn day(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, d)
    }

    const PARAS: [&str; 3] = [
        "今年以来，硚口区坚持把优化营商环境作为“一把手”工程，聚焦企业反映的痛点、堵点问题，推出一系列务实举措，企业办事时间平均压缩了一半以上。",
        "在政务服务中心，记者看到，企业开办实现“一网通办”，营业执照、公章刻制、税务登记等事项当天即可办结，群众满意度明显提升。",
        "下一步，该区将继续深化“放管服”改革，完善常态化政企沟通机制，持续打造市场化、法治化、国际化的一流营商环境。",
    ];

    fn boilerplate_page() -> String {
        format!(
            r##"<html><head><title>硚口区持续优化营商环境_硚口区人民政府</title>
            <script>var now = "2019-01-01"; document.write('2018-05-05');</script></head>
            <body>
            <div class="header"><ul class="nav"><li><a href="/">首页</a></li><li><a href="/zw">政务公开</a></li>
              <li><a href="/xw">新闻动态</a></li><li><a href="/hd">互动交流</a></li></ul></div>
            <div class="breadcrumb"><a href="/">首页</a> &gt; <a href="/xw">新闻动态</a> &gt; 正文</div>
            <div class="main">
              <h1>硚口区持续优化营商环境</h1>
              <div class="info">发布时间：2025-07-02 09:30 来源：硚口区融媒体中心 【字号 大 中 小】 打印本页</div>
              <div class="share">分享到：<a href="#">微信</a> <a href="#">微博</a></div>
              <div class="TRS_Editor"><p>{}</p><p>{}</p><p>{}</p></div>
              <p>责任编辑：张三</p>
              <div class="prevnext"><a href="/a1.html">上一篇：关于开展安全生产检查的通知</a><br>
                <a href="/a2.html">下一篇：硚口区召开防汛工作会议</a></div>
              <div class="related"><h3>相关新闻</h3><ul>
                <li><a href="/r1.html">硚口区举办招商推介会，签约项目二十个</a> 2025-06-30</li>
                <li><a href="/r2.html">武汉市优化营商环境条例解读，企业关注的十个问题</a> 2025-06-28</li>
                <li><a href="/r3.html">汉正街街道开展助企服务月活动，走访企业百余家</a> 2025-06-20</li></ul></div>
            </div>
            <div class="footer"><p>版权所有：武汉市硚口区人民政府 2024-12-31 鄂ICP备05003321号</p>
              <p>地址：武汉市硚口区京汉大道 联系电话：027-83844210</p></div>
            <script>var published = "2020-02-02";</script>
            </body></html>"##,
            PARAS[0], PARAS[1], PARAS[2]
        )
    }

    #[test]
    fn boilerplate_heavy_page() {
        let doc = parse(&boilerplate_page());
        let got = article(&doc, None);
        assert_eq!(got.title.as_deref(), Some("硚口区持续优化营商环境"));
        assert_eq!(got.date, day(2025, 7, 2));
        let body = got.body.as_deref().map(normalise::text);
        let want = PARAS.map(normalise::text).join(" ");
        assert_eq!(body.as_deref(), Some(want.as_str()));
    }

    #[test]
    fn body_matches_selector_route_hash_form() {
        // The auto body of a clean container is exactly what visible_text gives for it.
        let html = format!(
            "<div id='content'><p>{}</p>\n<p>{}</p><br><p>{}</p></div><div class='nav'><a href='/'>首页</a></div>",
            PARAS[0], PARAS[1], PARAS[2]
        );
        let doc = parse(&html);
        let Some(sel) = selector("#content") else {
            unreachable!("static selector")
        };
        let Some(el) = doc.select(&sel).next() else {
            unreachable!("content div present")
        };
        let via_selector = normalise::text(&super::super::text::visible_text(el));
        let via_auto = body(&doc).map(|b| normalise::text(&b));
        assert_eq!(via_auto.as_deref(), Some(via_selector.as_str()));
    }

    #[test]
    fn inline_links_do_not_split_paragraphs() {
        let html = format!(
            r#"<html><body><ul id="menu"><li><a href="/a">新闻</a></li><li><a href="/b">公告</a></li></ul>
            <div class="article"><p>据<a href="/org">国家统计局</a>发布的数据，上半年<b>国内生产总值</b>同比增长百分之五点三，<a href="/cpi">居民消费价格</a>温和上涨，就业形势总体稳定。</p><p>{}</p></div></body></html>"#,
            PARAS[0]
        );
        let doc = parse(&html);
        let body = body(&doc).map(|b| normalise::text(&b));
        let want = format!(
            "据国家统计局发布的数据,上半年国内生产总值同比增长百分之五点三,居民消费价格温和上涨,就业形势总体稳定。 {}",
            normalise::text(PARAS[0])
        );
        assert_eq!(body.as_deref(), Some(want.as_str()));
    }

    #[test]
    fn date_near_title_beats_script_and_footer_dates() {
        let html = format!(
            r#"<html><head><title>东湖高新区发布人才新政 - 东湖高新区</title>
            <script>var t = '发布时间：2011-11-11';</script></head><body>
            <div class="top">今天是 2026年01月05日 星期一</div>
            <h2>东湖高新区发布人才新政</h2><p class="src">2024年3月8日 东湖高新区管委会</p>
            <div><p>{}</p><p>{}</p></div>
            <div id="foot">Copyright © 2012-2024 东湖高新区 发布日期：2013-01-01</div>
            <script>document.write("2015-05-05");</script></body></html>"#,
            PARAS[0], PARAS[1]
        );
        let doc = parse(&html);
        assert_eq!(date(&doc, None), day(2024, 3, 8));
        assert_eq!(title(&doc).as_deref(), Some("东湖高新区发布人才新政"));
    }

    #[test]
    fn meta_date_first_then_url() {
        let doc = parse(
            r#"<html><head><meta name="PubDate" content="2025-07-01 10:00"></head><body><p>无日期正文。</p></body></html>"#,
        );
        assert_eq!(date(&doc, None), day(2025, 7, 1));
        let bare = parse("<html><body><p>无日期正文。</p></body></html>");
        let url = Url::parse("http://www.example.gov.cn/xw/202507/t20250703_123.html").ok();
        assert_eq!(date(&bare, url.as_ref()), day(2025, 7, 3));
        let url = Url::parse("http://news.example.com/2025-07/04/c_1.htm").ok();
        assert_eq!(date(&bare, url.as_ref()), day(2025, 7, 4));
        assert_eq!(date(&bare, None), None);
    }

    #[test]
    fn title_suffixes_are_removed() {
        assert_eq!(
            strip_site_suffix("关于开展安全检查的通知_硚口区人民政府"),
            "关于开展安全检查的通知"
        );
        assert_eq!(
            strip_site_suffix("光谷发布新政 - 东湖高新区"),
            "光谷发布新政"
        );
        assert_eq!(strip_site_suffix("习近平会见外宾|新华网"), "习近平会见外宾");
        assert_eq!(
            strip_site_suffix("COVID-19 vaccines explained | Site"),
            "COVID-19 vaccines explained"
        );
        assert_eq!(
            strip_site_suffix("首页 | 一篇很长的文章标题"),
            "一篇很长的文章标题"
        );
        let doc =
            parse("<html><head><title>光谷发布新政-东湖高新区</title></head><body></body></html>");
        assert_eq!(title(&doc).as_deref(), Some("光谷发布新政"));
        let og = parse(
            r#"<html><head><meta property="og:title" content="开放图谱标题"><title>别的_站点</title></head></html>"#,
        );
        assert_eq!(title(&og).as_deref(), Some("开放图谱标题"));
    }

    #[test]
    fn furniture_word_on_an_outer_wrapper_does_not_sink_the_article() {
        // Two paragraphs sit in a content-named element, the last directly in a wrapper whose
        // class happens to contain `header`.
        let html = format!(
            r#"<html><body><div class="layout side-header"><ul class="menu"><li><a href="/">首页</a></li></ul>
            <div class="article-text"><p>{}</p><p>{}</p></div><p>{}</p></div></body></html>"#,
            PARAS[0], PARAS[1], PARAS[2]
        );
        let doc = parse(&html);
        let want = PARAS.map(normalise::text).join(" ");
        assert_eq!(
            body(&doc).map(|b| normalise::text(&b)).as_deref(),
            Some(want.as_str())
        );
    }

    #[test]
    fn a_list_of_dated_posts_yields_the_first_post() {
        let post = |title: &str, day: u32, text: &str| {
            format!(
                "<div class='post'><h3>{title}</h3><p>{text}</p><p>发表于 2025-07-{day:02} 10:00</p></div>"
            )
        };
        let html = format!(
            "<html><body><div id='posts'>{}{}{}</div></body></html>",
            post("营商环境", 3, PARAS[0]),
            post("政务服务", 2, PARAS[1]),
            post("深化改革", 1, PARAS[2])
        );
        let doc = parse(&html);
        let got = body(&doc).map(|b| normalise::text(&b)).unwrap_or_default();
        assert!(got.contains(&normalise::text(PARAS[0])), "{got}");
        assert!(!got.contains(&normalise::text(PARAS[1])), "{got}");
        assert!(!got.contains(&normalise::text(PARAS[2])), "{got}");
        assert!(!got.contains("2025-07-03"), "{got}");
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        // html5ever takes quadratic time to parse 100,000 nested <div>s (its scope checks walk the
        // open-element stack), so the tree is built directly from parsed node values instead.
        let depth = 100_000;
        let sample = parse(&format!(
            "<html><body><div>{}</div></body></html>",
            PARAS[0]
        ));
        let node_value = |want: fn(&Node) -> bool| {
            sample
                .tree
                .nodes()
                .map(|n| n.value().clone())
                .find(want)
                .unwrap_or_else(|| unreachable!("sample page has the node"))
        };
        let div = node_value(|n| n.as_element().is_some_and(|e| e.name() == "div"));
        let text = node_value(Node::is_text);
        let mut doc = parse("<html><body></body></html>");
        let Some(body_id) = doc
            .tree
            .nodes()
            .find(|n| n.value().as_element().is_some_and(|e| e.name() == "body"))
            .map(|n| n.id())
        else {
            unreachable!("parsed page has a body")
        };
        let mut cur = body_id;
        for _ in 0..depth {
            let Some(mut node) = doc.tree.get_mut(cur) else {
                unreachable!("node just added")
            };
            cur = node.append(div.clone()).id();
        }
        if let Some(mut innermost) = doc.tree.get_mut(cur) {
            innermost.append(text);
        }
        let got = article(&doc, None);
        assert_eq!(
            got.body.as_deref().map(normalise::text),
            Some(normalise::text(PARAS[0]))
        );
    }
}

#[cfg(test)]
mod debug_page {
    use super::*;
    #[test]
    fn debug_page() {
        let Ok(path) = std::env::var("DEBUG_PAGE") else {
            return;
        };
        let bytes = std::fs::read(&path).expect("read");
        let text = crate::fetch::charset::decode(&bytes, None, None).text;
        let doc = crate::extract::parse_document(&text);
        let got = article(&doc, None);
        println!(
            "TITLE {:?}\nDATE {:?}\nBODY {:?}",
            got.title,
            got.date,
            got.body.as_deref().map(normalise::text)
        );
        let page = Page::read(&doc);
        let sel = page.select();
        let top = page.best_element(0..page.candidates.len());
        println!(
            "best element {:?}",
            top.map(|t| (
                t,
                page.candidates[t].start,
                page.candidates[t].end,
                page.sum(&page.candidates[t])
            ))
        );
        if let Some(s) = &sel {
            println!("selection {}..{}", s.start, s.end);
        }
        for (i, b) in page.blocks.iter().enumerate() {
            let t: String = normalise::text(&b.text).chars().take(60).collect();
            let mark = sel.as_ref().map_or(" ", |s| {
                if i >= s.start && i < s.end {
                    if s.keep[i - s.start] { "K" } else { "x" }
                } else {
                    " "
                }
            });
            println!(
                "{mark} {i:4} v={:7.1} c={:4} l={:4} p={:3} neg={} {t}",
                b.value, b.chars, b.link_chars, b.punct, b.negative as u8
            );
        }
    }
}
