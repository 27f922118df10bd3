//! A list page read without selectors: which of its links are the articles, and which one leads
//! to the next list page.
//!
//! * **Article links.** Links are grouped by where they stand: links in the repeated items of one
//!   list (the `<li>`s of a `<ul>`, the rows of a table, sibling `<div>`s) with the same inner
//!   shape form a group, and sibling lists of the same kind (a list split into blocks of five)
//!   form one group. Each group is valued the way a reader picks out the news list: many links,
//!   anchors as long as headlines, Chinese text (or several words), a date beside them, URLs of one
//!   pattern; navigation (short anchors), breadcrumbs, side lists headed or named 热点/推荐/相关/
//!   排行, paging links and footers (named so, or made of short anchors) weigh little. The best
//!   group wins, and the reasons for it and against the runners-up are kept for `check`.
//! * **Next page.** `rel=next`, then a link reading 下一页/下页/Next/`>`/`›`/`»`, then the
//!   `createPageHTML(…)` script of TRS-built government sites (page 2 is `index_1.html`).

use super::{base_url, clean_url, parse_document, text::visible_text};
use crate::normalise;
use ego_tree::NodeId;
use regex::Regex;
use scraper::{ElementRef, Html, Selector};
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::LazyLock;
use url::Url;

/// A link on a list page and its visible text (the article's title as the list shows it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedLink {
    pub url: Url,
    pub anchor: String,
}

/// The article links found on a list page without a selector, and why this group was chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct ArticleLinks {
    pub links: Vec<ListedLink>,
    /// Human-readable lines: the group chosen with its evidence, then the best groups passed
    /// over and why (for `newswatch check`).
    pub why: String,
}

/// The next list page, and how it was recognised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextPage {
    pub url: Url,
    pub why: String,
}

fn selector(css: &str) -> Option<Selector> {
    Selector::parse(css).ok()
}

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| unreachable!("static pattern {pattern}: {e}"))
}

static A: LazyLock<Option<Selector>> = LazyLock::new(|| selector("a[href]"));
static REL_NEXT: LazyLock<Option<Selector>> =
    LazyLock::new(|| selector("link[rel~=next][href], a[rel~=next][href]"));
static SCRIPT: LazyLock<Option<Selector>> = LazyLock::new(|| selector("script"));

/// Class or id words of page regions that hold no article list.
static FURNITURE_NAME: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)nav|menu|footer|breadcrumb|crumb|sidebar|related|relate|recommend|rank|hot|share|friend|copyright|banner|advert|login|pager|pagination|paging|(^|[-_ ])(foot|top|header|side|ads?|tags?|links?|tool|weather)($|[-_ ])",
    )
});

/// Headings of side lists: hot, recommended, related, most read, picture and friend links.
static SIDE_HEADING: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)热点|热门|推荐|相关|排行|排名|点击榜|猜你喜欢|延伸阅读|精彩图片|友情链接|热帖|most (?:read|popular|viewed)|trending|related|recommended|popular",
    )
});

/// Anchors of paging links and other controls.
static PAGING_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)^(?:\d+|[<>«»‹›]+|首页|尾页|末页|上一?页|下一?页|上一?頁|下一?頁|前页|后页|跳转|go|next|prev(?:ious)?|first|last|more|更多|更多>+|>>|<<)$",
    )
});

/// Anchors of a next-page link.
static NEXT_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)^(?:下一?页|下一?頁|后一?页|next(?:\s*page)?|next\s*[>›»]|[>›»]|下一?页\s*[>›»]+|[>›»]\s*下一?页)$",
    )
});

/// A date printed beside a list entry: `2025-07-02`, `2025年7月2日`, `07-02`, `[07/02]`.
static ENTRY_DATE: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?:19|20)\d{2}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}|(?:^|[^\d])\d{1,2}[-/月]\d{1,2}(?:日|[^\d:]|$)",
    )
});

/// TRS's pager script: `createPageHTML(total, current, "index", "html")`, or the later
/// `createPageHTML("page_div", total, current, "index", "html", records)`.
static CREATE_PAGE: LazyLock<Regex> = LazyLock::new(|| regex(r"createPageHTML\s*\(([^)]*)\)"));

/// A link of the page: where it goes, what it says, where it stands.
struct Link<'a> {
    url: Url,
    anchor: String,
    element: ElementRef<'a>,
}

/// The links of one list, and what they look like.
struct Group<'a> {
    /// The list element holding the items (for sibling lists, the first of them).
    container: ElementRef<'a>,
    /// Tag and class of an item, and the tag path from the item to its link.
    item: String,
    shape: String,
    links: Vec<Link<'a>>,
    /// How many of the items print a date.
    dated: usize,
}

struct Judged {
    score: f64,
    summary: String,
    verdict: &'static str,
}

/// The article links of a list page, without a selector: the group of links that reads most
/// like a news list. `None` when no group has at least three links that look like headlines.
pub fn article_links(html: &str, page_url: &Url) -> Option<ArticleLinks> {
    article_links_in(&parse_document(html), page_url)
}

/// [`article_links`] of a parsed page.
pub(super) fn article_links_in(doc: &Html, page_url: &Url) -> Option<ArticleLinks> {
    let base = base_url(doc, page_url);
    let links = page_links(doc, &base);
    let mut groups = group_links(links);
    if groups.is_empty() {
        return None;
    }
    let judged: Vec<Judged> = groups.iter().map(|g| judge(g, page_url)).collect();
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by(|&a, &b| judged[b].score.total_cmp(&judged[a].score));
    let best = order[0];
    if judged[best].score <= 0.0 {
        return None;
    }
    let mut why = String::new();
    let _ = writeln!(
        why,
        "article links: {} in {}",
        groups[best].links.len(),
        judged[best].summary
    );
    let passed: Vec<usize> = order.iter().skip(1).take(4).copied().collect();
    if !passed.is_empty() {
        let _ = writeln!(why, "passed over:");
        for k in passed {
            let _ = writeln!(
                why,
                "  {} links in {} ({})",
                groups[k].links.len(),
                judged[k].summary,
                judged[k].verdict
            );
        }
    }
    let chosen = groups.swap_remove(best);
    Some(ArticleLinks {
        links: chosen
            .links
            .into_iter()
            .map(|l| ListedLink {
                url: l.url,
                anchor: l.anchor,
            })
            .collect(),
        why,
    })
}

/// Every http(s) link of the page with visible text (or a `title`), paging controls left out.
fn page_links<'a>(doc: &'a Html, base: &Url) -> Vec<Link<'a>> {
    let Some(a) = A.as_ref() else {
        return Vec::new();
    };
    doc.select(a)
        .filter_map(|el| {
            let href = el.attr("href")?.trim();
            if href.is_empty() || href.starts_with('#') {
                return None;
            }
            let url = base.join(href).ok()?;
            if !matches!(url.scheme(), "http" | "https") {
                return None;
            }
            let mut anchor = normalise::text(&visible_text(el));
            if anchor.chars().count() < 4
                && let Some(t) = el.attr("title").map(normalise::text)
                && t.chars().count() > anchor.chars().count()
            {
                anchor = t;
            }
            if anchor.is_empty() || PAGING_TEXT.is_match(&anchor) {
                return None;
            }
            Some(Link {
                url: clean_url(url),
                anchor,
                element: el,
            })
        })
        .collect()
}

fn signature(el: ElementRef<'_>) -> String {
    let mut s = el.value().name().to_string();
    let mut classes: Vec<&str> = el.value().classes().collect();
    classes.sort_unstable();
    for c in classes {
        s.push('.');
        s.push_str(c);
    }
    s
}

/// Whether `el` has a sibling of its kind: the same tag, and mostly the same classes (at least
/// half of all the classes the two carry), so `div.data_row.news_first` is one of the
/// `div.data_row`s while `div.threadlist_lz.clearfix` is not one of a
/// `div.threadlist_detail.clearfix`: utility classes do not make two elements alike.
fn repeated(el: ElementRef<'_>) -> bool {
    let name = el.value().name();
    let mine: HashSet<&str> = el.value().classes().collect();
    el.prev_siblings()
        .chain(el.next_siblings())
        .filter_map(ElementRef::wrap)
        .any(|s| {
            if s.value().name() != name {
                return false;
            }
            let theirs: HashSet<&str> = s.value().classes().collect();
            let union = mine.union(&theirs).count();
            union == 0 || mine.intersection(&theirs).count() * 2 >= union
        })
}

/// Groups links by the list item they sit in: the nearest ancestor (or the link itself) that
/// repeats among its siblings. Items of sibling lists that repeat too join one group.
fn group_links(links: Vec<Link<'_>>) -> Vec<Group<'_>> {
    const MAX_CLIMB: usize = 8;
    let mut groups: Vec<Group<'_>> = Vec::new();
    let mut index: HashMap<(NodeId, String, String), usize> = HashMap::new();
    let mut seen: HashSet<(usize, Url)> = HashSet::new();
    for link in links {
        let mut item = link.element;
        // The link's own classes tell its role in the item (`a.xst` the title, `a.xi1` a badge).
        let mut path = vec![signature(item)];
        for _ in 0..MAX_CLIMB {
            if repeated(item) {
                break;
            }
            let Some(parent) = item.parent().and_then(ElementRef::wrap) else {
                break;
            };
            if matches!(parent.value().name(), "body" | "html") {
                break;
            }
            item = parent;
            path.push(item.value().name().to_string());
        }
        path.reverse();
        let shape = path.join(">");
        let Some(container) = item.parent().and_then(ElementRef::wrap) else {
            continue;
        };
        // A list split into sibling blocks of the same kind is one list.
        let key_node = if repeated(container) {
            container
                .parent()
                .and_then(ElementRef::wrap)
                .map_or(container.id(), |p| p.id())
        } else {
            container.id()
        };
        // Entries of one list may differ in class (`news_article`, `news_photoview`).
        let item_sig = signature(item);
        let key = (key_node, item.value().name().to_string(), shape.clone());
        let g = *index.entry(key).or_insert_with(|| {
            groups.push(Group {
                container,
                item: item_sig,
                shape,
                links: Vec::new(),
                dated: 0,
            });
            groups.len() - 1
        });
        if !seen.insert((g, link.url.clone())) {
            continue;
        }
        let item_text = normalise::text(&visible_text(item));
        if ENTRY_DATE.is_match(&item_text) {
            groups[g].dated += 1;
        }
        groups[g].links.push(link);
    }
    groups
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FFFF)
}

/// The shape of a URL: host and path with digit runs folded, the last segment's name dropped
/// but its extension kept (`news.163.com/0/0/0/*.html`).
fn url_shape(url: &Url) -> String {
    let path = url.path();
    let (dir, last) = path.rsplit_once('/').unwrap_or(("", path));
    let ext = last.rsplit_once('.').map_or("", |(_, e)| e);
    let fold = |s: &str| {
        let mut out = String::new();
        let mut digit = false;
        for c in s.chars() {
            if c.is_ascii_digit() {
                if !digit {
                    out.push('0');
                }
                digit = true;
            } else {
                out.push(c);
                digit = false;
            }
        }
        out
    };
    let query = if url.query().is_some() { "?" } else { "" };
    format!(
        "{}{}/*.{}{}",
        url.host_str().unwrap_or(""),
        fold(dir),
        ext,
        query
    )
}

/// Whether two hosts belong to one site (`news.163.com` and `www.163.com`).
fn same_site(a: &str, b: &str) -> bool {
    let tail = |h: &str| {
        let labels: Vec<&str> = h.rsplit('.').take(3).collect();
        // `gov.cn`, `com.cn`: the registrable name is one label further in.
        let n = if labels.get(1).is_some_and(|l| l.len() <= 3) && labels.len() > 2 {
            3
        } else {
            2
        };
        labels.into_iter().take(n).collect::<Vec<_>>().join(".")
    };
    tail(a) == tail(b)
}

/// The text of the heading just above `el` (a previous sibling of it or of its parent that is
/// short), or empty.
fn heading_above(el: ElementRef<'_>) -> String {
    for node in [Some(el), el.parent().and_then(ElementRef::wrap)]
        .into_iter()
        .flatten()
    {
        if let Some(prev) = node.prev_siblings().filter_map(ElementRef::wrap).next() {
            let text = normalise::text(&visible_text(prev));
            if !text.is_empty() && text.chars().count() <= 20 {
                return text;
            }
        }
    }
    String::new()
}

/// Values a group as the page's article list.
fn judge(g: &Group<'_>, page_url: &Url) -> Judged {
    let n = g.links.len();
    let lens: Vec<usize> = g.links.iter().map(|l| l.anchor.chars().count()).collect();
    let avg = lens.iter().sum::<usize>() as f64 / n.max(1) as f64;
    let chars: usize = lens.iter().sum();
    let cjk: usize = g
        .links
        .iter()
        .map(|l| l.anchor.chars().filter(|c| is_cjk(*c)).count())
        .sum();
    let cjk_share = cjk as f64 / chars.max(1) as f64;
    let words = g
        .links
        .iter()
        .map(|l| l.anchor.split_whitespace().count())
        .sum::<usize>() as f64
        / n.max(1) as f64;
    let dated = g.dated as f64 / n.max(1) as f64;
    let mut shapes: HashMap<String, usize> = HashMap::new();
    for l in &g.links {
        *shapes.entry(url_shape(&l.url)).or_default() += 1;
    }
    let (top_shape, top_count) = shapes
        .iter()
        .max_by_key(|(_, c)| **c)
        .map_or((String::new(), 0), |(s, c)| (s.clone(), *c));
    let pattern = top_count as f64 / n.max(1) as f64;
    // Headlines differ from one another; a column of `title` texts that all say "new window"
    // does not.
    let distinct = g
        .links
        .iter()
        .map(|l| l.anchor.as_str())
        .collect::<HashSet<_>>()
        .len() as f64
        / n.max(1) as f64;
    let page_host = page_url.host_str().unwrap_or("");
    let on_site = g
        .links
        .iter()
        .filter(|l| l.url.host_str().is_some_and(|h| same_site(h, page_host)))
        .count() as f64
        / n.max(1) as f64;
    // Anchors as long as headlines: Chinese ones of 8 to 60 characters, or several words.
    let headline = if cjk_share >= 0.3 {
        ramp(avg, 4.0, 10.0) * (1.0 - ramp(avg, 60.0, 120.0))
    } else {
        ramp(words, 2.0, 5.0) * (1.0 - ramp(avg, 150.0, 300.0))
    };
    // The names of the list and its surroundings, and the heading above it.
    let mut names = String::new();
    let mut node = Some(g.container);
    for _ in 0..4 {
        let Some(el) = node else { break };
        for v in [el.attr("class"), el.attr("id")].into_iter().flatten() {
            names.push_str(v);
            names.push(' ');
        }
        if matches!(el.value().name(), "nav" | "footer" | "aside" | "header") {
            names.push_str(el.value().name());
            names.push(' ');
        }
        node = el.parent().and_then(ElementRef::wrap);
    }
    let heading = heading_above(g.container);
    let side_heading = SIDE_HEADING.is_match(&heading);
    let furniture_name = FURNITURE_NAME.is_match(&names);
    let mut verdict = "fewer or shorter headlines";
    let mut score = (1.0 + n as f64).ln()
        * headline
        * (0.6 + 0.4 * cjk_share.max(ramp(words, 2.0, 5.0)))
        * (1.0 + dated)
        * (0.4 + 0.6 * pattern)
        * (0.5 + 0.5 * on_site)
        * distinct;
    if n < 3 {
        score *= 0.2;
        verdict = "too few links";
    }
    if avg < 5.0 {
        verdict = "navigation: short anchors";
    }
    if side_heading {
        score *= 0.3;
        verdict = "a side list";
    } else if furniture_name {
        score *= 0.4;
        verdict = "named like page furniture";
    }
    let mut summary = format!("`{}`", describe(g));
    let _ = write!(
        summary,
        ": anchors {avg:.0} chars on average, {:.0} % Chinese, {:.0} % dated, {:.0} % like {top_shape}",
        cjk_share * 100.0,
        dated * 100.0,
        pattern * 100.0
    );
    if !heading.is_empty() {
        let _ = write!(summary, ", under \"{heading}\"");
    }
    Judged {
        score,
        summary,
        verdict,
    }
}

/// 0 below `lo`, 1 above `hi`, linear between.
fn ramp(x: f64, lo: f64, hi: f64) -> f64 {
    ((x - lo) / (hi - lo)).clamp(0.0, 1.0)
}

/// The group's place as a CSS-like path: `div.news > ul > li (a)`.
fn describe(g: &Group<'_>) -> String {
    let mut parts = vec![signature(g.container)];
    if let Some(parent) = g.container.parent().and_then(ElementRef::wrap)
        && !matches!(parent.value().name(), "body" | "html")
    {
        parts.insert(0, signature(parent));
    }
    format!("{} > {} ({})", parts.join(" > "), g.item, g.shape)
}

/// The next list page, without a selector: `rel=next`, a link reading 下一页 / 下页 / Next / `>`,
/// or TRS's `createPageHTML(…)` pager script. Links back to the page itself and `javascript:`
/// links are passed over.
pub fn next_page(html: &str, page_url: &Url) -> Option<NextPage> {
    next_page_in(&parse_document(html), page_url)
}

/// [`next_page`] of a parsed page.
pub(super) fn next_page_in(doc: &Html, page_url: &Url) -> Option<NextPage> {
    let base = base_url(doc, page_url);
    let here = clean_url(page_url.clone());
    let resolve = |href: &str| -> Option<Url> {
        let href = href.trim();
        if href.is_empty() || href.starts_with('#') {
            return None;
        }
        let url = clean_url(base.join(href).ok()?);
        (matches!(url.scheme(), "http" | "https") && url != here).then_some(url)
    };
    if let Some(sel) = REL_NEXT.as_ref()
        && let Some(url) = doc
            .select(sel)
            .find_map(|el| el.attr("href").and_then(resolve))
    {
        return Some(NextPage {
            url,
            why: "rel=next".to_string(),
        });
    }
    if let Some(sel) = A.as_ref() {
        for el in doc.select(sel) {
            let text = normalise::text(&visible_text(el));
            let label = if text.is_empty() {
                el.attr("title")
                    .or_else(|| el.attr("aria-label"))
                    .map(normalise::text)
                    .unwrap_or_default()
            } else {
                text
            };
            let squeezed: String = label.chars().filter(|c| !c.is_whitespace()).collect();
            if !NEXT_TEXT.is_match(&squeezed) && !NEXT_TEXT.is_match(&label) {
                continue;
            }
            if let Some(url) = el.attr("href").and_then(resolve) {
                return Some(NextPage {
                    url,
                    why: format!("link reading \"{label}\""),
                });
            }
        }
    }
    let sel = SCRIPT.as_ref()?;
    for script in doc.select(sel) {
        let code: String = script.text().collect();
        if let Some(next) = trs_next(&code)
            && let Some(url) = resolve(&next)
        {
            return Some(NextPage {
                url,
                why: format!("TRS pager script, next page {next}"),
            });
        }
    }
    None
}

/// The next page a TRS `createPageHTML` call leads to, relative to the list page: the file
/// `{name}_{current + 1}.{ext}` while there is one. Arguments may name variables set in the same
/// script (`var countPage = 17`).
fn trs_next(code: &str) -> Option<String> {
    let caps = CREATE_PAGE.captures(code)?;
    let args: Vec<&str> = caps[1].split(',').map(str::trim).collect();
    let quoted = |s: &str| {
        let t = s.trim_matches(['"', '\'']);
        (t.len() + 2 == s.len()).then(|| t.to_string())
    };
    let number = |s: &str| -> Option<u64> {
        if let Ok(n) = s.parse() {
            return Some(n);
        }
        if !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || s.is_empty() {
            return None;
        }
        let var = regex(&format!(r"\b{}\s*=\s*(\d+)", regex::escape(s)));
        var.captures(code)?[1].parse().ok()
    };
    // `createPageHTML(total, current, name, ext)`: current counts from 0 and page i > 0 is
    // `name_i.ext`; `createPageHTML(div, total, current, name, ext, records)`: current counts
    // from 1 and page i > 1 is `name_i.ext`. Either way the next page is `name_{current+1}`.
    let (total, current, name, ext, zero_based) = match args.as_slice() {
        [div, total, current, name, ext, ..] if quoted(div).is_some() => (
            number(total)?,
            number(current)?,
            quoted(name)?,
            quoted(ext)?,
            false,
        ),
        [total, current, name, ext, ..] => (
            number(total)?,
            number(current)?,
            quoted(name)?,
            quoted(ext)?,
            true,
        ),
        _ => return None,
    };
    let last = if zero_based {
        total.checked_sub(1)?
    } else {
        total
    };
    (current < last).then(|| format!("{name}_{}.{ext}", current + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    const HEADLINES: [&str; 8] = [
        "武汉市召开优化营商环境工作推进会",
        "硚口区举办招商引资项目集中签约活动",
        "东湖高新区发布支持光电子信息产业发展若干措施",
        "市政务服务中心推出一网通办新举措",
        "江汉区开展助企纾困专项行动走访重点企业",
        "武汉经开区智能网联汽车产业园二期开工",
        "关于公布2025年度市级重点建设项目名单的通知",
        "青山区深化放管服改革提升群众满意度",
    ];

    /// A district portal's list page: navigation, breadcrumb, the news list (`main` entries),
    /// hot/recommended/related side lists, paging, a footer of links.
    fn portal(main: usize, pager: &str) -> String {
        let entries = |prefix: &str, n: usize, dated: bool| -> String {
            (0..n)
                .map(|i| {
                    let date = if dated {
                        format!("<span class=\"date\">2025-06-{:02}</span>", 28 - i % 20)
                    } else {
                        String::new()
                    };
                    format!(
                        "<li><a href=\"{prefix}{i}.html\" target=\"_blank\">{}（{prefix}{i}）</a>{date}</li>",
                        HEADLINES[i % HEADLINES.len()]
                    )
                })
                .collect()
        };
        let nav: String = [
            "首页",
            "政务公开",
            "政务服务",
            "互动交流",
            "走进硚口",
            "专题专栏",
        ]
        .iter()
        .enumerate()
        .map(|(i, w)| format!("<li><a href=\"/c{i}/\">{w}</a></li>"))
        .collect();
        format!(
            r#"<html><head><title>区县动态_硚口区人民政府</title></head><body>
            <div class="head"><ul class="menu">{nav}</ul></div>
            <div class="location">当前位置：<a href="/">首页</a> &gt; <a href="/xw/">新闻中心</a> &gt; 区县动态</div>
            <div class="left"><div class="box"><h3>热点新闻</h3><ul>{hot}</ul></div>
              <div class="box"><h3>推荐阅读</h3><ul>{rec}</ul></div></div>
            <div class="right"><h2>区县动态</h2><ul class="list">{main}</ul>{pager}</div>
            <div class="box"><h3>相关链接</h3><ul>{rel}</ul></div>
            <div class="foot"><a href="/about.html">关于我们</a> | <a href="/map.html">网站地图</a> | <a href="/contact.html">联系我们</a>
              <p>主办：武汉市硚口区人民政府办公室</p></div></body></html>"#,
            hot = entries("/xw/202506/t_hot_", 10, true),
            rec = entries("/zt/t_rec_", 8, false),
            main = entries("/xw/qxdt/202506/t2025062", main, true),
            rel = entries("http://other.gov.test/x", 6, false),
        )
    }

    #[test]
    fn the_news_list_wins_over_navigation_side_lists_and_footer() {
        let page = url("http://qiaokou.gov.test/xw/qxdt/index.html");
        for main in [4, 15] {
            let html = portal(
                main,
                r#"<div class="page"><a href="index.html">首页</a> <a href="index_1.html">2</a> <a href="index_1.html">下一页</a> <a href="index_5.html">尾页</a></div>"#,
            );
            let Some(found) = article_links(&html, &page) else {
                panic!("no group found with {main} entries")
            };
            let urls: Vec<String> = found.links.iter().map(|l| l.url.to_string()).collect();
            let want: Vec<String> = (0..main)
                .map(|i| format!("http://qiaokou.gov.test/xw/qxdt/202506/t2025062{i}.html"))
                .collect();
            assert_eq!(urls, want, "{}", found.why);
            assert!(found.links[0].anchor.starts_with(HEADLINES[0]));
            assert!(found.why.contains("ul.list"), "{}", found.why);
            assert!(
                found.why.contains("热点新闻"),
                "side list named: {}",
                found.why
            );
            assert_eq!(
                next_page(&html, &page)
                    .map(|n| n.url.to_string())
                    .as_deref(),
                Some("http://qiaokou.gov.test/xw/qxdt/index_1.html")
            );
        }
    }

    #[test]
    fn a_trs_paged_list() {
        let html = portal(
            12,
            r#"<div class="page"><script language="JavaScript">var currentPage = 0; var countPage = 6; createPageHTML(countPage, currentPage, "index", "html");</script></div>"#,
        );
        let first = url("http://qiaokou.gov.test/xw/qxdt/");
        assert_eq!(
            article_links(&html, &first).map(|f| f.links.len()),
            Some(12)
        );
        let next = next_page(&html, &first);
        assert_eq!(
            next.as_ref().map(|n| n.url.as_str()),
            Some("http://qiaokou.gov.test/xw/qxdt/index_1.html")
        );
        assert!(next.is_some_and(|n| n.why.contains("TRS")));
    }

    #[test]
    fn no_list_no_links() {
        let page = url("http://h.test/");
        assert_eq!(
            article_links(
                "<p>只有一段文字，没有链接。</p><a href='/a'>首页</a>",
                &page
            ),
            None
        );
    }

    #[test]
    fn trs_script_forms() {
        assert_eq!(
            trs_next(r#"createPageHTML(5, 0, "index", "html");"#).as_deref(),
            Some("index_1.html")
        );
        assert_eq!(
            trs_next("var countPage = 3; var currentPage = 1; createPageHTML(countPage, currentPage, \"index\", \"shtml\");").as_deref(),
            Some("index_2.shtml")
        );
        assert_eq!(trs_next(r#"createPageHTML(3, 2, "index", "html");"#), None);
        assert_eq!(
            trs_next("createPageHTML('page_div',10, 1,'dezlist','shtml',149);").as_deref(),
            Some("dezlist_2.shtml")
        );
        assert_eq!(
            trs_next("createPageHTML('page_div',10, 10,'dezlist','shtml',149);"),
            None
        );
        assert_eq!(trs_next("createPageHTML(a, b)"), None);
    }

    #[test]
    fn next_page_forms() {
        let page = url("http://gov.test/xw/index.html");
        let next = |html: &str| next_page(html, &page).map(|n| n.url.to_string());
        assert_eq!(
            next(r#"<head><link rel="next" href="index_1.html"></head>"#).as_deref(),
            Some("http://gov.test/xw/index_1.html")
        );
        assert_eq!(
            next(r#"<div class="page"><a href="index.html">首页</a> <a href="javascript:void(0)">上一页</a> <a href="index_1.html">下一页</a> <a href="index_9.html">尾页</a></div>"#).as_deref(),
            Some("http://gov.test/xw/index_1.html")
        );
        assert_eq!(
            next(r#"<a href="?page=2">Next ›</a>"#).as_deref(),
            Some("http://gov.test/xw/index.html?page=2")
        );
        assert_eq!(
            next(r#"<span>1</span> <a href="p2.html">2</a> <a href="p2.html"> &gt; </a>"#)
                .as_deref(),
            Some("http://gov.test/xw/p2.html")
        );
        assert_eq!(
            next(r#"<script>createPageHTML(7, 0, "index", "html");</script>"#).as_deref(),
            Some("http://gov.test/xw/index_1.html")
        );
        // The last page: the link points back here, or the script says so.
        assert_eq!(next(r#"<a href="index.html">下一页</a>"#), None);
        assert_eq!(
            next(r#"<script>createPageHTML(1, 0, "index", "html");</script>"#),
            None
        );
        assert_eq!(next(r#"<a href="/about.html">关于我们</a>"#), None);
    }
}
