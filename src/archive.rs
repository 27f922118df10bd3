//! The plain-text archive format: read and write.
//!
//! A record is four lines: `-`, the title, the one-line body, and the date as `YYYY-MM-DD`.
//! Anything between records that is not a `-` line (a site footer, blank lines) is not part of
//! a record; the reader reports it as skipped so nothing disappears silently.

use crate::article::Article;
use chrono::NaiveDate;
use std::io::{self, BufRead, Write};

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
    /// A line outside any record.
    Skipped {
        line: usize,
        text: String,
    },
}

/// Reads archive entries one at a time, holding one record in memory.
pub struct Reader<R> {
    lines: io::Lines<R>,
    line_no: usize,
    /// A `-` line read while looking for the rest of a broken record; it starts the next one.
    held: Option<(usize, String)>,
}

impl<R: BufRead> Reader<R> {
    pub fn new(input: R) -> Self {
        Reader {
            lines: input.lines(),
            line_no: 0,
            held: None,
        }
    }

    fn next_line(&mut self) -> io::Result<Option<(usize, String)>> {
        if let Some(held) = self.held.take() {
            return Ok(Some(held));
        }
        match self.lines.next() {
            None => Ok(None),
            Some(line) => {
                let mut line = line?;
                self.line_no += 1;
                if self.line_no == 1 && line.starts_with('\u{feff}') {
                    line.drain(..'\u{feff}'.len_utf8());
                }
                if line.ends_with('\r') {
                    line.pop();
                }
                Ok(Some((self.line_no, line)))
            }
        }
    }

    /// Reads one field line of the record starting at `start`; a `-` line ends the record early.
    fn field(&mut self, start: usize, what: &str) -> io::Result<Result<(usize, String), Entry>> {
        match self.next_line()? {
            None => Ok(Err(Entry::Rejected {
                line: start,
                reason: format!("record ends at end of file before its {what} line"),
            })),
            Some((n, l)) if l == "-" => {
                self.held = Some((n, l));
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
        if line == "-" {
            Some(self.read_record(n))
        } else {
            Some(Ok(Entry::Skipped {
                line: n,
                text: line,
            }))
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

    #[test]
    fn tolerates_crlf_and_bom() {
        let got = entries("\u{feff}-\r\nT\r\nB\r\n2025-07-02\r\n");
        assert!(matches!(&got[0], Entry::Record(r) if r.title == "T" && r.body == "B"));
    }
}
