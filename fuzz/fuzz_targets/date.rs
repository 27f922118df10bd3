//! Dates and text normalisation: `date`, `archive_date` and `text` on any string.
//!
//! Properties: `text` is idempotent and leaves no whitespace but single inner spaces;
//! `archive_date` accepts exactly what it would print; `date` finds only 19xx/20xx years.
#![no_main]

use chrono::Datelike;
use libfuzzer_sys::fuzz_target;
use newswatch::normalise;

fuzz_target!(|data: &[u8]| {
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
});
