//! Feeds: RSS 0.9x/1.0/2.0, Atom and JSON Feed, read with feed-rs.

use crate::normalise;
use chrono::{DateTime, NaiveDate, Utc};
use url::Url;

/// One feed entry, before normalisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedItem {
    pub title: Option<String>,
    pub link: Option<Url>,
    /// The publisher's calendar day, as written in the feed (not shifted to UTC).
    pub date: Option<NaiveDate>,
    /// The fullest content the feed gives, as HTML: `content:encoded`/`<content>` over
    /// `<description>`/`<summary>`.
    pub content_html: Option<String>,
}

/// Parses a feed timestamp keeping the publisher's wall-clock time.
///
/// feed-rs hands back `DateTime<Utc>`, which turns `Wed, 02 Jul 2025 07:30:00 +0800` into
/// 1 July. The archive wants the publisher's own day, so this parser returns the *local* time
/// labelled as UTC; only its date is ever used.
fn publisher_time(raw: &str) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    let fixed = DateTime::parse_from_rfc2822(raw)
        .or_else(|_| DateTime::parse_from_rfc3339(raw))
        .or_else(|_| DateTime::parse_from_str(raw, "%Y-%m-%d %H:%M:%S %z"))
        .or_else(|_| DateTime::parse_from_str(raw, "%a, %d %b %Y %H:%M %z"));
    match fixed {
        Ok(t) => Some(t.naive_local().and_utc()),
        // Chinese feeds often write `2025-07-02 09:30:00` with no zone: that is local time.
        Err(_) => normalise::date(raw)
            .and_then(|d| d.and_hms_opt(12, 0, 0))
            .map(|t| t.and_utc()),
    }
}

/// Reads a feed. Never panics: feed-rs can panic on some malformed input (a byte-index slice
/// on non-ASCII author fields), so parsing runs under `catch_unwind` and such a panic is
/// reported as a bad feed.
pub fn parse(bytes: &[u8], feed_url: &Url) -> Result<Vec<FeedItem>, String> {
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(feed_url.as_str()))
        .timestamp_parser(publisher_time)
        .build();
    let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parser.parse(bytes)))
        .map_err(|_| "the feed parser crashed on this input".to_owned())?
        .map_err(|e| e.to_string())?;
    Ok(parsed
        .entries
        .into_iter()
        .map(|e| {
            let link = e
                .links
                .iter()
                .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
                .or_else(|| e.links.first())
                .and_then(|l| feed_url.join(l.href.trim()).ok())
                .filter(|u| matches!(u.scheme(), "http" | "https"))
                .map(super::clean_url);
            let content_html = e
                .content
                .and_then(|c| c.body)
                .filter(|b| !b.trim().is_empty())
                .or_else(|| e.summary.map(|s| s.content));
            FeedItem {
                title: e.title.map(|t| t.content),
                link,
                date: e.published.or(e.updated).map(|t| t.date_naive()),
                content_html,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> Url {
        Url::parse("http://h.test/feed.xml").unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn rss_keeps_publisher_day_and_prefers_content_encoded() {
        let rss = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>t</title>
<item><title>光谷签约</title><link>/a/1.html</link>
<pubDate>Wed, 02 Jul 2025 07:30:00 +0800</pubDate>
<description>摘要</description><content:encoded><![CDATA[<p>全文第一段。</p><p>第二段。</p>]]></content:encoded></item>
</channel></rss>"#;
        let items = parse(rss.as_bytes(), &url()).unwrap_or_default();
        assert_eq!(items.len(), 1);
        assert_eq!(
            items[0].date,
            NaiveDate::from_ymd_opt(2025, 7, 2),
            "not the UTC day before"
        );
        assert_eq!(
            items[0].link.as_ref().map(Url::as_str),
            Some("http://h.test/a/1.html")
        );
        assert!(
            items[0]
                .content_html
                .as_deref()
                .unwrap_or_default()
                .contains("全文第一段")
        );
    }

    #[test]
    fn atom_and_json_feed() {
        let atom = r#"<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>x</id><updated>2025-07-02T00:00:00+08:00</updated>
<entry><title>东湖</title><id>e1</id><link href="http://h.test/e1"/><published>2025-07-02T06:00:00+08:00</published><updated>2025-07-03T06:00:00+08:00</updated><summary>简介</summary></entry></feed>"#;
        let items = parse(atom.as_bytes(), &url()).unwrap_or_default();
        assert_eq!(items[0].date, NaiveDate::from_ymd_opt(2025, 7, 2));
        assert_eq!(items[0].content_html.as_deref(), Some("简介"));
        let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"t","items":[{"id":"1","url":"http://h.test/j1","title":"硚口","content_html":"<p>正文</p>","date_published":"2025-07-02T01:00:00+08:00"}]}"#;
        let items = parse(json.as_bytes(), &url()).unwrap_or_default();
        assert_eq!(items[0].date, NaiveDate::from_ymd_opt(2025, 7, 2));
        assert_eq!(items[0].title.as_deref(), Some("硚口"));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(parse(b"\x00\xff<html>not a feed", &url()).is_err());
    }
}
