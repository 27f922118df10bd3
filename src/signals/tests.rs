use super::*;

fn amounts(text: &str) -> Vec<(f64, Currency)> {
    extract("", text)
        .amounts
        .into_iter()
        .map(|a| (a.amount, a.currency))
        .collect()
}

fn one(text: &str) -> Amount {
    let found = extract("", text).amounts;
    assert_eq!(found.len(), 1, "{text}: {found:?}");
    found.into_iter().next().expect("one amount")
}

use Currency::*;

#[test]
fn arabic_amounts_with_units_and_currencies() {
    assert_eq!(amounts("项目总投资3.5亿美元。"), vec![(3.5e8, Usd)]);
    assert_eq!(amounts("总投资50亿元,建设期3年"), vec![(5e9, Cny)]);
    assert_eq!(amounts("社会消费品零售总额1.5万亿元"), vec![(1.5e12, Cny)]);
    assert_eq!(amounts("合同金额1,234.56万元"), vec![(12_345_600.0, Cny)]);
    assert_eq!(amounts("注册资本5000万港元"), vec![(5e7, Hkd)]);
    assert_eq!(amounts("投资2亿欧元建厂"), vec![(2e8, Eur)]);
    assert_eq!(amounts("约合300亿日元"), vec![(3e10, Jpy)]);
    assert_eq!(amounts("融资800万英镑"), vec![(8e6, Gbp)]);
    assert_eq!(amounts("人民币3亿元"), vec![(3e8, Cny)]);
    assert_eq!(amounts("投资12亿元人民币"), vec![(1.2e9, Cny)]);
    assert_eq!(amounts("募集5000万美金"), vec![(5e7, Usd)]);
    assert_eq!(amounts("3千万元"), vec![(3e7, Cny)]);
    assert_eq!(amounts("5百万元"), vec![(5e6, Cny)]);
    assert_eq!(amounts("3亿5000万元"), vec![(3.5e8, Cny)]);
    assert_eq!(amounts("交易金额3.85元"), vec![(3.85, Cny)]);
}

#[test]
fn chinese_numeral_amounts() {
    assert_eq!(amounts("总投资二十亿元"), vec![(2e9, Cny)]);
    assert_eq!(amounts("奖励一千五百万元"), vec![(1.5e7, Cny)]);
    assert_eq!(amounts("两亿元"), vec![(2e8, Cny)]);
    assert_eq!(amounts("十亿元"), vec![(1e9, Cny)]);
    assert_eq!(amounts("三亿五千万元"), vec![(3.5e8, Cny)]);
    assert_eq!(amounts("人民币壹佰万元整"), vec![(1e6, Cny)]);
    assert_eq!(amounts("一千零五十万元"), vec![(1.05e7, Cny)]);
}

#[test]
fn qualifiers_stay_in_the_text_and_not_in_the_value() {
    let a = one("投资逾3亿元");
    assert_eq!((a.text.as_str(), a.amount), ("逾3亿元", 3e8));
    assert_eq!(one("近百亿元的投资").text, "近百亿元");
    assert_eq!(one("近百亿元的投资").amount, 1e10);
    assert_eq!(one("约5000万元").text, "约5000万元");
    assert_eq!(one("超过2亿美元").text, "超过2亿美元");
    let a = one("资产20多万元");
    assert_eq!((a.text.as_str(), a.amount), ("20多万元", 2e5));
    assert_eq!(one("3000余万元").amount, 3e7);
    assert_eq!(one("1亿多元").amount, 1e8);
    assert_eq!(one("销售额过亿元").amount, 1e8);
    assert_eq!(one("产值突破万亿元").amount, 1e12);
    assert_eq!(one("售价千元左右").amount, 1e3);
    let a = one("到位资金9330亿元以上。");
    assert_eq!((a.text.as_str(), a.amount), ("9330亿元以上", 9.33e11));
}

#[test]
fn amounts_without_currency_after_money_words() {
    assert_eq!(amounts("总投资50亿,占地300亩"), vec![(5e9, Cny)]);
    assert_eq!(amounts("完成A轮融资3000万"), vec![(3e7, Cny)]);
    assert_eq!(amounts("总投资约1.2亿建设生产线"), vec![(1.2e8, Cny)]);
    // Without a money word the number is not known to be money.
    assert!(amounts("用户突破1亿").is_empty());
}

#[test]
fn each_amount_once() {
    let s = extract(
        "总投资50亿元的项目签约",
        "该项目总投资50亿元。项目投资50亿元,其中一期20亿元。",
    );
    let v: Vec<f64> = s.amounts.iter().map(|a| a.amount).collect();
    assert_eq!(v, vec![5e9, 2e9]);
    // The same number in another currency is another amount.
    assert_eq!(amounts("5亿元,即5亿美元").len(), 2);
}

#[test]
fn ranges_are_one_amount_with_an_upper_bound() {
    for text in [
        "投资10-20亿元",
        "投资10至20亿元",
        "投资10亿至20亿元",
        "投资10亿元~20亿元",
    ] {
        let a = one(text);
        assert_eq!((a.amount, a.upper), (1e9, Some(2e9)), "{text}");
    }
    // A change from one amount to another is two amounts.
    assert_eq!(amounts("注册资本从2亿元增加到5亿元").len(), 2);
}

#[test]
fn not_amounts() {
    for text in [
        "2023年1月5日签约",               // dates
        "企业总量突破11万户",             // counts
        "签约12个项目",                   // counts
        "建筑面积5万平方米",              // measures
        "年产30万吨",                     // measures
        "增长12.5%",                      // percentages
        "开工768个亿元以上项目",          // threshold
        "新开工亿元以上项目700个以上",    // threshold
        "对投资10亿元以上的项目给予奖励", // threshold
        "引进超10亿元项目8个",            // class
        "打造一批百亿元服务业集聚区",     // class
        "培育千亿元级产业集群",           // class
        "亿元项目",                       // class
        "电话:027-87654321",              // phone number
        "2025年",                         // year
        "每万元GDP能耗下降3%",            // ratio
        "房价2.5万元/平方米",             // rate
        "三元锂电池",                     // a word with 元
        "多元化发展",                     // a word with 元
        "1月1日元旦",                     // a date before 元旦
        "投资数十亿元",                   // vague
        "十几亿元",                       // vague
        "两三亿元",                       // vague
        "单位:亿元",                      // a unit
    ] {
        assert!(amounts(text).is_empty(), "{text}: {:?}", amounts(text));
    }
}

#[test]
fn amounts_serialise_as_the_issue_shows() {
    let a = one("3.5亿美元");
    let json = serde_json::to_string(&a).expect("json");
    assert_eq!(
        json,
        r#"{"text":"3.5亿美元","amount":350000000,"currency":"USD"}"#
    );
    let frac = one("金额3.85元");
    assert!(
        serde_json::to_string(&frac)
            .expect("json")
            .contains(r#""amount":3.85"#)
    );
    let back: Amount = serde_json::from_str(&json).expect("parse");
    assert_eq!(back, a);
    let range = one("10-20亿元");
    assert!(
        serde_json::to_string(&range)
            .expect("json")
            .ends_with(r#""currency":"CNY","upper":2000000000}"#)
    );
}

#[test]
fn parse_amount_reads_filter_settings() {
    assert_eq!(parse_amount("10亿元").expect("10亿元").amount, 1e9);
    assert_eq!(parse_amount("3亿").expect("3亿").amount, 3e8);
    let a = parse_amount("5000万美元").expect("usd");
    assert_eq!((a.amount, a.currency), (5e7, Usd));
    assert_eq!(parse_amount("二十亿元").expect("cn").amount, 2e9);
    assert!(parse_amount("10").is_err());
    assert!(parse_amount("abc").is_err());
    assert!(parse_amount("").is_err());
}

#[test]
fn stages_with_synonyms() {
    let stages = |t: &str| extract("", t).stages;
    assert_eq!(stages("双方签署合作协议"), vec![Stage::Signing]);
    assert_eq!(stages("项目正式落地光谷"), vec![Stage::Settling]);
    assert_eq!(stages("一批企业入驻产业园"), vec![Stage::Settling]);
    assert_eq!(stages("项目举行奠基仪式"), vec![Stage::Groundbreaking]);
    assert_eq!(stages("一期工程动工"), vec![Stage::Groundbreaking]);
    assert_eq!(stages("产业园成功投用"), vec![Stage::Production]);
    assert_eq!(stages("生产线正式投入运营"), vec![Stage::Production]);
    assert_eq!(stages("项目竣工验收"), vec![Stage::Completion]);
    assert_eq!(stages("研究院正式揭牌"), vec![Stage::Unveiling]);
    assert_eq!(stages("在深圳举办招商推介会"), vec![Stage::Promotion]);
    assert_eq!(stages("企业追加投资"), vec![Stage::Expansion]);
    assert_eq!(stages("印发《若干措施》"), vec![Stage::Policy]);
    assert_eq!(stages("最高给予500万元补贴"), vec![Stage::Policy]);
    // In the order of Stage::ALL, each once.
    assert_eq!(
        stages("项目签约后落户光谷,年内开工,再次签约"),
        vec![Stage::Signing, Stage::Settling, Stage::Groundbreaking]
    );
}

#[test]
fn negated_and_unrelated_stage_words_do_not_count() {
    let stages = |t: &str| extract("", t).stages;
    assert!(stages("项目尚未签约").is_empty());
    assert!(stages("该项目未能如期开工").is_empty());
    assert!(stages("取消签约").is_empty());
    assert!(stages("推进家庭医生签约服务").is_empty());
    assert!(stages("优化人才落户条件").is_empty());
    assert!(stages("推动政策落地见效").is_empty());
    assert!(stages("企业开工率达到90%").is_empty());
    assert!(stages("对问题挂牌督办").is_empty());
    assert!(stages("地块挂牌出让").is_empty());
}

#[test]
fn region_aliases() {
    let regions = |t: &str| extract("", t).regions;
    assert_eq!(regions("中兴通讯研发中心落户光谷"), vec!["东湖高新区"]);
    assert_eq!(regions("车谷再添新项目"), vec!["武汉经开区"]);
    assert_eq!(regions("临空港经开区招商"), vec!["东西湖区"]);
    assert_eq!(regions("武汉市硚口区"), vec!["武汉市", "硚口区"]);
    assert_eq!(
        regions("武汉东湖新技术开发区管委会"),
        vec!["武汉市", "东湖高新区"]
    );
    assert_eq!(
        regions("湖北省宜昌市和广州"),
        vec!["湖北省", "宜昌市", "广州市"]
    );
    // Words that contain a place name but are no place.
    assert!(regions("发展朝阳产业").is_empty());
    assert!(regions("宁德时代").is_empty());
    assert!(regions("大同小异").is_empty());
}

#[test]
fn industries_by_alias() {
    let industries = |t: &str| extract("", t).industries;
    assert_eq!(industries("新能源汽车产业链"), vec!["新能源汽车"]);
    assert_eq!(industries("芯片和半导体"), vec!["集成电路"]);
    assert_eq!(industries("建设智算中心"), vec!["算力"]);
    assert_eq!(industries("AI大模型"), vec!["人工智能"]);
    // ASCII names need word boundaries.
    assert!(industries("MAIL").is_empty());
    assert!(industries("育种芯片").iter().all(|i| i != "集成电路"));
}

#[test]
fn company_boundaries() {
    let companies = |t: &str| extract("", t).companies;
    assert_eq!(
        companies("武汉东湖高新区与中兴通讯股份有限公司签署合作协议"),
        vec!["中兴通讯股份有限公司"]
    );
    assert_eq!(
        companies("武汉市通过招商引资引进中金数据集团,该项目由中金数据集团有限公司投资建设"),
        vec!["中金数据集团有限公司"]
    );
    assert_eq!(
        companies("武汉市政府与中国信息通信研究院联合牵头"),
        vec!["中国信息通信研究院"]
    );
    assert_eq!(
        companies("华为和中兴通讯有限公司"),
        vec!["中兴通讯有限公司"]
    );
    assert_eq!(
        companies("清华同方股份有限公司发布公告"),
        vec!["清华同方股份有限公司"]
    );
    assert_eq!(
        companies("某某新能源科技有限公司、湖北银行"),
        vec!["某某新能源科技有限公司", "湖北银行"]
    );
    assert_eq!(
        companies("华为技术(武汉)有限公司"),
        vec!["华为技术(武汉)有限公司"]
    );
    // Not names.
    for t in [
        "该公司表示",
        "各大银行纷纷",
        "商业银行",
        "新增上市公司10家",
        "打造千亿级产业集团",
        "推进集团化发展",
        "两家银行",
        "银行账户上有存款",
        "一家投资公司",
    ] {
        assert!(companies(t).is_empty(), "{t}: {:?}", companies(t));
    }
}

#[test]
fn built_in_dictionaries_are_clean() {
    use std::collections::HashMap;
    for (file, text) in [
        ("regions", include_str!("data/regions.txt")),
        ("industries", include_str!("data/industries.txt")),
        ("stages", include_str!("data/stages.txt")),
    ] {
        let entries = dict::parse_data(text);
        assert!(!entries.is_empty(), "{file}");
        let mut seen: HashMap<String, String> = HashMap::new();
        for e in &entries {
            // A stage's label matches only when listed again among its synonyms.
            let name = (file != "stages").then_some(&e.name);
            for a in name.into_iter().chain(&e.aliases) {
                assert!(a.chars().count() >= 2, "{file}: {a:?} is too short");
                if let Some(other) = seen.insert(a.clone(), e.name.clone()) {
                    panic!("{file}: {a:?} is in both {other} and {}", e.name);
                }
            }
        }
        if file == "stages" {
            for e in &entries {
                assert!(e.name.parse::<Stage>().is_ok(), "{}", e.name);
            }
        }
        if file == "regions" {
            let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
            for e in &entries {
                if let Some(p) = &e.parent {
                    assert!(
                        names.contains(&p.as_str()),
                        "{}: parent {p} unknown",
                        e.name
                    );
                }
            }
            // 34 provincial-level divisions, 333 prefecture-level ones, Wuhan's 13 districts
            // and 4 zones, plus a few sub-prefecture cities and 雄安.
            assert!(entries.len() >= 380, "{}", entries.len());
        }
    }
}

#[test]
fn settings_extend_the_dictionaries() {
    let mut settings = SignalSettings::default();
    settings
        .regions
        .insert("花山生态新城".into(), vec!["花山新城".into()]);
    settings
        .regions
        .insert("东湖高新区".into(), vec!["光谷东".into()]);
    settings
        .industries
        .insert("低空经济".into(), vec!["飞行汽车".into(), "eVTOL".into()]);
    settings
        .industries
        .insert("金融".into(), vec!["!金融支持".into()]);
    let x = Extractor::new(&settings).expect("settings");
    let s = x.extract("花山新城引进eVTOL飞行汽车项目", "光谷东片区加大金融支持");
    assert_eq!(s.regions, vec!["花山生态新城", "东湖高新区"]);
    assert_eq!(s.industries, vec!["低空经济"]);
    assert_eq!(x.region("光谷"), Some("东湖高新区"));
    assert_eq!(x.industry("芯片"), Some("集成电路"));
    assert!(x.regions().any(|r| r == "花山生态新城"));
    // The built-in extractor is unchanged.
    assert!(extract("", "花山新城").regions.is_empty());

    let mut bad = SignalSettings::default();
    bad.regions.insert("某区".into(), vec!["某".into()]);
    let e = Extractor::new(&bad).expect_err("one-character alias");
    assert!(e.to_string().contains("signals.regions: \"某区\""), "{e}");
}

#[test]
fn settings_read_from_toml() {
    let s: SignalSettings = toml::from_str(
        r#"
        regions = { "东湖高新区" = ["光谷东"] }
        industries = { "低空经济" = ["eVTOL"] }
        "#,
    )
    .expect("toml");
    assert_eq!(s.regions["东湖高新区"], vec!["光谷东"]);
    assert!(toml::from_str::<SignalSettings>("region = {}").is_err());
}

#[test]
fn stage_and_currency_names() {
    assert_eq!("签约".parse::<Stage>().expect("label"), Stage::Signing);
    assert_eq!("policy".parse::<Stage>().expect("name"), Stage::Policy);
    assert!("签字".parse::<Stage>().is_err());
    assert_eq!("usd".parse::<Currency>().expect("code"), Usd);
    assert_eq!(
        serde_json::to_string(&Stage::Settling).expect("json"),
        r#""落户""#
    );
}

#[test]
fn the_issue_example() {
    let s = extract(
        "某某新能源科技有限公司3.5亿美元新能源汽车项目签约落户东西湖区",
        "",
    );
    let json = serde_json::to_value(&s).expect("json");
    assert_eq!(
        json,
        serde_json::json!({
            "amounts": [{"text": "3.5亿美元", "amount": 350000000, "currency": "USD"}],
            "stages": ["签约", "落户"],
            "industries": ["新能源汽车"],
            "regions": ["东西湖区"],
            "companies": ["某某新能源科技有限公司"]
        })
    );
}

#[test]
fn any_cut_of_a_text_is_read_without_panic() {
    // Every slice starting and ending anywhere: amounts read backwards from their anchors and
    // names read backwards from their endings must never step outside the text.
    let text = "人民币3亿元,逾1,234.56万美元(约合人民币)、10-20亿元;每平方米2.5万元/月,\
        与某某(武汉)集团有限公司签约落户光谷,二〇二三年两三亿元,元旦,万亿元级,过亿元。";
    let bounds: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain([text.len()])
        .collect();
    for &a in &bounds {
        for &b in bounds.iter().filter(|&&b| b >= a) {
            let s = extract(&text[a..b], &text[a..b]);
            for amount in &s.amounts {
                assert!(amount.amount > 0.0, "{:?}", &text[a..b]);
            }
        }
    }
}
