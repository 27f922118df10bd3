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
    /// Every digest: `[digest]`/`[[digest]]` mails and `[[notify]]` chat posts, each with its
    /// own queue.
    pub digests: Vec<DigestConfig>,
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
    /// First wait before retrying a digest whose send failed; doubled each time.
    pub digest_retry: Duration,
    /// Overdue crawls at start-up are spread at random over this long.
    pub startup_spread: Duration,
    /// Where the daemon serves `/healthz`, `/metrics` and `/status`; off when `None`.
    pub listen: Option<std::net::SocketAddr>,
}

/// One digest: a queue of articles its filter takes, sent on its schedule to its destination.
#[derive(Debug, Clone)]
pub struct DigestConfig {
    /// Unique among digests and notify channels; names the queue.
    pub name: String,
    /// Line of its table, for messages.
    pub line: usize,
    pub schedule: Schedule,
    pub filter: crate::notify::filter::Filter,
    /// Folder holding `digest.txt` and `digest.html` (mail) or `digest.md` (chat); `None` uses
    /// the built-in templates.
    pub templates: Option<PathBuf>,
    pub destination: Destination,
}

/// Where a digest goes.
#[derive(Debug, Clone)]
pub enum Destination {
    Email(EmailConfig),
    Chat(ChatConfig),
}

/// `[digest]` mail settings.
#[derive(Debug, Clone)]
pub struct EmailConfig {
    pub from: lettre::message::Mailbox,
    pub to: Vec<lettre::message::Mailbox>,
    /// lettre SMTP URL; `None` writes `.eml` files to `<state_dir>/outbox/`.
    pub smtp: Option<String>,
    /// From `smtp_password_file`, else env `NEWSWATCH_SMTP_PASSWORD`; never from the config.
    pub password: Option<Secret>,
}

/// Chat platforms a `[[notify]]` can post to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatKind {
    WeCom,
    DingTalk,
    Feishu,
    Webhook,
}

/// `[[notify]]` chat settings.
#[derive(Debug, Clone)]
pub struct ChatConfig {
    pub kind: ChatKind,
    pub url: Secret,
    /// DingTalk/Feishu signing secret.
    pub secret: Option<Secret>,
}

/// A secret (password, signing key, webhook URL with its token): never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// The environment variable holding the SMTP password when no `smtp_password_file` is set.
pub const SMTP_PASSWORD_ENV: &str = "NEWSWATCH_SMTP_PASSWORD";

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
    /// Articles first seen this many days ago or less are fetched again on each crawl.
    pub recheck_days: u32,
    /// Versions kept per article, the latest included.
    pub max_revisions: u32,
    /// Consecutive failed crawls before the source is reported as failing (in `status` and the
    /// digest footer), so one blip is not noise.
    pub alert_after_failures: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig<D> {
    #[serde(default)]
    settings: RawSettings,
    digest: D,
    #[serde(default)]
    notify: Vec<Spanned<RawNotify>>,
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
        recheck_days: Option<Spanned<u32>>,
        max_revisions: Option<Spanned<u32>>,
        digest_retry_secs: Option<Spanned<u64>>,
        alert_after_failures: Option<Spanned<u32>>,
        startup_spread_secs: Option<Spanned<u64>>,
        listen: Option<Spanned<String>>,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDigest {
    name: Option<Spanned<String>>,
    schedule: Spanned<String>,
    from: Spanned<String>,
    to: Spanned<OneOrMany>,
    smtp: Option<Spanned<String>>,
    smtp_password_file: Option<Spanned<String>>,
    templates: Option<Spanned<String>>,
    sources: Option<Spanned<Vec<String>>>,
    keywords: Option<Spanned<Vec<String>>>,
    exclude: Option<Spanned<Vec<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNotify {
    name: Spanned<String>,
    kind: Spanned<String>,
    url: Option<Spanned<String>>,
    url_env: Option<Spanned<String>>,
    secret_env: Option<Spanned<String>>,
    secret_file: Option<Spanned<String>>,
    schedule: Option<Spanned<String>>,
    templates: Option<Spanned<String>>,
    sources: Option<Spanned<Vec<String>>>,
    keywords: Option<Spanned<Vec<String>>>,
    exclude: Option<Spanned<Vec<String>>>,
}

type Problem_<'a> = &'a dyn Fn(std::ops::Range<usize>, String);

/// The filter keys shared by `[digest]` and `[[notify]]`.
fn parse_filter(
    at: &str,
    sources: &Option<Spanned<Vec<String>>>,
    keywords: &Option<Spanned<Vec<String>>>,
    exclude: &Option<Spanned<Vec<String>>>,
    known: &HashSet<String>,
    problem: Problem_<'_>,
) -> crate::notify::filter::Filter {
    use crate::notify::filter::{Filter, Pattern};
    if let Some(list) = sources {
        for s in list.get_ref() {
            if !known.contains(s) {
                problem(list.span(), format!("{at}sources: no source named {s:?}"));
            }
        }
    }
    let patterns = |key: &str, v: &Option<Spanned<Vec<String>>>| -> Vec<Pattern> {
        let Some(v) = v else { return Vec::new() };
        v.get_ref()
            .iter()
            .filter_map(|k| {
                Pattern::parse(k)
                    .map_err(|e| problem(v.span(), format!("{at}{key}: {e}")))
                    .ok()
            })
            .collect()
    };
    Filter {
        sources: sources.as_ref().map(|s| s.get_ref().clone()),
        keywords: patterns("keywords", keywords),
        exclude: patterns("exclude", exclude),
    }
}

/// A secret from the environment variable named by `env`, or the file named by `file`.
fn read_secret(
    at: &str,
    env: &Option<Spanned<String>>,
    file: &Option<Spanned<String>>,
    base: &Path,
    problem: Problem_<'_>,
) -> Option<Secret> {
    if let Some(var) = env {
        return match std::env::var(var.get_ref()) {
            Ok(v) if !v.trim().is_empty() => Some(Secret(v.trim().to_owned())),
            _ => {
                problem(
                    var.span(),
                    format!(
                        "{at}secret_env: environment variable {} is not set",
                        var.get_ref()
                    ),
                );
                None
            }
        };
    }
    let file = file.as_ref()?;
    let path = base.join(file.get_ref());
    match std::fs::read_to_string(&path) {
        Ok(v) if !v.trim().is_empty() => Some(Secret(v.trim().to_owned())),
        Ok(_) => {
            problem(file.span(), format!("{at}{} is empty", path.display()));
            None
        }
        Err(e) => {
            problem(
                file.span(),
                format!("{at}cannot read {}: {e}", path.display()),
            );
            None
        }
    }
}

fn check_templates(
    at: &str,
    t: &Option<Spanned<String>>,
    files: &[&str],
    base: &Path,
    problem: Problem_<'_>,
) -> Option<PathBuf> {
    let t = t.as_ref()?;
    let dir = base.join(t.get_ref());
    for file in files {
        if !dir.join(file).is_file() {
            problem(
                t.span(),
                format!("{at}templates: {} is missing", dir.join(file).display()),
            );
        }
    }
    Some(dir)
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
        recheck_days: Option<Spanned<u32>>,
        max_revisions: Option<Spanned<u32>>,
        alert_after_failures: Option<Spanned<u32>>,
        title: Option<Spanned<String>>,
        body: Option<Spanned<String>>,
        date: Option<Spanned<String>>,
        encoding: Option<Spanned<String>>,
    }
}

/// The `[digest]`/`[[digest]]` and `[[notify]]` tables, checked against the source names.
fn parse_digests(
    raw: &RawConfig<Vec<Spanned<RawDigest>>>,
    sources: &HashSet<String>,
    base: &Path,
    problem: Problem_<'_>,
    lines: &Lines<'_>,
) -> Vec<DigestConfig> {
    let mut out = Vec::new();
    let mut names = HashSet::new();
    let single = raw.digest.len() == 1;
    let mut first_schedule = None;
    for d in &raw.digest {
        let line = lines.at(d.span().start);
        let d = d.get_ref();
        let name = match &d.name {
            Some(n) => n.get_ref().trim().to_owned(),
            None if single => "digest".to_owned(),
            None => {
                problem(
                    d.schedule.span(),
                    "[[digest]] name: required when there are several digests".into(),
                );
                continue;
            }
        };
        let at = format!("digest {name:?}: ");
        if !names.insert(name.clone()) {
            problem(
                d.schedule.span(),
                format!("{at}name: duplicate digest name"),
            );
        }
        let schedule = Schedule::parse(d.schedule.get_ref())
            .map_err(|e| problem(d.schedule.span(), format!("{at}schedule: {e}")))
            .ok();
        first_schedule = first_schedule.or(schedule.clone());
        let mailbox = |s: &str| {
            s.parse::<lettre::message::Mailbox>()
                .map_err(|e| format!("invalid address {s:?}: {e}"))
        };
        let from = mailbox(d.from.get_ref())
            .map_err(|e| problem(d.from.span(), format!("{at}from: {e}")))
            .ok();
        let to_raw = match d.to.get_ref() {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        };
        if to_raw.is_empty() {
            problem(d.to.span(), format!("{at}to: needs at least one recipient"));
        }
        let to: Vec<_> = to_raw
            .iter()
            .filter_map(|t| {
                mailbox(t)
                    .map_err(|e| problem(d.to.span(), format!("{at}to: {e}")))
                    .ok()
            })
            .collect();
        if let Some(smtp) = &d.smtp
            && let Err(e) = Url::parse(smtp.get_ref())
                .map_err(|e| e.to_string())
                .and_then(|u| {
                    matches!(u.scheme(), "smtp" | "smtps")
                        .then_some(())
                        .ok_or_else(|| format!("scheme {:?} is not smtp or smtps", u.scheme()))
                })
        {
            problem(smtp.span(), format!("{at}smtp: invalid SMTP URL: {e}"));
        }
        let env_password = std::env::var(SMTP_PASSWORD_ENV)
            .ok()
            .filter(|p| !p.is_empty())
            .map(Secret);
        let password =
            read_secret(&at, &None, &d.smtp_password_file, base, problem).or(env_password);
        let filter = parse_filter(&at, &d.sources, &d.keywords, &d.exclude, sources, problem);
        let templates = check_templates(
            &at,
            &d.templates,
            &["digest.txt", "digest.html"],
            base,
            problem,
        );
        if let (Some(schedule), Some(from)) = (schedule, from) {
            out.push(DigestConfig {
                name,
                line,
                schedule,
                filter,
                templates,
                destination: Destination::Email(EmailConfig {
                    from,
                    to,
                    smtp: d.smtp.as_ref().map(|s| s.get_ref().clone()),
                    password,
                }),
            });
        }
    }
    for n in &raw.notify {
        let line = lines.at(n.span().start);
        let n = n.get_ref();
        let name = n.name.get_ref().trim().to_owned();
        let at = format!("notify {name:?}: ");
        if name.is_empty() || !names.insert(name.clone()) {
            problem(
                n.name.span(),
                format!("{at}name: must be non-empty and differ from every digest's"),
            );
        }
        let kind = match n.kind.get_ref().as_str() {
            "wecom" => Some(ChatKind::WeCom),
            "dingtalk" => Some(ChatKind::DingTalk),
            "feishu" => Some(ChatKind::Feishu),
            "webhook" => Some(ChatKind::Webhook),
            other => {
                problem(
                    n.kind.span(),
                    format!(
                        "{at}kind: unknown kind {other:?} (wecom, dingtalk, feishu or webhook)"
                    ),
                );
                None
            }
        };
        let url = match (&n.url, &n.url_env) {
            (Some(u), None) => Some(Secret(u.get_ref().clone())),
            (None, Some(_)) => read_secret(&at, &n.url_env, &None, base, problem),
            _ => {
                problem(
                    n.name.span(),
                    format!("{at}url: give exactly one of `url` and `url_env`"),
                );
                None
            }
        };
        let url = url.filter(|u| match Url::parse(u.expose()) {
            Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => true,
            _ => {
                let span = n
                    .url
                    .as_ref()
                    .or(n.url_env.as_ref())
                    .map_or(n.name.span(), |s| s.span());
                problem(span, format!("{at}url: not an http(s) URL"));
                false
            }
        });
        let secret = read_secret(&at, &n.secret_env, &n.secret_file, base, problem);
        if secret.is_some() && matches!(kind, Some(ChatKind::WeCom | ChatKind::Webhook)) {
            problem(
                n.kind.span(),
                format!("{at}secret: only dingtalk and feishu sign their messages"),
            );
        }
        let schedule = match &n.schedule {
            Some(s) => Schedule::parse(s.get_ref())
                .map_err(|e| problem(s.span(), format!("{at}schedule: {e}")))
                .ok(),
            None => {
                if first_schedule.is_none() {
                    problem(
                        n.name.span(),
                        format!("{at}schedule: required when there is no [digest] to follow"),
                    );
                }
                first_schedule.clone()
            }
        };
        let filter = parse_filter(&at, &n.sources, &n.keywords, &n.exclude, sources, problem);
        let templates = check_templates(&at, &n.templates, &["digest.md"], base, problem);
        if let (Some(kind), Some(url), Some(schedule)) = (kind, url, schedule) {
            out.push(DigestConfig {
                name,
                line,
                schedule,
                filter,
                templates,
                destination: Destination::Chat(ChatConfig { kind, url, secret }),
            });
        }
    }
    out
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
        let toml_error = |e: toml::de::Error| {
            let line = e.span().map_or(1, |s| lines.at(s.start));
            invalid(vec![Problem {
                line,
                message: e.message().trim().to_owned(),
            }])
        };
        // `[digest]` (one table) and `[[digest]]` (several) both work; peek at which it is.
        let many = toml::from_str::<toml::Table>(text)
            .map_err(toml_error)?
            .get("digest")
            .is_some_and(toml::Value::is_array);
        let raw: RawConfig<Vec<Spanned<RawDigest>>> = if many {
            toml::from_str(text).map_err(toml_error)?
        } else {
            let one: RawConfig<Option<Spanned<RawDigest>>> =
                toml::from_str(text).map_err(toml_error)?;
            RawConfig {
                settings: one.settings,
                digest: one.digest.into_iter().collect(),
                notify: one.notify,
                source: one.source,
            }
        };
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
            if concurrency == 0
                && let Some(c) = &s.concurrency
            {
                problem(
                    c.span(),
                    "[settings] concurrency: must be at least 1".into(),
                );
            }
            Settings {
                state_dir,
                timezone,
                fetch: s
                    .fetch_keys()
                    .apply(&FetchPolicy::default(), "[settings] ", &problem),
                concurrency: concurrency.max(1),
                max_articles: s.max_articles.as_ref().map_or(100, |m| *m.get_ref()),
                digest_retry: Duration::from_secs(
                    s.digest_retry_secs
                        .as_ref()
                        .map_or(60, |d| *d.get_ref())
                        .max(1),
                ),
                startup_spread: Duration::from_secs(
                    s.startup_spread_secs.as_ref().map_or(120, |d| *d.get_ref()),
                ),
                listen: s.listen.as_ref().and_then(|l| {
                    l.get_ref()
                        .parse()
                        .map_err(|e| problem(l.span(), format!("[settings] listen: {:?} is not an address like 127.0.0.1:9184: {e}", l.get_ref())))
                        .ok()
                }),
            }
        };

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
                    if max_pages == 0
                        && let Some(m) = &s.max_pages
                    {
                        problem(m.span(), format!("{}: must be at least 1", at("max_pages")));
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
            if let Some(enc) = &s.encoding
                && crate::fetch::charset::encoding_for_label(enc.get_ref()).is_none()
            {
                problem(
                    enc.span(),
                    format!("{}: unknown encoding {:?}", at("encoding"), enc.get_ref()),
                );
            }
            let recheck_days = s
                .recheck_days
                .as_ref()
                .or(raw.settings.recheck_days.as_ref())
                .map_or(7, |d| *d.get_ref());
            let max_revisions = s
                .max_revisions
                .as_ref()
                .or(raw.settings.max_revisions.as_ref())
                .map_or(10, |m| *m.get_ref());
            if max_revisions == 0 {
                problem(
                    s.name.span(),
                    format!("{}: must be at least 1", at("max_revisions")),
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
                    recheck_days,
                    max_revisions: max_revisions.max(1),
                    alert_after_failures: s
                        .alert_after_failures
                        .as_ref()
                        .or(raw.settings.alert_after_failures.as_ref())
                        .map_or(3, |a| *a.get_ref())
                        .max(1),
                });
            }
        }

        let digests = parse_digests(&raw, &names, base, &problem, &lines);

        let mut problems = problems.into_inner();
        if problems.is_empty() {
            Ok(Config {
                path: path.to_owned(),
                settings,
                digests,
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
        assert_eq!(c.digests.len(), 1);
        assert_eq!(c.digests[0].name, "digest");
        assert!(
            matches!(&c.digests[0].destination, Destination::Email(e) if e.smtp.is_none() && e.to.len() == 1)
        );
        assert_eq!(c.sources[0].recheck_days, 7);
        assert_eq!(c.sources[0].max_revisions, 10);
    }

    #[test]
    fn several_digests_and_notify_channels() {
        let text = GOOD.replace(
            "[digest]\nschedule = \"0 8 * * *\"\nfrom = \"newswatch <nw@example.org>\"\nto = [\"a@example.org\"]\n",
            "[[digest]]\nname = \"policy\"\nschedule = \"0 8 * * *\"\nfrom = \"nw@example.org\"\nto = \"a@example.org\"\nkeywords = [\"招商引资\", \"/签约\\\\d+/\"]\nexclude = [\"招聘\"]\n\n\
             [[digest]]\nname = \"all\"\nschedule = \"0 18 * * *\"\nfrom = \"nw@example.org\"\nto = [\"b@example.org\"]\nsources = [\"qiaokou\"]\n\n\
             [[notify]]\nname = \"team\"\nkind = \"wecom\"\nurl = \"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k\"\n",
        );
        let c = Config::parse(&text, Path::new("/etc/nw/sources.toml"))
            .unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<&str> = c.digests.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["policy", "all", "team"]);
        assert_eq!(c.digests[0].filter.keywords.len(), 2);
        assert_eq!(
            c.digests[2].schedule, c.digests[0].schedule,
            "notify follows the first digest"
        );
        assert!(
            format!("{:?}", c.digests[2]).contains("Secret(…)"),
            "webhook URL never printed"
        );
        let bad = text
            .replace("sources = [\"qiaokou\"]", "sources = [\"nope\"]")
            .replace("/签约\\\\d+/", "/[/");
        let msg = problems(&bad);
        assert!(
            msg.contains("digest \"all\": sources: no source named \"nope\""),
            "{msg}"
        );
        assert!(
            msg.contains("digest \"policy\": keywords: invalid regex"),
            "{msg}"
        );
        let unnamed = text.replace("name = \"all\"\n", "");
        assert!(problems(&unnamed).contains("name: required when there are several digests"));
        let secretless = text.replace(
            "kind = \"wecom\"",
            "kind = \"dingtalk\"\nsecret_env = \"NEWSWATCH_TEST_UNSET_SECRET\"",
        );
        assert!(
            problems(&secretless)
                .contains("environment variable NEWSWATCH_TEST_UNSET_SECRET is not set")
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
    fn secrets_come_from_files_and_are_never_printed() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let _ = std::fs::write(tmp.path().join("smtp.secret"), "hunter2\n");
        let text = GOOD.replace(
            "to = [\"a@example.org\"]",
            "to = [\"a@example.org\"]\nsmtp_password_file = \"smtp.secret\"",
        );
        let c = Config::parse(&text, &tmp.path().join("sources.toml"))
            .unwrap_or_else(|e| panic!("{e}"));
        let Destination::Email(e) = &c.digests[0].destination else {
            panic!("email")
        };
        assert_eq!(e.password.as_ref().map(Secret::expose), Some("hunter2"));
        assert!(
            !format!("{c:?}").contains("hunter2"),
            "Debug output hides the password"
        );
        let missing = GOOD.replace(
            "to = [\"a@example.org\"]",
            "to = [\"a@example.org\"]\nsmtp_password_file = \"nope.secret\"",
        );
        let msg = problems(&missing);
        assert!(
            msg.contains("cannot read") && msg.contains("nope.secret"),
            "{msg}"
        );
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
