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
pub mod status;
pub mod store;
