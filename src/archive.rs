//! The plain-text archive format: read and write.
//!
//! A record is four lines: `-`, the title, the one-line body, and the date as `YYYY-MM-DD`.
//! Anything between records that is not a `-` line (a site footer, blank lines) is not part of
//! a record; the reader reports it as skipped so nothing disappears silently.
//!
//! The reader holds one record in memory, and at most [`MAX_LINE_BYTES`] of any line: a longer
//! line rejects its record (or is skipped outside one) without being read into memory whole. A
//! line that is not valid in the file's encoding (UTF-8 unless told otherwise) does the same,
//! naming the line, and reading goes on.

use crate::article::Article;
use chrono::NaiveDate;
use encoding_rs::{Encoding, UTF_8};
use std::io::{self, BufRead, Write};

/// The longest line a record may have, in bytes: 1 MiB, about 350,000 Chinese characters, far
/// past any news article (long government reports run to tens of thousands). Longer lines are
/// rejected rather than read, so a broken or hostile file cannot exhaust memory.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// How much of a skipped line is kept for the report.
const SHOWN_CHARS: usize = 60;

/// One well-formed record, with the line number of its `-` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub line: usize,
    pub title: String,
    pub body: String,
    pub date: NaiveDate,
}

/// What the reader found at one place in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Record(Record),
    /// A record that started at `line` but is malformed; `reason` says how.
    Rejected {
        line: usize,
        reason: String,
    },
    /// A line outside any record; `text` is its opening (at most 60 characters), or what is
    /// wrong with it when it cannot be shown.
    Skipped {
        line: usize,
        text: String,
    },
}

/// One line as read.
enum Line {
    Text(String),
    /// Longer than [`MAX_LINE_BYTES`]: `bytes` long; only its opening was kept.
    TooLong {
        bytes: usize,
        opening: String,
    },
    /// Not valid in the file's encoding, at byte `at` of the line.
    Undecodable {
        at: usize,
        opening: String,
    },
}

impl Line {
    /// Why this line cannot be part of a record, if it cannot.
    fn problem(&self, encoding: &'static Encoding, hint: bool) -> Option<String> {
        match self {
            Line::Text(_) => None,
            Line::TooLong { bytes, .. } => Some(format!(
                "line is {bytes} bytes, over the limit of {MAX_LINE_BYTES} bytes (1 MiB) for a line of a record"
            )),
            Line::Undecodable { at, .. } => Some(undecodable(encoding, *at, hint)),
        }
    }

    /// How a skipped line is shown.
    fn shown(self, encoding: &'static Encoding, hint: bool) -> String {
        match self {
            Line::Text(t) => truncate(&t, SHOWN_CHARS).to_owned(),
            Line::TooLong { bytes, opening } => {
                format!("{opening}… ({bytes} bytes, over the 1 MiB line limit)")
            }
            Line::Undecodable { at, opening } => {
                format!("{opening}… ({})", undecodable(encoding, at, hint))
            }
        }
    }
}

/// The message for a line not valid in `encoding` from byte `at`; with `hint`, how to read
/// the file in another encoding (given once per file, not on every line).
fn undecodable(encoding: &'static Encoding, at: usize, hint: bool) -> String {
    let hint = if hint && encoding == UTF_8 {
        " (a GBK, GB18030 or Big5 archive? give --encoding gbk, gb18030, big5 or auto)"
    } else {
        ""
    };
    format!(
        "not valid {} at byte {} of the line{hint}",
        encoding.name(),
        at + 1
    )
}

/// Reads archive entries one at a time, holding one record in memory.
pub struct Reader<R> {
    input: R,
    encoding: &'static Encoding,
    line_no: usize,
    buf: Vec<u8>,
    /// A `-` line read while looking for the rest of a broken record; it starts the next one.
    held: Option<usize>,
    /// Whether the hint about `--encoding` was given yet.
    hinted: bool,
}

impl<R: BufRead> Reader<R> {
    /// A reader of UTF-8 text.
    pub fn new(input: R) -> Self {
        Reader::with_encoding(input, UTF_8)
    }

    /// A reader of text in `encoding`, which must be ASCII-compatible (lines end in `\n`):
    /// UTF-8, GBK/GB18030, Big5 …
    pub fn with_encoding(input: R, encoding: &'static Encoding) -> Self {
        Reader {
            input,
            encoding,
            line_no: 0,
            buf: Vec::new(),
            held: None,
            hinted: false,
        }
    }

    /// Reads one raw line into `self.buf`, keeping at most [`MAX_LINE_BYTES`] and its line end;
    /// the rest of a longer line is read and dropped. Returns the line's whole length without
    /// its `\n`, or `None` at the end of the input.
    fn raw_line(&mut self) -> io::Result<Option<usize>> {
        self.buf.clear();
        let mut total = 0;
        loop {
            let chunk = match self.input.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                return Ok((total > 0).then_some(total));
            }
            let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            // The line, its `\r\n`, and no more.
            let room = (MAX_LINE_BYTES + 2).saturating_sub(self.buf.len());
            self.buf.extend_from_slice(&chunk[..take.min(room)]);
            total += take;
            self.input.consume(take);
            if done {
                return Ok(Some(total - 1));
            }
        }
    }

    fn next_line(&mut self) -> io::Result<Option<(usize, Line)>> {
        if let Some(n) = self.held.take() {
            return Ok(Some((n, Line::Text("-".into()))));
        }
        let Some(bytes) = self.raw_line()? else {
            return Ok(None);
        };
        self.line_no += 1;
        let mut raw: &[u8] = &self.buf;
        if let Some(r) = raw.strip_suffix(b"\n") {
            raw = r.strip_suffix(b"\r").unwrap_or(r);
        }
        if self.line_no == 1 && self.encoding == UTF_8 {
            raw = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw);
        }
        let opening = |raw: &[u8]| {
            let head = &raw[..raw.len().min(SHOWN_CHARS * 4)];
            truncate(
                &self.encoding.decode_without_bom_handling(head).0,
                SHOWN_CHARS,
            )
            .to_owned()
        };
        let cut = bytes > self.buf.len() && !self.buf.ends_with(b"\n");
        let line = if cut || raw.len() > MAX_LINE_BYTES {
            Line::TooLong {
                bytes,
                opening: opening(raw),
            }
        } else if self.encoding == UTF_8 {
            match std::str::from_utf8(raw) {
                Ok(s) => Line::Text(s.to_owned()),
                Err(e) => Line::Undecodable {
                    at: e.valid_up_to(),
                    opening: opening(raw),
                },
            }
        } else {
            match self
                .encoding
                .decode_without_bom_handling_and_without_replacement(raw)
            {
                Some(s) => Line::Text(s.into_owned()),
                None => {
                    // Where it goes wrong, for the message.
                    let mut decoder = self.encoding.new_decoder_without_bom_handling();
                    let mut out = String::with_capacity(raw.len() * 3 + 16);
                    let (result, read) =
                        decoder.decode_to_string_without_replacement(raw, &mut out, true);
                    let at = match result {
                        encoding_rs::DecoderResult::Malformed(bad, after) => {
                            read.saturating_sub(usize::from(bad) + usize::from(after))
                        }
                        _ => read,
                    };
                    Line::Undecodable {
                        at,
                        opening: opening(raw),
                    }
                }
            }
        };
        Ok(Some((self.line_no, line)))
    }

    /// Whether to give the hint about `--encoding` now: the first time only.
    fn hint(&mut self) -> bool {
        !std::mem::replace(&mut self.hinted, true)
    }

    /// Reads one field line of the record starting at `start`; a `-` line ends the record early.
    fn field(&mut self, start: usize, what: &str) -> io::Result<Result<(usize, Line), Entry>> {
        match self.next_line()? {
            None => Ok(Err(Entry::Rejected {
                line: start,
                reason: format!("record ends at end of file before its {what} line"),
            })),
            Some((n, Line::Text(l))) if l == "-" => {
                self.held = Some(n);
                Ok(Err(Entry::Rejected {
                    line: start,
                    reason: format!("record has no {what} line (line {n} starts the next record)"),
                }))
            }
            Some(found) => Ok(Ok(found)),
        }
    }

    fn read_record(&mut self, start: usize) -> io::Result<Entry> {
        let (title_line, title) = match self.field(start, "title")? {
            Ok(f) => f,
            Err(e) => return Ok(e),
        };
        let (body_line, body) = match self.field(start, "body")? {
            Ok(f) => f,
            Err(e) => return Ok(e),
        };
        let (date_line, date) = match self.field(start, "date")? {
            Ok(f) => f,
            Err(e) => return Ok(e),
        };
        let reject = |line, reason: String| Ok(Entry::Rejected { line, reason });
        for (line, field) in [(title_line, &title), (body_line, &body), (date_line, &date)] {
            let hint = matches!(field, Line::Undecodable { .. }) && self.hint();
            if let Some(problem) = field.problem(self.encoding, hint) {
                return reject(line, problem);
            }
        }
        let (Line::Text(title), Line::Text(body), Line::Text(date)) = (title, body, date) else {
            unreachable!("every field was checked to be text")
        };
        if title.trim().is_empty() {
            return reject(title_line, "empty title".into());
        }
        if body.trim().is_empty() {
            return reject(body_line, "empty body".into());
        }
        match crate::normalise::archive_date(date.trim_end()) {
            Some(date) => Ok(Entry::Record(Record {
                line: start,
                title,
                body,
                date,
            })),
            None => reject(
                date_line,
                format!("date {:?} is not YYYY-MM-DD", truncate(&date, 40)),
            ),
        }
    }
}

impl<R: BufRead> Iterator for Reader<R> {
    type Item = io::Result<Entry>;

    fn next(&mut self) -> Option<Self::Item> {
        let (n, line) = match self.next_line() {
            Ok(Some(l)) => l,
            Ok(None) => return None,
            Err(e) => return Some(Err(e)),
        };
        match line {
            Line::Text(l) if l == "-" => Some(self.read_record(n)),
            other => {
                let hint = matches!(other, Line::Undecodable { .. }) && self.hint();
                Some(Ok(Entry::Skipped {
                    line: n,
                    text: other.shown(self.encoding, hint),
                }))
            }
        }
    }
}

/// Writes one article as an archive record.
///
/// A title or body that is exactly `-` would read back as the start of the next record, so it
/// is written as ` -`, which normalises to the same text (and the same content hash) on import.
pub fn write_record(out: &mut impl Write, article: &Article) -> io::Result<()> {
    let field = |s: &str| {
        if s == "-" {
            " -".to_owned()
        } else {
            s.to_owned()
        }
    };
    writeln!(
        out,
        "-\n{}\n{}\n{}",
        field(&article.title),
        field(&article.body),
        article.date.format("%Y-%m-%d")
    )
}

/// The first `max` characters of `s`, for messages.
pub(crate) fn truncate(s: &str, max: usize) -> &str {
    s.char_indices().nth(max).map_or(s, |(i, _)| &s[..i])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(text: &str) -> Vec<Entry> {
        Reader::new(text.as_bytes())
            .collect::<io::Result<Vec<_>>>()
            .unwrap_or_default()
    }

    #[test]
    fn reads_records_and_reports_footer_lines() {
        let got = entries("-\nT1\nB1\n2025-07-02\n-\nT2\nB2\n2024-01-31\nfooter\n\n- 联系我们\n");
        assert_eq!(got.len(), 5);
        assert!(matches!(&got[0], Entry::Record(r) if r.title == "T1" && r.line == 1));
        assert!(matches!(&got[1], Entry::Record(r) if r.body == "B2" && r.line == 5));
        assert_eq!(
            got[2],
            Entry::Skipped {
                line: 9,
                text: "footer".into()
            }
        );
        assert!(matches!(&got[4], Entry::Skipped { line: 11, .. }));
    }

    #[test]
    fn rejects_malformed_records_with_their_lines() {
        let got = entries(
            "-\n\nB\n2025-07-02\n-\nT\nB\n2025/07/02\n-\nT\n-\nT3\nB3\n2025-07-03\n-\nT4\n",
        );
        assert!(matches!(&got[0], Entry::Rejected { line: 2, reason } if reason.contains("title")));
        assert!(matches!(&got[1], Entry::Rejected { line: 8, reason } if reason.contains("YYYY")));
        assert!(matches!(&got[2], Entry::Rejected { line: 9, reason } if reason.contains("body")));
        assert!(matches!(&got[3], Entry::Record(r) if r.title == "T3" && r.line == 11));
        assert!(
            matches!(&got[4], Entry::Rejected { line: 15, reason } if reason.contains("end of file"))
        );
        assert_eq!(got.len(), 5);
    }

    #[test]
    fn a_dash_title_or_body_round_trips() {
        let day = NaiveDate::from_ymd_opt(2025, 7, 2).unwrap_or_default();
        let a = Article::new(" -", "-", day, None, "archive", chrono::Utc::now());
        let mut out = Vec::new();
        assert!(write_record(&mut out, &a).is_ok());
        let got = entries(&String::from_utf8_lossy(&out));
        assert!(
            matches!(&got[..], [Entry::Record(r)]
                if crate::normalise::text(&r.title) == "-" && crate::normalise::text(&r.body) == "-"),
            "{got:?}"
        );
    }

    fn entries_of(bytes: &[u8], encoding: &'static Encoding) -> Vec<Entry> {
        Reader::with_encoding(bytes, encoding)
            .collect::<io::Result<Vec<_>>>()
            .unwrap_or_default()
    }

    #[test]
    fn an_over_long_line_rejects_its_record_and_reading_goes_on() {
        let mut file = b"-\nT1\n".to_vec();
        file.extend(std::iter::repeat_n(b'x', MAX_LINE_BYTES + 1));
        file.extend_from_slice(b"\n2025-07-02\n-\nT2\nB2\n2025-07-03\n");
        file.extend(std::iter::repeat_n(b'y', MAX_LINE_BYTES * 2));
        let got = entries_of(&file, UTF_8);
        assert!(
            matches!(&got[0], Entry::Rejected { line: 3, reason } if reason.contains("1048577 bytes")),
            "{:?}",
            &got[0]
        );
        assert!(matches!(&got[1], Entry::Record(r) if r.title == "T2" && r.line == 5));
        assert!(
            matches!(&got[2], Entry::Skipped { line: 9, text } if text.len() < 300 && text.contains("2097152 bytes")),
            "{:?}",
            &got[2]
        );
        // A line of exactly the limit, with CRLF, is a line like any other.
        let mut file = b"-\nT\n".to_vec();
        file.extend(std::iter::repeat_n(b'z', MAX_LINE_BYTES));
        file.extend_from_slice(b"\r\n2025-07-02\r\n");
        assert!(
            matches!(&entries_of(&file, UTF_8)[..], [Entry::Record(r)] if r.body.len() == MAX_LINE_BYTES)
        );
    }

    #[test]
    fn undecodable_lines_are_reported_and_the_hint_given_once() {
        let file = b"-\n\xff title\nB\n2025-07-02\nfoot\xc3(\n-\nT\nB\n2025-07-03\n";
        let got = entries_of(file, UTF_8);
        assert!(
            matches!(&got[0], Entry::Rejected { line: 2, reason }
                if reason.contains("not valid UTF-8 at byte 1") && reason.contains("--encoding")),
            "{:?}",
            &got[0]
        );
        assert!(
            matches!(&got[1], Entry::Skipped { line: 5, text }
                if text.starts_with("foot") && text.contains("byte 5") && !text.contains("--encoding")),
            "{:?}",
            &got[1]
        );
        assert!(matches!(&got[2], Entry::Record(r) if r.line == 6));
        let gbk = encoding_rs::GB18030
            .encode("-\n硚口区\n营商环境。\n2025-07-02\n")
            .0;
        assert!(matches!(
            &entries_of(&gbk, UTF_8)[0],
            Entry::Rejected { line: 2, .. }
        ));
        assert!(matches!(
            &entries_of(&gbk, encoding_rs::GB18030)[..],
            [Entry::Record(r)] if r.title == "硚口区" && r.body == "营商环境。"
        ));
    }

    #[test]
    fn tolerates_crlf_and_bom() {
        let got = entries("\u{feff}-\r\nT\r\nB\r\n2025-07-02\r\n");
        assert!(matches!(&got[0], Entry::Record(r) if r.title == "T" && r.body == "B"));
    }
}
