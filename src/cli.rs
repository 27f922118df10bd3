//! The commands behind the `newswatch` binary. Each does its work and hands back what there is
//! to show; `main.rs` parses the arguments, prints, and turns a [`CliError`] into an exit code
//! (2 for bad usage or config, found before anything started; 1 for a failure while working).

use crate::archive;
use crate::article::Article;
use crate::backfill::{Backfill, BackfillError, BackfillReport};
use crate::check::CheckReport;
use crate::config::{Config, ConfigError};
use crate::crawl::{CrawlReport, Crawler, build};
use crate::daemon::RunError;
use crate::extract::FieldSelectors;
use crate::fetch::{FetchError, Fetched, Fetcher, HostPattern, Scope, charset};
use crate::notify::{Delivery, Digest, MAX_DIGESTS_PER_RUN, NotifyError, Routing};
pub use crate::report::{GroupBy, Report};
use crate::search::indexer::{Indexer, IndexerError, index_dir};
/// What `search` takes and gives, for `main.rs` to print.
pub use crate::search::{Hit, Query, SignalNames, UnknownSignal};
use crate::search::{SearchError, SearchIndex};
use crate::signals::{Extractor, Signals};
use crate::sink::{DeliverError, Deliverer, Drained, PostgresSink, Progress};
use crate::status::Status;
use crate::store::{ArticleId, DigestRecord, Store, StoreError};
use chrono::NaiveDate;
use serde::Serialize;
use std::future::Future;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use url::Url;

#[derive(Debug, Error)]
pub enum CliError {
    /// Bad usage, found before anything started.
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A digest's templates or transport could not be loaded: a config problem.
    #[error(transparent)]
    Digests(NotifyError),
    /// An input file named on the command line could not be opened.
    #[error("cannot open {path}")]
    Input {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Backfill(#[from] BackfillError),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Sink(#[from] DeliverError),
    #[error(transparent)]
    Search(#[from] SearchError),
    #[error(transparent)]
    Index(#[from] IndexerError),
    /// A web page template does not compile: a config problem.
    #[error(transparent)]
    Web(#[from] crate::web::WebError),
    /// The command did its work, and some of it failed, as printed above.
    #[error("{0}")]
    Failed(String),
    #[error("cannot write {path}")]
    Output {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl CliError {
    /// 2 for bad usage or config (nothing was started), 1 for a failure while working.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_)
            | CliError::Config(_)
            | CliError::Digests(_)
            | CliError::Input { .. }
            | CliError::Web(_)
            | CliError::Search(SearchError::BadQuery { .. })
            | CliError::Store(StoreError::NotEmpty { .. }) => 2,
            _ => 1,
        }
    }
}

/// The store, finding signals with the config's dictionaries.
fn open_store(config: &Config) -> Result<Store, CliError> {
    Ok(Store::open(&config.settings.state_dir)?.with_extractor(config.extractor.clone()))
}

fn sources<'a>(
    config: &'a Config,
    names: &[String],
) -> Result<Vec<&'a crate::crawl::Source>, CliError> {
    config.select_sources(names).map_err(CliError::Usage)
}

/// Every digest loaded: a broken template fails here, before anything starts.
pub fn digests(config: &Config) -> Result<Vec<Digest>, CliError> {
    Digest::load_all(&config.digests, &config.settings.state_dir).map_err(CliError::Digests)
}

/// `run`: the daemon, until `shutdown` completes.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), CliError> {
    digests(&config)?;
    crate::web::Pages::load(config.settings.web.templates.as_deref())?;
    let store = open_store(&config)?;
    crate::daemon::run(config, store, shutdown).await?;
    Ok(())
}

/// How long a command that stored articles waits for a sink's database to come back before it
/// exits, leaving the rest queued: counted from the last batch delivered, so a long backlog
/// that is moving is never cut off.
pub const SINK_PATIENCE: Duration = Duration::from_secs(15);

/// What a command delivered to one sink before exiting.
#[derive(Debug)]
pub struct SinkRun {
    pub name: String,
    pub drained: Drained,
}

impl SinkRun {
    /// Whether everything stored reached the database.
    pub fn ok(&self) -> bool {
        self.drained.error.is_none()
    }

    /// Whether there is anything to say: rows sent, or rows left behind.
    pub fn worth_telling(&self) -> bool {
        self.drained.progress.entries > 0 || !self.ok()
    }
}

impl std::fmt::Display for SinkRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = &self.drained.progress;
        match &self.drained.error {
            None => write!(f, "sink {}: {}", self.name, rows(p)),
            Some(e) => write!(
                f,
                "{}; {} revisions stay queued for the daemon or the next crawl{}",
                crate::error_chain(e),
                self.drained.pending,
                if p.entries > 0 {
                    format!(" ({} before that)", rows(p))
                } else {
                    String::new()
                }
            ),
        }
    }
}

/// `12 rows added, 3 already there[, 1 revision no longer kept]`.
fn rows(p: &Progress) -> String {
    let skipped = if p.skipped > 0 {
        format!(
            ", {} revisions no longer kept by the store (not sent)",
            p.skipped
        )
    } else {
        String::new()
    };
    format!(
        "{} rows added, {} already there{skipped}",
        p.inserted, p.duplicates
    )
}

/// Delivers what the command stored to every sink, together.
async fn drain(sinks: &[Arc<Deliverer<PostgresSink>>]) -> Vec<SinkRun> {
    futures_util::future::join_all(sinks.iter().map(|d| async move {
        SinkRun {
            name: d.name().to_owned(),
            drained: d.drain(SINK_PATIENCE).await,
        }
    }))
    .await
}

/// What `crawl` did: each source's report, each sink's delivery, and the search index.
pub struct Crawled {
    pub reports: Vec<CrawlReport>,
    pub sinks: Vec<SinkRun>,
    pub index: IndexUpdate,
}

/// `crawl [SOURCE...]`: every named source (all when none) crawled once, together; then what
/// was stored delivered to every sink, and the search index brought up to date when that is a
/// short job (see [`IndexUpdate`]).
pub async fn crawl(config: &Config, names: &[String]) -> Result<Crawled, CliError> {
    let sources = sources(config, names)?;
    let store = open_store(config)?;
    let sinks = crate::daemon::deliverers(config, &store)?;
    let crawler = Crawler::new(
        &config.sources,
        config.settings.concurrency,
        config.settings.timezone,
        Routing::new(&config.digests, config.extractor.clone()),
        store.clone(),
    )?;
    let reports = crawler.crawl_all(&sources).await;
    let sinks = drain(&sinks).await;
    let index = tokio::task::spawn_blocking(move || update_index(&store, Some(INDEX_INLINE)))
        .await
        .unwrap_or_else(|_| IndexUpdate::Failed("interrupted".into()));
    Ok(Crawled {
        reports,
        sinks,
        index,
    })
}

/// `sink backfill NAME`: every article in the store, with every revision it keeps, sent to
/// sink `name`. `progress` gets the articles done and the articles in the store.
pub async fn sink_backfill(
    config: &Config,
    name: &str,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Progress, CliError> {
    let Some(settings) = config.sinks.iter().find(|s| s.name() == name) else {
        let known: Vec<&str> = config.sinks.iter().map(|s| s.name()).collect();
        return Err(CliError::Usage(if known.is_empty() {
            format!("{}: no [[sink]] configured", config.path.display())
        } else {
            format!("no sink named {name:?} (known: {})", known.join(", "))
        }));
    };
    let store = open_store(config)?;
    let deliverer = Deliverer::new(
        PostgresSink::new(settings.clone()),
        store.clone(),
        &config.settings.instance,
        Some(crate::daemon::signals(config.extractor.clone())),
        crate::sink::SinkStates::load(store.dir()),
    );
    Ok(deliverer.backfill(progress).await?)
}

/// Articles a command that stores them (`crawl`) indexes before it exits; a longer backlog (an
/// archive just imported) is left to the daemon, `search` or `reindex`.
pub const INDEX_INLINE: u64 = 5_000;

/// What became of the search index after a command stored articles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexUpdate {
    /// Up to date; this many articles were indexed now.
    Current(u64),
    /// Left behind: this many articles wait to be indexed.
    Waiting(u64),
    /// Could not be updated (why); the next `search`, `reindex` or daemon start catches up.
    Failed(String),
}

/// Brings the search index of `store` up to date when at most `max` articles wait (always when
/// `None`). Never fails the command that stored the articles: the journal keeps them for later.
pub fn update_index(store: &Store, max: Option<u64>) -> IndexUpdate {
    let run = || -> Result<IndexUpdate, IndexerError> {
        let mut indexer = Indexer::open(store.clone())?;
        let waiting = indexer.backlog()?.left();
        if max.is_some_and(|m| waiting > m) {
            return Ok(IndexUpdate::Waiting(waiting));
        }
        let n = indexer.catch_up(&mut |_| {}, &|| false)?;
        Ok(IndexUpdate::Current(n))
    };
    run().unwrap_or_else(|e| IndexUpdate::Failed(crate::error_chain(&e)))
}

/// How many articles wait to be indexed for search, read without taking the index's writer
/// lock.
fn index_waiting(store: &Store) -> Result<u64, CliError> {
    match SearchIndex::open_read_only(&index_dir(store.dir())) {
        Ok(index) => match index.last_indexed()? {
            Some(w) => Ok(store.journal_backlog(w)?),
            None => Ok((store.len() as u64).saturating_sub(index.len())),
        },
        Err(SearchError::Missing { .. } | SearchError::Outdated { .. }) => Ok(store.len() as u64),
        Err(e) => Err(e.into()),
    }
}

/// `reindex`: the search index emptied and built again from every stored article.
/// `progress(done, total)` is told how far it got.
pub fn reindex(config: &Config, progress: &mut dyn FnMut(u64, u64)) -> Result<u64, CliError> {
    let store = open_store(config)?;
    let mut indexer = Indexer::open(store.clone())?;
    indexer.clear()?;
    let total = store.len() as u64;
    progress(0, total);
    let n = indexer.catch_up(&mut |done| progress(done.min(total), total), &|| false)?;
    // Waits for the merges, so the index is left in few segments (faster to search).
    indexer.close()?;
    Ok(n)
}

/// What `search` found, and how.
pub struct Found {
    pub hits: Vec<Hit>,
    /// Articles indexed first, to bring the index up to date (no daemon was running).
    pub indexed: u64,
    /// The daemon holds the store: the index was read as the daemon last committed it.
    pub from_daemon: bool,
}

/// `search QUERY`: the articles holding every term, best first. With no daemon running, the
/// index is brought up to date first (`progress(done, total)`, called only when there is
/// something to index); while the daemon runs, its index is read as last committed (within a
/// second or two of the store).
pub fn search(
    config: &Config,
    query: &Query,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Found, CliError> {
    let dir = &config.settings.state_dir;
    match Store::open(dir) {
        Ok(store) => {
            let mut indexer = Indexer::open(store)?;
            let total = indexer.backlog()?.left();
            let mut indexed = 0;
            if total > 0 {
                progress(0, total);
                indexed =
                    indexer.catch_up(&mut |done| progress(done.min(total), total), &|| false)?;
            }
            let hits = indexer.reader().search(query)?;
            Ok(Found {
                hits,
                indexed,
                from_daemon: false,
            })
        }
        Err(StoreError::Locked { .. }) => {
            let index = SearchIndex::open_read_only(&index_dir(dir))?;
            Ok(Found {
                hits: index.search(query)?,
                indexed: 0,
                from_daemon: true,
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// `names` (from `search --stage/--region/--industry/--min-amount`) checked against the
/// configured dictionaries and set on `query`; a name they do not know is a usage error.
pub fn filter_signals(
    config: &Config,
    names: &SignalNames,
    query: &mut Query,
) -> Result<(), CliError> {
    names.apply(&config.extractor, query).map_err(|e| {
        let flag = match e {
            UnknownSignal::Stage(_) => "--stage",
            UnknownSignal::Region(_) => "--region",
            UnknownSignal::Industry(_) => "--industry",
            UnknownSignal::Amount(_) => "--min-amount",
        };
        CliError::Usage(format!("{flag} {e}"))
    })
}

/// An input file named on the command line (`-`: standard input).
pub struct Input {
    pub reader: Box<dyn BufRead + Send>,
    /// How messages name it.
    pub name: String,
}

/// Opens `file` (`-` is standard input).
pub fn open_input(file: &Path) -> Result<Input, CliError> {
    if file.as_os_str() == "-" {
        return Ok(Input {
            reader: Box::new(BufReader::new(io::stdin())),
            name: "standard input".into(),
        });
    }
    let f = std::fs::File::open(file).map_err(|source| CliError::Input {
        path: file.to_owned(),
        source,
    })?;
    Ok(Input {
        reader: Box::new(BufReader::new(f)),
        name: file.display().to_string(),
    })
}

/// `backfill FILE`: imports an archive under `source`, pending for the digests that take each
/// record when `notify`; then delivers what it stored to every sink, and says how many articles
/// wait to be indexed for search. `encoding` is a charset label (`utf-8`, `gbk`, `gb18030`,
/// `big5` …) or `auto` to detect it; UTF-8 when `None`. Each rejected record and skipped line
/// goes to `notice` as it is met.
pub async fn backfill(
    config: &Config,
    input: Input,
    source: &str,
    notify: bool,
    encoding: Option<&str>,
    progress: &dyn Fn(usize),
    notice: &dyn Fn(&archive::Entry),
) -> Result<(BackfillReport, Vec<SinkRun>, u64), CliError> {
    let encoding = match encoding {
        None => Some(encoding_rs::UTF_8),
        Some(label) if label.eq_ignore_ascii_case("auto") => None,
        Some(label) => match charset::encoding_for_label(label) {
            Some(e) if e.is_ascii_compatible() => Some(e),
            Some(e) => {
                return Err(CliError::Usage(format!(
                    "--encoding {label}: {} archives are not read (lines must end in an ASCII line feed); convert the file to UTF-8",
                    e.name()
                )));
            }
            None => {
                return Err(CliError::Usage(format!(
                    "--encoding {label:?}: not an encoding; try utf-8, gbk, gb18030, big5 or auto"
                )));
            }
        },
    };
    let store = open_store(config)?;
    let sinks = crate::daemon::deliverers(config, &store)?;
    let routing = Routing::new(&config.digests, config.extractor.clone());
    let import = Backfill {
        source,
        routing: notify.then_some(&routing),
        encoding,
        progress,
        notice,
    };
    // The import blocks (it reads and writes on threads of its own); the runtime's other
    // workers go on meanwhile.
    let report = tokio::task::block_in_place(|| import.run(&store, input.reader, &input.name))?;
    let sinks = drain(&sinks).await;
    // Indexing runs at about a tenth of the import's speed: it is left to the daemon (in the
    // background) or to the next `search` / `reindex`, and the count is reported.
    let waiting = index_waiting(&store)?;
    Ok((report, sinks, waiting))
}

/// How `export` writes articles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// The plain-text archive format (`-`, title, body, date).
    Archive,
    /// One JSON object per line: the article's id and every stored field.
    Jsonl,
}

/// Which articles `export` writes.
#[derive(Debug, Clone, Default)]
pub struct ExportFilter {
    pub source: Option<String>,
    pub since: Option<NaiveDate>,
    /// Every kept revision, oldest first, instead of the latest only.
    pub revisions: bool,
}

/// One `export --format jsonl` line: the stored article as serde writes it, with its id and
/// its signals.
#[derive(Serialize)]
struct ExportRecord<'a> {
    id: ArticleId,
    #[serde(flatten)]
    article: &'a Article,
    signals: &'a Signals,
}

/// `export`: stored articles to `out`, in the order first stored. A closed pipe (`| head`) is
/// the reader's choice, not a failure.
pub fn export(
    config: &Config,
    filter: &ExportFilter,
    format: ExportFormat,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let store = open_store(config)?;
    let mut out = io::BufWriter::new(out);
    for item in store.articles() {
        let (id, latest) = item?;
        if filter.source.as_ref().is_some_and(|s| *s != latest.source)
            || filter.since.is_some_and(|d| latest.date < d)
        {
            continue;
        }
        let versions = if filter.revisions {
            store.revisions(id)?
        } else {
            vec![latest]
        };
        for article in &versions {
            let written = match format {
                ExportFormat::Archive => archive::write_record(&mut out, article),
                ExportFormat::Jsonl => {
                    let signals = &store.signals_of(id, article)?;
                    let record = ExportRecord {
                        id,
                        article,
                        signals,
                    };
                    serde_json::to_writer(&mut out, &record)
                        .map_err(io::Error::from)
                        .and_then(|()| out.write_all(b"\n"))
                }
            };
            match written {
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
                other => other?,
            }
        }
    }
    match out.flush() {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// `report`: articles, projects and amounts per group over a period (dates inclusive), from
/// the store. Like `export`, it opens the store, so it runs beside a daemon only when the daemon
/// is stopped.
pub fn report(
    config: &Config,
    by: GroupBy,
    since: Option<NaiveDate>,
    until: Option<NaiveDate>,
) -> Result<Report, CliError> {
    if let (Some(s), Some(u)) = (since, until)
        && s > u
    {
        return Err(CliError::Usage(format!(
            "--since {s} is after --until {u}: the period is empty"
        )));
    }
    let store = open_store(config)?;
    Ok(Report::build(&store, by, since, until)?)
}

/// What `digest` did with one digest.
pub struct DigestRun {
    pub name: String,
    /// Where it goes, for messages (never a robot URL).
    pub destination: String,
    pub outcome: DigestOutcome,
}

pub enum DigestOutcome {
    /// `--dry-run`: what would be sent, if anything.
    Preview(Option<DigestRecord>),
    Delivered(Delivery),
    /// Not sent: every item stays pending.
    Failed(NotifyError),
}

/// `digest [--dry-run] [--name NAME]`: builds each digest (or the named one) and sends it, or
/// with `dry_run` shows what would be sent and changes nothing.
pub async fn digest(
    config: &Config,
    dry_run: bool,
    only: Option<&str>,
) -> Result<Vec<DigestRun>, CliError> {
    if config.digests.is_empty() {
        return Err(CliError::Usage(format!(
            "{}: no [digest] or [[notify]] section",
            config.path.display()
        )));
    }
    if let Some(name) = only
        && !config.digests.iter().any(|d| d.name == name)
    {
        let known: Vec<&str> = config.digests.iter().map(|d| d.name.as_str()).collect();
        return Err(CliError::Usage(format!(
            "no digest named {name:?} (known: {})",
            known.join(", ")
        )));
    }
    let digests = digests(config)?;
    let store = open_store(config)?;
    let tz = config.settings.timezone;
    let failing = Status::from_store(config, &store)?.failing();
    let mut runs = Vec::new();
    for digest in digests
        .iter()
        .filter(|d| only.is_none_or(|n| n == d.name()))
    {
        // What the size caps leave goes out in the next digest, right after, up to a limit.
        for _ in 0..MAX_DIGESTS_PER_RUN {
            let outcome = if dry_run {
                DigestOutcome::Preview(
                    digest
                        .preview(&store, tz, &failing)
                        .map_err(CliError::Digests)?,
                )
            } else {
                match digest.deliver(&store, tz, &failing).await {
                    Ok(d) => DigestOutcome::Delivered(d),
                    Err(NotifyError::Store(e)) => return Err(e.into()),
                    Err(e) => DigestOutcome::Failed(e),
                }
            };
            let again = matches!(
                outcome,
                DigestOutcome::Delivered(Delivery::Sent { more_pending, .. }) if more_pending > 0
            );
            runs.push(DigestRun {
                name: digest.name().to_owned(),
                destination: digest.destination(),
                outcome,
            });
            if !again {
                break;
            }
        }
    }
    Ok(runs)
}

/// `check SOURCE`: fetches the source now and describes what it would store; stores nothing.
pub async fn check(
    config: &Config,
    name: &str,
    limit: Option<usize>,
) -> Result<CheckReport, CliError> {
    let source = sources(config, &[name.to_owned()])?.remove(0);
    let fetcher = Fetcher::new(config.settings.concurrency, [(&source.url, &source.fetch)])?;
    let limit = limit.unwrap_or(source.max_articles);
    Ok(crate::check::check(&fetcher, source, config.settings.timezone, limit).await)
}

/// `status`: every source's health, from the store or the running daemon's snapshot.
pub fn status(config: &Config) -> Result<Status, CliError> {
    Ok(Status::load(config)?)
}

/// `validate`: the config is already checked when this runs; this loads every digest too
/// (templates compile) and says how many there are.
pub fn validate(config: &Config) -> Result<usize, CliError> {
    crate::web::Pages::load(config.settings.web.templates.as_deref())?;
    Ok(digests(config)?.len())
}

/// `backup FILE`: the whole state to `file` (`-`: `out`). Written beside the target and
/// renamed, so a failed backup never replaces a good one.
pub fn backup(config: &Config, file: &Path, out: &mut dyn Write) -> Result<u64, CliError> {
    let store = open_store(config)?;
    if file.as_os_str() == "-" {
        return Ok(store.backup(&mut io::BufWriter::new(out))?);
    }
    let tmp = file.with_extension("partial");
    let output = |source| CliError::Output {
        path: file.to_owned(),
        source,
    };
    let f = std::fs::File::create(&tmp).map_err(|source| CliError::Output {
        path: tmp.clone(),
        source,
    })?;
    let n = store.backup(&mut io::BufWriter::new(f))?;
    std::fs::rename(&tmp, file).map_err(output)?;
    Ok(n)
}

/// `restore FILE`: loads a backup into an empty state dir, all or nothing.
pub fn restore(config: &Config, input: Input) -> Result<u64, CliError> {
    let n = Store::restore(&config.settings.state_dir, input.reader, &input.name)?;
    // An index left in the folder belongs to the store that was there before: the next start
    // (or `search`) builds one for the restored store.
    SearchIndex::remove(&index_dir(&config.settings.state_dir))?;
    Ok(n)
}

/// What `extract` read.
pub struct Extracted {
    pub article: Article,
    /// Whether the page gave a date (else the article has today's).
    pub dated: bool,
    /// The article's investment signals, found as the store would find them.
    pub signals: Signals,
}

/// `extract --format jsonl`: the article as `export --format jsonl` writes it (without an id,
/// as it is not stored).
#[derive(Serialize)]
struct ExtractRecord<'a> {
    #[serde(flatten)]
    article: &'a Article,
    signals: &'a Signals,
}

impl Extracted {
    /// The article and its signals as one JSON line (no line end).
    pub fn json_line(&self) -> Result<String, CliError> {
        let record = ExtractRecord {
            article: &self.article,
            signals: &self.signals,
        };
        serde_json::to_string(&record).map_err(|e| CliError::Io(e.into()))
    }
}

/// The config `extract` runs with: the file at `path`, or none when there is no such file and no
/// `--source` asks for one — reading a page needs no source, store or digest, so a saved page can
/// be tried anywhere.
pub fn extract_config(path: &Path, source: Option<&str>) -> Result<Option<Config>, CliError> {
    match Config::load(path) {
        Ok(config) => Ok(Some(config)),
        Err(ConfigError::Read { source: e, .. })
            if e.kind() == io::ErrorKind::NotFound && source.is_none() =>
        {
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// `extract FILE|URL`: the article newswatch reads from a saved page or a URL, built as the
/// crawler builds it, with `source`'s selectors and encoding where given. Without a config the
/// built-in defaults apply (fetch settings, time zone).
pub async fn extract(
    config: Option<&Config>,
    input: &str,
    base: Option<Url>,
    source: Option<&str>,
) -> Result<Extracted, CliError> {
    let source = match (config, source) {
        (Some(config), Some(name)) => Some(sources(config, &[name.to_owned()])?.remove(0)),
        (None, Some(name)) => {
            return Err(CliError::Usage(format!(
                "--source {name}: no config file to find it in"
            )));
        }
        (_, None) => None,
    };
    let defaults = crate::config::DEFAULTS.fetch();
    let settings = source.map_or_else(
        || config.map_or(&defaults, |c| &c.settings.fetch),
        |s| &s.fetch,
    );
    let timezone = config.map_or(crate::config::DEFAULTS.timezone, |c| c.settings.timezone);
    let encoding = source.and_then(|s| s.encoding.as_deref());
    let (text, page_url) = match Url::parse(input) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => {
            // Without a source, the URL given is the origin [settings] headers go to.
            let mut settings = settings.clone();
            if source.is_none() {
                settings.scope = Scope::new(&u, vec![HostPattern::Any]);
            }
            let settings = &settings;
            let fetcher = Fetcher::new(1, [(&u, settings)])?;
            match fetcher.get(&u, settings, None).await? {
                Fetched::Page(resp) => {
                    (resp.decode(encoding).text, base.unwrap_or(resp.url.clone()))
                }
                Fetched::NotModified => {
                    return Err(CliError::Failed(format!("{u}: unexpected 304")));
                }
            }
        }
        _ => {
            let bytes = std::fs::read(input).map_err(|source| CliError::Input {
                path: input.into(),
                source,
            })?;
            let page_url = match base {
                Some(b) => b,
                None => {
                    let abs = std::path::absolute(input).unwrap_or_else(|_| PathBuf::from(input));
                    Url::from_file_path(&abs).map_err(|_| {
                        CliError::Usage(format!("{input}: give --url for this file"))
                    })?
                }
            };
            (charset::decode(&bytes, None, encoding).text, page_url)
        }
    };
    let fields = source.map_or_else(FieldSelectors::default, |s| s.fields.clone());
    let at = build::At {
        page: &page_url,
        listed: &page_url,
        anchor: None,
        scope: &settings.scope,
    };
    let built = build::html_article(&text, at, &fields, "extract", None, timezone)
        .map_err(|problem| CliError::Failed(format!("{input}: {problem}")))?;
    let signals = config
        .map_or_else(Extractor::standard_shared, |c| Arc::clone(&c.extractor))
        .extract(&built.article.title, &built.article.body);
    Ok(Extracted {
        article: built.article,
        dated: built.dated,
        signals,
    })
}
