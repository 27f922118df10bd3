//! The `newswatch` command line: parses arguments, calls the command in `newswatch::cli`, prints
//! what it returns, and maps outcomes to exit codes (0 success, 1 runtime failure, 2 bad usage
//! or bad config).

use anyhow::anyhow;
use chrono::NaiveDate;
use clap::{Parser, Subcommand, ValueEnum};
use newswatch::archive::Entry;
use newswatch::cli::{self, CliError, DigestOutcome, ExportFilter, ExportFormat};
use newswatch::config::Config;
use newswatch::notify::{Channel, Delivery};
use std::io::{self, IsTerminal as _, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

/// A line on standard error that never panics: `eprintln!` does when stderr is a closed pipe
/// (`2>&1 | head`), and a message that cannot be shown is no reason to fail.
macro_rules! note {
    ($($arg:tt)*) => {{
        let _ = writeln!(io::stderr(), $($arg)*);
    }};
}

/// Set when standard output's reader went away (`| head`).
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Standard output that notes a closed pipe, so the command ends quietly, as Unix tools do,
/// instead of reporting "Broken pipe" as a failure.
struct Stdout(io::Stdout);

impl Stdout {
    fn noted<T>(result: io::Result<T>) -> io::Result<T> {
        if let Err(e) = &result
            && e.kind() == io::ErrorKind::BrokenPipe
        {
            STDOUT_CLOSED.store(true, Ordering::SeqCst);
        }
        result
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Stdout::noted(self.0.write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        Stdout::noted(self.0.flush())
    }
}

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
    /// Run the daemon: crawl each source on its schedule and send each digest on its schedule,
    /// until SIGINT or SIGTERM.
    Run,
    /// Crawl all (or the named) sources once, now.
    Crawl {
        /// Source names; all sources when none is given.
        sources: Vec<String>,
        /// `text`: one line per source; `json`: one JSON object per source and line, with its
        /// counts and each URL's outcome.
        #[arg(long, value_enum, default_value_t = Output::Text)]
        format: Output,
    },
    /// Import an archive file (`-` for standard input).
    Backfill {
        file: PathBuf,
        /// Store records under this source name.
        #[arg(long, default_value = "archive")]
        source: String,
        /// Put the imported records in the digests whose filters take them.
        #[arg(long)]
        notify: bool,
        /// The file's encoding: utf-8 (default), gbk, gb18030, big5 or any other
        /// ASCII-compatible label, or auto to detect it.
        #[arg(long)]
        encoding: Option<String>,
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
    /// Write the whole state (articles, revisions, digests, source state, HTTP cache) to FILE
    /// (`-`: standard output). Stop the daemon first: it holds the store.
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
        /// `archive`: the record on standard output, its signals on standard error; `jsonl`:
        /// one JSON object with the record's fields and its `signals`, as `export` writes it.
        #[arg(long, value_enum, default_value_t = Format::Archive)]
        format: Format,
    },
    /// Check the config (keys, schedules, selectors, URLs, templates, secrets) and exit:
    /// 0 when it is good, 2 with every problem listed when not. Starts nothing.
    Validate,
    /// Show each source's health, last attempt, last success, failures, articles and next run.
    Status {
        #[arg(long, value_enum, default_value_t = Output::Text)]
        format: Output,
    },
    /// Articles, projects and amounts per region, stage, industry or source over a period: the
    /// table to hand on.
    Report {
        /// First day of the period (YYYY-MM-DD, the articles' dates, inclusive).
        #[arg(long)]
        since: Option<NaiveDate>,
        /// Last day of the period (inclusive).
        #[arg(long)]
        until: Option<NaiveDate>,
        /// What each row is.
        #[arg(long, value_enum, default_value_t = By::Region)]
        by: By,
        /// `md`: a markdown table with the period as its heading; `csv`: for spreadsheets,
        /// amounts in units of their currency.
        #[arg(long, value_enum, default_value_t = Table::Md)]
        format: Table,
    },
    /// Work with the `[[sink]]` databases.
    Sink {
        #[command(subcommand)]
        command: SinkCommand,
    },
    /// Search the stored articles' titles and bodies, best first. Works while the daemon runs.
    Search {
        /// Words separated by spaces, all required: a Chinese word matches where its characters
        /// stand together, a Latin word or number as a whole word; "…" keeps a phrase, -word
        /// excludes.
        #[arg(required = true)]
        query: Vec<String>,
        /// Only articles of this source.
        #[arg(long)]
        source: Option<String>,
        /// Only articles dated on or after this day (YYYY-MM-DD).
        #[arg(long)]
        since: Option<NaiveDate>,
        /// Only articles dated on or before this day (YYYY-MM-DD).
        #[arg(long)]
        until: Option<NaiveDate>,
        /// Only articles at this stage (签约, 落户, 开工, 投产, 竣工, 揭牌, 推介, 增资, 政策, or
        /// its English name: signing …); repeat for any of several.
        #[arg(long = "stage", value_name = "STAGE")]
        stages: Vec<String>,
        /// Only articles naming this region or one inside it (武汉市, 东西湖区, 光谷 …); repeat for
        /// any of several.
        #[arg(long = "region", value_name = "REGION")]
        regions: Vec<String>,
        /// Only articles in this industry (新能源汽车, 人工智能 …); repeat for any of several.
        #[arg(long = "industry", value_name = "INDUSTRY")]
        industries: Vec<String>,
        /// Only articles stating an amount of at least this much (10亿元, 5000万美元), compared
        /// in yuan at fixed rates.
        #[arg(long, value_name = "AMOUNT")]
        min_amount: Option<String>,
        /// At most this many articles (1-1000).
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// `text`: title, date, source, URL and a highlighted snippet per article; `jsonl`: one
        /// JSON object per article (id, title, date, source, url, snippet, score).
        #[arg(long, value_enum, default_value_t = SearchFormat::Text)]
        format: SearchFormat,
    },
    /// Rebuild the search index from every stored article. Stop the daemon first: it holds the
    /// store.
    Reindex,
    /// Build each digest of everything pending and send it now.
    Digest {
        /// Print exactly what would be sent and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Only this digest; all when not given.
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Subcommand)]
enum SinkCommand {
    /// Send everything already in the store (every article, every kept revision) to sink
    /// NAME: for a sink added to a store that already holds articles. Safe to repeat: texts
    /// already there are left alone. Stop the daemon first: it holds the store.
    Backfill { name: String },
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum Output {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum By {
    Region,
    Stage,
    Industry,
    Source,
}

#[derive(Clone, Copy, ValueEnum)]
enum Table {
    Md,
    Csv,
}

#[derive(Clone, Copy, ValueEnum)]
enum SearchFormat {
    Text,
    Jsonl,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// The plain-text archive format (`-`, title, body, date).
    Archive,
    /// One JSON object per line with every stored field.
    Jsonl,
}

/// A failure and the exit code it earns.
struct Failure {
    code: u8,
    error: anyhow::Error,
}

impl From<CliError> for Failure {
    fn from(e: CliError) -> Self {
        Failure {
            code: e.exit_code(),
            error: e.into(),
        }
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure {
            code: 1,
            error: e.into(),
        }
    }
}

/// How long abandoned background work may delay the exit once a command is done.
const EXIT_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A backup cut short is a failure even when its reader left on purpose.
    let backup = matches!(cli.command, Command::Backup { .. });
    init_logging(matches!(cli.command, Command::Run), cli.log_format);
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure {
            code: 1,
            error: anyhow!("cannot start the runtime: {e}"),
        })
        .and_then(|rt| {
            let result = rt.block_on(dispatch(cli));
            // Work abandoned at shutdown (a request, a flush on the blocking pool) must not hold
            // the process: dropping the runtime would wait for it without end.
            rt.shutdown_timeout(EXIT_GRACE);
            result
        });
    match result {
        Ok(code) => code,
        Err(_) if backup && STDOUT_CLOSED.load(Ordering::SeqCst) => {
            note!("newswatch: backup: standard output was closed before the backup was complete");
            ExitCode::from(1)
        }
        Err(_) if STDOUT_CLOSED.load(Ordering::SeqCst) => ExitCode::SUCCESS,
        Err(f) => {
            note!("newswatch: {:#}", f.error);
            ExitCode::from(f.code)
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

fn exit(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

async fn dispatch(args: Cli) -> Result<ExitCode, Failure> {
    // Not locked: nothing else prints to stdout, and a lock held across awaits would be.
    let mut out = Stdout(io::stdout());
    if let Command::Extract {
        input,
        url,
        source,
        format,
    } = args.command
    {
        let config = cli::extract_config(&args.config, source.as_deref())?;
        let got = cli::extract(config.as_ref(), &input, url, source.as_deref()).await?;
        match format {
            Format::Archive => {
                newswatch::archive::write_record(&mut out, &got.article)?;
                out.flush()?;
                // Beside the record, not in it: the record stays a valid archive entry
                // for `backfill` and evaluations that read standard output.
                note!("signals:");
                for line in got.signals.lines() {
                    note!("  {line}");
                }
            }
            Format::Jsonl => writeln!(out, "{}", got.json_line()?)?,
        }
        if !got.dated {
            note!("{input}: no date found on the page; today's date used");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let config = Config::load(&args.config).map_err(CliError::from)?;
    match args.command {
        Command::Run => {
            cli::run(config, shutdown_signal()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Crawl { sources, format } => {
            let crawled = cli::crawl(&config, &sources).await?;
            match &crawled.index {
                cli::IndexUpdate::Current(_) => {}
                cli::IndexUpdate::Waiting(n) => note!(
                    "search: {n} articles wait to be indexed; the daemon indexes them in the background, `newswatch search` or `newswatch reindex` before searching"
                ),
                cli::IndexUpdate::Failed(why) => note!(
                    "newswatch: search index not updated: {why}; it catches up on the next `search` or daemon start"
                ),
            }
            let reports = &crawled.reports;
            for report in reports {
                match format {
                    Output::Text => writeln!(out, "{report}")?,
                    Output::Json => writeln!(
                        out,
                        "{}",
                        serde_json::to_string(report).map_err(io::Error::from)?
                    )?,
                }
            }
            let delivered = tell_sinks(&crawled.sinks);
            Ok(exit(reports.iter().all(|r| r.succeeded()) && delivered))
        }
        Command::Backfill {
            file,
            source,
            notify,
            encoding,
        } => {
            let input = cli::open_input(&file)?;
            let name = input.name.clone();
            let bar = progress_bar();
            // Reported as met, so a file of a million bad lines costs no memory.
            let notice = |entry: &Entry| {
                let line = match entry {
                    Entry::Rejected { line, reason } => {
                        format!("{name}:{line}: rejected: {reason}")
                    }
                    Entry::Skipped { line, text } => {
                        format!("{name}:{line}: skipped (not part of a record): {text:?}")
                    }
                    Entry::Record(_) => return,
                };
                bar.suspend(|| note!("{line}"));
            };
            let (report, sinks, waiting) = cli::backfill(
                &config,
                input,
                &source,
                notify,
                encoding.as_deref(),
                &|line| {
                    if line % 256 == 0 {
                        bar.set_message(format!("line {line}"));
                        bar.tick();
                    }
                },
                &notice,
            )
            .await?;
            bar.finish_and_clear();
            let read_as = if encoding.is_some_and(|e| e.eq_ignore_ascii_case("auto")) {
                format!(" (read as {})", report.encoding.name())
            } else {
                String::new()
            };
            writeln!(
                out,
                "{name}: {} imported, {} duplicate, {} rejected, {} skipped{read_as}",
                report.imported, report.duplicate, report.rejected, report.skipped
            )?;
            if waiting > 0 {
                note!(
                    "search: {waiting} articles wait to be indexed (about {} articles a second): the daemon indexes them in the background, searchable as it goes; without it, `newswatch search` indexes them before its first search, or run `newswatch reindex`",
                    INDEX_RATE
                );
            }
            Ok(exit(tell_sinks(&sinks)))
        }
        Command::Sink {
            command: SinkCommand::Backfill { name },
        } => {
            let bar = counter_bar(&format!("sink backfill {name}"));
            let sent = cli::sink_backfill(&config, &name, &|done, total| {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            })
            .await;
            bar.finish_and_clear();
            let sent = sent?;
            writeln!(
                out,
                "sink {name}: {} revisions sent: {} rows added, {} already there",
                sent.entries, sent.inserted, sent.duplicates
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Export {
            source,
            since,
            format,
            revisions,
        } => {
            let filter = ExportFilter {
                source,
                since,
                revisions,
            };
            let format = match format {
                Format::Archive => ExportFormat::Archive,
                Format::Jsonl => ExportFormat::Jsonl,
            };
            cli::export(&config, &filter, format, &mut out)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Report {
            since,
            until,
            by,
            format,
        } => {
            let by = match by {
                By::Region => cli::GroupBy::Region,
                By::Stage => cli::GroupBy::Stage,
                By::Industry => cli::GroupBy::Industry,
                By::Source => cli::GroupBy::Source,
            };
            let report = cli::report(&config, by, since, until)?;
            match format {
                Table::Md => write!(out, "{}", report.markdown())?,
                Table::Csv => write!(out, "{}", report.csv())?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Search {
            query,
            source,
            since,
            until,
            stages,
            regions,
            industries,
            min_amount,
            limit,
            format,
        } => {
            let mut q = cli::Query::new(query.join(" "));
            q.source = source;
            q.since = since;
            q.until = until;
            q.limit = limit;
            let names = cli::SignalNames {
                stages,
                regions,
                industries,
                min_amount,
            };
            cli::filter_signals(&config, &names, &mut q)?;
            let bar = indexing_bar();
            let found = cli::search(&config, &q, &mut |done, total| {
                bar.set_length(total);
                bar.set_position(done);
            })?;
            bar.finish_and_clear();
            print_hits(&found.hits, format, &mut out)?;
            if found.hits.is_empty() && io::stderr().is_terminal() {
                note!("no article holds every word of {:?}", q.text);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Reindex => {
            let bar = indexing_bar();
            let started = std::time::Instant::now();
            let n = cli::reindex(&config, &mut |done, total| {
                bar.set_length(total);
                bar.set_position(done);
            })?;
            bar.finish_and_clear();
            writeln!(
                out,
                "search index rebuilt: {n} articles in {:.1} s",
                started.elapsed().as_secs_f64()
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Digest { dry_run, name } => {
            digest(&config, dry_run, name.as_deref(), &mut out).await
        }
        Command::Check { source, limit } => {
            let report = cli::check(&config, &source, limit).await?;
            write!(out, "{}", report.text)?;
            Ok(exit(report.ok))
        }
        Command::Status { format } => {
            let status = cli::status(&config)?;
            match format {
                Output::Text => write!(out, "{}", status.render_text())?,
                Output::Json => writeln!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(&status).map_err(io::Error::from)?
                )?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate => {
            let digests = cli::validate(&config)?;
            let n = config.sources.len();
            let sinks = match config.sinks.len() {
                0 => String::new(),
                k => format!(
                    ", {k} sink{} (writing as instance {})",
                    if k == 1 { "" } else { "s" },
                    config.settings.instance
                ),
            };
            writeln!(
                out,
                "{}: OK: {n} source{}, {digests} digest{}{sinks} (state in {})",
                config.path.display(),
                if n == 1 { "" } else { "s" },
                if digests == 1 { "" } else { "s" },
                config.settings.state_dir.display()
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Backup { file } => {
            let n = cli::backup(&config, &file, &mut out)?;
            note!("backup: {n} entries written to {}", file.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Restore { file } => {
            let n = cli::restore(&config, cli::open_input(&file)?)?;
            note!(
                "restore: {n} entries loaded into {}",
                config.settings.state_dir.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Extract { .. } => unreachable!("extract is dispatched before the config is read"),
    }
}

async fn digest(
    config: &Config,
    dry_run: bool,
    only: Option<&str>,
    out: &mut impl Write,
) -> Result<ExitCode, Failure> {
    let mut failed = Vec::new();
    for run in cli::digest(config, dry_run, only).await? {
        let (name, to) = (&run.name, &run.destination);
        match run.outcome {
            DigestOutcome::Preview(None) => {
                writeln!(out, "{name}: nothing pending; no digest would be sent")?
            }
            DigestOutcome::Preview(Some(r)) => {
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
                writeln!(out, "{name}: would send to {to}{retry}")?;
                let settings = config.digests.iter().find(|d| d.name == *name);
                if let Some(Channel::Mail(m)) = settings.map(|d| &d.channel) {
                    let recipients: Vec<String> = m.to.iter().map(ToString::to_string).collect();
                    writeln!(out, "From: {}\nTo: {}", m.from, recipients.join(", "))?;
                }
                writeln!(out, "Subject: {}\n\n{}", r.subject, r.text)?;
                if !r.html.is_empty() {
                    writeln!(out, "----- text/html -----\n{}", r.html)?;
                }
            }
            DigestOutcome::Delivered(Delivery::NothingPending) => {
                writeln!(out, "{name}: nothing pending; no digest sent")?
            }
            DigestOutcome::Delivered(Delivery::Sent {
                items,
                attempt,
                more_pending,
            }) => {
                let retry = if attempt > 1 {
                    format!(" (attempt {attempt})")
                } else {
                    String::new()
                };
                let more = if more_pending > 0 {
                    format!("; {more_pending} more pending")
                } else {
                    String::new()
                };
                writeln!(
                    out,
                    "{name}: digest of {items} items sent to {to}{retry}{more}"
                )?;
            }
            // A refusal for good says itself what becomes of the items.
            DigestOutcome::Failed(e) if e.is_refusal() => {
                eprintln!("newswatch: {:#}", anyhow::Error::from(e));
                failed.push(run.name);
            }
            DigestOutcome::Failed(e) => {
                note!(
                    "newswatch: {:#}; its items stay queued",
                    anyhow::Error::from(e)
                );
                failed.push(run.name);
            }
        }
    }
    if failed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(CliError::Failed(format!("not sent: {}", failed.join(", "))).into())
    }
}

/// Says what each sink got before the command exits; false when one was left with rows queued
/// (the command then exits 1, as a digest that could not be sent does).
fn tell_sinks(runs: &[cli::SinkRun]) -> bool {
    for run in runs.iter().filter(|r| r.worth_telling()) {
        if run.ok() {
            note!("{run}");
        } else {
            note!("newswatch: {run}");
        }
    }
    runs.iter().all(cli::SinkRun::ok)
}

/// A bar counting to a total on a terminal; nothing at all when standard error is a pipe or
/// file.
fn counter_bar(what: &str) -> indicatif::ProgressBar {
    if !io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{prefix} {bar:30} {pos}/{len} articles ({per_sec}, {eta} left)",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_prefix(what.to_owned());
    bar.enable_steady_tick(std::time::Duration::from_millis(250));
    bar
}

/// Articles indexed per second on one core of the build machine (README, Performance), for the
/// estimate `backfill` gives.
const INDEX_RATE: u32 = 1_400;

/// A bar counting articles indexed, on a terminal; nothing at all in a pipe or file.
fn indexing_bar() -> indicatif::ProgressBar {
    if !io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "indexing for search {bar:30} {pos}/{len} articles ({eta} left)",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// One JSON line of `search --format jsonl`.
#[derive(serde::Serialize)]
struct HitLine<'a> {
    id: u64,
    title: &'a str,
    date: String,
    source: &'a str,
    url: Option<&'a str>,
    snippet: &'a str,
    score: f32,
    /// Character ranges of `snippet` that matched, `[from, to)`.
    highlights: Vec<[usize; 2]>,
}

/// Character offsets of byte `ranges` in `text`.
fn char_ranges(text: &str, ranges: &[std::ops::Range<usize>]) -> Vec<[usize; 2]> {
    let at = |byte: usize| text[..byte].chars().count();
    ranges.iter().map(|r| [at(r.start), at(r.end)]).collect()
}

fn print_hits(hits: &[cli::Hit], format: SearchFormat, out: &mut impl Write) -> io::Result<()> {
    // Matches stand out in colour on a terminal, and as **…** (as in the text digest) in a pipe.
    let (open, close) = if io::stdout().is_terminal() {
        ("\x1b[1;31m", "\x1b[0m")
    } else {
        ("**", "**")
    };
    for (i, h) in hits.iter().enumerate() {
        match format {
            SearchFormat::Text => {
                let url = if h.url.is_empty() {
                    String::new()
                } else {
                    format!(" · {}", h.url)
                };
                writeln!(
                    out,
                    "{}. {}\n   {} · {} · #{}{url}\n   {}\n",
                    i + 1,
                    h.title.marked(open, close),
                    h.date,
                    h.source,
                    h.id,
                    h.snippet.marked(open, close)
                )?;
            }
            SearchFormat::Jsonl => {
                let line = HitLine {
                    id: h.id,
                    title: &h.title.text,
                    date: h.date.to_string(),
                    source: &h.source,
                    url: (!h.url.is_empty()).then_some(h.url.as_str()),
                    snippet: &h.snippet.text,
                    score: h.score,
                    highlights: char_ranges(&h.snippet.text, &h.snippet.highlights),
                };
                writeln!(
                    out,
                    "{}",
                    serde_json::to_string(&line).map_err(io::Error::from)?
                )?;
            }
        }
    }
    out.flush()
}

/// A spinner on a terminal; nothing at all when standard error is a pipe or file.
fn progress_bar() -> indicatif::ProgressBar {
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
