//! Character-set detection and decoding of fetched bytes.
//!
//! `reqwest::Response::text` honours only the HTTP header, and Chinese portals routinely send no
//! charset, a wrong one, or `gb2312` for pages that hold GBK-only characters such as 硚. The order
//! here follows what browsers do: override, BOM, HTTP header, `<meta>` / XML declaration, then
//! statistical detection.

use encoding_rs::{Encoding, GB18030, UTF_8};
use regex::bytes::Regex;
use std::fmt;
use std::sync::LazyLock;

/// Why an encoding was chosen; shown by `newswatch check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The source's `encoding` setting.
    Override,
    /// A byte-order mark.
    Bom,
    /// The `charset` of the `Content-Type` header.
    Header,
    /// A `<meta charset>` / `http-equiv` tag or an XML declaration.
    Meta,
    /// The bytes are valid UTF-8 although the page declared `declared`.
    Utf8DespiteLabel { declared: String },
    /// No usable declaration; guessed from the bytes.
    Detected,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Override => f.write_str("source `encoding` setting"),
            Reason::Bom => f.write_str("byte-order mark"),
            Reason::Header => f.write_str("HTTP Content-Type header"),
            Reason::Meta => f.write_str("<meta> charset in the page"),
            Reason::Utf8DespiteLabel { declared } => {
                write!(f, "bytes are valid UTF-8 although labelled {declared}")
            }
            Reason::Detected => f.write_str("detected from the bytes (no declaration)"),
        }
    }
}

/// Decoded text and how it was decoded.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub text: String,
    pub encoding: &'static Encoding,
    pub reason: Reason,
    /// Some bytes were invalid in the chosen encoding and replaced by U+FFFD.
    pub had_errors: bool,
}

/// Resolves a charset label, decoding the GB2312/GBK family as GB18030: real pages so labelled
/// hold characters only the superset has, and GB18030 decodes every GBK byte sequence the same.
pub fn encoding_for_label(label: &str) -> Option<&'static Encoding> {
    let enc = Encoding::for_label(label.trim().trim_matches(['"', '\'']).as_bytes())?;
    Some(if enc == encoding_rs::GBK {
        GB18030
    } else {
        enc
    })
}

/// The `charset` parameter of a `Content-Type` value.
pub fn header_charset(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches(['"', '\'']))
    })
}

static META: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i-u)<meta[^>]*?charset\s*=\s*["']?\s*([a-z0-9_:.\-]+)|<\?xml[^>]*?encoding\s*=\s*["']([a-z0-9_:.\-]+)"#,
    )
    .unwrap_or_else(|e| unreachable!("static meta pattern: {e}"))
});

/// The charset declared by a `<meta>` tag or XML declaration in the first 4 KiB.
pub fn meta_charset(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(4096)];
    let caps = META.captures(head)?;
    let label = caps.get(1).or_else(|| caps.get(2))?;
    let enc = encoding_for_label(std::str::from_utf8(label.as_bytes()).ok()?)?;
    // A page whose <meta> could be read as ASCII is not UTF-16, whatever it says (HTML spec).
    Some(
        if enc == encoding_rs::UTF_16LE || enc == encoding_rs::UTF_16BE {
            UTF_8
        } else {
            enc
        },
    )
}

/// Decodes `bytes`, choosing the encoding as a browser would. Never fails: undecodable bytes
/// become U+FFFD.
pub fn decode(bytes: &[u8], content_type: Option<&str>, override_label: Option<&str>) -> Decoded {
    let (chosen, reason) = choose(bytes, content_type, override_label);
    // `Encoding::decode` follows a byte-order mark whatever it is asked for, so an `encoding`
    // override is beaten by a BOM: report the encoding that really decoded the text.
    let (text, encoding, had_errors) = chosen.decode(bytes);
    let reason = if encoding == chosen {
        reason
    } else {
        Reason::Bom
    };
    Decoded {
        text: text.into_owned(),
        encoding,
        reason,
        had_errors,
    }
}

fn choose(
    bytes: &[u8],
    content_type: Option<&str>,
    override_label: Option<&str>,
) -> (&'static Encoding, Reason) {
    if let Some(enc) = override_label.and_then(encoding_for_label) {
        return (enc, Reason::Override);
    }
    if let Some((enc, _)) = Encoding::for_bom(bytes) {
        return (enc, Reason::Bom);
    }
    let declared = content_type
        .and_then(header_charset)
        .and_then(encoding_for_label)
        .map(|e| (e, Reason::Header))
        .or_else(|| meta_charset(bytes).map(|e| (e, Reason::Meta)));
    if let Some((enc, reason)) = declared {
        // A page labelled with a legacy charset whose bytes are nonetheless valid, non-ASCII UTF-8
        // was re-encoded by its CMS without fixing the label. Random GBK text is almost never
        // valid UTF-8, so trusting the bytes here is safe.
        if enc != UTF_8 && !bytes.is_ascii() && std::str::from_utf8(bytes).is_ok() {
            return (
                UTF_8,
                Reason::Utf8DespiteLabel {
                    declared: enc.name().to_owned(),
                },
            );
        }
        return (enc, reason);
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(
        &bytes[..bytes.len().min(64 * 1024)],
        bytes.len() <= 64 * 1024,
    );
    let guess = detector.guess(None, chardetng::Utf8Detection::Allow);
    let guess = if guess == encoding_rs::GBK {
        GB18030
    } else {
        guess
    };
    (guess, Reason::Detected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gbk(s: &str) -> Vec<u8> {
        GB18030.encode(s).0.into_owned()
    }

    #[test]
    fn gb2312_label_decodes_gbk_only_characters() {
        let mut page =
            b"<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=gb2312\">"
                .to_vec();
        page.extend(gbk("</head><body>硚口区招商引资</body></html>"));
        let d = decode(&page, Some("text/html"), None);
        assert_eq!(d.encoding, GB18030);
        assert_eq!(d.reason, Reason::Meta);
        assert!(d.text.contains("硚口区招商引资"), "{}", d.text);
        assert!(!d.had_errors);
    }

    #[test]
    fn header_wins_over_meta_and_override_wins_over_all() {
        let page = "<meta charset=\"gbk\"><p>光谷</p>".as_bytes();
        let d = decode(page, Some("text/html; charset=UTF-8"), None);
        assert_eq!((d.encoding, d.reason), (UTF_8, Reason::Header));
        let g = gbk("<p>光谷光谷</p>");
        let d = decode(&g, Some("text/html; charset=utf-8"), Some("gb2312"));
        assert_eq!((d.encoding, d.reason), (GB18030, Reason::Override));
        assert!(d.text.contains("光谷光谷"));
    }

    #[test]
    fn undeclared_gbk_is_detected() {
        let g = gbk(
            "<html><body><p>武汉市东西湖区持续深化营商环境改革，通过压缩企业开办流程、整合政务服务资源，为市场主体提供高效便捷服务。</p></body></html>",
        );
        let d = decode(&g, None, None);
        assert_eq!(d.reason, Reason::Detected);
        assert_eq!(d.encoding, GB18030);
        assert!(d.text.contains("营商环境改革"));
    }

    #[test]
    fn utf8_labelled_gb2312_is_read_as_utf8() {
        let page = "<meta charset=gb2312><p>新华网</p>".as_bytes();
        let d = decode(page, None, None);
        assert_eq!(d.encoding, UTF_8);
        assert!(matches!(d.reason, Reason::Utf8DespiteLabel { .. }));
    }

    #[test]
    fn invalid_bytes_are_replaced_not_fatal() {
        let mut page = b"<meta charset=gb2312>".to_vec();
        page.extend([0xB3, 0x88, 0xFF, 0xFF, 0x81]);
        let d = decode(&page, None, None);
        assert!(d.had_errors);
        assert!(d.text.contains('\u{FFFD}'));
    }

    #[test]
    fn a_bom_beats_the_override_and_is_reported() {
        let d = decode(b"\xFF\xFEA\x00", None, Some("utf-8"));
        assert_eq!((d.text.as_str(), d.encoding), ("A", encoding_rs::UTF_16LE));
        assert_eq!(d.reason, Reason::Bom);
    }

    #[test]
    fn bom_and_xml_declaration() {
        let d = decode(b"\xEF\xBB\xBFabc", Some("text/html; charset=gbk"), None);
        assert_eq!(d.reason, Reason::Bom);
        let x = gbk("<?xml version=\"1.0\" encoding=\"GB2312\"?><rss>硚口</rss>");
        assert_eq!(decode(&x, None, None).encoding, GB18030);
    }
}
