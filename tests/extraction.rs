//! Automatic extraction end to end: a source without article selectors yields the same records
//! as one with them, and `newswatch extract` reads saved pages and URLs.

mod common;

use common::{Site, Workdir, gbk, pages, stdout};

fn site_pages(site: &Site) {
    site.page(
        "/u/index.html",
        "text/html",
        pages::list("utf-8", &[("/u/1.html", "x"), ("/u/2.html", "y")], None),
    );
    site.page(
        "/u/1.html",
        "text/html",
        pages::article(
            "utf-8",
            "武汉东湖高新区签约十个招商引资项目",
            "2025-07-01 09:30",
            &[
                "7月1日，武汉东湖高新区举行招商引资项目集中签约活动，共签约项目10个，总投资超过100亿元，涵盖光电子信息、生物医药、高端装备等领域。",
                "据介绍，此次签约项目中，<a href=\"/x\">光电子信息</a>产业项目4个，生物医药项目3个，高端装备项目3个，将进一步完善光谷产业链条。",
                "下一步，东湖高新区将持续优化营商环境，强化要素保障，推动签约项目早开工、早投产、早见效。",
            ],
        ),
    );
    site.page(
        "/u/2.html",
        "text/html",
        gbk(&pages::article(
            "gb2312",
            "硚口区深化整治作风优化营商环境",
            "2025年07月02日",
            &[
                "武汉市硚口区将优化营商环境作为招商引资的关键抓手，以砥砺作风开局和严明纪律起步，着力清除痛点堵点问题。",
                "通过专项整治顽疾，提升服务质量，为吸引投资和区域复兴夯实基础，展现区域发展的坚定决心。",
            ],
        )),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn source_without_article_selectors_yields_the_same_records() {
    let site = Site::start().await;
    site_pages(&site);
    let with = pages::source("with", &site.url("/u/index.html"), "");
    let without = pages::source("without", &site.url("/u/index.html"), "")
        .replace("title = \"h1.title\"\n", "")
        .replace("body = \"div.article-content\"\n", "")
        .replace("date = \"span.pubdate\"\n", "");
    assert!(!without.contains("title =") && !without.contains("body ="));
    let a = Workdir::new(None, "0 8 * * *", &with);
    let b = Workdir::new(None, "0 8 * * *", &without);
    assert!(stdout(&a.run(&["crawl"]).await).contains("with: 2 new"));
    assert!(stdout(&b.run(&["crawl"]).await).contains("without: 2 new"));
    let export_a = stdout(&a.run(&["export"]).await);
    let export_b = stdout(&b.run(&["export"]).await);
    assert_eq!(
        export_a, export_b,
        "automatic extraction gives the same records, so the same hashes"
    );
    assert!(export_b.contains("2025-07-01") && export_b.contains("2025-07-02"));
    assert!(
        !export_b.contains("相关新闻") && !export_b.contains("版权所有"),
        "{export_b}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn extract_command_reads_saved_pages_and_urls() {
    let site = Site::start().await;
    site_pages(&site);
    let w = Workdir::new(None, "0 8 * * *", "");
    let saved = w.path().join("page.html");
    let body = gbk(&pages::article(
        "gb2312",
        "硚口区深化整治作风优化营商环境",
        "2025年07月02日",
        &["武汉市硚口区将优化营商环境作为招商引资的关键抓手（见附件）。"],
    ));
    std::fs::write(&saved, body).expect("save");
    let out = w.run(&["extract", &saved.to_string_lossy()]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout(&out),
        "-\n硚口区深化整治作风优化营商环境\n武汉市硚口区将优化营商环境作为招商引资的关键抓手(见附件)。\n2025-07-02\n"
    );
    let out = w.run(&["extract", &site.url("/u/1.html")]).await;
    let s = stdout(&out);
    assert!(s.starts_with("-\n武汉东湖高新区签约十个招商引资项目\n7月1日,武汉东湖高新区举行招商引资项目集中签约活动"), "{s}");
    assert!(
        s.contains("光电子信息产业项目4个"),
        "inline link kept in its sentence: {s}"
    );
    assert!(s.ends_with("\n2025-07-01\n"), "{s}");
    let missing = w.run(&["extract", "/nonexistent/page.html"]).await;
    assert_eq!(missing.status.code(), Some(2));
}
