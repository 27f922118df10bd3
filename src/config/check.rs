//! The checks: one small function per table, from its raw form to the stage's settings.
//!
//! They are pure — no environment, no files — so each is unit-tested on its own. What needs
//! the outside world (secrets, template folders) is left as a reference for `resolve.rs`.
//! Every problem is collected with its place in the file, so a user fixes a config in one pass.

use super::Settings;
use super::defaults::DEFAULTS;
use super::raw::{FetchKeys, FilterKeys, RawChat, RawDigest, RawSettings, RawSink, RawSource};
use crate::crawl::{Source, SourceKind};
use crate::extract::FieldSelectors;
use crate::fetch::FetchSettings;
use crate::notify::filter::{Filter, Pattern, SignalFilter};
use crate::notify::{ChatKind, Language, Limits};
use crate::schedule::Schedule;
use crate::signals::{Extractor, SignalSettings, Stage};
use crate::sink::{SinkSettings, check_instance, password_env};
use lettre::message::Mailbox;
use scraper::Selector;
use std::collections::{BTreeSet, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use toml::Spanned;
use url::Url;

/// Problems found so far, each at a byte range of the file.
#[derive(Debug, Default)]
pub struct Problems(pub Vec<(Range<usize>, String)>);

impl Problems {
    pub fn add(&mut self, span: Range<usize>, message: String) {
        self.0.push((span, message));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The `[settings]` values every source starts from.
#[derive(Debug, Clone)]
pub struct SourceDefaults {
    pub fetch: FetchSettings,
    pub max_articles: usize,
    pub recheck_days: u32,
    pub max_revisions: u32,
    pub alert_after_failures: u32,
}

/// `[settings]`: the process's settings, and what sources inherit. `base` is the config
/// file's folder, which relative paths start from.
pub fn settings(raw: &RawSettings, base: &Path, p: &mut Problems) -> (Settings, SourceDefaults) {
    let timezone = match &raw.timezone {
        None => DEFAULTS.timezone,
        Some(tz) => tz.get_ref().parse().unwrap_or_else(|_| {
            p.add(
                tz.span(),
                format!("[settings] timezone: unknown time zone {:?}", tz.get_ref()),
            );
            DEFAULTS.timezone
        }),
    };
    let concurrency = at_least_one(
        &raw.concurrency,
        DEFAULTS.concurrency,
        "[settings] ",
        "concurrency",
        p,
    );
    let max_revisions = at_least_one(
        &raw.max_revisions,
        DEFAULTS.max_revisions,
        "[settings] ",
        "max_revisions",
        p,
    );
    let listen = raw.listen.as_ref().and_then(|l| {
        l.get_ref()
            .parse()
            .map_err(|e| {
                p.add(
                    l.span(),
                    format!(
                        "[settings] listen: {:?} is not an address like 127.0.0.1:9184: {e}",
                        l.get_ref()
                    ),
                )
            })
            .ok()
    });
    let public_url = raw.public_url.as_ref().and_then(|u| {
        match Url::parse(u.get_ref().trim()) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
                // Pages are `{public_url}/article/{id}`: one slash between, however it is written.
                Some(url.as_str().trim_end_matches('/').to_owned())
            }
            _ => {
                p.add(
                    u.span(),
                    format!(
                        "[settings] public_url: {:?} is not an http(s) address like https://news.example.org",
                        u.get_ref()
                    ),
                );
                None
            }
        }
    });
    let web = super::WebSettings {
        token: None,
        public_url,
        templates: raw.web_templates.as_ref().map(|t| base.join(t.get_ref())),
    };
    let fetch = fetch_keys(&raw.fetch_keys(), &DEFAULTS.fetch(), "[settings] ", p);
    // Empty when not given: the host name is looked up when the config is resolved.
    let instance = raw.instance.as_ref().map_or(String::new(), |i| {
        if let Err(e) = check_instance(i.get_ref()) {
            p.add(i.span(), format!("[settings] {e}"));
        }
        i.get_ref().clone()
    });
    let settings = Settings {
        state_dir: state_dir(raw.state_dir.as_ref(), base, p),
        timezone,
        fetch: fetch.clone(),
        concurrency,
        digest_retry: Duration::from_secs(
            value(&raw.digest_retry_secs)
                .unwrap_or(DEFAULTS.digest_retry_secs)
                .max(1),
        ),
        startup_spread: Duration::from_secs(
            value(&raw.startup_spread_secs).unwrap_or(DEFAULTS.startup_spread_secs),
        ),
        listen,
        instance,
        web,
    };
    let defaults = SourceDefaults {
        fetch,
        max_articles: value(&raw.max_articles).unwrap_or(DEFAULTS.max_articles),
        recheck_days: value(&raw.recheck_days).unwrap_or(DEFAULTS.recheck_days),
        max_revisions,
        // One failure is never "failing": a blip is not worth an alert.
        alert_after_failures: value(&raw.alert_after_failures)
            .unwrap_or(DEFAULTS.alert_after_failures)
            .max(1),
    };
    (settings, defaults)
}

/// `state_dir` against the config's folder. Empty, or the filesystem root (`/`, `/tmp/..`), is
/// refused: the store would be written into a folder full of other things. What is on disk
/// there is checked when the config is resolved.
fn state_dir(raw: Option<&Spanned<String>>, base: &Path, p: &mut Problems) -> PathBuf {
    let Some(raw) = raw else {
        return base.join(DEFAULTS.state_dir);
    };
    let dir = base.join(raw.get_ref());
    if raw.get_ref().trim().is_empty() {
        p.add(
            raw.span(),
            "[settings] state_dir: must name a folder for the store (it is empty)".into(),
        );
    } else if is_root(&dir) {
        p.add(
            raw.span(),
            format!(
                "[settings] state_dir: {:?} is the filesystem root; name a folder of its own for the store",
                raw.get_ref()
            ),
        );
    }
    dir
}

/// Whether `path`, with `.` and `..` taken as written, is a filesystem root.
fn is_root(path: &Path) -> bool {
    use std::path::Component;
    let mut depth = 0usize;
    let mut rooted = false;
    for c in path.components() {
        match c {
            Component::Prefix(_) | Component::RootDir => rooted = true,
            Component::CurDir => {}
            Component::ParentDir => depth = depth.saturating_sub(1),
            Component::Normal(_) => depth += 1,
        }
    }
    rooted && depth == 0
}

fn value<T: Copy>(v: &Option<Spanned<T>>) -> Option<T> {
    v.as_ref().map(|v| *v.get_ref())
}

/// A count that must be at least 1 (reported, and taken as 1, when it is 0).
fn at_least_one<T: Copy + PartialEq + From<u8>>(
    v: &Option<Spanned<T>>,
    default: T,
    at: &str,
    key: &str,
    p: &mut Problems,
) -> T {
    match v {
        Some(v) if *v.get_ref() == T::from(0) => {
            p.add(v.span(), format!("{at}{key}: must be at least 1"));
            T::from(1)
        }
        Some(v) => *v.get_ref(),
        None => default,
    }
}

/// `base` with the fetch keys of one table applied; `at` names the table in messages.
pub fn fetch_keys(
    keys: &FetchKeys<'_>,
    base: &FetchSettings,
    at: &str,
    p: &mut Problems,
) -> FetchSettings {
    let mut f = base.clone();
    if let Some(v) = keys.user_agent {
        if v.get_ref().trim().is_empty()
            || reqwest::header::HeaderValue::from_str(v.get_ref()).is_err()
        {
            p.add(
                v.span(),
                format!("{at}user_agent: must be a non-empty header value"),
            );
        }
        f.user_agent = v.get_ref().clone();
    }
    if let Some(v) = keys.request_timeout_secs {
        if *v.get_ref() == 0 {
            p.add(
                v.span(),
                format!("{at}request_timeout_secs: must be at least 1"),
            );
        }
        f.timeout = Duration::from_secs(*v.get_ref());
    }
    if let Some(v) = keys.max_body_bytes {
        if *v.get_ref() == 0 {
            p.add(v.span(), format!("{at}max_body_bytes: must be at least 1"));
        }
        f.max_body_bytes = usize::try_from(*v.get_ref()).unwrap_or(usize::MAX);
    }
    if let Some(v) = keys.max_retries {
        f.max_retries = *v.get_ref();
    }
    if let Some(v) = keys.per_host_concurrency {
        if *v.get_ref() == 0 {
            p.add(
                v.span(),
                format!("{at}per_host_concurrency: must be at least 1"),
            );
        }
        f.per_host_concurrency = (*v.get_ref()).max(1);
    }
    if let Some(v) = keys.per_host_delay_ms {
        f.per_host_delay = Duration::from_millis(*v.get_ref());
    }
    if let Some(v) = keys.proxy {
        match Url::parse(v.get_ref()) {
            Ok(u) if matches!(u.scheme(), "http" | "https" | "socks5" | "socks5h") => {
                f.proxy = Some(v.get_ref().clone());
            }
            _ => p.add(
                v.span(),
                format!(
                    "{at}proxy: {:?} is not an http(s) proxy URL",
                    crate::fetch::redact(v.get_ref())
                ),
            ),
        }
    }
    if let Some(v) = keys.headers {
        for (name, value) in v.get_ref() {
            let parsed = (
                reqwest::header::HeaderName::from_bytes(name.as_bytes()),
                reqwest::header::HeaderValue::from_str(value),
            );
            match parsed {
                (Ok(n), Ok(val)) => {
                    f.headers.insert(n, val);
                }
                _ => p.add(
                    v.span(),
                    format!("{at}headers: invalid header {name:?}: {value:?}"),
                ),
            }
        }
    }
    f
}

/// One `[[source]]` (its table starting at `table_line`). `names` holds the names seen so far,
/// for duplicates.
pub fn source(
    s: &RawSource,
    table_line: usize,
    defaults: &SourceDefaults,
    names: &mut HashSet<String>,
    p: &mut Problems,
) -> Option<Source> {
    let name = s.name.get_ref().trim().to_owned();
    let at = |key: &str| format!("source {name:?}: {key}");
    if name.is_empty() {
        p.add(
            s.name.span(),
            format!("source at line {table_line}: name: must not be empty"),
        );
    } else if !names.insert(name.clone()) {
        p.add(
            s.name.span(),
            format!("source {name:?}: name: duplicate source name"),
        );
    }
    let url = match Url::parse(s.url.get_ref()) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Some(u),
        Ok(u) => {
            p.add(
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
            p.add(
                s.url.span(),
                format!(
                    "{}: invalid URL {:?}: {e}",
                    at("url"),
                    crate::fetch::redact(s.url.get_ref())
                ),
            );
            None
        }
    };
    let mut allowed = Vec::new();
    for host in s.allowed_hosts.iter().flat_map(|h| h.get_ref()) {
        match crate::fetch::HostPattern::parse(host) {
            Some(pattern) => allowed.push(pattern),
            None => p.add(
                s.allowed_hosts.as_ref().map_or(0..0, Spanned::span),
                format!(
                    "{}: {host:?} is not a host name (write \"example.gov.cn\"; its subdomains are included)",
                    at("allowed_hosts")
                ),
            ),
        }
    }
    let schedule = Schedule::parse(s.schedule.get_ref())
        .map_err(|e| p.add(s.schedule.span(), format!("{}: {e}", at("schedule"))))
        .ok();
    let mut selector = |key: &str, v: &Option<Spanned<String>>| -> Option<Selector> {
        let v = v.as_ref()?;
        Selector::parse(v.get_ref())
            .map_err(|e| {
                p.add(
                    v.span(),
                    format!("{}: invalid CSS selector {:?}: {e}", at(key), v.get_ref()),
                )
            })
            .ok()
    };
    let fields = FieldSelectors {
        title: selector("title", &s.title),
        body: selector("body", &s.body),
        date: selector("date", &s.date),
    };
    let kind = match s.kind.as_ref().map_or("html", |k| k.get_ref().as_str()) {
        "html" => {
            // Without a `links` selector the list page's article links are found by their look
            // (see `extract::links`), so a source needs only its name, url and schedule.
            let links = selector("links", &s.links);
            let next = selector("next", &s.next);
            let max_pages = at_least_one(
                &s.max_pages,
                DEFAULTS.max_pages,
                &format!("source {name:?}: "),
                "max_pages",
                p,
            );
            if let Some(f) = &s.full_text {
                p.add(
                    f.span(),
                    format!("{}: only feed sources take `full_text`", at("full_text")),
                );
            }
            // An invalid selector is a problem reported above, which fails the whole config.
            Some(SourceKind::Html {
                links,
                next,
                max_pages,
            })
        }
        "feed" => {
            for (key, v) in [("links", &s.links), ("next", &s.next)] {
                if let Some(v) = v {
                    p.add(
                        v.span(),
                        format!("{}: only html sources take `{key}`", at(key)),
                    );
                }
            }
            Some(SourceKind::Feed {
                full_text: value(&s.full_text).unwrap_or(false),
            })
        }
        other => {
            p.add(
                s.kind.as_ref().map_or(s.name.span(), |k| k.span()),
                format!(
                    "{}: unknown kind {other:?} (expected \"html\" or \"feed\")",
                    at("kind")
                ),
            );
            None
        }
    };
    if let Some(enc) = &s.encoding
        && crate::fetch::charset::encoding_for_label(enc.get_ref()).is_none()
    {
        p.add(
            enc.span(),
            format!("{}: unknown encoding {:?}", at("encoding"), enc.get_ref()),
        );
    }
    let max_revisions = at_least_one(
        &s.max_revisions,
        defaults.max_revisions,
        &format!("source {name:?}: "),
        "max_revisions",
        p,
    );
    let mut fetch = fetch_keys(
        &s.fetch_keys(),
        &defaults.fetch,
        &format!("source {name:?}: "),
        p,
    );
    let (mut url, schedule, kind) = (url?, schedule?, kind?);
    take_credentials(&mut url, &mut fetch.headers);
    fetch.scope = crate::fetch::Scope::new(&url, allowed);
    Some(Source {
        name,
        url,
        schedule,
        kind,
        fields,
        encoding: s.encoding.as_ref().map(|e| e.get_ref().clone()),
        max_articles: value(&s.max_articles).unwrap_or(defaults.max_articles),
        fetch,
        recheck_days: value(&s.recheck_days).unwrap_or(defaults.recheck_days),
        max_revisions,
        alert_after_failures: value(&s.alert_after_failures)
            .map_or(defaults.alert_after_failures, |a| a.max(1)),
    })
}

/// Moves a source URL's `user:password@` into an `Authorization: Basic` header, as an HTTP
/// client would send it. Like every header of the source it then goes only to the source's
/// own origin, and the URL — shown in reports, logs, `status` and mails — no longer carries
/// it. An `Authorization` the source's `headers` set wins.
fn take_credentials(url: &mut Url, headers: &mut reqwest::header::HeaderMap) {
    use base64::Engine as _;
    use percent_encoding::percent_decode_str;
    if url.username().is_empty() && url.password().is_none() {
        return;
    }
    let user = percent_decode_str(url.username()).decode_utf8_lossy();
    let password = percent_decode_str(url.password().unwrap_or_default()).decode_utf8_lossy();
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    if let Ok(mut value) = reqwest::header::HeaderValue::from_str(&format!("Basic {token}")) {
        value.set_sensitive(true);
        headers
            .entry(reqwest::header::AUTHORIZATION)
            .or_insert(value);
    }
    // Cannot fail for an http(s) URL, the only kind a source has.
    let _ = url.set_username("");
    let _ = url.set_password(None);
}

/// A secret to be read by `resolve.rs`: given in the file, or named there.
#[derive(Debug, Clone)]
pub enum SecretRef {
    Value(String),
    /// An environment variable, by name, with the key that named it.
    Env {
        key: &'static str,
        var: String,
        span: Range<usize>,
    },
    File {
        path: PathBuf,
        span: Range<usize>,
    },
}

/// A template folder to be looked into by `resolve.rs`.
#[derive(Debug, Clone)]
pub struct TemplatesRef {
    pub dir: PathBuf,
    pub files: &'static [&'static str],
    pub span: Range<usize>,
}

/// How a checked digest reaches its readers, its secrets not yet read.
#[derive(Debug, Clone)]
pub enum ChannelDraft {
    Mail {
        from: Mailbox,
        to: Vec<Mailbox>,
        smtp: Option<String>,
        /// Where `smtp` is, for the check that needs the password (`resolve.rs`).
        smtp_span: Range<usize>,
        password_file: Option<SecretRef>,
        allow_insecure_auth: bool,
    },
    Chat {
        kind: ChatKind,
        url: SecretRef,
        url_span: Range<usize>,
        secret: Option<SecretRef>,
    },
}

/// A checked digest whose secrets and templates are still to be read.
#[derive(Debug, Clone)]
pub struct DigestDraft {
    pub name: String,
    /// How messages name it: `digest "x": ` or `notify "x": `.
    pub at: String,
    pub schedule: Schedule,
    pub filter: Filter,
    pub language: Language,
    pub templates: Option<TemplatesRef>,
    pub channel: ChannelDraft,
    pub limits: Limits,
}

/// A checked sink whose password is still to be read.
#[derive(Debug, Clone)]
pub struct SinkDraft {
    pub settings: SinkSettings,
    /// `password_file`; without it the password comes from the sink's environment variable.
    pub password_file: Option<SecretRef>,
    /// How messages name it: `sink "x": `.
    pub at: String,
}

/// One `[[sink]]`. `names` holds the sink names seen so far, `variables` their password
/// variables (`team-pg` and `team_pg` would share one).
pub fn sink(
    s: &RawSink,
    base: &Path,
    names: &mut HashSet<String>,
    variables: &mut HashSet<String>,
    p: &mut Problems,
) -> Option<SinkDraft> {
    let name = s.name.get_ref().trim().to_owned();
    let at = format!("sink {name:?}: ");
    if !names.insert(name.clone()) {
        p.add(s.name.span(), format!("{at}name: duplicate sink name"));
    } else if !variables.insert(password_env(&name)) {
        p.add(
            s.name.span(),
            format!(
                "{at}name: another sink's name maps to the same password variable {}",
                password_env(&name)
            ),
        );
    }
    if s.kind.get_ref() != "postgres" {
        p.add(
            s.kind.span(),
            format!(
                "{at}kind: unknown kind {:?} (newswatch writes to \"postgres\")",
                s.kind.get_ref()
            ),
        );
        return None;
    }
    let schema = s.schema.as_ref().map(|v| v.get_ref().as_str());
    let settings = match SinkSettings::postgres(&name, s.url.get_ref(), None, schema) {
        Ok(settings) => settings,
        Err(e) => {
            let span = match &e {
                crate::sink::SettingsError::Url(_) => s.url.span(),
                crate::sink::SettingsError::Schema { .. } => {
                    s.schema.as_ref().map_or(s.name.span(), Spanned::span)
                }
                _ => s.name.span(),
            };
            p.add(span, format!("{at}{e}"));
            return None;
        }
    };
    Some(SinkDraft {
        settings,
        password_file: s.password_file.as_ref().map(|f| SecretRef::File {
            path: base.join(f.get_ref()),
            span: f.span(),
        }),
        at,
    })
}

/// `max_items` and `max_bytes` of a digest table, each at least 1.
fn limits(
    at: &str,
    max_items: &Option<Spanned<usize>>,
    max_bytes: &Option<Spanned<usize>>,
    defaults: Limits,
    p: &mut Problems,
) -> Limits {
    Limits {
        max_items: at_least_one(max_items, defaults.max_items, at, "max_items", p),
        max_bytes: at_least_one(max_bytes, defaults.max_bytes, at, "max_bytes", p),
    }
}

/// `[signals]`: the extractor with the dictionaries it adds to (the standard one without it).
/// A bad entry is a problem at the table.
pub fn signals(raw: Option<&Spanned<SignalSettings>>, p: &mut Problems) -> Arc<Extractor> {
    let Some(raw) = raw else {
        return Extractor::standard_shared();
    };
    Extractor::shared(raw.get_ref()).unwrap_or_else(|e| {
        let e = e.to_string();
        let what = e
            .strip_prefix("signals.")
            .or_else(|| e.strip_prefix("signals: "))
            .unwrap_or(&e);
        p.add(raw.span(), format!("[signals] {what}"));
        Extractor::standard_shared()
    })
}

/// The filter keys shared by `[digest]` and `[[notify]]`, checked against the source names
/// and, for regions and industries, against `extractor`'s dictionaries (a name or alias they
/// know; a region takes the regions inside it too).
pub fn filter(
    at: &str,
    keys: FilterKeys<'_>,
    known: &HashSet<String>,
    extractor: &Extractor,
    p: &mut Problems,
) -> Filter {
    if let Some(list) = keys.sources {
        for s in list.get_ref() {
            if !known.contains(s) {
                p.add(list.span(), format!("{at}sources: no source named {s:?}"));
            }
        }
    }
    let mut patterns = |key: &str, v: &Option<Spanned<Vec<String>>>| -> Vec<Pattern> {
        let Some(v) = v else { return Vec::new() };
        v.get_ref()
            .iter()
            .filter_map(|k| {
                Pattern::parse(k)
                    .map_err(|e| p.add(v.span(), format!("{at}{key}: {e}")))
                    .ok()
            })
            .collect()
    };
    let keywords = patterns("keywords", keys.keywords);
    let exclude = patterns("exclude", keys.exclude);
    let min_amount = keys.min_amount.as_ref().and_then(|m| {
        crate::signals::parse_amount(m.get_ref())
            .map_err(|e| {
                p.add(
                    m.span(),
                    format!(
                        "{at}min_amount: {:?} is not an amount (write it like \"10亿元\", \"5000万美元\" or \"3亿\")",
                        m.get_ref()
                    ),
                );
                drop(e);
            })
            .ok()
    });
    let mut stages = Vec::new();
    if let Some(list) = keys.stages {
        for s in list.get_ref() {
            match s.parse::<Stage>() {
                Ok(stage) if !stages.contains(&stage) => stages.push(stage),
                Ok(_) => {}
                Err(e) => p.add(list.span(), format!("{at}stages: {}", strip_kind(&e))),
            }
        }
    }
    let mut regions = BTreeSet::new();
    if let Some(list) = keys.regions {
        for r in list.get_ref() {
            let within = extractor.regions_within(r);
            if within.is_empty() {
                p.add(
                    list.span(),
                    format!(
                        "{at}regions: unknown region {r:?} (add it under [signals] regions to name it)"
                    ),
                );
            }
            regions.extend(within.into_iter().map(str::to_owned));
        }
    }
    let mut industries = BTreeSet::new();
    if let Some(list) = keys.industries {
        for i in list.get_ref() {
            match extractor.industry(i) {
                Some(name) => {
                    industries.insert(name.to_owned());
                }
                None => p.add(
                    list.span(),
                    format!(
                        "{at}industries: unknown industry {i:?} (add it under [signals] industries to name it)"
                    ),
                ),
            }
        }
    }
    Filter {
        sources: keys.sources.as_ref().map(|s| s.get_ref().clone()),
        keywords,
        exclude,
        signals: SignalFilter {
            min_amount,
            stages,
            regions,
            industries,
        },
    }
}

/// A signals error without its `signals: ` prefix, for a message that names its key itself.
fn strip_kind(e: &crate::signals::SignalsError) -> String {
    let s = e.to_string();
    s.strip_prefix("signals: ").map(str::to_owned).unwrap_or(s)
}

/// `language`: `zh` (the default) or `en`.
fn language(at: &str, raw: &Option<Spanned<String>>, p: &mut Problems) -> Language {
    let Some(raw) = raw else {
        return Language::default();
    };
    raw.get_ref().parse().unwrap_or_else(|e| {
        p.add(raw.span(), format!("{at}language: {e}"));
        Language::default()
    })
}

fn templates(
    t: &Option<Spanned<String>>,
    files: &'static [&'static str],
    base: &Path,
) -> Option<TemplatesRef> {
    t.as_ref().map(|t| TemplatesRef {
        dir: base.join(t.get_ref()),
        files,
        span: t.span(),
    })
}

/// `[digest]` or one `[[digest]]` (`single` when it is the only one, so it may go unnamed).
/// `names` holds the digest names seen so far; `sources` the source names.
pub fn mail_digest(
    d: &RawDigest,
    single: bool,
    base: &Path,
    names: &mut HashSet<String>,
    sources: &HashSet<String>,
    extractor: &Extractor,
    p: &mut Problems,
) -> Option<DigestDraft> {
    let name = match &d.name {
        Some(n) => n.get_ref().trim().to_owned(),
        None if single => DEFAULTS.digest_name.to_owned(),
        None => {
            p.add(
                d.schedule.span(),
                "[[digest]] name: required when there are several digests".into(),
            );
            return None;
        }
    };
    let at = format!("digest {name:?}: ");
    if !names.insert(name.clone()) {
        p.add(
            d.schedule.span(),
            format!("{at}name: duplicate digest name"),
        );
    }
    let schedule = Schedule::parse(d.schedule.get_ref())
        .map_err(|e| p.add(d.schedule.span(), format!("{at}schedule: {e}")))
        .ok();
    let mailbox = |s: &str| {
        s.parse::<Mailbox>()
            .map_err(|e| format!("invalid address {s:?}: {e}"))
    };
    let from = mailbox(d.from.get_ref())
        .map_err(|e| p.add(d.from.span(), format!("{at}from: {e}")))
        .ok();
    let to_raw = d.to.get_ref().to_vec();
    if to_raw.is_empty() {
        p.add(d.to.span(), format!("{at}to: needs at least one recipient"));
    }
    let to: Vec<Mailbox> = to_raw
        .iter()
        .filter_map(|t| {
            mailbox(t)
                .map_err(|e| p.add(d.to.span(), format!("{at}to: {e}")))
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
        p.add(smtp.span(), format!("{at}smtp: invalid SMTP URL: {e}"));
    }
    let filter = filter(&at, d.filter_keys(), sources, extractor, p);
    let language = language(&at, &d.language, p);
    let password_file = d.smtp_password_file.as_ref().map(|f| SecretRef::File {
        path: base.join(f.get_ref()),
        span: f.span(),
    });
    let limits = limits(
        &at,
        &d.max_items,
        &d.max_bytes,
        Limits {
            max_items: DEFAULTS.mail_max_items,
            max_bytes: DEFAULTS.mail_max_bytes,
        },
        p,
    );
    Some(DigestDraft {
        templates: templates(&d.templates, &["digest.txt", "digest.html"], base),
        channel: ChannelDraft::Mail {
            from: from?,
            to,
            smtp: d.smtp.as_ref().map(|s| s.get_ref().clone()),
            smtp_span: d.smtp.as_ref().map_or(d.schedule.span(), Spanned::span),
            password_file,
            allow_insecure_auth: d.allow_insecure_auth.as_ref().is_some_and(|a| *a.get_ref()),
        },
        limits,
        schedule: schedule?,
        filter,
        language,
        name,
        at,
    })
}

/// One `[[notify]]`: a digest posted to a chat robot. It follows `first_schedule` (the first
/// mail digest's) unless it has its own.
pub fn chat_digest(
    n: &RawChat,
    base: &Path,
    first_schedule: Option<&Schedule>,
    names: &mut HashSet<String>,
    sources: &HashSet<String>,
    extractor: &Extractor,
    p: &mut Problems,
) -> Option<DigestDraft> {
    let name = n.name.get_ref().trim().to_owned();
    let at = format!("notify {name:?}: ");
    if name.is_empty() || !names.insert(name.clone()) {
        p.add(
            n.name.span(),
            format!("{at}name: must be non-empty and differ from every digest's"),
        );
    }
    let secret = match (&n.secret_env, &n.secret_file) {
        (Some(var), _) => Some(SecretRef::Env {
            key: "secret_env",
            var: var.get_ref().clone(),
            span: var.span(),
        }),
        (None, Some(file)) => Some(SecretRef::File {
            path: base.join(file.get_ref()),
            span: file.span(),
        }),
        (None, None) => None,
    };
    // The kind is checked without the secret's value: whether one is given is enough.
    let kind = ChatKind::from_name(n.kind.get_ref(), None)
        .map_err(|e| p.add(n.kind.span(), format!("{at}kind: {e}")))
        .ok();
    if secret.is_some() && matches!(kind, Some(ChatKind::WeCom | ChatKind::Webhook)) {
        p.add(
            n.kind.span(),
            format!("{at}secret: only dingtalk and feishu sign their messages"),
        );
    }
    let url = match (&n.url, &n.url_env) {
        (Some(u), None) => {
            if matches!(Url::parse(u.get_ref()), Ok(parsed) if matches!(parsed.scheme(), "http" | "https"))
            {
                Some((SecretRef::Value(u.get_ref().clone()), u.span()))
            } else {
                p.add(u.span(), format!("{at}url: not an http(s) URL"));
                None
            }
        }
        (None, Some(var)) => Some((
            SecretRef::Env {
                key: "url_env",
                var: var.get_ref().clone(),
                span: var.span(),
            },
            var.span(),
        )),
        _ => {
            p.add(
                n.name.span(),
                format!("{at}url: give exactly one of `url` and `url_env`"),
            );
            None
        }
    };
    let schedule = match &n.schedule {
        Some(s) => Schedule::parse(s.get_ref())
            .map_err(|e| p.add(s.span(), format!("{at}schedule: {e}")))
            .ok(),
        None => {
            if first_schedule.is_none() {
                p.add(
                    n.name.span(),
                    format!("{at}schedule: required when there is no [digest] to follow"),
                );
            }
            first_schedule.cloned()
        }
    };
    let filter = filter(&at, n.filter_keys(), sources, extractor, p);
    let language = language(&at, &n.language, p);
    let limits = limits(
        &at,
        &n.max_items,
        &n.max_bytes,
        Limits {
            max_items: DEFAULTS.chat_max_items,
            max_bytes: DEFAULTS.chat_max_bytes,
        },
        p,
    );
    let (url, url_span) = url?;
    Some(DigestDraft {
        limits,
        templates: templates(&n.templates, &["digest.md"], base),
        channel: ChannelDraft::Chat {
            kind: kind?,
            url,
            url_span,
            secret,
        },
        schedule: schedule?,
        filter,
        language,
        name,
        at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(p: &Problems) -> String {
        p.0.iter()
            .map(|(_, m)| m.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn defaults() -> SourceDefaults {
        let mut p = Problems::default();
        let (_, d) = settings(&RawSettings::default(), Path::new("/etc/nw"), &mut p);
        assert!(p.is_empty());
        d
    }

    fn raw<T: serde::de::DeserializeOwned>(text: &str) -> T {
        toml::from_str(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn settings_defaults_come_from_the_one_table() {
        let mut p = Problems::default();
        let (s, d) = settings(&RawSettings::default(), Path::new("/etc/nw"), &mut p);
        assert!(p.is_empty(), "{}", messages(&p));
        assert_eq!(s.state_dir, Path::new("/etc/nw/state"));
        assert_eq!(s.timezone, chrono_tz::Asia::Shanghai);
        assert_eq!(s.concurrency, DEFAULTS.concurrency);
        assert_eq!(s.digest_retry, Duration::from_secs(60));
        assert_eq!(d.max_articles, 100);
        assert_eq!(
            (d.recheck_days, d.max_revisions, d.alert_after_failures),
            (7, 10, 3)
        );
        assert_eq!(d.fetch.max_retries, 2);
        assert!(d.fetch.user_agent.starts_with("newswatch/"));
    }

    #[test]
    fn state_dir_must_name_a_folder_of_its_own() {
        for (text, want) in [
            ("state_dir = \"\"", "state_dir: must name a folder"),
            ("state_dir = \"  \"", "state_dir: must name a folder"),
            ("state_dir = \"/\"", "is the filesystem root"),
            ("state_dir = \"/var/../\"", "is the filesystem root"),
            ("state_dir = \"../../../..\"", "is the filesystem root"),
        ] {
            let mut p = Problems::default();
            let _ = settings(&raw(text), Path::new("/etc/nw"), &mut p);
            assert!(messages(&p).contains(want), "{text}: {}", messages(&p));
        }
        let mut p = Problems::default();
        let (s, _) = settings(
            &raw("state_dir = \"/var/lib/nw\""),
            Path::new("/etc/nw"),
            &mut p,
        );
        assert!(p.is_empty(), "{}", messages(&p));
        assert_eq!(s.state_dir, Path::new("/var/lib/nw"));
    }

    #[test]
    fn settings_problems_name_the_key() {
        let mut p = Problems::default();
        let r: RawSettings = raw(
            "timezone = \"Mars/Olympus\"\nconcurrency = 0\nlisten = \"nowhere\"\nrequest_timeout_secs = 0\nproxy = \"ftp://p\"\nmax_revisions = 0\n",
        );
        let (s, _) = settings(&r, Path::new("."), &mut p);
        let m = messages(&p);
        for expected in [
            "[settings] timezone: unknown time zone \"Mars/Olympus\"",
            "[settings] concurrency: must be at least 1",
            "[settings] listen: \"nowhere\" is not an address",
            "[settings] request_timeout_secs: must be at least 1",
            "[settings] proxy: \"ftp://p\" is not an http(s) proxy URL",
            "[settings] max_revisions: must be at least 1",
        ] {
            assert!(m.contains(expected), "{expected}: {m}");
        }
        assert_eq!(s.concurrency, 1, "a zero is taken as the least that works");
    }

    #[test]
    fn a_source_inherits_settings_and_overrides_them() {
        let mut p = Problems::default();
        let r: RawSettings = raw("per_host_delay_ms = 250\nmax_retries = 5\nmax_articles = 7\n");
        let (_, d) = settings(&r, Path::new("."), &mut p);
        let s: RawSource = raw(
            "name = \" q \"\nkind = \"html\"\nurl = \"https://h/l.html\"\nschedule = \"*/30 * * * *\"\nlinks = \"a\"\nmax_retries = 0\nheaders = { Referer = \"http://x/\" }\n",
        );
        let got = source(&s, 1, &d, &mut HashSet::new(), &mut p);
        assert!(p.is_empty(), "{}", messages(&p));
        let got = got.unwrap_or_else(|| panic!("source"));
        assert_eq!(got.name, "q", "trimmed");
        assert_eq!(got.schedule.as_str(), "0 */30 * * * *");
        assert_eq!(got.max_articles, 7);
        assert_eq!(
            (got.fetch.max_retries, got.fetch.per_host_delay),
            (0, Duration::from_millis(250))
        );
        assert!(matches!(got.kind, SourceKind::Html { max_pages: 5, .. }));
        assert_eq!(
            got.fetch.headers.get("referer").map(|v| v.as_bytes()),
            Some(&b"http://x/"[..])
        );
    }

    #[test]
    fn allowed_hosts_and_url_credentials() {
        let d = defaults();
        let mut p = Problems::default();
        let s: RawSource = raw(
            "name = \"q\"\nkind = \"html\"\nurl = \"https://nw%40x:p%3Ass@www.portal.example/l.html\"\nschedule = \"0 * * * *\"\nlinks = \"a\"\nallowed_hosts = [\"*.cdn.example\", \"127.0.0.1\"]\n",
        );
        let got = source(&s, 1, &d, &mut HashSet::new(), &mut p);
        assert!(p.is_empty(), "{}", messages(&p));
        let got = got.unwrap_or_else(|| panic!("source"));
        assert_eq!(got.url.as_str(), "https://www.portal.example/l.html");
        let auth = got.fetch.headers.get("authorization");
        assert!(auth.is_some_and(|v| v.is_sensitive()));
        assert_eq!(
            auth.map(|v| v.as_bytes()),
            Some(&b"Basic bndAeDpwOnNz"[..]),
            "Basic base64(\"nw@x:p:ss\")"
        );
        let home = |u: &str| Url::parse(u).unwrap_or_else(|e| panic!("{e}"));
        let scope = &got.fetch.scope;
        assert!(scope.check(&home("https://img.cdn.example/a")).is_ok());
        assert!(scope.check(&home("http://127.0.0.1:9/a")).is_ok());
        assert!(scope.check(&home("https://news.portal.example/a")).is_ok());
        assert!(scope.check(&home("https://evil.example/a")).is_err());
        assert!(scope.sends_headers(&home("https://www.portal.example/x")));
        assert!(!scope.sends_headers(&home("https://img.cdn.example/x")));

        let mut p = Problems::default();
        let s: RawSource = raw(
            "name = \"q\"\nkind = \"html\"\nurl = \"ht!tp://u:hunter2@h\"\nschedule = \"0 * * * *\"\nlinks = \"a\"\nallowed_hosts = [\"https://cdn.example/\", \"cdn.example:8080\"]\n",
        );
        assert!(source(&s, 1, &d, &mut HashSet::new(), &mut p).is_none());
        let m = messages(&p);
        for expected in [
            "source \"q\": allowed_hosts: \"https://cdn.example/\" is not a host name",
            "source \"q\": allowed_hosts: \"cdn.example:8080\" is not a host name",
            "source \"q\": url: invalid URL",
        ] {
            assert!(m.contains(expected), "{expected}: {m}");
        }
        assert!(!m.contains("hunter2"), "{m}");
    }

    #[test]
    fn source_problems_name_the_source_and_key() {
        let d = defaults();
        let mut p = Problems::default();
        let mut names = HashSet::new();
        let s: RawSource = raw(
            "name = \"q\"\nkind = \"html\"\nurl = \"file:///etc\"\nschedule = \"61 * * * *\"\nlinks = \"ul..bad[\"\nfull_text = true\nencoding = \"klingon\"\nmax_pages = 0\n",
        );
        assert!(source(&s, 1, &d, &mut names, &mut p).is_none());
        let m = messages(&p);
        for expected in [
            "source \"q\": url: scheme \"file\" is not http or https",
            "source \"q\": schedule: invalid cron expression",
            "source \"q\": links: invalid CSS selector",
            "source \"q\": full_text: only feed sources take `full_text`",
            "source \"q\": encoding: unknown encoding \"klingon\"",
            "source \"q\": max_pages: must be at least 1",
        ] {
            assert!(m.contains(expected), "{expected}: {m}");
        }
        let mut p = Problems::default();
        let feed: RawSource = raw(
            "name = \"q\"\nkind = \"feed\"\nurl = \"http://h/rss\"\nschedule = \"0 * * * *\"\nlinks = \"a\"\n",
        );
        assert!(source(&feed, 9, &d, &mut names, &mut p).is_some());
        let m = messages(&p);
        assert!(m.contains("duplicate source name"), "{m}");
        assert!(m.contains("only html sources take `links`"), "{m}");
        let mut p = Problems::default();
        let unnamed: RawSource =
            raw("name = \"\"\nkind = \"rss\"\nurl = \"http://h/\"\nschedule = \"0 * * * *\"\n");
        assert!(source(&unnamed, 12, &d, &mut names, &mut p).is_none());
        let m = messages(&p);
        assert!(
            m.contains("source at line 12: name: must not be empty"),
            "{m}"
        );
        assert!(m.contains("unknown kind \"rss\""), "{m}");
    }

    #[test]
    fn mail_digest_checks_addresses_filters_and_names() {
        let sources: HashSet<String> = ["q".to_owned()].into();
        let mut names = HashSet::new();
        let mut p = Problems::default();
        let d: RawDigest = raw(
            "schedule = \"0 8 * * *\"\nfrom = \"nw <nw@example.org>\"\nto = \"a@example.org\"\nkeywords = [\"招商引资\", \"/签约\\\\d+/\"]\nsmtp_password_file = \"pw\"\ntemplates = \"mine\"\n",
        );
        let got = mail_digest(
            &d,
            true,
            Path::new("/etc/nw"),
            &mut names,
            &sources,
            Extractor::standard(),
            &mut p,
        );
        assert!(p.is_empty(), "{}", messages(&p));
        let got = got.unwrap_or_else(|| panic!("digest"));
        assert_eq!(got.name, "digest", "an only digest may go unnamed");
        assert_eq!(got.filter.keywords.len(), 2);
        assert!(matches!(
            &got.channel,
            ChannelDraft::Mail { to, password_file: Some(SecretRef::File { path, .. }), .. }
                if to.len() == 1 && path == Path::new("/etc/nw/pw")
        ));
        assert!(
            got.templates
                .is_some_and(|t| t.dir == Path::new("/etc/nw/mine"))
        );

        let mut p = Problems::default();
        let bad: RawDigest = raw(
            "name = \"digest\"\nschedule = \"0 8 * * *\"\nfrom = \"nobody\"\nto = []\nsmtp = \"http://x\"\nsources = [\"nope\"]\nexclude = [\"/[/\"]\n",
        );
        assert!(
            mail_digest(
                &bad,
                false,
                Path::new("."),
                &mut names,
                &sources,
                Extractor::standard(),
                &mut p
            )
            .is_none()
        );
        let m = messages(&p);
        for expected in [
            "digest \"digest\": name: duplicate digest name",
            "digest \"digest\": from: invalid address \"nobody\"",
            "digest \"digest\": to: needs at least one recipient",
            "digest \"digest\": smtp: invalid SMTP URL: scheme \"http\"",
            "digest \"digest\": sources: no source named \"nope\"",
            "digest \"digest\": exclude: invalid regex",
        ] {
            assert!(m.contains(expected), "{expected}: {m}");
        }
        let mut p = Problems::default();
        let unnamed: RawDigest =
            raw("schedule = \"0 8 * * *\"\nfrom = \"a@b.c\"\nto = \"a@b.c\"\n");
        assert!(
            mail_digest(
                &unnamed,
                false,
                Path::new("."),
                &mut names,
                &sources,
                Extractor::standard(),
                &mut p
            )
            .is_none()
        );
        assert!(messages(&p).contains("name: required when there are several digests"));
    }

    #[test]
    fn chat_digest_checks_kind_url_secret_and_schedule() {
        let sources = HashSet::new();
        let first = Schedule::parse("0 8 * * *").ok();
        let mut names: HashSet<String> = ["digest".to_owned()].into();
        let mut p = Problems::default();
        let ok: RawChat = raw(
            "name = \"team\"\nkind = \"dingtalk\"\nurl_env = \"ROBOT\"\nsecret_file = \"ding.secret\"\n",
        );
        let got = chat_digest(
            &ok,
            Path::new("/d"),
            first.as_ref(),
            &mut names,
            &sources,
            Extractor::standard(),
            &mut p,
        );
        assert!(p.is_empty(), "{}", messages(&p));
        let got = got.unwrap_or_else(|| panic!("chat"));
        assert_eq!(
            Some(&got.schedule),
            first.as_ref(),
            "follows the first digest"
        );
        assert!(matches!(
            &got.channel,
            ChannelDraft::Chat {
                kind: ChatKind::DingTalk { .. },
                url: SecretRef::Env { key: "url_env", .. },
                secret: Some(SecretRef::File { .. }),
                ..
            }
        ));

        let mut p = Problems::default();
        let bad: RawChat =
            raw("name = \"digest\"\nkind = \"wecom\"\nurl = \"ftp://x\"\nsecret_env = \"S\"\n");
        assert!(
            chat_digest(
                &bad,
                Path::new("."),
                None,
                &mut names,
                &sources,
                Extractor::standard(),
                &mut p
            )
            .is_none()
        );
        let m = messages(&p);
        for expected in [
            "notify \"digest\": name: must be non-empty and differ from every digest's",
            "notify \"digest\": url: not an http(s) URL",
            "notify \"digest\": secret: only dingtalk and feishu sign their messages",
            "notify \"digest\": schedule: required when there is no [digest] to follow",
        ] {
            assert!(m.contains(expected), "{expected}: {m}");
        }
        let mut p = Problems::default();
        let neither: RawChat = raw("name = \"x\"\nkind = \"telegram\"\nschedule = \"0 9 * * *\"\n");
        assert!(
            chat_digest(
                &neither,
                Path::new("."),
                None,
                &mut names,
                &sources,
                Extractor::standard(),
                &mut p
            )
            .is_none()
        );
        let m = messages(&p);
        assert!(m.contains("kind: unknown kind \"telegram\""), "{m}");
        assert!(
            m.contains("url: give exactly one of `url` and `url_env`"),
            "{m}"
        );
    }
}
