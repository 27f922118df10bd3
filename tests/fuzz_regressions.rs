//! Inputs that once crashed or broke an invariant under the cargo-fuzz targets in `fuzz/`.
//!
//! Each file in `tests/fuzz_regressions/<target>/` is fed to the same calls and checks as the
//! fuzz target of that name, so a fixed crash stays fixed without needing nightly or libFuzzer.

use newswatch::archive::{Entry, Reader, write_record};
use newswatch::article::{Article, Fingerprint};
use newswatch::extract::{self, FieldSelectors, feed};
use newswatch::fetch::charset;
use newswatch::normalise;
use newswatch::notify::filter::Pattern;
use scraper::Selector;
use std::path::Path;
use url::Url;

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_regressions")
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, Vec<u8>)> = entries
        .filter_map(Result::ok)
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let bytes = std::fs::read(e.path()).unwrap_or_else(|err| panic!("{name}: {err}"));
            (name, bytes)
        })
        .collect();
    out.sort();
    out
}

fn url(s: &str) -> Url {
    Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

#[test]
fn archive() {
    for (name, data) in inputs("archive") {
        for entry in Reader::new(&data[..]) {
            let Ok(entry) = entry else { break };
            let Entry::Record(r) = entry else { continue };
            let article = Article::new(
                &r.title,
                &r.body,
                r.date,
                None,
                "archive",
                chrono::DateTime::UNIX_EPOCH,
            );
            let mut out = Vec::new();
            if write_record(&mut out, &article).is_err() {
                continue;
            }
            let back: Vec<Entry> = Reader::new(&out[..]).filter_map(Result::ok).collect();
            match back.as_slice() {
                [Entry::Record(b)] => {
                    assert_eq!(normalise::text(&b.title), article.title, "{name}");
                    assert_eq!(normalise::text(&b.body), article.body, "{name}");
                    assert_eq!(b.date, article.date, "{name}");
                }
                other => panic!("{name}: reads back as {other:?}"),
            }
        }
    }
}

#[test]
fn charset() {
    for (name, data) in inputs("charset") {
        let [ct_len, ov_len, rest @ ..] = &data[..] else {
            continue;
        };
        let ct_len = usize::from(*ct_len % 64).min(rest.len());
        let (ct, rest) = rest.split_at(ct_len);
        let ov_len = usize::from(*ov_len % 32).min(rest.len());
        let (ov, body) = rest.split_at(ov_len);
        let ct = (!ct.is_empty()).then(|| String::from_utf8_lossy(ct));
        let ov = (!ov.is_empty()).then(|| String::from_utf8_lossy(ov));
        let d = charset::decode(body, ct.as_deref(), ov.as_deref());
        if !d.had_errors && d.encoding == encoding_rs::UTF_8 {
            let plain = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
            assert_eq!(d.text.as_bytes(), plain, "{name}");
        }
    }
}

#[test]
fn html() {
    let page = url("http://h.test/news/2025/07/02/index.html");
    let a = Selector::parse("a").unwrap_or_else(|e| panic!("{e}"));
    for (_, data) in inputs("html") {
        let html = String::from_utf8_lossy(&data);
        let doc = extract::parse_document(&html);
        let _ = extract::auto::article(&doc, Some(&page));
        let _ = extract::list_page(&html, &page, &a, Some(&a));
        let _ = extract::article(&html, &page, &FieldSelectors::default());
        let _ = extract::fragment_text(&html);
    }
}

#[test]
fn date() {
    for (name, data) in inputs("date") {
        let s = String::from_utf8_lossy(&data);
        let _ = normalise::date(&s);
        let _ = normalise::archive_date(&s);
        let once = normalise::text(&s);
        assert_eq!(
            normalise::text(&once),
            once,
            "{name}: text is not idempotent"
        );
    }
}

#[test]
fn feed() {
    let feed_url = url("http://h.test/feed.xml");
    for (_, data) in inputs("feed") {
        for item in feed::parse(&data, &feed_url).unwrap_or_default() {
            if let Some(html) = &item.content_html {
                let _ = extract::fragment_text(html);
            }
        }
    }
}

#[test]
fn filter() {
    for (name, data) in inputs("filter") {
        let s = String::from_utf8_lossy(&data);
        let (pat, text) = s.split_once('\0').unwrap_or((&s, &s));
        let _ = Fingerprint::of(text);
        if let Ok(p) = Pattern::parse(pat) {
            for r in p.find_all(text) {
                assert!(text.get(r.clone()).is_some(), "{name}: {r:?}");
            }
        }
    }
}
