//! Fetching the real web politely and reliably: robots.txt, limits, retries, conditional GET,
//! size limits, charsets, feeds, canonical links, and the `check` and `status` tools.

mod common;

use common::{Route, Site, Workdir, gbk, pages, stderr, stdout};
use std::time::{Duration, Instant};

fn article(title: &str, date: &str, text: &str) -> String {
    pages::article("utf-8", title, date, &[text])
}

/// A list at `/l/index.html` linking `/l/a{i}.html` for each title.
fn list_site(site: &Site, titles: &[&str]) {
    let links: Vec<(String, String)> = (0..titles.len())
        .map(|i| (format!("/l/a{i}.html"), format!("第{i}条")))
        .collect();
    site.page(
        "/l/index.html",
        "text/html; charset=utf-8",
        pages::list("utf-8", &links, None),
    );
    for (i, t) in titles.iter().enumerate() {
        site.page(
            &format!("/l/a{i}.html"),
            "text/html; charset=utf-8",
            article(t, "2025-07-02", &format!("{t}的正文。")),
        );
    }
}

fn html_source(name: &str, site: &Site, extra: &str) -> String {
    pages::source(name, &site.url("/l/index.html"), extra)
}

#[tokio::test(flavor = "multi_thread")]
async fn recrawl_of_unchanged_site_gets_304_and_downloads_no_page() {
    let site = Site::start().await;
    list_site(&site, &["甲", "乙"]);
    let list = pages::list("utf-8", &[("/l/a0.html", "甲"), ("/l/a1.html", "乙")], None);
    site.route(
        "/l/index.html",
        200,
        &[("content-type", "text/html"), ("etag", "\"v1\"")],
        list,
    );
    for (i, t) in ["甲", "乙"].iter().enumerate() {
        let etag = format!("\"a{i}\"");
        let body = article(t, "2025-07-02", &format!("{t}的正文。"));
        site.route(
            &format!("/l/a{i}.html"),
            200,
            &[("content-type", "text/html"), ("etag", &etag)],
            body,
        );
    }
    let w = Workdir::new(
        None,
        "0 8 * * *",
        &html_source("s", &site, "recheck_days = 7"),
    );
    let first = w.run(&["crawl"]).await;
    assert!(stdout(&first).contains("s: 2 new"), "{}", stdout(&first));

    let again = w.run(&["crawl"]).await;
    assert!(again.status.success());
    assert!(
        stdout(&again).contains("unchanged since last crawl (HTTP 304)"),
        "{}",
        stdout(&again)
    );
    assert!(
        stdout(&again).contains("2 rechecked"),
        "recent articles re-checked: {}",
        stdout(&again)
    );
    let list_hits: Vec<_> = site
        .requests()
        .into_iter()
        .filter(|h| h.path == "/l/index.html")
        .collect();
    assert_eq!(list_hits.len(), 2);
    assert_eq!(
        list_hits[1].header("if-none-match"),
        Some("\"v1\""),
        "validator survived the restart"
    );
    let article_hits: Vec<_> = site
        .requests()
        .into_iter()
        .filter(|h| h.path == "/l/a0.html")
        .collect();
    assert_eq!(article_hits.len(), 2, "fetched once, then re-checked once");
    assert_eq!(
        article_hits[1].header("if-none-match"),
        Some("\"a0\""),
        "the re-check is conditional, so the unchanged page is answered 304 without a body"
    );

    // Last-Modified works the same way.
    let lm = "Wed, 02 Jul 2025 01:00:00 GMT";
    site.route(
        "/l/index.html",
        200,
        &[("content-type", "text/html"), ("last-modified", lm)],
        "<ul class=news-list><li><a href=/l/a0.html>x</a></ul>",
    );
    w.run(&["crawl"]).await;
    let third = w.run(&["crawl"]).await;
    assert!(stdout(&third).contains("(HTTP 304)"), "{}", stdout(&third));
}

#[tokio::test(flavor = "multi_thread")]
async fn robots_txt_disallow_is_obeyed_and_reported_as_blocked() {
    let site = Site::start().await;
    list_site(&site, &["公开", "内部"]);
    site.page(
        "/robots.txt",
        "text/plain",
        "User-agent: *\nDisallow: /l/a1.html\n",
    );
    let w = Workdir::new(None, "0 8 * * *", &html_source("s", &site, ""));
    let out = w.run(&["crawl"]).await;
    assert!(
        out.status.success(),
        "a robots block is not a failure: {}",
        stdout(&out)
    );
    let s = stdout(&out);
    assert!(
        s.contains("s: 1 new, 0 duplicate, 0 failed, 0 known, 1 blocked by robots.txt"),
        "{s}"
    );
    assert!(
        s.contains("blocked") && s.contains("/l/a1.html: blocked by robots.txt"),
        "{s}"
    );
    assert_eq!(
        site.hits("/l/a1.html"),
        0,
        "nothing fetched under a disallowed path"
    );
    assert_eq!(
        site.hits("/robots.txt"),
        1,
        "robots.txt fetched once per crawl and cached"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn robots_txt_server_error_fails_the_crawl_and_keeps_off_the_site() {
    let site = Site::start().await;
    list_site(&site, &["甲"]);
    site.route("/robots.txt", 503, &[], "busy");
    let w = Workdir::new(
        None,
        "0 8 * * *",
        &html_source("s", &site, "max_retries = 1"),
    );
    let out = w.run(&["crawl"]).await;
    let s = stdout(&out);
    // A robots.txt the site could not serve is a failure of the crawl, not a policy block.
    assert_eq!(out.status.code(), Some(1), "{s}");
    assert!(s.contains("HTTP 503"), "{s}");
    assert!(
        s.contains("source failed") && s.contains("robots.txt unavailable"),
        "{s}"
    );
    assert!(!s.contains("blocked by robots.txt"), "{s}");
    assert_eq!(
        site.hits("/l/index.html"),
        0,
        "nothing fetched while robots.txt fails"
    );
    assert_eq!(
        site.hits("/robots.txt"),
        2,
        "robots.txt retried like a page"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn retries_429_with_retry_after_and_5xx_then_succeeds() {
    let site = Site::start().await;
    list_site(&site, &["限流", "故障"]);
    let ok0 = Route::new(
        200,
        &[("content-type", "text/html")],
        article("限流", "2025-07-02", "限流后的正文。"),
    );
    site.sequence(
        "/l/a0.html",
        vec![Route::new(429, &[("retry-after", "1")], "slow down"), ok0],
    );
    let ok1 = Route::new(
        200,
        &[("content-type", "text/html")],
        article("故障", "2025-07-02", "故障后的正文。"),
    );
    site.sequence(
        "/l/a1.html",
        vec![Route::new(503, &[], ""), Route::new(500, &[], ""), ok1],
    );
    let w = Workdir::new(None, "0 8 * * *", &html_source("s", &site, ""));
    let out = w.run(&["crawl"]).await;
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).contains("s: 2 new"), "{}", stdout(&out));
    let hits: Vec<_> = site
        .requests()
        .into_iter()
        .filter(|h| h.path == "/l/a0.html")
        .collect();
    assert_eq!(hits.len(), 2);
    assert!(
        hits[1].at - hits[0].at >= Duration::from_millis(950),
        "Retry-After: 1 honoured"
    );
    assert_eq!(site.hits("/l/a1.html"), 3, "two retries after 503 and 500");
}

#[tokio::test(flavor = "multi_thread")]
async fn client_errors_are_not_retried_and_retries_give_up() {
    let site = Site::start().await;
    list_site(&site, &["没有", "一直坏"]);
    site.route("/l/a0.html", 404, &[], "gone");
    site.route("/l/a1.html", 502, &[], "bad gateway");
    let w = Workdir::new(
        None,
        "0 8 * * *",
        &html_source("s", &site, "max_retries = 1"),
    );
    let out = w.run(&["crawl"]).await;
    assert_eq!(out.status.code(), Some(1));
    let s = stdout(&out);
    assert!(
        s.contains("/l/a0.html: HTTP 404") && s.contains("/l/a1.html: HTTP 502"),
        "{s}"
    );
    assert_eq!(site.hits("/l/a0.html"), 1, "404 is not retried");
    assert_eq!(site.hits("/l/a1.html"), 2, "max_retries = 1");
}

#[tokio::test(flavor = "multi_thread")]
async fn silent_server_times_out_redirect_loop_and_oversize_fail_cleanly() {
    let site = Site::start().await;
    list_site(&site, &["沉默", "循环", "太大", "正常"]);
    site.sequence(
        "/l/a0.html",
        vec![Route::new(200, &[], "late").delayed(Duration::from_secs(60))],
    );
    site.route("/l/a1.html", 302, &[("location", "/l/loop2.html")], "");
    site.route("/l/loop2.html", 302, &[("location", "/l/a1.html")], "");
    site.page(
        "/l/a2.html",
        "text/html",
        article("太大", "2025-07-02", &"很长的正文。".repeat(2000)),
    );
    let extra = "request_timeout_secs = 1\nmax_retries = 0\nmax_body_bytes = 20000";
    let w = Workdir::new(None, "0 8 * * *", &html_source("s", &site, extra));
    let started = Instant::now();
    let out = w.run(&["crawl"]).await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "bounded time: {:?}",
        started.elapsed()
    );
    let s = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{s}");
    assert!(s.contains("s: 1 new"), "the good article is stored: {s}");
    assert!(s.contains("/l/a0.html: timed out after 1s"), "{s}");
    assert!(
        s.contains("/l/a1.html") && s.contains("redirect loop"),
        "{s}"
    );
    assert!(
        s.contains("/l/a2.html: body larger than max_body_bytes (20000 bytes)"),
        "{s}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn gzip_bomb_is_cut_at_the_limit() {
    use std::io::Write as _;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![b' '; 1 << 20];
    for _ in 0..200 {
        gz.write_all(&zeros).expect("gzip");
    }
    let bomb = gz.finish().expect("gzip");
    assert!(
        bomb.len() < 1 << 20,
        "200 MB compresses to {} bytes",
        bomb.len()
    );
    let site = Site::start().await;
    list_site(&site, &["炸弹"]);
    site.route(
        "/l/a0.html",
        200,
        &[("content-type", "text/html"), ("content-encoding", "gzip")],
        bomb,
    );
    let w = Workdir::new(
        None,
        "0 8 * * *",
        &html_source("s", &site, "max_body_bytes = 1048576"),
    );
    let out = w.run(&["crawl"]).await;
    assert!(
        stdout(&out).contains("/l/a0.html: body larger than max_body_bytes (1048576 bytes)"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn undeclared_gbk_page_is_detected_and_encoding_override_wins() {
    let site = Site::start().await;
    let body = "<html><head><title>x</title></head><body><h1 class=\"title\">东湖高新区招商引资签约</h1>\
        <span class=\"pubdate\">2025-07-02</span><div class=\"article-content\"><p>武汉东湖高新区与中兴通讯股份有限公司签署合作协议，研发中心正式落户光谷。</p></div></body></html>";
    site.page(
        "/l/index.html",
        "text/html",
        pages::list("utf-8", &[("/l/a0.html", "x"), ("/l/a1.html", "y")], None),
    );
    site.page("/l/a0.html", "text/html", gbk(body));
    // Wrongly labelled UTF-8 by the server; the source's `encoding` override fixes it.
    site.page(
        "/l/a1.html",
        "text/html; charset=utf-8",
        gbk(&body.replace("签约", "大会")),
    );
    let w = Workdir::new(None, "0 8 * * *", &html_source("s", &site, ""));
    w.run(&["crawl"]).await;
    let export = stdout(&w.run(&["export"]).await);
    assert!(export.contains("东湖高新区招商引资签约\n武汉东湖高新区与中兴通讯股份有限公司签署合作协议,研发中心正式落户光谷。"), "{export}");

    let w2 = Workdir::new(
        None,
        "0 8 * * *",
        &html_source("s", &site, "encoding = \"gb2312\""),
    );
    w2.run(&["crawl"]).await;
    let export = stdout(&w2.run(&["export"]).await);
    assert!(export.contains("东湖高新区招商引资大会"), "{export}");
}

const RSS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>光谷</title><link>http://x/</link>
<item><title>光谷新签约项目</title><link>LINK/f/1.html?utm_source=rss</link><pubDate>Wed, 02 Jul 2025 07:30:00 +0800</pubDate>
<description>摘要而已</description><content:encoded><![CDATA[<p>东湖高新区举行集中签约，<a href="/x">总投资</a>超过100亿元。</p><p>第二段。</p>]]></content:encoded></item>
<item><title>硚口营商环境</title><link>LINK/f/2.html</link><pubDate>Tue, 01 Jul 2025 23:59:00 +0800</pubDate>
<description><![CDATA[硚口区推出惠企措施（第一批）。]]></description></item>
</channel></rss>"#;

const ATOM: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>东西湖</title><id>urn:x</id><updated>2025-07-02T08:00:00+08:00</updated>
<entry><title>临空港开办大礼包</title><id>urn:1</id><link href="LINK/f/3.html"/>
<published>2025-07-02T00:30:00+08:00</published><updated>2025-07-02T08:00:00+08:00</updated>
<content type="html">&lt;p&gt;东西湖区发放“开办大礼包”。&lt;/p&gt;</content></entry></feed>"#;

fn feed_source(name: &str, url: &str, extra: &str) -> String {
    format!(
        "\n[[source]]\nname = \"{name}\"\nkind = \"feed\"\nurl = \"{url}\"\nschedule = \"0 0 * * *\"\n{extra}\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn rss_and_atom_keep_the_publishers_day() {
    let site = Site::start().await;
    site.page(
        "/rss.xml",
        "application/rss+xml",
        RSS.replace("LINK", &site.url("")),
    );
    site.page(
        "/atom.xml",
        "application/atom+xml",
        ATOM.replace("LINK", &site.url("")),
    );
    let sources = format!(
        "{}{}",
        feed_source("rss", &site.url("/rss.xml"), ""),
        feed_source("atom", &site.url("/atom.xml"), "")
    );
    let w = Workdir::new(None, "0 8 * * *", &sources);
    let out = w.run(&["crawl"]).await;
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("rss: 2 new") && stdout(&out).contains("atom: 1 new"),
        "{}",
        stdout(&out)
    );
    let export = stdout(&w.run(&["export", "--format", "jsonl"]).await);
    let rows: Vec<serde_json::Value> = export
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let by_title = |t: &str| {
        rows.iter()
            .find(|r| r["title"] == t)
            .unwrap_or_else(|| panic!("{t} in {export}"))
    };
    let first = by_title("光谷新签约项目");
    assert_eq!(
        first["date"], "2025-07-02",
        "07:30 +0800 is 2 July, not the UTC day before"
    );
    assert_eq!(
        first["body"], "东湖高新区举行集中签约,总投资超过100亿元。 第二段。",
        "content:encoded over description"
    );
    assert_eq!(
        first["url"],
        site.url("/f/1.html"),
        "tracking parameters dropped"
    );
    assert_eq!(by_title("硚口营商环境")["date"], "2025-07-01");
    assert_eq!(
        by_title("硚口营商环境")["body"],
        "硚口区推出惠企措施(第一批)。"
    );
    assert_eq!(by_title("临空港开办大礼包")["date"], "2025-07-02");
    let again = w.run(&["crawl"]).await;
    assert!(
        stdout(&again).contains("rss: 0 new, 0 duplicate, 0 failed, 2 known"),
        "{}",
        stdout(&again)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn full_text_feed_reads_each_items_page() {
    let site = Site::start().await;
    site.page(
        "/rss.xml",
        "application/rss+xml",
        RSS.replace("LINK", &site.url("")),
    );
    site.page(
        "/f/1.html",
        "text/html",
        article(
            "光谷新签约项目（全文）",
            "2025-07-02",
            "网页上的完整正文，比摘要长。",
        ),
    );
    site.page(
        "/f/2.html",
        "text/html",
        article("硚口营商环境", "", "硚口区的完整正文。"),
    );
    let extra = "full_text = true\ntitle = \"h1.title\"\nbody = \"div.article-content\"\ndate = \"span.pubdate\"";
    let w = Workdir::new(
        None,
        "0 8 * * *",
        &feed_source("rss", &site.url("/rss.xml"), extra),
    );
    let out = w.run(&["crawl"]).await;
    assert!(out.status.success(), "{}", stdout(&out));
    let export = stdout(&w.run(&["export"]).await);
    assert!(
        export.contains("光谷新签约项目(全文)\n网页上的完整正文,比摘要长。\n2025-07-02"),
        "{export}"
    );
    assert!(
        export.contains("硚口营商环境\n硚口区的完整正文。\n2025-07-01"),
        "date from the feed when the page has none: {export}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn canonical_link_is_the_stored_url_and_is_not_fetched_again() {
    let site = Site::start().await;
    let page = article("规范链接", "2025-07-02", "正文。").replace(
        "<title>",
        &format!(
            "<link rel=\"canonical\" href=\"{}\"><title>",
            site.url("/l/real.html")
        ),
    );
    site.page(
        "/l/index.html",
        "text/html",
        pages::list("utf-8", &[("/l/m.html?utm_source=wx", "x")], None),
    );
    site.page("/l/m.html", "text/html", page.clone());
    let w = Workdir::new(None, "0 8 * * *", &html_source("s", &site, ""));
    w.run(&["crawl"]).await;
    let export = stdout(&w.run(&["export", "--format", "jsonl"]).await);
    assert!(
        export.contains(&format!("\"url\":\"{}\"", site.url("/l/real.html"))),
        "{export}"
    );
    site.page(
        "/l/index.html",
        "text/html",
        pages::list("utf-8", &[("/l/real.html", "x"), ("/l/m.html", "y")], None),
    );
    site.page("/l/real.html", "text/html", page);
    let again = w.run(&["crawl"]).await;
    assert!(
        stdout(&again).contains("0 new, 0 duplicate, 0 failed, 2 known"),
        "{}",
        stdout(&again)
    );
    assert_eq!(site.hits("/l/real.html"), 0);
    assert_eq!(
        site.hits("/l/m.html"),
        1,
        "tracking parameters stripped before fetching"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn user_agent_and_custom_headers_are_sent() {
    let site = Site::start().await;
    list_site(&site, &["甲"]);
    let w = Workdir::new(
        None,
        "0 8 * * *",
        &html_source(
            "s",
            &site,
            "headers = { Cookie = \"session=abc\", Referer = \"http://portal/\" }",
        ),
    );
    w.run(&["crawl"]).await;
    let hit = site
        .requests()
        .into_iter()
        .find(|h| h.path == "/l/a0.html")
        .expect("article requested");
    let ua = hit.header("user-agent").unwrap_or_default();
    assert!(
        ua.starts_with(&format!("newswatch/{}", env!("CARGO_PKG_VERSION"))),
        "{ua}"
    );
    assert_eq!(hit.header("cookie"), Some("session=abc"));
    assert_eq!(hit.header("referer"), Some("http://portal/"));
    assert!(
        hit.header("accept-encoding")
            .unwrap_or_default()
            .contains("gzip")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn per_host_concurrency_and_delay_hold_across_sources() {
    let site = Site::start().await;
    let slow = |t: &str| {
        Route::new(
            200,
            &[("content-type", "text/html")],
            article(t, "2025-07-02", &format!("{t}正文。")),
        )
        .delayed(Duration::from_millis(150))
    };
    for (dir, titles) in [
        ("a", ["甲一", "甲二", "甲三"]),
        ("b", ["乙一", "乙二", "乙三"]),
    ] {
        let links: Vec<(String, String)> = (0..3)
            .map(|i| (format!("/{dir}/{i}.html"), "x".to_owned()))
            .collect();
        site.page(
            &format!("/{dir}/index.html"),
            "text/html",
            pages::list("utf-8", &links, None),
        );
        for (i, t) in titles.iter().enumerate() {
            site.sequence(&format!("/{dir}/{i}.html"), vec![slow(t)]);
        }
    }
    let sources = |extra: &str| {
        format!(
            "{}{}",
            pages::source("a", &site.url("/a/index.html"), extra),
            pages::source("b", &site.url("/b/index.html"), extra)
        )
    };
    let w = Workdir::new(None, "0 8 * * *", &sources("per_host_concurrency = 1"));
    let out = w.run(&["crawl"]).await;
    assert!(
        stdout(&out).contains("a: 3 new") && stdout(&out).contains("b: 3 new"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        site.max_inflight(),
        1,
        "two sources on one host share its single slot"
    );

    let site2 = site.clone();
    let w2 = Workdir::new(
        None,
        "0 8 * * *",
        &sources("per_host_concurrency = 1\nper_host_delay_ms = 300"),
    );
    let before = site2.requests().len();
    w2.run(&["crawl"]).await;
    let starts: Vec<Instant> = site2.requests()[before..].iter().map(|h| h.at).collect();
    assert!(starts.len() >= 8, "{}", starts.len());
    for pair in starts.windows(2) {
        assert!(
            pair[1] - pair[0] >= Duration::from_millis(250),
            "requests to one host spaced by the delay"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn robots_crawl_delay_wins_over_a_smaller_delay() {
    let site = Site::start().await;
    list_site(&site, &["甲", "乙"]);
    site.page(
        "/robots.txt",
        "text/plain",
        "User-agent: *\nCrawl-delay: 1\n",
    );
    let w = Workdir::new(None, "0 8 * * *", &html_source("s", &site, ""));
    w.run(&["crawl"]).await;
    let pages: Vec<Instant> = site
        .requests()
        .iter()
        .filter(|h| h.path != "/robots.txt")
        .map(|h| h.at)
        .collect();
    assert_eq!(pages.len(), 3);
    for pair in pages.windows(2) {
        assert!(
            pair[1] - pair[0] >= Duration::from_millis(990),
            "Crawl-delay: 1 honoured"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn per_source_proxy_is_used() {
    let proxy = Site::start().await;
    list_site(&proxy, &["代理"]);
    let source = pages::source(
        "s",
        "http://portal.invalid/l/index.html",
        &format!("proxy = \"{}\"", proxy.url("")),
    );
    let w = Workdir::new(None, "0 8 * * *", &source);
    let out = w.run(&["crawl"]).await;
    assert!(
        stdout(&out).contains("s: 1 new"),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let hit = proxy
        .requests()
        .into_iter()
        .find(|h| h.path == "/l/index.html")
        .expect("request via proxy");
    assert_eq!(hit.header("host"), Some("portal.invalid"));
}

#[tokio::test(flavor = "multi_thread")]
async fn check_shows_diagnostics_and_stores_nothing() {
    let site = Site::start().await;
    list_site(&site, &["检查一", "检查二"]);
    site.page(
        "/robots.txt",
        "text/plain",
        "User-agent: *\nDisallow: /l/a1.html\n",
    );
    let w = Workdir::new(None, "0 8 * * *", &html_source("s", &site, ""));
    let out = w.run(&["check", "s"]).await;
    let s = stdout(&out);
    assert!(s.contains("source s (html)"), "{s}");
    assert!(
        s.contains("HTTP 200") && s.contains("charset UTF-8 (HTTP Content-Type header)"),
        "{s}"
    );
    assert!(
        s.contains("links selector matched 2 element(s), giving 2 link(s)"),
        "{s}"
    );
    assert!(
        s.contains("selector matches: title 1, body 1, date 1"),
        "{s}"
    );
    assert!(
        s.contains("title: 检查一")
            && s.contains("date:  2025-07-02")
            && s.contains("body:  检查一的正文。"),
        "{s}"
    );
    assert!(s.contains("robots.txt: BLOCKED"), "{s}");
    assert!(!w.path().join("state").exists(), "check stores nothing");
    let bad = Workdir::new(
        None,
        "0 8 * * *",
        &html_source("s", &site, "").replace("ul.news-list a", "ol.none a"),
    );
    let out = bad.run(&["check", "s"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("fix the `links` selector"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn status_reports_success_failure_and_next_run() {
    let site = Site::start().await;
    list_site(&site, &["甲"]);
    site.route("/down/index.html", 500, &[], "");
    let sources = format!(
        "{}{}",
        html_source("good", &site, ""),
        pages::source("down", &site.url("/down/index.html"), "max_retries = 0")
    );
    let w = Workdir::new(None, "0 8 * * *", &sources);
    w.run(&["crawl"]).await;
    w.run(&["crawl", "down"]).await;
    let out = w.run(&["status"]).await;
    let s = stdout(&out);
    let good = &s[s.find("good").expect("good")..s.find("\ndown").expect("down")];
    assert!(
        good.contains("consecutive failures: 0") && good.contains("articles stored:      1"),
        "{s}"
    );
    assert!(!good.contains("last success:         never"), "{s}");
    let down = &s[s.find("\ndown").expect("down")..];
    assert!(down.contains("consecutive failures: 2"), "{s}");
    assert!(
        down.contains("last error:           list page") || down.contains("HTTP 500"),
        "{s}"
    );
    assert!(down.contains("last success:         never"), "{s}");
    assert!(
        down.contains("next run:") && down.contains("00:00:00"),
        "{s}"
    );
}
