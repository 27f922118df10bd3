//! Archive reader: any bytes are read without panicking, and every record read back after
//! `write_record` is the same article (title, body, date after normalisation).
#![no_main]

#[path = "../checks.rs"]
mod checks;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| checks::archive(data));
