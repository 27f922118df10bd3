//! Sources of only `name`, `url` and `schedule`, crawled end to end against a real local
//! server: the news list and the next list pages found among a portal's furniture, pages that
//! name themselves nowhere titled by their list link, and unlabelled GBK pages read right.

mod common;

use common::{Site, Workdir, gbk, stdout};
use std::collections::BTreeSet;

const DISTRICTS: [&str; 6] = ["硚口区", "江汉区", "汉阳区", "青山区", "洪山区", "东西湖区"];
const TOPICS: [&str; 4] = [
    "召开优化营商环境工作推进会议",
    "举办招商引资重点项目集中签约活动",
    "开展助企纾困专项行动走访重点企业",
    "发布支持先进制造业高质量发展若干措施",
];

/// The `i`-th headline of the news list (24 distinct ones).
fn headline(i: usize) -> String {
    format!("{}{}", DISTRICTS[i % 6], TOPICS[i / 6 % 4])
}

/// A source with nothing but its name, list page and schedule.
fn bare_source(name: &str, url: &str) -> String {
    format!("[[source]]\nname = \"{name}\"\nurl = \"{url}\"\nschedule = \"0 0 * * *\"\n")
}

/// A list page of a district portal, as TRS-built sites lay it out: a menu, a breadcrumb, side
/// lists of hot (dated, same URL pattern as the news), recommended and related links, the news
/// list itself, a pager and a footer with friend links. `entries` are `(href, anchor)`; `page`
/// counts from 0 of `pages`.
fn portal_list(entries: &[(String, String)], page: usize, pages: usize) -> String {
    let menu: String = [
        "首页",
        "政务公开",
        "政务服务",
        "互动交流",
        "走进江城",
        "专题专栏",
    ]
    .iter()
    .enumerate()
    .map(|(i, w)| format!("<li><a href=\"/c{i}/\">{w}</a></li>"))
    .collect();
    let news: String = entries
        .iter()
        .enumerate()
        .map(|(i, (href, text))| {
            format!(
                "<li><a href=\"{href}\" target=\"_blank\" title=\"{text}\">{text}</a><span class=\"date\">2025-06-{:02}</span></li>\n",
                28 - i
            )
        })
        .collect();
    let hot: String = (0..5)
        .map(|i| {
            format!(
                "<li><a href=\"/xw/rd/202506/t2025061{i}_90{i}.html\">全市经济运行情况第{i}场新闻发布会召开</a><span>06-1{i}</span></li>"
            )
        })
        .collect();
    let recommended: String = (0..4)
        .map(|i| {
            format!("<li><a href=\"/zt/tj{i}.html\">一图读懂优化营商环境条例要点之{i}</a></li>")
        })
        .collect();
    let related: String = [
        "武汉市人民政府门户网站",
        "湖北省人民政府门户网站",
        "中国政府网",
    ]
    .iter()
    .enumerate()
    .map(|(i, w)| format!("<li><a href=\"http://other{i}.gov.test/\">{w}</a></li>"))
    .collect();
    let name = |p: usize| match p {
        0 => "index.html".to_owned(),
        p => format!("index_{p}.html"),
    };
    let numbers: String = (0..pages)
        .map(|p| format!("<a href=\"{}\">{}</a> ", name(p), p + 1))
        .collect();
    let prev = match page {
        0 => "<span>上一页</span>".to_owned(),
        p => format!("<a href=\"{}\">上一页</a>", name(p - 1)),
    };
    let next = match page + 1 < pages {
        true => format!("<a href=\"{}\">下一页</a>", name(page + 1)),
        false => "<span>下一页</span>".to_owned(),
    };
    format!(
        r#"<!DOCTYPE html><html><head><meta charset="utf-8"><title>工作动态_江城区人民政府</title></head><body>
<div class="header"><div class="logo"><a href="/"><img src="/logo.png" alt="江城区人民政府"></a></div><ul class="menu">{menu}</ul></div>
<div class="position">当前位置：<a href="/">首页</a> &gt; <a href="/xw/">新闻中心</a> &gt; <a href="/xw/gzdt/">工作动态</a></div>
<div class="container">
  <div class="left">
    <div class="box"><div class="box-title">热点新闻</div><ul>{hot}</ul></div>
    <div class="box"><h3>推荐阅读</h3><ul>{recommended}</ul></div>
  </div>
  <div class="right">
    <h2>工作动态</h2>
    <ul class="list">
{news}    </ul>
    <div class="page"><a href="index.html">首页</a> {prev} {numbers}{next} <a href="{last}">尾页</a></div>
  </div>
  <div class="box"><h3>相关链接</h3><ul>{related}</ul></div>
</div>
<div class="footer"><a href="/about.html">关于我们</a> | <a href="/sitemap.html">网站地图</a> | <a href="/contact.html">联系我们</a>
<p>主办：江城区人民政府办公室 版权所有</p></div>
</body></html>"#,
        last = name(pages - 1),
    )
}

/// An article page in the same portal: the furniture around a headline, a by-line and the text.
fn portal_article(title: &str, date: &str, paragraphs: &[String]) -> String {
    let body: String = paragraphs.iter().map(|p| format!("<p>{p}</p>")).collect();
    format!(
        r#"<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}_江城区人民政府</title></head><body>
<div class="header"><ul class="menu"><li><a href="/">首页</a></li><li><a href="/c1/">政务公开</a></li><li><a href="/c2/">政务服务</a></li></ul></div>
<div class="position">当前位置：<a href="/">首页</a> &gt; <a href="/xw/gzdt/">工作动态</a></div>
<div class="article"><h1>{title}</h1><div class="info">发布时间：{date} 来源：区政府办</div>
<div class="TRS_Editor">{body}</div>
<div class="share">分享到：微信 微博</div></div>
<div class="box"><h3>相关新闻</h3><ul><li><a href="/xw/old1.html">往期工作动态回顾之一</a><span>2019-03-04</span></li></ul></div>
<div class="footer">版权所有：江城区人民政府 2003-2025</div>
</body></html>"#
    )
}

/// The text of the `i`-th article: short, as many portal items are, and its own.
fn paragraphs(i: usize) -> Vec<String> {
    vec![
        format!(
            "{}。区有关部门负责同志参加会议，会议通报了第{i}批重点工作进展情况。",
            headline(i)
        ),
        format!("会议要求，各单位压实责任、细化举措，确保第{i}批各项任务按期完成。"),
    ]
}

/// Every stored article as (url, title, date), from `export --format jsonl`.
async fn stored(w: &Workdir) -> BTreeSet<(String, String, String)> {
    let out = w.run(&["export", "--format", "jsonl"]).await;
    assert!(out.status.success());
    stdout(&out)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("jsonl");
            let field = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
            (field("url"), field("title"), field("date"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_source_of_name_url_and_schedule_crawls_a_paged_portal_into_exactly_its_articles() {
    let site = Site::start().await;
    const PAGES: usize = 3;
    const PER_PAGE: usize = 8;
    let mut want = BTreeSet::new();
    for page in 0..PAGES {
        let entries: Vec<(String, String)> = (0..PER_PAGE)
            .map(|k| {
                let i = page * PER_PAGE + k;
                (
                    format!("/xw/gzdt/202506/t202506{:02}_{i}.html", 28 - k),
                    headline(i),
                )
            })
            .collect();
        for (k, (href, title)) in entries.iter().enumerate() {
            let date = format!("2025-06-{:02}", 28 - k);
            let i = page * PER_PAGE + k;
            site.page(
                href,
                "text/html; charset=utf-8",
                portal_article(title, &date, &paragraphs(i)),
            );
            want.insert((site.url(href), title.clone(), date));
        }
        let path = match page {
            0 => "/xw/gzdt/index.html".to_owned(),
            p => format!("/xw/gzdt/index_{p}.html"),
        };
        site.page(
            &path,
            "text/html; charset=utf-8",
            portal_list(&entries, page, PAGES),
        );
    }
    // The side lists lead to real pages too: reading them would store them.
    for i in 0..5 {
        site.page(
            &format!("/xw/rd/202506/t2025061{i}_90{i}.html"),
            "text/html; charset=utf-8",
            portal_article(
                &format!("全市经济运行情况第{i}场新闻发布会召开"),
                "2025-06-10",
                &[format!("热点新闻第{i}篇的正文，介绍全市经济运行情况。")],
            ),
        );
    }
    for i in 0..4 {
        site.page(
            &format!("/zt/tj{i}.html"),
            "text/html; charset=utf-8",
            portal_article(
                &format!("一图读懂优化营商环境条例要点之{i}"),
                "2025-05-01",
                &[format!("推荐阅读第{i}篇的正文。")],
            ),
        );
    }
    let list = site.url("/xw/gzdt/index.html");
    let w = Workdir::new(None, "0 8 * * *", &bare_source("jiangcheng", &list));

    let check = w.run(&["check", "jiangcheng", "--limit", "1"]).await;
    let shown = stdout(&check);
    assert!(check.status.success(), "{shown}");
    assert!(
        shown.contains("no links selector: found by their look"),
        "{shown}"
    );
    assert!(
        shown.contains("article links: 8 in `div.right > ul.list > li"),
        "the group chosen: {shown}"
    );
    assert!(
        shown.contains("under \"热点新闻\"") && shown.contains("(a side list)"),
        "the hot list passed over, and why: {shown}"
    );
    assert!(
        shown.contains(&format!(
            "next page: {} (link reading \"下一页\")",
            site.url("/xw/gzdt/index_1.html")
        )),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("title: {}", headline(0))),
        "{shown}"
    );

    let out = w.run(&["crawl"]).await;
    let report = stdout(&out);
    assert!(out.status.success(), "{report}");
    assert!(
        report.contains("jiangcheng: 24 new, 0 duplicate, 0 failed"),
        "{report}"
    );
    assert_eq!(stored(&w).await, want, "exactly the listed articles");
    for page in ["/xw/gzdt/index_1.html", "/xw/gzdt/index_2.html"] {
        assert_eq!(site.hits(page), 1, "{page} read once");
    }

    // A new article on page 1: page 2 brings nothing new, so page 3 is not read again.
    let fresh = (
        "/xw/gzdt/202506/t20250629_99.html".to_owned(),
        "江城区政务服务中心推出一网通办新举措".to_owned(),
    );
    let mut first: Vec<(String, String)> = vec![fresh.clone()];
    first.extend((0..PER_PAGE - 1).map(|k| {
        (
            format!("/xw/gzdt/202506/t202506{:02}_{k}.html", 28 - k),
            headline(k),
        )
    }));
    site.page(
        "/xw/gzdt/index.html",
        "text/html; charset=utf-8",
        portal_list(&first, 0, PAGES),
    );
    site.page(
        &fresh.0,
        "text/html; charset=utf-8",
        portal_article(
            &fresh.1,
            "2025-06-29",
            &["江城区政务服务中心推出一网通办新举措，企业开办一日办结。".to_owned()],
        ),
    );
    let again = w.run(&["crawl"]).await;
    let report = stdout(&again);
    assert!(again.status.success(), "{report}");
    assert!(
        report.contains("jiangcheng: 1 new, 0 duplicate, 0 failed"),
        "{report}"
    );
    assert_eq!(site.hits("/xw/gzdt/index_1.html"), 2);
    assert_eq!(
        site.hits("/xw/gzdt/index_2.html"),
        1,
        "paging stopped at page 2"
    );
    assert_eq!(stored(&w).await.len(), 25);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_that_names_itself_nowhere_is_titled_by_its_list_link() {
    let site = Site::start().await;
    let entries: Vec<(String, String)> = (0..4)
        .map(|i| (format!("/xw/gzdt/202507/t2025070{i}_{i}.html"), headline(i)))
        .collect();
    site.page(
        "/xw/gzdt/index.html",
        "text/html; charset=utf-8",
        portal_list(&entries, 0, 1),
    );
    // No <title>, no heading, no by-line: only the text and the portal around it.
    let untitled = format!(
        r#"<html><head><meta charset="utf-8"></head><body>
<div class="menu"><a href="/">首页</a> <a href="/c1/">政务公开</a></div>
<div class="main"><div class="c"><p>{}</p></div></div>
<div class="footer">版权所有：江城区人民政府</div></body></html>"#,
        paragraphs(1)[1]
    );
    for (i, (href, title)) in entries.iter().enumerate() {
        let page = match i {
            1 => untitled.clone(),
            _ => portal_article(title, "2025-07-01", &paragraphs(i)),
        };
        site.page(href, "text/html; charset=utf-8", page);
    }
    let w = Workdir::new(
        None,
        "0 8 * * *",
        &bare_source("jiangcheng", &site.url("/xw/gzdt/index.html")),
    );
    let out = w.run(&["crawl"]).await;
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("jiangcheng: 4 new"),
        "{}",
        stdout(&out)
    );
    let titles: BTreeSet<(String, String)> = stored(&w)
        .await
        .into_iter()
        .map(|(url, title, _)| (url, title))
        .collect();
    let want: BTreeSet<(String, String)> = entries
        .iter()
        .map(|(href, title)| (site.url(href), title.clone()))
        .collect();
    assert_eq!(titles, want, "the untitled page is named by its list link");

    // `extract` has no list link: the page's first sentence stands in.
    let saved = w.path().join("untitled.html");
    std::fs::write(&saved, &untitled).expect("save");
    let out = w.run(&["extract", &saved.to_string_lossy()]).await;
    assert!(out.status.success());
    let record = stdout(&out);
    assert_eq!(
        record.lines().nth(1),
        Some("会议要求,各单位压实责任、细化举措,确保第1批各项任务按期完成"),
        "{record}"
    );
}

/// `kb` KiB of ASCII script before anything else, as portal templates carry.
fn script_prelude(kb: usize) -> String {
    let mut s = String::from("<!DOCTYPE html><html><head><script type=\"text/javascript\">\n");
    while s.len() < kb * 1024 {
        s.push_str("var menuConfig = { items: [1, 2, 3], theme: 'blue', track: function () { return window.location.href; } };\n");
    }
    s.push_str("</script>");
    s
}

#[tokio::test(flavor = "multi_thread")]
async fn unlabelled_gbk_pages_behind_long_scripts_read_right_through_crawl() {
    let site = Site::start().await;
    let titles = [
        "硚口区深化整治作风优化营商环境",
        "硚口区举办招商引资项目集中签约活动",
        "硚口区开展助企纾困专项行动走访重点企业",
    ];
    let texts = [
        "武汉市硚口区将优化营商环境作为招商引资的关键抓手（见附件），着力清除痛点堵点问题。",
        "硚口区举行招商引资项目集中签约活动，共签约项目12个，总投资超过80亿元。",
        "硚口区组织各部门走访重点企业，现场协调解决融资、用工、用地等问题。",
    ];
    let entries: Vec<(String, String)> = titles
        .iter()
        .enumerate()
        .map(|(i, t)| (format!("/gbk/t2025070{i}_{i}.html"), t.to_string()))
        .collect();
    // The list page, too, is GBK with no label: its anchors must read right as well.
    let list = portal_list(&entries, 0, 1).replace("<meta charset=\"utf-8\">", "");
    site.page(
        "/gbk/index.html",
        "text/html",
        gbk(&format!(
            "{}{}",
            script_prelude(64),
            list.replacen("<!DOCTYPE html><html><head>", "", 1)
        )),
    );
    for (i, (href, title)) in entries.iter().enumerate() {
        let page = portal_article(title, "2025年07月02日", &[texts[i].to_owned()])
            .replace("<meta charset=\"utf-8\">", "")
            .replacen("<!DOCTYPE html><html><head>", "", 1);
        // No charset in the header, no <meta>, no BOM; 100 KiB of script before the first
        // Chinese byte.
        site.page(
            href,
            "text/html",
            gbk(&format!("{}{page}", script_prelude(100))),
        );
    }
    let w = Workdir::new(
        None,
        "0 8 * * *",
        &bare_source("gbk", &site.url("/gbk/index.html")),
    );
    let out = w.run(&["crawl"]).await;
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("gbk: 3 new, 0 duplicate, 0 failed"),
        "{}",
        stdout(&out)
    );
    let export = stdout(&w.run(&["export"]).await);
    assert!(export.contains(
        "-\n硚口区深化整治作风优化营商环境\n武汉市硚口区将优化营商环境作为招商引资的关键抓手(见附件),着力清除痛点堵点问题。\n2025-07-02\n"
    ), "{export}");
    for (title, text) in titles.iter().zip(texts).skip(1) {
        let text = text.replace('，', ",");
        assert!(export.contains(&format!("-\n{title}\n{text}")), "{export}");
    }
    assert!(!export.contains('\u{FFFD}'), "{export}");
}
