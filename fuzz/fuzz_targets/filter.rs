//! Digest keywords and near-duplicate fingerprints: `Pattern::parse`, `find_all` and
//! `Fingerprint::of` on any input. Input: pattern, a NUL byte, then the text searched.
#![no_main]

#[path = "../checks.rs"]
mod checks;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| checks::filter(data));
