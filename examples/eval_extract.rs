//! Scores automatic extraction (`newswatch::extract::auto`) against the shared datasets.
//!
//! ```text
//! cargo run --release --example eval_extract [-- DATASETS_DIR] [-- --verbose]
//! ```
//!
//! `DATASETS_DIR` defaults to `../shared/datasets` next to the crate. For every page of
//! `zh-extraction` and `readability/test-pages` it prints the body's character-multiset F1 (NFKC,
//! whitespace removed) against the labelled text, the title match (Readability set) and the date
//! match (zh pages with a parseable label), then the means.

use newswatch::extract::auto;
use newswatch::extract::text::visible_text;
use newswatch::normalise;
use scraper::Html;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use unicode_normalization::UnicodeNormalization;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let verbose = args.iter().any(|a| a == "--verbose" || a == "-v");
    // `--dump` writes each extracted body, one paragraph a line, to $TMPDIR/eval_extract/.
    let dump = args
        .iter()
        .any(|a| a == "--dump")
        .then(|| std::env::temp_dir().join("eval_extract"));
    if let Some(d) = &dump {
        let _ = std::fs::create_dir_all(d);
    }
    DUMP.with(|c| *c.borrow_mut() = dump);
    let dir = args
        .iter()
        .find(|a| !a.starts_with('-'))
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets"));
    if !dir.is_dir() {
        println!("no datasets at {}; nothing to evaluate", dir.display());
        return ExitCode::SUCCESS;
    }
    let started = Instant::now();
    let mut bytes_total = 0usize;
    let zh = eval_zh(&dir.join("zh-extraction"), verbose, &mut bytes_total);
    let rd = eval_readability(
        &dir.join("readability/test-pages"),
        verbose,
        &mut bytes_total,
    );
    println!();
    println!("{:<34} {:>6} {:>10}", "summary", "pages", "mean");
    if let Some(zh) = &zh {
        println!(
            "{:<34} {:>6} {:>10.4}",
            "zh body F1",
            zh.f1.len(),
            mean(&zh.f1)
        );
        println!(
            "{:<34} {:>6} {:>10.4}",
            "zh date accuracy",
            zh.date.len(),
            mean(&zh.date)
        );
    }
    if let Some(rd) = &rd {
        println!(
            "{:<34} {:>6} {:>10.4}",
            "readability body F1",
            rd.f1.len(),
            mean(&rd.f1)
        );
        let zh_cases: Vec<f64> = rd
            .names
            .iter()
            .zip(&rd.f1)
            .filter(|(n, _)| matches!(n.as_str(), "gmw" | "qq" | "youth" | "pixnet"))
            .map(|(_, f)| *f)
            .collect();
        println!(
            "{:<34} {:>6} {:>10.4}",
            "readability body F1 (zh cases)",
            zh_cases.len(),
            mean(&zh_cases)
        );
        println!(
            "{:<34} {:>6} {:>10.4}",
            "readability title match",
            rd.title.len(),
            mean(&rd.title)
        );
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{:<34} {:>6} {:>10.1}",
        "MB/s (decode+parse+extract+score)",
        "",
        bytes_total as f64 / 1e6 / secs
    );
    ExitCode::SUCCESS
}

thread_local! {
    static DUMP: std::cell::RefCell<Option<PathBuf>> = const { std::cell::RefCell::new(None) };
}

fn dump(name: &str, body: &str) {
    DUMP.with(|d| {
        if let Some(dir) = d.borrow().as_ref() {
            let lines: Vec<String> = body
                .split(normalise::BLOCK_BREAK)
                .map(normalise::text)
                .filter(|l| !l.is_empty())
                .collect();
            let _ = std::fs::write(dir.join(format!("{name}.txt")), lines.join("\n"));
        }
    });
}

#[derive(Default)]
struct Scores {
    names: Vec<String>,
    f1: Vec<f64>,
    date: Vec<f64>,
    title: Vec<f64>,
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.iter().sum::<f64>() / v.len() as f64
}

fn eval_zh(dir: &Path, verbose: bool, bytes_total: &mut usize) -> Option<Scores> {
    let mut ids: Vec<String> = std::fs::read_dir(dir.join("original"))
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.strip_suffix(".html").map(str::to_string)
        })
        .collect();
    ids.sort();
    println!("zh-extraction ({} pages)", ids.len());
    println!(
        "{:<10} {:>6} {:>6} {:>6} {:<12} {:<12} {:<4} title",
        "id", "F1", "P", "R", "date", "label", "ok"
    );
    let mut s = Scores::default();
    for id in &ids {
        let Ok(raw) = std::fs::read(dir.join("original").join(format!("{id}.html"))) else {
            continue;
        };
        *bytes_total += raw.len();
        let html = decode(&raw);
        let doc = newswatch::extract::parse_document(&html);
        let got = auto::article(&doc, None);
        let label = std::fs::read_to_string(dir.join("cleaned").join(format!("{id}.txt")))
            .unwrap_or_default();
        let body = got.body.as_deref().unwrap_or("");
        let (f1, p, r) = char_f1(body, &label);
        dump(id, body);
        s.names.push(id.clone());
        s.f1.push(f1);
        let date_label = std::fs::read_to_string(dir.join("date").join(format!("{id}.txt")))
            .ok()
            .and_then(|t| full_date(&t));
        let ok = match date_label {
            Some(want) => {
                let hit = got.date == Some(want);
                s.date.push(if hit { 1.0 } else { 0.0 });
                if hit { "yes" } else { "NO" }
            }
            None => "-",
        };
        println!(
            "{:<10} {:>6.3} {:>6.3} {:>6.3} {:<12} {:<12} {:<4} {}",
            &id[..8],
            f1,
            p,
            r,
            got.date.map(|d| d.to_string()).unwrap_or_default(),
            date_label.map(|d| d.to_string()).unwrap_or_default(),
            ok,
            got.title
                .as_deref()
                .map(normalise::text)
                .unwrap_or_default()
        );
        if verbose {
            println!("    body: {}", preview(body));
            println!("    want: {}", preview(&label));
        }
    }
    Some(s)
}

fn eval_readability(dir: &Path, verbose: bool, bytes_total: &mut usize) -> Option<Scores> {
    let mut cases: Vec<String> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("source.html").is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    cases.sort();
    println!();
    println!("readability ({} cases)", cases.len());
    println!(
        "{:<34} {:>6} {:>6} {:>6} {:<5} title",
        "case", "F1", "P", "R", "title"
    );
    let mut s = Scores::default();
    for case in &cases {
        let base = dir.join(case);
        let Ok(raw) = std::fs::read(base.join("source.html")) else {
            continue;
        };
        *bytes_total += raw.len();
        let html = decode(&raw);
        let doc = newswatch::extract::parse_document(&html);
        let got = auto::article(&doc, None);
        let expected = std::fs::read(base.join("expected.html"))
            .map(|b| decode(&b))
            .unwrap_or_default();
        let expected_text = visible_text(Html::parse_document(&expected).root_element());
        let body = got.body.as_deref().unwrap_or("");
        let (f1, p, r) = char_f1(body, &expected_text);
        dump(case, body);
        let want_title = std::fs::read_to_string(base.join("expected-metadata.json"))
            .ok()
            .and_then(|j| serde_json::from_str::<serde_json::Value>(&j).ok())
            .and_then(|v| v.get("title").and_then(|t| t.as_str()).map(normalise::text));
        let got_title = got.title.as_deref().map(normalise::text);
        let title_ok = match &want_title {
            Some(w) => {
                // A page without a title matches an empty expected title.
                let hit = got_title.as_deref().unwrap_or("") == w.as_str();
                s.title.push(if hit { 1.0 } else { 0.0 });
                if hit { "yes" } else { "NO" }
            }
            None => "-",
        };
        s.names.push(case.clone());
        s.f1.push(f1);
        println!(
            "{:<34} {:>6.3} {:>6.3} {:>6.3} {:<5} {}",
            case,
            f1,
            p,
            r,
            title_ok,
            got_title.unwrap_or_default()
        );
        if verbose {
            if title_ok == "NO" {
                println!("    want title: {}", want_title.unwrap_or_default());
            }
            println!("    body: {}", preview(body));
            println!("    want: {}", preview(&expected_text));
        }
    }
    Some(s)
}

fn preview(raw: &str) -> String {
    let t = normalise::text(raw);
    let n = t.chars().count();
    if n <= 300 {
        return t;
    }
    let head: String = t.chars().take(150).collect();
    let tail: String = t.chars().skip(n - 150).collect();
    format!("{head} … {tail}")
}

/// A label that names a whole calendar day (`2005-5-7 21:23:57`, `2004-12-10`); partial labels
/// (`2003-5`), `UNKNOWN` and names do not count.
fn full_date(label: &str) -> Option<chrono::NaiveDate> {
    let t = label.trim();
    let day = t.split_whitespace().next()?;
    let parts: Vec<&str> = day.split(['-', '/']).collect();
    let [y, m, d] = parts.as_slice() else {
        return None;
    };
    chrono::NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

/// Character-multiset F1 after NFKC folding and dropping whitespace: (F1, precision, recall).
fn char_f1(got: &str, want: &str) -> (f64, f64, f64) {
    fn bag(s: &str) -> (HashMap<char, usize>, usize) {
        let mut m = HashMap::new();
        let mut n = 0;
        for c in s.nfkc().filter(|c| !c.is_whitespace()) {
            *m.entry(c).or_insert(0) += 1;
            n += 1;
        }
        (m, n)
    }
    let (g, gn) = bag(got);
    let (w, wn) = bag(want);
    let common: usize = g
        .iter()
        .map(|(c, n)| (*n).min(w.get(c).copied().unwrap_or(0)))
        .sum();
    if gn == 0 || wn == 0 {
        let both_empty = gn == 0 && wn == 0;
        return if both_empty {
            (1.0, 1.0, 1.0)
        } else {
            (0.0, 0.0, 0.0)
        };
    }
    let p = common as f64 / gn as f64;
    let r = common as f64 / wn as f64;
    let f1 = if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    };
    (f1, p, r)
}

/// Decodes page bytes exactly as the crawler does for a response without a charset header.
fn decode(bytes: &[u8]) -> String {
    newswatch::fetch::charset::decode(bytes, None, None).text
}
