//! Money amounts in Chinese text: `3.5亿美元`, `二十亿元`, `1,234.56万元`, `逾百亿元`, `10-20亿元`.
//!
//! Written by hand: no crate parses Chinese numerals mixed with Arabic digits, grouping commas
//! and 万/亿 units (`cn2an` exists only for Python), and a general regex engine would have to
//! try a match at every digit of every text, while amounts are anchored cheaply on their few
//! currency and unit characters (`元`, `万`, `亿` …) and read backwards from there.
//!
//! What is an amount, and what is not (each rule is one function below):
//! - A number followed by a currency (`元`, `美元`, `人民币`, `英镑` …), or by `万`/`亿` with no
//!   currency when the words just before it are about money (`总投资50亿`, `融资3000万`).
//! - Not amounts: counts and measures (`11万户`, `5万平方米`), thresholds and classes
//!   (`亿元以上项目`, `10亿元以上的企业`, `百亿元级`, `超10亿元项目`, a bare `亿元项目`), rates
//!   (`2.5万元/平方米`, `每万元GDP`), vague numbers (`数十亿元`, `十几亿元`, `两三亿元`), words
//!   that merely contain 元 (`三元锂电池`, `多元`, `元旦`).
//! - `以上` / `左右` / `多` / `余` and the qualifiers `逾 近 约 超 超过 …` stay in the text; the
//!   amount is the number as stated (`逾3亿元` is 300000000).
//! - A range (`10-20亿元`, `10亿至20亿元`) is one amount: the lower bound, with the upper bound
//!   in `upper`, so that totals stay conservative.
//! - A total and its parts are all listed; whoever sums amounts must decide which to count.

use super::{Amount, Currency};

/// Currency words, longest first within each family so that the longest one is taken.
const CURRENCIES: &[(&str, Currency)] = &[
    ("新加坡元", Currency::Sgd),
    ("加拿大元", Currency::Cad),
    ("澳大利亚元", Currency::Aud),
    ("澳门元", Currency::Mop),
    ("美元", Currency::Usd),
    ("欧元", Currency::Eur),
    ("港元", Currency::Hkd),
    ("日元", Currency::Jpy),
    ("韩元", Currency::Krw),
    ("澳元", Currency::Aud),
    ("加元", Currency::Cad),
    ("元", Currency::Cny),
    ("人民币", Currency::Cny),
    ("美金", Currency::Usd),
    ("英镑", Currency::Gbp),
    ("港币", Currency::Hkd),
    ("新台币", Currency::Twd),
    ("台币", Currency::Twd),
    ("卢布", Currency::Rub),
    ("瑞士法郎", Currency::Chf),
    ("泰铢", Currency::Thb),
    ("韩币", Currency::Krw),
    ("日币", Currency::Jpy),
];

/// What the scanner anchors on: every currency word's last character family and the units.
pub(super) const ANCHORS: &[&str] = &[
    "元",
    "万",
    "亿",
    "萬",
    "億",
    "人民币",
    "美金",
    "英镑",
    "港币",
    "台币",
    "卢布",
    "法郎",
    "泰铢",
    "韩币",
    "日币",
];

/// Qualifiers kept in an amount's text, longest first.
const QUALIFIERS: &[&str] = &[
    "超过", "将近", "接近", "大约", "约合", "不到", "不足", "逾", "近", "约", "超",
];

/// Words that may stand before a number that starts with 百/千/万/亿 (`过亿元`, `突破千亿元`);
/// without one, `亿元项目` and `百亿元级` are classes of projects, not amounts.
const BARE_QUALIFIERS: &[&str] = &[
    "超过", "将近", "接近", "大约", "约合", "不到", "不足", "突破", "达到", "高达", "最高", "逾",
    "近", "约", "超", "过", "上", "破", "达",
];

/// Qualifiers that turn `X亿元项目` into "projects of more than X" (a class, not an amount).
const LOWER_BOUND_QUALIFIERS: &[&str] = &["超过", "逾", "超", "过", "上"];

/// Words after an amount that make it a class of things (`亿元级`, `超10亿元项目`).
const CLASS_NOUNS: &[&str] = &[
    "级",
    "项目",
    "企业",
    "产业",
    "集群",
    "园区",
    "楼宇",
    "以上项目",
];

/// Words that say the number just after them is money even without a currency (`总投资50亿`).
/// Matched as the end of the text before the number, after [`CONTEXT_FILLER`] is skipped.
const MONEY_CONTEXT: &[&str] = &[
    "投资",
    "投资额",
    "融资",
    "募资",
    "募集",
    "注资",
    "出资",
    "增资",
    "资金",
    "金额",
    "总额",
    "签约额",
    "合同额",
    "营收",
    "营业收入",
    "营业额",
    "收入",
    "产值",
    "销售额",
    "交易额",
    "成交额",
    "市值",
    "估值",
    "利润",
    "利税",
    "税收",
    "纳税",
    "奖励",
    "补贴",
    "补助",
    "资助",
    "贷款",
    "授信",
    "资产",
    "注册资本",
    "生产总值",
    "GDP",
    "增加值",
    "出口额",
    "进口额",
    "进出口额",
    "预算",
    "耗资",
    "造价",
    "基金规模",
    "资金规模",
    "投资规模",
    "融资规模",
    "交易规模",
    "管理规模",
    "人民币",
    "存款",
    "投入",
    "回报",
    "损失",
    "经费",
    "资本金",
];

/// Characters that may stand between a money word and its number (`总投资达到约50亿`).
const CONTEXT_FILLER: &[char] = &[
    '达', '到', '约', '超', '过', '逾', '近', '为', '共', '计', '合', '累', '总', '了', '突', '破',
    '高', '将', '接', '已', '预', '可', '最', '仅', '只', '有', '是', '额', '增', '至', '在', '能',
    ' ',
];

/// Units a rate is quoted per (`每平方米1.2万元`, `每股3.85元`); not time (`每年500万元` is a sum).
const PER_UNITS: &[&str] = &[
    "人",
    "册",
    "本",
    "股",
    "亩",
    "平方米",
    "平米",
    "吨",
    "件",
    "台",
    "辆",
    "条",
    "个",
    "次",
    "套",
    "张",
    "份",
    "度",
    "千瓦时",
    "兆瓦时",
    "瓦",
    "公斤",
    "斤",
    "克",
    "升",
    "注",
    "只",
    "头",
    "间",
    "户",
    "家",
    "床",
    "位",
    "小时",
    "桶",
    "立方米",
    "方",
];

/// Nouns of unit prices: the number after them is a rate (`上网电价0.1元左右`).
const PRICE_NOUNS: &[&str] = &[
    "电价",
    "单价",
    "均价",
    "房价",
    "油价",
    "票价",
    "水价",
    "气价",
    "地价",
    "股价",
    "发行价",
    "起价",
    "租金单价",
    "面额",
    "单张",
];

/// What a bar defines (`超过1亿元的项目`, `5000万元至1亿元的企业`).
const CLASS_AFTER_DE: &[&str] = &[
    "企业",
    "项目",
    "纳税人",
    "单位",
    "个人",
    "工业",
    "小型",
    "小规模",
    "重大",
    "产业",
    "公司",
    "主体",
    "家庭",
    "工程",
    "楼宇",
    "增值税",
    "机构",
    "商户",
    "客户",
];

/// Words before an amount that compare it with something (`低于100万元的企业`): with 的 after
/// the amount it is a bar, not an amount.
const COMPARISONS: &[&str] = &[
    "低于",
    "高于",
    "不超过",
    "不低于",
    "少于",
    "多于",
    "超过",
    "不足",
    "不到",
    "达到",
    "以上",
    "超",
    "逾",
    "满",
    "突破",
];

/// Characters that, right after 万/亿 with no currency, make the number a count or a measure
/// (`11万户`, `5万平方米`, `3亿人次`, `2万吨`).
const MEASURE_WORDS: &str = "个家户人名位台辆套件吨瓦度平亩公米头只条张次册份支架艘颗片部股手桶立方字篇本间栋座所块盏票笔项场届批级倍年岁天日月周小分秒斤克升毫千里根粒枚对双箱包袋盒瓶株棵尾匹口例剂款种类门处轮趟班回遍期辈代组帧像首集步单卷页词句题";

/// A character right after a unit with no currency that makes the number a count or measure.
fn is_measure(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '%' || MEASURE_WORDS.contains(c)
}

/// Punctuation, spaces and the end of text: where a phrase stops.
fn is_boundary(c: Option<char>) -> bool {
    match c {
        None => true,
        Some(c) => {
            c.is_whitespace()
                || c.is_ascii_punctuation()
                || matches!(
                    c,
                    '。' | '、'
                        | '“'
                        | '”'
                        | '‘'
                        | '’'
                        | '《'
                        | '》'
                        | '【'
                        | '】'
                        | '—'
                        | '…'
                        | '·'
                        | '「'
                        | '」'
                        | '〔'
                        | '〕'
                )
        }
    }
}

/// The kinds of character a number is made of.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Tok {
    Arabic,
    Dot,
    Comma,
    /// A Chinese digit 0–9.
    Digit(u8),
    /// 十 百 千 (10, 100, 1000).
    Small(u32),
    /// 万 亿 (10^4, 10^8).
    Big(u32),
    /// 多 余: "and some", kept as stated.
    More,
    /// 几 数: "several"; an amount with one has no value.
    Vague,
}

fn classify(c: char) -> Option<Tok> {
    Some(match c {
        '0'..='9' => Tok::Arabic,
        '.' => Tok::Dot,
        ',' => Tok::Comma,
        '零' | '〇' => Tok::Digit(0),
        '一' | '壹' => Tok::Digit(1),
        '二' | '贰' | '两' => Tok::Digit(2),
        '三' | '叁' => Tok::Digit(3),
        '四' | '肆' => Tok::Digit(4),
        '五' | '伍' => Tok::Digit(5),
        '六' | '陆' => Tok::Digit(6),
        '七' | '柒' => Tok::Digit(7),
        '八' | '捌' => Tok::Digit(8),
        '九' | '玖' => Tok::Digit(9),
        '十' | '拾' => Tok::Small(1),
        '百' | '佰' => Tok::Small(2),
        '千' | '仟' => Tok::Small(3),
        '万' | '萬' => Tok::Big(4),
        '亿' | '億' => Tok::Big(8),
        '多' | '余' => Tok::More,
        '几' | '数' => Tok::Vague,
        _ => return None,
    })
}

fn is_numeral_char(c: char) -> bool {
    classify(c).is_some_and(|t| t != Tok::Vague)
}

/// An exact decimal `m / 10^s`: amounts like `1,234.56万` must come out as 12345600, which
/// `1234.56 * 10000.0` in floating point does not (12345599.999999998).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Dec {
    m: u128,
    s: u32,
}

impl Dec {
    const ZERO: Dec = Dec { m: 0, s: 0 };

    fn int(m: u128) -> Dec {
        Dec { m, s: 0 }
    }

    fn is_zero(self) -> bool {
        self.m == 0
    }

    fn add(self, o: Dec) -> Option<Dec> {
        let s = self.s.max(o.s);
        let a = self.m.checked_mul(10u128.checked_pow(s - self.s)?)?;
        let b = o.m.checked_mul(10u128.checked_pow(s - o.s)?)?;
        Some(Dec {
            m: a.checked_add(b)?,
            s,
        })
    }

    fn mul_pow10(self, e: u32) -> Option<Dec> {
        // Use the scale first so that 1.5 × 10^4 stays an integer (15000, scale 0).
        let used = e.min(self.s);
        let m = self.m.checked_mul(10u128.checked_pow(e - used)?)?;
        Some(Dec {
            m,
            s: self.s - used,
        })
    }

    fn lt(self, o: Dec) -> bool {
        let s = self.s.max(o.s);
        let a = self.m.saturating_mul(10u128.saturating_pow(s - self.s));
        let b = o.m.saturating_mul(10u128.saturating_pow(s - o.s));
        a < b
    }

    /// The nearest `f64`: exact for every whole amount below 2^53 (9 × 10^15 units), and the
    /// correctly rounded quotient of two exact integers otherwise.
    fn to_f64(self) -> f64 {
        let mut d = self;
        while d.s > 0 && d.m.is_multiple_of(10) {
            d.m /= 10;
            d.s -= 1;
        }
        if d.s == 0 {
            d.m as f64
        } else {
            d.m as f64 / 10f64.powi(d.s as i32)
        }
    }
}

/// A parsed number: its value and the power of ten its trailing units multiply by
/// (`20亿` → 8), which the lower end of a range without units borrows (`10-20亿元`).
#[derive(Debug, Clone, Copy)]
struct Number {
    value: Dec,
    trailing_exp: u32,
    has_units: bool,
    /// Starts with 百/千/万/亿 and no digit: `千亿元`, `亿元`.
    bare_leading: bool,
    /// Made of units only: `亿`, `万亿`.
    units_only: bool,
}

/// Reads `s` (a run of numeral characters) as one number.
fn parse_number(s: &str) -> Option<Number> {
    let mut total = Dec::ZERO;
    let mut section = Dec::ZERO;
    let mut number: Option<Dec> = None;
    let mut has_digit = false;
    let mut has_units = false;
    let mut first: Option<Tok> = None;
    let mut trailing_exp = 0u32;
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let tok = classify(c)?;
        if first.is_none() && tok != Tok::More {
            first = Some(tok);
        }
        match tok {
            Tok::Arabic => {
                let mut end = s.len();
                while let Some(&(j, d)) = chars.peek() {
                    if matches!(d, '0'..='9' | '.' | ',') {
                        chars.next();
                    } else {
                        end = j;
                        break;
                    }
                }
                if number.is_some() {
                    return None;
                }
                number = Some(parse_literal(&s[i..end])?);
                has_digit = true;
                trailing_exp = 0;
            }
            Tok::Dot | Tok::Comma | Tok::Vague => return None,
            Tok::Digit(d) => {
                if d == 0 {
                    // 零 holds a place (一千零五十); it adds nothing.
                    continue;
                }
                if number.is_some() {
                    return None;
                }
                number = Some(Dec::int(d as u128));
                has_digit = true;
                trailing_exp = 0;
            }
            Tok::Small(e) => {
                let n = number.take().unwrap_or(Dec::int(1));
                section = section.add(n.mul_pow10(e)?)?;
                has_units = true;
                trailing_exp += e;
            }
            Tok::Big(e) => {
                let n = number.take();
                let base = if e == 8 { total.add(section)? } else { section };
                let base = match n {
                    Some(n) => base.add(n)?,
                    None if base.is_zero() => Dec::int(1),
                    None => base,
                };
                if e == 8 {
                    total = base.mul_pow10(8)?;
                } else {
                    total = total.add(base.mul_pow10(4)?)?;
                }
                section = Dec::ZERO;
                has_units = true;
                trailing_exp += e;
            }
            Tok::More => {}
        }
    }
    let value = total.add(section)?.add(number.unwrap_or(Dec::ZERO))?;
    if value.is_zero() {
        return None;
    }
    let first = first?;
    Some(Number {
        value,
        trailing_exp,
        has_units,
        bare_leading: !matches!(first, Tok::Arabic | Tok::Digit(_) | Tok::Small(1)),
        units_only: !has_digit
            && !s
                .chars()
                .any(|c| matches!(classify(c), Some(Tok::Small(_)))),
    })
}

/// `1,234.56` → 123456 / 10^2. Grouping commas must be followed by exactly three digits and
/// the first group must have one to three.
fn parse_literal(s: &str) -> Option<Dec> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if int.is_empty() || frac.contains(['.', ',']) {
        return None;
    }
    if int.contains(',') {
        let mut groups = int.split(',');
        let head = groups.next()?;
        if head.is_empty() || head.len() > 3 || groups.any(|g| g.len() != 3) {
            return None;
        }
    }
    let mut m: u128 = 0;
    for b in int.bytes().filter(|&b| b != b',').chain(frac.bytes()) {
        m = m.checked_mul(10)?.checked_add((b - b'0') as u128)?;
    }
    Some(Dec {
        m,
        s: frac.len() as u32,
    })
}

/// The start of the run of numeral characters that ends at `end`, or `None` when the run is
/// vague (`数十亿`, `两三亿`) and no amount may be read from it.
fn run_start(text: &str, end: usize) -> Option<usize> {
    let mut start = end;
    let mut right: Option<(Tok, char)> = None;
    for (i, c) in text[..end].char_indices().rev() {
        let Some(tok) = classify(c) else { break };
        let rtok = right.map(|r| r.0);
        let ok = match tok {
            Tok::Arabic => !matches!(rtok, Some(Tok::Digit(_))),
            Tok::Dot => {
                rtok == Some(Tok::Arabic) && prev_char(text, i).is_some_and(|p| p.is_ascii_digit())
            }
            Tok::Comma => {
                prev_char(text, i).is_some_and(|p| p.is_ascii_digit()) && {
                    let after = &text.as_bytes()[i + 1..];
                    let digits = after.iter().take_while(|b| b.is_ascii_digit()).count();
                    digits == 3
                }
            }
            Tok::Digit(d) => match rtok {
                Some(Tok::Arabic | Tok::Dot | Tok::Comma) => false,
                // Two digits side by side (两三亿, 二〇二三) say no single number, unless the
                // left one is the place-holding 零.
                Some(Tok::Digit(_)) if d != 0 => return None,
                _ => true,
            },
            Tok::Small(_) | Tok::Big(_) => true,
            Tok::More => matches!(rtok, None | Some(Tok::Big(_)) | Some(Tok::Small(_))),
            Tok::Vague => {
                if matches!(rtok, Some(Tok::Digit(_) | Tok::Small(_) | Tok::Big(_))) {
                    return None;
                }
                false
            }
        };
        if !ok {
            break;
        }
        start = i;
        right = Some((tok, c));
    }
    // A run cannot start with a separator or with 多/余.
    while start < end {
        let c = text[start..].chars().next()?;
        if matches!(classify(c), Some(Tok::Dot | Tok::Comma | Tok::More)) {
            start += c.len_utf8();
        } else {
            break;
        }
    }
    // `2021,500亿元`: a first group of more than three digits is no grouping; the number
    // starts after the comma.
    loop {
        let run = &text[start..end];
        let lead = run.bytes().take_while(|b| b.is_ascii_digit()).count();
        if lead > 3 && run.as_bytes().get(lead) == Some(&b',') {
            start += lead + 1;
        } else {
            break;
        }
    }
    Some(start)
}

fn prev_char(text: &str, i: usize) -> Option<char> {
    text[..i].chars().next_back()
}

fn next_char(text: &str, i: usize) -> Option<char> {
    text[i..].chars().next()
}

/// The currency word ending at byte `end`, longest first.
fn currency_ending_at(text: &str, end: usize) -> Option<(usize, Currency)> {
    let head = &text[..end];
    CURRENCIES
        .iter()
        .filter(|(w, _)| head.ends_with(w))
        .max_by_key(|(w, _)| w.len())
        .map(|(w, c)| (end - w.len(), *c))
}

/// The currency word starting at byte `start`, longest first.
fn currency_starting_at(text: &str, start: usize) -> Option<(usize, Currency)> {
    let tail = &text[start..];
    CURRENCIES
        .iter()
        .filter(|(w, _)| tail.starts_with(w))
        .max_by_key(|(w, _)| w.len())
        .map(|(w, c)| (start + w.len(), *c))
}

fn ends_with_any<'a>(head: &str, words: &[&'a str]) -> Option<&'a str> {
    words
        .iter()
        .filter(|w| head.ends_with(**w))
        .max_by_key(|w| w.len())
        .copied()
}

fn starts_with_any<'a>(tail: &str, words: &[&'a str]) -> Option<&'a str> {
    words
        .iter()
        .filter(|w| tail.starts_with(**w))
        .max_by_key(|w| w.len())
        .copied()
}

/// Is the text before `pos` about money (`总投资约`, `融资`, `人民币`)?
fn money_context(text: &str, pos: usize) -> bool {
    let mut head = &text[..pos];
    for _ in 0..6 {
        if ends_with_any(head, MONEY_CONTEXT).is_some() {
            return true;
        }
        match head.chars().next_back() {
            Some(c) if CONTEXT_FILLER.contains(&c) => head = &head[..head.len() - c.len_utf8()],
            _ => return false,
        }
    }
    false
}

/// What follows the currency (or the unit) of an amount.
struct Tail {
    /// End of the amount's text (after `以上`/`左右`/`人民币`).
    end: usize,
    /// The amount is a threshold or a class, not a stated amount.
    reject: bool,
    /// Followed by punctuation, the end, 的, 左右 or 大关.
    closed: bool,
}

fn read_tail(text: &str, mut pos: usize, qualifier: Option<&str>, bare: bool) -> Tail {
    if text[pos..].starts_with("人民币") {
        pos += "人民币".len();
    }
    let rest = &text[pos..];
    if rest.starts_with('/') || rest.starts_with("每") {
        return Tail {
            end: pos,
            reject: true,
            closed: false,
        };
    }
    if rest.starts_with("级") {
        return Tail {
            end: pos,
            reject: true,
            closed: false,
        };
    }
    for w in ["及以上", "以上", "以下", "以内", "之内"] {
        if let Some(after) = rest.strip_prefix(w) {
            let end = pos + w.len();
            // `9330亿元以上。` states an amount; `10亿元以上项目`, `…以上的企业`,
            // `10万元以下(含本数)的纳税人` set a bar.
            let closed = is_boundary(after.chars().next()) && !class_follows(text, end);
            return Tail {
                end,
                reject: !closed,
                closed,
            };
        }
    }
    let (end, rest) = match rest.strip_prefix("左右") {
        Some(after) => (pos + "左右".len(), after),
        None => (pos, rest),
    };
    let lower_bound = qualifier.is_some_and(|q| LOWER_BOUND_QUALIFIERS.contains(&q));
    if (bare || lower_bound) && starts_with_any(rest, CLASS_NOUNS).is_some() {
        return Tail {
            end,
            reject: true,
            closed: false,
        };
    }
    let next = rest.chars().next();
    let closed =
        end > pos || is_boundary(next) || rest.starts_with('的') || rest.starts_with("大关");
    Tail {
        end,
        reject: false,
        closed,
    }
}

/// Finds every amount in `text` and appends the new ones to `out`.
pub(super) fn scan(anchors: &aho_corasick::AhoCorasick, text: &str, out: &mut Vec<Amount>) {
    // End of the last number read, so that `1.5万亿元` (three anchors) is read once.
    let mut done = 0usize;
    for m in anchors.find_iter(text) {
        if m.start() < done {
            continue;
        }
        let word = &text[m.start()..m.end()];
        let found = match word {
            "万" | "亿" | "萬" | "億" => unit_without_currency(text, m.end()),
            _ => with_currency(text, m.start(), m.end()),
        };
        if let Some((found, end)) = found {
            done = end;
            push(out, found);
        }
    }
}

fn push(out: &mut Vec<Amount>, a: Amount) {
    // A range that reads its own lower bound as the amount just before it (`10亿元至20亿元`)
    // replaces that amount.
    if a.upper.is_some()
        && let Some(last) = out.last()
        && last.upper.is_none()
        && last.currency == a.currency
        && last.amount == a.amount
        && a.text.starts_with(last.text.as_str())
    {
        out.pop();
    }
    if !out.iter().any(|o| o.same_value(&a)) {
        out.push(a);
    }
}

/// An amount whose currency word is at `start..end` (`元` of `3.5亿美元`, `英镑` of `500英镑`).
fn with_currency(text: &str, start: usize, end: usize) -> Option<(Amount, usize)> {
    let word = &text[start..end];
    let (cur_start, currency) = currency_ending_at(text, end)?;
    // 元 that begins a word: 元旦, 元宵 (`1日元旦` is a date), 元素, 元件, 元宇宙 …
    if word == "元"
        && next_char(text, end).is_some_and(|c| {
            matches!(
                c,
                '旦' | '宵' | '素' | '件' | '器' | '首' | '宇' | '帅' | '朝' | '老' | '气'
            )
        })
    {
        return None;
    }
    // `7万元美金`: the yuan sign written before the real currency.
    let currency = match (
        currency,
        text[end..].starts_with("美金") || text[end..].starts_with("美元"),
    ) {
        (Currency::Cny, true) if word == "元" => Currency::Usd,
        (c, _) => c,
    };
    let num_end = cur_start;
    let num_start = run_start(text, num_end)?;
    if num_start == num_end {
        return None;
    }
    let run = &text[num_start..num_end];
    let number = parse_number(run)?;
    // A lone Chinese digit before 元 is a word, not a price: 三元锂电池, 二元结构, 一元化.
    if !number.has_units && run.chars().count() == 1 && !run.as_bytes()[0].is_ascii_digit() {
        return None;
    }
    finish(text, num_start, end, number, currency)
}

/// `万`/`亿` at `start..end` with no currency after the number (`总投资50亿,`).
fn unit_without_currency(text: &str, end: usize) -> Option<(Amount, usize)> {
    // The number runs on (`1.5万亿`, `3亿5000万`, `20多万`): read it to its end.
    let mut num_end = end;
    let mut rest = text[end..].chars().peekable();
    while let Some(c) = rest.next() {
        let separator = matches!(c, '.' | ',');
        if !is_numeral_char(c) || separator && !rest.peek().is_some_and(char::is_ascii_digit) {
            break;
        }
        num_end += c.len_utf8();
    }
    // With a currency after it, the currency's own anchor reads it.
    if currency_starting_at(text, num_end).is_some() {
        return None;
    }
    let last_unit = text[..num_end]
        .chars()
        .rev()
        .find(|c| classify(*c) != Some(Tok::More));
    if !matches!(last_unit.and_then(classify), Some(Tok::Big(_))) {
        return None;
    }
    let next = next_char(text, num_end);
    if next.is_some_and(is_measure) {
        return None;
    }
    let num_start = run_start(text, num_end)?;
    if num_start == num_end {
        return None;
    }
    let number = parse_number(&text[num_start..num_end])?;
    let qual_start = num_start - ends_with_any(&text[..num_start], QUALIFIERS).map_or(0, str::len);
    // `投资是在100亿~120亿`: the money word stands before the range's lower bound.
    let range_start = ends_with_any(&text[..num_start], &["-", "~", "至", "到"])
        .and_then(|sep| run_start(text, num_start - sep.len()))
        .unwrap_or(num_start);
    if !money_context(text, qual_start)
        && !money_context(text, num_start)
        && !money_context(text, range_start)
    {
        return None;
    }
    finish(text, num_start, num_end, number, Currency::Cny)
}

/// Checks the words around a number and builds the amount: `num_start..num_end` is the number,
/// `cur_end` the end of its currency (or of the number when there is none).
fn finish(
    text: &str,
    num_start: usize,
    cur_end: usize,
    number: Number,
    currency: Currency,
) -> Option<(Amount, usize)> {
    let head = &text[..num_start];
    // `人民币3亿元`
    let (head, prefix_start) = match head.strip_suffix("人民币") {
        Some(h) => (h, h.len()),
        None => (head, num_start),
    };
    // `每万元GDP`, `单位:亿元` — a rate or a unit.
    if head.ends_with('每') || head.ends_with("单位") || is_rate_head(head) {
        return None;
    }
    let qualifier = ends_with_any(head, QUALIFIERS);
    let bare_qualifier = ends_with_any(head, BARE_QUALIFIERS);
    let bare = number.bare_leading || number.units_only;
    let tail = read_tail(text, cur_end, qualifier.or(bare_qualifier), bare);
    if tail.reject {
        return None;
    }
    // `低于100万元(含100万元)的小型微利企业`, `投资超过1亿元的项目`, and lists of bars
    // (`营收首次突破100亿元、50亿元的企业`): a bar that defines a class.
    let list_head = &text[..list_start(text, prefix_start)];
    if ends_with_any(list_head, COMPARISONS).is_some()
        && class_follows(text, list_end(text, tail.end))
    {
        return None;
    }
    if number.units_only && bare_qualifier.is_none() {
        return None;
    }
    if number.bare_leading && bare_qualifier.is_none() && !tail.closed {
        return None;
    }
    // A range: `10-20亿元`, `10亿至20亿元`, `10亿元~20亿元`.
    let mut start = prefix_start - qualifier.map_or(0, str::len);
    let mut lower_value = None;
    if qualifier.is_none()
        && prefix_start == num_start
        && let Some(sep) = ends_with_any(head, &["-", "~", "至", "到", "—", "–"])
    {
        let sep_start = num_start - sep.len();
        let (low_end, low_currency) = match currency_ending_at(text, sep_start) {
            Some((s, c)) => (s, Some(c)),
            _ => (sep_start, None),
        };
        if low_currency.is_none_or(|c| c == currency)
            && let Some(low_start) = run_start(text, low_end)
            && low_start < low_end
            && let Some(low) = parse_number(&text[low_start..low_end])
        {
            let value = if low.has_units {
                Some(low.value)
            } else {
                low.value.mul_pow10(number.trailing_exp)
            };
            // `从2亿元到5亿元` is a change, not a range.
            if let Some(v) = value
                && v.lt(number.value)
                && !text[..low_start].ends_with(['-', '~', '.', '从', '由'])
            {
                // `5000万元至1亿元的企业`: a class of companies.
                if class_follows(text, tail.end) {
                    return None;
                }
                let low_qual = ends_with_any(&text[..low_start], QUALIFIERS);
                start = low_start - low_qual.map_or(0, str::len);
                lower_value = Some(v);
            }
        }
    }
    let (amount, upper) = match lower_value {
        Some(low) => (low.to_f64(), Some(number.value.to_f64())),
        None => (number.value.to_f64(), None),
    };
    let end = tail.end.max(cur_end);
    Some((
        Amount {
            text: text[start..end].to_string(),
            amount,
            currency,
            upper,
        },
        end,
    ))
}

/// Is the number that follows `head` a rate: `每平方米200元`, `每股3.85元`, `每10股派2.5元`,
/// `上网电价0.1元`, or a later item of such a list (`每千瓦时0.375元、0.355元`)?
/// The clause before the number (back to punctuation other than `、`) is read.
fn is_rate_head(head: &str) -> bool {
    let clause_start = head
        .char_indices()
        .rev()
        .find(|(_, c)| {
            matches!(
                c,
                ',' | '。' | ';' | ':' | '!' | '?' | '(' | ')' | '“' | '”'
            )
        })
        .map_or(0, |(i, c)| i + c.len_utf8());
    let clause = &head[clause_start..];
    if PRICE_NOUNS.iter().any(|p| clause.contains(p)) {
        return true;
    }
    clause.match_indices('每').any(|(i, w)| {
        let after = clause[i + w.len()..].trim_start_matches(|c: char| c.is_ascii_digit());
        // `每个月` is time, like `每年`: a monthly sum is a sum.
        !after.starts_with("个月") && PER_UNITS.iter().any(|u| after.starts_with(u))
    })
}

const LIST_JOINS: &[&str] = &["、", "和", "或", "及"];

/// The start of a list of amounts that ends with the number at `start` (`100亿元、50亿元、…`).
fn list_start(text: &str, mut start: usize) -> usize {
    while let Some(join) = ends_with_any(&text[..start], LIST_JOINS) {
        let item_end = start - join.len();
        let Some((cur, _)) = currency_ending_at(text, item_end) else {
            break;
        };
        match run_start(text, cur) {
            Some(s) if s < cur => start = s,
            _ => break,
        }
    }
    start
}

/// The end of a list of amounts that starts with the amount ending at `end`.
fn list_end(text: &str, mut end: usize) -> usize {
    'items: while let Some(join) = starts_with_any(&text[end..], LIST_JOINS) {
        let mut pos = end + join.len();
        let mut digits = false;
        for c in text[pos..].chars() {
            if is_numeral_char(c) {
                digits = true;
                pos += c.len_utf8();
            } else {
                break;
            }
        }
        match currency_starting_at(text, pos) {
            Some((e, _)) if digits => end = e,
            _ => break 'items,
        }
    }
    end
}

/// Does a class of things follow at `pos` (`的企业`, `(含100万元)的小型微利企业`)?
fn class_follows(text: &str, pos: usize) -> bool {
    let mut rest = &text[pos..];
    if let Some(inner) = rest.strip_prefix('(')
        && let Some(close) = inner.find(')')
        && close < 40
    {
        rest = &inner[close + 1..];
    }
    match rest.strip_prefix('的') {
        Some(after) => starts_with_any(after, CLASS_AFTER_DE).is_some(),
        None => false,
    }
}

/// Reads one amount written alone, as in a filter setting (`10亿元`, `5000万美元`, `3亿`):
/// the whole text must be the amount. A number with 万/亿 and no currency is taken as yuan.
pub fn parse(text: &str) -> Option<Amount> {
    let text = text.trim();
    let (num_end, currency) = match CURRENCIES
        .iter()
        .filter(|(w, _)| text.ends_with(w))
        .max_by_key(|(w, _)| w.len())
    {
        Some((w, c)) => (text.len() - w.len(), *c),
        None => (text.len(), Currency::Cny),
    };
    let num_text = text[..num_end]
        .strip_prefix("人民币")
        .unwrap_or(&text[..num_end]);
    if num_text.is_empty() {
        return None;
    }
    let number = parse_number(num_text)?;
    if num_end == text.len() && !number.has_units {
        // `10` alone names no currency and no unit: too easy to mean 10亿 and get 10.
        return None;
    }
    Some(Amount {
        text: text.to_string(),
        amount: number.value.to_f64(),
        currency,
        upper: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> f64 {
        parse_number(s).expect(s).value.to_f64()
    }

    #[test]
    fn numerals() {
        assert_eq!(n("二十"), 20.0);
        assert_eq!(n("二十亿"), 2e9);
        assert_eq!(n("一千五百万"), 1.5e7);
        assert_eq!(n("两亿"), 2e8);
        assert_eq!(n("1.5万亿"), 1.5e12);
        assert_eq!(n("3千万"), 3e7);
        assert_eq!(n("5百万"), 5e6);
        assert_eq!(n("3亿5000万"), 3.5e8);
        assert_eq!(n("三亿五千万"), 3.5e8);
        assert_eq!(n("一万五千亿"), 1.5e12);
        assert_eq!(n("一千零五十万"), 1.05e7);
        assert_eq!(n("十二亿"), 1.2e9);
        assert_eq!(n("壹佰万"), 1e6);
        assert_eq!(n("1,234.56万"), 12_345_600.0);
        assert_eq!(n("0.35"), 0.35);
        assert_eq!(n("万亿"), 1e12);
        assert_eq!(n("20多万"), 2e5);
        assert!(parse_number("1,23").is_none());
        assert!(parse_number("1234,567").is_none());
    }
}
