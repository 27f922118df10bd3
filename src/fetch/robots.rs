//! robots.txt: fetched once per origin, cached until it expires, and obeyed.
//!
//! Three outcomes, kept apart because they mean different things to the user: the site's own
//! rules (a URL they disallow is skipped, by policy), no robots.txt at all (4xx: everything is
//! allowed), and no answer (5xx, 429, timeout, refused): the site may be down, nothing on it is
//! fetched for a while, and every fetch meeting that reports it as a failure.

use super::FetchError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// How long a robots.txt is trusted when the server says nothing about caching.
pub const DEFAULT_TTL: Duration = Duration::from_secs(24 * 3600);
/// How long a 5xx or 429 on robots.txt keeps us off the whole origin before it is asked again,
/// so a struggling server is not hammered by every source and page that shares it.
pub const SERVER_ERROR_TTL: Duration = Duration::from_secs(10 * 60);
/// How long an unreachable robots.txt (timeout, refused) is remembered.
pub const UNREACHABLE_TTL: Duration = Duration::from_secs(60);
/// Larger robots.txt files are cut here, as Google does at 500 KiB.
pub const MAX_BYTES: usize = 512 * 1024;

/// What robots.txt says about an origin.
pub enum Rules {
    /// No robots.txt (4xx), or one that cannot be parsed.
    AllowAll {
        why: String,
    },
    /// robots.txt did not answer: nothing is fetched until the entry expires.
    Unavailable(Arc<FetchError>),
    Parsed(Box<texting_robots::Robot>),
}

/// A cached robots.txt.
pub struct Entry {
    pub rules: Rules,
    pub expires: Instant,
}

/// Whether a URL may be fetched, and why.
#[derive(Debug, Clone)]
pub enum Verdict {
    Allowed(String),
    /// The site's robots.txt disallows it.
    Blocked(String),
    /// robots.txt could not be read; this is why.
    Unavailable(Arc<FetchError>),
}

impl Entry {
    pub fn verdict(&self, url: &str) -> Verdict {
        match &self.rules {
            Rules::AllowAll { why } => Verdict::Allowed(why.clone()),
            Rules::Unavailable(cause) => Verdict::Unavailable(cause.clone()),
            Rules::Parsed(robot) if robot.allowed(url) => {
                Verdict::Allowed("allowed by robots.txt".into())
            }
            Rules::Parsed(_) => Verdict::Blocked("disallowed by robots.txt".into()),
        }
    }

    /// The `Crawl-delay` the rules ask of us.
    pub fn crawl_delay(&self) -> Option<Duration> {
        match &self.rules {
            Rules::Parsed(robot) => robot
                .delay
                .filter(|d| d.is_finite() && *d > 0.0)
                .map(|d| Duration::from_secs_f32(d.min(3600.0))),
            _ => None,
        }
    }
}

/// The product token robots.txt groups are matched against: `newswatch` for
/// `newswatch/0.1 (+…)`.
pub fn agent_token(user_agent: &str) -> &str {
    let token = user_agent
        .split(['/', ' '])
        .next()
        .unwrap_or_default()
        .trim();
    if token.is_empty() { "newswatch" } else { token }
}

/// Parses a fetched robots.txt body.
pub fn parse(user_agent: &str, body: &[u8]) -> Rules {
    let body = &body[..body.len().min(MAX_BYTES)];
    match texting_robots::Robot::new(agent_token(user_agent), body) {
        Ok(robot) => Rules::Parsed(Box::new(robot)),
        Err(e) => Rules::AllowAll {
            why: format!("robots.txt unreadable ({e}); treated as allow-all"),
        },
    }
}

/// `max-age` from a `Cache-Control` header, kept between a minute and a day.
pub fn ttl(cache_control: Option<&str>) -> Duration {
    cache_control
        .and_then(|cc| {
            cc.split(',').find_map(|d| {
                let (k, v) = d.split_once('=')?;
                k.trim()
                    .eq_ignore_ascii_case("max-age")
                    .then(|| v.trim().parse::<u64>().ok())?
            })
        })
        .map_or(DEFAULT_TTL, |s| {
            Duration::from_secs(s).clamp(Duration::from_secs(60), DEFAULT_TTL)
        })
}

/// robots.txt entries by origin (`http://host:port`).
#[derive(Default)]
pub struct RobotsCache {
    entries: Mutex<HashMap<String, Arc<Entry>>>,
    /// One fetch per origin at a time; others wait for its result.
    fetching: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl RobotsCache {
    /// A fresh entry for `origin`, if one is cached.
    pub fn get(&self, origin: &str) -> Option<Arc<Entry>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(origin)
            .filter(|e| e.expires > Instant::now())
            .cloned()
    }

    pub fn put(&self, origin: &str, entry: Entry) -> Arc<Entry> {
        let entry = Arc::new(entry);
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.insert(origin.to_owned(), entry.clone());
        entry
    }

    /// The lock serialising fetches of `origin`'s robots.txt.
    pub fn fetch_lock(&self, origin: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut fetching = self.fetching.lock().unwrap_or_else(|p| p.into_inner());
        fetching.entry(origin.to_owned()).or_default().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_for_our_agent_and_crawl_delay() {
        let txt = b"User-agent: *\nDisallow: /private/\nCrawl-delay: 2\n\nUser-agent: badbot\nDisallow: /\n";
        let entry = Entry {
            rules: parse("newswatch/0.1.0 (+https://x)", txt),
            expires: Instant::now() + DEFAULT_TTL,
        };
        assert!(matches!(
            entry.verdict("http://h/news/a.html"),
            Verdict::Allowed(_)
        ));
        assert!(matches!(
            entry.verdict("http://h/private/a.html"),
            Verdict::Blocked(_)
        ));
        assert_eq!(entry.crawl_delay(), Some(Duration::from_secs(2)));
        let bad = Entry {
            rules: parse("badbot/1", txt),
            expires: Instant::now(),
        };
        assert!(matches!(
            bad.verdict("http://h/news/a.html"),
            Verdict::Blocked(_)
        ));
    }

    #[test]
    fn unavailable_robots_txt_is_neither_allowed_nor_blocked() {
        let cause = Arc::new(FetchError::Status {
            url: "http://h/robots.txt".into(),
            status: reqwest::StatusCode::SERVICE_UNAVAILABLE,
            retry_after: None,
        });
        let entry = Entry {
            rules: Rules::Unavailable(cause),
            expires: Instant::now() + SERVER_ERROR_TTL,
        };
        let verdict = entry.verdict("http://h/news/a.html");
        assert!(
            matches!(&verdict, Verdict::Unavailable(e) if e.to_string().contains("HTTP 503")),
            "{verdict:?}"
        );
    }

    #[test]
    fn ttl_from_cache_control() {
        assert_eq!(ttl(None), DEFAULT_TTL);
        assert_eq!(ttl(Some("public, max-age=3600")), Duration::from_secs(3600));
        assert_eq!(ttl(Some("max-age=1")), Duration::from_secs(60));
        assert_eq!(ttl(Some("max-age=99999999")), DEFAULT_TTL);
    }
}
