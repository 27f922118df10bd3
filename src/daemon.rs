//! The daemon: runs each source's crawl and each digest on their cron schedules, and follows the
//! store into each sink, until asked to stop.
//!
//! The scheduler starts a job again when its next tick comes even if the last run has not
//! finished, so every job holds a per-job lock and skips a tick while still busy. On shutdown,
//! in-flight work is abandoned at its next await point — safe, because each article is stored and
//! made pending in one transaction — and the store is flushed (for at most [`FINAL_FLUSH`]) before
//! returning, so nothing in flight can keep the process from exiting.

use crate::article::Article;
use crate::config::Config;
use crate::crawl::{Crawler, Source};
use crate::notify::{Delivery, Digest, MAX_DIGESTS_PER_RUN, Routing};
use crate::schedule::Schedule;
use crate::sink::{Deliverer, PostgresSink, SignalsFn, SinkStates};
use crate::status::Status;
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
    #[error("cannot listen on {0}: {1}")]
    Listen(std::net::SocketAddr, std::io::Error),
    #[error(transparent)]
    Web(#[from] crate::web::WebError),
}

/// How long in-flight work gets to notice a shutdown before it is left behind.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// How long the last flush at shutdown may take. Every article is stored atomically and sled
/// recovers its log on the next open, so a flush that does not finish (a dying disk) must not
/// keep the process from exiting.
const FINAL_FLUSH: Duration = Duration::from_secs(5);

type JobFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A piece of scheduled work (one source's crawl, one digest) that never overlaps itself,
/// whether started by its cron tick or by the start-up catch-up, and stops when `cancel` fires.
#[derive(Clone)]
struct Task {
    name: Arc<str>,
    busy: Arc<Mutex<()>>,
    cancel: CancellationToken,
    tracker: TaskTracker,
    work: Arc<dyn Fn() -> JobFuture + Send + Sync>,
}

impl Task {
    fn new<F, Fut>(name: String, cancel: &CancellationToken, tracker: &TaskTracker, work: F) -> Task
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Task {
            name: name.into(),
            busy: Arc::new(Mutex::new(())),
            cancel: cancel.clone(),
            tracker: tracker.clone(),
            work: Arc::new(move || Box::pin(work()) as JobFuture),
        }
    }

    /// Runs the work unless it is already running or shutting down.
    async fn run_once(self) {
        let Ok(_guard) = self.busy.try_lock() else {
            tracing::warn!(job = %self.name, "previous run still going; this tick is skipped");
            return;
        };
        if self.cancel.is_cancelled() {
            return;
        }
        let (work, cancel, name) = (self.work.clone(), self.cancel.clone(), self.name.clone());
        self.tracker
            .track_future(async move {
                tokio::select! {
                    () = work() => {}
                    () = cancel.cancelled() => {
                        tracing::info!(job = %name, "abandoned for shutdown");
                    }
                }
            })
            .await;
    }

    /// The job body for the cron scheduler.
    fn job(&self) -> impl FnMut(uuid::Uuid, JobScheduler) -> JobFuture + Send + Sync + use<> {
        let task = self.clone();
        move |_, _| Box::pin(task.clone().run_once())
    }
}

/// Whether `source` missed a scheduled run while the daemon was down (or never ran).
fn is_overdue(store: &Store, source: &Source, tz: chrono_tz::Tz) -> bool {
    let state = store.source_state(&source.name).unwrap_or_default();
    match state.last_attempt {
        None => true,
        Some(last) => source
            .schedule
            .next_after(last.with_timezone(&tz))
            .is_some_and(|due| due < chrono::Utc::now().with_timezone(&tz)),
    }
}

/// Runs the overdue crawls once, each at a random moment within `spread`, so a daemon that
/// starts late does not hit every site at once. Per-host limits still apply to each request.
fn catch_up(
    overdue: Vec<Task>,
    spread: Duration,
    cancel: &CancellationToken,
    tracker: &TaskTracker,
) {
    if overdue.is_empty() {
        return;
    }
    tracing::info!(
        sources = overdue.len(),
        spread_secs = spread.as_secs(),
        "catching up on overdue sources"
    );
    for task in overdue {
        let delay = spread.mul_f64(fastrand::f64());
        let cancel = cancel.clone();
        tracker.spawn(async move {
            tokio::select! {
                () = tokio::time::sleep(delay) => task.run_once().await,
                () = cancel.cancelled() => {}
            }
        });
    }
}

/// Delivers a digest, with the sources failing right now in its footer; after a failure
/// (logged with the server's reply) tries again with doubling waits, as long as the next
/// scheduled run is further away than the wait. Items stay pending throughout, and every
/// attempt sends the same recorded digest.
async fn deliver_with_retries(
    digest: &Digest,
    config: &Config,
    store: &Store,
    retry_base: Duration,
    metrics: &crate::metrics::Metrics,
) {
    let tz = config.settings.timezone;
    let schedule: &Schedule = &digest.settings.schedule;
    let mut wait = retry_base;
    let mut sent = 0;
    loop {
        let failing = match Status::from_store(config, store) {
            Ok(status) => status.failing(),
            Err(e) => {
                tracing::warn!(digest = %digest.name(), "source health unreadable: {}", crate::error_chain(&e));
                Vec::new()
            }
        };
        let result = digest.deliver(store, tz, &failing).await;
        match &result {
            Ok(Delivery::NothingPending) => {}
            Err(e) if e.is_refusal() => metrics.digest_refused(digest.name()),
            other => metrics.digest(digest.name(), other.is_ok()),
        }
        match result {
            Ok(outcome) => {
                tracing::info!(digest = %digest.name(), ?outcome, "digest run");
                // What the size caps left goes out next, up to a limit per run.
                sent += 1;
                if matches!(outcome, Delivery::Sent { more_pending, .. } if more_pending > 0)
                    && sent < MAX_DIGESTS_PER_RUN
                {
                    wait = retry_base;
                    continue;
                }
                return;
            }
            // Reported (logged by the digest, counted above); sending again cannot help.
            Err(e) if e.is_refusal() => return,
            Err(e) => {
                let now = chrono::Utc::now().with_timezone(&tz);
                let next_run = schedule.next_after(now);
                let retry_at =
                    now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
                if next_run.is_some_and(|n| n <= retry_at) {
                    tracing::error!(digest = %digest.name(), "{}; items stay pending for the next scheduled run", crate::error_chain(&e));
                    return;
                }
                tracing::error!(digest = %digest.name(), retry_in_secs = wait.as_secs(), "{}; items stay pending, retrying", crate::error_chain(&e));
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(3600));
            }
        }
    }
}

/// What each sink row carries in its `signals` column: what the signals stage finds in the
/// revision with the configured dictionaries (`[signals]`), as the store found them (an empty
/// object when it finds nothing: it ran).
pub fn signals(extractor: Arc<crate::signals::Extractor>) -> SignalsFn {
    Arc::new(move |a: &Article| serde_json::to_value(extractor.extract(&a.title, &a.body)).ok())
}

/// A deliverer for each `[[sink]]`, each with its cursor set (a new sink on a store that
/// already holds articles starts at its end: see `sink::Start`). Call before storing anything.
pub fn deliverers(
    config: &Config,
    store: &Store,
) -> Result<Vec<Arc<Deliverer<PostgresSink>>>, crate::store::StoreError> {
    let states = SinkStates::load(store.dir());
    config
        .sinks
        .iter()
        .map(|settings| {
            let deliverer = Deliverer::new(
                PostgresSink::new(settings.clone()),
                store.clone(),
                &config.settings.instance,
                Some(signals(config.extractor.clone())),
                states.clone(),
            );
            deliverer.start()?;
            Ok(Arc::new(deliverer))
        })
        .collect()
}

/// How often the search indexer looks at the store's journal once it has caught up.
const INDEX_POLL: Duration = Duration::from_secs(1);
/// How long the indexer waits after a failure before it tries again.
const INDEX_RETRY: Duration = Duration::from_secs(30);

/// Opens the search index and starts the thread that keeps it in step with the store: it
/// indexes what the journal holds past the index's watermark (everything, for a new index),
/// then follows the journal. A failure is logged and retried; the daemon runs on without
/// search rather than not at all.
fn start_indexer(
    store: &Store,
    cancel: &CancellationToken,
) -> (
    Option<crate::search::SearchReader>,
    Option<std::thread::JoinHandle<()>>,
) {
    let mut indexer = match crate::search::indexer::Indexer::open(store.clone()) {
        Ok(i) => i,
        Err(e) => {
            tracing::error!(
                "search index unavailable: {}; the daemon runs without search",
                crate::error_chain(&e)
            );
            return (None, None);
        }
    };
    let reader = indexer.reader();
    let stop = cancel.clone();
    let thread = std::thread::Builder::new()
        .name("search-indexer".into())
        .spawn(move || {
            while !stop.is_cancelled() {
                let backlog = indexer.backlog().map(|b| b.left()).unwrap_or(0);
                if backlog >= crate::search::indexer::COMMIT_EVERY {
                    tracing::info!(
                        articles = backlog,
                        "indexing for search in the background; searches see the articles as they are committed"
                    );
                }
                let mut logged = 0;
                let mut progress = |done: u64| {
                    if done >= logged + crate::search::indexer::COMMIT_EVERY {
                        logged = done;
                        tracing::info!(done, of = backlog, "search index catching up");
                    }
                };
                let wait = match indexer.catch_up(&mut progress, &|| stop.is_cancelled()) {
                    Ok(n) => {
                        if n > 0 {
                            tracing::debug!(articles = n, "indexed for search");
                        }
                        INDEX_POLL
                    }
                    Err(e) => {
                        tracing::error!(
                            retry_in_secs = INDEX_RETRY.as_secs(),
                            "search index not updated: {}",
                            crate::error_chain(&e)
                        );
                        INDEX_RETRY
                    }
                };
                let until = std::time::Instant::now() + wait;
                while !stop.is_cancelled() && std::time::Instant::now() < until {
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
            // Dropped, not closed: a merge under way is not waited for (the next start
            // merges again), and what was not committed is in the journal.
            drop(indexer);
        });
    match thread {
        Ok(t) => (Some(reader), Some(t)),
        Err(e) => {
            tracing::error!("cannot start the search indexer: {e}; the daemon runs without search");
            (None, None)
        }
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
    let crawler = Crawler::new(
        &config.sources,
        config.settings.concurrency,
        tz,
        Routing::new(&config.digests, config.extractor.clone()),
        store.clone(),
    )?;
    let metrics = crawler.metrics.clone();
    let cancel = CancellationToken::new();
    let tracker = TaskTracker::new();
    // Each sink follows the store on its own: crawls never wait for a database.
    for deliverer in deliverers(&config, &store)? {
        tracing::info!(sink = deliverer.name(), url = deliverer.sink().settings().url(),
            instance = %config.settings.instance, "sink delivering");
        let stop = cancel.clone();
        tracker.spawn(async move { deliverer.follow(&stop).await });
    }
    let mut scheduler = JobScheduler::new().await.map_err(sched_err)?;

    let mut overdue = Vec::new();
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
                        tracing::warn!(health = report.health().as_str(), "{report}");
                    }
                }
            }
        };
        let task = Task::new(format!("crawl {}", source.name), &cancel, &tracker, body);
        let job = Job::new_async_tz(source.schedule.as_str(), tz, task.job()).map_err(sched_err)?;
        scheduler.add(job).await.map_err(sched_err)?;
        if is_overdue(&store, &source, tz) {
            overdue.push(task);
        }
    }

    let digests = Digest::load_all(&config.digests, &config.settings.state_dir)?;
    if digests.is_empty() {
        tracing::warn!("no [digest] or [[notify]] configured: articles are stored but never sent");
    }
    let retry_base = config.settings.digest_retry;
    let shared = Arc::new(config.clone());
    for digest in digests {
        let digest = Arc::new(digest);
        tracing::info!(digest = %digest.name(), to = %digest.destination(),
            schedule = %digest.settings.schedule, "digest scheduled");
        let store = store.clone();
        let body = {
            let digest = digest.clone();
            let metrics = metrics.clone();
            let config = shared.clone();
            move || {
                let (store, digest, config) = (store.clone(), digest.clone(), config.clone());
                let metrics = metrics.clone();
                async move { deliver_with_retries(&digest, &config, &store, retry_base, &metrics).await }
            }
        };
        let task = Task::new(format!("digest {}", digest.name()), &cancel, &tracker, body);
        let job = Job::new_async_tz(digest.settings.schedule.as_str(), tz, task.job())
            .map_err(sched_err)?;
        scheduler.add(job).await.map_err(sched_err)?;
    }

    let pages = std::sync::Arc::new(crate::web::Pages::load(
        config.settings.web.templates.as_deref(),
    )?);
    let (search, indexer) = start_indexer(&store, &cancel);
    let server = match config.settings.listen {
        Some(addr) => Some(
            crate::health::serve(
                addr,
                crate::web::Web {
                    config: shared.clone(),
                    store: store.clone(),
                    search,
                    pages,
                },
                metrics.clone(),
                cancel.clone(),
            )
            .await
            .map_err(|e| RunError::Listen(addr, e))?,
        ),
        None => None,
    };
    scheduler.start().await.map_err(sched_err)?;
    tracing::info!(sources = config.sources.len(), "newswatch running");
    catch_up(overdue, config.settings.startup_spread, &cancel, &tracker);
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
    if let Some(server) = server {
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, server).await;
    }
    if let Some(indexer) = indexer {
        // It stops between batches (about a second of work at most).
        let joined = tokio::task::spawn_blocking(move || indexer.join());
        if tokio::time::timeout(SHUTDOWN_GRACE, joined).await.is_err() {
            tracing::warn!(
                "the search indexer did not stop in time; its work since the last commit is redone at the next start"
            );
        }
    }
    match tokio::time::timeout(FINAL_FLUSH, store.flush()).await {
        Ok(flushed) => flushed?,
        Err(_) => {
            tracing::warn!(
                secs = FINAL_FLUSH.as_secs(),
                "the store did not finish its last flush in time; exiting without it (every article is stored atomically)"
            );
            return Ok(());
        }
    }
    tracing::info!("store flushed; bye");
    Ok(())
}
