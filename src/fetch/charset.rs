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
    /// The declared charset (`declared`) turns the bytes into errors; this one reads them
    /// cleanly.
    DecodesDespiteLabel { declared: String },
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
            Reason::DecodesDespiteLabel { declared } => {
                write!(
                    f,
                    "bytes decode without errors, unlike as labelled {declared}"
                )
            }
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

/// Decodes `bytes`, choosing the encoding as a browser would, then preferring what decodes
/// without errors: a declared charset that turns the bytes into replacement characters loses to
/// one that reads them cleanly (UTF-8 labelled gb2312, GBK served as UTF-8), and a page with no
/// declaration is detected from its non-ASCII bytes, however much ASCII (scripts, styles) comes
/// first. Never fails: undecodable bytes become U+FFFD.
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
    if had_errors
        && matches!(reason, Reason::Header | Reason::Meta | Reason::Detected)
        && let Some(better) = cleaner(bytes, chosen, &text)
    {
        let (text, _, had_errors) = better.decode(bytes);
        let reason = match reason {
            Reason::Detected => Reason::Detected,
            _ => Reason::DecodesDespiteLabel {
                declared: chosen.name().to_owned(),
            },
        };
        return Decoded {
            text: text.into_owned(),
            encoding: better,
            reason,
            had_errors,
        };
    }
    Decoded {
        text: text.into_owned(),
        encoding,
        reason,
        had_errors,
    }
}

/// The legacy encodings Chinese pages come in, tried when the chosen one meets invalid bytes.
const LEGACY: [&Encoding; 2] = [GB18030, encoding_rs::BIG5];

/// An encoding that reads `bytes` better than `chosen` did (`text` is its output), if there is
/// one. UTF-8 is judged by its structure: bytes whose multi-byte sequences are nearly all valid
/// UTF-8 are UTF-8 with a few broken bytes (GBK text almost never forms valid UTF-8, while
/// GB18030 decodes most UTF-8 without an error, so an error count alone would mislead). Other
/// bytes go to the legacy encoding with the fewest errors, when it has clearly fewer.
fn cleaner(bytes: &[u8], chosen: &'static Encoding, text: &str) -> Option<&'static Encoding> {
    if looks_utf8(bytes) {
        return (chosen != UTF_8).then_some(UTF_8);
    }
    let errors = |t: &str| t.chars().filter(|c| *c == '\u{FFFD}').count();
    let own = errors(text);
    LEGACY
        .into_iter()
        .filter(|e| *e != chosen)
        .map(|e| {
            let (t, _) = e.decode_without_bom_handling(bytes);
            (errors(&t), e)
        })
        .filter(|(n, _)| n * 4 < own)
        .min_by_key(|(n, _)| *n)
        .map(|(_, e)| e)
}

/// Whether at least 95 % of the non-ASCII sequences in `bytes` are valid UTF-8 (and there are
/// some).
fn looks_utf8(bytes: &[u8]) -> bool {
    let (mut valid, mut invalid) = (0usize, 0usize);
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                valid += s.bytes().filter(|b| *b >= 0xC0).count();
                break;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                valid += good.iter().filter(|b| **b >= 0xC0).count();
                invalid += 1;
                let skip = e.error_len().unwrap_or(bad.len()).max(1);
                rest = &bad[skip.min(bad.len())..];
                if rest.is_empty() {
                    break;
                }
            }
        }
    }
    valid > 0 && invalid * 20 <= valid
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
    (detect(bytes), Reason::Detected)
}

/// How much of the non-ASCII part of a page the statistical detector is shown: plenty for
/// Chinese text, and a bound on the work for huge pages.
const DETECT_WINDOW: usize = 16 * 1024;

/// What chardetng is shown: it runs at a few MB/s, and a few kilobytes of text decide it.
const CHARDETNG_WINDOW: usize = 4 * 1024;

/// The encoding of undeclared bytes: UTF-8 when they are valid UTF-8, else chardetng's guess
/// over the bytes from the first non-ASCII one on. chardetng only judges what it is fed, and
/// pages often open with tens of kilobytes of ASCII scripts and styles, which tell it nothing.
fn detect(bytes: &[u8]) -> &'static Encoding {
    let Some(first) = bytes.iter().position(|b| !b.is_ascii()) else {
        return UTF_8;
    };
    if looks_utf8(bytes) {
        return UTF_8;
    }
    let end = bytes.len().min(first + DETECT_WINDOW);
    let window = &bytes[first..end];
    // Mainland pages settle here, cheaply: GBK text is Chinese as GBK without an error and
    // breaks as Big5 (its trail bytes 0x80–0xA0 do not exist there), and the reverse. Big5 text
    // also reads cleanly as GBK (as other characters), so that case, and any other, goes to the
    // statistical detector, which is far slower and so sees a smaller window.
    match (
        chinese_reading(GB18030, window),
        chinese_reading(encoding_rs::BIG5, window),
    ) {
        (Some(0), None) => return GB18030,
        (None, Some(0)) => return encoding_rs::BIG5,
        // Every Big5 pair is also a GBK pair, so Big5 text never errs as GBK; GBK text of the
        // common (GB2312) range mostly reads as Big5 too, but not wholly. Errors as Big5 with
        // none as GBK say GBK — a few of them, since a Big5 page may carry a broken byte or two.
        (Some(0), Some(big5_errors)) if big5_errors >= 3 => return GB18030,
        _ => {}
    }
    let end = bytes.len().min(first + CHARDETNG_WINDOW);
    let window = &bytes[first..end];
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(window, end == bytes.len());
    let guess = detector.guess(None, chardetng::Utf8Detection::Allow);
    if guess == encoding_rs::GBK {
        return GB18030;
    }
    if guess.is_single_byte() {
        // chardetng rules GBK out at the first invalid sequence, and old Chinese pages often
        // hold one or two; their text still reads as Chinese with next to no errors, which no
        // Western text decoded as GBK or Big5 does.
        if let Some(cjk) = LEGACY
            .into_iter()
            .filter_map(|e| chinese_reading(e, window).map(|errors| (errors, e)))
            .min_by_key(|(errors, _)| *errors)
        {
            return cjk.1;
        }
    }
    guess
}

/// How many errors decoding `window` as `enc` makes, if it reads as Chinese: at least 80 % of
/// the non-ASCII characters are CJK and at most 1 % are errors.
fn chinese_reading(enc: &'static Encoding, window: &[u8]) -> Option<usize> {
    let (text, _) = enc.decode_without_bom_handling(window);
    let (mut wide, mut cjk, mut errors) = (0usize, 0usize, 0usize);
    for c in text.chars().filter(|c| !c.is_ascii()) {
        wide += 1;
        match c {
            '\u{FFFD}' => errors += 1,
            '\u{3000}'..='\u{303F}' | '\u{4E00}'..='\u{9FFF}' | '\u{FF00}'..='\u{FFEF}' => cjk += 1,
            _ => {}
        }
    }
    (wide >= 20 && cjk * 5 >= wide * 4 && errors * 100 <= wide).then_some(errors)
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

    /// A page that opens with `kb` KiB of ASCII script before any text, then `body`.
    fn script_heavy(kb: usize, body: &[u8]) -> Vec<u8> {
        let mut page = b"<html><head><script>".to_vec();
        while page.len() < kb * 1024 {
            page.extend_from_slice(b"var settings = { theme: 'default', items: [1, 2, 3] };\n");
        }
        page.extend_from_slice(b"</script></head><body>");
        page.extend_from_slice(body);
        page.extend_from_slice(b"</body></html>");
        page
    }

    const NEWS: &str = "<h1>武汉市优化营商环境新闻发布会</h1><p>今年以来，全市坚持把优化营商环境作为“一把手”工程，企业开办时间压缩至一个工作日，政务服务事项全部实现网上可办。</p>";

    const NEWS_HANT: &str = "<h1>武漢市優化營商環境新聞發布會</h1><p>今年以來，全市堅持把優化營商環境作為「一把手」工程，企業開辦時間壓縮至一個工作日，政務服務事項全部實現網上可辦。</p>";

    #[test]
    fn undeclared_pages_are_detected_past_a_long_ascii_head() {
        for kb in [1, 80, 200] {
            let gbk_page = script_heavy(kb, &gbk(NEWS));
            let d = decode(&gbk_page, Some("text/html"), None);
            assert_eq!(
                (d.encoding, &d.reason),
                (GB18030, &Reason::Detected),
                "{kb} KiB"
            );
            assert!(d.text.contains("营商环境") && !d.had_errors, "{kb} KiB");

            let big5: Vec<u8> = encoding_rs::BIG5.encode(NEWS_HANT).0.into_owned();
            let d = decode(&script_heavy(kb, &big5), None, None);
            assert_eq!(d.encoding, encoding_rs::BIG5, "{kb} KiB");
            assert!(d.text.contains("營商環境") && !d.had_errors, "{kb} KiB");

            let d = decode(&script_heavy(kb, NEWS.as_bytes()), None, None);
            assert_eq!(d.encoding, UTF_8, "{kb} KiB");
            assert!(d.text.contains("营商环境"), "{kb} KiB");
        }
    }

    #[test]
    fn undeclared_gbk_with_a_broken_sequence_is_still_gbk() {
        // chardetng gives up on GBK at the first invalid sequence; the text still reads.
        let mut page = gbk(NEWS);
        page.extend_from_slice(&[0x81, 0x20]);
        page.extend(gbk(NEWS));
        let d = decode(&script_heavy(4, &page), None, None);
        assert_eq!(d.encoding, GB18030);
        assert!(d.text.contains("营商环境"));
        // Western text is not taken for Chinese.
        let latin1 = encoding_rs::WINDOWS_1252
            .encode("<p>Le café était fermé à Noël, déjà. Où être? Ça dépend, chère amie.</p>")
            .0
            .into_owned();
        let d = decode(&script_heavy(4, &latin1.repeat(5)), None, None);
        assert_eq!(d.encoding, encoding_rs::WINDOWS_1252);
    }

    #[test]
    fn a_label_that_turns_the_bytes_into_errors_loses() {
        // GBK served with the web server's default `charset=utf-8`.
        let page = script_heavy(2, &gbk(NEWS));
        let d = decode(&page, Some("text/html; charset=utf-8"), None);
        assert_eq!(d.encoding, GB18030);
        assert_eq!(
            d.reason,
            Reason::DecodesDespiteLabel {
                declared: "UTF-8".into()
            }
        );
        assert!(d.text.contains("营商环境") && !d.had_errors);
        // UTF-8 labelled gb2312, cut off mid-character at the end.
        let mut utf8 = b"<meta charset=gb2312>".to_vec();
        utf8.extend_from_slice(NEWS.as_bytes());
        utf8.extend_from_slice(&"营".as_bytes()[..2]);
        let d = decode(&utf8, None, None);
        assert_eq!(d.encoding, UTF_8);
        assert!(d.text.contains("营商环境"));
        // A page in its declared charset with a few broken bytes stays in it.
        let mut broken = b"<meta charset=utf-8>".to_vec();
        broken.extend_from_slice(NEWS.as_bytes());
        broken.extend_from_slice(&[0xFF, 0xFE, 0x81]);
        broken.extend_from_slice(NEWS.as_bytes());
        let d = decode(&broken, None, None);
        assert_eq!((d.encoding, &d.reason), (UTF_8, &Reason::Meta));
    }

    #[test]
    fn bom_and_xml_declaration() {
        let d = decode(b"\xEF\xBB\xBFabc", Some("text/html; charset=gbk"), None);
        assert_eq!(d.reason, Reason::Bom);
        let x = gbk("<?xml version=\"1.0\" encoding=\"GB2312\"?><rss>硚口</rss>");
        assert_eq!(decode(&x, None, None).encoding, GB18030);
    }
}
