//! Inputs that once crashed or broke an invariant under the cargo-fuzz targets in `fuzz/`, and
//! small hand-made ones for targets that found nothing yet.
//!
//! Each file in `tests/fuzz_regressions/<target>/` goes through `fuzz/checks.rs`, the very
//! calls and assertions the fuzz target of that name runs, so a fixed crash stays fixed without
//! nightly or libFuzzer. A target's folder missing or empty is a failure: a regression test
//! that reads nothing checks nothing.

#[path = "../fuzz/checks.rs"]
mod checks;

use std::path::Path;

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_regressions")
        .join(target);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut out: Vec<(String, Vec<u8>)> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let bytes = std::fs::read(e.path()).unwrap_or_else(|err| panic!("{name}: {err}"));
            (name, bytes)
        })
        .collect();
    assert!(
        !out.is_empty(),
        "{}: no inputs; add the crash (or a small hand-made case) here",
        dir.display()
    );
    out.sort();
    out
}

/// Runs `check` on every input of `target`, naming the input that fails.
fn replay(target: &str, check: impl Fn(&[u8]) + std::panic::RefUnwindSafe) {
    for (name, data) in inputs(target) {
        if let Err(e) = std::panic::catch_unwind(|| check(&data)) {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            panic!("{target}/{name}: {msg}");
        }
    }
}

#[test]
fn archive() {
    replay("archive", checks::archive);
}

#[test]
fn charset() {
    replay("charset", checks::charset);
}

#[test]
fn html() {
    replay("html", checks::html);
}

#[test]
fn date() {
    replay("date", checks::date);
}

#[test]
fn feed() {
    replay("feed", |data| {
        checks::feed(data);
    });
    // The corpus reaches past the parser's error path: some inputs are read as feeds.
    let read: usize = inputs("feed").iter().map(|(_, d)| checks::feed(d)).sum();
    assert!(read > 0, "no feed corpus input parses as a feed");
}

#[test]
fn filter() {
    replay("filter", checks::filter);
}

#[test]
fn a_missing_corpus_folder_fails() {
    let outcome = std::panic::catch_unwind(|| inputs("no-such-target"));
    assert!(outcome.is_err(), "a missing folder must not pass as empty");
}
