//! Config: read `sources.toml`, check it, and assemble each stage's settings from it.
//!
//! Three steps: a serde pass into raw tables ([`raw`]); one pure check per table ([`check`]),
//! which builds the stages' own settings types (`crawl::Source`, `fetch::FetchSettings`,
//! `notify::DigestSettings` …); then resolution ([`resolve`]) of what the file names outside
//! itself — secrets and template folders. Every default is in [`defaults::DEFAULTS`]. Every
//! problem is reported with the file, line and key (and source or digest name), all at once;
//! a config that loads is fully checked.

pub mod check;
pub mod defaults;
pub mod raw;
pub mod resolve;

pub use defaults::DEFAULTS;
pub use resolve::{SMTP_PASSWORD_ENV, WEB_TOKEN_ENV};

use crate::crawl::Source;
use crate::fetch::FetchSettings;
use crate::notify::{DigestSettings, Secret};
use crate::signals::Extractor;
use crate::sink::SinkSettings;
use chrono_tz::Tz;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

/// One problem in a config file, at a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub message: String,
}

/// Why a config could not be used.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{path}: cannot read config")]
    Read {
        path: PathBuf,
        #[source]
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

/// The whole checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    pub settings: Settings,
    /// Every digest: `[digest]`/`[[digest]]` mails and `[[notify]]` chat posts.
    pub digests: Vec<DigestSettings>,
    pub sources: Vec<Source>,
    /// Finds the investment signals of articles: the built-in dictionaries plus `[signals]`.
    /// The store, routing and `extract` share it.
    pub extractor: Arc<Extractor>,
    /// Every `[[sink]]`, in config order.
    pub sinks: Vec<SinkSettings>,
}

/// `[settings]` that belong to the process rather than to one stage.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Absolute, or relative to the working directory (already resolved against the config folder).
    pub state_dir: PathBuf,
    pub timezone: Tz,
    /// Fetch settings for pages fetched outside any source (`extract URL`).
    pub fetch: FetchSettings,
    /// At most this many requests in flight at once, over all hosts.
    pub concurrency: usize,
    /// First wait before retrying a digest whose send failed; doubled each time.
    pub digest_retry: Duration,
    /// Overdue crawls at start-up are spread at random over this long.
    pub startup_spread: Duration,
    /// Where the daemon serves `/healthz`, `/metrics`, `/status` and the web pages; off when
    /// `None`.
    pub listen: Option<std::net::SocketAddr>,
    /// The name this instance writes into its sinks' `instance` column: `[settings] instance`,
    /// else the host's name.
    pub instance: String,
    /// The web pages' token, templates and public address.
    pub web: WebSettings,
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
        let raw = raw::read(text).map_err(|e| {
            let line = e.span().map_or(1, |s| lines.at(s.start));
            invalid(vec![Problem {
                line,
                message: e.message().trim().to_owned(),
            }])
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut problems = check::Problems::default();

        let (mut settings, defaults) = check::settings(&raw.settings, base, &mut problems);
        if settings.instance.is_empty() {
            settings.instance = resolve::instance(!raw.sink.is_empty(), &mut problems);
        }
        resolve::web_token(&raw.settings, base, &mut settings, &mut problems);
        let named_badly = problems
            .0
            .iter()
            .any(|(_, m)| m.starts_with("[settings] state_dir"));
        if !named_badly {
            // At the key, or at the top of the file for the default.
            let span = raw.settings.state_dir.as_ref().map_or(0..0, |s| s.span());
            resolve::state_dir(&settings.state_dir, span, &mut problems);
        }
        let mut names = HashSet::new();
        let mut sources: Vec<Source> = raw
            .source
            .iter()
            .filter_map(|s| {
                let line = lines.at(s.span().start);
                check::source(s.get_ref(), line, &defaults, &mut names, &mut problems)
            })
            .collect();
        // Each source leaves the other sources' hosts to them.
        let sites: Vec<(String, String)> = sources
            .iter()
            .filter_map(|s| Some((s.fetch.scope.site()?.to_owned(), s.name.clone())))
            .collect();
        for source in &mut sources {
            let others = sites.iter().filter(|(_, name)| *name != source.name);
            source.fetch.scope.set_others(others.cloned());
        }

        let extractor = check::signals(raw.signals.as_ref(), &mut problems);
        let mut digest_names = HashSet::new();
        let single = raw.digest.len() == 1;
        let mut drafts: Vec<check::DigestDraft> = raw
            .digest
            .iter()
            .filter_map(|d| {
                check::mail_digest(
                    d.get_ref(),
                    single,
                    base,
                    &mut digest_names,
                    &names,
                    &extractor,
                    &mut problems,
                )
            })
            .collect();
        // Chat digests without a schedule follow the first mail digest's.
        let first_schedule = raw
            .digest
            .iter()
            .find_map(|d| crate::schedule::Schedule::parse(d.get_ref().schedule.get_ref()).ok());
        drafts.extend(raw.notify.iter().filter_map(|n| {
            check::chat_digest(
                n.get_ref(),
                base,
                first_schedule.as_ref(),
                &mut digest_names,
                &names,
                &extractor,
                &mut problems,
            )
        }));
        let mut digests = resolve::digests(drafts, &mut problems);
        for d in &mut digests {
            d.public_url = settings.web.public_url.clone();
        }

        let mut sink_names = HashSet::new();
        let mut variables = HashSet::new();
        let sink_drafts: Vec<check::SinkDraft> = raw
            .sink
            .iter()
            .filter_map(|s| {
                check::sink(
                    s.get_ref(),
                    base,
                    &mut sink_names,
                    &mut variables,
                    &mut problems,
                )
            })
            .collect();
        let sinks = resolve::sinks(sink_drafts, &mut problems);

        if problems.is_empty() {
            return Ok(Config {
                path: path.to_owned(),
                settings,
                digests,
                sources,
                extractor,
                sinks,
            });
        }
        let mut problems: Vec<Problem> = problems
            .0
            .into_iter()
            .map(|(span, message)| Problem {
                line: lines.at(span.start),
                message,
            })
            .collect();
        problems.sort_by_key(|p| p.line);
        Err(invalid(problems))
    }

    /// The sources named, in config order; an unknown name is an error naming it.
    pub fn select_sources(&self, names: &[String]) -> Result<Vec<&Source>, String> {
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
    use crate::crawl::SourceKind;
    use crate::notify::{Channel, Secret};

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
            matches!(&c.digests[0].channel, Channel::Mail(e) if e.smtp.is_none() && e.to.len() == 1)
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
    fn signal_filters_and_language_are_checked_and_assembled() {
        let text = GOOD.replace(
            "to = [\"a@example.org\"]",
            "to = [\"a@example.org\"]\nmin_amount = \"10亿元\"\nstages = [\"签约\", \"groundbreaking\"]\nregions = [\"武汉\"]\nindustries = [\"芯片\", \"低空飞行\"]\nlanguage = \"en\"",
        ) + "\n[signals]\nindustries = { \"低空经济\" = [\"低空飞行\"] }\nregions = { \"花山生态新城\" = [\"花山新城\"] }\n";
        let c = Config::parse(&text, Path::new("/etc/nw/sources.toml"))
            .unwrap_or_else(|e| panic!("{e}"));
        let d = &c.digests[0];
        assert_eq!(d.language, crate::notify::Language::En);
        let f = &d.filter.signals;
        assert_eq!(f.min_amount.as_ref().map(|a| a.amount), Some(1e9));
        assert_eq!(
            f.stages,
            [
                crate::signals::Stage::Signing,
                crate::signals::Stage::Groundbreaking
            ]
        );
        assert!(
            f.regions.contains("武汉市") && f.regions.contains("东湖高新区"),
            "a city takes its districts: {:?}",
            f.regions
        );
        assert!(!f.regions.contains("北京市"));
        assert_eq!(
            f.industries.iter().map(String::as_str).collect::<Vec<_>>(),
            ["低空经济", "集成电路"],
            "aliases read as their industry, [signals] ones too"
        );
        assert_eq!(
            c.extractor.region("花山新城"),
            Some("花山生态新城"),
            "[signals] reaches the extractor"
        );

        let bad = text
            .replace("\"10亿元\"", "\"十来个亿\"")
            .replace("\"签约\"", "\"签字\"")
            .replace("[\"武汉\"]", "[\"火星\"]")
            .replace("language = \"en\"", "language = \"fr\"");
        let msg = problems(&bad);
        for expected in [
            "sources.toml:9: digest \"digest\": min_amount: \"十来个亿\" is not an amount",
            "sources.toml:10: digest \"digest\": stages: unknown stage \"签字\"",
            "sources.toml:11: digest \"digest\": regions: unknown region \"火星\"",
            "sources.toml:13: digest \"digest\": language: \"fr\" is not a digest language",
        ] {
            assert!(msg.contains(expected), "{expected}: {msg}");
        }
        let one_char = text.replace("[\"花山新城\"]", "[\"花\"]");
        assert!(
            problems(&one_char)
                .contains("[signals] regions: \"花山生态新城\": alias \"花\" is one character"),
            "{}",
            problems(&one_char)
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
        let Channel::Mail(e) = &c.digests[0].channel else {
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

    /// The 1-based line of the first occurrence of `needle` in `text`.
    fn line_of(text: &str, needle: &str) -> usize {
        let at = text
            .find(needle)
            .unwrap_or_else(|| panic!("{needle:?} not in text"));
        text[..at].matches('\n').count() + 1
    }

    #[test]
    fn sinks_are_checked_and_read_their_passwords_from_a_file() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let _ = std::fs::write(tmp.path().join("pg.secret"), "s3cret-pw\n");
        let text = format!(
            "{}\n[[sink]]\nname = \"team-pg\"\nkind = \"postgres\"\nurl = \"postgres://nw@db.example/news?sslmode=verify-full\"\npassword_file = \"pg.secret\"\nschema = \"newswatch\"\n",
            GOOD.replace(
                "state_dir = \"st\"",
                "state_dir = \"st\"\ninstance = \"wuhan-1\""
            )
        );
        let path = tmp.path().join("sources.toml");
        let c = Config::parse(&text, &path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.settings.instance, "wuhan-1");
        assert_eq!(c.sinks.len(), 1);
        let sink = &c.sinks[0];
        assert_eq!(
            (sink.name(), sink.schema(), sink.has_password()),
            ("team-pg", "newswatch", true)
        );
        assert!(
            !format!("{c:?}").contains("s3cret-pw"),
            "Debug output hides the password"
        );

        // The instance defaults to the host's name.
        let unnamed = Config::parse(&text.replace("instance = \"wuhan-1\"\n", ""), &path)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!unnamed.settings.instance.is_empty());

        let bad = format!(
            "{text}\n[[sink]]\nname = \"team-pg\"\nkind = \"mysql\"\nurl = \"postgres://nw@db/x\"\n\n\
             [[sink]]\nname = \"pw-in-url\"\nkind = \"postgres\"\nurl = \"postgres://nw:hunter2@db/x\"\n\n\
             [[sink]]\nname = \"no-file\"\nkind = \"postgres\"\nurl = \"postgres://nw@db/x\"\npassword_file = \"missing.secret\"\n\n\
             [[sink]]\nname = \"team_pg\"\nkind = \"postgres\"\nurl = \"postgres://nw@db/x\"\nschema = \"Bad\"\n"
        )
        .replace("instance = \"wuhan-1\"", "instance = \"武汉 1\"");
        let msg = match Config::parse(&bad, &path) {
            Ok(_) => panic!("accepted"),
            Err(e) => e.to_string(),
        };
        let at = |needle: &str, nth: usize| {
            let offset = bad
                .match_indices(needle)
                .nth(nth - 1)
                .map_or_else(|| panic!("{needle:?} #{nth} not in text"), |(i, _)| i);
            bad[..offset].matches('\n').count() + 1
        };
        let file = path.display();
        for want in [
            format!(
                "{file}:{}: [settings] instance \"武汉 1\"",
                line_of(&bad, "instance =")
            ),
            format!(
                "{file}:{}: sink \"team-pg\": name: duplicate sink name",
                at("name = \"team-pg\"", 2)
            ),
            format!(
                "{file}:{}: sink \"team-pg\": kind: unknown kind \"mysql\"",
                line_of(&bad, "kind = \"mysql\"")
            ),
            format!(
                "{file}:{}: sink \"pw-in-url\": url: holds a password",
                line_of(&bad, "hunter2")
            ),
            format!(
                "{file}:{}: sink \"no-file\": cannot read",
                line_of(&bad, "missing.secret")
            ),
            format!(
                "{file}:{}: sink \"team_pg\": name: another sink's name maps to the same password variable NEWSWATCH_SINK_TEAM_PG_PASSWORD",
                line_of(&bad, "name = \"team_pg\"")
            ),
        ] {
            assert!(msg.contains(&want), "{want}\nnot in:\n{msg}");
        }
        assert!(
            msg.contains(&format!(
                "{file}:{}: sink \"team_pg\": schema \"Bad\": use lower-case",
                line_of(&bad, "schema = \"Bad\"")
            )),
            "{msg}"
        );
        assert!(!msg.contains("hunter2"), "{msg}");
    }

    #[test]
    fn digest_caps_default_per_channel_and_must_be_positive() {
        let text = format!(
            "{GOOD}\n[[notify]]\nname = \"team\"\nkind = \"wecom\"\nurl = \"https://qyapi.weixin.qq.com/x?key=k\"\n"
        );
        let c = Config::parse(&text, Path::new("/etc/nw/sources.toml"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.digests[0].limits.max_items, DEFAULTS.mail_max_items);
        assert_eq!(c.digests[1].limits.max_bytes, DEFAULTS.chat_max_bytes);
        assert!(
            matches!(&c.digests[1].channel, Channel::Chat(chat) if chat.pace == chat.kind.pace())
        );
        let set = text.replace(
            "to = [\"a@example.org\"]",
            "to = [\"a@example.org\"]\nmax_items = 30\nmax_bytes = 0",
        );
        let msg = problems(&set);
        assert!(
            msg.contains("digest \"digest\": max_bytes: must be at least 1"),
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

/// The web pages' settings (`[settings]` keys).
#[derive(Debug, Clone, Default)]
pub struct WebSettings {
    /// Required with every request but `/healthz` when set (always set when `listen` is
    /// beyond loopback).
    pub token: Option<Secret>,
    /// Where readers reach the pages (`https://news.example.org`, no trailing slash).
    pub public_url: Option<String>,
    /// A folder whose files override the built-in page templates of the same name.
    pub templates: Option<std::path::PathBuf>,
}
