//! Organisation names, found by their endings (`有限公司`, `集团`, `研究院`, `银行` …) and read
//! backwards to a left boundary: punctuation, a conjunction (`与`, `及`, `、`), a preposition
//! (`由`, `在`, `对`), or a verb that comes before names (`签约`, `引进`, `携手`).
//!
//! Precision first: a name with no clear left boundary within [`MAX_CHARS`] characters, a name
//! that is only generic words (`商业银行`, `产业集团`, `投资公司`), and one that starts with a
//! demonstrative or a count (`该公司`, `两家银行`) is dropped rather than guessed.

/// How strong a name ending is: a legal form almost always ends a real name; a bare `公司`,
/// `集团` or `银行` often ends a generic phrase and is checked harder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Suffix {
    Legal,
    Group,
    Institute,
    Bank,
    Company,
    Other,
}

/// Name endings; the automaton takes the longest at each place.
pub(super) const SUFFIXES: &[(&str, Suffix)] = &[
    ("股份有限公司", Suffix::Legal),
    ("有限责任公司", Suffix::Legal),
    ("有限公司", Suffix::Legal),
    ("集团股份有限公司", Suffix::Legal),
    ("集团有限公司", Suffix::Legal),
    ("(集团)有限公司", Suffix::Legal),
    ("(集团)股份有限公司", Suffix::Legal),
    ("(有限合伙)", Suffix::Legal),
    ("株式会社", Suffix::Legal),
    ("集团公司", Suffix::Group),
    ("集团", Suffix::Group),
    ("研究院", Suffix::Institute),
    ("研究所", Suffix::Institute),
    ("科学院", Suffix::Institute),
    ("银行", Suffix::Bank),
    ("公司", Suffix::Company),
    ("基金会", Suffix::Other),
    ("事务所", Suffix::Other),
];

/// Phrases that contain an ending but name nothing.
pub(super) const BLOCKERS: &[&str] = &[
    "银行业",
    "银行卡",
    "银行账户",
    "集团化",
    "集团军",
    "公司法",
    "公司制",
    "公司债",
    "子公司",
    "分公司",
    "母公司",
    "总公司",
    "上市公司",
    "科研院所",
    "研究院所",
];

/// The longest name read, in characters, without its ending.
const MAX_CHARS: usize = 24;

/// Words that end the text before a name.
const BOUNDARY_WORDS: &[&str] = &[
    "与", "及", "、", "跟", "由", "对", "在", "将", "把", "被", "是", "给", "让", "从", "即", "等",
    "的", "了", "着", "并", "而", "或", "也", "又", "已", "曾", "就", "签约", "签署", "签订",
    "携手", "引进", "引入", "落户", "入驻", "成立", "设立", "组建", "宣布", "表示", "获得", "包括",
    "例如", "以及", "还有", "旗下", "下属", "收购", "并购", "参股", "入股", "牵头", "吸引", "邀请",
    "会同", "委托", "走访", "考察", "调研", "来到", "前往", "位于", "作为", "成为", "近日", "日前",
    "目前", "今年", "去年", "昨日", "今日", "当天", "此前", "随后", "同时", "其中", "另外", "此外",
    "最近", "通过", "依托", "围绕", "针对", "对于", "关于", "面向", "支持", "鼓励", "推动", "打造",
    "培育", "形成", "壮大", "做强", "做大", "引育",
];

/// Words that end the text before a name only when what follows them is long enough to be a
/// name by itself: `华为和中兴通讯有限公司` is cut at 和, `清华同方股份有限公司` is not.
const WEAK_BOUNDARY_WORDS: &[&str] = &["和", "同", "联合"];

/// Words at the start of a name that point at a company instead of naming it.
const DEMONSTRATIVES: &[&str] = &[
    "该",
    "此",
    "其",
    "这家",
    "那家",
    "这",
    "那",
    "各家",
    "各",
    "每家",
    "有关",
    "相关",
    "上述",
    "其他",
    "其它",
    "另一家",
    "全资",
    "所属",
    "旗下",
];

/// Words that make up generic phrases (`商业银行`, `产业集团`, `投资管理公司`); a name made of
/// nothing else is no name.
const GENERIC: &[&str] = &[
    "商业",
    "政策性",
    "开发性",
    "国有",
    "民营",
    "外资",
    "外商",
    "村镇",
    "合作",
    "股份制",
    "股份",
    "地方",
    "城市",
    "农村",
    "城商",
    "农商",
    "大型",
    "中小",
    "大",
    "小",
    "中",
    "新",
    "老",
    "各大",
    "主要",
    "合资",
    "独资",
    "上市",
    "控股",
    "投资",
    "科技",
    "子",
    "分",
    "母",
    "总",
    "空壳",
    "贸易",
    "金融",
    "保险",
    "证券",
    "信托",
    "基金",
    "担保",
    "小额贷款",
    "贷款",
    "融资",
    "租赁",
    "物流",
    "电力",
    "能源",
    "新能源",
    "互联网",
    "网络",
    "平台",
    "建设",
    "建筑",
    "咨询",
    "中介",
    "服务",
    "外贸",
    "实业",
    "管理",
    "运营",
    "产业",
    "国资",
    "国企",
    "央企",
    "企业",
    "龙头",
    "头部",
    "一家",
    "本地",
    "外地",
    "当地",
    "国内",
    "国外",
    "海外",
    "境内",
    "境外",
    "知名",
    "著名",
    "优质",
    "重点",
    "骨干",
    "领军",
    "链主",
    "科研",
    "高校",
    "医药",
    "生物",
    "汽车",
    "数据",
    "信息",
    "技术",
    "发展",
    "集团",
    "公司",
    "研究",
    "专业",
    "综合",
    "工程",
    "设计",
    "规划",
    "经济",
    "社会",
    "行业",
    "有限",
    "责任",
    "全国",
    "全球",
    "世界",
    "国际",
    "跨国",
    "民间",
    "私营",
    "个体",
    "头部",
    "商贸",
    "制造",
    "生产",
    "销售",
    "供应",
    "装备",
    "材料",
    "化工",
    "文化",
    "旅游",
    "传媒",
    "教育",
    "医疗",
    "健康",
    "农业",
    "食品",
    "地产",
    "房地产",
    "开发",
    "交通",
    "运输",
    "航空",
    "电子",
    "通信",
    "软件",
    "智能",
    "数字",
    "资产",
    "资本",
    "创投",
    "风投",
    "私募",
    "公募",
    "商业化",
    "市场化",
    "专业化",
    "第三方",
    "中外",
    "多",
    "几",
    "数",
    "家",
    "等",
];

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}')
}

fn is_name_char(c: char) -> bool {
    is_cjk(c) || c.is_ascii_alphanumeric() || matches!(c, '(' | ')' | '&' | '·')
}

fn is_numeral(c: char) -> bool {
    c.is_ascii_digit() || "零〇一二两三四五六七八九十百千万亿几数多".contains(c)
}

fn ends_with_any(head: &str, words: &[&str]) -> bool {
    words.iter().any(|w| head.ends_with(w))
}

/// The last characters of the boundary words: most characters of a name are none of them, and
/// this test spares the word list there.
static BOUNDARY_LAST: std::sync::LazyLock<Vec<char>> = std::sync::LazyLock::new(|| {
    let mut v: Vec<char> = BOUNDARY_WORDS
        .iter()
        .chain(WEAK_BOUNDARY_WORDS)
        .filter_map(|w| w.chars().next_back())
        .collect();
    v.sort_unstable();
    v.dedup();
    v
});

/// Where the organisation name that ends with the suffix at `start..end` starts, if a clean
/// name does.
pub(super) fn name_start(text: &str, start: usize, end: usize, suffix: Suffix) -> Option<usize> {
    let next = text[end..].chars().next();
    let bad_next = match suffix {
        Suffix::Group => matches!(next, Some('化' | '军' | '式')),
        Suffix::Company => matches!(next, Some('法' | '制' | '债')),
        Suffix::Bank => matches!(next, Some('业' | '卡')),
        _ => false,
    };
    if bad_next {
        return None;
    }
    let mut left = start;
    let mut chars = 0usize;
    // Parentheses inside a name: `华为技术(武汉)有限公司`. An unmatched `(` ends the name.
    let mut depth = 0u32;
    loop {
        let head = &text[..left];
        let last = head.chars().next_back();
        if last.is_some_and(|c| BOUNDARY_LAST.binary_search(&c).is_ok()) {
            if ends_with_any(head, BOUNDARY_WORDS) {
                break;
            }
            if chars >= 3 && ends_with_any(head, WEAK_BOUNDARY_WORDS) {
                break;
            }
        }
        // `2023年1月武汉……` — a date ends the text before a name.
        let mut tail = head.chars().rev();
        if let (Some(a), Some(b)) = (tail.next(), tail.next())
            && matches!(a, '年' | '月' | '日' | '号')
            && is_numeral(b)
        {
            break;
        }
        let Some(c) = head.chars().next_back() else {
            break;
        };
        if !is_name_char(c) {
            break;
        }
        if c == ')' {
            depth += 1;
        } else if c == '(' {
            if depth == 0 {
                break;
            }
            depth -= 1;
        }
        left -= c.len_utf8();
        chars += 1;
        if chars > MAX_CHARS {
            return None;
        }
    }
    if depth != 0 {
        return None;
    }
    let mut core = &text[left..start];
    // Strip demonstratives: `该公司` names nothing, `各大银行` neither.
    for d in DEMONSTRATIVES {
        if let Some(rest) = core.strip_prefix(d) {
            core = rest;
            break;
        }
    }
    // 本 starts real names too (本田, 本钢集团); only `本公司`, `本行` point.
    if let Some(rest) = core.strip_prefix('本')
        && (rest.chars().count() < 2 || is_generic(rest))
    {
        return None;
    }
    if core.chars().count() < 2 {
        return None;
    }
    // `两家银行`, `5家研究院`, `千亿级产业集团`: a count or a class.
    let lead = core.chars().take_while(|c| is_numeral(*c)).count();
    if lead > 0
        && core
            .chars()
            .nth(lead)
            .is_some_and(|c| "家个批所座级类".contains(c))
    {
        return None;
    }
    // `世界级产业集团`, `千亿级企业集团`: a class of company.
    if core.contains('级') || core.chars().all(|c| c.is_ascii_digit()) || is_generic(core) {
        return None;
    }
    Some(start - core.len())
}

/// Is `core` made of generic words only?
fn is_generic(core: &str) -> bool {
    let mut rest = core;
    while !rest.is_empty() {
        match GENERIC
            .iter()
            .filter(|g| rest.starts_with(**g))
            .max_by_key(|g| g.len())
        {
            Some(g) => rest = &rest[g.len()..],
            None => return false,
        }
    }
    true
}
