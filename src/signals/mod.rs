//! Investment signals: what an investment-promotion analyst looks for first in an article —
//! how much money ([`Amount`]), at what stage ([`Stage`]), in which industry, in which region,
//! with which companies.
//!
//! Computed from an article's title and body with rules and dictionaries, no model: a money
//! scanner written for Chinese numerals ([`amount`](self::parse_amount)), and one Aho-Corasick
//! automaton over the region, industry and stage dictionaries and the endings of company names.
//! The dictionaries are data files shipped in the binary (`src/signals/data/*.txt`), and
//! [`SignalSettings`] adds to them at run time.
//!
//! The text is expected in the store's canonical form (NFKC-folded: ASCII digits, `,` `:` `(`).
//! One [`Extractor`] is built once and shared; [`Extractor::extract`] allocates only its result.

mod amount;
mod company;
mod dict;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

/// The signals of one article.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Signals {
    /// Every money amount stated, each value and currency once, in order of first mention.
    pub amounts: Vec<Amount>,
    /// The project stages mentioned, in the order of [`Stage::ALL`].
    pub stages: Vec<Stage>,
    /// Canonical industry names, in order of first mention.
    pub industries: Vec<String>,
    /// Canonical region names (provinces, cities, Wuhan's districts and zones), in order of
    /// first mention.
    pub regions: Vec<String>,
    /// Organisation names (companies, groups, banks, institutes), in order of first mention.
    pub companies: Vec<String>,
}

impl Signals {
    pub fn is_empty(&self) -> bool {
        self.amounts.is_empty()
            && self.stages.is_empty()
            && self.industries.is_empty()
            && self.regions.is_empty()
            && self.companies.is_empty()
    }

    /// The largest amount in `currency`: a fair "how much" for the article, since an article
    /// usually states a total and then its parts, which must not be added to it.
    pub fn largest(&self, currency: Currency) -> Option<&Amount> {
        self.amounts
            .iter()
            .filter(|a| a.currency == currency)
            .max_by(|a, b| a.amount.total_cmp(&b.amount))
    }
}

/// A money amount as stated in the text.
///
/// `amount` is in units of `currency` (yuan, dollars), computed with exact decimal arithmetic
/// and held as `f64`: that is exact for every whole amount below 2^53 (about 9 × 10^15, far
/// above any stated sum) and the nearest double for the rare fractional one (`3.85元`), which
/// JSON prints back as written. Whole amounts are written to JSON as integers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Amount {
    /// The words of the text, with their qualifiers: `逾3亿元`, `20多万元`, `10-20亿元`.
    pub text: String,
    /// The value; for a range, its lower bound.
    #[serde(serialize_with = "whole_as_integer")]
    pub amount: f64,
    pub currency: Currency,
    /// The upper bound of a range (`10-20亿元`); absent otherwise.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "optional_whole_as_integer"
    )]
    pub upper: Option<f64>,
}

impl Amount {
    fn same_value(&self, other: &Amount) -> bool {
        self.currency == other.currency && self.amount == other.amount && self.upper == other.upper
    }
}

/// 2^53: below it every whole number is an exact `f64`.
const EXACT_LIMIT: f64 = 9_007_199_254_740_992.0;

fn whole_as_integer<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.fract() == 0.0 && v.abs() < EXACT_LIMIT {
        s.serialize_i64(*v as i64)
    } else {
        s.serialize_f64(*v)
    }
}

fn optional_whole_as_integer<S: serde::Serializer>(
    v: &Option<f64>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => whole_as_integer(v, s),
        None => s.serialize_none(),
    }
}

/// Currencies by ISO 4217 code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Currency {
    Cny,
    Usd,
    Eur,
    Hkd,
    Jpy,
    Gbp,
    Krw,
    Aud,
    Cad,
    Sgd,
    Twd,
    Mop,
    Rub,
    Chf,
    Thb,
}

impl Currency {
    pub const ALL: [Currency; 15] = [
        Currency::Cny,
        Currency::Usd,
        Currency::Eur,
        Currency::Hkd,
        Currency::Jpy,
        Currency::Gbp,
        Currency::Krw,
        Currency::Aud,
        Currency::Cad,
        Currency::Sgd,
        Currency::Twd,
        Currency::Mop,
        Currency::Rub,
        Currency::Chf,
        Currency::Thb,
    ];

    /// The ISO 4217 code.
    pub fn code(self) -> &'static str {
        match self {
            Currency::Cny => "CNY",
            Currency::Usd => "USD",
            Currency::Eur => "EUR",
            Currency::Hkd => "HKD",
            Currency::Jpy => "JPY",
            Currency::Gbp => "GBP",
            Currency::Krw => "KRW",
            Currency::Aud => "AUD",
            Currency::Cad => "CAD",
            Currency::Sgd => "SGD",
            Currency::Twd => "TWD",
            Currency::Mop => "MOP",
            Currency::Rub => "RUB",
            Currency::Chf => "CHF",
            Currency::Thb => "THB",
        }
    }

    /// The Chinese unit a reader expects after a number: 元, 美元, 欧元 …
    pub fn unit(self) -> &'static str {
        match self {
            Currency::Cny => "元",
            Currency::Usd => "美元",
            Currency::Eur => "欧元",
            Currency::Hkd => "港元",
            Currency::Jpy => "日元",
            Currency::Gbp => "英镑",
            Currency::Krw => "韩元",
            Currency::Aud => "澳元",
            Currency::Cad => "加元",
            Currency::Sgd => "新加坡元",
            Currency::Twd => "新台币",
            Currency::Mop => "澳门元",
            Currency::Rub => "卢布",
            Currency::Chf => "瑞士法郎",
            Currency::Thb => "泰铢",
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = SignalsError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::ALL
            .into_iter()
            .find(|c| c.code().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| SignalsError::UnknownCurrency(s.to_string()))
    }
}

/// The stage of an investment project an article reports. Written as its Chinese label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Stage {
    /// 签约: an agreement signed.
    #[serde(rename = "签约")]
    Signing,
    /// 落户: a project or company settles in the region.
    #[serde(rename = "落户")]
    Settling,
    /// 开工: construction starts.
    #[serde(rename = "开工")]
    Groundbreaking,
    /// 投产: production or operation starts.
    #[serde(rename = "投产")]
    Production,
    /// 竣工: construction completed.
    #[serde(rename = "竣工")]
    Completion,
    /// 揭牌: an unveiling or opening ceremony.
    #[serde(rename = "揭牌")]
    Unveiling,
    /// 推介: an investment promotion event.
    #[serde(rename = "推介")]
    Promotion,
    /// 增资: added investment, expansion.
    #[serde(rename = "增资")]
    Expansion,
    /// 政策: a policy or subsidy measure.
    #[serde(rename = "政策")]
    Policy,
}

impl Stage {
    pub const ALL: [Stage; 9] = [
        Stage::Signing,
        Stage::Settling,
        Stage::Groundbreaking,
        Stage::Production,
        Stage::Completion,
        Stage::Unveiling,
        Stage::Promotion,
        Stage::Expansion,
        Stage::Policy,
    ];

    /// The Chinese label: 签约, 落户 …
    pub fn label(self) -> &'static str {
        match self {
            Stage::Signing => "签约",
            Stage::Settling => "落户",
            Stage::Groundbreaking => "开工",
            Stage::Production => "投产",
            Stage::Completion => "竣工",
            Stage::Unveiling => "揭牌",
            Stage::Promotion => "推介",
            Stage::Expansion => "增资",
            Stage::Policy => "政策",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl FromStr for Stage {
    type Err = SignalsError;

    /// Takes the Chinese label (`签约`) or the English name (`signing`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Stage::ALL
            .into_iter()
            .find(|st| st.label() == s || format!("{st:?}").eq_ignore_ascii_case(s))
            .ok_or_else(|| SignalsError::UnknownStage(s.to_string()))
    }
}

/// Run-time additions to the built-in dictionaries (`[signals]` in sources.toml):
///
/// ```toml
/// [signals]
/// regions = { "东湖高新区" = ["光谷东", "武汉光谷"], "花山生态新城" = ["花山新城"] }
/// industries = { "低空经济" = ["eVTOL", "飞行汽车"], "金融" = ["!金融支持"] }
/// ```
///
/// A name already in a dictionary gains the aliases; a new name becomes a new entry and matches
/// itself and its aliases. An alias written `!phrase` is a phrase that must not count even
/// though it contains a name (`!中山路` keeps 中山路 from meaning 中山市).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SignalSettings {
    pub regions: BTreeMap<String, Vec<String>>,
    pub industries: BTreeMap<String, Vec<String>>,
}

/// Errors in signal settings.
#[derive(Debug, thiserror::Error)]
pub enum SignalsError {
    #[error("signals.{kind}: {name:?}: {reason}")]
    Entry {
        kind: &'static str,
        name: String,
        reason: String,
    },
    #[error("signals: unknown stage {0:?} (one of 签约 落户 开工 投产 竣工 揭牌 推介 增资 政策)")]
    UnknownStage(String),
    #[error("signals: unknown currency {0:?} (an ISO 4217 code such as CNY or USD)")]
    UnknownCurrency(String),
    #[error("signals: {0:?} is not an amount (write it like 10亿元, 5000万美元 or 3亿)")]
    NotAnAmount(String),
    #[error("signals: building the dictionary automaton: {0}")]
    Build(#[from] aho_corasick::BuildError),
}

/// Finds the signals in articles. Build one and share it: building compiles the dictionaries.
pub struct Extractor {
    dictionary: dict::Dictionary,
    anchors: aho_corasick::AhoCorasick,
}

impl fmt::Debug for Extractor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Extractor")
            .field("regions", &self.dictionary.regions.len())
            .field("industries", &self.dictionary.industries.len())
            .finish()
    }
}

static STANDARD: LazyLock<Extractor> = LazyLock::new(|| {
    // The built-in dictionaries are part of the program and checked by the tests.
    Extractor::new(&SignalSettings::default()).expect("built-in signal dictionaries are valid")
});

impl Extractor {
    /// The built-in dictionaries plus `settings`.
    pub fn new(settings: &SignalSettings) -> Result<Extractor, SignalsError> {
        let dictionary = dict::Dictionary::new(settings)?;
        let anchors = aho_corasick::AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostLongest)
            .build(amount::ANCHORS)?;
        Ok(Extractor {
            dictionary,
            anchors,
        })
    }

    /// The extractor with the built-in dictionaries only, built on first use.
    pub fn standard() -> &'static Extractor {
        &STANDARD
    }

    /// The signals of an article.
    pub fn extract(&self, title: &str, body: &str) -> Signals {
        let mut signals = Signals::default();
        for text in [title, body] {
            amount::scan(&self.anchors, text, &mut signals.amounts);
        }
        self.dictionary.scan(&[title, body], &mut signals);
        signals
    }

    /// Every canonical region name, for checking filter settings.
    pub fn regions(&self) -> impl Iterator<Item = &str> {
        self.dictionary.regions.iter().map(String::as_str)
    }

    /// Every canonical industry name, for checking filter settings.
    pub fn industries(&self) -> impl Iterator<Item = &str> {
        self.dictionary.industries.iter().map(String::as_str)
    }

    /// The canonical region a name or alias stands for (`光谷` → `东湖高新区`).
    pub fn region(&self, name: &str) -> Option<&str> {
        self.dictionary.canonical(dict::Kind::Region, name)
    }

    /// The canonical industry a name or alias stands for (`芯片` → `集成电路`).
    pub fn industry(&self, name: &str) -> Option<&str> {
        self.dictionary.canonical(dict::Kind::Industry, name)
    }
}

/// The signals of an article, with the built-in dictionaries.
pub fn extract(title: &str, body: &str) -> Signals {
    Extractor::standard().extract(title, body)
}

/// Reads one amount written alone, as in a filter setting: `10亿元`, `5000万美元`, `3亿` (a
/// number with 万/亿 and no currency is yuan), `1.5万亿元`, `二十亿元`.
pub fn parse_amount(text: &str) -> Result<Amount, SignalsError> {
    amount::parse(text).ok_or_else(|| SignalsError::NotAnAmount(text.to_string()))
}

#[cfg(test)]
mod tests;
