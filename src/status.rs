//! Source health, as `newswatch status` and the daemon's `/status` page show it.

use crate::config::Config;
use crate::store::{SourceState, Store, StoreError, read_status_snapshot};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// One source's health and what is known about it.
#[derive(Debug, Clone)]
pub struct SourceStatus {
    pub name: String,
    pub state: SourceState,
    /// `ok`, `not crawled yet`, `ok (1 recent failure; …)` or `FAILING (…)`.
    pub health: String,
    /// At or past `alert_after_failures`.
    pub failing: bool,
    pub next_run: Option<String>,
    pub schedule: String,
}

/// Every configured source's status, from `states`.
pub fn collect(config: &Config, states: &BTreeMap<String, SourceState>) -> Vec<SourceStatus> {
    let tz = config.settings.timezone;
    let now = Utc::now().with_timezone(&tz);
    config
        .sources
        .iter()
        .map(|source| {
            let state = states.get(&source.name).cloned().unwrap_or_default();
            let failures = state.consecutive_failures;
            let failing = failures >= source.alert_after_failures;
            let health = if failing {
                format!("FAILING ({failures} failed crawls in a row)")
            } else if failures > 0 {
                format!(
                    "ok ({failures} recent failure{}; reported as failing after {})",
                    if failures == 1 { "" } else { "s" },
                    source.alert_after_failures
                )
            } else if state.last_attempt.is_none() {
                "not crawled yet".to_owned()
            } else {
                "ok".to_owned()
            };
            SourceStatus {
                name: source.name.clone(),
                health,
                failing,
                next_run: source
                    .schedule
                    .next_after(now)
                    .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string()),
                schedule: source.schedule.to_string(),
                state,
            }
        })
        .collect()
}

/// Source states from the store, or — while a daemon holds it — from the snapshot the daemon
/// writes after every crawl, with a note saying so.
pub fn load_states(
    config: &Config,
) -> Result<(BTreeMap<String, SourceState>, Option<String>), StoreError> {
    let dir = &config.settings.state_dir;
    match Store::open(dir) {
        Ok(store) => Ok((store.source_states()?.into_iter().collect(), None)),
        Err(StoreError::Locked { .. }) => {
            let snapshot = read_status_snapshot(dir)?.unwrap_or_default();
            let when = snapshot
                .written_at
                .map_or("never".into(), |t| format_time(config, Some(t)));
            Ok((
                snapshot.sources,
                Some(format!(
                    "(the daemon holds the store; snapshot written {when})"
                )),
            ))
        }
        Err(e) => Err(e),
    }
}

/// A time in the configured zone, or `never`.
pub fn format_time(config: &Config, t: Option<DateTime<Utc>>) -> String {
    t.map_or("never".to_owned(), |t| {
        t.with_timezone(&config.settings.timezone)
            .format("%Y-%m-%d %H:%M")
            .to_string()
    })
}
