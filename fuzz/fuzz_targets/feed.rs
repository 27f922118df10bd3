//! Feeds: `extract::feed::parse` on any bytes never lets a panic out.
//!
//! `parse` runs feed-rs under `catch_unwind` on purpose, but libfuzzer-sys installs a panic hook
//! that aborts on *any* panic, caught or not. So this target swaps in a quiet hook and aborts
//! itself only when a panic escapes `parse`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use newswatch::extract::{feed, fragment_text};
use std::sync::{LazyLock, Once};
use url::Url;

static FEED: LazyLock<Url> =
    LazyLock::new(|| Url::parse("http://h.test/feed.xml").unwrap_or_else(|e| panic!("{e}")));
static QUIET: Once = Once::new();

fuzz_target!(|data: &[u8]| {
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    let run = std::panic::catch_unwind(|| {
        if let Ok(items) = feed::parse(data, &FEED) {
            for item in items {
                if let Some(link) = &item.link {
                    assert!(matches!(link.scheme(), "http" | "https"), "{link}");
                    assert!(link.fragment().is_none(), "{link}");
                }
                if let Some(html) = &item.content_html {
                    let _ = fragment_text(html);
                }
            }
        }
    });
    if let Err(e) = run {
        let msg = e
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| e.downcast_ref::<&str>().copied())
            .unwrap_or("?");
        eprintln!("panic escaped feed handling: {msg}");
        std::process::abort();
    }
});
