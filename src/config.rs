//! Config: read and check `sources.toml` before anything starts.
//!
//! Every problem is reported with the file, line and key (and source name where there is one),
//! all at once, so a user fixes a config in one pass. A config that loads is fully checked:
//! selectors compiled, schedules parsed, URLs and mailboxes valid.

use crate::fetch::FetchPolicy;
use chrono_tz::Tz;
use scraper::Selector;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;
use toml::Spanned;
use url::Url;

/// One problem in a config file, at a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub message: String,
}

/// Why a config could not be used.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{path}: cannot read config: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}", render_problems(.path, .problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

fn render_problems(path: &Path, problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("{}:{}: {}", path.display(), p.line, p.message))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A checked cron schedule, kept in the six-field form (seconds first) the scheduler runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule(String);

impl Schedule {
    /// Accepts classic five-field cron (`*/30 * * * *`) or six fields with seconds first.
    ///
    /// Unlike classic cron, when both day-of-month and day-of-week are restricted, both must match
    /// (the scheduler's rule); this is documented in the README.
    pub fn parse(expr: &str) -> Result<Self, String> {
        let fields = expr.split_whitespace().count();
        let six = match fields {
            5 => format!("0 {}", expr.trim()),
            6 => expr.split_whitespace().collect::<Vec<_>>().join(" "),
            n => {
                return Err(format!(
                    "cron expression {expr:?} has {n} fields; want 5, or 6 with seconds first"
                ));
            }
        };
        Self::cron(&six).map_err(|e| format!("invalid cron expression {expr:?}: {e}"))?;
        Ok(Schedule(six))
    }

    fn cron(six: &str) -> Result<croner::Cron, croner::errors::CronError> {
        croner::parser::CronParser::builder()
            .seconds(croner::parser::Seconds::Required)
            .dom_and_dow(true)
            .build()
            .parse(six)
    }

    /// The six-field expression.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The next time this schedule fires after `after`.
    pub fn next_after(&self, after: chrono::DateTime<Tz>) -> Option<chrono::DateTime<Tz>> {
        Self::cron(&self.0)
            .ok()?
            .find_next_occurrence(&after, false)
            .ok()
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The whole checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    pub settings: Settings,
    pub digest: Option<DigestConfig>,
    pub sources: Vec<SourceConfig>,
}

/// `[settings]`.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Absolute, or relative to the working directory (already resolved against the config folder).
    pub state_dir: PathBuf,
    pub timezone: Tz,
    /// Fetch policy for sources that do not override it.
    pub fetch: FetchPolicy,
    /// At most this many requests in flight at once, over all hosts.
    pub concurrency: usize,
    /// Default for each source's `max_articles`.
    pub max_articles: usize,
}

/// `[digest]`.
#[derive(Debug, Clone)]
pub struct DigestConfig {
    pub schedule: Schedule,
    pub from: lettre::message::Mailbox,
    pub to: Vec<lettre::message::Mailbox>,
    /// lettre SMTP URL; `None` writes `.eml` files to `<state_dir>/outbox/`.
    pub smtp: Option<String>,
    /// Folder holding `digest.txt` and `digest.html`; `None` uses the built-in templates.
    pub templates: Option<PathBuf>,
}

/// What kind of source, with the kind's own settings.
#[derive(Debug, Clone)]
pub enum SourceKind {
    /// An HTML list page whose links lead to article pages.
    Html {
        links: Selector,
        next: Option<Selector>,
        max_pages: usize,
    },
    /// An RSS, Atom or JSON feed; with `full_text`, each item's link is fetched and its body
    /// extracted from the page instead of taken from the feed.
    Feed { full_text: bool },
}

/// One `[[source]]`.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    pub name: String,
    /// Line of the `name` key, for messages about this source.
    pub line: usize,
    pub url: Url,
    pub schedule: Schedule,
    pub kind: SourceKind,
    /// Selectors for the article page; a missing one means automatic extraction.
    pub fields: crate::extract::FieldSelectors,
    /// Charset label overriding what the server and page declare.
    pub encoding: Option<String>,
    /// At most this many new articles per crawl.
    pub max_articles: usize,
    /// `[settings]` fetch policy with this source's overrides.
    pub fetch: FetchPolicy,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    settings: RawSettings,
    digest: Option<Spanned<RawDigest>>,
    #[serde(default)]
    source: Vec<Spanned<RawSource>>,
}

/// Declares a raw config table with the fetch keys that both `[settings]` and `[[source]]`
/// accept, so the two stay in step and one function applies them.
macro_rules! with_fetch_keys {
    ($(#[$meta:meta])* struct $name:ident { $($field:ident : $ty:ty,)* }) => {
        $(#[$meta])*
        struct $name {
            $($field: $ty,)*
            user_agent: Option<Spanned<String>>,
            request_timeout_secs: Option<Spanned<u64>>,
            max_body_bytes: Option<Spanned<u64>>,
            max_retries: Option<Spanned<u32>>,
            per_host_concurrency: Option<Spanned<usize>>,
            per_host_delay_ms: Option<Spanned<u64>>,
            proxy: Option<Spanned<String>>,
            headers: Option<Spanned<BTreeMap<String, String>>>,
            max_articles: Option<Spanned<usize>>,
        }

        impl $name {
            fn fetch_keys(&self) -> FetchKeys<'_> {
                FetchKeys {
                    user_agent: self.user_agent.as_ref(),
                    request_timeout_secs: self.request_timeout_secs.as_ref(),
                    max_body_bytes: self.max_body_bytes.as_ref(),
                    max_retries: self.max_retries.as_ref(),
                    per_host_concurrency: self.per_host_concurrency.as_ref(),
                    per_host_delay_ms: self.per_host_delay_ms.as_ref(),
                    proxy: self.proxy.as_ref(),
                    headers: self.headers.as_ref(),
                }
            }
        }
    };
}

struct FetchKeys<'a> {
    user_agent: Option<&'a Spanned<String>>,
    request_timeout_secs: Option<&'a Spanned<u64>>,
    max_body_bytes: Option<&'a Spanned<u64>>,
    max_retries: Option<&'a Spanned<u32>>,
    per_host_concurrency: Option<&'a Spanned<usize>>,
    per_host_delay_ms: Option<&'a Spanned<u64>>,
    proxy: Option<&'a Spanned<String>>,
    headers: Option<&'a Spanned<BTreeMap<String, String>>>,
}

impl FetchKeys<'_> {
    /// `base` with these keys applied; problems are reported through `problem`, prefixed `at`.
    fn apply(
        &self,
        base: &FetchPolicy,
        at: &str,
        problem: &dyn Fn(std::ops::Range<usize>, String),
    ) -> FetchPolicy {
        let mut p = base.clone();
        if let Some(v) = self.user_agent {
            if v.get_ref().trim().is_empty()
                || reqwest::header::HeaderValue::from_str(v.get_ref()).is_err()
            {
                problem(
                    v.span(),
                    format!("{at}user_agent: must be a non-empty header value"),
                );
            }
            p.user_agent = v.get_ref().clone();
        }
        if let Some(v) = self.request_timeout_secs {
            if *v.get_ref() == 0 {
                problem(
                    v.span(),
                    format!("{at}request_timeout_secs: must be at least 1"),
                );
            }
            p.timeout = Duration::from_secs(*v.get_ref());
        }
        if let Some(v) = self.max_body_bytes {
            if *v.get_ref() == 0 {
                problem(v.span(), format!("{at}max_body_bytes: must be at least 1"));
            }
            p.max_body_bytes = usize::try_from(*v.get_ref()).unwrap_or(usize::MAX);
        }
        if let Some(v) = self.max_retries {
            p.max_retries = *v.get_ref();
        }
        if let Some(v) = self.per_host_concurrency {
            if *v.get_ref() == 0 {
                problem(
                    v.span(),
                    format!("{at}per_host_concurrency: must be at least 1"),
                );
            }
            p.per_host_concurrency = (*v.get_ref()).max(1);
        }
        if let Some(v) = self.per_host_delay_ms {
            p.per_host_delay = Duration::from_millis(*v.get_ref());
        }
        if let Some(v) = self.proxy {
            match Url::parse(v.get_ref()) {
                Ok(u) if matches!(u.scheme(), "http" | "https" | "socks5" | "socks5h") => {
                    p.proxy = Some(v.get_ref().clone());
                }
                _ => problem(
                    v.span(),
                    format!("{at}proxy: {:?} is not an http(s) proxy URL", v.get_ref()),
                ),
            }
        }
        if let Some(v) = self.headers {
            for (name, value) in v.get_ref() {
                let parsed = (
                    reqwest::header::HeaderName::from_bytes(name.as_bytes()),
                    reqwest::header::HeaderValue::from_str(value),
                );
                match parsed {
                    (Ok(n), Ok(val)) => {
                        p.headers.insert(n, val);
                    }
                    _ => problem(
                        v.span(),
                        format!("{at}headers: invalid header {name:?}: {value:?}"),
                    ),
                }
            }
        }
        p
    }
}

with_fetch_keys! {
    #[derive(Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    struct RawSettings {
        state_dir: Option<String>,
        timezone: Option<Spanned<String>>,
        concurrency: Option<Spanned<usize>>,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDigest {
    schedule: Spanned<String>,
    from: Spanned<String>,
    to: Spanned<OneOrMany>,
    smtp: Option<Spanned<String>>,
    templates: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

with_fetch_keys! {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawSource {
        name: Spanned<String>,
        kind: Spanned<String>,
        url: Spanned<String>,
        schedule: Spanned<String>,
        links: Option<Spanned<String>>,
        next: Option<Spanned<String>>,
        max_pages: Option<Spanned<usize>>,
        full_text: Option<Spanned<bool>>,
        title: Option<Spanned<String>>,
        body: Option<Spanned<String>>,
        date: Option<Spanned<String>>,
        encoding: Option<Spanned<String>>,
    }
}

/// Maps byte offsets to 1-based line numbers.
struct Lines<'a>(&'a str);

impl Lines<'_> {
    fn at(&self, offset: usize) -> usize {
        self.0.as_bytes()[..offset.min(self.0.len())]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }
}

impl Config {
    /// Reads and checks the config file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// Checks config `text` as if read from `path` (relative paths are taken from its folder).
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let lines = Lines(text);
        let invalid = |problems| ConfigError::Invalid {
            path: path.to_owned(),
            problems,
        };
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(1, |s| lines.at(s.start));
            invalid(vec![Problem {
                line,
                message: e.message().trim().to_owned(),
            }])
        })?;
        let problems = std::cell::RefCell::new(Vec::new());
        let problem = |span: std::ops::Range<usize>, message: String| {
            problems.borrow_mut().push(Problem {
                line: lines.at(span.start),
                message,
            })
        };
        let base = path.parent().unwrap_or(Path::new("."));

        let settings = {
            let s = &raw.settings;
            let state_dir = base.join(s.state_dir.as_deref().unwrap_or("state"));
            let timezone = match &s.timezone {
                None => chrono_tz::Asia::Shanghai,
                Some(tz) => tz.get_ref().parse::<Tz>().unwrap_or_else(|_| {
                    problem(
                        tz.span(),
                        format!("[settings] timezone: unknown time zone {:?}", tz.get_ref()),
                    );
                    chrono_tz::Asia::Shanghai
                }),
            };
            let concurrency = s.concurrency.as_ref().map_or(8, |c| *c.get_ref());
            if concurrency == 0 {
                if let Some(c) = &s.concurrency {
                    problem(
                        c.span(),
                        "[settings] concurrency: must be at least 1".into(),
                    );
                }
            }
            Settings {
                state_dir,
                timezone,
                fetch: s
                    .fetch_keys()
                    .apply(&FetchPolicy::default(), "[settings] ", &problem),
                concurrency: concurrency.max(1),
                max_articles: s.max_articles.as_ref().map_or(100, |m| *m.get_ref()),
            }
        };

        let digest = raw.digest.as_ref().and_then(|d| {
            let d = d.get_ref();
            let schedule = Schedule::parse(d.schedule.get_ref())
                .map_err(|e| problem(d.schedule.span(), format!("[digest] schedule: {e}")))
                .ok();
            let mailbox = |s: &str| {
                s.parse::<lettre::message::Mailbox>()
                    .map_err(|e| format!("invalid address {s:?}: {e}"))
            };
            let from = mailbox(d.from.get_ref())
                .map_err(|e| problem(d.from.span(), format!("[digest] from: {e}")))
                .ok();
            let to_raw = match d.to.get_ref() {
                OneOrMany::One(s) => vec![s.clone()],
                OneOrMany::Many(v) => v.clone(),
            };
            if to_raw.is_empty() {
                problem(
                    d.to.span(),
                    "[digest] to: needs at least one recipient".into(),
                );
            }
            let mut to = Vec::new();
            for t in &to_raw {
                match mailbox(t) {
                    Ok(m) => to.push(m),
                    Err(e) => problem(d.to.span(), format!("[digest] to: {e}")),
                }
            }
            if let Some(smtp) = &d.smtp
                && let Err(e) = Url::parse(smtp.get_ref())
                    .map_err(|e| e.to_string())
                    .and_then(|u| {
                        matches!(u.scheme(), "smtp" | "smtps")
                            .then_some(())
                            .ok_or_else(|| format!("scheme {:?} is not smtp or smtps", u.scheme()))
                    })
            {
                problem(
                    smtp.span(),
                    format!("[digest] smtp: invalid SMTP URL {:?}: {e}", smtp.get_ref()),
                );
            }
            let templates = d.templates.as_ref().map(|t| {
                let dir = base.join(t.get_ref());
                for file in ["digest.txt", "digest.html"] {
                    if !dir.join(file).is_file() {
                        problem(
                            t.span(),
                            format!(
                                "[digest] templates: {} is missing",
                                dir.join(file).display()
                            ),
                        );
                    }
                }
                dir
            });
            Some(DigestConfig {
                schedule: schedule?,
                from: from?,
                to,
                smtp: d.smtp.as_ref().map(|s| s.get_ref().clone()),
                templates,
            })
        });

        let mut names = HashSet::new();
        let mut sources = Vec::new();
        for s in &raw.source {
            let table_line = lines.at(s.span().start);
            let s = s.get_ref();
            let name = s.name.get_ref().trim().to_owned();
            let at = |key: &str| format!("source {name:?}: {key}");
            if name.is_empty() {
                problem(
                    s.name.span(),
                    format!("source at line {table_line}: name: must not be empty"),
                );
            } else if !names.insert(name.clone()) {
                problem(
                    s.name.span(),
                    format!("source {name:?}: name: duplicate source name"),
                );
            }
            let url = match Url::parse(s.url.get_ref()) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => Some(u),
                Ok(u) => {
                    problem(
                        s.url.span(),
                        format!(
                            "{}: scheme {:?} is not http or https",
                            at("url"),
                            u.scheme()
                        ),
                    );
                    None
                }
                Err(e) => {
                    problem(
                        s.url.span(),
                        format!("{}: invalid URL {:?}: {e}", at("url"), s.url.get_ref()),
                    );
                    None
                }
            };
            let schedule = Schedule::parse(s.schedule.get_ref())
                .map_err(|e| problem(s.schedule.span(), format!("{}: {e}", at("schedule"))))
                .ok();
            let selector = |key: &str, v: &Option<Spanned<String>>| -> Option<Selector> {
                let v = v.as_ref()?;
                Selector::parse(v.get_ref())
                    .map_err(|e| {
                        problem(
                            v.span(),
                            format!("{}: invalid CSS selector {:?}: {e}", at(key), v.get_ref()),
                        )
                    })
                    .ok()
            };
            let fields = crate::extract::FieldSelectors {
                title: selector("title", &s.title),
                body: selector("body", &s.body),
                date: selector("date", &s.date),
            };
            let kind = match s.kind.get_ref().as_str() {
                "html" => {
                    let links = selector("links", &s.links);
                    if s.links.is_none() {
                        problem(
                            s.kind.span(),
                            format!("{}: an html source needs a `links` selector", at("links")),
                        );
                    }
                    let next = selector("next", &s.next);
                    let max_pages = s.max_pages.as_ref().map_or(1, |m| *m.get_ref());
                    if max_pages == 0 {
                        if let Some(m) = &s.max_pages {
                            problem(m.span(), format!("{}: must be at least 1", at("max_pages")));
                        }
                    }
                    links.map(|links| SourceKind::Html {
                        links,
                        next,
                        max_pages,
                    })
                }
                "feed" => {
                    for (key, v) in [("links", &s.links), ("next", &s.next)] {
                        if let Some(v) = v {
                            problem(
                                v.span(),
                                format!("{}: only html sources take `{key}`", at(key)),
                            );
                        }
                    }
                    Some(SourceKind::Feed {
                        full_text: s.full_text.as_ref().is_some_and(|f| *f.get_ref()),
                    })
                }
                other => {
                    problem(
                        s.kind.span(),
                        format!(
                            "{}: unknown kind {other:?} (expected \"html\" or \"feed\")",
                            at("kind")
                        ),
                    );
                    None
                }
            };
            if let (Some(f), "html") = (&s.full_text, s.kind.get_ref().as_str()) {
                problem(
                    f.span(),
                    format!("{}: only feed sources take `full_text`", at("full_text")),
                );
            }
            let reads_pages = match s.kind.get_ref().as_str() {
                "feed" => s.full_text.as_ref().is_some_and(|f| *f.get_ref()),
                _ => true,
            };
            for (key, sel) in [("title", &s.title), ("body", &s.body)] {
                // Until automatic extraction lands, pages are read with selectors only.
                if reads_pages && sel.is_none() && !(key == "title" && s.kind.get_ref() == "feed") {
                    problem(
                        s.name.span(),
                        format!("{}: a `{key}` selector is required", at(key)),
                    );
                }
            }
            if let Some(enc) = &s.encoding
                && crate::fetch::charset::encoding_for_label(enc.get_ref()).is_none()
            {
                problem(
                    enc.span(),
                    format!("{}: unknown encoding {:?}", at("encoding"), enc.get_ref()),
                );
            }
            let max_articles = s
                .max_articles
                .as_ref()
                .map_or(settings.max_articles, |m| *m.get_ref());
            let fetch =
                s.fetch_keys()
                    .apply(&settings.fetch, &format!("source {name:?}: "), &problem);
            if let (Some(url), Some(schedule), Some(kind)) = (url, schedule, kind) {
                sources.push(SourceConfig {
                    name,
                    line: lines.at(s.name.span().start),
                    url,
                    schedule,
                    kind,
                    fields,
                    encoding: s.encoding.as_ref().map(|e| e.get_ref().clone()),
                    max_articles,
                    fetch,
                });
            }
        }

        let mut problems = problems.into_inner();
        if problems.is_empty() {
            Ok(Config {
                path: path.to_owned(),
                settings,
                digest,
                sources,
            })
        } else {
            problems.sort_by_key(|p| p.line);
            Err(invalid(problems))
        }
    }

    /// The sources named, in config order; an unknown name is an error naming it.
    pub fn select_sources(&self, names: &[String]) -> Result<Vec<&SourceConfig>, String> {
        if names.is_empty() {
            return Ok(self.sources.iter().collect());
        }
        names
            .iter()
            .map(|n| {
                self.sources.iter().find(|s| &s.name == n).ok_or_else(|| {
                    let known: Vec<_> = self.sources.iter().map(|s| s.name.as_str()).collect();
                    format!(
                        "no source named {n:?} in {} (known: {})",
                        self.path.display(),
                        known.join(", ")
                    )
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[settings]
state_dir = "st"

[digest]
schedule = "0 8 * * *"
from = "newswatch <nw@example.org>"
to = ["a@example.org"]

[[source]]
name = "qiaokou"
kind = "html"
url = "https://example.gov.cn/news/index.html"
schedule = "*/30 * * * *"
links = "ul.news-list a"
title = "h1"
body = "div.content"
date = "span.date"
"#;

    fn problems(text: &str) -> String {
        match Config::parse(text, Path::new("/etc/nw/sources.toml")) {
            Ok(_) => String::from("ok"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn good_config_loads_with_defaults() {
        let c = Config::parse(GOOD, Path::new("/etc/nw/sources.toml"));
        let c = match c {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(c.settings.state_dir, Path::new("/etc/nw/st"));
        assert_eq!(c.settings.timezone, chrono_tz::Asia::Shanghai);
        assert_eq!(c.sources[0].schedule.as_str(), "0 */30 * * * *");
        assert_eq!(c.sources[0].max_articles, 100);
        assert!(
            c.digest
                .is_some_and(|d| d.smtp.is_none() && d.to.len() == 1)
        );
    }

    #[test]
    fn problems_name_file_line_source_and_key() {
        let bad = GOOD
            .replace("links = \"ul.news-list a\"", "links = \"ul..bad[\"")
            .replace("*/30 * * * *", "61 * * * *");
        let msg = problems(&bad);
        assert!(
            msg.contains("/etc/nw/sources.toml:14: source \"qiaokou\": schedule"),
            "{msg}"
        );
        assert!(
            msg.contains(
                "/etc/nw/sources.toml:15: source \"qiaokou\": links: invalid CSS selector"
            ),
            "{msg}"
        );
    }

    #[test]
    fn fetch_settings_default_and_are_overridden_per_source() {
        let text = GOOD
            .replace(
                "state_dir = \"st\"",
                "state_dir = \"st\"\nper_host_delay_ms = 250\nmax_retries = 5\nconcurrency = 3",
            )
            .replace(
                "date = \"span.date\"",
                "date = \"span.date\"\nmax_retries = 0\nheaders = { Referer = \"http://x/\" }",
            );
        let c = Config::parse(&text, Path::new("/etc/nw/sources.toml"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.settings.concurrency, 3);
        assert_eq!(c.settings.fetch.max_retries, 5);
        let s = &c.sources[0].fetch;
        assert_eq!(
            (s.max_retries, s.per_host_delay),
            (0, Duration::from_millis(250))
        );
        assert_eq!(s.per_host_concurrency, 1);
        assert_eq!(
            s.headers.get("referer").map(|v| v.as_bytes()),
            Some(&b"http://x/"[..])
        );
        let bad = text.replace("Referer = ", "\"Bad Header\" = ");
        assert!(
            problems(&bad).contains("headers: invalid header"),
            "{}",
            problems(&bad)
        );
        let zero = text.replace("concurrency = 3", "concurrency = 0");
        assert!(problems(&zero).contains("[settings] concurrency: must be at least 1"));
    }

    #[test]
    fn feed_sources_need_no_selectors_and_refuse_html_keys() {
        let feed = "[[source]]\nname = \"f\"\nkind = \"feed\"\nurl = \"http://h/rss.xml\"\nschedule = \"0 * * * *\"\n";
        let c = Config::parse(feed, Path::new("s.toml")).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            c.sources[0].kind,
            SourceKind::Feed { full_text: false }
        ));
        let msg = problems(&format!("{feed}links = \"a\"\n"));
        assert!(msg.contains("only html sources take `links`"), "{msg}");
    }

    #[test]
    fn unknown_keys_duplicates_and_bad_urls_are_refused() {
        let msg = problems(&GOOD.replace("title = \"h1\"", "titel = \"h1\""));
        assert!(msg.contains(":16:") && msg.contains("titel"), "{msg}");
        let dup = format!("{GOOD}\n{}", &GOOD[GOOD.find("[[source]]").unwrap_or(0)..]);
        assert!(problems(&dup).contains("duplicate source name"));
        let msg = problems(&GOOD.replace("https://example.gov.cn", "file:///etc"));
        assert!(msg.contains(":13:") && msg.contains("not http"), "{msg}");
        assert!(problems("[settings\n").contains("sources.toml:1:"));
    }
}
