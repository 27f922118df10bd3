//! Feeds: `extract::feed::parse` on any bytes never lets a panic out (see `checks::feed` for
//! the properties checked on what it reads).
//!
//! `parse` runs feed-rs under `catch_unwind` on purpose, but libfuzzer-sys installs a panic hook
//! that aborts on *any* panic, caught or not. So this target swaps in a quiet hook and aborts
//! itself only when a panic escapes `parse`.
#![no_main]

#[path = "../checks.rs"]
mod checks;

use libfuzzer_sys::fuzz_target;
use std::sync::Once;

static QUIET: Once = Once::new();

fuzz_target!(|data: &[u8]| {
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    if let Err(e) = std::panic::catch_unwind(|| checks::feed(data)) {
        let msg = e
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| e.downcast_ref::<&str>().copied())
            .unwrap_or("?");
        eprintln!("panic escaped feed handling: {msg}");
        std::process::abort();
    }
});
