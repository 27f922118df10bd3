//! The `newswatch` command line: parses arguments, loads the config, and maps outcomes to exit
//! codes (0 success, 1 runtime failure, 2 bad usage or bad config).

use anyhow::{Context as _, anyhow};
use chrono::NaiveDate;
use clap::{Parser, Subcommand, ValueEnum};
use newswatch::backfill::Backfill;
use newswatch::config::Config;
use newswatch::crawl::Crawler;
use newswatch::notify::{Delivery, Outlet, Routing};
use newswatch::store::Store;
use std::io::{self, BufRead, BufReader, IsTerminal as _, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "newswatch",
    version,
    about = "Watches investment-news sources and mails digests of what is new"
)]
struct Cli {
    /// The config file; relative paths in it are taken from its folder.
    #[arg(
        long,
        global = true,
        default_value = "sources.toml",
        env = "NEWSWATCH_CONFIG"
    )]
    config: PathBuf,
    /// Log lines as text (default) or as JSON objects for log collectors. Level from RUST_LOG.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "NEWSWATCH_LOG_FORMAT")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon: crawl each source on its schedule and send the digest on its schedule,
    /// until SIGINT or SIGTERM.
    Run,
    /// Crawl all (or the named) sources once, now.
    Crawl {
        /// Source names; all sources when none is given.
        sources: Vec<String>,
    },
    /// Import an archive file (`-` for standard input).
    Backfill {
        file: PathBuf,
        /// Store records under this source name.
        #[arg(long, default_value = "archive")]
        source: String,
        /// Queue the imported records for the digests whose filters take them.
        #[arg(long)]
        notify: bool,
    },
    /// Write stored articles to standard output, in the order first stored.
    Export {
        /// Only articles of this source.
        #[arg(long)]
        source: Option<String>,
        /// Only articles dated on or after this day (YYYY-MM-DD).
        #[arg(long)]
        since: Option<NaiveDate>,
        #[arg(long, value_enum, default_value_t = Format::Archive)]
        format: Format,
        /// Every stored revision of each article, oldest first (default: the latest only).
        #[arg(long)]
        revisions: bool,
    },
    /// Fetch a source now and show what it would store and why; stores and sends nothing.
    Check {
        source: String,
        /// At most this many articles (default: the source's max_articles).
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Write the whole state (articles, revisions, queues, digests, source state, HTTP cache)
    /// to FILE (`-`: standard output). Stop the daemon first: it holds the store.
    Backup { file: PathBuf },
    /// Load a backup into an empty state_dir.
    Restore { file: PathBuf },
    /// Print the archive record (`-`, title, body, date) newswatch reads from a saved page or a
    /// URL, detecting a file's charset as the fetcher would.
    Extract {
        /// A saved page, or an http(s) URL to fetch.
        input: String,
        /// The page's address, for resolving links and reading a date from the URL.
        #[arg(long)]
        url: Option<url::Url>,
        /// Use this source's selectors (and `encoding`) where it has them.
        #[arg(long)]
        source: Option<String>,
    },
    /// Check the config (keys, schedules, selectors, URLs, templates, secrets) and exit:
    /// 0 when it is good, 2 with every problem listed when not. Starts nothing.
    Validate,
    /// Show each source's last attempt, last success, failures, articles and next run.
    Status,
    /// Build the digest of everything pending and send it now.
    Digest {
        /// Print exactly what would be sent and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Only this digest (or notify channel); all when not given.
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// The plain-text archive format (`-`, title, body, date).
    Archive,
    /// One JSON object per line with every stored field.
    Jsonl,
}

/// A failure and the exit code it earns.
enum Failure {
    /// Bad usage or config: exit 2, before anything started.
    Usage(anyhow::Error),
    /// Something went wrong while working: exit 1.
    Runtime(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::Runtime(e.into())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(matches!(cli.command, Command::Run), cli.log_format);
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Runtime(anyhow!("cannot start the runtime: {e}")))
        .and_then(|rt| rt.block_on(dispatch(cli)));
    match result {
        Ok(code) => code,
        Err(Failure::Usage(e)) => {
            eprintln!("newswatch: {e:#}");
            ExitCode::from(2)
        }
        Err(Failure::Runtime(e)) => {
            eprintln!("newswatch: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn init_logging(daemon: bool, format: LogFormat) {
    // Our own progress at info; other crates only when something is wrong.
    let default = if daemon {
        "warn,newswatch=info"
    } else {
        "warn"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr);
    match format {
        LogFormat::Json => builder.json().with_current_span(false).init(),
        LogFormat::Text => builder.with_ansi(io::stderr().is_terminal()).init(),
    }
}

async fn dispatch(cli: Cli) -> Result<ExitCode, Failure> {
    let config = Config::load(&cli.config).map_err(|e| Failure::Usage(e.into()))?;
    match cli.command {
        Command::Run => run(config).await,
        Command::Crawl { sources } => crawl(config, &sources).await,
        Command::Backfill {
            file,
            source,
            notify,
        } => backfill(&config, &file, &source, notify),
        Command::Export {
            source,
            since,
            format,
            revisions,
        } => export(&config, source.as_deref(), since, format, revisions),
        Command::Digest { dry_run, name } => digest(config, dry_run, name.as_deref()).await,
        Command::Check { source, limit } => check(&config, &source, limit).await,
        Command::Status => status(&config),
        Command::Validate => validate(&config),
        Command::Extract { input, url, source } => {
            extract(&config, &input, url, source.as_deref()).await
        }
        Command::Backup { file } => backup(&config, &file),
        Command::Restore { file } => restore(&config, &file),
    }
}

fn open_store(config: &Config) -> Result<Store, Failure> {
    Ok(Store::open(&config.settings.state_dir)?)
}

async fn run(config: Config) -> Result<ExitCode, Failure> {
    // Fail on a broken template now, not when the digest is due.
    Outlet::all(&config).map_err(|e| Failure::Usage(e.into()))?;
    let store = open_store(&config)?;
    newswatch::schedule::run(config, store, shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM: {e}");
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

async fn crawl(config: Config, names: &[String]) -> Result<ExitCode, Failure> {
    let sources = config
        .select_sources(names)
        .map_err(|e| Failure::Usage(anyhow!(e)))?;
    let store = open_store(&config)?;
    let crawler = Crawler::new(&config, store)?;
    let mut all_ok = true;
    // Sources are independent: crawl them together so a slow one does not delay the others.
    let reports = futures_util::future::join_all(sources.iter().map(|s| crawler.crawl(s))).await;
    let mut out = io::stdout().lock();
    for report in reports {
        all_ok &= report.succeeded();
        writeln!(out, "{report}")?;
    }
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn backfill(
    config: &Config,
    file: &PathBuf,
    source: &str,
    notify: bool,
) -> Result<ExitCode, Failure> {
    let (input, name, size): (Box<dyn BufRead + Send>, String, Option<u64>) =
        if file.as_os_str() == "-" {
            (
                Box::new(BufReader::new(io::stdin())),
                "standard input".into(),
                None,
            )
        } else {
            let f = std::fs::File::open(file)
                .with_context(|| format!("cannot open {}", file.display()))
                .map_err(Failure::Usage)?;
            let size = f.metadata().ok().map(|m| m.len());
            (
                Box::new(BufReader::new(f)),
                file.display().to_string(),
                size,
            )
        };
    let store = open_store(config)?;
    let bar = progress_bar(size);
    let routing = Routing::new(&config.digests);
    let report = Backfill {
        source,
        routing: notify.then_some(&routing),
        progress: &|line| {
            if line % 256 == 0 {
                bar.set_message(format!("line {line}"));
                bar.tick();
            }
        },
    }
    .run(&store, input, &name)?;
    bar.finish_and_clear();
    let mut err = io::stderr().lock();
    for (line, reason) in &report.rejected {
        writeln!(err, "{name}:{line}: rejected: {reason}")?;
    }
    for (line, text) in &report.skipped {
        let shown: String = text.chars().take(60).collect();
        writeln!(
            err,
            "{name}:{line}: skipped (not part of a record): {shown:?}"
        )?;
    }
    println!(
        "{name}: {} imported, {} duplicate, {} rejected, {} skipped",
        report.imported,
        report.duplicate,
        report.rejected.len(),
        report.skipped.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// A spinner on a terminal; nothing at all when standard error is a pipe or file.
fn progress_bar(_size: Option<u64>) -> indicatif::ProgressBar {
    if !io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} backfill {msg} ({elapsed})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

fn export(
    config: &Config,
    source: Option<&str>,
    since: Option<NaiveDate>,
    format: Format,
    revisions: bool,
) -> Result<ExitCode, Failure> {
    let store = open_store(config)?;
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    for item in store.articles() {
        let (id, latest) = item?;
        if source.is_some_and(|s| s != latest.source) || since.is_some_and(|d| latest.date < d) {
            continue;
        }
        let versions = if revisions {
            store.revisions(id)?
        } else {
            vec![latest]
        };
        for article in &versions {
            let written = match format {
                Format::Archive => newswatch::archive::write_record(&mut out, article),
                Format::Jsonl => {
                    let line = serde_json::json!({
                        "id": id,
                        "revision": article.revision,
                        "title": article.title,
                        "body": article.body,
                        "date": article.date,
                        "url": article.url,
                        "source": article.source,
                        "fetched_at": article.fetched_at,
                        "revised_at": article.revised_at,
                        "hash": article.hash,
                    });
                    writeln!(out, "{line}")
                }
            };
            if let Err(e) = written {
                // A closed pipe (`| head`) is the reader's choice, not a failure.
                if e.kind() == io::ErrorKind::BrokenPipe {
                    return Ok(ExitCode::SUCCESS);
                }
                return Err(e.into());
            }
        }
    }
    match out.flush() {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(ExitCode::SUCCESS),
    }
}

async fn digest(config: Config, dry_run: bool, only: Option<&str>) -> Result<ExitCode, Failure> {
    if config.digests.is_empty() {
        return Err(Failure::Usage(anyhow!(
            "{}: no [digest] or [[notify]] section",
            config.path.display()
        )));
    }
    if let Some(name) = only
        && !config.digests.iter().any(|d| d.name == name)
    {
        let known: Vec<&str> = config.digests.iter().map(|d| d.name.as_str()).collect();
        return Err(Failure::Usage(anyhow!(
            "no digest named {name:?} (known: {})",
            known.join(", ")
        )));
    }
    let outlets = Outlet::all(&config).map_err(|e| Failure::Usage(e.into()))?;
    let store = open_store(&config)?;
    let tz = config.settings.timezone;
    let mut failed = Vec::new();
    for outlet in outlets
        .iter()
        .filter(|o| only.is_none_or(|n| n == o.config.name))
    {
        let name = &outlet.config.name;
        if dry_run {
            match outlet.preview(&store, tz)? {
                None => println!("{name}: nothing pending; no digest would be sent"),
                Some(r) => {
                    let retry = if r.attempts > 0 {
                        format!(
                            " (retry {} of a digest first built {}, Message-ID {})",
                            r.attempts + 1,
                            r.created_at,
                            r.message_id
                        )
                    } else {
                        String::new()
                    };
                    println!(
                        "{name}: would send to {}{retry}",
                        outlet.sender.destination()
                    );
                    if let newswatch::config::Destination::Email(e) = &outlet.config.destination {
                        let to: Vec<String> = e.to.iter().map(ToString::to_string).collect();
                        println!("From: {}\nTo: {}", e.from, to.join(", "));
                    }
                    println!("Subject: {}\n\n{}", r.subject, r.text);
                    if !r.html.is_empty() {
                        println!("----- text/html -----\n{}", r.html);
                    }
                }
            }
            continue;
        }
        match outlet.deliver(&store, tz).await {
            Ok(Delivery::NothingPending) => println!("{name}: nothing pending; no digest sent"),
            Ok(Delivery::Sent { items, attempt }) => {
                let retry = if attempt > 1 {
                    format!(" (attempt {attempt})")
                } else {
                    String::new()
                };
                println!(
                    "{name}: digest of {items} items sent to {}{retry}",
                    outlet.sender.destination()
                );
            }
            Err(e) => {
                eprintln!("newswatch: {e:#}; its items stay queued");
                failed.push(name.clone());
            }
        }
    }
    if failed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(Failure::Runtime(anyhow!("not sent: {}", failed.join(", "))))
    }
}

async fn check(config: &Config, name: &str, limit: Option<usize>) -> Result<ExitCode, Failure> {
    let source = config
        .select_sources(&[name.to_owned()])
        .map_err(|e| Failure::Usage(anyhow!(e)))?
        .remove(0);
    let fetcher = newswatch::fetch::Fetcher::new(
        config.settings.concurrency,
        [(&source.url, &source.fetch)],
    )?;
    let limit = limit.unwrap_or(source.max_articles);
    let report = newswatch::check::check(&fetcher, source, config.settings.timezone, limit).await;
    print!("{}", report.text);
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn status(config: &Config) -> Result<ExitCode, Failure> {
    use newswatch::status;
    let (states, note) = status::load_states(config)?;
    let mut out = io::stdout().lock();
    if let Some(note) = note {
        writeln!(out, "{note}")?;
    }
    for s in status::collect(config, &states) {
        let st = &s.state;
        writeln!(out, "{}", s.name)?;
        writeln!(out, "  health:               {}", s.health)?;
        writeln!(
            out,
            "  last attempt:         {}",
            status::format_time(config, st.last_attempt)
        )?;
        writeln!(
            out,
            "  last success:         {}",
            status::format_time(config, st.last_success)
        )?;
        writeln!(out, "  consecutive failures: {}", st.consecutive_failures)?;
        writeln!(out, "  errors counted:       {}", st.errors_total)?;
        writeln!(
            out,
            "  last error:           {}",
            st.last_error.as_deref().unwrap_or("none")
        )?;
        writeln!(out, "  articles stored:      {}", st.articles_stored)?;
        writeln!(
            out,
            "  next run:             {} ({})",
            s.next_run.as_deref().unwrap_or("unknown"),
            s.schedule
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn validate(config: &Config) -> Result<ExitCode, Failure> {
    let outlets = Outlet::all(config).map_err(|e| Failure::Usage(e.into()))?;
    println!(
        "{}: OK: {} source{}, {} digest{} (state in {})",
        config.path.display(),
        config.sources.len(),
        if config.sources.len() == 1 { "" } else { "s" },
        outlets.len(),
        if outlets.len() == 1 { "" } else { "s" },
        config.settings.state_dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn backup(config: &Config, file: &std::path::Path) -> Result<ExitCode, Failure> {
    let store = open_store(config)?;
    let n = if file.as_os_str() == "-" {
        store.backup(&mut io::BufWriter::new(io::stdout().lock()))?
    } else {
        // Written beside the target and renamed, so a failed backup never replaces a good one.
        let tmp = file.with_extension("partial");
        let f = std::fs::File::create(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        let n = store.backup(&mut io::BufWriter::new(f))?;
        std::fs::rename(&tmp, file).with_context(|| format!("cannot write {}", file.display()))?;
        n
    };
    eprintln!("backup: {n} entries written to {}", file.display());
    Ok(ExitCode::SUCCESS)
}

fn restore(config: &Config, file: &std::path::Path) -> Result<ExitCode, Failure> {
    let input: Box<dyn BufRead> = if file.as_os_str() == "-" {
        Box::new(BufReader::new(io::stdin()))
    } else {
        let f = std::fs::File::open(file)
            .with_context(|| format!("cannot open {}", file.display()))
            .map_err(Failure::Usage)?;
        Box::new(BufReader::new(f))
    };
    let store = open_store(config)?;
    let n = store.restore(input)?;
    eprintln!(
        "restore: {n} entries loaded into {}",
        config.settings.state_dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

async fn extract(
    config: &Config,
    input: &str,
    base: Option<url::Url>,
    source: Option<&str>,
) -> Result<ExitCode, Failure> {
    use newswatch::extract::FieldSelectors;
    let source = match source {
        Some(name) => Some(
            config
                .select_sources(&[name.to_owned()])
                .map_err(|e| Failure::Usage(anyhow!(e)))?
                .remove(0),
        ),
        None => None,
    };
    let policy = source.map_or_else(|| config.settings.fetch.clone(), |s| s.fetch.clone());
    let encoding = source.and_then(|s| s.encoding.as_deref());
    let (text, page_url) = match url::Url::parse(input) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => {
            let fetcher = newswatch::fetch::Fetcher::new(1, [(&u, &policy)])?;
            match fetcher.get(&u, &policy, None).await? {
                newswatch::fetch::Fetched::Page(resp) => {
                    (resp.decode(encoding).text, base.unwrap_or(resp.url.clone()))
                }
                newswatch::fetch::Fetched::NotModified => {
                    return Err(Failure::Runtime(anyhow!("{u}: unexpected 304")));
                }
            }
        }
        _ => {
            let bytes = std::fs::read(input)
                .with_context(|| format!("cannot read {input}"))
                .map_err(Failure::Usage)?;
            let page_url = match base {
                Some(b) => b,
                None => {
                    let abs = std::path::absolute(input).unwrap_or_else(|_| PathBuf::from(input));
                    url::Url::from_file_path(&abs)
                        .map_err(|_| Failure::Usage(anyhow!("{input}: give --url for this file")))?
                }
            };
            (
                newswatch::fetch::charset::decode(&bytes, None, encoding).text,
                page_url,
            )
        }
    };
    let selectors = source.map_or_else(FieldSelectors::default, |s| s.fields.clone());
    let raw = newswatch::extract::article(&text, &page_url, &selectors);
    let date = raw.date.unwrap_or_else(|| {
        chrono::Utc::now()
            .with_timezone(&config.settings.timezone)
            .date_naive()
    });
    let article = newswatch::article::Article::new(
        raw.title.as_deref().unwrap_or_default(),
        raw.body.as_deref().unwrap_or_default(),
        date,
        None,
        "extract",
        chrono::Utc::now(),
    );
    if article.title.is_empty() || article.body.is_empty() {
        let missing = if article.title.is_empty() {
            "title"
        } else {
            "body"
        };
        return Err(Failure::Runtime(anyhow!("{input}: no {missing} found")));
    }
    let mut out = io::stdout().lock();
    newswatch::archive::write_record(&mut out, &article)?;
    if raw.date.is_none() {
        eprintln!("{input}: no date found on the page; today's date used");
    }
    Ok(ExitCode::SUCCESS)
}
