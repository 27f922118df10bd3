//! The stretch of an article shown under a hit, with what matched marked.
//!
//! Matches are found with the same unit rules the search uses (see [`super::tokens`]), so what is
//! marked is exactly what made the article match, never a guess by a different tokenizer.

use super::query;
use super::tokens::{self, Unit};
use std::ops::Range;

/// Characters of body text in a snippet (about two lines of Chinese on a phone).
const SNIPPET_CHARS: usize = 120;
/// Characters shown before the first match, at most.
const LEAD_CHARS: usize = 24;
const ELLIPSIS: &str = "…";

/// Plain text with the byte ranges that matched the query.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snippet {
    pub text: String,
    /// Sorted, non-overlapping byte ranges of `text`.
    pub highlights: Vec<Range<usize>>,
}

impl Snippet {
    /// The text with each match between `open` and `close` (e.g. `"["`/`"]"`, or terminal colours).
    pub fn marked(&self, open: &str, close: &str) -> String {
        self.render(open, close, str::to_owned)
    }

    /// The text escaped for HTML, each match in `<mark>`.
    pub fn html(&self) -> String {
        self.render("<mark>", "</mark>", crate::escape_html)
    }

    fn render(&self, open: &str, close: &str, text: impl Fn(&str) -> String) -> String {
        let mut out = String::with_capacity(self.text.len() + self.highlights.len() * 16);
        let mut at = 0;
        for h in &self.highlights {
            out.push_str(&text(&self.text[at..h.start]));
            out.push_str(open);
            out.push_str(&text(&self.text[h.clone()]));
            out.push_str(close);
            at = h.end;
        }
        out.push_str(&text(&self.text[at..]));
        out
    }
}

/// `text` whole (a title), with every match of the query terms marked.
pub(crate) fn whole(text: &str, terms: &[Vec<Unit<'_>>]) -> Snippet {
    let units = tokens::units(text);
    let mut matches: Vec<(usize, usize)> = terms
        .iter()
        .flat_map(|term| query::occurrences(&units, term))
        .collect();
    matches.sort_unstable();
    let mut highlights: Vec<Range<usize>> = Vec::new();
    for (a, b) in matches {
        match highlights.last_mut() {
            Some(last) if a <= last.end => last.end = last.end.max(b),
            _ => highlights.push(a..b),
        }
    }
    Snippet {
        text: text.to_owned(),
        highlights,
    }
}

/// The snippet of `body` for the query terms (their units); the body's opening when only the
/// title matched.
pub(crate) fn snippet(body: &str, terms: &[Vec<Unit<'_>>]) -> Snippet {
    let body_units = tokens::units(body);
    let mut matches: Vec<(usize, usize, usize)> = Vec::new();
    for (t, term) in terms.iter().enumerate() {
        for (from, to) in query::occurrences(&body_units, term) {
            matches.push((from, to, t));
        }
    }
    matches.sort_unstable();
    // Byte offset of each character, and the end.
    let starts: Vec<usize> = body
        .char_indices()
        .map(|(i, _)| i)
        .chain([body.len()])
        .collect();
    let chars = starts.len() - 1;
    let char_at = |byte: usize| starts.partition_point(|&s| s < byte);

    let (start, end) = if matches.is_empty() {
        (0, SNIPPET_CHARS.min(chars))
    } else {
        // The window holding the most distinct terms, then the most matches, then the earliest.
        let mut best = (0usize, 0usize, 0usize);
        for (i, &(from, _, _)) in matches.iter().enumerate() {
            let limit = starts[(char_at(from) + SNIPPET_CHARS - LEAD_CHARS).min(chars)];
            let inside = matches[i..].iter().take_while(|m| m.1 <= limit);
            let mut seen = vec![false; terms.len()];
            let mut count = 0;
            for m in inside {
                seen[m.2] = true;
                count += 1;
            }
            let distinct = seen.iter().filter(|&&s| s).count();
            if (distinct, count) > (best.0, best.1) {
                best = (distinct, count, i);
            }
        }
        let anchor = char_at(matches[best.2].0);
        let mut start = anchor.saturating_sub(LEAD_CHARS);
        // Begin at a sentence if one begins shortly before the match.
        if let Some(b) = body[starts[start]..starts[anchor]]
            .char_indices()
            .filter(|&(_, c)| matches!(c, '。' | '!' | '?' | ';' | '；' | '！' | '？'))
            .map(|(i, c)| starts[start] + i + c.len_utf8())
            .next_back()
        {
            start = char_at(b);
        }
        (start, (start + SNIPPET_CHARS).min(chars))
    };

    let (from, to) = (starts[start], starts[end]);
    let mut text = String::with_capacity(to - from + 8);
    if start > 0 {
        text.push_str(ELLIPSIS);
    }
    let shift = text.len();
    text.push_str(body[from..to].trim_end());
    let kept_end = from + text.len() - shift;
    let mut highlights: Vec<Range<usize>> = Vec::new();
    for &(a, b, _) in &matches {
        if a < from || b > kept_end {
            continue;
        }
        let r = a - from + shift..b - from + shift;
        match highlights.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => highlights.push(r),
        }
    }
    if end < chars {
        text.push_str(ELLIPSIS);
    }
    Snippet { text, highlights }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snip(body: &str, terms: &[&str]) -> Snippet {
        let units: Vec<Vec<Unit<'_>>> = terms.iter().map(|t| tokens::units(t)).collect();
        snippet(body, &units)
    }

    #[test]
    fn marks_every_match_in_the_window() {
        let s = snip("武汉优化营商环境，营商环境持续向好。", &["营商环境"]);
        assert_eq!(
            s.marked("[", "]"),
            "武汉优化[营商环境]，[营商环境]持续向好。"
        );
    }

    #[test]
    fn overlapping_matches_merge() {
        let s = snip("营商环境", &["营商", "商环"]);
        assert_eq!(s.marked("[", "]"), "[营商环]境");
    }

    #[test]
    fn long_bodies_are_cut_around_the_match_with_ellipses() {
        let body = format!("{}。算力中心开工{}", "甲".repeat(300), "乙".repeat(300));
        let s = snip(&body, &["算力"]);
        assert!(s.text.starts_with("…算力中心"), "{}", s.text);
        assert!(s.text.ends_with('…'));
        assert_eq!(s.text.chars().count(), SNIPPET_CHARS + 2);
        assert_eq!(&s.text[s.highlights[0].clone()], "算力");
    }

    #[test]
    fn the_window_with_most_distinct_terms_wins() {
        let body = format!("算力{}算力与东西湖{}", "甲".repeat(200), "乙".repeat(200));
        let s = snip(&body, &["算力", "东西湖"]);
        assert_eq!(s.highlights.len(), 2, "{}", s.marked("[", "]"));
        assert!(s.marked("[", "]").contains("[算力]与[东西湖]"));
    }

    #[test]
    fn title_only_match_shows_the_opening() {
        let s = snip("正文没有那个词。", &["算力"]);
        assert_eq!(s.text, "正文没有那个词。");
        assert!(s.highlights.is_empty());
    }

    #[test]
    fn html_is_escaped_around_marks() {
        let s = snip("<b>AI</b> & 算力", &["ai"]);
        assert_eq!(
            s.html(),
            "&lt;b&gt;<mark>AI</mark>&lt;&#x2f;b&gt; &amp; 算力"
        );
    }
}
