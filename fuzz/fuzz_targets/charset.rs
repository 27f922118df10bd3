//! Charset decoding: any bytes with any Content-Type and override label decode without panic.
//!
//! Input layout: byte 0 = length of the Content-Type value (0 means none), byte 1 = length of
//! the override label (0 means none), then those two strings (lossy UTF-8), then the body.
#![no_main]

#[path = "../checks.rs"]
mod checks;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| checks::charset(data));
