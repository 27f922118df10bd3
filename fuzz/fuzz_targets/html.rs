//! HTML extraction: automatic and selector-driven article reading, list pages and fragment
//! text on any input (read as lossy UTF-8), without panic or runaway time.
#![no_main]

use libfuzzer_sys::fuzz_target;
use newswatch::extract::{self, FieldSelectors};
use scraper::Selector;
use std::collections::HashSet;
use std::sync::LazyLock;
use url::Url;

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

fuzz_target!(|data: &[u8]| {
    let html = String::from_utf8_lossy(data);

    let doc = extract::parse_document(&html);
    let _ = extract::auto::article(&doc, Some(&PAGE));

    let list = extract::list_page(&html, &PAGE, &A, Some(&A));
    let mut seen = HashSet::new();
    for link in &list.links {
        assert!(matches!(link.scheme(), "http" | "https"), "{link}");
        assert!(link.fragment().is_none(), "{link}");
        assert!(seen.insert(link), "duplicate {link}");
    }

    let raw = extract::article(&html, &PAGE, &FieldSelectors::default());
    if let Some(c) = &raw.canonical {
        assert!(matches!(c.scheme(), "http" | "https"), "{c}");
    }
    let _ = extract::article(&html, &PAGE, &SELECTORS);

    let _ = extract::fragment_text(&html);
});
