//! newswatch: watches investment-news sources and mails digests of what is new or changed.
//!
//! Data flows one way, and each stage is one module that imports only earlier ones:
//! [`schedule`] → [`fetch`] → [`extract`] → [`normalise`] → [`store`] → [`sink`] → [`notify`].
//! [`article`] and [`normalise`] are the schema every stage shares: the record and its normal
//! form. Each stage owns its settings types; [`config`] reads `sources.toml`, checks it and
//! assembles them. Above the stages: [`crawl`] strings them together for one source and reports
//! typed outcomes; [`backfill`] imports the [`archive`] format; [`check`], [`status`],
//! [`metrics`] and [`health`] serve the operator; [`report`] tabulates the stored signals; [`daemon`] runs everything on its schedule;
//! [`cli`] holds the commands `main.rs` parses and prints. `tests/layers.rs` keeps these rules.

pub mod archive;
pub mod article;
pub mod backfill;
pub mod check;
pub mod cli;
pub mod config;
pub mod crawl;
pub mod daemon;
pub mod extract;
pub mod fetch;
pub mod health;
pub mod metrics;
pub mod normalise;
pub mod notify;
pub mod report;
pub mod schedule;
pub mod search;
pub mod signals;
pub mod sink;
pub mod status;
pub mod store;
pub mod web;

/// An error with its whole cause chain: reqwest's and lettre's top-level messages are generic
/// ("error sending request"), the causes say what really happened. Causes already quoted by
/// the message above them are not repeated.
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut reason = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !reason.contains(&text) {
            reason.push_str(": ");
            reason.push_str(&text);
        }
        source = s.source();
    }
    reason
}

/// How long a URL may be in a message or a log line, in characters.
pub(crate) const SHOWN_URL_CHARS: usize = 200;

/// `url` as messages and logs show it: whole up to [`SHOWN_URL_CHARS`] characters, else its
/// opening and its end around what was left out, so a 100 KB link cannot flood a terminal, a log,
/// `status` or a source's last error in the store.
pub(crate) fn short_url(url: &str) -> std::borrow::Cow<'_, str> {
    let chars = url.chars().count();
    if chars <= SHOWN_URL_CHARS {
        return url.into();
    }
    const TAIL: usize = 30;
    let head: String = url.chars().take(SHOWN_URL_CHARS - TAIL).collect();
    let tail: String = url.chars().skip(chars - TAIL).collect();
    let cut = chars - SHOWN_URL_CHARS + TAIL;
    format!("{head}…({cut} characters left out)…{tail}").into()
}

/// `s` escaped for HTML text and attribute values.
pub(crate) fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            '/' => out.push_str("&#x2f;"),
            c => out.push(c),
        }
    }
    out
}
