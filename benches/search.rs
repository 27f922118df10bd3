//! Search benchmark (issue 14): index size, indexing rate and search latency over a million
//! articles.
//!
//! ```sh
//! cargo bench --bench search                          # 1,000,000 articles (about 10 minutes)
//! cargo bench --bench search -- --articles 20000      # a quick run
//! cargo bench --bench search -- --dir /tmp/idx        # keep the index in /tmp/idx
//! cargo bench --bench search -- --dir /tmp/idx --search-only   # search an index kept before
//! ```
//!
//! Options: `--articles N` (1,000,000), `--queries N` timed queries of each kind (300), `--commit
//! N` articles per commit (100,000, as a backfill would commit), `--limit N` hits per search (20),
//! `--dir PATH` where to build the index (default: a temporary folder under
//! `$NEWSWATCH_BENCH_DIR` or the system temp dir, removed at the end), `--search-only`.
//!
//! Articles are synthesised from the sentences of `../shared/seeds/000_708f4c76f94c8937.txt`
//! (generated sentences when it is absent): a title from the seed titles with a serial number,
//! a body of random sentences up to about 1 KB with their numbers re-drawn, dates over ten
//! years, five sources, signals on a third of them. The seed's vocabulary is small, so common
//! words match a large share of the articles: the latency figures are for a harder case than a
//! real archive's, the size figures for a smaller term dictionary.
//!
//! Queries are words jieba finds in the seed titles (one-word) and pairs of them (two-word),
//! drawn at random; each is run once to warm the page cache, then timed, through a read-only
//! handle opened as the `search` command would, with snippets, as a page of `--limit` hits.

use newswatch::search::{IndexDoc, IndexSignals, Query, SearchIndex};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

struct Args {
    articles: usize,
    queries: usize,
    commit: usize,
    limit: usize,
    dir: Option<PathBuf>,
    search_only: bool,
}

fn parse_args() -> Args {
    let mut a = Args {
        articles: 1_000_000,
        queries: 300,
        commit: 100_000,
        limit: 20,
        dir: None,
        search_only: false,
    };
    let mut it = std::env::args().skip(1);
    let num = |v: Option<String>, what: &str| -> usize {
        v.and_then(|s| s.replace('_', "").parse().ok())
            .unwrap_or_else(|| panic!("{what} needs a number"))
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--bench" => {}
            "--articles" => a.articles = num(it.next(), "--articles"),
            "--queries" => a.queries = num(it.next(), "--queries"),
            "--commit" => a.commit = num(it.next(), "--commit").max(1),
            "--limit" => a.limit = num(it.next(), "--limit"),
            "--dir" => a.dir = Some(PathBuf::from(it.next().expect("--dir needs a path"))),
            "--search-only" => a.search_only = true,
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

struct Texts {
    titles: Vec<String>,
    sentences: Vec<String>,
    from_seeds: bool,
}

fn texts() -> Texts {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/seeds/000_708f4c76f94c8937.txt");
    if let Ok(file) = std::fs::File::open(&path) {
        let mut titles = Vec::new();
        let mut sentences = Vec::new();
        for entry in newswatch::archive::Reader::new(std::io::BufReader::new(file)) {
            if let Ok(newswatch::archive::Entry::Record(r)) = entry {
                titles.push(r.title);
                sentences.extend(
                    r.body
                        .split_inclusive(['。', '!', '?', ';'])
                        .map(str::trim)
                        .filter(|s| s.chars().count() > 6)
                        .map(str::to_owned),
                );
            }
        }
        if !titles.is_empty() && sentences.len() > 50 {
            return Texts {
                titles,
                sentences,
                from_seeds: true,
            };
        }
    }
    let places = [
        "硚口区",
        "东湖高新区",
        "江岸区",
        "东西湖区",
        "汉阳区",
        "洪山区",
    ];
    let acts = ["签约", "开工", "投产", "落户", "竣工", "招商"];
    let things = [
        "光电子信息项目",
        "算力中心",
        "智能制造基地",
        "物流园",
        "生物医药产业园",
    ];
    let mut sentences = Vec::new();
    for p in places {
        for a in acts {
            for t in things {
                sentences.push(format!(
                    "{p}{t}{a}仪式举行,总投资12亿元,将进一步优化营商环境。"
                ));
            }
        }
    }
    Texts {
        titles: places
            .iter()
            .map(|p| format!("{p}招商引资工作动态"))
            .collect(),
        sentences,
        from_seeds: false,
    }
}

const SOURCES: [&str; 5] = [
    "wuhan-gov",
    "wuhan-invest",
    "qiaokou",
    "optics-valley",
    "dongxihu",
];
const STAGES: [&str; 4] = ["签约", "开工", "投产", "竣工"];
const REGIONS: [&str; 4] = ["硚口区", "东西湖区", "东湖高新区", "江岸区"];
const INDUSTRIES: [&str; 4] = ["算力", "物流", "生物医药", "光电子"];

/// Article `i`, the same for the same `i` in every run.
fn article(t: &Texts, i: usize) -> IndexDoc {
    let mut rng = fastrand::Rng::with_seed(i as u64 ^ 0x5EED);
    let mut body = String::with_capacity(1200);
    while body.len() < 1000 {
        let s = &t.sentences[rng.usize(..t.sentences.len())];
        // Numbers re-drawn, so amounts and years differ between articles as they do in news.
        let mut in_digits = false;
        for c in s.chars() {
            if c.is_ascii_digit() {
                if !in_digits {
                    body.push_str(&rng.u32(1..3000).to_string());
                }
                in_digits = true;
            } else {
                in_digits = false;
                body.push(c);
            }
        }
    }
    let day0 = chrono::NaiveDate::from_ymd_opt(2016, 1, 1).expect("date");
    let signals = if i.is_multiple_of(3) {
        IndexSignals {
            stages: vec![STAGES[rng.usize(..STAGES.len())].into()],
            regions: vec![REGIONS[rng.usize(..REGIONS.len())].into()],
            industries: vec![INDUSTRIES[rng.usize(..INDUSTRIES.len())].into()],
            amount_cny: Some(f64::from(rng.u32(1..50_000)) * 1e6),
        }
    } else {
        IndexSignals::default()
    };
    IndexDoc {
        id: i as u64 + 1,
        revision: 0,
        title: format!("{}(第{}期)", t.titles[i % t.titles.len()], i + 1),
        body,
        date: day0 + chrono::Days::new(rng.u64(..3650)),
        source: SOURCES[i % SOURCES.len()].into(),
        url: format!("https://www.example.gov.cn/art/{i}.html"),
        signals,
    }
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Peak resident memory of this process so far, in MiB.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// CPU time this process has used so far (user + system), in seconds: the machine is shared, so
/// wall time alone says little about what indexing costs.
fn cpu_secs() -> f64 {
    stat_cpu_secs("/proc/self/stat")
}

/// CPU time of the calling thread, in seconds.
fn thread_cpu_secs() -> f64 {
    stat_cpu_secs("/proc/thread-self/stat")
}

fn stat_cpu_secs(path: &str) -> f64 {
    let ticks = std::fs::read_to_string(path).ok().and_then(|s| {
        // Fields after the command name (which is in parentheses and may hold spaces).
        let rest = s.rsplit_once(')')?.1;
        let f: Vec<&str> = rest.split_whitespace().collect();
        Some(f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?)
    });
    // Linux reports in clock ticks of 1/100 s on every common configuration.
    ticks.map_or(0.0, |t| t / 100.0)
}

/// Where the bytes of the index go, by component and field, from tantivy's own accounting.
fn space_report(dir: &Path) {
    let Ok(index) = tantivy::Index::open_in_dir(dir) else {
        return;
    };
    let Ok(reader) = index.reader() else {
        return;
    };
    let Ok(usage) = reader.searcher().space_usage() else {
        return;
    };
    let mut by: std::collections::BTreeMap<String, u64> = Default::default();
    for seg in usage.segments() {
        for (what, per_field) in [
            ("terms", seg.termdict()),
            ("postings", seg.postings()),
            ("positions", seg.positions()),
        ] {
            for f in per_field.fields() {
                *by.entry(format!("{} {what}", f.field_name())).or_default() +=
                    f.total().get_bytes();
            }
        }
        *by.entry("stored documents".into()).or_default() += seg.store().total().get_bytes();
        *by.entry("fast fields and norms".into()).or_default() +=
            seg.fast_fields().total().get_bytes() + seg.fieldnorms().total().get_bytes();
    }
    let total: u64 = by.values().sum();
    let mut parts: Vec<(String, u64)> = by.into_iter().collect();
    parts.sort_by_key(|p| std::cmp::Reverse(p.1));
    let shown: Vec<String> = parts
        .iter()
        .filter(|(_, b)| *b * 100 >= total)
        .map(|(k, b)| format!("{k} {:.0}%", *b as f64 * 100.0 / total as f64))
        .collect();
    println!("  where it goes: {}", shown.join(", "));
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() * p).div_ceil(100))
        .saturating_sub(1)
        .min(sorted.len() - 1)]
}

/// jieba's search-mode segmentation alone on one core: the floor under the indexing cost.
fn segmenter_rate(t: &Texts, n: usize) {
    let jieba = jieba_rs::Jieba::new();
    let docs: Vec<IndexDoc> = (0..n.min(5000)).map(|i| article(t, i)).collect();
    let bytes: usize = docs.iter().map(|d| d.title.len() + d.body.len()).sum();
    let s = Instant::now();
    let mut words = 0;
    for d in &docs {
        words += jieba.cut_for_search(&d.title, true).len();
        words += jieba.cut_for_search(&d.body, true).len();
    }
    let took = s.elapsed().as_secs_f64();
    println!(
        "  jieba search mode alone: {:.2} MB/s on one thread ({} articles, {} words)",
        bytes as f64 / 1e6 / took,
        docs.len(),
        words
    );
}

fn build(args: &Args, t: &Texts, dir: &Path) {
    segmenter_rate(t, args.articles);
    let n = args.articles;
    let mut index = SearchIndex::open(dir).expect("open index");
    index.clear().expect("clear");
    let batch = 1000;
    let start = Instant::now();
    let cpu0 = cpu_secs();
    let mut generating = Duration::ZERO;
    let mut generating_cpu = 0.0;
    let mut bytes = 0usize;
    let mut first_commit: Option<(usize, Duration)> = None;
    let mut i = 0;
    while i < n {
        let g = Instant::now();
        let g_cpu = thread_cpu_secs();
        let docs: Vec<IndexDoc> = (i..(i + batch).min(n)).map(|k| article(t, k)).collect();
        generating += g.elapsed();
        generating_cpu += thread_cpu_secs() - g_cpu;
        bytes += docs
            .iter()
            .map(|d| d.title.len() + d.body.len())
            .sum::<usize>();
        index.index(&docs).expect("index");
        i += docs.len();
        if i % args.commit == 0 || i == n {
            index.commit(i as u64).expect("commit");
            let took = start.elapsed() - generating;
            if first_commit.is_none() {
                first_commit = Some((i, took));
            }
            println!(
                "  {i:>9} articles indexed and committed, {:.1} s ({:.0} articles/s)",
                took.as_secs_f64(),
                i as f64 / took.as_secs_f64()
            );
        }
    }
    let indexed = start.elapsed() - generating;
    let m = Instant::now();
    index.close().expect("close");
    let merging = m.elapsed();
    let cpu = cpu_secs() - cpu0 - generating_cpu;
    let size = dir_bytes(dir);
    println!(
        "indexing ({n} articles, {:.0} MB of text):",
        bytes as f64 / 1e6
    );
    println!(
        "  rate: {:.0} articles/s ({:.1} MB/s of text): {:.1} s to index and commit, then {:.1} s for merges to finish",
        n as f64 / indexed.as_secs_f64(),
        bytes as f64 / 1e6 / indexed.as_secs_f64(),
        indexed.as_secs_f64(),
        merging.as_secs_f64(),
    );
    println!(
        "  index size: {:.1} MB, {:.2} MB per 1k articles ({:.0}% of the text)",
        size as f64 / 1e6,
        size as f64 / 1e6 / (n as f64 / 1000.0),
        size as f64 * 100.0 / bytes as f64
    );
    println!(
        "  CPU: {:.1} s for indexing and merging, {:.0} articles per CPU-second ({:.2} MB/s of text per core)",
        cpu,
        n as f64 / cpu,
        bytes as f64 / 1e6 / cpu
    );
    space_report(dir);
    println!("  peak RSS so far: {:.0} MiB", peak_rss_mib());
    if let Some((k, took)) = first_commit {
        let per_100k = took.as_secs_f64() * 100_000.0 / k as f64;
        println!(
            "  backfill estimate: 100k records take {per_100k:.1} s to index (first {k}: {:.1} s); the backfill itself takes ~9 s of the 10 s budget, so {}",
            took.as_secs_f64(),
            if per_100k < 1.0 {
                "indexing fits inline"
            } else {
                "indexing must run in the background (behind the watermark), not inline"
            }
        );
    }
}

fn query_words(t: &Texts) -> Vec<String> {
    // The words a user would type: jieba's words of the titles, two to four CJK characters.
    let mut words = std::collections::BTreeSet::new();
    let jieba = jieba_rs::Jieba::new();
    for title in &t.titles {
        for w in jieba.cut(title, true) {
            let n = w.word.chars().count();
            if (2..=4).contains(&n)
                && w.word
                    .chars()
                    .all(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
            {
                words.insert(w.word.to_owned());
            }
        }
    }
    words.into_iter().collect()
}

struct Latency {
    sorted: Vec<Duration>,
    hits: usize,
    slowest: String,
}

fn run_queries(index: &SearchIndex, queries: &[String], limit: usize) -> Latency {
    for q in queries {
        let mut query = Query::new(q.clone());
        query.limit = limit;
        index.search(&query).expect("warm-up search");
    }
    let mut timed = Vec::with_capacity(queries.len());
    let mut hits = 0;
    for q in queries {
        let mut query = Query::new(q.clone());
        query.limit = limit;
        let s = Instant::now();
        let found = index.search(&query).expect("search");
        timed.push((s.elapsed(), q));
        hits += found.len();
    }
    timed.sort();
    let slowest = timed
        .last()
        .map(|(d, q)| format!("{q} ({:.1} ms)", ms(*d)))
        .unwrap_or_default();
    Latency {
        sorted: timed.into_iter().map(|(d, _)| d).collect(),
        hits,
        slowest,
    }
}

fn main() {
    let args = parse_args();
    let t = texts();
    if !t.from_seeds {
        println!("(seed archive not found: articles use generated sentences)");
    }
    let scratch;
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => {
            let base = std::env::var_os("NEWSWATCH_BENCH_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(std::env::temp_dir);
            scratch = tempfile::Builder::new()
                .prefix("nw-search-")
                .tempdir_in(base)
                .expect("scratch dir");
            scratch.path().to_owned()
        }
    };
    println!(
        "search bench: {} articles, {} cores, index in {}",
        args.articles,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        dir.display()
    );
    if !args.search_only {
        build(&args, &t, &dir);
    }

    let o = Instant::now();
    let index = SearchIndex::open_read_only(&dir).expect("open read-only");
    println!(
        "search ({} articles, read-only handle opened in {:.0} ms, {} hits a page):",
        index.len(),
        ms(o.elapsed()),
        args.limit
    );
    let words = query_words(&t);
    let mut rng = fastrand::Rng::with_seed(14);
    let one: Vec<String> = (0..args.queries)
        .map(|_| words[rng.usize(..words.len())].clone())
        .collect();
    let two: Vec<String> = (0..args.queries)
        .map(|_| {
            format!(
                "{} {}",
                words[rng.usize(..words.len())],
                words[rng.usize(..words.len())]
            )
        })
        .collect();
    for (name, queries) in [("one-word", &one), ("two-word", &two)] {
        let l = run_queries(&index, queries, args.limit);
        println!(
            "  {name}: p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms over {} queries ({} distinct words; {:.1} hits a query; slowest: {})",
            ms(percentile(&l.sorted, 50)),
            ms(percentile(&l.sorted, 95)),
            ms(*l.sorted.last().unwrap_or(&Duration::ZERO)),
            l.sorted.len(),
            words.len(),
            l.hits as f64 / queries.len().max(1) as f64,
            l.slowest,
        );
    }
    println!("  peak RSS: {:.0} MiB", peak_rss_mib());
}
