//! Charset decoding: any bytes with any Content-Type and override label decode without panic.
//!
//! Input layout: byte 0 = length of the Content-Type value (0 means none), byte 1 = length of
//! the override label (0 means none), then those two strings (lossy UTF-8), then the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use newswatch::fetch::charset;

fuzz_target!(|data: &[u8]| {
    let [ct_len, ov_len, rest @ ..] = data else {
        return;
    };
    let ct_len = usize::from(*ct_len % 64).min(rest.len());
    let (ct, rest) = rest.split_at(ct_len);
    let ov_len = usize::from(*ov_len % 32).min(rest.len());
    let (ov, body) = rest.split_at(ov_len);
    let ct = (!ct.is_empty()).then(|| String::from_utf8_lossy(ct));
    let ov = (!ov.is_empty()).then(|| String::from_utf8_lossy(ov));

    let d = charset::decode(body, ct.as_deref(), ov.as_deref());
    if !d.had_errors && d.encoding.name() == "UTF-8" {
        // Decoding as UTF-8 without errors yields the bytes themselves, less a leading BOM.
        let plain = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
        assert_eq!(d.text.as_bytes(), plain);
    }
    if let Some(ct) = ct.as_deref() {
        let _ = charset::header_charset(ct).map(charset::encoding_for_label);
    }
    let _ = charset::meta_charset(body);
});
