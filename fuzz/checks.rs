//! What each fuzz target calls and checks, in one place: the targets in `fuzz_targets/` run it
//! under libFuzzer, and `tests/fuzz_regressions.rs` replays the saved inputs through the very
//! same functions on stable, so a regression test can never check less than its target.
//!
//! Each function panics when a property fails (that is a finding); returning is a pass.

#![allow(dead_code)]

use chrono::Datelike as _;
use newswatch::archive::{Entry, Reader, write_record};
use newswatch::article::{Article, Fingerprint};
use newswatch::extract::{self, FieldSelectors, feed};
use newswatch::fetch::charset;
use newswatch::normalise;
use newswatch::notify::filter::Pattern;
use scraper::Selector;
use std::collections::HashSet;
use std::sync::LazyLock;
use url::Url;

/// Archive reader: any bytes are read without panicking, and every record read back after
/// `write_record` is the same article (title, body, date after normalisation).
pub fn archive(data: &[u8]) {
    for entry in Reader::new(data) {
        // Only an I/O error ends the reader (invalid UTF-8 is an entry of its own).
        let Ok(entry) = entry else { break };
        let Entry::Record(r) = entry else { continue };
        let at = chrono::DateTime::UNIX_EPOCH;
        let article = Article::new(&r.title, &r.body, r.date, None, "archive", at);
        let mut out = Vec::new();
        if write_record(&mut out, &article).is_err() {
            continue;
        }
        let back: Vec<Entry> = Reader::new(&out[..]).filter_map(Result::ok).collect();
        match back.as_slice() {
            [Entry::Record(b)] => {
                assert_eq!(normalise::text(&b.title), article.title, "title");
                assert_eq!(normalise::text(&b.body), article.body, "body");
                assert_eq!(b.date, article.date, "date");
                assert_eq!(b.line, 1);
            }
            other => panic!("{article:?} written as {out:?} reads back as {other:?}"),
        }
    }
}

/// Charset decoding: any bytes with any Content-Type and override label decode without panic.
///
/// Input layout: byte 0 = length of the Content-Type value (0 means none), byte 1 = length of
/// the override label (0 means none), then those two strings (lossy UTF-8), then the body.
pub fn charset(data: &[u8]) {
    let [ct_len, ov_len, rest @ ..] = data else {
        return;
    };
    let ct_len = usize::from(*ct_len % 64).min(rest.len());
    let (ct, rest) = rest.split_at(ct_len);
    let ov_len = usize::from(*ov_len % 32).min(rest.len());
    let (ov, body) = rest.split_at(ov_len);
    let ct = (!ct.is_empty()).then(|| String::from_utf8_lossy(ct));
    let ov = (!ov.is_empty()).then(|| String::from_utf8_lossy(ov));

    let d = charset::decode(body, ct.as_deref(), ov.as_deref());
    if !d.had_errors && d.encoding.name() == "UTF-8" {
        // Decoding as UTF-8 without errors yields the bytes themselves, less a leading BOM.
        let plain = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
        assert_eq!(d.text.as_bytes(), plain);
    }
    if let Some(ct) = ct.as_deref() {
        let _ = charset::header_charset(ct).map(charset::encoding_for_label);
    }
    let _ = charset::meta_charset(body);
}

static PAGE: LazyLock<Url> = LazyLock::new(|| {
    Url::parse("http://h.test/news/2025/07/02/index.html").unwrap_or_else(|e| panic!("{e}"))
});
static A: LazyLock<Selector> =
    LazyLock::new(|| Selector::parse("a").unwrap_or_else(|e| panic!("{e}")));
static SELECTORS: LazyLock<FieldSelectors> = LazyLock::new(|| FieldSelectors {
    title: Selector::parse("h1, meta[name=ArticleTitle]").ok(),
    body: Selector::parse("div.content, div.content p").ok(),
    date: Selector::parse(".date, time, meta[name=PubDate]").ok(),
});

/// HTML extraction: automatic and selector-driven article reading, list pages and fragment
/// text on any input (read as lossy UTF-8): list links, by selector or found without one, are
/// http(s), fragment-free and unique, and so is a next page;
/// a canonical URL is http(s).
pub fn html(data: &[u8]) {
    let html = String::from_utf8_lossy(data);

    let doc = extract::parse_document(&html);
    let _ = extract::auto::article(&doc, Some(&PAGE));

    // By selector, and found without one (with the next page recognised).
    for (links, next) in [(Some(&*A), Some(&*A)), (None, None)] {
        let list = extract::list_page(&html, &PAGE, links, next);
        let mut seen = HashSet::new();
        for link in list.links.iter().map(|l| &l.url).chain(&list.next) {
            assert!(matches!(link.scheme(), "http" | "https"), "{link}");
        }
        for link in list.links.iter().map(|l| &l.url) {
            assert!(link.fragment().is_none(), "{link}");
            assert!(seen.insert(link), "duplicate {link}");
        }
    }

    let raw = extract::article(&html, &PAGE, &FieldSelectors::default());
    if let Some(c) = &raw.canonical {
        assert!(matches!(c.scheme(), "http" | "https"), "{c}");
    }
    let _ = extract::article(&html, &PAGE, &SELECTORS);

    let _ = extract::fragment_text(&html);
}

/// Dates and text normalisation on any string: `text` is idempotent and leaves no whitespace
/// but single inner spaces; `archive_date` accepts exactly what it would print; `date` finds
/// only 19xx/20xx years.
pub fn date(data: &[u8]) {
    let s = String::from_utf8_lossy(data);

    if let Some(d) = normalise::date(&s) {
        assert!((1900..=2099).contains(&d.year()), "{d} from {s:?}");
    }

    if let Some(d) = normalise::archive_date(&s) {
        assert_eq!(d.format("%Y-%m-%d").to_string(), s, "archive date");
    }

    let once = normalise::text(&s);
    assert_eq!(
        normalise::text(&once),
        once,
        "text is not idempotent on {s:?}"
    );
    assert_eq!(once.trim(), once, "untrimmed");
    assert!(!once.contains("  "), "double space in {once:?}");
    assert!(
        once.chars().all(|c| c == ' ' || !c.is_whitespace()),
        "whitespace other than a space in {once:?}"
    );
}

static FEED: LazyLock<Url> =
    LazyLock::new(|| Url::parse("http://h.test/feed.xml").unwrap_or_else(|e| panic!("{e}")));

/// Feeds: `extract::feed::parse` on any bytes; item links are http(s) and fragment-free; item
/// content reads as text. Returns how many items were read (a regression corpus that reads
/// none tests only the error path).
pub fn feed(data: &[u8]) -> usize {
    let Ok(items) = feed::parse(data, &FEED) else {
        return 0;
    };
    for item in &items {
        if let Some(link) = &item.link {
            assert!(matches!(link.scheme(), "http" | "https"), "{link}");
            assert!(link.fragment().is_none(), "{link}");
        }
        if let Some(html) = &item.content_html {
            let _ = extract::fragment_text(html);
        }
    }
    items.len()
}

/// Digest keywords and near-duplicate fingerprints: `Pattern::parse`, `find_all` and
/// `Fingerprint::of` on any input. Input: pattern, a NUL byte, then the text searched.
pub fn filter(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    let (pat, text) = s.split_once('\0').unwrap_or((&s, &s));

    if let Some(fp) = Fingerprint::of(text) {
        assert_eq!(fp.distance(fp), 0);
    }

    if let Ok(p) = Pattern::parse(pat) {
        for r in p.find_all(text) {
            // Every range must slice `text` on character boundaries (highlighting depends on it).
            assert!(text.get(r.clone()).is_some(), "{r:?} in {text:?}");
        }
    }
}
