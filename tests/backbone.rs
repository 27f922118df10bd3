//! End-to-end tests of the backbone: archive, crawl, store, digest mail, daemon.

mod common;

use common::{Site, Smtp, Workdir, gbk, pages, seed_archive, stderr, stdout};
use std::time::{Duration, Instant};

const ARCHIVE: &str = "-\n光谷新签约项目十个 总投资超百亿元\n东湖高新区举行招商引资集中签约活动,共签约项目10个,总投资超过100亿元。 项目涵盖光电子信息、生物医药等领域。\n2025-07-01\n-\n硚口区优化营商环境\n硚口区推出一批惠企措施。\n2025-06-30\n";

fn utf8_site(site: &Site) {
    site.page(
        "/news/index.html",
        "text/html; charset=utf-8",
        pages::list(
            "utf-8",
            &[("a1.html#top", "光谷"), ("/news/a2.html", "链接")],
            Some("index_1.html"),
        ),
    );
    site.page(
        "/news/index_1.html",
        "text/html",
        pages::list("utf-8", &[("a3.html", "三")], None),
    );
    site.page(
        "/news/a1.html",
        "text/html; charset=utf-8",
        pages::article(
            "utf-8",
            "光谷新签约项目十个　总投资超百亿元",
            "2025-07-01 09:30",
            &[
                "东湖高新区举行招商引资集中签约活动，共签约项目10个，总投资超过100亿元。",
                "项目涵盖光电子信息、生物医药等领域。",
            ],
        ),
    );
    site.page(
        "/news/a2.html",
        "text/html",
        pages::article(
            "utf-8",
            "武汉发布“创投十条”",
            "2025年07月03日",
            &["武汉东湖高新区对外发布<a href=\"/x\">《关于打造中部地区风投创投中心的若干措施》</a>，吸引优质创投资源集聚。"],
        ),
    );
    site.page(
        "/news/a3.html",
        "text/html",
        pages::article("utf-8", "第二页的文章", "2025/7/2", &["分页后的正文。"]),
    );
}

fn gbk_site(site: &Site) {
    // Served labelled gb2312 in the page only; the text holds 硚, which GB2312 lacks.
    site.page(
        "/gbk/list.html",
        "text/html",
        gbk(&pages::list("gb2312", &[("q1.html", "硚口")], None)),
    );
    site.page(
        "/gbk/q1.html",
        "text/html",
        gbk(&pages::article(
            "gb2312",
            "硚口区深化整治作风优化营商环境",
            "2025-07-02",
            &["武汉市硚口区将优化营商环境作为招商引资的关键抓手（见附件），着力清除痛点堵点问题。"],
        )),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn seed_archive_round_trips_byte_for_byte() {
    let Some(seed) = seed_archive() else {
        return;
    };
    let w = Workdir::new(None, "0 8 * * *", "");
    let seed_s = seed.to_string_lossy().into_owned();
    let first = w.run(&["backfill", &seed_s]).await;
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stdout(&first).contains("10 imported, 0 duplicate, 0 rejected, 4 skipped"),
        "{}",
        stdout(&first)
    );
    assert!(
        stderr(&first).contains(":41: skipped"),
        "footer line reported by number: {}",
        stderr(&first)
    );

    let again = w.run(&["backfill", &seed_s]).await;
    assert!(
        stdout(&again).contains("0 imported, 10 duplicate"),
        "{}",
        stdout(&again)
    );

    let export = w.run(&["export"]).await;
    assert!(export.status.success());
    let original = std::fs::read_to_string(&seed).expect("seed");
    let first_40: String = original.split_inclusive('\n').take(40).collect();
    assert_eq!(
        stdout(&export),
        first_40,
        "export must give back the seed's records byte for byte"
    );

    let jsonl = w.run(&["export", "--format", "jsonl"]).await;
    let lines: Vec<serde_json::Value> = stdout(&jsonl)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 10);
    assert_eq!(lines[0]["source"], "archive");
    assert_eq!(lines[0]["hash"].as_str().map(str::len), Some(64));
    assert!(lines[0]["fetched_at"].is_string());
}

#[tokio::test(flavor = "multi_thread")]
async fn backfill_reports_malformed_records_by_line_and_reads_stdin() {
    let w = Workdir::new(None, "0 8 * * *", "");
    let input = "-\n标题\n正文。\n2025-07-02\n-\n\n没有标题。\n2025-07-02\n-\n坏日期\n正文。\n2025/07/02\n页脚\n";
    let out = w
        .run_with_stdin(
            &["backfill", "-", "--source", "old-site"],
            Some(input.as_bytes()),
        )
        .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("1 imported, 0 duplicate, 2 rejected, 1 skipped"),
        "{}",
        stdout(&out)
    );
    let err = stderr(&out);
    assert!(
        err.contains("standard input:6: rejected: empty title"),
        "{err}"
    );
    assert!(err.contains("standard input:12: rejected: date"), "{err}");
    assert!(err.contains("standard input:13: skipped"), "{err}");
    let export = w
        .run(&["export", "--format", "jsonl", "--source", "old-site"])
        .await;
    assert_eq!(stdout(&export).lines().count(), 1);
    let record: serde_json::Value =
        serde_json::from_str(stdout(&export).trim()).expect("one JSON object");
    let keys: Vec<&str> = record
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        [
            "body",
            "date",
            "fetched_at",
            "hash",
            "id",
            "revised_at",
            "revision",
            "signals",
            "source",
            "title",
            "url"
        ],
        "every stored field and the signals, the first revision's revised_at as null"
    );
    assert_eq!(record["source"], "old-site");
    assert_eq!(record["revision"], 1);
    let none = w.run(&["export", "--source", "archive"]).await;
    assert_eq!(stdout(&none), "");
    let on_the_day = w.run(&["export", "--since", "2025-07-02"]).await;
    assert_eq!(
        stdout(&on_the_day).lines().count(),
        4,
        "the day itself is included"
    );
    assert_eq!(
        stdout(&w.run(&["export", "--since", "2025-07-03"]).await),
        ""
    );
    assert_eq!(
        w.run(&["export", "--since", "July"]).await.status.code(),
        Some(2)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn crawl_normalises_utf8_and_gbk_sites_and_recrawl_adds_nothing() {
    let site = Site::start().await;
    utf8_site(&site);
    gbk_site(&site);
    let sources = format!(
        "{}{}",
        pages::source("utf8", &site.url("/news/index.html"), "recheck_days = 0"),
        pages::source("gbk", &site.url("/gbk/list.html"), "")
    );
    let w = Workdir::new(None, "0 8 * * *", &sources);
    let out = w.run(&["crawl"]).await;
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("utf8: 3 new, 0 duplicate, 0 failed"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("gbk: 1 new"), "{}", stdout(&out));

    let export = stdout(&w.run(&["export"]).await);
    // NFKC-folded punctuation, full-width space folded, paragraphs joined by one space.
    assert!(export.contains(
        "-\n光谷新签约项目十个 总投资超百亿元\n东湖高新区举行招商引资集中签约活动,共签约项目10个,总投资超过100亿元。 项目涵盖光电子信息、生物医药等领域。\n2025-07-01\n"
    ), "{export}");
    // A link inside a sentence does not split it; the date comes from the Chinese form.
    assert!(
        export.contains("对外发布《关于打造中部地区风投创投中心的若干措施》,吸引"),
        "{export}"
    );
    assert!(export.contains("2025-07-03"));
    // The GBK page labelled gb2312 keeps 硚 and folds （）.
    assert!(
        export.contains("武汉市硚口区将优化营商环境作为招商引资的关键抓手(见附件),"),
        "{export}"
    );
    // Nothing from navigation, related news, share bar, scripts or footer.
    for noise in [
        "首页",
        "旧闻",
        "分享到",
        "版权所有",
        "广告",
        "2019-01-01",
        "来源",
    ] {
        assert!(!export.contains(noise), "{noise:?} leaked into {export}");
    }
    // Pagination followed.
    assert!(export.contains("第二页的文章\n分页后的正文。\n2025-07-02"));

    let hits_before = site.hits("/news/a1.html");
    let page2_before = site.hits("/news/index_1.html");
    let again = w.run(&["crawl", "utf8"]).await;
    assert!(again.status.success());
    // Page 1 brings nothing new, so paging stops there.
    assert!(
        stdout(&again).contains("utf8: 0 new, 0 duplicate, 0 failed, 2 known"),
        "{}",
        stdout(&again)
    );
    assert_eq!(site.hits("/news/index_1.html"), page2_before);
    assert_eq!(
        site.hits("/news/a1.html"),
        hits_before,
        "known article pages are not fetched again"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn crawled_page_deduplicates_against_its_archive_copy() {
    let site = Site::start().await;
    utf8_site(&site);
    let w = Workdir::new(
        None,
        "0 8 * * *",
        &pages::source("utf8", &site.url("/news/index.html"), ""),
    );
    let out = w
        .run_with_stdin(&["backfill", "-"], Some(ARCHIVE.as_bytes()))
        .await;
    assert!(stdout(&out).contains("2 imported"), "{}", stdout(&out));
    let crawl = w.run(&["crawl"]).await;
    assert!(
        stdout(&crawl).contains("utf8: 2 new, 1 duplicate"),
        "{}",
        stdout(&crawl)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn seed_record_served_as_a_page_is_a_duplicate_of_the_archive() {
    let Some(seed) = seed_archive() else {
        return;
    };
    let text = std::fs::read_to_string(&seed).expect("seed");
    let lines: Vec<&str> = text.lines().collect();
    // Record 2: render it as a publisher would — full-width punctuation, one <p> per paragraph.
    let (title, body, date) = (lines[5], lines[6], lines[7]);
    let widen = |s: &str| {
        s.replace(',', "，")
            .replace(':', "：")
            .replace('(', "（")
            .replace(')', "）")
    };
    let paragraphs: Vec<String> = body.split(' ').map(widen).collect();
    let refs: Vec<&str> = paragraphs.iter().map(String::as_str).collect();
    let site = Site::start().await;
    site.page(
        "/list.html",
        "text/html",
        pages::list("utf-8", &[("/p.html", "x")], None),
    );
    site.page(
        "/p.html",
        "text/html; charset=utf-8",
        pages::article("utf-8", &widen(title), date, &refs),
    );
    let w = Workdir::new(
        None,
        "0 8 * * *",
        &pages::source("s", &site.url("/list.html"), ""),
    );
    let seed_s = seed.to_string_lossy().into_owned();
    w.run(&["backfill", &seed_s]).await;
    let crawl = w.run(&["crawl"]).await;
    assert!(
        stdout(&crawl).contains("s: 0 new, 1 duplicate"),
        "{}",
        stdout(&crawl)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn digest_mail_lists_items_and_second_digest_sends_nothing() {
    let site = Site::start().await;
    utf8_site(&site);
    site.page(
        "/news/a3.html",
        "text/html",
        pages::article(
            "utf-8",
            "&lt;b&gt;加粗&lt;/b&gt; &amp; 转义",
            "2025/7/2",
            &["分页后的正文。"],
        ),
    );
    let mut smtp = Smtp::start().await;
    let w = Workdir::new(
        Some(smtp.port),
        "0 8 * * *",
        &pages::source("utf8", &site.url("/news/index.html"), ""),
    );
    assert!(w.run(&["crawl"]).await.status.success());

    let dry = w.run(&["digest", "--dry-run"]).await;
    assert!(
        stdout(&dry).contains("Subject: 招商动态 · ") && stdout(&dry).contains(" · 新增3条"),
        "{}",
        stdout(&dry)
    );
    assert!(smtp.next_mail(1).await.is_none(), "dry run sends nothing");

    let sent = w.run(&["digest"]).await;
    assert!(sent.status.success(), "{}", stderr(&sent));
    let mail = smtp.next_mail(10).await.expect("digest mail");
    let subject = mail["subject"].as_str().unwrap_or_default();
    assert!(
        subject.starts_with("招商动态 · ") && subject.contains(" · 新增3条"),
        "{subject}"
    );
    let text = mail["text"].as_str().unwrap_or_default();
    let html = mail["html"].as_str().unwrap_or_default();
    // Newest first: 07-03, 07-02, 07-01.
    let pos = |s: &str| text.find(s).unwrap_or_else(|| panic!("{s} not in {text}"));
    assert!(pos("武汉发布“创投十条”") < pos("& 转义") && pos("& 转义") < pos("光谷新签约项目十个"));
    assert!(
        text.contains(&site.url("/news/a1.html")),
        "link in text part"
    );
    assert!(text.contains("utf8 · 2025年7月1日"), "{text}");
    assert!(
        text.contains("东湖高新区举行招商引资集中签约活动"),
        "opening of the body"
    );
    assert!(
        html.contains("&lt;b&gt;加粗&lt;&#x2f;b&gt; &amp; 转义"),
        "escaped in html: {html}"
    );
    assert!(!html.contains("<b>加粗"));

    let second = w.run(&["digest"]).await;
    assert!(second.status.success());
    assert!(stdout(&second).contains("nothing pending"));
    assert!(
        smtp.next_mail(2).await.is_none(),
        "second digest sends nothing"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn smtp_down_keeps_items_pending_until_a_send_succeeds() {
    let site = Site::start().await;
    utf8_site(&site);
    let port = common::free_port();
    let w = Workdir::new(
        Some(port),
        "0 8 * * *",
        &pages::source("utf8", &site.url("/news/index.html"), ""),
    );
    assert!(w.run(&["crawl"]).await.status.success());
    let failed = w.run(&["digest"]).await;
    assert_eq!(failed.status.code(), Some(1), "{}", stderr(&failed));
    assert!(
        stderr(&failed).contains("sending digest \"digest\" failed"),
        "{}",
        stderr(&failed)
    );
    assert!(
        stderr(&failed)
            .to_lowercase()
            .contains("connection refused"),
        "server's answer shown: {}",
        stderr(&failed)
    );

    let mut smtp = Smtp::start().await;
    std::fs::write(
        w.config(),
        std::fs::read_to_string(w.config())
            .expect("config")
            .replace(&format!(":{port}\""), &format!(":{}\"", smtp.port)),
    )
    .expect("rewrite config");
    let ok = w.run(&["digest"]).await;
    assert!(ok.status.success(), "{}", stderr(&ok));
    let mail = smtp.next_mail(10).await.expect("mail after recovery");
    assert!(
        mail["subject"]
            .as_str()
            .unwrap_or_default()
            .contains(" · 新增3条"),
        "every item kept for the next digest: {}",
        mail["subject"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn digest_without_smtp_writes_eml_to_outbox() {
    let w = Workdir::new(None, "0 8 * * *", "");
    w.run_with_stdin(&["backfill", "--notify", "-"], Some(ARCHIVE.as_bytes()))
        .await;
    let out = w.run(&["digest"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let outbox = w.path().join("state/outbox");
    let files: Vec<_> = std::fs::read_dir(&outbox)
        .expect("outbox")
        .filter_map(Result::ok)
        .collect();
    assert_eq!(files.len(), 1);
    let eml = std::fs::read_to_string(files[0].path()).expect("eml");
    assert!(eml.contains("multipart/alternative"));
    let subject = encoded_words(&eml);
    assert!(
        subject.starts_with("招商动态 · ") && subject.contains(" · 新增2条"),
        "{subject}: {eml}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn failing_source_beside_a_good_one() {
    let site = Site::start().await;
    utf8_site(&site);
    site.route("/broken/list.html", 503, &[], "down");
    let sources = format!(
        "{}{}",
        pages::source("broken", &site.url("/broken/list.html"), ""),
        pages::source("good", &site.url("/news/index.html"), "")
    );
    let w = Workdir::new(None, "0 8 * * *", &sources);
    let out = w.run(&["crawl"]).await;
    assert_eq!(out.status.code(), Some(1));
    let s = stdout(&out);
    assert!(s.contains("good: 3 new"), "{s}");
    assert!(
        s.contains("broken: 0 new") && s.contains("HTTP 503") && s.contains("/broken/list.html"),
        "{s}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_config_exits_2_before_creating_state() {
    let w = Workdir::new(
        None,
        "0 8 * * *",
        &pages::source("x", "ftp://example.org/", "").replace("ul.news-list a", "ul[[["),
    );
    let out = w.run(&["crawl"]).await;
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("sources.toml:") && err.contains("source \"x\": url") && err.contains("links"),
        "{err}"
    );
    assert!(!w.path().join("state").exists(), "nothing created");
    let unknown = Workdir::new(None, "0 8 * * *", "");
    let out = unknown.run(&["crawl", "nope"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no source named \"nope\""));
}

#[tokio::test(flavor = "multi_thread")]
async fn daemon_mails_on_schedule_and_stops_on_sigterm() {
    let site = Site::start().await;
    utf8_site(&site);
    let mut smtp = Smtp::start().await;
    let source = pages::source("utf8", &site.url("/news/index.html"), "")
        .replace("0 0 * * *", "*/1 * * * * *");
    let w = Workdir::new(Some(smtp.port), "*/2 * * * * *", &source);
    let mut child = w.daemon(&[]);
    let mail = smtp.next_mail(30).await.expect("daemon sent a digest");
    assert!(
        mail["subject"]
            .as_str()
            .unwrap_or_default()
            .starts_with("招商动态 · "),
        "{mail}"
    );

    common::sigterm(&child);
    let started = Instant::now();
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("daemon exits within 10 s of SIGTERM")
        .expect("status");
    assert!(status.success(), "exit 0 after SIGTERM, got {status}");
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "stopped in {:?}",
        started.elapsed()
    );
    // The store was flushed and released: a command can open it at once.
    let export = w.run(&["export"]).await;
    assert!(export.status.success(), "{}", stderr(&export));
    assert!(stdout(&export).contains("光谷新签约项目十个"));
}

/// The text of the RFC 2047 encoded words (`=?utf-8?b?…?=`) in the first `Subject:` header of
/// `eml`, joined as a mail reader joins them.
fn encoded_words(eml: &str) -> String {
    use base64::Engine as _;
    let start = eml.find("Subject: ").expect("a Subject header") + "Subject: ".len();
    // The header goes on over folded lines, which start with white space.
    let mut header = String::new();
    for (i, line) in eml[start..].split("\r\n").enumerate() {
        if i > 0 && !line.starts_with([' ', '\t']) {
            break;
        }
        header.push_str(line.trim());
    }
    // Words may split a character's bytes: join the bytes, then read them.
    let mut bytes = Vec::new();
    for word in header.split("?=").filter(|w| !w.is_empty()) {
        match word.split_once("?b?").or_else(|| word.split_once("?B?")) {
            Some((_, b64)) => bytes.extend(
                base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .expect("base64 word"),
            ),
            None => bytes.extend_from_slice(word.as_bytes()),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}
