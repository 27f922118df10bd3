//! Every default of `sources.toml`, in one table: what a key is when the file leaves it out.

use crate::fetch::FetchSettings;
use chrono_tz::Tz;
use std::time::Duration;

/// The defaults, by key.
pub struct Defaults {
    /// `[settings] state_dir`, relative to the config file's folder.
    pub state_dir: &'static str,
    pub timezone: Tz,
    pub concurrency: usize,
    pub max_articles: usize,
    pub recheck_days: u32,
    pub max_revisions: u32,
    pub digest_retry_secs: u64,
    pub alert_after_failures: u32,
    pub startup_spread_secs: u64,
    /// `[[source]] max_pages`: list pages read per crawl. Paging stops earlier at a list page
    /// that brings no link not already known, so a regular crawl reads one or two.
    pub max_pages: usize,
    /// The name of a digest when there is only one and it has none.
    pub digest_name: &'static str,
    /// Names newswatch and its version so site operators can reach us.
    pub user_agent: &'static str,
    pub request_timeout_secs: u64,
    pub max_body_bytes: usize,
    pub max_retries: u32,
    pub per_host_concurrency: usize,
    pub per_host_delay_ms: u64,
    /// `[digest] max_items` / `max_bytes`: a mail of 200 articles is a long morning read, and
    /// 1 MB of text and HTML stays far below the 10 MB most mail servers accept even after
    /// MIME encoding (up to 3× for Chinese text in quoted-printable).
    pub mail_max_items: usize,
    pub mail_max_bytes: usize,
    /// `[[notify]] max_items` / `max_bytes`: 64 KiB is about 16 WeCom messages, under a
    /// minute of the robot's 20-a-minute limit.
    pub chat_max_items: usize,
    pub chat_max_bytes: usize,
}

pub const DEFAULTS: Defaults = Defaults {
    state_dir: "state",
    timezone: chrono_tz::Asia::Shanghai,
    concurrency: 8,
    max_articles: 100,
    recheck_days: 7,
    max_revisions: 10,
    digest_retry_secs: 60,
    alert_after_failures: 3,
    startup_spread_secs: 120,
    max_pages: 5,
    digest_name: "digest",
    user_agent: concat!(
        "newswatch/",
        env!("CARGO_PKG_VERSION"),
        " (+https://github.com/newswatch/newswatch)"
    ),
    request_timeout_secs: 30,
    max_body_bytes: 10 * 1024 * 1024,
    max_retries: 2,
    per_host_concurrency: 1,
    per_host_delay_ms: 1000,
    mail_max_items: 200,
    mail_max_bytes: 1_000_000,
    chat_max_items: 50,
    chat_max_bytes: 64 * 1024,
};

impl Defaults {
    /// The fetch settings of a source whose config sets none.
    pub fn fetch(&self) -> FetchSettings {
        FetchSettings {
            user_agent: self.user_agent.to_owned(),
            timeout: Duration::from_secs(self.request_timeout_secs),
            max_body_bytes: self.max_body_bytes,
            max_retries: self.max_retries,
            per_host_concurrency: self.per_host_concurrency,
            per_host_delay: Duration::from_millis(self.per_host_delay_ms),
            proxy: None,
            headers: reqwest::header::HeaderMap::new(),
            scope: crate::fetch::Scope::default(),
        }
    }
}
