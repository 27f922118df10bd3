//! The dictionaries (regions, industries, stages, company endings) and the one automaton that
//! finds all of them in a single pass over the text.
//!
//! Data file format (`data/*.txt`), one entry per line:
//! `canonical alias alias … !blocker ^parent` — the canonical name matches itself; a `!phrase`
//! contains a name but must not count (`!中山路`); `^name` is the region the entry lies in,
//! reported too when an alias starts with that region's name (`武汉东湖新技术开发区`).
//! `#` starts a comment.
//!
//! Matching is leftmost-longest, so a longer phrase wins over a name inside it that starts at
//! the same place or later: `新能源汽车` over `新能源`, `人才落户` over `落户`, `武汉东湖新技术开发区`
//! over `武汉`. That is also how blockers work.

use super::company::{self, Suffix};
use super::{SignalSettings, Signals, SignalsError, Stage};
use aho_corasick::{AhoCorasick, AhoCorasickKind, Anchored, Input, MatchKind, StartKind};
use std::collections::{BTreeMap, HashMap};

const REGIONS: &str = include_str!("data/regions.txt");
const INDUSTRIES: &str = include_str!("data/industries.txt");
const STAGES: &str = include_str!("data/stages.txt");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Region,
    Industry,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hit {
    Region { entry: u32, parent: Option<u32> },
    Industry(u32),
    Stage(Stage),
    Suffix(Suffix),
    Blocker,
}

/// One line of a data file (or one settings entry).
#[derive(Debug, Clone, Default)]
pub(super) struct Entry {
    pub(super) name: String,
    pub(super) aliases: Vec<String>,
    pub(super) blockers: Vec<String>,
    pub(super) parent: Option<String>,
}

/// Reads a data file. The built-in files are checked by the tests, so a malformed line there is
/// a programming error; it is skipped rather than taking the program down.
pub(super) fn parse_data(text: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let mut tokens = line.split_whitespace();
        let Some(name) = tokens.next() else { continue };
        let mut entry = Entry {
            name: name.to_string(),
            ..Entry::default()
        };
        for t in tokens {
            if let Some(b) = t.strip_prefix('!') {
                entry.blockers.push(b.to_string());
            } else if let Some(p) = t.strip_prefix('^') {
                entry.parent = Some(p.to_string());
            } else {
                entry.aliases.push(t.to_string());
            }
        }
        out.push(entry);
    }
    out
}

fn merge(
    entries: &mut Vec<Entry>,
    extra: &BTreeMap<String, Vec<String>>,
    kind: &'static str,
) -> Result<(), SignalsError> {
    let bad = |name: &str, reason: &str| SignalsError::Entry {
        kind,
        name: name.to_string(),
        reason: reason.to_string(),
    };
    for (name, aliases) in extra {
        let name = name.trim();
        if name.is_empty() {
            return Err(bad(name, "the name is empty"));
        }
        if name.starts_with(['!', '^']) {
            return Err(bad(name, "a name cannot start with ! or ^"));
        }
        let index = match entries.iter().position(|e| e.name == name) {
            Some(i) => i,
            None => {
                entries.push(Entry {
                    name: name.to_string(),
                    ..Entry::default()
                });
                entries.len() - 1
            }
        };
        for alias in aliases {
            let alias = alias.trim();
            let word = alias.strip_prefix('!').unwrap_or(alias);
            if word.is_empty() {
                return Err(bad(name, "an alias is empty"));
            }
            if word.chars().count() < 2 {
                return Err(bad(
                    name,
                    &format!("alias {alias:?} is one character: it would match inside other words"),
                ));
            }
            if alias.starts_with('!') {
                entries[index].blockers.push(word.to_string());
            } else {
                entries[index].aliases.push(word.to_string());
            }
        }
    }
    Ok(())
}

/// Which pairs of first characters start some dictionary word: a 64-Kbit set indexed by a hash
/// of the pair. Written by hand because running the automaton over every byte of CJK text
/// (every character a possible start among ~2,000 words) costs ~3 ns a byte, while this test
/// costs about one, and the automaton then runs only where a word can start.
struct Gate {
    bits: Vec<u64>,
}

impl Gate {
    fn key(a: char, b: char) -> usize {
        let a = a.to_ascii_lowercase() as u32;
        let b = b.to_ascii_lowercase() as u32;
        (a.wrapping_mul(0x9E37_79B1) ^ b.wrapping_mul(0x85EB_CA77).rotate_left(13)) as usize >> 16
            & 0xFFFF
    }

    fn new<'a>(patterns: impl Iterator<Item = &'a str>) -> Gate {
        let mut bits = vec![0u64; 1 << 10];
        for p in patterns {
            let mut cs = p.chars();
            if let (Some(a), Some(b)) = (cs.next(), cs.next()) {
                let k = Gate::key(a, b);
                bits[k >> 6] |= 1 << (k & 63);
            }
        }
        Gate { bits }
    }

    fn may_start(&self, a: char, b: char) -> bool {
        let k = Gate::key(a, b);
        self.bits[k >> 6] & (1 << (k & 63)) != 0
    }
}

pub(super) struct Dictionary {
    automaton: AhoCorasick,
    gate: Gate,
    hits: Vec<Hit>,
    /// The pattern starts / ends with an ASCII letter or digit and needs a word boundary there
    /// (`AI` is not in `MAIL`).
    ascii_start: Vec<bool>,
    ascii_end: Vec<bool>,
    pub(super) regions: Vec<String>,
    pub(super) industries: Vec<String>,
    /// Every alias, for [`Dictionary::canonical`].
    lookup: HashMap<String, Hit>,
}

impl Dictionary {
    pub(super) fn new(settings: &SignalSettings) -> Result<Dictionary, SignalsError> {
        let mut regions = parse_data(REGIONS);
        let mut industries = parse_data(INDUSTRIES);
        let builtin_regions = regions.len();
        let builtin_industries = industries.len();
        merge(&mut regions, &settings.regions, "regions")?;
        merge(&mut industries, &settings.industries, "industries")?;

        // Later insertions win: the company endings, then stages, regions, industries, and the
        // settings' additions last, so a user's alias or blocker overrides a built-in one.
        let mut table: Vec<(String, Hit)> = Vec::new();
        for (s, kind) in company::SUFFIXES {
            table.push((s.to_string(), Hit::Suffix(*kind)));
        }
        for b in company::BLOCKERS {
            table.push((b.to_string(), Hit::Blocker));
        }
        for e in parse_data(STAGES) {
            let Ok(stage) = e.name.parse::<Stage>() else {
                continue;
            };
            // A stage's label matches only when listed as a synonym: 政策 alone is too broad.
            for a in &e.aliases {
                table.push((a.clone(), Hit::Stage(stage)));
            }
            for b in &e.blockers {
                table.push((b.clone(), Hit::Blocker));
            }
        }
        let region_index: HashMap<&str, u32> = regions
            .iter()
            .enumerate()
            .map(|(i, e)| (e.name.as_str(), i as u32))
            .collect();
        let mut user: Vec<(String, Hit)> = Vec::new();
        for (i, e) in regions.iter().enumerate() {
            let parent = e
                .parent
                .as_deref()
                .and_then(|p| region_index.get(p).copied());
            let parent_names: Vec<&str> = parent
                .map(|p| {
                    let pe = &regions[p as usize];
                    std::iter::once(pe.name.as_str())
                        .chain(pe.aliases.iter().map(String::as_str))
                        .collect()
                })
                .unwrap_or_default();
            let target = if i < builtin_regions {
                &mut table
            } else {
                &mut user
            };
            for a in std::iter::once(&e.name).chain(&e.aliases) {
                let with_parent = parent.filter(|_| parent_names.iter().any(|p| a.starts_with(p)));
                target.push((
                    a.clone(),
                    Hit::Region {
                        entry: i as u32,
                        parent: with_parent,
                    },
                ));
            }
            for b in &e.blockers {
                target.push((b.clone(), Hit::Blocker));
            }
        }
        for (i, e) in industries.iter().enumerate() {
            let target = if i < builtin_industries {
                &mut table
            } else {
                &mut user
            };
            for a in std::iter::once(&e.name).chain(&e.aliases) {
                target.push((a.clone(), Hit::Industry(i as u32)));
            }
            for b in &e.blockers {
                target.push((b.clone(), Hit::Blocker));
            }
        }
        // Additions to a built-in entry were merged into it; move its aliases that came from
        // the settings to the end as well, so they win over a built-in alias of another entry.
        for (name, aliases) in &settings.regions {
            if let Some(&i) = region_index.get(name.trim()) {
                for a in aliases.iter().filter(|a| !a.trim().starts_with('!')) {
                    user.push((
                        a.trim().to_string(),
                        region_hit(&regions, &region_index, i, a),
                    ));
                }
            }
        }
        for (name, aliases) in &settings.industries {
            if let Some(i) = industries.iter().position(|e| e.name == name.trim()) {
                for a in aliases.iter().filter(|a| !a.trim().starts_with('!')) {
                    user.push((a.trim().to_string(), Hit::Industry(i as u32)));
                }
            }
        }
        for (_, aliases) in settings.regions.iter().chain(&settings.industries) {
            for a in aliases {
                if let Some(b) = a.trim().strip_prefix('!') {
                    user.push((b.to_string(), Hit::Blocker));
                }
            }
        }
        table.extend(user);

        let mut lookup: HashMap<String, Hit> = HashMap::new();
        for (pattern, hit) in table {
            lookup.insert(pattern, hit);
        }
        let mut patterns: Vec<(&String, &Hit)> = lookup.iter().collect();
        patterns.sort_by(|a, b| a.0.cmp(b.0));
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .ascii_case_insensitive(true)
            .kind(Some(AhoCorasickKind::DFA))
            .start_kind(StartKind::Anchored)
            .build(patterns.iter().map(|(p, _)| p.as_bytes()))?;
        // Every word has two characters or more (checked for settings, tested for data).
        let gate = Gate::new(patterns.iter().map(|(p, _)| p.as_str()));
        let hits = patterns.iter().map(|(_, h)| **h).collect();
        let ascii_start = patterns
            .iter()
            .map(|(p, _)| p.as_bytes().first().is_some_and(u8::is_ascii_alphanumeric))
            .collect();
        let ascii_end = patterns
            .iter()
            .map(|(p, _)| p.as_bytes().last().is_some_and(u8::is_ascii_alphanumeric))
            .collect();
        Ok(Dictionary {
            automaton,
            gate,
            hits,
            ascii_start,
            ascii_end,
            regions: regions.into_iter().map(|e| e.name).collect(),
            industries: industries.into_iter().map(|e| e.name).collect(),
            lookup,
        })
    }

    /// The leftmost-longest, non-overlapping dictionary words of `text`: at each character
    /// where the gate lets a word start, the longest word starting there, then on after it.
    fn find_iter<'t>(&'t self, text: &'t str) -> impl Iterator<Item = aho_corasick::Match> + 't {
        let mut chars = text.char_indices().peekable();
        let mut resume = 0usize;
        std::iter::from_fn(move || {
            while let Some((i, c)) = chars.next() {
                let &(_, d) = chars.peek()?;
                if i < resume || !self.gate.may_start(c, d) {
                    continue;
                }
                let input = Input::new(text).range(i..).anchored(Anchored::Yes);
                if let Some(m) = self.automaton.find(input) {
                    resume = m.end();
                    return Some(m);
                }
            }
            None
        })
    }

    pub(super) fn canonical(&self, kind: Kind, name: &str) -> Option<&str> {
        match (kind, self.lookup.get(name.trim())?) {
            (Kind::Region, Hit::Region { entry, .. }) => Some(&self.regions[*entry as usize]),
            (Kind::Industry, Hit::Industry(i)) => Some(&self.industries[*i as usize]),
            _ => None,
        }
    }

    /// Adds the regions, industries, stages and companies of `texts` to `out`.
    pub(super) fn scan(&self, texts: &[&str], out: &mut Signals) {
        let mut regions: Vec<u32> = Vec::new();
        // Industries with where they were seen (text, byte): a word inside a company name
        // (`某某新能源科技有限公司`) is the company's, not the article's.
        let mut industries: Vec<(u32, usize, usize)> = Vec::new();
        let mut names: Vec<(usize, usize, usize)> = Vec::new();
        let mut stages = [false; Stage::ALL.len()];
        for (t, text) in texts.iter().enumerate() {
            let bytes = text.as_bytes();
            for m in self.find_iter(text) {
                let id = m.pattern().as_usize();
                if self.ascii_start[id]
                    && m.start() > 0
                    && bytes[m.start() - 1].is_ascii_alphanumeric()
                {
                    continue;
                }
                if self.ascii_end[id] && bytes.get(m.end()).is_some_and(u8::is_ascii_alphanumeric) {
                    continue;
                }
                match self.hits[id] {
                    Hit::Region { entry, parent } => {
                        if let Some(p) = parent
                            && !regions.contains(&p)
                        {
                            regions.push(p);
                        }
                        if !regions.contains(&entry) {
                            regions.push(entry);
                        }
                    }
                    Hit::Industry(i) => industries.push((i, t, m.start())),
                    Hit::Stage(s) => {
                        if !negated(&text[..m.start()]) {
                            stages[s as usize] = true;
                        }
                    }
                    Hit::Suffix(kind) => {
                        if let Some(start) = company::name_start(text, m.start(), m.end(), kind) {
                            names.push((t, start, m.end()));
                            let name = &text[start..m.end()];
                            if !out.companies.iter().any(|c| c == name) {
                                out.companies.push(name.to_string());
                            }
                        }
                    }
                    Hit::Blocker => {}
                }
            }
        }
        out.regions = regions
            .into_iter()
            .map(|i| self.regions[i as usize].clone())
            .collect();
        for (i, t, at) in industries {
            let in_name = names.iter().any(|&(nt, s, e)| nt == t && s <= at && at < e);
            let name = &self.industries[i as usize];
            if !in_name && !out.industries.contains(name) {
                out.industries.push(name.clone());
            }
        }
        out.stages = Stage::ALL
            .into_iter()
            .filter(|s| stages[*s as usize])
            .collect();
        // `中金数据集团` and `中金数据集团有限公司` are one company: keep the full name.
        let all = out.companies.clone();
        out.companies.retain(|n| {
            !all.iter()
                .any(|o| o.len() > n.len() && o.starts_with(n.as_str()))
        });
    }
}

fn region_hit(regions: &[Entry], index: &HashMap<&str, u32>, entry: u32, alias: &str) -> Hit {
    let parent = regions[entry as usize]
        .parent
        .as_deref()
        .and_then(|p| index.get(p).copied())
        .filter(|p| {
            let pe = &regions[*p as usize];
            std::iter::once(&pe.name)
                .chain(&pe.aliases)
                .any(|n| alias.trim().starts_with(n.as_str()))
        });
    Hit::Region { entry, parent }
}

/// Words that, right before a stage word, deny it: `未签约`, `尚未开工`, `取消签约`.
const NEGATORS: &[&str] = &[
    "未", "没有", "没", "不", "无", "否", "尚未", "未能", "暂未", "取消", "终止", "停止", "暂停",
    "推迟", "延迟", "延期", "放弃", "拒绝", "不再", "难以", "无法", "不能", "不会", "不得",
];

/// Adverbs that may stand between a negator and the stage word: `未正式签约`, `未能如期开工`.
const NEGATED_ADVERBS: &[&str] = &[
    "正式", "如期", "按期", "按时", "及时", "顺利", "全面", "真正", "实际",
];

fn negated(head: &str) -> bool {
    let head = NEGATED_ADVERBS
        .iter()
        .find_map(|a| head.strip_suffix(a))
        .unwrap_or(head);
    NEGATORS.iter().any(|n| head.ends_with(n))
}
