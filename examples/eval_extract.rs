//! Scores article extraction against the shared datasets, through the path the product runs.
//!
//! ```text
//! cargo run --release --example eval_extract [-- [DATASETS_DIR] [-v] [--dump]]
//! cargo run --release --example eval_extract -- outline PAGE [MIN_CHARS]
//! cargo run --release --example eval_extract -- label LABEL.toml
//! ```
//!
//! `DATASETS_DIR` defaults to `../shared/datasets` next to the crate. Every page goes through
//! [`newswatch::extract::read_page`] — charset detection, parsing, selectors-or-automatic
//! extraction, the title fallbacks — and then [`Article::new`], exactly as `newswatch extract`
//! and the crawler do; a page that yields no record (no title or no body after normalisation)
//! scores 0 and misses its date.
//!
//! The pages are split by site into two halves by a hash of the site name (see [`half`]), so a
//! rule tuned on one half can be checked on the other. For each dataset the per-page rows and the
//! totals of both halves are printed:
//!
//! * `zh-extraction`: body F1 against `cleaned/`, the date against `date/` (labels that name a
//!   whole day). Sites come from `tests/labels/zh-extraction/sites.toml`.
//! * `zh-news-pages`: labels written for this project under `tests/labels/zh-news-pages/`, one
//!   TOML per page giving CSS selectors of the title element and the body's blocks and the date
//!   (see `label`): no page text is kept in the repository.
//! * `readability`: body F1 against the text of `expected.html`; the site is the case name up to
//!   its first `-`.
//!
//! Body score: character-multiset F1 after NFKC with whitespace removed. `outline` prints a
//! page's block elements with their text sizes, to help write a label; `label` prints what a
//! label file selects.

use newswatch::article::Article;
use newswatch::extract::{FieldSelectors, PageHints, text::visible_text};
use newswatch::normalise;
use scraper::{ElementRef, Html, Node, Selector};
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use unicode_normalization::UnicodeNormalization;
use url::Url;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("outline") => return outline_command(&args[1..]),
        Some("label") => return label_command(&args[1..]),
        _ => {}
    }
    let verbose = args.iter().any(|a| a == "--verbose" || a == "-v");
    let dump = args
        .iter()
        .any(|a| a == "--dump")
        .then(|| std::env::temp_dir().join("eval_extract"));
    if let Some(d) = &dump {
        let _ = std::fs::create_dir_all(d);
    }
    let dir = args
        .iter()
        .find(|a| !a.starts_with('-'))
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets"));
    if !dir.is_dir() {
        println!("no datasets at {}; nothing to evaluate", dir.display());
        return ExitCode::SUCCESS;
    }
    let labels = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/labels");
    let ctx = Ctx { verbose, dump };
    let started = Instant::now();
    let mut sets = Vec::new();
    match zh_extraction(
        &dir.join("zh-extraction"),
        &labels.join("zh-extraction"),
        &ctx,
    ) {
        Ok(s) => sets.push(s),
        Err(e) => println!("zh-extraction: {e}"),
    }
    match zh_news_pages(
        &dir.join("zh-news-pages"),
        &labels.join("zh-news-pages"),
        &ctx,
    ) {
        Ok(s) => sets.push(s),
        Err(e) => println!("zh-news-pages: {e}"),
    }
    match readability(&dir.join("readability/test-pages"), &ctx) {
        Ok(s) => sets.push(s),
        Err(e) => println!("readability: {e}"),
    }
    list_pages(&dir.join("zh-news-pages"), &labels.join("lists"));
    charset_check(&dir);
    let bytes: usize = sets.iter().map(|s| s.bytes).sum();
    println!();
    println!(
        "{:<22} {:<4} {:>5} {:>8} {:>7} {:>8} {:>9} {:>7}",
        "summary", "half", "pages", "body F1", ">=0.9", "dropped", "date", "title"
    );
    for set in &sets {
        for half in [Some('A'), Some('B'), None] {
            println!("{}", set.summary(half));
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{bytes} bytes in {secs:.1} s ({:.1} MB/s decode+parse+extract+score)",
        bytes as f64 / 1e6 / secs
    );
    ExitCode::SUCCESS
}

struct Ctx {
    verbose: bool,
    dump: Option<PathBuf>,
}

impl Ctx {
    fn dump(&self, name: &str, body: &str) {
        if let Some(dir) = &self.dump {
            let lines: Vec<String> = body
                .split(normalise::BLOCK_BREAK)
                .map(normalise::text)
                .filter(|l| !l.is_empty())
                .collect();
            let name = name.replace('/', "-");
            let _ = std::fs::write(dir.join(format!("{name}.txt")), lines.join("\n"));
        }
    }
}

/// The half of the data a site belongs to: FNV-1a of its name, even `A`, odd `B`. Fixed, so
/// nobody can move a page to the half that suits a rule.
fn half(site: &str) -> char {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in site.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    if h.is_multiple_of(2) { 'A' } else { 'B' }
}

/// One page's result.
struct Row {
    site: String,
    page: String,
    half: char,
    /// The page gave a record (title and body non-empty after normalisation).
    record: bool,
    f1: f64,
    /// `Some(hit)` when the page has a date label that names a day.
    date: Option<bool>,
    /// `Some(hit)` when the page has a title label.
    title: Option<bool>,
}

struct Set {
    name: &'static str,
    rows: Vec<Row>,
    bytes: usize,
}

impl Set {
    fn summary(&self, half: Option<char>) -> String {
        let rows: Vec<&Row> = self
            .rows
            .iter()
            .filter(|r| half.is_none_or(|h| r.half == h))
            .collect();
        let n = rows.len();
        let f1 = rows.iter().map(|r| r.f1).sum::<f64>() / n.max(1) as f64;
        let good = rows.iter().filter(|r| r.f1 >= 0.9).count();
        let dropped = rows.iter().filter(|r| !r.record).count();
        let dates: Vec<bool> = rows.iter().filter_map(|r| r.date).collect();
        let titles: Vec<bool> = rows.iter().filter_map(|r| r.title).collect();
        let ratio = |v: &[bool]| {
            if v.is_empty() {
                "-".to_string()
            } else {
                format!("{}/{}", v.iter().filter(|x| **x).count(), v.len())
            }
        };
        let sites: HashSet<&str> = rows.iter().map(|r| r.site.as_str()).collect();
        format!(
            "{:<22} {:<4} {:>5} {:>8.3} {:>7} {:>8} {:>9} {:>7}   ({} sites)",
            self.name,
            half.map_or("all".to_string(), |h| h.to_string()),
            n,
            f1,
            good,
            dropped,
            ratio(&dates),
            ratio(&titles),
            sites.len()
        )
    }
}

/// What the product makes of a saved page: the record, or `None` when it would drop the page.
struct Extracted {
    title: String,
    body_raw: String,
    body: String,
    date: Option<chrono::NaiveDate>,
}

fn run_product(bytes: &[u8], path: &Path) -> Option<Extracted> {
    let url = std::path::absolute(path)
        .ok()
        .and_then(|p| Url::from_file_path(p).ok())
        .unwrap_or_else(|| Url::parse("file:///page.html").unwrap_or_else(|_| unreachable!()));
    let hints = PageHints::default();
    let read =
        newswatch::extract::read_page(bytes, None, None, &url, &FieldSelectors::default(), &hints);
    let raw = read.article;
    let title = raw.title.unwrap_or_default();
    let body_raw = raw.body.unwrap_or_default();
    let date = raw.date.unwrap_or(hints.fetched_on);
    let article = Article::new(&title, &body_raw, date, None, "eval", chrono::Utc::now());
    if article.title.is_empty() || article.body.is_empty() {
        return None;
    }
    Some(Extracted {
        title: article.title,
        body: article.body,
        body_raw,
        date: raw.date,
    })
}

fn print_header(name: &str, n: usize) {
    println!();
    println!("{name} ({n} pages)");
    println!(
        "{:<4} {:<30} {:>6} {:>6} {:>6} {:<11} {:<11} {:<4} title",
        "half", "page", "F1", "P", "R", "date", "label", "ok"
    );
}

#[allow(clippy::too_many_arguments)]
fn print_row(
    row: &Row,
    p: f64,
    r: f64,
    got: Option<&Extracted>,
    want_date: Option<chrono::NaiveDate>,
    ctx: &Ctx,
    want_body: &str,
    want_title: Option<&str>,
) {
    let date_ok = match row.date {
        Some(true) => "yes",
        Some(false) => "NO",
        None => "-",
    };
    println!(
        "{:<4} {:<30} {:>6.3} {:>6.3} {:>6.3} {:<11} {:<11} {:<4} {}",
        row.half,
        format!("{}/{}", row.site, row.page),
        row.f1,
        p,
        r,
        got.and_then(|g| g.date)
            .map(|d| d.to_string())
            .unwrap_or_default(),
        want_date.map(|d| d.to_string()).unwrap_or_default(),
        date_ok,
        got.map_or("(no record)", |g| g.title.as_str())
    );
    if ctx.verbose {
        if row.title == Some(false) {
            println!("    want title: {}", want_title.unwrap_or_default());
        }
        println!("    body: {}", preview(got.map_or("", |g| g.body.as_str())));
        println!("    want: {}", preview(want_body));
    }
}

// ---------------------------------------------------------------------------------------------
// zh-extraction

fn zh_extraction(dir: &Path, labels: &Path, ctx: &Ctx) -> Result<Set, String> {
    let sites_file = labels.join("sites.toml");
    let sites: HashMap<String, String> = std::fs::read_to_string(&sites_file)
        .map_err(|e| format!("{}: {e}", sites_file.display()))
        .and_then(|t| toml::from_str(&t).map_err(|e| format!("{}: {e}", sites_file.display())))?;
    let mut ids: Vec<String> = std::fs::read_dir(dir.join("original"))
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.strip_suffix(".html").map(str::to_string)
        })
        .collect();
    ids.sort();
    let mut set = Set {
        name: "zh-extraction",
        rows: Vec::new(),
        bytes: 0,
    };
    print_header(set.name, ids.len());
    let mut rows = Vec::new();
    for id in &ids {
        let short = &id[..8];
        let site = sites
            .get(short)
            .cloned()
            .ok_or_else(|| format!("{}: no site for {short}", sites_file.display()))?;
        let path = dir.join("original").join(format!("{id}.html"));
        let Ok(raw) = std::fs::read(&path) else {
            continue;
        };
        set.bytes += raw.len();
        let got = run_product(&raw, &path);
        let label = std::fs::read_to_string(dir.join("cleaned").join(format!("{id}.txt")))
            .unwrap_or_default();
        let want_date = std::fs::read_to_string(dir.join("date").join(format!("{id}.txt")))
            .ok()
            .and_then(|t| full_date(&t));
        let (f1, p, r) = char_f1(got.as_ref().map_or("", |g| g.body.as_str()), &label);
        if let Some(g) = &got {
            ctx.dump(short, &g.body_raw);
        }
        let row = Row {
            half: half(&site),
            site,
            page: short.to_string(),
            record: got.is_some(),
            f1,
            date: want_date.map(|w| got.as_ref().and_then(|g| g.date) == Some(w)),
            title: None,
        };
        rows.push((row, p, r, got, want_date, label));
    }
    rows.sort_by(|a, b| (a.0.half, &a.0.site).cmp(&(b.0.half, &b.0.site)));
    for (row, p, r, got, want_date, label) in rows {
        print_row(&row, p, r, got.as_ref(), want_date, ctx, &label, None);
        set.rows.push(row);
    }
    Ok(set)
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

// ---------------------------------------------------------------------------------------------
// zh-news-pages, labelled by reference

/// A page label: where the page's title and body are, by CSS selector, and its date.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Label {
    /// The page, relative to the dataset folder (`articles/163/1.html`).
    page: String,
    /// The element holding the headline.
    title: String,
    /// The body's blocks: every match, in page order (a match inside an earlier one is skipped).
    body: Vec<String>,
    /// Matches inside the body that are not article text (an editor line, an embedded ad).
    #[serde(default)]
    drop: Vec<String>,
    /// `YYYY-MM-DD`, or absent when the page shows no publication day.
    date: Option<String>,
}

struct LabelText {
    title: String,
    body: String,
    date: Option<chrono::NaiveDate>,
}

fn css(s: &str, file: &Path) -> Result<Selector, String> {
    Selector::parse(s).map_err(|e| format!("{}: selector {s:?}: {e}", file.display()))
}

fn read_label(file: &Path) -> Result<Label, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    toml::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))
}

/// The text a label selects in the page.
fn label_text(label: &Label, file: &Path, html: &str) -> Result<LabelText, String> {
    let doc = newswatch::extract::parse_document(html);
    let title_sel = css(&label.title, file)?;
    let title = doc
        .select(&title_sel)
        .next()
        .map(|t| normalise::text(&visible_text(t)))
        .ok_or_else(|| {
            format!(
                "{}: title {:?} matches nothing",
                file.display(),
                label.title
            )
        })?;
    let mut dropped = HashSet::new();
    for d in &label.drop {
        for el in doc.select(&css(d, file)?) {
            dropped.insert(el.id());
        }
    }
    let mut blocks: Vec<ElementRef<'_>> = Vec::new();
    for b in &label.body {
        let matched: Vec<_> = doc.select(&css(b, file)?).collect();
        if matched.is_empty() {
            return Err(format!("{}: body {b:?} matches nothing", file.display()));
        }
        blocks.extend(matched);
    }
    // Page order, outermost first, nested matches skipped.
    let order: HashMap<_, usize> = doc
        .root_element()
        .descendants()
        .enumerate()
        .map(|(i, n)| (n.id(), i))
        .collect();
    blocks.sort_by_key(|e| order.get(&e.id()).copied().unwrap_or(usize::MAX));
    blocks.dedup_by_key(|e| e.id());
    let mut taken: HashSet<_> = HashSet::new();
    let mut body = String::new();
    for el in blocks {
        if el.ancestors().any(|a| taken.contains(&a.id())) {
            continue;
        }
        taken.insert(el.id());
        body.push(normalise::BLOCK_BREAK);
        body.push_str(&text_without(el, &dropped));
    }
    let date = match &label.date {
        Some(d) => Some(
            chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map_err(|e| format!("{}: date {d:?}: {e}", file.display()))?,
        ),
        None => None,
    };
    Ok(LabelText {
        title,
        body: normalise::text(&body),
        date,
    })
}

/// [`visible_text`] of `root` without the subtrees in `dropped`.
fn text_without(root: ElementRef<'_>, dropped: &HashSet<ego_tree::NodeId>) -> String {
    if dropped.is_empty() {
        return visible_text(root);
    }
    let mut out = String::new();
    let mut stack = vec![root];
    // Depth-first, children in order: visible_text of each kept child, skipping dropped ones.
    while let Some(el) = stack.pop() {
        if dropped.contains(&el.id()) {
            continue;
        }
        let has_dropped_inside = el.descendants().any(|d| dropped.contains(&d.id()));
        if !has_dropped_inside {
            out.push(normalise::BLOCK_BREAK);
            out.push_str(&visible_text(el));
            continue;
        }
        let mut kids: Vec<ElementRef<'_>> = Vec::new();
        for child in el.children() {
            match child.value() {
                Node::Element(_) => {
                    if let Some(e) = ElementRef::wrap(child) {
                        kids.push(e);
                    }
                }
                Node::Text(t) => {
                    // Direct text of an element that also holds dropped parts: kept in place
                    // relative to the children already queued is not needed for a bag-of-
                    // characters score, so it is appended as it comes.
                    out.push_str(t);
                }
                _ => {}
            }
        }
        out.push(normalise::BLOCK_BREAK);
        for k in kids.into_iter().rev() {
            stack.push(k);
        }
    }
    out
}

fn zh_news_pages(dir: &Path, labels: &Path, ctx: &Ctx) -> Result<Set, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(labels)
        .map_err(|e| format!("{}: {e}", labels.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut set = Set {
        name: "zh-news-pages",
        rows: Vec::new(),
        bytes: 0,
    };
    print_header(set.name, files.len());
    let mut rows = Vec::new();
    for file in &files {
        let label = read_label(file)?;
        let path = dir.join(&label.page);
        let raw = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        set.bytes += raw.len();
        // The label is read from the page decoded by its own declaration, not by the code under
        // test, so a charset bug cannot hide in the label.
        let html = label_decode(&raw);
        let want = label_text(&label, file, &html)?;
        let got = run_product(&raw, &path);
        let (f1, p, r) = char_f1(got.as_ref().map_or("", |g| g.body.as_str()), &want.body);
        let mut parts = label.page.split('/').skip(1);
        let site = parts.next().unwrap_or("?").to_string();
        let page = parts
            .next()
            .unwrap_or("?")
            .trim_end_matches(".html")
            .to_string();
        if let Some(g) = &got {
            ctx.dump(&format!("{site}-{page}"), &g.body_raw);
        }
        let row = Row {
            half: half(&site),
            site,
            page,
            record: got.is_some(),
            f1,
            date: want
                .date
                .map(|w| got.as_ref().and_then(|g| g.date) == Some(w)),
            title: Some(
                got.as_ref()
                    .is_some_and(|g| squeeze(&g.title) == squeeze(&want.title)),
            ),
        };
        rows.push((row, p, r, got, want));
    }
    rows.sort_by(|a, b| (a.0.half, &a.0.site).cmp(&(b.0.half, &b.0.site)));
    for (row, p, r, got, want) in rows {
        print_row(
            &row,
            p,
            r,
            got.as_ref(),
            want.date,
            ctx,
            &want.body,
            Some(&want.title),
        );
        set.rows.push(row);
    }
    Ok(set)
}

fn squeeze(s: &str) -> String {
    s.nfkc().filter(|c| !c.is_whitespace()).collect()
}

/// Decodes a dataset page for reading labels, independently of the code under test: valid
/// UTF-8 as UTF-8 (one page labelled gb2312 is UTF-8), else by its declared charset, else GBK.
fn label_decode(raw: &[u8]) -> String {
    if let Ok(s) = std::str::from_utf8(raw) {
        return s.to_string();
    }
    let enc = newswatch::fetch::charset::meta_charset(raw).unwrap_or(encoding_rs::GB18030);
    enc.decode(raw).0.into_owned()
}

// ---------------------------------------------------------------------------------------------
// Readability

fn readability(dir: &Path, ctx: &Ctx) -> Result<Set, String> {
    let mut cases: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("source.html").is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    cases.sort();
    let mut set = Set {
        name: "readability",
        rows: Vec::new(),
        bytes: 0,
    };
    print_header(set.name, cases.len());
    let mut rows = Vec::new();
    for case in &cases {
        let base = dir.join(case);
        let path = base.join("source.html");
        let Ok(raw) = std::fs::read(&path) else {
            continue;
        };
        set.bytes += raw.len();
        let got = run_product(&raw, &path);
        let expected = std::fs::read(base.join("expected.html"))
            .map(|b| label_decode(&b))
            .unwrap_or_default();
        let want = normalise::text(&visible_text(
            Html::parse_document(&expected).root_element(),
        ));
        let (f1, p, r) = char_f1(got.as_ref().map_or("", |g| g.body.as_str()), &want);
        if let Some(g) = &got {
            ctx.dump(case, &g.body_raw);
        }
        let site = case.split('-').next().unwrap_or(case).to_string();
        let row = Row {
            half: half(&site),
            site,
            page: case.clone(),
            record: got.is_some(),
            f1,
            date: None,
            title: None,
        };
        rows.push((row, p, r, got, want));
    }
    rows.sort_by(|a, b| (a.0.half, &a.0.site, &a.0.page).cmp(&(b.0.half, &b.0.site, &b.0.page)));
    for (row, p, r, got, want) in rows {
        let mut row = row;
        // The site is the case's first word; the page column shows the whole case name.
        row.site = String::new();
        print_row(&row, p, r, got.as_ref(), None, ctx, &want, None);
        row.site = row.page.split('-').next().unwrap_or("").to_string();
        set.rows.push(row);
    }
    Ok(set)
}

// ---------------------------------------------------------------------------------------------
// List pages: article links without a selector

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ListLabel {
    /// The page, relative to the dataset folder.
    page: String,
    /// The URL the page is taken to have, for resolving its links.
    url: String,
    /// The article links, by CSS selector.
    links: String,
}

/// For each labelled list page: the links [`newswatch::extract::links::article_links`] finds
/// against the labelled ones (precision, recall), and its explanation with `-v`.
fn list_pages(dir: &Path, labels: &Path) {
    let Ok(rd) = std::fs::read_dir(labels) else {
        return;
    };
    let mut files: Vec<PathBuf> = rd.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    files.sort();
    println!();
    println!("list pages: article links without a selector");
    println!(
        "{:<4} {:<28} {:>6} {:>6} {:>6} {:>6}",
        "half", "page", "found", "label", "P", "R"
    );
    for file in &files {
        let label: ListLabel = match std::fs::read_to_string(file)
            .map_err(|e| e.to_string())
            .and_then(|t| toml::from_str(&t).map_err(|e| e.to_string()))
        {
            Ok(l) => l,
            Err(e) => {
                println!("{}: {e}", file.display());
                continue;
            }
        };
        let Ok(raw) = std::fs::read(dir.join(&label.page)) else {
            continue;
        };
        let Ok(page_url) = Url::parse(&label.url) else {
            println!("{}: bad url", file.display());
            continue;
        };
        let html = newswatch::fetch::charset::decode(&raw, None, None).text;
        let Ok(sel) = Selector::parse(&label.links) else {
            println!("{}: bad selector", file.display());
            continue;
        };
        let want: HashSet<String> =
            newswatch::extract::list_page(&html, &page_url, Some(&sel), None)
                .links
                .iter()
                .map(|l| l.url.to_string())
                .collect();
        let found = newswatch::extract::links::article_links(&html, &page_url);
        let got: HashSet<String> = found
            .as_ref()
            .map(|f| f.links.iter().map(|l| l.url.to_string()).collect())
            .unwrap_or_default();
        let common = got.intersection(&want).count() as f64;
        let p = if got.is_empty() {
            0.0
        } else {
            common / got.len() as f64
        };
        let r = if want.is_empty() {
            0.0
        } else {
            common / want.len() as f64
        };
        let site = label.page.split('/').nth(1).unwrap_or("?");
        println!(
            "{:<4} {:<28} {:>6} {:>6} {:>6.3} {:>6.3}",
            half(site),
            label.page.trim_start_matches("lists/"),
            got.len(),
            want.len(),
            p,
            r
        );
        if let Some(f) = found {
            for line in f.why.lines() {
                println!("     {line}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Charset without labels

/// Decodes every dataset page twice, as served and with its charset declarations blanked out
/// (`charset=` becomes `charzet=`), and counts the pages whose encoding changes: what
/// detection gets wrong on pages that declare nothing.
fn charset_check(dir: &Path) {
    let mut files: Vec<PathBuf> = Vec::new();
    let mut walk = vec![dir.to_path_buf()];
    while let Some(d) = walk.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.filter_map(|e| e.ok()) {
            let p = e.path();
            if p.is_dir() {
                walk.push(p);
            } else if p.extension().is_some_and(|x| x == "html") && !p.ends_with("expected.html") {
                files.push(p);
            }
        }
    }
    files.sort();
    let mut changed = Vec::new();
    for f in &files {
        let Ok(raw) = std::fs::read(f) else { continue };
        let served = newswatch::fetch::charset::decode(&raw, None, None);
        let mut blank = raw.clone();
        for w in 0..blank.len().saturating_sub(8) {
            if blank[w..w + 8].eq_ignore_ascii_case(b"charset=") {
                blank[w + 5] = b'z';
            }
            if blank[w..w + 8].eq_ignore_ascii_case(b"encoding") {
                blank[w + 1] = b'x';
            }
        }
        let guessed = newswatch::fetch::charset::decode(&blank, None, None);
        if guessed.encoding != served.encoding {
            changed.push(format!(
                "{} ({} -> {})",
                f.strip_prefix(dir).unwrap_or(f).display(),
                served.encoding.name(),
                guessed.encoding.name()
            ));
        }
    }
    println!();
    println!(
        "charset with declarations removed: {} of {} pages decode differently{}",
        changed.len(),
        files.len(),
        if changed.is_empty() { "" } else { ":" }
    );
    for c in &changed {
        println!("    {c}");
    }
}

// ---------------------------------------------------------------------------------------------
// Scoring

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

// ---------------------------------------------------------------------------------------------
// Labelling aids

/// `outline PAGE [MIN_CHARS]`: the page's elements holding at least MIN_CHARS (default 40)
/// visible characters, indented by depth, with their text and link sizes and an opening, so
/// the selectors of a label can be picked. A chain of wrappers around the same text is printed
/// on one line.
fn outline_command(args: &[String]) -> ExitCode {
    let Some(file) = args.first() else {
        eprintln!("usage: eval_extract outline PAGE [MIN_CHARS]");
        return ExitCode::from(2);
    };
    let min: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(40);
    let Ok(raw) = std::fs::read(file) else {
        eprintln!("{file}: cannot read");
        return ExitCode::from(2);
    };
    let html = label_decode(&raw);
    let doc = newswatch::extract::parse_document(&html);
    let mut out = String::new();
    outline(doc.root_element(), 0, min, &mut out);
    print!("{out}");
    ExitCode::SUCCESS
}

fn describe(el: ElementRef<'_>) -> String {
    let mut s = el.value().name().to_string();
    if let Some(id) = el.attr("id") {
        let _ = write!(s, "#{id}");
    }
    for c in el.value().classes() {
        let _ = write!(s, ".{c}");
    }
    s
}

fn sizes(el: ElementRef<'_>) -> (usize, usize) {
    let text = visible_text(el);
    let chars = text.chars().filter(|c| !c.is_whitespace()).count();
    let mut links = 0;
    for a in el.descendants().filter_map(ElementRef::wrap) {
        if a.value().name() == "a" {
            links += visible_text(a)
                .chars()
                .filter(|c| !c.is_whitespace())
                .count();
        }
    }
    (chars, links)
}

fn outline(el: ElementRef<'_>, depth: usize, min: usize, out: &mut String) {
    if depth > 60 {
        return;
    }
    let (chars, links) = sizes(el);
    if chars < min {
        return;
    }
    // Follow single-child wrappers that hold (nearly) all the text.
    let mut chain = vec![describe(el)];
    let mut cur = el;
    loop {
        let kids: Vec<ElementRef<'_>> = cur
            .children()
            .filter_map(ElementRef::wrap)
            .filter(|k| sizes(*k).0 * 100 >= chars * 95)
            .collect();
        match kids.as_slice() {
            [only] if chain.len() < 8 => {
                chain.push(describe(*only));
                cur = *only;
            }
            _ => break,
        }
    }
    let opening: String = normalise::text(&visible_text(cur))
        .chars()
        .take(40)
        .collect();
    let _ = writeln!(
        out,
        "{:indent$}{} [{chars} chars, {links} in links] {opening}",
        "",
        chain.join(" > "),
        indent = depth * 2
    );
    for k in cur.children().filter_map(ElementRef::wrap) {
        outline(k, depth + 1, min, out);
    }
}

/// `label FILE.toml`: prints the title, date and body a label selects, to check it.
fn label_command(args: &[String]) -> ExitCode {
    let Some(file) = args.first().map(PathBuf::from) else {
        eprintln!("usage: eval_extract label LABEL.toml [DATASETS_DIR]");
        return ExitCode::from(2);
    };
    let dir = args
        .get(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets"));
    let result = read_label(&file).and_then(|label| {
        let path = dir.join("zh-news-pages").join(&label.page);
        let raw = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        label_text(&label, &file, &label_decode(&raw))
    });
    match result {
        Ok(t) => {
            println!("title: {}", t.title);
            println!(
                "date:  {}",
                t.date.map(|d| d.to_string()).unwrap_or_default()
            );
            println!("body ({} chars):\n{}", t.body.chars().count(), t.body);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
