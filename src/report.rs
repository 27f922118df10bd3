//! `report`: the table analysts hand on — over a period, per region, stage, industry or
//! source: how many articles, how many of them report a project, and the amounts they state.
//!
//! Definitions (README, "Investment signals"):
//! - the period is the articles' own dates (`--since`, `--until`, both inclusive), the latest
//!   revision of each article;
//! - a *project* is an article at a project stage (签约, 落户, 开工, 投产, 竣工) or stating an
//!   amount ([`Signals::is_project`]);
//! - an article's *amount* in a currency is the largest it states in that currency
//!   ([`Signals::largest`]): articles give a total and then its parts, which must not be added;
//! - an article with several regions (stages, industries) counts in each of their rows, and
//!   in a row of its own (`（未识别）`) when it has none, so every article is somewhere; the
//!   total row counts each article once, so it is not the sum of the rows.

use crate::notify::Language;
use crate::notify::summary::money;
use crate::signals::{Currency, Signals, Stage};
use crate::store::{Store, StoreError};
use chrono::NaiveDate;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// What the rows of a report are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Region,
    Stage,
    Industry,
    Source,
}

impl GroupBy {
    /// The column heading: `地区`, `阶段`, `产业`, `来源`.
    fn heading(self) -> &'static str {
        match self {
            GroupBy::Region => "地区",
            GroupBy::Stage => "阶段",
            GroupBy::Industry => "产业",
            GroupBy::Source => "来源",
        }
    }

    /// The key of the CSV column: `region`, `stage` …
    fn key(self) -> &'static str {
        match self {
            GroupBy::Region => "region",
            GroupBy::Stage => "stage",
            GroupBy::Industry => "industry",
            GroupBy::Source => "source",
        }
    }
}

/// The row of articles that have no value for the grouping.
const NONE: &str = "（未识别）";
/// The total row.
const TOTAL: &str = "合计";

/// One row: a group and what its articles add up to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row {
    pub group: String,
    pub articles: usize,
    pub projects: usize,
    /// Per currency, the sum of each article's largest amount in it.
    pub amounts: BTreeMap<Currency, f64>,
}

impl Row {
    fn add(&mut self, signals: &Signals) {
        self.articles += 1;
        self.projects += usize::from(signals.is_project());
        for c in Currency::ALL {
            if let Some(a) = signals.largest(c) {
                *self.amounts.entry(c).or_default() += a.amount;
            }
        }
    }
}

/// A report over a period.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub by: GroupBy,
    pub since: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
    /// Most yuan first, then most projects, then most articles, then by name (stages in their
    /// own order); the row of articles without a value last.
    pub rows: Vec<Row>,
    /// Every article of the period once.
    pub total: Row,
}

impl Report {
    /// Reads every article dated within `since..=until` and its stored signals.
    pub fn build(
        store: &Store,
        by: GroupBy,
        since: Option<NaiveDate>,
        until: Option<NaiveDate>,
    ) -> Result<Report, StoreError> {
        let mut rows: BTreeMap<String, Row> = BTreeMap::new();
        let mut total = Row {
            group: TOTAL.to_owned(),
            ..Row::default()
        };
        for item in store.articles() {
            let (id, article) = item?;
            if since.is_some_and(|d| article.date < d) || until.is_some_and(|d| article.date > d) {
                continue;
            }
            let signals = store.signals_of(id, &article)?;
            total.add(&signals);
            let groups: BTreeSet<String> = match by {
                GroupBy::Region => signals.regions.iter().cloned().collect(),
                GroupBy::Industry => signals.industries.iter().cloned().collect(),
                GroupBy::Stage => signals.stages.iter().map(|s| s.to_string()).collect(),
                GroupBy::Source => [article.source.clone()].into(),
            };
            let groups = if groups.is_empty() {
                [NONE.to_owned()].into()
            } else {
                groups
            };
            for g in groups {
                rows.entry(g.clone())
                    .or_insert_with(|| Row {
                        group: g,
                        ..Row::default()
                    })
                    .add(&signals);
            }
        }
        let mut rows: Vec<Row> = rows.into_values().collect();
        let stage_rank = |r: &Row| {
            Stage::ALL
                .iter()
                .position(|s| s.label() == r.group)
                .unwrap_or(usize::MAX)
        };
        let yuan = |r: &Row| r.amounts.get(&Currency::Cny).copied().unwrap_or(0.0);
        rows.sort_by(|a, b| {
            (a.group == NONE)
                .cmp(&(b.group == NONE))
                .then_with(|| match by {
                    GroupBy::Stage => stage_rank(a).cmp(&stage_rank(b)),
                    _ => yuan(b)
                        .total_cmp(&yuan(a))
                        .then(b.projects.cmp(&a.projects))
                        .then(b.articles.cmp(&a.articles)),
                })
                .then_with(|| a.group.cmp(&b.group))
        });
        Ok(Report {
            by,
            since,
            until,
            rows,
            total,
        })
    }

    /// The currencies any article of the period states, CNY first.
    fn currencies(&self) -> Vec<Currency> {
        Currency::ALL
            .into_iter()
            .filter(|c| self.total.amounts.contains_key(c))
            .collect()
    }

    /// `2025年7月1日 至 2025年7月31日`, open ends as `起` / `至今`.
    fn period(&self) -> String {
        let day = |d: NaiveDate| crate::notify::summary::date(Language::Zh, d);
        match (self.since, self.until) {
            (Some(s), Some(u)) => format!("{} 至 {}", day(s), day(u)),
            (Some(s), None) => format!("{} 至今", day(s)),
            (None, Some(u)) => format!("截至 {}", day(u)),
            (None, None) => "全部".to_owned(),
        }
    }

    /// A markdown table with a heading naming the period; amounts as analysts write them
    /// (`326亿元`).
    pub fn markdown(&self) -> String {
        let currencies = self.currencies();
        let mut out = format!(
            "## 招商引资统计 · {} · 按{}\n\n",
            self.period(),
            self.by.heading()
        );
        let mut head = format!("| {} | 文章 | 项目 |", self.by.heading());
        let mut rule = "|---|---:|---:|".to_owned();
        for c in &currencies {
            let _ = write!(head, " 金额（{c}） |");
            rule.push_str("---:|");
        }
        let _ = writeln!(out, "{head}\n{rule}");
        let cell = |s: &str| s.replace('|', "\\|");
        for (row, strong) in self
            .rows
            .iter()
            .map(|r| (r, false))
            .chain([(&self.total, true)])
        {
            let b = if strong { "**" } else { "" };
            let mut line = format!(
                "| {b}{}{b} | {b}{}{b} | {b}{}{b} |",
                cell(&row.group),
                row.articles,
                row.projects
            );
            for c in &currencies {
                match row.amounts.get(c) {
                    Some(v) => {
                        let _ = write!(line, " {b}{}{b} |", money(Language::Zh, *v, *c));
                    }
                    None => line.push_str(" – |"),
                }
            }
            let _ = writeln!(out, "{line}");
        }
        let _ = writeln!(
            out,
            "\n项目：处于签约、落户、开工、投产、竣工阶段或载明金额的文章。金额：每篇文章按币种取其所载最大金额后相加。一篇文章涉及多个{}时计入每一行，合计行每篇只计一次。",
            self.by.heading()
        );
        out
    }

    /// CSV for spreadsheets: one header line, a line per row and the total, amounts in units
    /// of their currency (yuan, dollars), a column per currency present.
    pub fn csv(&self) -> String {
        let currencies = self.currencies();
        let mut out = format!("{},articles,projects", self.by.key());
        for c in &currencies {
            let _ = write!(out, ",amount_{}", c.code().to_lowercase());
        }
        out.push('\n');
        for row in self.rows.iter().chain([&self.total]) {
            let _ = write!(
                out,
                "{},{},{}",
                csv_field(&row.group),
                row.articles,
                row.projects
            );
            for c in &currencies {
                out.push(',');
                if let Some(v) = row.amounts.get(c) {
                    if v.fract() == 0.0 && v.abs() < 9e15 {
                        let _ = write!(out, "{}", *v as i64);
                    } else {
                        let _ = write!(out, "{v}");
                    }
                }
            }
            out.push('\n');
        }
        out
    }
}

/// One CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180). Written by
/// hand: this is the whole of what the report needs from a CSV writer.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::article::Article;
    use chrono::Utc;

    fn store_with(articles: &[(&str, &str, u32, &str)]) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = Store::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        for (title, body, day, source) in articles {
            let date = NaiveDate::from_ymd_opt(2025, 7, *day).unwrap_or_default();
            let a = Article::new(title, body, date, None, source, Utc::now());
            store.insert(&a, &[], &[]).unwrap_or_else(|e| panic!("{e}"));
        }
        (dir, store)
    }

    #[test]
    fn rows_totals_and_the_period() {
        let (_dir, store) = store_with(&[
            (
                "光谷签约",
                "总投资300亿元的项目在光谷签约，其中一期100亿元。",
                1,
                "a",
            ),
            (
                "车谷开工",
                "总投资26亿元、外资2亿美元的项目在车谷开工。",
                2,
                "b",
            ),
            ("光谷车谷联动", "光谷与车谷签约合作，投资5亿元。", 3, "a"),
            ("营商环境", "优化营商环境。", 4, "a"),
            ("八月的项目", "总投资9亿元的项目在光谷签约。", 31, "a"),
        ]);
        let since = NaiveDate::from_ymd_opt(2025, 7, 1);
        let until = NaiveDate::from_ymd_opt(2025, 7, 30);
        let r =
            Report::build(&store, GroupBy::Region, since, until).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (r.total.articles, r.total.projects),
            (4, 3),
            "the 31st is outside the period"
        );
        assert_eq!(r.total.amounts.get(&Currency::Cny), Some(&331e8));
        assert_eq!(r.total.amounts.get(&Currency::Usd), Some(&2e8));
        let groups: Vec<&str> = r.rows.iter().map(|r| r.group.as_str()).collect();
        assert_eq!(groups, ["东湖高新区", "武汉经开区", NONE]);
        assert_eq!(r.rows[0].articles, 2);
        assert_eq!(r.rows[0].amounts.get(&Currency::Cny), Some(&305e8));
        let md = r.markdown();
        assert!(
            md.contains("2025年7月1日 至 2025年7月30日 · 按地区"),
            "{md}"
        );
        assert!(md.contains("| 东湖高新区 | 2 | 2 | 305亿元 | – |"), "{md}");
        assert!(
            md.contains("| **合计** | **4** | **3** | **331亿元** | **2亿美元** |"),
            "{md}"
        );
        let csv = r.csv();
        assert!(csv.starts_with("region,articles,projects,amount_cny,amount_usd\n"));
        assert!(
            csv.contains("\n武汉经开区,2,2,3100000000,200000000\n"),
            "{csv}"
        );
        assert!(csv.ends_with("合计,4,3,33100000000,200000000\n"), "{csv}");

        let r =
            Report::build(&store, GroupBy::Stage, since, until).unwrap_or_else(|e| panic!("{e}"));
        let groups: Vec<&str> = r.rows.iter().map(|r| r.group.as_str()).collect();
        assert_eq!(groups, ["签约", "开工", NONE], "stages in their own order");
        let r =
            Report::build(&store, GroupBy::Source, None, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.total.articles, 5);
        assert_eq!(csv_field("a,\"b\""), "\"a,\"\"b\"\"\"");
    }
}
