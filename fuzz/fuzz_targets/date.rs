//! Dates and text normalisation: `date`, `archive_date` and `text` on any string.
//!
//! Properties: `text` is idempotent and leaves no whitespace but single inner spaces;
//! `archive_date` accepts exactly what it would print; `date` finds only 19xx/20xx years.
#![no_main]

#[path = "../checks.rs"]
mod checks;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| checks::date(data));
