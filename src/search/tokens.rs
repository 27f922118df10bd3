//! How text becomes terms: units for exact matching, grams for the index, words for ranking.
//!
//! Matching is defined on *units*: each CJK character is one unit, each run of other letters or
//! digits (a Latin word, a number) is one lowercase unit, and a run of anything else (punctuation,
//! spaces) is a gap of one position between units. A query term matches where its units appear
//! in the text at the same relative positions, so `营商环境` matches inside `优化营商环境` (a
//! substring, whatever the segmenter makes of it) and `ai` matches the word `AI` but not `MAIL`.
//!
//! The index encodes units as *grams* (the `grams` fields, with positions): every CJK character
//! as a unigram, every two adjacent CJK characters as a bigram at the first one's position, every
//! other unit as itself. A query term becomes a phrase of bigrams (a single character: its
//! unigram), which holds exactly where the units do, and bigram postings are short enough for
//! phrase queries to stay fast over a million articles.
//!
//! Ranking also uses *words* (the `words` fields, frequencies only): jieba's search-mode
//! segmentation, which emits a compound and its dictionary sub-words (`营商环境`, `营商`, `环境`), so
//! an article that uses the query as a real word scores above one where the characters merely
//! meet (`计算力` holds `算力`).
//!
//! These are our own tokenizers rather than the `tantivy-jieba` adaptor because the words field
//! must drop punctuation and spaces (the adaptor indexes every `，` as a term) and lowercase Latin,
//! and the grams tokenizer has no crate at all.

use std::sync::LazyLock;
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

/// Registered tokenizer names. The version suffix is part of the schema: changing what a tokenizer
/// emits must change its name, so an index built by the old rules is refused as outdated instead
/// of silently missing matches.
pub(crate) const GRAMS: &str = "newswatch_grams_v1";
pub(crate) const WORDS: &str = "newswatch_words_v1";

/// Longer words are cut to this many bytes (on a character boundary), in the index and in queries
/// alike; tantivy refuses terms over 64 KiB and a run of base64 is no word anyway.
const MAX_WORD_BYTES: usize = 80;

static JIEBA: LazyLock<jieba_rs::Jieba> = LazyLock::new(jieba_rs::Jieba::new);

/// What one unit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind<'a> {
    Cjk(char),
    /// The word as written; compare with [`same_word`].
    Word(&'a str),
}

/// One unit of `text` at its position, with its byte range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unit<'a> {
    pub pos: usize,
    pub from: usize,
    pub to: usize,
    pub kind: Kind<'a>,
}

/// Characters matched one by one: the scripts written without spaces between words.
pub(crate) fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3007                  // 〇
        | 0x3040..=0x30FF       // kana
        | 0x3100..=0x312F       // bopomofo
        | 0x3400..=0x4DBF       // CJK extension A
        | 0x4E00..=0x9FFF       // CJK unified ideographs
        | 0xF900..=0xFAFF       // CJK compatibility ideographs
        | 0x20000..=0x3134F     // CJK extensions B–G
    )
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() && !is_cjk(c)
}

/// The units of `text`, in order.
pub(crate) fn units(text: &str) -> Vec<Unit<'_>> {
    let mut out = Vec::with_capacity(text.len() / 3 + 1);
    let mut pos = 0usize;
    let mut gap = false;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if is_cjk(c) {
            if gap && !out.is_empty() {
                pos += 1;
            }
            gap = false;
            out.push(Unit {
                pos,
                from: i,
                to: i + c.len_utf8(),
                kind: Kind::Cjk(c),
            });
            pos += 1;
        } else if is_word_char(c) {
            let mut end = i + c.len_utf8();
            while let Some(&(j, d)) = chars.peek() {
                if !is_word_char(d) {
                    break;
                }
                end = j + d.len_utf8();
                chars.next();
            }
            if gap && !out.is_empty() {
                pos += 1;
            }
            gap = false;
            let mut word_end = end;
            if end - i > MAX_WORD_BYTES {
                word_end = i + MAX_WORD_BYTES;
                while !text.is_char_boundary(word_end) {
                    word_end -= 1;
                }
            }
            out.push(Unit {
                pos,
                from: i,
                to: end,
                kind: Kind::Word(&text[i..word_end]),
            });
            pos += 1;
        } else {
            gap = true;
        }
    }
    out
}

/// Whether two word units are the same word (Latin compared without case).
pub(crate) fn same_word(a: &str, b: &str) -> bool {
    a == b
        || a.chars()
            .flat_map(char::to_lowercase)
            .eq(b.chars().flat_map(char::to_lowercase))
}

/// The indexed form of a word unit.
pub(crate) fn word_term(word: &str) -> String {
    if word.chars().any(char::is_uppercase) {
        word.to_lowercase()
    } else {
        word.to_owned()
    }
}

/// The gram tokens of `text`, as indexed.
fn gram_tokens(text: &str) -> Vec<Token> {
    let units = units(text);
    let mut out = Vec::with_capacity(units.len() * 2);
    for (i, unit) in units.iter().enumerate() {
        match unit.kind {
            Kind::Word(w) => out.push(Token {
                offset_from: unit.from,
                offset_to: unit.to,
                position: unit.pos,
                text: word_term(w),
                position_length: 1,
            }),
            Kind::Cjk(c) => {
                out.push(Token {
                    offset_from: unit.from,
                    offset_to: unit.to,
                    position: unit.pos,
                    text: c.to_string(),
                    position_length: 1,
                });
                if let Some(next) = units.get(i + 1)
                    && let Kind::Cjk(d) = next.kind
                    && next.pos == unit.pos + 1
                {
                    let mut gram = String::with_capacity(c.len_utf8() + d.len_utf8());
                    gram.push(c);
                    gram.push(d);
                    out.push(Token {
                        offset_from: unit.from,
                        offset_to: next.to,
                        position: unit.pos,
                        text: gram,
                        position_length: 2,
                    });
                }
            }
        }
    }
    out
}

/// One query term's grams with their offsets from the term's first unit: bigrams for runs of CJK
/// characters (they cover every character), a unigram for a lone character, words as themselves.
pub(crate) fn query_grams(units: &[Unit<'_>]) -> Vec<(usize, String)> {
    let Some(first) = units.first() else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(units.len());
    for (i, unit) in units.iter().enumerate() {
        let offset = unit.pos - first.pos;
        match unit.kind {
            Kind::Word(w) => out.push((offset, word_term(w))),
            Kind::Cjk(c) => {
                let cjk_at = |j: Option<usize>, pos: usize| match j.and_then(|j| units.get(j)) {
                    Some(u) if u.pos == pos => match u.kind {
                        Kind::Cjk(d) => Some(d),
                        Kind::Word(_) => None,
                    },
                    _ => None,
                };
                if let Some(d) = cjk_at(Some(i + 1), unit.pos + 1) {
                    out.push((offset, format!("{c}{d}")));
                } else if unit.pos == 0 || cjk_at(i.checked_sub(1), unit.pos - 1).is_none() {
                    out.push((offset, c.to_string()));
                }
            }
        }
    }
    out
}

/// The ranking words of `text`: jieba's search-mode segmentation, lowercased, without punctuation
/// and spaces, one position each.
pub(crate) fn words(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    for w in JIEBA.cut_for_search(text, true) {
        let word = w.word;
        if !word.chars().any(char::is_alphanumeric) || word.len() > MAX_WORD_BYTES {
            continue;
        }
        out.push(Token {
            offset_from: w.byte_start,
            offset_to: w.byte_end,
            position: out.len(),
            text: word_term(word),
            position_length: 1,
        });
    }
    out
}

/// A tantivy tokenizer over one of the functions above.
#[derive(Clone, Copy)]
pub(crate) struct Analyzer(fn(&str) -> Vec<Token>);

pub(crate) const GRAMS_ANALYZER: Analyzer = Analyzer(gram_tokens);
pub(crate) const WORDS_ANALYZER: Analyzer = Analyzer(words);

pub(crate) struct Tokens {
    tokens: std::vec::IntoIter<Token>,
    current: Token,
}

impl Tokenizer for Analyzer {
    type TokenStream<'a> = Tokens;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Tokens {
        Tokens {
            tokens: (self.0)(text).into_iter(),
            current: Token::default(),
        }
    }
}

impl TokenStream for Tokens {
    fn advance(&mut self) -> bool {
        match self.tokens.next() {
            Some(t) => {
                self.current = t;
                true
            }
            None => false,
        }
    }

    fn token(&self) -> &Token {
        &self.current
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(tokens: &[Token]) -> Vec<(usize, &str)> {
        tokens
            .iter()
            .map(|t| (t.position, t.text.as_str()))
            .collect()
    }

    #[test]
    fn units_split_scripts_and_count_gaps() {
        let u = units("AI算力, 5G网络");
        let kinds: Vec<_> = u.iter().map(|u| (u.pos, u.kind)).collect();
        assert_eq!(
            kinds,
            vec![
                (0, Kind::Word("AI")),
                (1, Kind::Cjk('算')),
                (2, Kind::Cjk('力')),
                (4, Kind::Word("5G")),
                (5, Kind::Cjk('网')),
                (6, Kind::Cjk('络')),
            ]
        );
        assert_eq!(&"AI算力, 5G网络"[u[3].from..u[3].to], "5G");
    }

    #[test]
    fn grams_hold_unigrams_and_bigrams_within_a_run() {
        let t = gram_tokens("营商环境。AI");
        assert_eq!(
            texts(&t),
            vec![
                (0, "营"),
                (0, "营商"),
                (1, "商"),
                (1, "商环"),
                (2, "环"),
                (2, "环境"),
                (3, "境"),
                (5, "ai"),
            ]
        );
    }

    #[test]
    fn query_grams_cover_each_character_once() {
        let g = |q: &str| query_grams(&units(q));
        assert_eq!(
            g("营商环境"),
            vec![(0, "营商".into()), (1, "商环".into()), (2, "环境".into())]
        );
        assert_eq!(g("湖"), vec![(0, "湖".to_string())]);
        assert_eq!(
            g("2021年"),
            vec![(0, "2021".to_string()), (1, "年".to_string())]
        );
        assert_eq!(
            g("算力AI"),
            vec![(0, "算力".to_string()), (2, "ai".to_string())]
        );
    }

    #[test]
    fn words_are_jieba_search_mode_without_punctuation() {
        let w = words("北京大学优化营商环境，AI算力");
        let w: Vec<&str> = w.iter().map(|t| t.text.as_str()).collect();
        for word in ["北京大学", "北京", "大学", "营商", "环境", "算力"] {
            assert!(w.contains(&word), "{word}: {w:?}");
        }
        assert!(w.contains(&"ai"), "{w:?}");
        assert!(!w.contains(&"，"), "{w:?}");
    }

    #[test]
    fn long_words_are_cut_the_same_way_everywhere() {
        let long = "x".repeat(200);
        let u = units(&long);
        assert_eq!(u.len(), 1);
        assert_eq!(u[0].kind, Kind::Word(&long[..MAX_WORD_BYTES]));
        assert_eq!(u[0].to, 200);
    }
}
