//! Rows per second into PostgreSQL through the sink, per batch size.
//!
//! `cargo bench --bench sink` starts a throwaway cluster (fsync on, as a real server runs) on
//! 127.0.0.1, builds 100,000 revisions with ~1 KB bodies cut from the seed archive's texts
//! (`../shared/seeds/`; generated sentences when it is absent) and delivers them in batches,
//! each batch size into a fresh schema. Then it delivers the same rows again (all duplicates:
//! what a retry after a crash costs), and, for comparison, loads them the other common way:
//! binary COPY into a temporary table and `INSERT … SELECT … ON CONFLICT DO NOTHING`.
//! `-- --rows N` changes the count; `-- --no-fsync` runs the server without fsync. Needs PostgreSQL installed (see tests/common/postgres.rs).
//!
//! `-- --backfill` measures the release binary end to end instead: the same rows written as an
//! archive under the temporary folder, imported with `newswatch backfill` into a store without
//! a sink and into one with a sink (which delivers every record before it exits), then sent from
//! the first store with `newswatch sink backfill`. It prints each command's wall time and the
//! rows per second into PostgreSQL; the archive and stores are deleted at the end.
//!
//! The machine is shared, so wall-clock rows/s moves with the load average (printed). The CPU
//! seconds the server's processes and this client spent are printed too: rows per CPU-second of
//! the busier of the two is what the pair sustains when each has a core to itself (commit
//! fsyncs aside).

#[path = "../tests/common/mod.rs"]
mod common;

use chrono::{NaiveDate, Utc};
use newswatch::archive::{Entry, Reader};
use newswatch::article::Article;
use newswatch::sink::{PostgresSink, Sink, SinkRow, SinkSettings};
use std::path::Path;
use std::time::Instant;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{Json, Type};

const BATCH_SIZES: [usize; 5] = [100, 500, 1000, 2000, 5000];

fn main() {
    let mut rows_wanted = 100_000usize;
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--rows") {
        rows_wanted = args
            .get(i + 1)
            .and_then(|n| n.parse().ok())
            .expect("--rows N");
    }
    // `--no-fsync` separates the disk's share of the time from the CPU's.
    let durable = !args.iter().any(|a| a == "--no-fsync");
    let Some(pg) = common::postgres::Postgres::start_with(common::postgres::Options {
        tls: false,
        durable,
    }) else {
        return;
    };
    if args.iter().any(|a| a == "--backfill") {
        backfill(&pg, &build_rows(rows_wanted), durable);
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let rows = build_rows(rows_wanted);
    let mb = rows
        .iter()
        .map(|r| r.title.len() + r.body.len())
        .sum::<usize>() as f64
        / 1e6;
    println!(
        "{} rows, {:.0} MB of text (mean body {} bytes), PostgreSQL {}",
        rows.len(),
        mb,
        rows.iter().map(|r| r.body.len()).sum::<usize>() / rows.len().max(1),
        pg.psql("postgres", "SHOW server_version")
    );
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load = load.split(' ').take(3).collect::<Vec<_>>().join(" ");
    println!(
        "load average before: {load}; fsync {}",
        if durable { "on" } else { "off" }
    );
    println!(
        "{:>10} {:>12} {:>10} {:>14} {:>12} {:>12} {:>14}",
        "batch", "rows/s", "seconds", "retry rows/s", "server CPU s", "client CPU s", "rows/CPU-s"
    );
    runtime.block_on(async {
        for size in BATCH_SIZES {
            let schema = format!("bench_{size}");
            let settings =
                SinkSettings::postgres("bench", &pg.url("postgres"), None, Some(&schema))
                    .expect("settings");
            let sink = PostgresSink::new(settings);
            sink.migrate().await.expect("migrate");
            let server_before = cpu_seconds(&pg.server_pids());
            let client_before = cpu_seconds(&[std::process::id()]);
            let (secs, inserted) = deliver(&sink, &rows, size).await;
            let server_cpu = cpu_seconds(&pg.server_pids()) - server_before;
            let client_cpu = cpu_seconds(&[std::process::id()]) - client_before;
            assert_eq!(inserted, rows.len(), "every row inserted once");
            let (retry_secs, again) = deliver(&sink, &rows, size).await;
            assert_eq!(again, 0, "a retry inserts nothing");
            println!(
                "{size:>10} {:>12.0} {secs:>10.2} {:>14.0} {server_cpu:>12.2} {client_cpu:>12.2} {:>14.0}",
                rows.len() as f64 / secs,
                rows.len() as f64 / retry_secs,
                rows.len() as f64 / server_cpu.max(client_cpu)
            );
        }
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        let load = load.split(' ').take(3).collect::<Vec<_>>().join(" ");
        println!("load average after: {load}");
        let secs = copy_then_insert(&pg.url("postgres"), &rows, 1000).await;
        println!(
            "COPY + INSERT … SELECT, batches of 1000: {:.0} rows/s ({secs:.2} s)",
            rows.len() as f64 / secs
        );
    });
}

fn load_average() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    load.split(' ').take(3).collect::<Vec<_>>().join(" ")
}

/// The `--backfill` measurement: the release binary importing `rows` as an archive with and
/// without a sink, and `sink backfill` from a store that has them.
fn backfill(pg: &common::postgres::Postgres, rows: &[SinkRow], durable: bool) {
    use std::io::Write as _;
    let dir = tempfile::Builder::new()
        .prefix("newswatch-sink-bench-")
        .tempdir()
        .expect("temporary folder");
    let archive = dir.path().join("archive.txt");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&archive).expect("archive"));
    for r in rows {
        write!(w, "-\n{}\n{}\n{}\n", r.title, r.body, r.date).expect("write archive");
    }
    w.flush().expect("write archive");
    drop(w);
    let mib = std::fs::metadata(&archive).map_or(0, |m| m.len()) as f64 / 1048576.0;
    println!(
        "archive: {} records, {mib:.0} MiB; PostgreSQL {}, fsync {}",
        rows.len(),
        pg.psql("postgres", "SHOW server_version"),
        if durable { "on" } else { "off" }
    );
    let config = |name: &str, schema: Option<&str>| {
        let path = dir.path().join(format!("{name}.toml"));
        let sink = schema.map_or(String::new(), |schema| {
            format!(
                "\n[[sink]]\nname = \"bench\"\nkind = \"postgres\"\nurl = \"{}\"\nschema = \"{schema}\"\n",
                pg.url("postgres")
            )
        });
        std::fs::write(
            &path,
            format!("[settings]\nstate_dir = \"{name}\"\ninstance = \"bench\"\n{sink}"),
        )
        .expect("config");
        path
    };
    let run = |what: &str, config: &Path, args: &[&str]| {
        let load = load_average();
        let server_before = cpu_seconds(&pg.server_pids());
        let started = Instant::now();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_newswatch"))
            .arg("--config")
            .arg(config)
            .args(args)
            .output()
            .expect("run newswatch");
        let secs = started.elapsed().as_secs_f64();
        let server = cpu_seconds(&pg.server_pids()) - server_before;
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{what}: {said}");
        println!(
            "{what:<40} {secs:>7.1} s {:>9.0} records/s  server CPU {server:>5.1} s  (load {load})",
            rows.len() as f64 / secs
        );
        for line in said.lines() {
            println!("    {line}");
        }
        secs
    };
    let archive = archive.to_string_lossy().into_owned();
    let plain = run(
        "backfill, no sink",
        &config("plain", None),
        &["backfill", &archive],
    );
    let with = run(
        "backfill with the sink on",
        &config("with", Some("bench_backfill")),
        &["backfill", &archive],
    );
    println!(
        "  the sink's share: {:.1} s, {:.0} rows/s into PostgreSQL",
        with - plain,
        rows.len() as f64 / (with - plain).max(0.001)
    );
    // The store without a sink gets one, and sends what it holds.
    let sent = run(
        "sink backfill (store of the first run)",
        &config("plain", Some("bench_sink_backfill")),
        &["sink", "backfill", "bench"],
    );
    println!("  {:.0} rows/s into PostgreSQL", rows.len() as f64 / sent);
    let _ = run(
        "sink backfill again (all already there)",
        &config("plain", Some("bench_sink_backfill")),
        &["sink", "backfill", "bench"],
    );
}

/// User plus system CPU time of `pids` and their finished children, in seconds (Linux `/proc/PID/stat`, 100 ticks a second).
fn cpu_seconds(pids: &[u32]) -> f64 {
    let mut ticks = 0u64;
    for pid in pids {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
        let fields: Vec<&str> = after.split_whitespace().collect();
        // utime, stime, cutime, cstime: fields 14 to 17 of stat, 12 to 15 after the command.
        // The children's share keeps the sum steady when a server process (an autovacuum
        // worker) exits between two readings: its time moves into the postmaster's.
        for i in [11, 12, 13, 14] {
            ticks += fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    ticks as f64 / 100.0
}

async fn deliver(sink: &PostgresSink, rows: &[SinkRow], size: usize) -> (f64, usize) {
    let started = Instant::now();
    let mut inserted = 0;
    for chunk in rows.chunks(size) {
        inserted += sink.deliver(chunk).await.expect("delivered").inserted;
    }
    (started.elapsed().as_secs_f64(), inserted)
}

/// The alternative to the sink's one-statement UNNEST insert, on the same table layout.
async fn copy_then_insert(url: &str, rows: &[SinkRow], size: usize) -> f64 {
    let settings =
        SinkSettings::postgres("bench", url, None, Some("bench_copy")).expect("settings");
    PostgresSink::new(settings)
        .migrate()
        .await
        .expect("migrate");
    let (mut client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    let types = [
        Type::INT8,
        Type::INT4,
        Type::TEXT,
        Type::TEXT,
        Type::DATE,
        Type::TEXT,
        Type::TEXT,
        Type::TIMESTAMPTZ,
        Type::TIMESTAMPTZ,
        Type::TEXT,
        Type::JSONB,
        Type::TEXT,
    ];
    let started = Instant::now();
    for chunk in rows.chunks(size) {
        let tx = client.transaction().await.expect("begin");
        tx.batch_execute(
            "CREATE TEMP TABLE incoming (LIKE bench_copy.articles INCLUDING DEFAULTS) ON COMMIT DROP",
        )
        .await
        .expect("temp table");
        let sink = tx
            .copy_in(
                "COPY incoming (id, revision, title, body, date, url, source, fetched_at, revised_at, hash, signals, instance) FROM STDIN BINARY",
            )
            .await
            .expect("copy");
        let writer = BinaryCopyInWriter::new(sink, &types);
        let mut writer = std::pin::pin!(writer);
        for r in chunk {
            let hash = r.hash.to_string();
            let signals = r.signals.as_ref().map(Json);
            writer
                .as_mut()
                .write(&[
                    &(r.id as i64),
                    &(r.revision as i32),
                    &r.title,
                    &r.body,
                    &r.date,
                    &r.url,
                    &r.source,
                    &r.fetched_at,
                    &r.revised_at,
                    &hash,
                    &signals,
                    &r.instance,
                ])
                .await
                .expect("copy row");
        }
        writer.finish().await.expect("copy end");
        tx.execute(
            "INSERT INTO bench_copy.articles (id, revision, title, body, date, url, source, fetched_at, revised_at, hash, signals, instance)
             SELECT id, revision, title, body, date, url, source, fetched_at, revised_at, hash, signals, instance
             FROM incoming ON CONFLICT (hash) DO NOTHING",
            &[],
        )
        .await
        .expect("insert");
        tx.commit().await.expect("commit");
    }
    started.elapsed().as_secs_f64()
}

/// `n` revisions with bodies of about 1 KB (≈ 340 Chinese characters) cut from the seed texts
/// at varying offsets, each made unique by a serial number.
fn build_rows(n: usize) -> Vec<SinkRow> {
    let texts = seed_texts();
    let day = NaiveDate::from_ymd_opt(2025, 7, 2).expect("date");
    let now = Utc::now();
    (0..n)
        .map(|i| {
            let (title, body) = &texts[i % texts.len()];
            let chars: Vec<char> = body.chars().collect();
            let start = (i * 37) % chars.len().saturating_sub(340).max(1);
            let slice: String = chars[start..(start + 340).min(chars.len())]
                .iter()
                .collect();
            let article = Article::new(
                &format!("{title} ({i})"),
                &format!("{slice} 第{i}号"),
                day - chrono::Days::new((i % 3650) as u64),
                Some(format!("https://portal.example.gov.cn/art/{i}.html")),
                ["qiaokou", "wuhan-gov", "optics-valley", "dongxihu"][i % 4],
                now,
            );
            let signals = (i % 3 == 0).then(|| serde_json::json!({"amount_yuan": i * 10_000}));
            SinkRow::new("bench", i as u64, &article, signals)
        })
        .collect()
}

fn seed_texts() -> Vec<(String, String)> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/seeds/000_708f4c76f94c8937.txt");
    let mut texts = Vec::new();
    if let Ok(file) = std::fs::File::open(&path) {
        for entry in Reader::new(std::io::BufReader::new(file)).flatten() {
            if let Entry::Record(r) = entry
                && r.body.chars().count() > 400
            {
                texts.push((r.title, r.body));
            }
        }
    }
    if texts.is_empty() {
        println!("(seed archive not found: bodies are generated sentences)");
        let sentence = "武汉市持续优化营商环境,推动招商引资项目落地见效,重点项目集中签约开工。";
        texts.push(("招商引资项目集中签约".to_owned(), sentence.repeat(20)));
    }
    texts
}
