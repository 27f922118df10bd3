//! Schedule: the daemon. Runs each source's crawl and the digest on their cron schedules until
//! asked to stop.
//!
//! The scheduler starts a job again when its next tick comes even if the last run has not
//! finished, so every job holds a per-job lock and skips a tick while still busy. On shutdown,
//! in-flight work is abandoned at its next await point — safe, because each article is stored and
//! queued in one transaction — and the store is flushed before returning.

use crate::config::Config;
use crate::crawl::Crawler;
use crate::notify::{self, Mailer, Templates};
use crate::store::Store;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use tokio::sync::Mutex;
use tokio_cron_scheduler::{Job, JobScheduler};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

#[derive(Debug, Error)]
pub enum RunError {
    #[error("scheduler: {0}")]
    Scheduler(String),
    #[error(transparent)]
    Fetch(#[from] crate::fetch::FetchError),
    #[error(transparent)]
    Notify(#[from] crate::notify::NotifyError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// How long in-flight work gets to notice a shutdown before it is left behind.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

type JobFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A job body that never overlaps itself and stops when `cancel` fires.
fn guarded<F, Fut>(
    name: String,
    cancel: CancellationToken,
    tracker: TaskTracker,
    work: F,
) -> impl FnMut(uuid::Uuid, JobScheduler) -> JobFuture + Send + Sync
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let busy = Arc::new(Mutex::new(()));
    let work = Arc::new(work);
    move |_, _| {
        let (busy, work, cancel, tracker, name) = (
            busy.clone(),
            work.clone(),
            cancel.clone(),
            tracker.clone(),
            name.clone(),
        );
        Box::pin(async move {
            let Ok(_guard) = busy.try_lock() else {
                tracing::warn!(job = %name, "previous run still going; this tick is skipped");
                return;
            };
            if cancel.is_cancelled() {
                return;
            }
            tracker
                .track_future(async move {
                    tokio::select! {
                        () = work() => {}
                        () = cancel.cancelled() => {
                            tracing::info!(job = %name, "abandoned for shutdown");
                        }
                    }
                })
                .await;
        })
    }
}

/// Runs the daemon until `shutdown` completes.
pub async fn run(
    config: Config,
    store: Store,
    shutdown: impl Future<Output = ()>,
) -> Result<(), RunError> {
    let sched_err = |e: tokio_cron_scheduler::JobSchedulerError| RunError::Scheduler(e.to_string());
    let tz = config.settings.timezone;
    let crawler = Crawler::new(&config, store.clone())?;
    let cancel = CancellationToken::new();
    let tracker = TaskTracker::new();
    let mut scheduler = JobScheduler::new().await.map_err(sched_err)?;

    for source in &config.sources {
        let source = Arc::new(source.clone());
        let crawler = crawler.clone();
        let body = {
            let source = source.clone();
            move || {
                let (crawler, source) = (crawler.clone(), source.clone());
                async move {
                    let report = crawler.crawl(&source).await;
                    if !report.succeeded() {
                        tracing::warn!("{report}");
                    }
                }
            }
        };
        let job = Job::new_async_tz(
            source.schedule.as_str(),
            tz,
            guarded(
                format!("crawl {}", source.name),
                cancel.clone(),
                tracker.clone(),
                body,
            ),
        )
        .map_err(sched_err)?;
        scheduler.add(job).await.map_err(sched_err)?;
    }

    if let Some(digest) = &config.digest {
        let templates = Arc::new(Templates::load(digest.templates.as_deref())?);
        let mailer = Arc::new(Mailer::new(digest, &config.settings.state_dir)?);
        tracing::info!(to = %mailer.destination(), schedule = %digest.schedule, "digest scheduled");
        let store = store.clone();
        let body = move || {
            let (store, templates, mailer) = (store.clone(), templates.clone(), mailer.clone());
            async move {
                match notify::deliver_pending(&store, &templates, &mailer, tz).await {
                    Ok(outcome) => tracing::info!(?outcome, "digest run"),
                    Err(e) => tracing::error!("digest not sent; its items stay queued: {e}"),
                }
            }
        };
        let job = Job::new_async_tz(
            digest.schedule.as_str(),
            tz,
            guarded("digest".into(), cancel.clone(), tracker.clone(), body),
        )
        .map_err(sched_err)?;
        scheduler.add(job).await.map_err(sched_err)?;
    } else {
        tracing::warn!("no [digest] configured: articles are stored but never mailed");
    }

    scheduler.start().await.map_err(sched_err)?;
    tracing::info!(sources = config.sources.len(), "newswatch running");
    shutdown.await;
    tracing::info!("shutting down");
    cancel.cancel();
    tracker.close();
    if tokio::time::timeout(SHUTDOWN_GRACE, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("some work did not stop in time and was left behind");
    }
    if let Err(e) = tokio::time::timeout(SHUTDOWN_GRACE, scheduler.shutdown()).await {
        tracing::warn!("scheduler did not stop in time: {e}");
    }
    store.flush().await?;
    tracing::info!("store flushed; bye");
    Ok(())
}
