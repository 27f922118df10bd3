//! `newswatch check`: try a source now and show what it would store and why, without storing
//! or sending anything. The tool for the person writing a source's selectors.

use crate::crawl::{ExtractProblem, build};
use crate::crawl::{Source, SourceKind};
use crate::extract::{self, feed::FeedItem};
use crate::fetch::{Fetched, Fetcher, Response, robots::Verdict};
use chrono_tz::Tz;
use scraper::Selector;
use std::fmt::Write as _;
use url::Url;

/// The report, as lines of text, and whether everything tried worked.
pub struct CheckReport {
    pub text: String,
    pub ok: bool,
}

/// How much of a body `check` shows.
const OPENING: usize = 120;

fn opening(body: &str) -> String {
    let mut s: String = body.chars().take(OPENING).collect();
    if body.chars().nth(OPENING).is_some() {
        s.push('…');
    }
    s
}

/// Fetches `source` and up to `limit` of its articles, describing each step.
pub async fn check(fetcher: &Fetcher, source: &Source, timezone: Tz, limit: usize) -> CheckReport {
    let mut out = CheckReport {
        text: String::new(),
        ok: true,
    };
    let kind = source.kind.name();
    line(
        &mut out,
        format!("source {} ({kind}) {}", source.name, source.url),
    );
    let Some(resp) = fetch(fetcher, source, &source.url, "entry", &mut out).await else {
        return out;
    };
    match &source.kind {
        SourceKind::Html { links, next, .. } => {
            let text = resp.decode(source.encoding.as_deref()).text;
            let page = extract::list_page(&text, &resp.url, links.as_ref(), next.as_ref());
            match (links, &page.links_why) {
                (Some(links), _) => line(
                    &mut out,
                    format!(
                        "  links selector matched {} element(s), giving {} link(s)",
                        extract::count_matches(&text, links),
                        page.links.len()
                    ),
                ),
                (None, Some(why)) => {
                    line(&mut out, "  no links selector: found by their look".into());
                    for reason in why.lines() {
                        line(&mut out, format!("    {reason}"));
                    }
                }
                (None, None) => {}
            }
            let shown = page.next.as_ref().map_or("none".to_owned(), Url::to_string);
            match (next, &page.next_why) {
                (Some(next_sel), _) => line(
                    &mut out,
                    format!(
                        "  next selector matched {} element(s): {shown}",
                        extract::count_matches(&text, next_sel)
                    ),
                ),
                (None, Some(why)) => line(&mut out, format!("  next page: {shown} ({why})")),
                (None, None) => line(&mut out, "  next page: none found".into()),
            }
            if page.links.is_empty() {
                out.ok = false;
                let fix = match links {
                    Some(_) => "fix the `links` selector",
                    None => "give the source a `links` selector",
                };
                line(&mut out, format!("  no article links: {fix}"));
            }
            for (i, link) in page.links.iter().take(limit).enumerate() {
                line(
                    &mut out,
                    format!("article {}: {} \"{}\"", i + 1, link.url, link.anchor),
                );
                article(
                    fetcher,
                    source,
                    &link.url,
                    Some(&link.anchor),
                    None,
                    timezone,
                    &mut out,
                )
                .await;
            }
        }
        SourceKind::Feed { full_text } => {
            let items = match extract::feed::parse(&resp.body, &resp.url) {
                Ok(items) => items,
                Err(e) => {
                    out.ok = false;
                    line(&mut out, format!("  not a readable feed: {e}"));
                    return out;
                }
            };
            line(&mut out, format!("  feed has {} item(s)", items.len()));
            for (i, item) in items.iter().take(limit).enumerate() {
                let shown = item
                    .link
                    .as_ref()
                    .map_or("(no link)".to_owned(), Url::to_string);
                line(&mut out, format!("item {}: {shown}", i + 1));
                match (&item.link, full_text) {
                    (Some(link), true) => {
                        article(fetcher, source, link, None, Some(item), timezone, &mut out).await
                    }
                    _ => show(build::item_article(&source.name, item, timezone), &mut out),
                }
            }
        }
    }
    out
}

fn line(out: &mut CheckReport, text: String) {
    let _ = writeln!(out.text, "{text}");
}

async fn fetch(
    fetcher: &Fetcher,
    source: &Source,
    url: &Url,
    what: &str,
    out: &mut CheckReport,
) -> Option<Response> {
    match fetcher.robots(url, &source.fetch).await {
        Verdict::Allowed(why) => line(out, format!("  robots.txt: allowed ({why})")),
        Verdict::Blocked(why) => {
            line(
                out,
                format!("  robots.txt: BLOCKED ({why}); newswatch will not fetch this {what}"),
            );
            return None;
        }
        Verdict::Unavailable(cause) => {
            out.ok = false;
            line(
                out,
                format!(
                    "  robots.txt: UNAVAILABLE ({}); newswatch fetches nothing from this site until it answers, and counts each crawl as failed",
                    crate::error_chain(&*cause)
                ),
            );
            return None;
        }
    }
    match fetcher.get(url, &source.fetch, None).await {
        Ok(Fetched::Page(resp)) => {
            let decoded = resp.decode(source.encoding.as_deref());
            let redirected = if resp.url != *url {
                format!(", redirected to {}", resp.url)
            } else {
                String::new()
            };
            line(
                out,
                format!(
                    "  HTTP {}{redirected}, {} bytes, charset {} ({}){}",
                    resp.status.as_u16(),
                    resp.body.len(),
                    decoded.encoding.name(),
                    decoded.reason,
                    if decoded.had_errors {
                        ", some bytes undecodable"
                    } else {
                        ""
                    }
                ),
            );
            Some(*resp)
        }
        Ok(Fetched::NotModified) => {
            line(out, "  HTTP 304 to an unconditional request".into());
            out.ok = false;
            None
        }
        Err(e) => {
            out.ok = false;
            line(out, format!("  FAILED: {}", crate::error_chain(&e)));
            None
        }
    }
}

async fn article(
    fetcher: &Fetcher,
    source: &Source,
    url: &Url,
    anchor: Option<&str>,
    item: Option<&FeedItem>,
    timezone: Tz,
    out: &mut CheckReport,
) {
    let Some(resp) = fetch(fetcher, source, url, "article", out).await else {
        return;
    };
    let text = resp.decode(source.encoding.as_deref()).text;
    let fields: [(&str, &Option<Selector>); 3] = [
        ("title", &source.fields.title),
        ("body", &source.fields.body),
        ("date", &source.fields.date),
    ];
    let counts: Vec<String> = fields
        .iter()
        .map(|(name, sel)| match sel {
            Some(sel) => format!("{name} {}", extract::count_matches(&text, sel)),
            None => format!("{name} (automatic)"),
        })
        .collect();
    line(out, format!("  selector matches: {}", counts.join(", ")));
    show(
        build::page_article(source, &resp, url, anchor, item, timezone).map(|b| b.article),
        out,
    );
}

fn show(article: Result<crate::article::Article, ExtractProblem>, out: &mut CheckReport) {
    match article {
        Ok(a) => {
            line(out, format!("  title: {}", a.title));
            line(out, format!("  date:  {}", a.date));
            if let Some(u) = &a.url {
                line(out, format!("  url:   {u}"));
            }
            line(
                out,
                format!(
                    "  body:  {} ({} chars)",
                    opening(&a.body),
                    a.body.chars().count()
                ),
            );
        }
        Err(e) => {
            out.ok = false;
            line(out, format!("  would NOT store: {e}"));
        }
    }
}
