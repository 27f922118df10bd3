//! Rendering digests from minijinja templates: `digest.txt` and `digest.html` for mail,
//! `digest.md` for chat. Built-in copies are compiled into the binary; a digest may name a
//! folder of its own.

use super::NotifyError;
use super::diff::changed_sentences;
use super::filter::Filter;
use crate::store::{Change, PendingItem};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use minijinja::Value;
use serde::Serialize;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

/// Which templates a digest renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `digest.txt` and `digest.html`, for a `multipart/alternative` mail.
    Mail,
    /// `digest.md`, for chat robots.
    Markdown,
}

const TEXT: &str = "digest.txt";
const HTML: &str = "digest.html";
const MARKDOWN: &str = "digest.md";

fn builtin(name: &str) -> &'static str {
    match name {
        TEXT => include_str!("../../templates/digest.txt"),
        HTML => include_str!("../../templates/digest.html"),
        _ => include_str!("../../templates/digest.md"),
    }
}

/// A digest's templates, loaded and checked once, at start-up.
pub struct Templates {
    env: minijinja::Environment<'static>,
    format: Format,
}

/// Rendered output: subject, the text or markdown body, and the HTML body (mail only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Templates {
    /// Loads the templates for `format` from `dir`, or the built-in ones. A syntax error is
    /// reported here, naming the file, rather than when the digest is due.
    pub fn load(dir: Option<&Path>, format: Format) -> Result<Templates, NotifyError> {
        let mut env = minijinja::Environment::new();
        // Article text is HTML-escaped in `.html` templates and left alone elsewhere.
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                minijinja::AutoEscape::Html
            } else {
                minijinja::AutoEscape::None
            }
        });
        let names: &[&str] = match format {
            Format::Mail => &[TEXT, HTML],
            Format::Markdown => &[MARKDOWN],
        };
        for name in names {
            let shown = dir.map_or_else(
                || format!("built-in {name}"),
                |d| d.join(name).display().to_string(),
            );
            let source = match dir {
                Some(d) => {
                    std::fs::read_to_string(d.join(name)).map_err(|e| NotifyError::Template {
                        name: shown.clone(),
                        reason: e.to_string(),
                    })?
                }
                None => builtin(name).to_owned(),
            };
            env.add_template_owned(*name, source)
                .map_err(|e| NotifyError::Template {
                    name: shown,
                    reason: e.to_string(),
                })?;
        }
        Ok(Templates { env, format })
    }

    /// Renders `items` of digest `name`, with `failing` sources in the footer; `None` when
    /// there is nothing to send.
    pub fn render(
        &self,
        name: &str,
        items: &[PendingItem],
        filter: &Filter,
        failing: &[FailingSource],
        timezone: Tz,
        now: DateTime<Utc>,
    ) -> Result<Option<Rendered>, NotifyError> {
        if items.is_empty() {
            return Ok(None);
        }
        let mut new: BTreeMap<&str, Vec<ItemView>> = BTreeMap::new();
        let mut updated: BTreeMap<&str, Vec<ItemView>> = BTreeMap::new();
        let mut sorted: Vec<&PendingItem> = items.iter().collect();
        sorted.sort_by(|a, b| b.article.date.cmp(&a.article.date).then(b.id.cmp(&a.id)));
        for item in sorted {
            let view = ItemView::new(item, filter);
            let group = match item.change {
                Change::New => &mut new,
                Change::Updated { .. } => &mut updated,
            };
            group
                .entry(item.article.source.as_str())
                .or_default()
                .push(view);
        }
        let count = |g: &BTreeMap<&str, Vec<ItemView>>| g.values().map(Vec::len).sum::<usize>();
        let (n_new, n_updated) = (count(&new), count(&updated));
        let subject = subject(name, n_new, n_updated);
        let ctx = Context {
            subject: &subject,
            digest: name,
            new_count: n_new,
            updated_count: n_updated,
            generated_at: now
                .with_timezone(&timezone)
                .format("%Y-%m-%d %H:%M %Z")
                .to_string(),
            new: groups(new),
            updated: groups(updated),
            failing,
        };
        let render = |t: &str| {
            self.env
                .get_template(t)
                .and_then(|t| t.render(minijinja::value::Serde(&ctx)))
                .map_err(|e| NotifyError::Template {
                    name: t.to_owned(),
                    reason: format!("{e:#}"),
                })
        };
        Ok(Some(match self.format {
            Format::Mail => Rendered {
                text: render(TEXT)?,
                html: render(HTML)?,
                subject,
            },
            Format::Markdown => Rendered {
                text: render(MARKDOWN)?,
                html: String::new(),
                subject,
            },
        }))
    }
}

/// `newswatch: 3 new, 1 updated`, with the digest's name when it has one of its own.
fn subject(name: &str, new: usize, updated: usize) -> String {
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let counts = match (new, updated) {
        (n, 0) => format!("{n} new article{}", plural(n)),
        (0, u) => format!("{u} updated article{}", plural(u)),
        (n, u) => format!("{n} new, {u} updated"),
    };
    if name == "digest" {
        format!("newswatch: {counts}")
    } else {
        format!("newswatch ({name}): {counts}")
    }
}

/// What the templates see (documented in the README).
#[derive(Serialize)]
struct Context<'a> {
    subject: &'a str,
    digest: &'a str,
    new_count: usize,
    updated_count: usize,
    generated_at: String,
    new: Vec<Group<'a>>,
    updated: Vec<Group<'a>>,
    failing: &'a [FailingSource],
}

/// A source that has failed `alert_after_failures` crawls in a row, for the digest footer.
#[derive(Debug, Clone, Serialize)]
pub struct FailingSource {
    pub source: String,
    pub failures: u32,
    pub last_error: String,
    /// `never`, or the day of the last successful crawl.
    pub last_success: String,
}

#[derive(Serialize)]
struct Group<'a> {
    source: &'a str,
    items: Vec<ItemView>,
}

fn groups(g: BTreeMap<&str, Vec<ItemView>>) -> Vec<Group<'_>> {
    g.into_iter()
        .map(|(source, items)| Group { source, items })
        .collect()
}

/// One article as the templates see it. `*_html` fields are escaped HTML with keyword
/// matches in `<mark>`; `*_marked` fields are plain text with matches in `**…**`.
#[derive(Serialize)]
struct ItemView {
    title: String,
    title_html: Value,
    title_marked: String,
    source: String,
    date: String,
    url: Option<String>,
    opening: String,
    opening_html: Value,
    opening_marked: String,
    revision: u32,
    previous_title: Option<String>,
    added: Vec<String>,
    removed: Vec<String>,
}

/// How much of the body the digest shows.
const OPENING_CHARS: usize = 160;

impl ItemView {
    fn new(item: &PendingItem, filter: &Filter) -> ItemView {
        let a = &item.article;
        let opening = excerpt(&a.body, filter);
        let (added, removed, previous_title) = match &item.previous {
            Some(prev) => {
                let (added, removed) = changed_sentences(&prev.body, &a.body);
                (
                    added,
                    removed,
                    (prev.title != a.title).then(|| prev.title.clone()),
                )
            }
            None => (Vec::new(), Vec::new(), None),
        };
        ItemView {
            title_html: Value::from_safe_string(mark_html(&a.title, &filter.highlights(&a.title))),
            title_marked: mark_text(&a.title, &filter.highlights(&a.title)),
            title: a.title.clone(),
            source: a.source.clone(),
            date: a.date.format("%Y-%m-%d").to_string(),
            url: a.url.clone(),
            opening_html: Value::from_safe_string(mark_html(
                &opening,
                &filter.highlights(&opening),
            )),
            opening_marked: mark_text(&opening, &filter.highlights(&opening)),
            opening,
            revision: a.revision,
            previous_title,
            added,
            removed,
        }
    }
}

/// The opening of the body, or — when a keyword first matches further in — the passage around
/// that match, so the reader sees why the article is in this digest.
fn excerpt(body: &str, filter: &Filter) -> String {
    // Offsets are found by walking the characters, never by collecting them: a body can be
    // megabytes (16 bytes a character collected), and its opening is all a digest shows.
    if body.char_indices().nth(OPENING_CHARS).is_none() {
        return body.to_owned();
    }
    let first_match = filter.highlights(body).first().map(|r| r.start);
    let start_char = match first_match {
        Some(byte) => {
            let at = body[..byte].chars().count();
            if at + 20 < OPENING_CHARS {
                0
            } else {
                at.saturating_sub(40)
            }
        }
        None => 0,
    };
    let start = body.char_indices().nth(start_char).map_or(0, |(i, _)| i);
    let end = body[start..]
        .char_indices()
        .nth(OPENING_CHARS)
        .map_or(body.len(), |(i, _)| start + i);
    let mut s = String::new();
    if start_char > 0 {
        s.push('…');
    }
    s.push_str(&body[start..end]);
    if end < body.len() {
        s.push('…');
    }
    s
}

fn mark_html(text: &str, ranges: &[Range<usize>]) -> String {
    let mut out = String::new();
    let mut at = 0;
    for r in ranges {
        out.push_str(&crate::escape_html(&text[at..r.start]));
        out.push_str("<mark style=\"background:#fff1a8;color:inherit;padding:0 1px;\">");
        out.push_str(&crate::escape_html(&text[r.clone()]));
        out.push_str("</mark>");
        at = r.end;
    }
    out.push_str(&crate::escape_html(&text[at..]));
    out
}

fn mark_text(text: &str, ranges: &[Range<usize>]) -> String {
    let mut out = String::new();
    let mut at = 0;
    for r in ranges {
        out.push_str(&text[at..r.start]);
        out.push_str("**");
        out.push_str(&text[r.clone()]);
        out.push_str("**");
        at = r.end;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::article::Article;
    use crate::notify::filter::Pattern;
    use chrono::NaiveDate;

    fn item(
        id: u64,
        title: &str,
        body: &str,
        day: u32,
        source: &str,
        change: Change,
        previous: Option<Article>,
    ) -> PendingItem {
        let date = NaiveDate::from_ymd_opt(2025, 7, day).unwrap_or_default();
        PendingItem {
            id,
            article: Article::new(
                title,
                body,
                date,
                Some(format!("http://h/{id}")),
                source,
                Utc::now(),
            ),
            change,
            previous,
        }
    }

    #[test]
    fn sections_groups_counts_escaping_and_highlights() {
        let t = Templates::load(None, Format::Mail).unwrap_or_else(|e| panic!("{e}"));
        let day = NaiveDate::from_ymd_opt(2025, 7, 1).unwrap_or_default();
        let old = Article::new(
            "旧标题",
            "总投资50亿元。项目落户光谷。",
            day,
            None,
            "b",
            Utc::now(),
        );
        let items = vec![
            item(
                1,
                "<b>光谷</b>招商引资",
                "正文。",
                1,
                "b",
                Change::New,
                None,
            ),
            item(2, "硚口新闻", "招商引资正文。", 3, "a", Change::New, None),
            item(
                3,
                "新标题",
                "总投资60亿元。项目落户光谷。",
                2,
                "b",
                Change::Updated { from: 1 },
                Some(old),
            ),
        ];
        let filter = Filter {
            keywords: vec![Pattern::parse("招商引资").unwrap_or_else(|e| panic!("{e}"))],
            ..Filter::default()
        };
        let failing = [FailingSource {
            source: "down".into(),
            failures: 4,
            last_error: "HTTP 503".into(),
            last_success: "2025-06-30".into(),
        }];
        let r = t.render(
            "digest",
            &items,
            &filter,
            &failing,
            chrono_tz::Asia::Shanghai,
            Utc::now(),
        );
        let r = r.ok().flatten().unwrap_or_else(|| panic!("rendered"));
        assert_eq!(r.subject, "newswatch: 2 new, 1 updated");
        let new_at = r.text.find("New (2)").unwrap_or(usize::MAX);
        let upd_at = r.text.find("Updated (1)").unwrap_or(usize::MAX);
        assert!(new_at < upd_at && upd_at < usize::MAX, "{}", r.text);
        assert!(
            r.text.find("== a ==").unwrap_or(usize::MAX) < r.text.find("== b ==").unwrap_or(0),
            "grouped by source: {}",
            r.text
        );
        assert!(
            r.text.contains("+ 总投资60亿元。") && r.text.contains("- 总投资50亿元。"),
            "{}",
            r.text
        );
        assert!(r.text.contains("was: 旧标题"), "{}", r.text);
        assert!(r.text.contains("**招商引资**"), "{}", r.text);
        assert!(
            r.html.contains("&lt;b&gt;光谷&lt;&#x2f;b&gt;<mark"),
            "{}",
            r.html
        );
        assert!(!r.html.contains("<b>光谷"));
        assert_eq!(
            subject("morning", 0, 1),
            "newswatch (morning): 1 updated article"
        );
    }

    #[test]
    fn excerpt_moves_to_a_late_keyword() {
        let body = format!("{}外资项目落地。", "无关的开头。".repeat(60));
        let filter = Filter {
            keywords: vec![Pattern::parse("外资").unwrap_or_else(|e| panic!("{e}"))],
            ..Filter::default()
        };
        let e = excerpt(&body, &filter);
        assert!(e.starts_with('…') && e.contains("外资项目落地"), "{e}");
        assert!(excerpt(&body, &Filter::default()).starts_with("无关的开头"));
    }

    #[test]
    fn template_errors_name_the_file() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let _ = std::fs::write(tmp.path().join("digest.md"), "{% for x in %}");
        let err = Templates::load(Some(tmp.path()), Format::Markdown)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("digest.md"), "{err}");
    }
}
