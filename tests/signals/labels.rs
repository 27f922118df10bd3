//! The labelled evaluation set for `newswatch::signals`: loading and scoring.
//!
//! Shared by the `signals` test and `examples/eval_signals.rs` (included with `#[path]`).
//!
//! - `labels.jsonl`: labels of texts in `../shared/` by reference — `seed:N` is the record whose
//!   `-` line is line N of `../shared/seeds/000_708f4c76f94c8937.txt`, `cleaned:ID` the file
//!   `../shared/datasets/zh-extraction/cleaned/ID….txt` (NFKC-folded and joined into one line,
//!   as the store holds article text). No shared text is copied here.
//! - `cases.jsonl`: sentences written for the hard cases, with their labels.
//!
//! Each label line has `half` ("A": tuning, "B": held out) and any of `amounts` (`"3.5e8 USD"`,
//! a range `"1e9-2e9 CNY"`), `stages`, `regions`, `industries`, `companies`. A kind that is
//! absent was not labelled for that text and is not scored there.

#![allow(dead_code)]

use newswatch::signals::{Currency, Signals};
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

pub const SEED: &str = "seeds/000_708f4c76f94c8937.txt";
pub const CLEANED: &str = "datasets/zh-extraction/cleaned";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Label {
    #[serde(default)]
    doc: Option<String>,
    half: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    body: Option<String>,
    amounts: Option<Vec<String>>,
    stages: Option<Vec<String>>,
    regions: Option<Vec<String>>,
    industries: Option<Vec<String>>,
    companies: Option<Vec<String>>,
    #[serde(default)]
    note: Option<String>,
}

/// A money amount as labelled: value (lower bound), upper bound, currency.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Money {
    pub amount: f64,
    pub upper: Option<f64>,
    pub currency: Currency,
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.upper {
            Some(u) => write!(f, "{}-{} {}", self.amount, u, self.currency),
            None => write!(f, "{} {}", self.amount, self.currency),
        }
    }
}

fn parse_money(s: &str) -> Result<Money, String> {
    let (value, currency) = s
        .trim()
        .split_once(' ')
        .ok_or_else(|| format!("{s:?}: want \"VALUE CUR\""))?;
    let currency: Currency = currency.parse().map_err(|e| format!("{s:?}: {e}"))?;
    let num = |v: &str| v.parse::<f64>().map_err(|e| format!("{s:?}: {e}"));
    // A range is `low-high`; `1e9-2e9` has no other `-`, and exponents are written without one.
    let (amount, upper) = match value.split_once('-') {
        Some((lo, hi)) => (num(lo)?, Some(num(hi)?)),
        None => (num(value)?, None),
    };
    Ok(Money {
        amount,
        upper,
        currency,
    })
}

/// What a text should give.
#[derive(Debug, Default, Clone)]
pub struct Expected {
    pub amounts: Option<Vec<Money>>,
    pub stages: Option<BTreeSet<String>>,
    pub regions: Option<BTreeSet<String>>,
    pub industries: Option<BTreeSet<String>>,
    pub companies: Option<BTreeSet<String>>,
}

#[derive(Debug, Clone)]
pub struct Doc {
    /// `seed:5`, `cleaned:0d931936`, `cases:12` (line of cases.jsonl).
    pub id: String,
    pub half: char,
    pub title: String,
    pub body: String,
    pub expected: Expected,
}

pub struct Loaded {
    pub docs: Vec<Doc>,
    /// `../shared` was not there: only the written cases were loaded.
    pub shared_missing: bool,
}

pub fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn shared_dir() -> PathBuf {
    repo_dir().join("../shared")
}

fn set(v: Option<Vec<String>>) -> Option<BTreeSet<String>> {
    v.map(|v| v.into_iter().collect())
}

fn expected(l: &Label, place: &str) -> Result<Expected, String> {
    let amounts = match &l.amounts {
        Some(v) => Some(
            v.iter()
                .map(|s| parse_money(s).map_err(|e| format!("{place}: {e}")))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        None => None,
    };
    if let Some(stages) = &l.stages {
        for s in stages {
            s.parse::<newswatch::signals::Stage>()
                .map_err(|e| format!("{place}: {e}"))?;
        }
    }
    Ok(Expected {
        amounts,
        stages: set(l.stages.clone()),
        regions: set(l.regions.clone()),
        industries: set(l.industries.clone()),
        companies: set(l.companies.clone()),
    })
}

/// Reads `labels.jsonl` and `cases.jsonl` and the shared texts they point to.
pub fn load() -> Result<Loaded, String> {
    let dir = repo_dir().join("tests/signals");
    let shared = shared_dir();
    let shared_missing = !shared.join(SEED).exists();
    let mut docs = Vec::new();

    let seed_lines: Vec<String> = if shared_missing {
        Vec::new()
    } else {
        std::fs::read_to_string(shared.join(SEED))
            .map_err(|e| format!("{}: {e}", shared.join(SEED).display()))?
            .lines()
            .map(str::to_string)
            .collect()
    };
    let labels_path = dir.join("labels.jsonl");
    let text = std::fs::read_to_string(&labels_path)
        .map_err(|e| format!("{}: {e}", labels_path.display()))?;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with("//") {
            continue;
        }
        let place = format!("labels.jsonl:{}", i + 1);
        let l: Label = serde_json::from_str(line).map_err(|e| format!("{place}: {e}"))?;
        let doc = l.doc.clone().ok_or_else(|| format!("{place}: no doc"))?;
        let half = half(&l.half, &place)?;
        let expected = expected(&l, &place)?;
        if shared_missing {
            continue;
        }
        let (title, body) = if let Some(n) = doc.strip_prefix("seed:") {
            let n: usize = n.parse().map_err(|e| format!("{place}: {doc}: {e}"))?;
            match (
                seed_lines.get(n - 1),
                seed_lines.get(n),
                seed_lines.get(n + 1),
            ) {
                (Some(dash), Some(t), Some(b)) if dash == "-" => (t.clone(), b.clone()),
                _ => return Err(format!("{place}: {doc}: line {n} does not start a record")),
            }
        } else if let Some(id) = doc.strip_prefix("cleaned:") {
            let path = find_cleaned(&shared.join(CLEANED), id)
                .ok_or_else(|| format!("{place}: {doc}: no such file"))?;
            let raw =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            (String::new(), newswatch::normalise::text(&raw))
        } else {
            return Err(format!("{place}: {doc}: unknown document kind"));
        };
        docs.push(Doc {
            id: doc,
            half,
            title,
            body,
            expected,
        });
    }

    let cases_path = dir.join("cases.jsonl");
    let text = std::fs::read_to_string(&cases_path)
        .map_err(|e| format!("{}: {e}", cases_path.display()))?;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with("//") {
            continue;
        }
        let place = format!("cases.jsonl:{}", i + 1);
        let l: Label = serde_json::from_str(line).map_err(|e| format!("{place}: {e}"))?;
        let half = half(&l.half, &place)?;
        let expected = expected(&l, &place)?;
        let body = l.body.clone().ok_or_else(|| format!("{place}: no body"))?;
        docs.push(Doc {
            id: format!("cases:{}", i + 1),
            half,
            title: l.title.clone().unwrap_or_default(),
            body,
            expected,
        });
    }
    Ok(Loaded {
        docs,
        shared_missing,
    })
}

fn half(h: &str, place: &str) -> Result<char, String> {
    match h {
        "A" => Ok('A'),
        "B" => Ok('B'),
        _ => Err(format!("{place}: half must be \"A\" or \"B\", not {h:?}")),
    }
}

fn find_cleaned(dir: &Path, id: &str) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(id) && n.ends_with(".txt"))
        })
}

/// Counts for one kind of signal.
#[derive(Debug, Default, Clone, Copy)]
pub struct Score {
    pub docs: usize,
    pub tp: usize,
    pub fp: usize,
    pub fn_: usize,
}

impl Score {
    pub fn precision(&self) -> f64 {
        if self.tp + self.fp == 0 {
            1.0
        } else {
            self.tp as f64 / (self.tp + self.fp) as f64
        }
    }

    pub fn recall(&self) -> f64 {
        if self.tp + self.fn_ == 0 {
            1.0
        } else {
            self.tp as f64 / (self.tp + self.fn_) as f64
        }
    }
}

pub const KINDS: [&str; 5] = ["amounts", "stages", "regions", "industries", "companies"];

/// One disagreement, for reading.
#[derive(Debug, Clone)]
pub struct Miss {
    pub doc: String,
    pub kind: &'static str,
    /// "missed" (labelled, not found) or "extra" (found, not labelled).
    pub what: &'static str,
    pub value: String,
    pub context: String,
}

fn context_of(doc: &Doc, needle: &str) -> String {
    let text = format!("{} {}", doc.title, doc.body);
    match text.find(needle) {
        Some(i) => {
            let start = text[..i].char_indices().rev().nth(12).map_or(0, |(j, _)| j);
            let end = text[i..]
                .char_indices()
                .nth(needle.chars().count() + 8)
                .map_or(text.len(), |(j, _)| i + j);
            text[start..end].to_string()
        }
        None => String::new(),
    }
}

/// A labelled set of names, or `None` where that kind was not labelled.
type Labelled = Option<BTreeSet<String>>;

/// Scores `found` against one document's labels, adding to `scores` (indexed like [`KINDS`]).
pub fn score(doc: &Doc, found: &Signals, scores: &mut [Score; 5], misses: &mut Vec<Miss>) {
    let e = &doc.expected;
    if let Some(want) = &e.amounts {
        let got: Vec<Money> = found
            .amounts
            .iter()
            .map(|a| Money {
                amount: a.amount,
                upper: a.upper,
                currency: a.currency,
            })
            .collect();
        let s = &mut scores[0];
        s.docs += 1;
        for g in &got {
            if want.contains(g) {
                s.tp += 1;
            } else {
                s.fp += 1;
                let text = found
                    .amounts
                    .iter()
                    .find(|a| a.amount == g.amount && a.currency == g.currency)
                    .map(|a| a.text.clone())
                    .unwrap_or_default();
                misses.push(Miss {
                    doc: doc.id.clone(),
                    kind: "amounts",
                    what: "extra",
                    value: format!("{g} ({text})"),
                    context: context_of(doc, &text),
                });
            }
        }
        for w in want {
            if !got.contains(w) {
                s.fn_ += 1;
                misses.push(Miss {
                    doc: doc.id.clone(),
                    kind: "amounts",
                    what: "missed",
                    value: w.to_string(),
                    context: String::new(),
                });
            }
        }
    }
    let sets: [(usize, &Labelled, Vec<String>); 4] = [
        (
            1,
            &e.stages,
            found.stages.iter().map(|s| s.label().to_string()).collect(),
        ),
        (2, &e.regions, found.regions.clone()),
        (3, &e.industries, found.industries.clone()),
        (4, &e.companies, found.companies.clone()),
    ];
    for (k, want, got) in sets {
        let Some(want) = want else { continue };
        let s = &mut scores[k];
        s.docs += 1;
        for g in &got {
            if want.contains(g) {
                s.tp += 1;
            } else {
                s.fp += 1;
                misses.push(Miss {
                    doc: doc.id.clone(),
                    kind: KINDS[k],
                    what: "extra",
                    value: g.clone(),
                    context: String::new(),
                });
            }
        }
        for w in want {
            if !got.contains(w) {
                s.fn_ += 1;
                misses.push(Miss {
                    doc: doc.id.clone(),
                    kind: KINDS[k],
                    what: "missed",
                    value: w.clone(),
                    context: String::new(),
                });
            }
        }
    }
}

/// Scores every document of `half` with the built-in extractor.
pub fn evaluate(docs: &[Doc], half: char) -> ([Score; 5], Vec<Miss>) {
    let mut scores = [Score::default(); 5];
    let mut misses = Vec::new();
    for d in docs.iter().filter(|d| d.half == half) {
        let found = newswatch::signals::extract(&d.title, &d.body);
        score(d, &found, &mut scores, &mut misses);
    }
    (scores, misses)
}

/// The number of labelled amounts (after deduplication, as scored).
pub fn amount_labels(docs: &[Doc]) -> usize {
    docs.iter()
        .filter_map(|d| d.expected.amounts.as_ref())
        .map(Vec::len)
        .sum()
}
