//! Digest filters: which articles a digest wants, and where its keywords appear.

use crate::article::Article;
use regex::Regex;
use std::ops::Range;

/// A keyword: a plain substring (case-insensitive for Latin letters) or a `/regex/`.
#[derive(Debug, Clone)]
pub enum Pattern {
    Text(String),
    Regex(Regex),
}

impl Pattern {
    /// `/…/` is a regular expression (add `(?i)` for case-insensitivity); anything else is a
    /// plain substring, NFKC-folded like article text so `（一）` finds `(一)`.
    pub fn parse(raw: &str) -> Result<Pattern, String> {
        if raw.len() >= 2 && raw.starts_with('/') && raw.ends_with('/') {
            let re = &raw[1..raw.len() - 1];
            return Regex::new(re)
                .map(Pattern::Regex)
                .map_err(|e| format!("invalid regex {raw:?}: {e}"));
        }
        let text = crate::normalise::text(raw).to_lowercase();
        if text.is_empty() {
            return Err(format!("empty keyword {raw:?}"));
        }
        Ok(Pattern::Text(text))
    }

    /// Byte ranges of every match in `text`.
    pub fn find_all(&self, text: &str) -> Vec<Range<usize>> {
        match self {
            Pattern::Regex(re) => re
                .find_iter(text)
                .filter(|m| !m.is_empty())
                .map(|m| m.range())
                .collect(),
            Pattern::Text(needle) => {
                // Lowercasing can change byte lengths, so search a lowercased copy only when
                // no character changes length (equal totals are not enough: `ẞȺ` → `ßⱥ` keeps
                // the total but moves every offset in between); else match exactly.
                let same_offsets = text
                    .chars()
                    .all(|c| c.to_lowercase().map(char::len_utf8).sum::<usize>() == c.len_utf8());
                if !same_offsets {
                    return text
                        .match_indices(needle.as_str())
                        .map(|(i, m)| i..i + m.len())
                        .collect();
                }
                text.to_lowercase()
                    .match_indices(needle.as_str())
                    .map(|(i, m)| i..i + m.len())
                    .collect()
            }
        }
    }

    fn matches(&self, text: &str) -> bool {
        match self {
            Pattern::Regex(re) => re.is_match(text),
            Pattern::Text(needle) => text.to_lowercase().contains(needle.as_str()),
        }
    }
}

/// What a digest takes: sources (all when `None`), keywords (any must match; all articles when
/// empty) and exclusions (none may match), matched on title and body.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub sources: Option<Vec<String>>,
    pub keywords: Vec<Pattern>,
    pub exclude: Vec<Pattern>,
}

impl Filter {
    pub fn accepts(&self, article: &Article) -> bool {
        if let Some(sources) = &self.sources
            && !sources.contains(&article.source)
        {
            return false;
        }
        let hit = |p: &Pattern| p.matches(&article.title) || p.matches(&article.body);
        (self.keywords.is_empty() || self.keywords.iter().any(hit)) && !self.exclude.iter().any(hit)
    }

    /// Merged, sorted, non-overlapping byte ranges of keyword matches in `text`, for highlighting.
    pub fn highlights(&self, text: &str) -> Vec<Range<usize>> {
        let mut ranges: Vec<Range<usize>> = self
            .keywords
            .iter()
            .flat_map(|p| p.find_all(text))
            .collect();
        ranges.sort_by_key(|r| (r.start, std::cmp::Reverse(r.end)));
        let mut merged: Vec<Range<usize>> = Vec::new();
        for r in ranges {
            match merged.last_mut() {
                Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
                _ => merged.push(r),
            }
        }
        merged
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, Utc};

    fn article(title: &str, body: &str, source: &str) -> Article {
        let day = NaiveDate::from_ymd_opt(2025, 7, 2).unwrap_or_default();
        Article::new(title, body, day, None, source, Utc::now())
    }

    fn filter(keywords: &[&str], exclude: &[&str]) -> Filter {
        let p = |v: &[&str]| {
            v.iter()
                .map(|k| Pattern::parse(k).unwrap_or_else(|e| panic!("{e}")))
                .collect()
        };
        Filter {
            sources: None,
            keywords: p(keywords),
            exclude: p(exclude),
        }
    }

    #[test]
    fn keywords_any_exclude_none_on_title_and_body() {
        let f = filter(&["招商引资", "/签约\\d+个/"], &["招聘"]);
        assert!(f.accepts(&article("光谷招商引资", "正文", "a")));
        assert!(f.accepts(&article("光谷", "集中签约10个项目", "a")));
        assert!(!f.accepts(&article("光谷", "签约十个", "a")));
        assert!(!f.accepts(&article("招商引资招聘", "x", "a")));
        let by_source = Filter {
            sources: Some(vec!["b".into()]),
            ..Filter::default()
        };
        assert!(!by_source.accepts(&article("t", "b", "a")));
        assert!(by_source.accepts(&article("t", "b", "b")));
    }

    #[test]
    fn plain_keywords_fold_like_article_text() {
        let f = filter(&["5G", "（一）"], &[]);
        assert!(f.accepts(&article("中兴5g研发", "x", "a")));
        assert!(f.accepts(&article("x", "措施(一)", "a")));
        assert!(Pattern::parse("/[/").is_err());
    }

    #[test]
    fn highlights_merge_overlaps() {
        let f = filter(&["招商", "招商引资", "环境"], &[]);
        let text = "优化营商环境助力招商引资";
        let ranges = f.highlights(text);
        let shown: Vec<&str> = ranges.iter().map(|r| &text[r.clone()]).collect();
        assert_eq!(shown, ["环境", "招商引资"]);
    }
}
