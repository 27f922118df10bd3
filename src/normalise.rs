//! Normalise: turn extracted text into the archive's canonical form.
//!
//! Every route into the store — a crawled page, a feed item, an archive line — passes through
//! here, so that the same article always gets the same [`ContentHash`](crate::article::ContentHash).
//! The canonical form is the one of the archive files: NFKC-folded (full-width `，：？（）` become
//! ASCII), whitespace collapsed to single spaces, paragraphs joined by one space, on one line,
//! with no control characters, terminal escape sequences or invisible formatting characters.

use chrono::NaiveDate;
use regex::Regex;
use std::borrow::Cow;
use std::sync::LazyLock;
use unicode_normalization::UnicodeNormalization;

/// Marks a block boundary (paragraph, list item, table cell …) in raw extracted text.
///
/// U+2029 PARAGRAPH SEPARATOR never occurs in real page text, is whitespace, and survives NFKC,
/// so extraction can put it between blocks and [`text`] turns each run into exactly one space.
pub const BLOCK_BREAK: char = '\u{2029}';

/// NFKC-folds `raw`, collapses every whitespace run to one space and trims the ends.
///
/// A whitespace run that only holds a line break between two CJK characters is dropped rather than
/// turned into a space: that is how CSS Text 3 treats segment breaks in Chinese, and it keeps a
/// sentence that an HTML author wrapped over two source lines in one piece. A run that contains a
/// [`BLOCK_BREAK`] always becomes one space, because it separates paragraphs.
///
/// Control characters, terminal escape sequences and invisible formatting characters are
/// dropped first (see [`strip_controls`]), so a title never recolours a terminal, hides text or
/// looks empty while it is not.
///
/// The result is a fixed point: `text(&text(x)) == text(x)`.
pub fn text(raw: &str) -> String {
    let folded = nfkc(&strip_controls(raw));
    let mut out = String::with_capacity(folded.len());
    let mut chars = folded.chars().peekable();
    while let Some(c) = chars.next() {
        if !c.is_whitespace() {
            out.push(c);
            continue;
        }
        let mut has_block = c == BLOCK_BREAK;
        let mut only_breaks = c == '\n' || c == '\r';
        while let Some(&n) = chars.peek() {
            if !n.is_whitespace() {
                break;
            }
            has_block |= n == BLOCK_BREAK;
            only_breaks &= n == '\n' || n == '\r' || n == ' ' || n == '\t';
            chars.next();
        }
        let Some(&next) = chars.peek() else { break };
        let Some(prev) = out.chars().next_back() else {
            continue;
        };
        let segment_break_in_cjk = !has_block && only_breaks && is_wide(prev) && is_wide(next);
        if !segment_break_in_cjk {
            out.push(' ');
        }
    }
    // Dropping a segment break can join two characters that NFKC composes (kana + U+3099
    // voiced mark, Hangul jamo L + V), so fold once more: else a second pass changes the text and
    // the same article would hash differently once re-imported. Composition adds no whitespace.
    // (The fast path makes this pass nearly free for ordinary Chinese text.)
    if out.is_ascii() { out } else { nfkc(&out) }
}

/// `raw` without what no reader should get from a news text: terminal escape sequences (ECMA-48
/// CSI `ESC [ … m`, OSC `ESC ] … BEL` and their C1 forms, two-character escapes), every other
/// C0 and C1 control character but whitespace (which [`text`] turns into spaces) and DEL, and
/// invisible formatting characters: zero-width space, joiners and marks (U+200B–U+200F),
/// bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069, U+061C),
/// word joiner and invisible operators (U+2060–U+2064 and the deprecated U+206A–U+206F), the
/// byte-order mark as zero-width no-break space (U+FEFF), soft hyphen (U+00AD), Mongolian vowel
/// separator (U+180E), interlinear annotation marks (U+FFF9–U+FFFB) and tag characters
/// (U+E0000–U+E007F).
///
/// Written here rather than taken from a crate: it is part of the normal form, so what it keeps
/// must never change with a dependency's version (content hashes depend on it), and its common
/// case — nothing to strip — must cost one scan.
pub fn strip_controls(raw: &str) -> Cow<'_, str> {
    if !raw.chars().any(|c| is_stripped(c) || is_escape_start(c)) {
        return Cow::Borrowed(raw);
    }
    let chars: Vec<char> = raw.chars().collect();
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if is_escape_start(c) {
            i += escape_len(&chars[i..]);
            continue;
        }
        if !is_stripped(c) {
            out.push(c);
        }
        i += 1;
    }
    Cow::Owned(out)
}

/// ESC and the C1 controls that open a sequence (CSI, OSC, DCS, SOS, PM, APC).
fn is_escape_start(c: char) -> bool {
    matches!(
        c,
        '\u{1b}' | '\u{9b}' | '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}'
    )
}

/// A character dropped on its own.
fn is_stripped(c: char) -> bool {
    match c as u32 {
        // C0 and C1 controls and DEL, except whitespace (tab, line feed, vertical tab, form
        // feed, carriage return, next line), which becomes a space.
        0x00..=0x08 | 0x0E..=0x1F | 0x7F..=0x84 | 0x86..=0x9F => true,
        0x00AD | 0x061C | 0x180E | 0xFEFF => true,
        0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F => true,
        0xFFF9..=0xFFFB | 0xE0000..=0xE007F => true,
        _ => false,
    }
}

/// How many characters the escape sequence at the start of `s` spans (at least 1: the opener).
fn escape_len(s: &[char]) -> usize {
    let (body, control_string) = match s[0] {
        '\u{1b}' => match s.get(1) {
            Some('[') => (2, false),
            Some(']' | 'P' | 'X' | '^' | '_') => (2, true),
            // ESC, intermediates (space to `/`), a final (`0` to `~`): `ESC ( B`, `ESC 7`, `ESC c`.
            Some(_) => {
                let mut n = 1;
                while s.get(n).is_some_and(|c| ('\u{20}'..='\u{2f}').contains(c)) {
                    n += 1;
                }
                return match s.get(n) {
                    Some(c) if ('\u{30}'..='\u{7e}').contains(c) => n + 1,
                    _ => 1,
                };
            }
            None => return 1,
        },
        '\u{9b}' => (1, false),
        _ => (1, true),
    };
    if control_string {
        // Text up to BEL or ST (`ESC \\` or U+009C). Unterminated: only the opener is dropped,
        // so a stray ESC never swallows the text after it.
        for (i, c) in s.iter().enumerate().skip(body) {
            match c {
                '\u{07}' | '\u{9c}' => return i + 1,
                '\u{1b}' if s.get(i + 1) == Some(&'\\') => return i + 2,
                _ => {}
            }
        }
        return body;
    }
    // CSI: parameters (`0` to `?`), intermediates (space to `/`), one final (`@` to `~`). A
    // character outside that ends it early; the opener and what was read are dropped.
    let mut n = body;
    while s.get(n).is_some_and(|c| ('\u{30}'..='\u{3f}').contains(c)) {
        n += 1;
    }
    while s.get(n).is_some_and(|c| ('\u{20}'..='\u{2f}').contains(c)) {
        n += 1;
    }
    match s.get(n) {
        Some(c) if ('\u{40}'..='\u{7e}').contains(c) => n + 1,
        _ => n,
    }
}

/// NFKC of `raw`. Text made only of characters that NFKC maps one to one, on their own (ASCII,
/// CJK unified ideographs, full-width forms, common CJK punctuation: most Chinese news text), is
/// folded character by character; anything else goes through the full algorithm. Both give the
/// same string (tested below), so content hashes do not change.
fn nfkc(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match simple_fold(c) {
            Some(f) => out.push(f),
            None => return raw.nfkc().collect(),
        }
    }
    out
}

/// The NFKC form of `c` when `c` is a starter that maps to one character and composes with no
/// neighbour in this set; `None` for every other character.
fn simple_fold(c: char) -> Option<char> {
    match c as u32 {
        0x00..=0x7F | 0x4E00..=0x9FFF => Some(c),
        // Full-width ASCII variants fold to ASCII; the ideographic space to a space.
        0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0),
        0x3000 => Some(' '),
        0x00B7
        | 0x2014
        | 0x2018
        | 0x2019
        | 0x201C
        | 0x201D
        | 0x2029
        | 0x3001..=0x3003
        | 0x3008..=0x3011
        | 0x3014..=0x301B => Some(c),
        _ => None,
    }
}

/// Characters around which a source line break carries no space (CJK ideographs, kana, hangul
/// and full-width punctuation).
fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x11FF | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF
        | 0xA960..=0xA97F | 0xAC00..=0xD7FF | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6 | 0x20000..=0x2FFFD | 0x30000..=0x3FFFD)
}

static DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
        (?:^|[^0-9])
        ((?:19|20)[0-9]{2}) \s* (?:[-/.年]) \s*
        ([0-9]{1,2}) \s* (?:[-/.月]) \s*
        ([0-9]{1,2}) (?:[^0-9]|$)",
    )
    .unwrap_or_else(|e| unreachable!("static date pattern: {e}"))
});

/// Finds the first calendar date written in `text`, in any common Chinese or ISO form:
/// `2025-07-02 09:30`, `2025年07月02日`, `2025年7月2日`, `2025/7/2`, `2025.07.02`.
///
/// The date is the publisher's own calendar day as printed; no time-zone conversion is applied.
/// Impossible dates (`2025-02-30`) are passed over in favour of a later valid one.
pub fn date(text: &str) -> Option<NaiveDate> {
    let folded: String = text.nfkc().collect();
    let mut start = 0;
    while let Some(caps) = DATE.captures_at(&folded, start) {
        let whole = caps.get(0)?;
        let y = caps[1].parse().ok()?;
        let m = caps[2].parse().ok()?;
        let d = caps[3].parse().ok()?;
        if let Some(day) = NaiveDate::from_ymd_opt(y, m, d) {
            return Some(day);
        }
        // Step past the year just tried; the match may have eaten one leading separator.
        start = caps.get(1).map_or(whole.end(), |m| m.end());
    }
    None
}

/// Parses the archive's strict `YYYY-MM-DD` date line.
pub fn archive_date(line: &str) -> Option<NaiveDate> {
    let b = line.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return None;
    }
    NaiveDate::parse_from_str(line, "%Y-%m-%d").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_nfkc_equals_the_full_algorithm() {
        use unicode_normalization::char::{canonical_combining_class, compose};
        let simple: Vec<char> = (0..=0x10FFFFu32)
            .filter_map(char::from_u32)
            .filter(|c| simple_fold(*c).is_some())
            .collect();
        for &c in &simple {
            let full: String = c.to_string().nfkc().collect();
            assert_eq!(
                Some(full.as_str()),
                simple_fold(c).map(String::from).as_deref(),
                "{c:?}"
            );
            assert_eq!(canonical_combining_class(c), 0, "{c:?}");
        }
        // No two of them compose (ideographs never do, so pairs of them are skipped).
        let (ideographs, others): (Vec<char>, Vec<char>) = simple
            .iter()
            .partition(|c| ('\u{4E00}'..='\u{9FFF}').contains(*c));
        for &a in &others {
            for &b in others.iter().chain(&ideographs) {
                assert_eq!(compose(a, b), None, "{a:?} {b:?}");
                assert_eq!(compose(b, a), None, "{b:?} {a:?}");
            }
        }
        let mut texts = vec![
            "武汉，光谷（东湖）：签约１２个项目　总投资ＡＢＣ亿元！“招商”《引资》【通知】"
                .to_owned(),
            "e\u{301} café ﬁ ① ㈱ 𠀀 가 각 한국 …".to_owned(),
        ];
        let seeds = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/seeds/000_708f4c76f94c8937.txt");
        if let Ok(seed) = std::fs::read_to_string(seeds) {
            texts.extend(seed.lines().map(str::to_owned));
        }
        for t in &texts {
            assert_eq!(nfkc(t), t.nfkc().collect::<String>(), "{t}");
        }
    }

    #[test]
    fn folds_full_width_punctuation_and_spaces() {
        assert_eq!(
            text("  武汉，光谷：（一）？\u{3000}好 "),
            "武汉,光谷:(一)? 好"
        );
    }

    #[test]
    fn block_break_is_one_space_even_between_cjk() {
        let raw = format!("决心。\n{BLOCK_BREAK}\n  一、发展");
        assert_eq!(text(&raw), "决心。 一、发展");
    }

    #[test]
    fn source_line_break_inside_chinese_sentence_is_dropped() {
        assert_eq!(text("武汉市\n    硚口区"), "武汉市硚口区");
        assert_eq!(text("5G\n研发"), "5G 研发");
        assert_eq!(text("光谷 强化"), "光谷 强化");
    }

    #[test]
    fn text_is_idempotent_when_a_dropped_break_joins_composing_characters() {
        // Seen in review, confirmed by the `date` fuzz target's idempotence check.
        for raw in ["か\n\u{3099}", "\u{1100}\n\u{1161}", "ハ\r\n \u{309A}"] {
            let once = text(raw);
            assert_eq!(text(&once), once, "{raw:?}");
        }
        assert_eq!(text("か\n\u{3099}"), "が");
    }

    #[test]
    fn controls_escapes_and_invisible_characters_are_dropped() {
        for (raw, want) in [
            ("\u{1b}[31m红色\u{1b}[0m标题", "红色标题"),
            ("\u{1b}[1;38;5;196m粗体\u{1b}[m", "粗体"),
            (
                "\u{1b}]8;;http://evil.example/\u{7}点我\u{1b}]8;;\u{1b}\\",
                "点我",
            ),
            ("\u{1b}]0;窗口标题\u{7}正文", "正文"),
            ("\u{9b}2J清屏\u{9d}0;t\u{9c}后", "清屏后"),
            ("\u{1b}(B\u{1b}7保存\u{1b}8", "保存"),
            ("a\u{0}b\u{7f}c\u{8}d\u{85}e", "abcd e"),
            ("招\u{200b}商\u{200d}引\u{feff}资", "招商引资"),
            ("\u{202e}txt.exe\u{202c} \u{2066}x\u{2069}", "txt.exe x"),
            ("soft\u{ad}hyphen\u{e0041}", "softhyphen"),
            // A stray ESC or an unterminated string drops only itself.
            ("\u{1b}]没有结尾的文字", "没有结尾的文字"),
            ("末尾\u{1b}", "末尾"),
            ("\u{1b}[", ""),
            ("\u{200b}", ""),
            ("\u{200b} \u{200c}\u{2060}", ""),
        ] {
            let got = text(raw);
            assert_eq!(got, want, "{raw:?}");
            assert_eq!(text(&got), got, "idempotent for {raw:?}");
        }
        // Dropping one can bring composing characters together; the result is still a fixed
        // point.
        let joined = text("か\u{200b}\u{3099}");
        assert_eq!(text(&joined), joined);
        // Ordinary text is borrowed, not copied.
        assert!(matches!(
            strip_controls("武汉，光谷 abc\t\n"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn finds_dates_in_common_forms() {
        let d = NaiveDate::from_ymd_opt(2025, 7, 2);
        assert_eq!(date("发布时间：2025-07-02 09:30"), d);
        assert_eq!(date("2025年07月02日 来源：硚口区"), d);
        assert_eq!(date("2025年7月2日"), d);
        assert_eq!(date("日期: 2025/7/2"), d);
        assert_eq!(date("２０２５－０７－０２"), d);
        assert_eq!(date("2025-02-30 then 2025-07-02"), d);
        assert_eq!(date("编号 12025-07-02"), None);
        assert_eq!(date("no date here"), None);
    }

    #[test]
    fn archive_date_is_strict() {
        assert_eq!(
            archive_date("2025-07-02"),
            NaiveDate::from_ymd_opt(2025, 7, 2)
        );
        assert_eq!(archive_date("2025-7-2"), None);
        assert_eq!(archive_date("2025-13-02"), None);
        assert_eq!(archive_date("2025/07/02"), None);
    }
}
