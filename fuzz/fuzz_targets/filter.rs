//! Digest keywords and near-duplicate fingerprints: `Pattern::parse`, `find_all` and
//! `Fingerprint::of` on any input. Input: pattern, a NUL byte, then the text searched.
#![no_main]

use libfuzzer_sys::fuzz_target;
use newswatch::article::Fingerprint;
use newswatch::notify::filter::Pattern;

fuzz_target!(|data: &[u8]| {
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
});
