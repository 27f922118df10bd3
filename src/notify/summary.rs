//! What a digest says about its articles' investment signals, in the digest's language: the
//! subject, the summary block at the top (counts per stage, totals per currency, the regions
//! and industries met most), each article's chips, and the labels and dates the built-in
//! templates print.

use super::templates::Language;
use crate::signals::{Currency, Signals, Stage};
use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use std::collections::BTreeMap;

/// Regions and industries the summary lists at most.
const TOP: usize = 5;
/// Stages, regions and industries an article's chips show at most.
const CHIP_STAGES: usize = 3;
const CHIP_REGIONS: usize = 2;
const CHIP_INDUSTRIES: usize = 2;

/// `regions` without those that hold another of them (武汉市 when 东湖高新区 is there too,
/// 湖北省 when 武汉市 is): the most specific places, which say the most to a reader.
fn most_specific<'a>(regions: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let regions: Vec<&str> = regions.into_iter().collect();
    // Region nesting is the built-in data's (`[signals]` adds no nesting), so the standard
    // dictionaries know it for every configured extractor too.
    let dictionary = crate::signals::Extractor::standard();
    regions
        .iter()
        .copied()
        .filter(|r| {
            let within = dictionary.regions_within(r);
            !regions.iter().any(|o| o != r && within.contains(o))
        })
        .collect()
}

/// The words the built-in templates print, in one language. A template of one's own may use
/// them or write its own.
#[derive(Debug, Clone, Serialize)]
pub struct Labels {
    pub new: &'static str,
    pub updated: &'static str,
    pub failing: &'static str,
    pub summary: &'static str,
    pub stages: &'static str,
    pub totals: &'static str,
    pub regions: &'static str,
    pub industries: &'static str,
    pub projects: &'static str,
    pub articles: &'static str,
    pub was: &'static str,
    /// The link to the page on its own site, beside the link to newswatch's copy.
    pub original: &'static str,
    pub generated: &'static str,
}

impl Labels {
    pub fn of(language: Language) -> Labels {
        match language {
            Language::Zh => Labels {
                new: "新增",
                updated: "更新",
                failing: "采集异常",
                summary: "本期概览",
                stages: "阶段",
                totals: "金额合计",
                regions: "地区",
                industries: "产业",
                projects: "项目",
                articles: "文章",
                was: "原标题",
                original: "原文",
                generated: "生成于",
            },
            Language::En => Labels {
                new: "New",
                updated: "Updated",
                failing: "Sources failing",
                summary: "Summary",
                stages: "Stages",
                totals: "Total amounts",
                regions: "Regions",
                industries: "Industries",
                projects: "Projects",
                articles: "Articles",
                was: "was",
                original: "original",
                generated: "generated",
            },
        }
    }
}

/// `2025年7月2日` or `2025-07-02`.
pub fn date(language: Language, day: NaiveDate) -> String {
    match language {
        Language::Zh => format!("{}年{}月{}日", day.year(), day.month(), day.day()),
        Language::En => day.format("%Y-%m-%d").to_string(),
    }
}

/// A stage's name: `签约`, or `signing`.
pub fn stage(language: Language, stage: Stage) -> String {
    match language {
        Language::Zh => stage.label().to_owned(),
        Language::En => format!("{stage:?}").to_lowercase(),
    }
}

/// A sum of money for reading: `326亿元`, `3.5亿美元`, `1200万元` (Chinese), or `CNY 32.6
/// billion`, `USD 350 million` (English). At most two decimals, none trailing.
pub fn money(language: Language, value: f64, currency: Currency) -> String {
    let short = |v: f64| {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    };
    match language {
        Language::Zh => {
            let (n, unit) = if value.abs() >= 1e12 {
                (value / 1e12, "万亿")
            } else if value.abs() >= 1e8 {
                (value / 1e8, "亿")
            } else if value.abs() >= 1e4 {
                (value / 1e4, "万")
            } else {
                (value, "")
            };
            format!("{}{unit}{}", short(n), currency.unit())
        }
        Language::En => {
            let (n, unit) = if value.abs() >= 1e9 {
                (value / 1e9, " billion")
            } else if value.abs() >= 1e6 {
                (value / 1e6, " million")
            } else {
                (value, "")
            };
            format!("{currency} {}{unit}", short(n))
        }
    }
}

/// The largest amount an article states in each currency it uses, in currency order: what it
/// is "about", since articles give a total and then its parts, which must not be added up.
pub fn headline_amounts(signals: &Signals) -> Vec<(Currency, f64)> {
    let mut out: Vec<(Currency, f64)> = Vec::new();
    for c in Currency::ALL {
        if let Some(a) = signals.largest(c) {
            out.push((c, a.amount));
        }
    }
    out
}

/// One chip on an article: what kind of signal (`amount`, `stage`, `region`, `industry`) and
/// its text.
#[derive(Debug, Clone, Serialize)]
pub struct Chip {
    pub kind: &'static str,
    pub text: String,
}

/// An article's chips: its largest amount in each currency (as the article wrote it), its
/// first stages, its first most specific regions (a district rather than its city), its first
/// industries.
pub fn chips(language: Language, signals: &Signals) -> Vec<Chip> {
    let mut out = Vec::new();
    for c in Currency::ALL {
        if let Some(a) = signals.largest(c) {
            out.push(Chip {
                kind: "amount",
                text: match language {
                    Language::Zh => a.text.clone(),
                    Language::En => money(language, a.amount, c),
                },
            });
        }
    }
    for s in signals.stages.iter().take(CHIP_STAGES) {
        out.push(Chip {
            kind: "stage",
            text: stage(language, *s),
        });
    }
    let regions = most_specific(signals.regions.iter().map(String::as_str));
    for r in regions.into_iter().take(CHIP_REGIONS) {
        out.push(Chip {
            kind: "region",
            text: r.to_owned(),
        });
    }
    for i in signals.industries.iter().take(CHIP_INDUSTRIES) {
        out.push(Chip {
            kind: "industry",
            text: i.clone(),
        });
    }
    out
}

/// A name and how many articles have it.
#[derive(Debug, Clone, Serialize)]
pub struct Count {
    pub name: String,
    pub count: usize,
}

/// A total in one currency.
#[derive(Debug, Clone, Serialize)]
pub struct Total {
    pub currency: Currency,
    pub amount: f64,
    pub text: String,
}

/// The summary block: over the digest's articles, how many are at each stage, the total amount
/// in each currency (each article's largest amount, so a total and its parts count once), and
/// the regions (the most specific ones named: districts before their city) and industries met
/// in the most articles.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub articles: usize,
    /// Articles that report a project: see [`Signals::is_project`].
    pub projects: usize,
    pub stages: Vec<Count>,
    pub totals: Vec<Total>,
    pub regions: Vec<Count>,
    pub industries: Vec<Count>,
    /// Whether any signal was found at all (else the block is left out).
    pub any: bool,
}

impl Summary {
    pub fn of<'a>(language: Language, all: impl IntoIterator<Item = &'a Signals>) -> Summary {
        let mut stages = [0usize; Stage::ALL.len()];
        let mut totals: BTreeMap<Currency, f64> = BTreeMap::new();
        let mut regions: BTreeMap<&str, usize> = BTreeMap::new();
        let mut industries: BTreeMap<&str, usize> = BTreeMap::new();
        let (mut articles, mut projects) = (0, 0);
        for s in all {
            articles += 1;
            projects += usize::from(s.is_project());
            for st in &s.stages {
                stages[*st as usize] += 1;
            }
            for (c, v) in headline_amounts(s) {
                *totals.entry(c).or_default() += v;
            }
            for r in &s.regions {
                *regions.entry(r).or_default() += 1;
            }
            for i in &s.industries {
                *industries.entry(i).or_default() += 1;
            }
        }
        let top = |m: BTreeMap<&str, usize>| {
            let mut v: Vec<Count> = m
                .into_iter()
                .map(|(name, count)| Count {
                    name: name.to_owned(),
                    count,
                })
                .collect();
            // Most articles first; ties in name order, so the block is the same every time.
            v.sort_by(|a, b| b.count.cmp(&a.count).then(a.name.cmp(&b.name)));
            v.truncate(TOP);
            v
        };
        let stages: Vec<Count> = Stage::ALL
            .into_iter()
            .filter(|s| stages[*s as usize] > 0)
            .map(|s| Count {
                name: stage(language, s),
                count: stages[s as usize],
            })
            .collect();
        let totals: Vec<Total> = totals
            .into_iter()
            .map(|(currency, amount)| Total {
                currency,
                amount,
                text: money(language, amount, currency),
            })
            .collect();
        // The places named: the most specific of them, so a Wuhan digest lists districts and
        // zones, not 武汉市 and 湖北省, which nearly every article names.
        let specific = most_specific(regions.keys().copied());
        let regions = top(regions
            .into_iter()
            .filter(|(r, _)| specific.contains(r))
            .collect());
        let industries = top(industries);
        let any = !stages.is_empty()
            || !totals.is_empty()
            || !regions.is_empty()
            || !industries.is_empty();
        Summary {
            articles,
            projects,
            stages,
            totals,
            regions,
            industries,
            any,
        }
    }

    /// Articles at `stage`.
    fn at(&self, language: Language, s: Stage) -> usize {
        let name = stage(language, s);
        self.stages
            .iter()
            .find(|c| c.name == name)
            .map_or(0, |c| c.count)
    }
}

/// The subject. Chinese: `招商动态 · 7月2日 · 新增12条 · 更新2条 · 签约3项 · 合计326亿元` (the
/// digest's name in brackets after 招商动态 when it has one of its own; parts with nothing to
/// count are left out). English: `newswatch: 3 new, 1 updated`.
pub fn subject(
    language: Language,
    name: &str,
    day: NaiveDate,
    new: usize,
    updated: usize,
    summary: &Summary,
) -> String {
    match language {
        Language::Zh => {
            let mut parts = vec![if name == "digest" {
                "招商动态".to_owned()
            } else {
                format!("招商动态（{name}）")
            }];
            parts.push(format!("{}月{}日", day.month(), day.day()));
            if new > 0 {
                parts.push(format!("新增{new}条"));
            }
            if updated > 0 {
                parts.push(format!("更新{updated}条"));
            }
            let signed = summary.at(language, Stage::Signing);
            if signed > 0 {
                parts.push(format!("签约{signed}项"));
            }
            if let Some(t) = summary.totals.iter().find(|t| t.currency == Currency::Cny) {
                parts.push(format!("合计{}", t.text));
            }
            parts.join(" · ")
        }
        Language::En => {
            let plural = |n: usize| if n == 1 { "" } else { "s" };
            let counts = match (new, updated) {
                (n, 0) => format!("{n} new article{}", plural(n)),
                (0, u) => format!("{u} updated article{}", plural(u)),
                (n, u) => format!("{n} new, {u} updated"),
            };
            if name == "digest" {
                format!("newswatch: {counts}")
            } else {
                format!("newswatch ({name}): {counts}")
            }
        }
    }
}

/// `第3版` or `revision 3`.
pub fn revision(language: Language, n: u32) -> String {
    match language {
        Language::Zh => format!("第{n}版"),
        Language::En => format!("revision {n}"),
    }
}

/// The line saying how many articles wait for the next digest.
pub fn more_pending(language: Language, n: usize) -> String {
    match language {
        Language::Zh => format!("另有{n}条待发，将随下一期发送。"),
        Language::En => format!(
            "{n} more article{} pending: they follow in the next digest.",
            if n == 1 { "" } else { "s" }
        ),
    }
}

/// A failing source's line in the footer (without the source's name).
pub fn failing(language: Language, failures: u32, last_success: &str, error: &str) -> String {
    match language {
        Language::Zh => {
            let last = if last_success == "never" {
                "从未成功".to_owned()
            } else {
                format!("上次成功：{last_success}")
            };
            format!("连续{failures}次采集失败（{last}）：{error}")
        }
        Language::En => {
            format!("{failures} failed crawls in a row (last success: {last_success}): {error}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::extract;

    #[test]
    fn money_reads_as_analysts_write_it() {
        assert_eq!(money(Language::Zh, 3.26e10, Currency::Cny), "326亿元");
        assert_eq!(money(Language::Zh, 3.5e8, Currency::Usd), "3.5亿美元");
        assert_eq!(money(Language::Zh, 1.2e7, Currency::Cny), "1200万元");
        assert_eq!(money(Language::Zh, 1.5e12, Currency::Cny), "1.5万亿元");
        assert_eq!(money(Language::Zh, 800.0, Currency::Cny), "800元");
        assert_eq!(
            money(Language::En, 3.26e10, Currency::Cny),
            "CNY 32.6 billion"
        );
        assert_eq!(money(Language::En, 3.5e8, Currency::Usd), "USD 350 million");
        assert_eq!(
            date(
                Language::Zh,
                NaiveDate::from_ymd_opt(2025, 7, 2).unwrap_or_default()
            ),
            "2025年7月2日"
        );
    }

    #[test]
    fn summary_counts_each_article_once_and_the_subject_says_it() {
        let a = extract(
            "光谷集中签约10个项目",
            "总投资300亿元，其中一期100亿元。项目签约落户光谷，涵盖集成电路。",
        );
        let b = extract(
            "车谷项目开工",
            "总投资26亿元的新能源汽车项目在车谷开工，另有外资2亿美元签约。",
        );
        let c = extract("营商环境", "优化营商环境。");
        let s = Summary::of(Language::Zh, [&a, &b, &c]);
        assert_eq!((s.articles, s.projects), (3, 2));
        let cny = s.totals.iter().find(|t| t.currency == Currency::Cny);
        assert_eq!(
            cny.map(|t| t.text.as_str()),
            Some("326亿元"),
            "300 + 26, not the part 100: {s:?}"
        );
        assert!(s.totals.iter().any(|t| t.text == "2亿美元"), "{s:?}");
        let day = NaiveDate::from_ymd_opt(2025, 7, 2).unwrap_or_default();
        assert_eq!(
            subject(Language::Zh, "digest", day, 3, 0, &s),
            "招商动态 · 7月2日 · 新增3条 · 签约2项 · 合计326亿元"
        );
        assert_eq!(
            subject(Language::En, "digest", day, 3, 0, &s),
            "newswatch: 3 new articles"
        );
        let kinds: Vec<&str> = chips(Language::Zh, &b).iter().map(|c| c.kind).collect();
        assert!(
            kinds.starts_with(&["amount", "amount", "stage"]),
            "{:?}",
            chips(Language::Zh, &b)
        );
        assert!(Summary::of(Language::Zh, [&c]).stages.is_empty());
    }
}
