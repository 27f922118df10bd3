//! Source health, as `newswatch status` (text or JSON), the daemon's `/status` page, its
//! metrics and the digest footer show it: one model, [`Status`], rendered several ways, and one
//! rule for when a source is failing, [`Health::of`]. Sinks are in the same model: what waits
//! for each, and what went wrong last.

use crate::config::Config;
use crate::crawl::Source;
use crate::notify::FailingSource;
use crate::sink::{SinkState, SinksSnapshot, cursor_name, read_snapshot};
use crate::store::{SourceState, Store, StoreError, read_status_snapshot};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// How a source is doing over its recent crawls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    NotCrawled,
    Ok,
    /// Failed its last crawls, fewer than `alert_after_failures` of them.
    Warning,
    /// Failed `alert_after_failures` crawls in a row or more.
    Failing,
}

impl Health {
    /// The one rule: a source is failing once its last `alert_after` crawls all failed (a
    /// crawl fails when its list page or feed could not be read, robots.txt unavailable
    /// included; see `CrawlReport::health`), so one blip is not noise.
    pub fn of(state: &SourceState, alert_after: u32) -> Health {
        let failures = state.consecutive_failures;
        if failures >= alert_after.max(1) {
            Health::Failing
        } else if failures > 0 {
            Health::Warning
        } else if state.last_attempt.is_none() {
            Health::NotCrawled
        } else {
            Health::Ok
        }
    }
}

/// One source's health and what is known about it.
#[derive(Debug, Clone, Serialize)]
pub struct SourceStatus {
    pub name: String,
    pub health: Health,
    /// `ok`, `not crawled yet`, `ok (1 recent failure; …)` or `FAILING (…)`.
    pub summary: String,
    pub alert_after_failures: u32,
    #[serde(flatten)]
    pub state: SourceState,
    pub next_run: Option<DateTime<Tz>>,
    pub schedule: String,
}

impl SourceStatus {
    pub fn failing(&self) -> bool {
        self.health == Health::Failing
    }
}

/// Articles waiting for one digest.
#[derive(Debug, Clone, Serialize)]
pub struct DigestStatus {
    pub name: String,
    pub pending: usize,
    /// When the last digest built was refused for good: when, and what the server said.
    pub refused: Option<String>,
}

/// How delivery into a sink is going.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SinkHealth {
    /// No command has delivered to it yet.
    NotStarted,
    Ok,
    /// Its last attempt failed; revisions wait in the store.
    Failing,
}

/// One sink: where it writes, what waits for it, what it did.
#[derive(Debug, Clone, Serialize)]
pub struct SinkStatus {
    pub name: String,
    /// The URL as configured (it holds no password).
    pub url: String,
    pub schema: String,
    pub health: SinkHealth,
    #[serde(flatten)]
    pub state: SinkState,
}

impl SinkStatus {
    pub fn failing(&self) -> bool {
        self.health == SinkHealth::Failing
    }
}

/// Every configured sink's status from `snapshot`; `pending` (and the cursor) read from `store`
/// when it is open, else as the snapshot has them.
fn sinks(config: &Config, snapshot: &SinksSnapshot, store: Option<&Store>) -> Vec<SinkStatus> {
    config
        .sinks
        .iter()
        .map(|settings| {
            let name = settings.name();
            let mut state = snapshot.sinks.get(name).cloned().unwrap_or_default();
            if let Some(store) = store {
                state.cursor = store.cursor(&cursor_name(name)).ok().flatten();
                state.pending = state
                    .cursor
                    .and_then(|c| store.journal_backlog(c).ok())
                    .unwrap_or(0);
            }
            let health = if state.failing_since.is_some() {
                SinkHealth::Failing
            } else if state.cursor.is_none() {
                SinkHealth::NotStarted
            } else {
                SinkHealth::Ok
            };
            SinkStatus {
                name: name.to_owned(),
                url: settings.url().to_owned(),
                schema: settings.schema().to_owned(),
                health,
                state,
            }
        })
        .collect()
}

/// Everything `status` and `/status` show.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// The states come from the snapshot a running daemon writes (it holds the store).
    pub from_snapshot: bool,
    /// When that snapshot was written.
    pub snapshot_written_at: Option<DateTime<Utc>>,
    pub sources: Vec<SourceStatus>,
    /// Known when the store could be read (not from a snapshot).
    pub digests: Option<Vec<DigestStatus>>,
    pub articles: Option<usize>,
    /// Every `[[sink]]`.
    pub sinks: Vec<SinkStatus>,
    /// The search index, as `status` reads it (`/sources` reads the daemon's with
    /// [`IndexStatus::of`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search: Option<IndexStatus>,
    #[serde(skip)]
    timezone: Tz,
}

/// How far search is: what is searchable, and what waits to be indexed.
#[derive(Debug, Clone, Serialize)]
pub struct IndexStatus {
    /// No index yet: the daemon builds one on start, `search` before its first search.
    pub built: bool,
    pub searchable: u64,
    /// Stored revisions not indexed yet; known when the store could be read.
    pub waiting: Option<u64>,
}

impl IndexStatus {
    /// What `reader` holds, and with `store`, what waits: the journal past the index's
    /// watermark, or during a build from the store, the articles not in it yet.
    pub fn of(reader: &crate::search::SearchReader, store: Option<&Store>) -> IndexStatus {
        let searchable = reader.len();
        let waiting = match (reader.last_indexed(), store) {
            (Ok(Some(w)), Some(store)) => store.journal_backlog(w).ok(),
            (Ok(None), Some(store)) => Some((store.len() as u64).saturating_sub(searchable)),
            _ => None,
        };
        IndexStatus {
            built: true,
            searchable,
            waiting,
        }
    }

    /// The index in `state_dir`, read while anyone writes it; `store` tells what waits.
    fn read(state_dir: &std::path::Path, store: Option<&Store>) -> IndexStatus {
        let dir = crate::search::indexer::index_dir(state_dir);
        match crate::search::SearchIndex::open_read_only(&dir) {
            Ok(index) => IndexStatus::of(&index.reader(), store),
            Err(_) => IndexStatus {
                built: false,
                searchable: 0,
                waiting: store.map(|s| s.len() as u64),
            },
        }
    }
}

/// Every configured source's status, from `states`.
pub fn sources(
    sources: &[Source],
    states: &BTreeMap<String, SourceState>,
    timezone: Tz,
) -> Vec<SourceStatus> {
    let now = Utc::now().with_timezone(&timezone);
    sources
        .iter()
        .map(|source| {
            let mut state = states.get(&source.name).cloned().unwrap_or_default();
            // Errors are recorded with credentials already dropped from their URLs; one
            // recorded by an older newswatch may still hold them.
            state.last_error = state
                .last_error
                .map(|e| crate::fetch::redact(&e).into_owned());
            let threshold = source.alert_after_failures;
            let health = Health::of(&state, threshold);
            let failures = state.consecutive_failures;
            let summary = match health {
                Health::Failing => format!("FAILING ({failures} failed crawls in a row)"),
                Health::Warning => format!(
                    "ok ({failures} recent failure{}; reported as failing after {threshold})",
                    if failures == 1 { "" } else { "s" },
                ),
                Health::NotCrawled => "not crawled yet".to_owned(),
                Health::Ok => "ok".to_owned(),
            };
            SourceStatus {
                name: source.name.clone(),
                health,
                summary,
                alert_after_failures: threshold,
                next_run: source.schedule.next_after(now),
                schedule: source.schedule.to_string(),
                state,
            }
        })
        .collect()
}

impl Status {
    /// The status from an open store (the daemon, or `status` when no daemon runs).
    pub fn from_store(config: &Config, store: &Store) -> Result<Status, StoreError> {
        let states = store.source_states()?.into_iter().collect();
        Ok(Status {
            from_snapshot: false,
            snapshot_written_at: None,
            sources: sources(&config.sources, &states, config.settings.timezone),
            digests: Some(
                config
                    .digests
                    .iter()
                    .map(|d| DigestStatus {
                        name: d.name.clone(),
                        pending: store.pending_len(&d.name),
                        refused: store.last_digest(&d.name).ok().flatten().and_then(|r| {
                            let at = r.delivery.refused_at?;
                            Some(format!(
                                "{}: {}",
                                at.with_timezone(&config.settings.timezone)
                                    .format("%Y-%m-%d %H:%M"),
                                r.last_error.unwrap_or_default()
                            ))
                        }),
                    })
                    .collect(),
            ),
            articles: Some(store.len()),
            sinks: sinks(config, &read_snapshot(store.dir()), Some(store)),
            search: None,
            timezone: config.settings.timezone,
        })
    }

    /// The status for `newswatch status`: from the store, or — while a daemon holds it — from
    /// the snapshot the daemon writes after every crawl.
    pub fn load(config: &Config) -> Result<Status, StoreError> {
        let dir = &config.settings.state_dir;
        match Store::open(dir) {
            Ok(store) => Ok(Status {
                search: Some(IndexStatus::read(dir, Some(&store))),
                ..Status::from_store(config, &store)?
            }),
            Err(StoreError::Locked { .. }) => {
                let snapshot = read_status_snapshot(dir)?.unwrap_or_default();
                Ok(Status {
                    from_snapshot: true,
                    snapshot_written_at: snapshot.written_at,
                    sources: sources(&config.sources, &snapshot.sources, config.settings.timezone),
                    digests: None,
                    articles: None,
                    sinks: sinks(config, &read_snapshot(dir), None),
                    search: Some(IndexStatus::read(dir, None)),
                    timezone: config.settings.timezone,
                })
            }
            Err(e) => Err(e),
        }
    }

    /// The sources the digest footer lists: those failing by [`Health::of`].
    pub fn failing(&self) -> Vec<FailingSource> {
        self.sources
            .iter()
            .filter(|s| s.failing())
            .map(|s| FailingSource {
                source: s.name.clone(),
                failures: s.state.consecutive_failures,
                last_error: s.state.last_error.clone().unwrap_or_default(),
                last_success: s.state.last_success.map_or("never".into(), |t| {
                    t.with_timezone(&self.timezone)
                        .format("%Y-%m-%d")
                        .to_string()
                }),
            })
            .collect()
    }

    /// A time in the configured zone, or `never`.
    pub fn time(&self, t: Option<DateTime<Utc>>) -> String {
        t.map_or("never".to_owned(), |t| {
            t.with_timezone(&self.timezone)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
    }

    fn next_run(s: &SourceStatus) -> String {
        s.next_run.map_or("unknown".to_owned(), |t| {
            t.format("%Y-%m-%d %H:%M:%S").to_string()
        })
    }

    /// The text `newswatch status` prints.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        if self.from_snapshot {
            let _ = writeln!(
                out,
                "(the daemon holds the store; snapshot written {})",
                self.time(self.snapshot_written_at)
            );
        }
        for s in &self.sources {
            let st = &s.state;
            let _ = writeln!(out, "{}", s.name);
            let _ = writeln!(out, "  health:               {}", s.summary);
            let _ = writeln!(
                out,
                "  last attempt:         {}",
                self.time(st.last_attempt)
            );
            let _ = writeln!(
                out,
                "  last success:         {}",
                self.time(st.last_success)
            );
            let _ = writeln!(out, "  consecutive failures: {}", st.consecutive_failures);
            let _ = writeln!(out, "  errors counted:       {}", st.errors_total);
            let _ = writeln!(
                out,
                "  last error:           {}",
                st.last_error.as_deref().unwrap_or("none")
            );
            let _ = writeln!(out, "  articles stored:      {}", st.articles_stored);
            let _ = writeln!(
                out,
                "  next run:             {} ({})",
                Self::next_run(s),
                s.schedule
            );
        }
        for d in self.digests.iter().flatten() {
            let _ = writeln!(out, "digest {}: {} waiting", d.name, d.pending);
            if let Some(refused) = &d.refused {
                let _ = writeln!(out, "  last digest refused for good at {refused}");
            }
        }
        if let Some(ix) = &self.search {
            let waiting = match ix.waiting {
                Some(0) => String::new(),
                Some(n) => format!(", {n} waiting to be indexed"),
                None => String::new(),
            };
            let line = if ix.built {
                format!("{} articles searchable{waiting}", ix.searchable)
            } else {
                format!(
                    "not built yet{waiting} (the daemon builds it on start; `search` or `reindex` without one)"
                )
            };
            let _ = writeln!(out, "search index: {line}");
        }
        for s in &self.sinks {
            let st = &s.state;
            let _ = writeln!(out, "sink {} ({}, schema {})", s.name, s.url, s.schema);
            let health = match s.health {
                SinkHealth::Ok => "ok".to_owned(),
                SinkHealth::NotStarted => "not started (no crawl or daemon has run with it)".into(),
                SinkHealth::Failing => format!(
                    "FAILING since {} ({})",
                    self.time(st.failing_since),
                    st.last_error.as_ref().map_or("", |f| f.kind.as_str())
                ),
            };
            let _ = writeln!(out, "  health:               {health}");
            let _ = writeln!(out, "  waiting:              {} revisions", st.pending);
            let _ = writeln!(
                out,
                "  last delivery:        {}",
                self.time(st.last_delivery)
            );
            let _ = writeln!(
                out,
                "  last error:           {}",
                st.last_error
                    .as_ref()
                    .map_or("none".to_owned(), |f| format!(
                        "{}: {}",
                        self.time(Some(f.at)),
                        f.message
                    ))
            );
            let _ = writeln!(
                out,
                "  rows:                 {} added, {} already there, {} revisions no longer kept",
                st.inserted_total, st.duplicates_total, st.skipped_total
            );
        }
        out
    }

    /// The daemon's `/status` page: a small HTML table.
    pub fn render_html(&self) -> String {
        let esc = crate::escape_html;
        let mut rows = String::new();
        for s in &self.sources {
            let colour = match s.health {
                Health::Failing => "#fde2e1",
                Health::Warning => "#fef3c7",
                Health::Ok | Health::NotCrawled => "#ffffff",
            };
            let _ = writeln!(
                rows,
                "<tr style=\"background:{colour}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&s.name),
                esc(&s.summary),
                self.time(s.state.last_success),
                s.state.articles_stored,
                esc(&Self::next_run(s)),
                s.state.errors_total,
                esc(s.state.last_error.as_deref().unwrap_or("")),
            );
        }
        let digests: String = self
            .digests
            .iter()
            .flatten()
            .map(|d| format!("<li>{}: {} waiting</li>", esc(&d.name), d.pending))
            .chain(self.sinks.iter().map(|s| {
                let error = match (&s.health, &s.state.last_error) {
                    (SinkHealth::Failing, Some(f)) => format!(
                        " — <strong>failing since {}</strong>: {}",
                        self.time(s.state.failing_since),
                        esc(&f.message)
                    ),
                    _ => String::new(),
                };
                format!(
                    "<li>sink {}: {} revisions waiting, last delivery {}{error}</li>",
                    esc(&s.name),
                    s.state.pending,
                    self.time(s.state.last_delivery)
                )
            }))
            .collect();
        let articles = self
            .articles
            .map_or(String::new(), |n| format!(", {n} articles stored"));
        format!(
            "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>newswatch status</title>\
             <style>body{{font-family:sans-serif;margin:2em;color:#1f2328}}table{{border-collapse:collapse}}\
             td,th{{border:1px solid #d0d7de;padding:4px 8px;text-align:left;font-size:14px}}</style></head><body>\
             <h1>newswatch</h1><p>{} sources{articles}</p><ul>{digests}</ul>\
             <table><tr><th>source</th><th>health</th><th>last success</th><th>stored</th><th>next run</th>\
             <th>errors</th><th>last error</th></tr>\n{rows}</table></body></html>",
            self.sources.len(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failing_only_after_the_threshold() {
        let mut state = SourceState::default();
        assert_eq!(Health::of(&state, 3), Health::NotCrawled);
        state.last_attempt = Some(Utc::now());
        assert_eq!(Health::of(&state, 3), Health::Ok);
        state.consecutive_failures = 2;
        assert_eq!(Health::of(&state, 3), Health::Warning);
        state.consecutive_failures = 3;
        assert_eq!(Health::of(&state, 3), Health::Failing);
        assert_eq!(
            Health::of(&SourceState::default(), 0),
            Health::NotCrawled,
            "a zero threshold never makes a source that has not failed fail"
        );
    }
}
