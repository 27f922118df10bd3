//! The serde pass: `sources.toml` as written, every value with its place in the file. Nothing
//! here is checked beyond its TOML type; unknown keys are refused so a typo never silently
//! does nothing.
//!
//! To add a key: a field here, a check in `check.rs`, a field in the stage's settings type.
//! To add a table: a `Raw…` struct here and a field in [`RawConfig`], a `check::…` function.

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

/// The whole file. `D` is the `digest` key: one `[digest]` table or `[[digest]]` tables.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig<D> {
    #[serde(default)]
    pub settings: RawSettings,
    pub digest: D,
    #[serde(default)]
    pub notify: Vec<Spanned<RawChat>>,
    #[serde(default)]
    pub source: Vec<Spanned<RawSource>>,
    /// `[signals]`: additions to the signal dictionaries; the signals stage's own type.
    pub signals: Option<Spanned<crate::signals::SignalSettings>>,
    #[serde(default)]
    pub sink: Vec<Spanned<RawSink>>,
}

/// Reads `text` into raw tables. `[digest]` (one table) and `[[digest]]` (several) both work.
pub fn read(text: &str) -> Result<RawConfig<Vec<Spanned<RawDigest>>>, toml::de::Error> {
    let many = toml::from_str::<toml::Table>(text)?
        .get("digest")
        .is_some_and(toml::Value::is_array);
    if many {
        return toml::from_str(text);
    }
    let one: RawConfig<Option<Spanned<RawDigest>>> = toml::from_str(text)?;
    Ok(RawConfig {
        settings: one.settings,
        digest: one.digest.into_iter().collect(),
        notify: one.notify,
        source: one.source,
        signals: one.signals,
        sink: one.sink,
    })
}

/// Declares a raw table with the fetch keys that both `[settings]` and `[[source]]` accept, so
/// the two stay in step and one function checks them.
macro_rules! with_fetch_keys {
    ($(#[$meta:meta])* pub struct $name:ident { $(pub $field:ident : $ty:ty,)* }) => {
        $(#[$meta])*
        pub struct $name {
            $(pub $field: $ty,)*
            pub user_agent: Option<Spanned<String>>,
            pub request_timeout_secs: Option<Spanned<u64>>,
            pub max_body_bytes: Option<Spanned<u64>>,
            pub max_retries: Option<Spanned<u32>>,
            pub per_host_concurrency: Option<Spanned<usize>>,
            pub per_host_delay_ms: Option<Spanned<u64>>,
            pub proxy: Option<Spanned<String>>,
            pub headers: Option<Spanned<BTreeMap<String, String>>>,
        }

        impl $name {
            pub fn fetch_keys(&self) -> FetchKeys<'_> {
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

/// The fetch keys of one table.
pub struct FetchKeys<'a> {
    pub user_agent: Option<&'a Spanned<String>>,
    pub request_timeout_secs: Option<&'a Spanned<u64>>,
    pub max_body_bytes: Option<&'a Spanned<u64>>,
    pub max_retries: Option<&'a Spanned<u32>>,
    pub per_host_concurrency: Option<&'a Spanned<usize>>,
    pub per_host_delay_ms: Option<&'a Spanned<u64>>,
    pub proxy: Option<&'a Spanned<String>>,
    pub headers: Option<&'a Spanned<BTreeMap<String, String>>>,
}

with_fetch_keys! {
    /// `[settings]`.
    #[derive(Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    pub struct RawSettings {
        pub state_dir: Option<Spanned<String>>,
        pub timezone: Option<Spanned<String>>,
        pub concurrency: Option<Spanned<usize>>,
        pub max_articles: Option<Spanned<usize>>,
        pub recheck_days: Option<Spanned<u32>>,
        pub max_revisions: Option<Spanned<u32>>,
        pub digest_retry_secs: Option<Spanned<u64>>,
        pub alert_after_failures: Option<Spanned<u32>>,
        pub startup_spread_secs: Option<Spanned<u64>>,
        pub listen: Option<Spanned<String>>,
        pub instance: Option<Spanned<String>>,
        pub web_token_file: Option<Spanned<String>>,
        pub public_url: Option<Spanned<String>>,
        pub web_templates: Option<Spanned<String>>,
    }
}

with_fetch_keys! {
    /// One `[[source]]`.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct RawSource {
        pub name: Spanned<String>,
        pub kind: Option<Spanned<String>>,
        pub url: Spanned<String>,
        pub schedule: Spanned<String>,
        pub links: Option<Spanned<String>>,
        pub next: Option<Spanned<String>>,
        pub max_pages: Option<Spanned<usize>>,
        pub full_text: Option<Spanned<bool>>,
        pub max_articles: Option<Spanned<usize>>,
        pub recheck_days: Option<Spanned<u32>>,
        pub max_revisions: Option<Spanned<u32>>,
        pub alert_after_failures: Option<Spanned<u32>>,
        pub title: Option<Spanned<String>>,
        pub body: Option<Spanned<String>>,
        pub date: Option<Spanned<String>>,
        pub encoding: Option<Spanned<String>>,
        pub allowed_hosts: Option<Spanned<Vec<String>>>,
    }
}

/// `[digest]` or one `[[digest]]`: a digest sent by mail.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDigest {
    pub name: Option<Spanned<String>>,
    pub schedule: Spanned<String>,
    pub from: Spanned<String>,
    pub to: Spanned<OneOrMany>,
    pub smtp: Option<Spanned<String>>,
    pub smtp_password_file: Option<Spanned<String>>,
    pub templates: Option<Spanned<String>>,
    pub sources: Option<Spanned<Vec<String>>>,
    pub keywords: Option<Spanned<Vec<String>>>,
    pub exclude: Option<Spanned<Vec<String>>>,
    pub min_amount: Option<Spanned<String>>,
    pub stages: Option<Spanned<Vec<String>>>,
    pub regions: Option<Spanned<Vec<String>>>,
    pub industries: Option<Spanned<Vec<String>>>,
    pub language: Option<Spanned<String>>,
    pub max_items: Option<Spanned<usize>>,
    pub max_bytes: Option<Spanned<usize>>,
    pub allow_insecure_auth: Option<Spanned<bool>>,
}

/// One `[[notify]]`: a digest posted to a group-chat robot.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawChat {
    pub name: Spanned<String>,
    pub kind: Spanned<String>,
    pub url: Option<Spanned<String>>,
    pub url_env: Option<Spanned<String>>,
    pub secret_env: Option<Spanned<String>>,
    pub secret_file: Option<Spanned<String>>,
    pub schedule: Option<Spanned<String>>,
    pub templates: Option<Spanned<String>>,
    pub sources: Option<Spanned<Vec<String>>>,
    pub keywords: Option<Spanned<Vec<String>>>,
    pub exclude: Option<Spanned<Vec<String>>>,
    pub min_amount: Option<Spanned<String>>,
    pub stages: Option<Spanned<Vec<String>>>,
    pub regions: Option<Spanned<Vec<String>>>,
    pub industries: Option<Spanned<Vec<String>>>,
    pub language: Option<Spanned<String>>,
    pub max_items: Option<Spanned<usize>>,
    pub max_bytes: Option<Spanned<usize>>,
}

/// The filter keys `[digest]` and `[[notify]]` share.
pub struct FilterKeys<'a> {
    pub sources: &'a Option<Spanned<Vec<String>>>,
    pub keywords: &'a Option<Spanned<Vec<String>>>,
    pub exclude: &'a Option<Spanned<Vec<String>>>,
    pub min_amount: &'a Option<Spanned<String>>,
    pub stages: &'a Option<Spanned<Vec<String>>>,
    pub regions: &'a Option<Spanned<Vec<String>>>,
    pub industries: &'a Option<Spanned<Vec<String>>>,
}

macro_rules! filter_keys {
    ($t:ty) => {
        impl $t {
            pub fn filter_keys(&self) -> FilterKeys<'_> {
                FilterKeys {
                    sources: &self.sources,
                    keywords: &self.keywords,
                    exclude: &self.exclude,
                    min_amount: &self.min_amount,
                    stages: &self.stages,
                    regions: &self.regions,
                    industries: &self.industries,
                }
            }
        }
    };
}

filter_keys!(RawDigest);
filter_keys!(RawChat);

/// One `[[sink]]`: a database that every stored revision is copied into.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSink {
    pub name: Spanned<String>,
    pub kind: Spanned<String>,
    pub url: Spanned<String>,
    pub password_file: Option<Spanned<String>>,
    pub schema: Option<Spanned<String>>,
}

/// A value that may be one string or a list of them (`to = "a@b"` or `to = ["a@b", …]`).
#[derive(Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}
