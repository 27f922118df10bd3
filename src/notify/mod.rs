//! Notify: turn the queue of pending articles into a digest and deliver it.
//!
//! A digest's items leave the queue only after the mail server accepted it (or the `.eml` file
//! was written), so a failed send loses nothing: the items go into the next digest.

mod mail;
pub mod webhook;

pub use mail::Mailer;

use crate::article::Article;
use crate::store::{ArticleId, Store, StoreError};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use std::path::Path;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum NotifyError {
    #[error("template {name}: {reason}")]
    Template { name: String, reason: String },
    #[error("invalid digest mail: {0}")]
    Message(String),
    #[error("sending the digest failed: {0}")]
    Send(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The mail templates, loaded and checked once at start-up.
pub struct Templates {
    env: minijinja::Environment<'static>,
}

const TEXT: &str = "digest.txt";
const HTML: &str = "digest.html";

impl Templates {
    /// Loads `digest.txt` and `digest.html` from `dir`, or the built-in ones when `dir` is
    /// `None`. A syntax error is reported here, at start-up, rather than when the digest is due.
    pub fn load(dir: Option<&Path>) -> Result<Templates, NotifyError> {
        let mut env = minijinja::Environment::new();
        // Article text is HTML-escaped in the HTML part (minijinja escapes `.html` templates).
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                minijinja::AutoEscape::Html
            } else {
                minijinja::AutoEscape::None
            }
        });
        for name in [TEXT, HTML] {
            let source = match dir {
                Some(dir) => {
                    let path = dir.join(name);
                    std::fs::read_to_string(&path).map_err(|e| NotifyError::Template {
                        name: path.display().to_string(),
                        reason: e.to_string(),
                    })?
                }
                None => builtin(name).to_owned(),
            };
            env.add_template_owned(name, source)
                .map_err(|e| NotifyError::Template {
                    name: dir
                        .map_or_else(|| name.to_owned(), |d| d.join(name).display().to_string()),
                    reason: e.to_string(),
                })?;
        }
        Ok(Templates { env })
    }

    fn render(&self, name: &str, ctx: &DigestContext<'_>) -> Result<String, NotifyError> {
        self.env
            .get_template(name)
            .and_then(|t| t.render(minijinja::value::Serde(ctx)))
            .map_err(|e| NotifyError::Template {
                name: name.to_owned(),
                reason: format!("{e:#}"),
            })
    }
}

fn builtin(name: &str) -> &'static str {
    match name {
        TEXT => include_str!("../../templates/digest.txt"),
        _ => include_str!("../../templates/digest.html"),
    }
}

/// One article as the templates see it.
#[derive(Debug, Clone, Serialize)]
pub struct DigestItem {
    pub title: String,
    pub source: String,
    pub date: String,
    pub url: Option<String>,
    /// The opening of the body, cut at a sentence end where one is near.
    pub opening: String,
}

#[derive(Serialize)]
struct DigestContext<'a> {
    subject: &'a str,
    count: usize,
    generated_at: String,
    items: &'a [DigestItem],
}

/// A rendered digest, ready to send, with the queue entries it covers.
#[derive(Debug, Clone)]
pub struct Digest {
    pub ids: Vec<ArticleId>,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// How much of the body the digest shows.
const OPENING_CHARS: usize = 160;

fn opening(body: &str) -> String {
    let mut chars = body.char_indices();
    let Some((cut, _)) = chars.nth(OPENING_CHARS) else {
        return body.to_owned();
    };
    let head = &body[..cut];
    // Prefer ending on a full sentence if one ends in the last third.
    match head.rfind(['。', '！', '？', '!', '?', ';', '；']) {
        Some(i) if i > cut * 2 / 3 => {
            let end = i + head[i..].chars().next().map_or(1, char::len_utf8);
            head[..end].to_owned()
        }
        _ => format!("{head}…"),
    }
}

impl Digest {
    /// Builds the digest of `pending` articles, newest first. `None` when there is nothing.
    pub fn build(
        templates: &Templates,
        mut pending: Vec<(ArticleId, Article)>,
        timezone: Tz,
        now: DateTime<Utc>,
    ) -> Result<Option<Digest>, NotifyError> {
        if pending.is_empty() {
            return Ok(None);
        }
        pending.sort_by(|(ia, a), (ib, b)| b.date.cmp(&a.date).then(ib.cmp(ia)));
        let items: Vec<DigestItem> = pending
            .iter()
            .map(|(_, a)| DigestItem {
                title: a.title.clone(),
                source: a.source.clone(),
                date: a.date.format("%Y-%m-%d").to_string(),
                url: a.url.clone(),
                opening: opening(&a.body),
            })
            .collect();
        let n = items.len();
        let subject = format!(
            "newswatch: {n} new article{}",
            if n == 1 { "" } else { "s" }
        );
        let ctx = DigestContext {
            subject: &subject,
            count: n,
            generated_at: now
                .with_timezone(&timezone)
                .format("%Y-%m-%d %H:%M %Z")
                .to_string(),
            items: &items,
        };
        Ok(Some(Digest {
            ids: pending.iter().map(|(id, _)| *id).collect(),
            text: templates.render(TEXT, &ctx)?,
            html: templates.render(HTML, &ctx)?,
            subject,
        }))
    }
}

/// What [`deliver_pending`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The queue was empty; no mail.
    NothingPending,
    /// A digest of this many items was accepted and they left the queue.
    Sent { items: usize },
}

/// Builds the digest of everything pending, sends it, and dequeues its items once accepted.
pub async fn deliver_pending(
    store: &Store,
    templates: &Templates,
    mailer: &Mailer,
    timezone: Tz,
) -> Result<Delivery, NotifyError> {
    let Some(digest) = Digest::build(templates, store.pending()?, timezone, Utc::now())? else {
        return Ok(Delivery::NothingPending);
    };
    mailer.send(&digest).await?;
    store.dequeue(&digest.ids).await?;
    tracing::info!(items = digest.ids.len(), "digest sent");
    Ok(Delivery::Sent {
        items: digest.ids.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn digest_is_newest_first_and_escapes_html() {
        let t = Templates::load(None).unwrap_or_else(|e| panic!("{e}"));
        let day = |d| NaiveDate::from_ymd_opt(2025, 7, d).unwrap_or_default();
        let now = Utc::now();
        let old = Article::new("旧闻", "正文", day(1), None, "s", now);
        let new = Article::new(
            "<script>新闻</script>",
            "正文 & 更多",
            day(3),
            Some("http://h/x?a=1&b=2".into()),
            "s",
            now,
        );
        let d = Digest::build(&t, vec![(1, old), (2, new)], chrono_tz::Asia::Shanghai, now);
        let d = d.ok().flatten().unwrap_or_else(|| panic!("no digest"));
        assert_eq!(d.subject, "newswatch: 2 new articles");
        assert!(d.text.find("新闻").unwrap_or(usize::MAX) < d.text.find("旧闻").unwrap_or(0));
        assert!(
            d.html.contains("&lt;script&gt;新闻&lt;&#x2f;script&gt;"),
            "{}",
            d.html
        );
        assert!(!d.html.contains("<script>"));
        assert!(
            d.text.contains("<script>新闻</script>"),
            "plain text stays plain"
        );
        assert!(
            Digest::build(&t, vec![], chrono_tz::Asia::Shanghai, now)
                .ok()
                .flatten()
                .is_none()
        );
    }

    #[test]
    fn opening_cuts_long_bodies() {
        let long = "一二三四五六七八九十".repeat(30);
        let o = opening(&long);
        assert_eq!(o.chars().count(), OPENING_CHARS + 1);
        assert!(o.ends_with('…'));
        assert_eq!(opening("短。"), "短。");
    }

    #[test]
    fn template_errors_are_reported_at_load() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let _ = std::fs::write(tmp.path().join("digest.txt"), "{% for x in %}");
        let _ = std::fs::write(tmp.path().join("digest.html"), "ok");
        let err = Templates::load(Some(tmp.path()))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("digest.txt"), "{err}");
    }
}
