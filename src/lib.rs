//! newswatch: watches investment-news sources and mails digests of what is new or changed.
//!
//! Data flows one way, and each stage is one module:
//! schedule → [`fetch`] → [`extract`] → [`normalise`] → [`store`] → [`notify`].
//! [`crawl`] strings the stages together for one source; [`config`] reads `sources.toml`;
//! [`archive`] reads and writes the plain-text archive format that is also the article schema.

pub mod archive;
pub mod article;
pub mod backfill;
pub mod check;
pub mod config;
pub mod crawl;
pub mod extract;
pub mod fetch;
pub mod health;
pub mod metrics;
pub mod normalise;
pub mod notify;
pub mod schedule;
pub mod search;
pub mod status;
pub mod store;

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
