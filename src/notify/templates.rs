//! Rendering digests from minijinja templates: `digest.txt` and `digest.html` for mail,
//! `digest.md` for chat. Built-in copies are compiled into the binary; a digest may name a
//! folder of its own.
//!
//! Page text is escaped for where it goes: HTML in `.html` templates, the robot's markdown in
//! `.md` templates ([`Markup`]), nothing in `.txt`. A render is bounded: minijinja's fuel caps
//! the work (and the memory) one render may take, so a template that loops without end fails
//! with an error instead of holding the digest — and the daemon's shutdown — forever. Loading
//! renders a sample digest of the largest size the digest may send, so a template that cannot
//! render one within the budget is refused at `validate` and start-up, naming the file.

use super::NotifyError;
use super::diff::changed_sentences;
use super::filter::Filter;
use super::markup::Markup;
use super::summary::{self, Chip, Labels, Summary};
use crate::article::Article;
use crate::store::{Change, PendingItem};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use minijinja::Value;
use serde::Serialize;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

/// The language of a digest's subject, labels and dates. Page text stays as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Chinese: `招商动态 · 7月2日 · 新增12条`, dates as `2025年7月2日`.
    #[default]
    Zh,
    /// English: `newswatch: 12 new articles`, dates as `2025-07-02`.
    En,
}

impl std::str::FromStr for Language {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "zh" | "zh-cn" | "zh-hans" | "cn" | "chinese" | "中文" => Ok(Language::Zh),
            "en" | "english" => Ok(Language::En),
            _ => Err(format!("{s:?} is not a digest language (zh or en)")),
        }
    }
}

/// Which templates a digest renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `digest.txt` and `digest.html`, for a `multipart/alternative` mail.
    Mail,
    /// `digest.md`, for chat robots, with page text escaped for the robot's markdown.
    Markdown(Markup),
}

/// Fuel (minijinja's unit of rendering work: about one instruction, or 64 bytes of data) a
/// render may use: [`FUEL_BASE`] plus [`FUEL_PER_ITEM`] for each article the digest may hold.
/// The built-in templates use 0.25–0.5 % of it on a sample of 200 articles (measured; the
/// tests require under 2 %), so a template has room for far more than they do, and an endless
/// loop stops within a fraction of a second.
pub const FUEL_BASE: u64 = 200_000;
pub const FUEL_PER_ITEM: u64 = 20_000;

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
    language: Language,
    /// Where each template came from, for errors: its path, or "built-in digest.txt".
    shown: BTreeMap<&'static str, String>,
    fuel: u64,
    /// See [`super::DigestSettings::public_url`].
    public_url: Option<String>,
}

/// Rendered output: subject, the text or markdown body, and the HTML body (mail only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Templates {
    /// Loads the templates for `format` from `dir`, or the built-in ones, for digests of at
    /// most `max_items` articles. A syntax error is reported here, naming the file, rather
    /// than when the digest is due; so is a template that cannot render a sample digest of
    /// `max_items` articles within its budget of work.
    pub fn load(
        dir: Option<&Path>,
        format: Format,
        max_items: usize,
    ) -> Result<Templates, NotifyError> {
        let mut env = minijinja::Environment::new();
        // Article text is HTML-escaped in `.html` templates, escaped for the robot's markdown
        // in `.md` templates, and left alone elsewhere.
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                minijinja::AutoEscape::Html
            } else if name.ends_with(".md") {
                minijinja::AutoEscape::Custom(MARKDOWN_ESCAPE.into())
            } else {
                minijinja::AutoEscape::None
            }
        });
        if let Format::Markdown(markup) = format {
            env.set_formatter(move |out, state, value| {
                if matches!(state.auto_escape(), minijinja::AutoEscape::Custom(_))
                    && !value.is_safe()
                {
                    return out
                        .write_str(&markup.escape(&value.to_string()))
                        .map_err(|e| {
                            minijinja::Error::new(minijinja::ErrorKind::WriteFailure, e.to_string())
                        });
                }
                minijinja::escape_formatter(out, state, value)
            });
        }
        let fuel = FUEL_BASE.saturating_add(
            FUEL_PER_ITEM.saturating_mul(u64::try_from(max_items).unwrap_or(u64::MAX)),
        );
        env.set_fuel(Some(fuel));
        let names: &[&'static str] = match format {
            Format::Mail => &[TEXT, HTML],
            Format::Markdown(_) => &[MARKDOWN],
        };
        let mut shown = BTreeMap::new();
        for name in names {
            let place = dir.map_or_else(
                || format!("built-in {name}"),
                |d| d.join(name).display().to_string(),
            );
            let source = match dir {
                Some(d) => {
                    std::fs::read_to_string(d.join(name)).map_err(|e| NotifyError::Template {
                        name: place.clone(),
                        reason: e.to_string(),
                    })?
                }
                None => builtin(name).to_owned(),
            };
            env.add_template_owned(*name, source)
                .map_err(|e| NotifyError::Template {
                    name: place.clone(),
                    reason: e.to_string(),
                })?;
            shown.insert(*name, place);
        }
        let templates = Templates {
            env,
            format,
            language: Language::default(),
            shown,
            fuel,
            public_url: None,
        };
        templates.check_budget(max_items)?;
        Ok(templates)
    }

    /// These templates rendering in `language` (Chinese unless set).
    pub fn with_language(mut self, language: Language) -> Templates {
        self.language = language;
        self
    }

    /// Links each article to its page under `public_url` (see
    /// [`super::DigestSettings::public_url`]).
    pub fn linking(mut self, public_url: Option<String>) -> Templates {
        self.public_url = public_url;
        self
    }

    /// Renders a sample digest of `max_items` articles (some updated, with changed sentences,
    /// and failing sources in the footer), so a template that loops without end, or does far
    /// more work per article than a digest needs, is refused now rather than when it is due.
    fn check_budget(&self, max_items: usize) -> Result<(), NotifyError> {
        let items = sample_items(max_items.max(1));
        let failing = [FailingSource {
            source: "sample-source".into(),
            failures: 3,
            last_error: "HTTP 503 from http://sample.invalid/list.html".into(),
            last_success: "2025-07-01".into(),
        }];
        let now = DateTime::from_timestamp(1_751_500_000, 0).unwrap_or_default();
        self.render_counted(
            "sample",
            &items,
            &Filter::default(),
            &failing,
            chrono_tz::Asia::Shanghai,
            now,
            0,
        )
        .map(drop)
        .map_err(|e| match e {
            NotifyError::Template { name, reason } => NotifyError::Template {
                name,
                reason: format!("on a sample digest of {} articles: {reason}", items.len()),
            },
            other => other,
        })
    }

    /// Renders `items` of digest `name`, with `failing` sources in the footer and the number
    /// of articles left for the next digest (`more_pending`); `None` when there is nothing to
    /// send.
    #[allow(clippy::too_many_arguments)]
    pub fn render(
        &self,
        name: &str,
        items: &[PendingItem],
        filter: &Filter,
        failing: &[FailingSource],
        timezone: Tz,
        now: DateTime<Utc>,
        more_pending: usize,
    ) -> Result<Option<Rendered>, NotifyError> {
        self.render_counted(name, items, filter, failing, timezone, now, more_pending)
    }

    #[allow(clippy::too_many_arguments)]
    fn render_counted(
        &self,
        name: &str,
        items: &[PendingItem],
        filter: &Filter,
        failing: &[FailingSource],
        timezone: Tz,
        now: DateTime<Utc>,
        more_pending: usize,
    ) -> Result<Option<Rendered>, NotifyError> {
        if items.is_empty() {
            return Ok(None);
        }
        let language = self.language;
        let mut new: BTreeMap<&str, Vec<ItemView>> = BTreeMap::new();
        let mut updated: BTreeMap<&str, Vec<ItemView>> = BTreeMap::new();
        let mut sorted: Vec<&PendingItem> = items.iter().collect();
        sorted.sort_by(|a, b| b.article.date.cmp(&a.article.date).then(b.id.cmp(&a.id)));
        for item in sorted {
            let page = self
                .public_url
                .as_ref()
                .map(|base| format!("{base}/article/{}", item.id));
            let view = ItemView::new(item, filter, self.format, language, page);
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
        let local = now.with_timezone(&timezone);
        let summary = Summary::of(language, items.iter().map(|i| &i.signals));
        let subject = summary::subject(
            language,
            name,
            local.date_naive(),
            n_new,
            n_updated,
            &summary,
        );
        let failing: Vec<FailingView> = failing
            .iter()
            .map(|f| FailingView {
                text: summary::failing(language, f.failures, &f.last_success, &f.last_error),
                source: f,
            })
            .collect();
        let ctx = Context {
            // Both come from the config, not from pages: in markdown they stay as written.
            subject: self.configured(&subject),
            digest: self.configured(name),
            language,
            labels: Labels::of(language),
            new_count: n_new,
            updated_count: n_updated,
            date: summary::date(language, local.date_naive()),
            generated_at: match language {
                Language::Zh => format!(
                    "{} {}",
                    summary::date(language, local.date_naive()),
                    local.format("%H:%M %Z")
                ),
                Language::En => local.format("%Y-%m-%d %H:%M %Z").to_string(),
            },
            summary,
            new: groups(new),
            updated: groups(updated),
            failing,
            more_pending,
            more_pending_text: summary::more_pending(language, more_pending),
        };
        let render = |t: &str| {
            self.env
                .get_template(t)
                .and_then(|t| t.render(minijinja::value::Serde(&ctx)))
                .map_err(|e| NotifyError::Template {
                    name: self.shown.get(t).cloned().unwrap_or_else(|| t.to_owned()),
                    reason: if e.kind() == minijinja::ErrorKind::OutOfFuel {
                        format!(
                            "rendering used up its budget of {} units of work (does it loop \
                             without end, or do far more work per article than a digest needs?)",
                            self.fuel
                        )
                    } else {
                        format!("{e:#}")
                    },
                })
        };
        Ok(Some(match self.format {
            Format::Mail => Rendered {
                text: render(TEXT)?,
                html: render(HTML)?,
                subject,
            },
            Format::Markdown(_) => Rendered {
                text: render(MARKDOWN)?,
                html: String::new(),
                subject,
            },
        }))
    }
}

impl Templates {
    /// Text from the config (the digest's name, the subject made from it): HTML-escaped in
    /// `.html` templates like any text, but not escaped as page text in markdown.
    fn configured(&self, text: &str) -> Value {
        match self.format {
            Format::Mail => Value::from(text),
            Format::Markdown(_) => Value::from_safe_string(text.to_owned()),
        }
    }
}

/// What the templates see (documented in the README).
#[derive(Serialize)]
struct Context<'a> {
    subject: Value,
    digest: Value,
    /// `zh` or `en`.
    language: Language,
    /// The words the built-in templates print, in the digest's language.
    labels: Labels,
    new_count: usize,
    updated_count: usize,
    /// The digest's day: `2025年7月2日` or `2025-07-02`.
    date: String,
    generated_at: String,
    /// Counts per stage, totals per currency, the regions and industries met most.
    summary: Summary,
    new: Vec<Group<'a>>,
    updated: Vec<Group<'a>>,
    failing: Vec<FailingView<'a>>,
    /// Articles left for the next digest by the digest's size caps.
    more_pending: usize,
    /// The sentence saying so, in the digest's language.
    more_pending_text: String,
}

/// A failing source with its footer line in the digest's language (`text`).
#[derive(Serialize)]
struct FailingView<'a> {
    #[serde(flatten)]
    source: &'a FailingSource,
    text: String,
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
/// matches in `<mark>`; `*_marked` fields are text with matches in `**…**` (in `.md`
/// templates the text escaped for the robot, the `**` left as markup, and `url` made safe as
/// a link target).
#[derive(Serialize)]
struct ItemView {
    title: String,
    title_html: Value,
    title_marked: Value,
    source: String,
    date: String,
    /// The page the article was read from.
    url: Option<Value>,
    /// newswatch's page of the article (its text and revisions), when `public_url` is set.
    page: Option<Value>,
    /// Where the title links: `page` when there is one, else `url`.
    link: Option<Value>,
    opening: String,
    opening_html: Value,
    opening_marked: Value,
    revision: u32,
    /// `第2版` or `revision 2`.
    revision_label: String,
    previous_title: Option<String>,
    added: Vec<String>,
    removed: Vec<String>,
    /// Largest amount per currency, stages, first regions and industries: `{kind, text}`.
    chips: Vec<Chip>,
    /// Every signal found, for templates of one's own.
    signals: crate::signals::Signals,
}

/// How much of the body the digest shows.
const OPENING_CHARS: usize = 160;

/// The name the `.md` templates' auto-escape mode goes by.
const MARKDOWN_ESCAPE: &str = "markdown";

impl ItemView {
    fn new(
        item: &PendingItem,
        filter: &Filter,
        format: Format,
        language: Language,
        page: Option<String>,
    ) -> ItemView {
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
        // Markup newswatch builds itself is safe where it is meant for (HTML in mail, the
        // highlights and the link target in markdown); in markdown, the HTML fields are plain
        // text like any other, so the formatter escapes them.
        let markup = match format {
            Format::Mail => None,
            Format::Markdown(m) => Some(m),
        };
        let marked = |text: &str, ranges: &[Range<usize>]| match markup {
            None => Value::from(mark_text(text, ranges, &|s: &str| s.to_owned())),
            Some(m) => Value::from_safe_string(mark_text(text, ranges, &|s: &str| m.escape(s))),
        };
        let html = |h: String| {
            if markup.is_some() {
                Value::from(h)
            } else {
                Value::from_safe_string(h)
            }
        };
        let target = |u: &str| match markup {
            None => Value::from(u),
            Some(m) => Value::from_safe_string(m.link_target(u)),
        };
        let url = a.url.as_deref().map(target);
        let page = page.as_deref().map(target);
        let link = page.clone().or_else(|| url.clone());
        ItemView {
            title_html: html(mark_html(&a.title, &filter.highlights(&a.title))),
            title_marked: marked(&a.title, &filter.highlights(&a.title)),
            title: a.title.clone(),
            source: a.source.clone(),
            date: summary::date(language, a.date),
            url,
            page,
            link,
            opening_html: html(mark_html(&opening, &filter.highlights(&opening))),
            opening_marked: marked(&opening, &filter.highlights(&opening)),
            opening,
            revision: a.revision,
            revision_label: summary::revision(language, a.revision),
            previous_title,
            added,
            removed,
            chips: summary::chips(language, &item.signals),
            signals: item.signals.clone(),
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

/// `text` with `ranges` in `**…**`, each piece of text passed through `escape`.
fn mark_text(text: &str, ranges: &[Range<usize>], escape: &dyn Fn(&str) -> String) -> String {
    let mut out = String::new();
    let mut at = 0;
    for r in ranges {
        out.push_str(&escape(&text[at..r.start]));
        out.push_str("**");
        out.push_str(&escape(&text[r.clone()]));
        out.push_str("**");
        at = r.end;
    }
    out.push_str(&escape(&text[at..]));
    out
}

/// `n` articles for the budget check: a few sources, every fourth one updated with changed
/// sentences and a new title, bodies of a usual length.
fn sample_items(n: usize) -> Vec<PendingItem> {
    const SENTENCE: &str = "东湖高新区举行招商引资项目集中签约活动，总投资约五十亿元，涵盖光电子信息、生物医药和新能源等产业。";
    let day = NaiveDate::from_ymd_opt(2025, 7, 2).unwrap_or_default();
    let fetched = DateTime::from_timestamp(1_751_400_000, 0).unwrap_or_default();
    (0..n)
        .map(|i| {
            let source = format!("sample-{}", i % 5);
            let url = Some(format!("http://sample.invalid/{i}.html"));
            let body = SENTENCE.repeat(6);
            let article = Article::new(
                &format!("样例文章第{i}篇：营商环境优化举措发布"),
                &format!("{body}第{i}次修订。"),
                day,
                url.clone(),
                &source,
                fetched,
            );
            let updated = i % 4 == 3;
            let previous = updated.then(|| {
                Article::new(
                    &format!("样例文章第{i}篇"),
                    &format!("{}旧的说法。另一句旧话。", SENTENCE.repeat(4)),
                    day,
                    url,
                    &source,
                    fetched,
                )
            });
            PendingItem {
                id: u64::try_from(i).unwrap_or(u64::MAX),
                signals: crate::signals::extract(&article.title, &article.body),
                article,
                change: if updated {
                    Change::Updated { from: 1 }
                } else {
                    Change::New
                },
                previous,
            }
        })
        .collect()
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
            signals: crate::signals::extract(title, body),
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
        let t = Templates::load(None, Format::Mail, 10).unwrap_or_else(|e| panic!("{e}"));
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
        let mut items = items;
        items[2].article.revision = 2;
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
        let now = DateTime::from_timestamp(1_751_414_400, 0).unwrap_or_default(); // 2025-07-02 08:00 +08
        let render = |t: &Templates| {
            t.render(
                "digest",
                &items,
                &filter,
                &failing,
                chrono_tz::Asia::Shanghai,
                now,
                2,
            )
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("rendered"))
        };
        let r = render(&t);
        assert_eq!(
            r.subject,
            "招商动态 · 7月2日 · 新增2条 · 更新1条 · 合计60亿元"
        );
        for body in [&r.text, &r.html] {
            let new_at = body.find("新增 (2)").unwrap_or(usize::MAX);
            let upd_at = body.find("更新 (1)").unwrap_or(usize::MAX);
            assert!(new_at < upd_at && upd_at < usize::MAX, "{body}");
            let summary_at = body.find("本期概览").unwrap_or(usize::MAX);
            assert!(summary_at < new_at, "the summary comes first: {body}");
            for said in [
                "金额合计",
                "60亿元",
                "东湖高新区",
                "2025年7月3日",
                "第2版",
                "原标题: 旧标题",
                "采集异常",
                "连续4次采集失败（上次成功：2025-06-30）",
                "另有2条待发",
            ] {
                assert!(body.contains(said), "{said}: {body}");
            }
            assert!(!body.contains("2025-07-03"), "dates in Chinese: {body}");
        }
        assert!(
            r.text.find("== a ==").unwrap_or(usize::MAX) < r.text.find("== b ==").unwrap_or(0),
            "grouped by source: {}",
            r.text
        );
        assert!(
            r.text.contains("【60亿元】【落户】【东湖高新区】"),
            "chips: {}",
            r.text
        );
        assert!(
            r.html
                .contains("background:#fde8e8;color:#b91c1c;font-weight:bold;\">60亿元</span>"),
            "amount chip: {}",
            r.html
        );
        assert!(
            r.text.contains("+ 总投资60亿元。") && r.text.contains("- 总投资50亿元。"),
            "{}",
            r.text
        );
        assert!(r.text.contains("**招商引资**"), "{}", r.text);
        assert!(
            r.html.contains("&lt;b&gt;光谷&lt;&#x2f;b&gt;<mark"),
            "{}",
            r.html
        );
        assert!(!r.html.contains("<b>光谷"));

        let t = Templates::load(None, Format::Mail, 10)
            .unwrap_or_else(|e| panic!("{e}"))
            .with_language(Language::En);
        let r = render(&t);
        assert_eq!(r.subject, "newswatch: 2 new, 1 updated");
        for said in [
            "New (2)",
            "Updated (1)",
            "Summary",
            "Total amounts",
            "CNY 6 billion",
            "2025-07-03",
            "revision 2",
            "was: 旧标题",
            "Sources failing",
            "4 failed crawls in a row (last success: 2025-06-30)",
            "2 more articles pending",
        ] {
            assert!(r.text.contains(said), "{said}: {}", r.text);
        }
        assert!(!r.text.contains("新增"), "{}", r.text);
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
        let err = Templates::load(Some(tmp.path()), Format::Markdown(Markup::Chat), 10)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("digest.md"), "{err}");
    }

    #[test]
    fn builtin_templates_use_a_small_part_of_the_budget() {
        for format in [Format::Mail, Format::Markdown(Markup::Chat)] {
            let mut t = Templates::load(None, format, 200).unwrap_or_else(|e| panic!("{e}"));
            let budget = FUEL_BASE + FUEL_PER_ITEM * 200;
            t.env.set_fuel(Some(budget / 50));
            if let Err(e) = t.check_budget(200) {
                panic!("built-in {format:?} templates need over 2 % of the budget: {e}");
            }
        }
    }

    #[test]
    fn a_template_that_loops_without_end_is_refused_at_load_naming_the_file() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let _ = std::fs::write(
            tmp.path().join("digest.txt"),
            "{% for a in range(100000) %}{% for b in range(100000) %}.{% endfor %}{% endfor %}",
        );
        let _ = std::fs::write(tmp.path().join("digest.html"), "<p>{{ subject }}</p>");
        let started = std::time::Instant::now();
        let err = Templates::load(Some(tmp.path()), Format::Mail, 200)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(started.elapsed() < std::time::Duration::from_secs(30));
        assert!(
            err.contains(&tmp.path().join("digest.txt").display().to_string())
                && err.contains("budget")
                && err.contains("sample digest of 200 articles"),
            "{err}"
        );
    }

    #[test]
    fn markdown_templates_escape_page_text_and_keep_their_own_markup() {
        let hostile =
            "[点此](https://evil.example/x) ![](https://evil.example/t.png) <font color=red>";
        let items = vec![item(
            1,
            &format!("招商引资{hostile}"),
            &format!("招商引资正文{hostile}"),
            1,
            "src*",
            Change::New,
            None,
        )];
        let filter = Filter {
            keywords: vec![Pattern::parse("招商引资").unwrap_or_else(|e| panic!("{e}"))],
            ..Filter::default()
        };
        for markup in [Markup::Chat, Markup::CommonMark] {
            let t = Templates::load(None, Format::Markdown(markup), 10)
                .unwrap_or_else(|e| panic!("{e}"));
            let r = t
                .render(
                    "d",
                    &items,
                    &filter,
                    &[],
                    chrono_tz::Asia::Shanghai,
                    Utc::now(),
                    3,
                )
                .ok()
                .flatten()
                .unwrap_or_else(|| panic!("rendered"));
            // Markup starts where its first character is not escaped by a backslash.
            for planted in ["](https://evil", "<font", "![]"] {
                let live = r
                    .text
                    .match_indices(planted)
                    .any(|(i, _)| !r.text[..i].ends_with('\\'));
                assert!(!live, "{planted}: {}", r.text);
            }
            assert!(r.text.contains(&markup.escape(hostile)), "{}", r.text);
            assert!(
                r.text.contains("**招商引资**"),
                "highlights stay markup: {}",
                r.text
            );
            assert!(
                r.text.contains("](http://h/1)"),
                "the link stays a link: {}",
                r.text
            );
            assert!(r.text.contains("另有3条待发"), "{}", r.text);
        }
    }
}
