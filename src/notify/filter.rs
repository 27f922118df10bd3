//! Digest filters: which articles a digest wants, and where its keywords appear.

use crate::article::Article;
use crate::signals::{Amount, Signals, Stage};
use regex::Regex;
use std::collections::BTreeSet;
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
/// empty) and exclusions (none may match), matched on title and body, and the investment
/// signals it wants. Every filter given must pass.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub sources: Option<Vec<String>>,
    pub keywords: Vec<Pattern>,
    pub exclude: Vec<Pattern>,
    pub signals: SignalFilter,
}

/// Filters on an article's signals (`min_amount`, `stages`, `regions`, `industries`); each one
/// given must pass, and an empty one passes everything.
#[derive(Debug, Clone, Default)]
pub struct SignalFilter {
    /// Some amount stated must be at least this much, compared in yuan at the fixed rates of
    /// [`crate::signals::Currency::approx_cny`] (a range by its lower bound).
    pub min_amount: Option<Amount>,
    /// Any of these stages.
    pub stages: Vec<Stage>,
    /// Any of these canonical region names. The config puts in every region inside the ones
    /// named too (武汉市 brings its districts and zones), so this is a plain set.
    pub regions: BTreeSet<String>,
    /// Any of these canonical industry names.
    pub industries: BTreeSet<String>,
}

impl SignalFilter {
    /// Whether any filter on signals is set.
    pub fn is_set(&self) -> bool {
        self.min_amount.is_some()
            || !self.stages.is_empty()
            || !self.regions.is_empty()
            || !self.industries.is_empty()
    }

    pub fn accepts(&self, signals: &Signals) -> bool {
        let amount_ok = self.min_amount.as_ref().is_none_or(|min| {
            let floor = min.amount * min.currency.approx_cny();
            signals
                .amounts
                .iter()
                .any(|a| a.amount * a.currency.approx_cny() >= floor)
        });
        amount_ok
            && (self.stages.is_empty() || signals.stages.iter().any(|s| self.stages.contains(s)))
            && (self.regions.is_empty() || signals.regions.iter().any(|r| self.regions.contains(r)))
            && (self.industries.is_empty()
                || signals
                    .industries
                    .iter()
                    .any(|i| self.industries.contains(i)))
    }
}

impl Filter {
    /// Whether `article`, whose signals are `signals`, passes every filter. With no filter on
    /// signals set, `signals` is not looked at (see [`Filter::needs_signals`]).
    pub fn accepts(&self, article: &Article, signals: &Signals) -> bool {
        if let Some(sources) = &self.sources
            && !sources.contains(&article.source)
        {
            return false;
        }
        let hit = |p: &Pattern| p.matches(&article.title) || p.matches(&article.body);
        (self.keywords.is_empty() || self.keywords.iter().any(hit))
            && !self.exclude.iter().any(hit)
            && self.signals.accepts(signals)
    }

    /// Whether [`Filter::accepts`] needs the article's signals.
    pub fn needs_signals(&self) -> bool {
        self.signals.is_set()
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

    impl Filter {
        fn accepts_text(&self, article: &Article) -> bool {
            self.accepts(article, &Signals::default())
        }
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
            signals: SignalFilter::default(),
        }
    }

    #[test]
    fn keywords_any_exclude_none_on_title_and_body() {
        let f = filter(&["招商引资", "/签约\\d+个/"], &["招聘"]);
        assert!(f.accepts_text(&article("光谷招商引资", "正文", "a")));
        assert!(f.accepts_text(&article("光谷", "集中签约10个项目", "a")));
        assert!(!f.accepts_text(&article("光谷", "签约十个", "a")));
        assert!(!f.accepts_text(&article("招商引资招聘", "x", "a")));
        let by_source = Filter {
            sources: Some(vec!["b".into()]),
            ..Filter::default()
        };
        assert!(!by_source.accepts_text(&article("t", "b", "a")));
        assert!(by_source.accepts_text(&article("t", "b", "b")));
    }

    #[test]
    fn plain_keywords_fold_like_article_text() {
        let f = filter(&["5G", "（一）"], &[]);
        assert!(f.accepts_text(&article("中兴5g研发", "x", "a")));
        assert!(f.accepts_text(&article("x", "措施(一)", "a")));
        assert!(Pattern::parse("/[/").is_err());
    }

    #[test]
    fn signal_filters_all_must_pass_and_amounts_compare_in_yuan() {
        let text = |t: &str, b: &str| {
            let a = article(t, b, "a");
            let s = crate::signals::extract(&a.title, &a.body);
            (a, s)
        };
        let min = |m: &str| crate::signals::parse_amount(m).unwrap_or_else(|e| panic!("{e}"));
        let big = Filter {
            signals: SignalFilter {
                min_amount: Some(min("10亿元")),
                ..SignalFilter::default()
            },
            ..Filter::default()
        };
        assert!(big.needs_signals() && !Filter::default().needs_signals());
        let (a, s) = text("光谷签约", "总投资50亿元的项目签约落户光谷。");
        assert!(big.accepts(&a, &s));
        let (a, s) = text("光谷签约", "总投资5亿元的项目签约。");
        assert!(!big.accepts(&a, &s));
        // 2亿美元 is about 14亿元: over the bar although 2 < 10.
        let (a, s) = text("外资项目", "外资企业增资2亿美元。");
        assert!(big.accepts(&a, &s));
        let (a, s) = text("无金额", "项目签约。");
        assert!(!big.accepts(&a, &s));

        let mut regions = BTreeSet::new();
        regions.insert("东湖高新区".to_owned());
        let both = Filter {
            signals: SignalFilter {
                stages: vec![Stage::Signing, Stage::Groundbreaking],
                regions,
                ..SignalFilter::default()
            },
            keywords: vec![Pattern::parse("项目").unwrap_or_else(|e| panic!("{e}"))],
            ..Filter::default()
        };
        let (a, s) = text("光谷项目签约", "项目在光谷签约。");
        assert!(both.accepts(&a, &s));
        let (a, s) = text("硚口项目签约", "项目在硚口签约。");
        assert!(!both.accepts(&a, &s), "region fails");
        let (a, s) = text("光谷项目揭牌", "项目在光谷揭牌。");
        assert!(!both.accepts(&a, &s), "stage fails");
        let (a, s) = text("光谷签约", "企业在光谷签约。");
        assert!(!both.accepts(&a, &s), "keyword fails");
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
