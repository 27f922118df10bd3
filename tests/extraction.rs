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

/// Runs `newswatch args…` in `dir` with no `--config` and no `NEWSWATCH_CONFIG`.
async fn run_in(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_newswatch"))
        .current_dir(dir)
        .env_remove("NEWSWATCH_CONFIG")
        .args(args)
        .kill_on_drop(true)
        .output()
        .await
        .expect("run newswatch")
}

#[tokio::test(flavor = "multi_thread")]
async fn extract_needs_no_config_file_and_names_each_cause_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("page.html"),
        gbk(&pages::article(
            "gb2312",
            "硚口区深化整治作风优化营商环境",
            "2025年07月02日",
            &["武汉市硚口区将优化营商环境作为招商引资的关键抓手。"],
        )),
    )
    .expect("save");
    assert!(!dir.path().join("sources.toml").exists());
    let out = run_in(dir.path(), &["extract", "page.html"]).await;
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    assert_eq!(
        stdout(&out),
        "-\n硚口区深化整治作风优化营商环境\n武汉市硚口区将优化营商环境作为招商引资的关键抓手。\n2025-07-02\n"
    );
    assert!(
        !dir.path().join("state").exists(),
        "nothing created: {:?}",
        std::fs::read_dir(dir.path()).map(|d| d.count())
    );

    // Errors name the file and give the cause once.
    let missing = run_in(dir.path(), &["extract", "gone.html"]).await;
    let err = String::from_utf8_lossy(&missing.stderr).into_owned();
    assert_eq!(missing.status.code(), Some(2), "{err}");
    assert!(err.contains("gone.html"), "{err}");
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
    // A source can only come from a config file: asking for one without it says which file.
    let sourced = run_in(dir.path(), &["extract", "page.html", "--source", "x"]).await;
    let err = String::from_utf8_lossy(&sourced.stderr).into_owned();
    assert_eq!(sourced.status.code(), Some(2), "{err}");
    assert!(err.contains("sources.toml"), "{err}");
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
}

/// A page that opens with `kb` KiB of ASCII script and style before any Chinese byte, as portal
/// templates do, and declares no charset anywhere.
fn script_heavy(kb: usize, body: &str) -> String {
    let mut head =
        String::from("<!DOCTYPE html><html><head><style>.nav li { float: left; }</style><script>");
    while head.len() < kb * 1024 {
        head.push_str(
            "var config = { menu: [1, 2, 3], theme: 'blue', stat: function () { return 0; } };\n",
        );
    }
    head.push_str("</script></head><body>");
    format!("{head}{body}</body></html>")
}

const REPORT_PARAS: [&str; 3] = [
    "武汉市发展和改革委员会于2022年1月11日在市民之家召开全市优化营商环境工作会议，总结上一年度工作，部署本年度重点任务，各区和市直部门负责同志参加会议。",
    "会议指出，要聚焦市场主体关切，持续深化“放管服”改革，推动政务服务事项全程网办，企业开办时间压缩至一个工作日以内，让企业办事更便捷。",
    "会议要求，各部门要对标先进城市，细化责任清单，建立常态化政企沟通机制，确保各项改革举措落地见效，以一流营商环境服务高质量发展。",
];

/// A report page: a headline in a `div`, the by-line under it, a long first sentence naming an
/// earlier day, and portal furniture around. No `<title>`, no `<h1>`.
fn report_page(headline: &str) -> String {
    let paras: String = REPORT_PARAS.iter().map(|p| format!("<p>{p}</p>")).collect();
    format!(
        r#"<div class="nav"><a href="/">首页</a> <a href="/zw/">政务公开</a> <a href="/fw/">政务服务</a></div>
        <div class="pos">当前位置：<a href="/">首页</a> &gt; 工作动态</div>
        <div class="bt">{headline}</div>
        <div class="xx">2025年07月02日 来源：市发改委</div>
        <div class="zw">{paras}</div>
        <div class="xg"><h3>相关新闻</h3><ul><li><a href="/1.html">武汉召开营商环境大会</a> 2021-12-30</li>
        <li><a href="/2.html">市发改委部署年度工作</a> 2021-12-28</li></ul></div>
        <div class="foot">版权所有 武汉市人民政府 2003-2025</div>"#
    )
}

/// The record lines (`-`, title, body, date) `newswatch extract URL` prints for `path`.
async fn extract_record(w: &Workdir, site: &Site, path: &str) -> Vec<String> {
    let out = w.run(&["extract", &site.url(path)]).await;
    assert!(
        out.status.success(),
        "{path}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout(&out).lines().map(str::to_owned).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_without_title_or_h1_still_give_a_record() {
    let site = Site::start().await;
    // A headline in a plain `div` above the by-line.
    site.page(
        "/no-title.html",
        "text/html; charset=utf-8",
        report_page("市发改委召开全市优化营商环境工作会议"),
    );
    // Nothing but the text: the first sentence becomes the title.
    let bare: String = REPORT_PARAS.iter().map(|p| format!("<p>{p}</p>")).collect();
    site.page("/bare.html", "text/html; charset=utf-8", bare);
    let w = Workdir::new(None, "0 8 * * *", "");
    let record = extract_record(&w, &site, "/no-title.html").await;
    assert_eq!(record[1], "市发改委召开全市优化营商环境工作会议");
    assert!(
        record[2].starts_with("武汉市发展和改革委员会于2022年1月11日"),
        "{record:?}"
    );
    let record = extract_record(&w, &site, "/bare.html").await;
    assert_eq!(
        record[1],
        "武汉市发展和改革委员会于2022年1月11日在市民之家召开全市优化营商环境工作会议"
    );
    assert!(record[2].ends_with("服务高质量发展。"), "{record:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn unlabelled_gbk_and_big5_and_mislabelled_utf8_read_right() {
    let site = Site::start().await;
    let page = report_page("市发改委召开全市优化营商环境工作会议");
    // GBK and Big5 with no charset in the header, no <meta>, no BOM, 100 KiB of script first.
    site.page("/gbk.html", "text/html", gbk(&script_heavy(100, &page)));
    let hant = "<div class=\"bt\">市發改委召開全市優化營商環境工作會議</div><div class=\"xx\">2025年07月02日 來源：市發改委</div><div class=\"zw\"><p>會議指出，要聚焦市場主體關切，持續深化改革，推動政務服務事項全程網辦，企業開辦時間壓縮至一個工作日以內。</p><p>會議要求，各部門要細化責任清單，確保各項改革舉措落地見效，以一流營商環境服務高質量發展。</p></div>";
    let hant_page = script_heavy(100, hant);
    let (big5, _, unmappable) = encoding_rs::BIG5.encode(&hant_page);
    assert!(!unmappable);
    site.page("/big5.html", "text/html", big5.into_owned());
    // UTF-8 bytes labelled gb2312 in the header and in the page.
    let labelled = page.replacen(
        "<div class=\"nav\">",
        "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=gb2312\"><div class=\"nav\">",
        1,
    );
    site.page(
        "/utf8-as-gb2312.html",
        "text/html; charset=gb2312",
        labelled,
    );
    let w = Workdir::new(None, "0 8 * * *", "");
    for path in ["/gbk.html", "/utf8-as-gb2312.html"] {
        let record = extract_record(&w, &site, path).await;
        assert_eq!(record[1], "市发改委召开全市优化营商环境工作会议", "{path}");
        assert!(
            record[2].contains("持续深化“放管服”改革"),
            "{path}: {record:?}"
        );
    }
    let record = extract_record(&w, &site, "/big5.html").await;
    assert_eq!(record[1], "市發改委召開全市優化營商環境工作會議");
    assert!(record[2].contains("營商環境服務高質量發展"), "{record:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_by_line_date_beats_a_date_in_the_text() {
    let site = Site::start().await;
    // A long GBK report: the first sentence names 2022-01-11, the by-line under the headline
    // says 2025-07-02; the related list and the copyright line hold other dates.
    let mut page = report_page("市发改委召开全市优化营商环境工作会议");
    let more: String = (0..40)
        .map(|i| format!("<p>第{i}项：{}</p>", REPORT_PARAS[1]))
        .collect();
    page = page.replacen(
        "</div>\n        <div class=\"xg\">",
        &format!("{more}</div>\n        <div class=\"xg\">"),
        1,
    );
    assert!(page.contains("第39项"));
    site.page("/report.html", "text/html", gbk(&page));
    let w = Workdir::new(None, "0 8 * * *", "");
    let record = extract_record(&w, &site, "/report.html").await;
    assert_eq!(record[3], "2025-07-02", "{record:?}");
    assert!(record[2].contains("2022年1月11日"));
}
