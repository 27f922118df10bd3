//! Archive reader: any bytes are read without panicking, and every record read back after
//! `write_record` is the same article (title, body, date after normalisation).
#![no_main]

use libfuzzer_sys::fuzz_target;
use newswatch::archive::{Entry, Reader, write_record};
use newswatch::article::Article;
use newswatch::normalise;

fuzz_target!(|data: &[u8]| {
    for entry in Reader::new(data) {
        // Invalid UTF-8 ends the reader with an error; that is reported, not a crash.
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
});
