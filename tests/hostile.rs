//! Hostile servers, all at once beside good sources: each ends in bounded time and memory,
//! without a panic, with a report line naming the source and the reason; the good sources'
//! articles are all stored.

mod common;

use common::{Route, Site, Stream, Workdir, gbk, pages, stderr, stdout};
use std::time::{Duration, Instant};

/// Deterministic pseudo-random bytes (xorshift), so failures are reproducible.
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn hostile_list(site: &Site, name: &str, article: Route) {
    site.page(
        &format!("/{name}/index.html"),
        "text/html",
        pages::list("utf-8", &[(&format!("/{name}/a.html"), "x")], None),
    );
    site.sequence(&format!("/{name}/a.html"), vec![article]);
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_servers_beside_good_sources() {
    let site = Site::start().await;
    let html = |body: Vec<u8>| Route::new(200, &[("content-type", "text/html")], body);

    hostile_list(
        &site,
        "trickle",
        html(b"<html><body><h1 class=title>t</h1>".repeat(50))
            .streamed(Stream::Trickle(Duration::from_secs(1))),
    );
    hostile_list(
        &site,
        "endless",
        html(b"<p>\xe6\x97\xa0\xe5\xb0\xbd</p>".repeat(4096)).streamed(Stream::Endless),
    );
    site.route(
        "/loop/index.html",
        302,
        &[("location", "/loop/index2.html")],
        "",
    );
    site.route(
        "/loop/index2.html",
        302,
        &[("location", "/loop/index.html")],
        "",
    );
    site.route("/error/index.html", 500, &[], "boom");
    hostile_list(&site, "noise", html(noise(256 * 1024)));
    hostile_list(&site, "badgbk", {
        let mut page =
            b"<html><head><meta charset=gb2312></head><body><h1 class=\"title\">".to_vec();
        page.extend(noise(64 * 1024).iter().map(|b| b | 0x80));
        page.extend(b"</h1><div class=\"article-content\">");
        page.extend(noise(64 * 1024).iter().map(|b| b | 0x80));
        page.extend(b"</div></body></html>");
        html(page)
    });
    hostile_list(&site, "nested", {
        let depth = 100_000;
        let mut page =
            String::from("<html><body><h1 class=\"title\">深</h1><div class=\"article-content\">");
        page.push_str(&"<div>".repeat(depth));
        page.push_str("最深处的正文。");
        page.push_str(&"</div>".repeat(depth));
        page.push_str("</div></body></html>");
        html(page.into_bytes())
    });
    let many: Vec<(String, String)> = (0..5000)
        .map(|i| (format!("/many/{i}.html"), format!("第{i}条")))
        .collect();
    site.page(
        "/many/index.html",
        "text/html",
        pages::list("utf-8", &many, None),
    );
    site.route(
        "/many/*",
        200,
        &[("content-type", "text/html")],
        pages::article("utf-8", "很多链接之一", "2025-07-02", &["同一篇正文。"]),
    );
    site.route(
        "/file/index.html",
        302,
        &[("location", "file:///etc/passwd")],
        "",
    );

    // Two good sources, one UTF-8 and one GBK.
    site.page(
        "/good/index.html",
        "text/html",
        pages::list(
            "utf-8",
            &[("/good/1.html", "x"), ("/good/2.html", "y")],
            None,
        ),
    );
    site.page(
        "/good/1.html",
        "text/html",
        pages::article(
            "utf-8",
            "光谷招商引资签约",
            "2025-07-01",
            &["东湖高新区签约项目10个。"],
        ),
    );
    site.page(
        "/good/2.html",
        "text/html",
        pages::article(
            "utf-8",
            "东西湖开办大礼包",
            "2025-07-02",
            &["东西湖区发放开办大礼包。"],
        ),
    );
    site.page(
        "/gbk/index.html",
        "text/html",
        gbk(&pages::list("gb2312", &[("/gbk/1.html", "x")], None)),
    );
    site.page(
        "/gbk/1.html",
        "text/html",
        gbk(&pages::article(
            "gb2312",
            "硚口区优化营商环境",
            "2025-07-02",
            &["硚口区推出惠企措施。"],
        )),
    );

    let limits =
        "request_timeout_secs = 3\nmax_retries = 1\nmax_body_bytes = 1048576\nmax_articles = 20";
    let names = [
        "trickle", "endless", "loop", "error", "noise", "badgbk", "nested", "many", "file", "good",
        "gbk",
    ];
    let sources: String = names
        .iter()
        .map(|n| {
            // Let the 100,000-div page through the size limit so the parser meets it.
            let limits = if *n == "nested" {
                limits.replace("1048576", "4194304")
            } else {
                limits.to_owned()
            };
            pages::source(n, &site.url(&format!("/{n}/index.html")), &limits)
        })
        .collect();
    let w = Workdir::new(
        None,
        "0 8 * * *",
        &format!("[settings]\n{sources}").replace("[settings]\n", ""),
    );
    let started = Instant::now();
    let out = tokio::process::Command::new("/usr/bin/time")
        .args(["-f", "PEAK_RSS_KB=%M"])
        .arg(env!("CARGO_BIN_EXE_newswatch"))
        .arg("--config")
        .arg(w.config())
        .arg("crawl")
        .output();
    let out = tokio::time::timeout(Duration::from_secs(120), out)
        .await
        .expect("bounded time")
        .expect("ran");
    let elapsed = started.elapsed();
    let (report, err) = (stdout(&out), stderr(&out));
    assert!(
        !err.contains("panicked") && !err.contains("overflow"),
        "{err}"
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "failures reported in the exit code: {report}\n{err}"
    );
    let line = |name: &str| {
        report
            .lines()
            .skip_while(|l| !l.starts_with(&format!("{name}:")))
            .take_while(|l| l.starts_with(&format!("{name}:")) || l.starts_with("  "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(line("trickle").contains("timed out after 3s"), "{report}");
    assert!(
        line("endless").contains("larger than max_body_bytes"),
        "{report}"
    );
    assert!(line("loop").contains("redirect loop"), "{report}");
    assert!(line("error").contains("HTTP 500"), "{report}");
    assert!(line("noise").contains("failed"), "{report}");
    assert!(
        line("file").contains("non-http(s)"),
        "redirect to file:// refused: {report}"
    );
    assert!(
        line("many").contains("20 new") || line("many").contains("1 new"),
        "max_articles bounds the work: {report}"
    );
    assert!(
        site.requests()
            .iter()
            .filter(|h| h.path.starts_with("/many/") && h.path != "/many/index.html")
            .count()
            <= 20
    );
    assert!(
        line("nested").starts_with("nested: 1 new"),
        "deep nesting parsed, no stack overflow: {report}"
    );
    assert!(
        line("good").starts_with("good: 2 new, 0 duplicate, 0 failed"),
        "{report}"
    );
    assert!(
        line("gbk").starts_with("gbk: 1 new, 0 duplicate, 0 failed"),
        "{report}"
    );
    let peak_kb: u64 = err
        .lines()
        .find_map(|l| l.strip_prefix("PEAK_RSS_KB="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(u64::MAX);
    eprintln!(
        "hostile crawl: {elapsed:?}, peak RSS {} MB\n{report}",
        peak_kb / 1024
    );
    assert!(peak_kb < 300 * 1024, "peak RSS {peak_kb} kB");
    assert!(elapsed < Duration::from_secs(60), "{elapsed:?}");
    let export = stdout(&w.run(&["export"]).await);
    for title in ["光谷招商引资签约", "东西湖开办大礼包", "硚口区优化营商环境"]
    {
        assert!(
            export.contains(title),
            "good article {title} stored: {export}"
        );
    }
}
