//! Investment signals end to end, with the real store and a real SMTP server: the seed archive
//! backfilled, its signals exported, a Chinese digest with its summary block and chips mailed,
//! digests filtered on signals, and `report` over a period.

mod common;

use common::{Smtp, Workdir, stderr, stdout};
use serde_json::Value;
use std::collections::BTreeMap;

/// `[settings]` and one `[[digest]]` per `(name, extra keys)`, all to `smtp_port`.
fn config(smtp_port: u16, digests: &[(&str, &str)]) -> String {
    let mut c = String::from("[settings]\nstate_dir = \"state\"\ntimezone = \"Asia/Shanghai\"\n");
    for (name, extra) in digests {
        c.push_str(&format!(
            "\n[[digest]]\nname = \"{name}\"\nschedule = \"0 8 * * *\"\nfrom = \"newswatch <nw@example.org>\"\nto = [\"analyst@example.org\"]\nsmtp = \"smtp://127.0.0.1:{smtp_port}\"\n{extra}\n"
        ));
    }
    c
}

/// Every stored article as `export --format jsonl` writes it.
async fn exported(w: &Workdir) -> Vec<Value> {
    let out = w.run(&["export", "--format", "jsonl"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// Each article's largest amount per currency, summed over `articles`, in units.
fn totals(articles: &[&Value]) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for a in articles {
        let mut largest: BTreeMap<String, i64> = BTreeMap::new();
        for m in a["signals"]["amounts"].as_array().expect("amounts") {
            let c = m["currency"].as_str().expect("currency").to_owned();
            let v = m["amount"].as_i64().expect("a whole amount");
            let e = largest.entry(c).or_insert(v);
            *e = (*e).max(v);
        }
        for (c, v) in largest {
            *out.entry(c).or_default() += v;
        }
    }
    out
}

fn has(a: &Value, kind: &str, value: &str) -> bool {
    a["signals"][kind]
        .as_array()
        .is_some_and(|v| v.iter().any(|x| x == value))
}

#[tokio::test(flavor = "multi_thread")]
async fn seed_archive_digests_in_chinese_with_summary_chips_and_signal_filters() {
    let Some(seed) = common::seed_archive() else {
        return;
    };
    let seed = seed.to_string_lossy().into_owned();
    let mut smtp = Smtp::start().await;
    let w = Workdir::raw(&config(
        smtp.port,
        &[
            ("all", ""),
            ("big", "min_amount = \"1000亿元\""),
            (
                "signing",
                "stages = [\"签约\"]\nregions = [\"光谷\"]\nkeywords = [\"研发\"]",
            ),
            ("en", "language = \"en\"\nregions = [\"东西湖区\"]"),
        ],
    ));
    let out = w.run(&["backfill", "--notify", &seed]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("10 imported"), "{}", stdout(&out));

    // The signals object, exactly as the issue shows it, on every exported article.
    let articles = exported(&w).await;
    assert_eq!(articles.len(), 10);
    for a in &articles {
        let s = &a["signals"];
        let keys: Vec<&str> = s
            .as_object()
            .expect("object")
            .keys()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(
            keys,
            ["amounts", "companies", "industries", "regions", "stages"],
            "{s}"
        );
    }
    let policy = articles
        .iter()
        .find(|a| {
            a["title"]
                .as_str()
                .is_some_and(|t| t.contains("创投机构落户奖励"))
        })
        .expect("the venture-capital policy article");
    assert!(
        policy["signals"]["amounts"]
            .as_array()
            .expect("amounts")
            .iter()
            .any(|m| m["text"] == "2亿元" && m["amount"] == 200_000_000 && m["currency"] == "CNY"),
        "{policy}"
    );
    assert!(has(policy, "stages", "政策") && has(policy, "regions", "东湖高新区"));

    let sent = w.run(&["digest"]).await;
    assert!(sent.status.success(), "{}", stderr(&sent));
    let mut mails = BTreeMap::new();
    while let Some(m) = smtp.next_mail(10).await {
        let subject = m["subject"].as_str().unwrap_or_default().to_owned();
        mails.insert(subject, m);
        if mails.len() == 4 {
            break;
        }
    }
    let mail = |prefix: &str| {
        mails
            .iter()
            .find(|(s, _)| s.starts_with(prefix))
            .map(|(_, m)| m.clone())
            .unwrap_or_else(|| panic!("no mail {prefix}…: {:?}", mails.keys()))
    };

    // The whole archive: Chinese subject, summary first, chips on each item.
    let all = mail("招商动态（all） · ");
    let subject = all["subject"].as_str().unwrap_or_default();
    let cny = totals(&articles.iter().collect::<Vec<_>>())["CNY"];
    assert!(
        cny > 1_000_000_000_000,
        "the work report's 1.35万亿元: {cny}"
    );
    let signed = articles.iter().filter(|a| has(a, "stages", "签约")).count();
    assert!(signed >= 1);
    assert!(
        subject.contains(" · 新增10条")
            && subject.contains(&format!(" · 签约{signed}项"))
            && subject.contains(" · 合计1.35万亿元"),
        "{subject}"
    );
    let text = all["text"].as_str().unwrap_or_default();
    let html = all["html"].as_str().unwrap_or_default();
    // Districts, not the city every article names, head the regions.
    let zone = articles
        .iter()
        .filter(|a| has(a, "regions", "东湖高新区"))
        .count();
    assert!(!text.contains("武汉市 10"), "{text}");
    for (body, count) in [(text, "{} {}"), (html, "{} <b>{}</b>")] {
        let summary = body.find("本期概览").expect("summary block");
        let new = body.find("新增 (10)").expect("the 新增 section");
        assert!(summary < new, "the summary comes first");
        let count = |name: &str, n: usize| {
            count
                .replacen("{}", name, 1)
                .replacen("{}", &n.to_string(), 1)
        };
        for said in [
            "金额合计",
            "1.35万亿元",
            "2万美元",
            "阶段",
            &count("签约", signed),
            "地区",
            &count("东湖高新区", zone),
            "产业",
            "2025年7月2日",
        ] {
            assert!(body.contains(said), "{said} missing: {body}");
        }
        assert!(!body.contains("New ("), "{body}");
    }
    assert!(
        text.contains("【2亿元】【落户】【政策】【东湖高新区】【金融】"),
        "the policy article's chips: {text}"
    );
    assert!(
        html.contains("background:#fde8e8;color:#b91c1c;font-weight:bold;\">2亿元</span>")
            && html.contains("background:#e0ecff;color:#1d4ed8;\">政策</span>"),
        "chips in the HTML part: {html}"
    );

    // min_amount: only articles stating at least 1000亿元.
    let big = mail("招商动态（big） · ");
    let expected = articles
        .iter()
        .filter(|a| {
            totals(&[a])
                .get("CNY")
                .is_some_and(|v| *v >= 100_000_000_000)
        })
        .count();
    assert_eq!(expected, 1);
    let big_text = big["text"].as_str().unwrap_or_default();
    assert!(
        big["subject"]
            .as_str()
            .unwrap_or_default()
            .contains(" · 新增1条")
            && big_text.contains("2022年武汉市政府工作报告")
            && !big_text.contains("中兴通讯"),
        "{big}"
    );

    // stages, regions (光谷 is 东湖高新区) and keywords together.
    let signing = mail("招商动态（signing） · ");
    let want: Vec<&str> = articles
        .iter()
        .filter(|a| {
            has(a, "stages", "签约")
                && has(a, "regions", "东湖高新区")
                && (a["title"].as_str().unwrap_or_default().contains("研发")
                    || a["body"].as_str().unwrap_or_default().contains("研发"))
        })
        .map(|a| a["title"].as_str().unwrap_or_default())
        .collect();
    assert!(
        want.iter().any(|t| t.contains("中兴通讯")),
        "the ZTE article: {want:?}"
    );
    // Keyword matches are highlighted (`**研发**`) in the text part.
    let signing_text = signing["text"]
        .as_str()
        .unwrap_or_default()
        .replace("**", "");
    assert!(
        signing["subject"]
            .as_str()
            .unwrap_or_default()
            .contains(&format!(" · 新增{}条", want.len())),
        "{signing}"
    );
    for a in &articles {
        let title = a["title"].as_str().unwrap_or_default();
        assert_eq!(
            signing_text.contains(title),
            want.contains(&title),
            "{title} in the signing digest"
        );
    }

    // language = "en": the same digest in English, filtered on a district.
    let en = mail("newswatch (en): ");
    let n = articles
        .iter()
        .filter(|a| has(a, "regions", "东西湖区"))
        .count();
    assert!(n >= 3);
    assert_eq!(
        en["subject"],
        format!("newswatch (en): {n} new articles"),
        "{en}"
    );
    let en_text = en["text"].as_str().unwrap_or_default();
    assert!(
        en_text.contains(&format!("New ({n})"))
            && en_text.contains("Summary")
            && en_text.contains("Total amounts")
            && en_text.contains("2025-07-02")
            && !en_text.contains("新增 ("),
        "{en_text}"
    );
    assert!(smtp.next_mail(1).await.is_none(), "one mail per digest");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_min_amount_is_a_config_error_at_its_line() {
    let w = Workdir::raw(&config(
        2525,
        &[("big", "stages = [\"签约\"]\nmin_amount = \"很多钱\"")],
    ));
    let out = w.run(&["validate"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let config = w.config().display().to_string();
    assert!(
        stderr(&out).contains(&format!(
            "{config}:12: digest \"big\": min_amount: \"很多钱\" is not an amount"
        )),
        "{}",
        stderr(&out)
    );
    let unknown = Workdir::raw(&config_with_region(2525));
    let out = unknown.run(&["digest"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("regions: unknown region \"火星区\""),
        "{}",
        stderr(&out)
    );
}

fn config_with_region(port: u16) -> String {
    config(port, &[("d", "regions = [\"火星区\"]")])
}

/// An archive whose amounts are known exactly: two dated in July, one in August.
const ARCHIVE: &str = "-\n光谷签约三个项目\n7月1日,3个项目在光谷集中签约,总投资120亿元,其中一期40亿元。\n2025-07-01\n-\n车谷新能源汽车项目开工\n总投资2.5亿美元的新能源汽车零部件项目在车谷开工,另有配套项目投资8亿元。\n2025-07-15\n-\n硚口优化营商环境\n硚口区出台优化营商环境若干措施。\n2025-07-20\n-\n八月的签约\n总投资66亿元的项目在光谷签约。\n2025-08-02\n";

#[tokio::test(flavor = "multi_thread")]
async fn report_prints_the_period_table_with_right_totals() {
    let w = Workdir::raw("[settings]\nstate_dir = \"state\"\n");
    let out = w
        .run_with_stdin(&["backfill", "-"], Some(ARCHIVE.as_bytes()))
        .await;
    assert!(out.status.success(), "{}", stderr(&out));

    let july = ["report", "--since", "2025-07-01", "--until", "2025-07-31"];
    let out = w.run(&july).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let md = stdout(&out);
    assert!(
        md.starts_with("## 招商引资统计 · 2025年7月1日 至 2025年7月31日 · 按地区\n"),
        "{md}"
    );
    assert!(
        md.contains("| 地区 | 文章 | 项目 | 金额（CNY） | 金额（USD） |"),
        "{md}"
    );
    // 120 (not 120 + its part 40) + 8; the August article is outside the period.
    assert!(md.contains("| 东湖高新区 | 1 | 1 | 120亿元 | – |"), "{md}");
    assert!(
        md.contains("| 武汉经开区 | 1 | 1 | 8亿元 | 2.5亿美元 |"),
        "{md}"
    );
    assert!(md.contains("| 硚口区 | 1 | 0 | – | – |"), "{md}");
    assert!(
        md.contains("| **合计** | **3** | **2** | **128亿元** | **2.5亿美元** |"),
        "{md}"
    );

    let mut by_stage = july.to_vec();
    by_stage.extend(["--by", "stage", "--format", "csv"]);
    let csv = stdout(&w.run(&by_stage).await);
    assert_eq!(
        csv,
        "stage,articles,projects,amount_cny,amount_usd\n签约,1,1,12000000000,\n开工,1,1,800000000,250000000\n政策,1,0,,\n合计,3,2,12800000000,250000000\n",
        "{csv}"
    );
    let all = stdout(
        &w.run(&["report", "--by", "source", "--format", "csv"])
            .await,
    );
    assert!(
        all.contains("\narchive,4,3,19400000000,250000000\n"),
        "no period: everything: {all}"
    );
    let empty = w
        .run(&["report", "--since", "2025-08-01", "--until", "2025-07-01"])
        .await;
    assert_eq!(empty.status.code(), Some(2), "{}", stderr(&empty));
}

#[tokio::test(flavor = "multi_thread")]
async fn report_over_the_seed_archive_adds_up_what_export_says() {
    let Some(seed) = common::seed_archive() else {
        return;
    };
    let w = Workdir::raw("[settings]\nstate_dir = \"state\"\n");
    let out = w.run(&["backfill", &seed.to_string_lossy()]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let articles = exported(&w).await;
    let want = totals(&articles.iter().collect::<Vec<_>>());
    let projects = articles
        .iter()
        .filter(|a| {
            ["签约", "落户", "开工", "投产", "竣工"]
                .iter()
                .any(|s| has(a, "stages", s))
                || !a["signals"]["amounts"]
                    .as_array()
                    .is_some_and(Vec::is_empty)
        })
        .count();
    let csv = stdout(
        &w.run(&[
            "report",
            "--since",
            "2025-07-01",
            "--until",
            "2025-07-31",
            "--format",
            "csv",
        ])
        .await,
    );
    let last = csv.lines().last().unwrap_or_default().to_owned();
    let amounts: Vec<String> = want.values().map(ToString::to_string).collect();
    assert_eq!(
        last,
        format!("合计,{},{projects},{}", articles.len(), amounts.join(",")),
        "{csv}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn extract_prints_the_signals_of_a_saved_page() {
    let w = Workdir::raw("[settings]\nstate_dir = \"state\"\n");
    let page = w.path().join("page.html");
    std::fs::write(
        &page,
        "<html><head><meta charset=\"utf-8\"><title>东西湖区签约新能源汽车项目</title></head><body><h1>东西湖区签约新能源汽车项目</h1>\
         <div class=\"content\"><p>2025年7月2日,某某新能源科技有限公司与东西湖区签约,总投资3.5亿美元,项目将落户临空港。</p></div></body></html>",
    )
    .expect("page");
    let out = w.run(&["extract", &page.to_string_lossy()]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("-\n东西湖区签约新能源汽车项目\n"));
    let said = stderr(&out);
    assert!(
        said.contains("amounts: 3.5亿美元 = 350000000 USD")
            && said.contains("stages: 签约 落户")
            && said.contains("regions: 东西湖区")
            && said.contains("companies: 某某新能源科技有限公司"),
        "{said}"
    );
    let out = w
        .run(&["extract", &page.to_string_lossy(), "--format", "jsonl"])
        .await;
    let record: Value = serde_json::from_str(stdout(&out).trim()).expect("one JSON line");
    assert_eq!(
        record["signals"]["amounts"][0],
        serde_json::json!({"text": "3.5亿美元", "amount": 350000000, "currency": "USD"})
    );
    assert_eq!(record["signals"]["industries"][0], "新能源汽车");
}
