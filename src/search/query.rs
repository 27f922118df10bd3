//! What a user's query text means.
//!
//! The text is read as plain terms, never as tantivy's query syntax: analysts paste titles,
//! punctuation and half-width/full-width mixtures, and none of that may turn into a syntax error
//! or a panic. Terms are separated by spaces and all must match (AND). `"…"` or `“…”` keeps a
//! phrase with its spaces as one term; a leading `-` excludes a term. Each term matches where its
//! units appear in order (see [`super::tokens`]), so a CJK term is found as a substring of the
//! article and a Latin word as a whole word, case-insensitively.

use super::tokens::{self, Kind, Unit};
use unicode_normalization::UnicodeNormalization;

/// Query text longer than this is refused (it is a pasted article, not a search).
pub(crate) const MAX_QUERY_CHARS: usize = 500;
/// More terms than this are refused.
pub(crate) const MAX_TERMS: usize = 32;

/// One term of a query, NFKC-folded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Term {
    pub text: String,
    pub excluded: bool,
}

impl Term {
    pub fn units(&self) -> Vec<Unit<'_>> {
        tokens::units(&self.text)
    }
}

/// Why a query text cannot be searched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Problem {
    Empty,
    TooLong(usize),
    TooManyTerms(usize),
    Unclosed { quote: char, at: usize },
    OnlyExcluded,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Empty => write!(f, "it holds no word to search for"),
            Problem::TooLong(n) => {
                write!(
                    f,
                    "it is {n} characters long; at most {MAX_QUERY_CHARS} are searched"
                )
            }
            Problem::TooManyTerms(n) => {
                write!(f, "it has {n} terms; at most {MAX_TERMS} are searched")
            }
            Problem::Unclosed { quote, at } => {
                write!(f, "the quote {quote} at character {at} is never closed")
            }
            Problem::OnlyExcluded => write!(
                f,
                "every term is excluded with '-'; name at least one word the articles must hold"
            ),
        }
    }
}

fn closing(quote: char) -> Option<char> {
    match quote {
        '"' => Some('"'),
        '“' => Some('”'),
        '「' => Some('」'),
        _ => None,
    }
}

/// The terms of `text`.
pub(crate) fn parse(text: &str) -> Result<Vec<Term>, Problem> {
    let chars = text.chars().count();
    if chars > MAX_QUERY_CHARS {
        return Err(Problem::TooLong(chars));
    }
    let folded: String = text.nfkc().collect();
    let mut terms = Vec::new();
    let mut it = folded.chars().enumerate().peekable();
    while let Some(&(at, c)) = it.peek() {
        if c.is_whitespace() {
            it.next();
            continue;
        }
        let mut excluded = false;
        if c == '-' {
            it.next();
            match it.peek() {
                Some(&(_, d)) if !d.is_whitespace() => excluded = true,
                _ => continue,
            }
        }
        let mut text = String::new();
        let (at, c) = it.peek().copied().unwrap_or((at, c));
        if let Some(close) = closing(c) {
            it.next();
            let mut closed = false;
            for (_, d) in it.by_ref() {
                if d == close {
                    closed = true;
                    break;
                }
                text.push(d);
            }
            if !closed {
                return Err(Problem::Unclosed {
                    quote: c,
                    at: at + 1,
                });
            }
        } else {
            while let Some(&(_, d)) = it.peek() {
                if d.is_whitespace() {
                    break;
                }
                text.push(d);
                it.next();
            }
        }
        if tokens::units(&text).is_empty() {
            continue;
        }
        terms.push(Term { text, excluded });
    }
    if terms.is_empty() {
        return Err(Problem::Empty);
    }
    if terms.len() > MAX_TERMS {
        return Err(Problem::TooManyTerms(terms.len()));
    }
    if terms.iter().all(|t| t.excluded) {
        return Err(Problem::OnlyExcluded);
    }
    Ok(terms)
}

/// Where `term`'s units occur in `text`: the byte range of each occurrence, in order.
pub(crate) fn occurrences(text_units: &[Unit<'_>], term: &[Unit<'_>]) -> Vec<(usize, usize)> {
    let Some(first) = term.first() else {
        return Vec::new();
    };
    let same = |a: &Kind<'_>, b: &Kind<'_>| match (a, b) {
        (Kind::Cjk(x), Kind::Cjk(y)) => x == y,
        (Kind::Word(x), Kind::Word(y)) => tokens::same_word(x, y),
        _ => false,
    };
    let mut out = Vec::new();
    for (start, unit) in text_units.iter().enumerate() {
        if !same(&unit.kind, &first.kind) {
            continue;
        }
        let mut end = unit.to;
        let mut j = start;
        let all = term[1..].iter().all(|t| {
            let want = unit.pos + (t.pos - first.pos);
            // Positions strictly increase, so the unit at `want` is at or after `j`.
            while j < text_units.len() && text_units[j].pos < want {
                j += 1;
            }
            match text_units.get(j) {
                Some(u) if u.pos == want && same(&u.kind, &t.kind) => {
                    end = u.to;
                    true
                }
                _ => false,
            }
        });
        if all {
            out.push((unit.from, end));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(q: &str) -> Vec<(String, bool)> {
        parse(q)
            .expect("parses")
            .into_iter()
            .map(|t| (t.text, t.excluded))
            .collect()
    }

    #[test]
    fn plain_terms_quotes_and_exclusions() {
        assert_eq!(
            terms("算力  -招聘 \"data center\" “东西湖 签约”"),
            vec![
                ("算力".into(), false),
                ("招聘".into(), true),
                ("data center".into(), false),
                ("东西湖 签约".into(), false),
            ]
        );
    }

    #[test]
    fn full_width_text_is_folded() {
        assert_eq!(
            terms("ＡＩ　算力"),
            vec![("AI".into(), false), ("算力".into(), false)]
        );
    }

    #[test]
    fn punctuation_only_terms_are_dropped_and_tantivy_syntax_is_text() {
        assert_eq!(
            terms("title:算力 AND (x OR y) ，"),
            vec![
                ("title:算力".into(), false),
                ("AND".into(), false),
                ("(x".into(), false),
                ("OR".into(), false),
                ("y)".into(), false),
            ]
        );
    }

    #[test]
    fn problems() {
        assert_eq!(parse(""), Err(Problem::Empty));
        assert_eq!(parse("  ，。!! - "), Err(Problem::Empty));
        assert_eq!(parse("-招聘"), Err(Problem::OnlyExcluded));
        assert_eq!(
            parse("算力 \"东西湖"),
            Err(Problem::Unclosed { quote: '"', at: 4 })
        );
        assert_eq!(parse(&"算".repeat(501)), Err(Problem::TooLong(501)));
        let many = vec!["a"; 33].join(" ");
        assert_eq!(parse(&many), Err(Problem::TooManyTerms(33)));
    }

    #[test]
    fn occurrences_follow_units_not_bytes() {
        let text = "优化营商环境，营商 环境。Mail AI";
        let units = tokens::units(text);
        let find = |q: &str| {
            let t = tokens::units(q);
            occurrences(&units, &t)
                .into_iter()
                .map(|(a, b)| &text[a..b])
                .collect::<Vec<_>>()
        };
        assert_eq!(find("营商环境"), vec!["营商环境"]);
        assert_eq!(find("营商"), vec!["营商", "营商"]);
        assert_eq!(find("ai"), vec!["AI"]);
        assert_eq!(
            find("境营"),
            Vec::<&str>::new(),
            "a term does not match across a comma"
        );
        assert_eq!(find("环境营商"), Vec::<&str>::new());
        assert_eq!(find("营商 环境"), vec!["营商 环境"]);
    }
}
