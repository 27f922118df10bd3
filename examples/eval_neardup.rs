//! Measures near-duplicate detection (SimHash over 4-character shingles) on real texts:
//! the seed archive, the hand-labelled Chinese pages and Mozilla Readability's pages.
//!
//! - false merges: pairs of *different* texts whose fingerprints are within the threshold;
//! - missed merges: edited copies of a text (a byline added, a figure corrected, a sentence
//!   added or dropped, a source line appended) whose fingerprint is *beyond* the threshold.
//!
//! `cargo run --release --example eval_neardup [-- DATASETS_DIR [SEEDS_DIR]]`
//! (defaults: `../shared/datasets`, `../shared/seeds`). Prints rates for several thresholds.

use newswatch::article::{FINGERPRINT_MIN_CHARS, Fingerprint, NEAR_DUPLICATE_BITS};
use newswatch::normalise;
use std::path::{Path, PathBuf};

fn texts(datasets: &Path, seeds: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(seeds) {
        for e in entries.filter_map(Result::ok) {
            let Ok(text) = std::fs::read_to_string(e.path()) else {
                continue;
            };
            let lines: Vec<&str> = text.lines().collect();
            for (i, l) in lines.iter().enumerate() {
                if *l == "-" && i + 2 < lines.len() {
                    out.push((
                        format!("seed:{}", lines[i + 1]),
                        normalise::text(lines[i + 2]),
                    ));
                }
            }
        }
    }
    let cleaned = datasets.join("zh-extraction/cleaned");
    if let Ok(entries) = std::fs::read_dir(&cleaned) {
        let mut paths: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            if let Ok(t) = std::fs::read_to_string(&p) {
                out.push((format!("zh:{}", p.display()), normalise::text(&t)));
            }
        }
    }
    let pages = datasets.join("readability/test-pages");
    if let Ok(entries) = std::fs::read_dir(&pages) {
        let mut dirs: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        dirs.sort();
        for d in dirs {
            if let Ok(html) = std::fs::read_to_string(d.join("expected.html")) {
                let t = normalise::text(&newswatch::extract::fragment_text(&html));
                out.push((format!("readability:{}", d.display()), t));
            }
        }
    }
    out
}

/// Edited copies a portal or a publisher typically makes of an article.
fn variants(body: &str) -> Vec<(&'static str, String)> {
    let sentences: Vec<&str> = body
        .split_inclusive(['。', '.', '!', '?', '！', '？'])
        .collect();
    let mut v = vec![
        ("byline added", format!("(记者 张三 通讯员 李四) {body}")),
        (
            "source line appended",
            format!("{body} 来源:武汉发布 责任编辑:王五"),
        ),
        (
            "sentence added",
            format!("{body} 下一步,将持续优化营商环境,推动项目早日落地见效。"),
        ),
    ];
    if let Some(pos) = body.find(|c: char| c.is_ascii_digit()) {
        let mut s = body.to_owned();
        let digit = &body[pos..pos + 1];
        let replaced = if digit == "9" { "8" } else { "9" };
        s.replace_range(pos..pos + 1, replaced);
        v.push(("figure corrected", s));
    }
    if sentences.len() > 4 {
        v.push((
            "last sentence dropped",
            sentences[..sentences.len() - 1].concat(),
        ));
    }
    v
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let datasets = PathBuf::from(args.get(1).map_or("../shared/datasets", String::as_str));
    let seeds = PathBuf::from(args.get(2).map_or("../shared/seeds", String::as_str));
    let all = texts(&datasets, &seeds);
    if all.is_empty() {
        println!(
            "no texts found under {} or {}; nothing measured",
            datasets.display(),
            seeds.display()
        );
        return;
    }
    let fps: Vec<(&str, Fingerprint, &str)> = all
        .iter()
        .filter_map(|(name, body)| {
            Fingerprint::of(body).map(|fp| (name.as_str(), fp, body.as_str()))
        })
        .collect();
    println!(
        "{} texts, {} long enough to fingerprint (>= {FINGERPRINT_MIN_CHARS} letters/digits)",
        all.len(),
        fps.len()
    );
    let mut pair_distances = Vec::new();
    for i in 0..fps.len() {
        for j in i + 1..fps.len() {
            // Identical texts are exact duplicates, not near ones; and Readability's synthetic
            // pages share one placeholder text (lorem ipsum), so they truly are near-copies.
            let placeholder = |t: &str| t.to_lowercase().contains("lorem ipsum");
            if fps[i].2 != fps[j].2 && !(placeholder(fps[i].2) && placeholder(fps[j].2)) {
                pair_distances.push((fps[i].1.distance(fps[j].1), i, j));
            }
        }
    }
    let mut edits = Vec::new();
    for (_, fp, body) in &fps {
        for (kind, edited) in variants(body) {
            let d = Fingerprint::of(&edited).map_or(64, |e| fp.distance(e));
            edits.push((kind, d));
        }
    }
    println!(
        "{} distinct pairs, {} edited copies\n",
        pair_distances.len(),
        edits.len()
    );
    println!("threshold  false merges            missed merges");
    for t in [3u32, 4, 5, 6, 7, 8, 10, 12] {
        let fm = pair_distances.iter().filter(|(d, _, _)| *d <= t).count();
        let mm = edits.iter().filter(|(_, d)| *d > t).count();
        let mark = if t == NEAR_DUPLICATE_BITS {
            "  <- used"
        } else {
            ""
        };
        println!(
            "{t:>9}  {fm:>5} ({:>7.4}%)       {mm:>5} ({:>6.2}%){mark}",
            100.0 * fm as f64 / pair_distances.len().max(1) as f64,
            100.0 * mm as f64 / edits.len().max(1) as f64
        );
    }
    println!("\nmissed merges at the threshold used, by kind of edit:");
    let kinds = [
        "byline added",
        "source line appended",
        "sentence added",
        "figure corrected",
        "last sentence dropped",
    ];
    for kind in kinds {
        let of_kind: Vec<u32> = edits
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, d)| *d)
            .collect();
        let missed = of_kind.iter().filter(|d| **d > NEAR_DUPLICATE_BITS).count();
        println!("  {kind:<22} {missed:>4} of {:>4}", of_kind.len());
    }
    let corpus = |name: &str| name.split(':').next().unwrap_or_default().to_owned();
    println!("\nfalse merges at the threshold used, by corpus pair:");
    let mut by_corpus: std::collections::BTreeMap<(String, String), (usize, usize)> =
        Default::default();
    for (d, i, j) in &pair_distances {
        let e = by_corpus
            .entry((corpus(fps[*i].0), corpus(fps[*j].0)))
            .or_default();
        e.1 += 1;
        if *d <= NEAR_DUPLICATE_BITS {
            e.0 += 1;
        }
    }
    for ((a, b), (merged, pairs)) in &by_corpus {
        println!("  {a:>11} ~ {b:<11} {merged:>5} of {pairs:>6}");
    }
    let shown: Vec<_> = pair_distances
        .iter()
        .filter(|(d, _, _)| *d <= NEAR_DUPLICATE_BITS)
        .take(12)
        .collect();
    if !shown.is_empty() {
        println!("\nsome merged pairs (inspect: often the same text in two test pages):");
        for (d, i, j) in shown {
            let short = |n: &str| {
                n.rsplit('/')
                    .next()
                    .unwrap_or(n)
                    .chars()
                    .take(40)
                    .collect::<String>()
            };
            println!("  {d:>2} bits: {} ~ {}", short(fps[*i].0), short(fps[*j].0));
        }
    }
}
