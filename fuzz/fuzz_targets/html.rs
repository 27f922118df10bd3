//! HTML extraction: automatic and selector-driven article reading, list pages and fragment
//! text on any input (read as lossy UTF-8), without panic or runaway time.
#![no_main]

#[path = "../checks.rs"]
mod checks;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| checks::html(data));
