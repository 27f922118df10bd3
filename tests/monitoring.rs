//! Change monitoring and digests: revisions, re-checks, near-duplicates, filtered digests,
//! exactly-once delivery across SMTP failures, and chat webhooks.

mod common;

use base64::Engine as _;
use common::{RefusingSmtp, Site, Smtp, Workdir, pages, stderr, stdout};
use hmac::{KeyInit, Mac};

const LONG_A: &str = "武汉东湖高新区对外发布关于打造中部地区风投创投中心的若干措施，通过覆盖风投创投机构募投管退全周期的系统性支持，加大招商引资力度，吸引优质创投资源集聚。";
const LONG_B: &str = "在机构落户方面，明确对新设立或迁入的风投创投机构给予梯度奖励，最高奖励额度为2000万元，同时提供办公用房补贴，最高补贴500万元，切实降低机构初期运营成本。";
const LONG_C: &str = "资金募集环节，政策突破传统单一基金奖励模式，规定基金管理公司募资规模达到2亿元即可申请奖励，且多只基金可累计计算，奖励金额不设上限，鼓励机构扩大资金管理规模。";
const OTHER: &str = "硚口区纪检监察机关聚焦营商环境建设，针对企业反映的痛点和堵点，启动了专项巡察行动，并通过电视问政平台强化社会监督。同时推行政务服务好差评制度和双评议机制，将日常监督检查融入基层治理环节，有效纠治了一大批作风问题，为招聘人才和留住企业创造了条件。";

fn page(title: &str, paragraphs: &[&str]) -> String {
    pages::article("utf-8", title, "2025-07-02", paragraphs)
}

fn list(site: &Site, dir: &str, links: &[&str]) {
    let items: Vec<(String, &str)> = links.iter().map(|l| (format!("/{dir}/{l}"), "x")).collect();
    site.page(
        &format!("/{dir}/index.html"),
        "text/html",
        pages::list("utf-8", &items, None),
    );
}

fn source(name: &str, site: &Site, dir: &str) -> String {
    pages::source(
        name,
        &site.url(&format!("/{dir}/index.html")),
        "recheck_days = 7",
    )
}

fn settings() -> &'static str {
    "[settings]\nstate_dir = \"state\"\nper_host_delay_ms = 0\ndigest_retry_secs = 1\n"
}

fn digest_table(name: &str, port: u16, extra: &str) -> String {
    format!(
        "\n[[digest]]\nname = \"{name}\"\nschedule = \"0 8 * * *\"\nfrom = \"nw@example.org\"\nto = [\"{name}@example.org\"]\nsmtp = \"smtp://127.0.0.1:{port}\"\n{extra}\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn edited_page_is_reported_as_updated_with_its_added_sentence() {
    let site = Site::start().await;
    list(&site, "n", &["a.html"]);
    site.page(
        "/n/a.html",
        "text/html",
        page("创投十条发布", &[LONG_A, LONG_B]),
    );
    let mut smtp = Smtp::start().await;
    let w = Workdir::new(Some(smtp.port), "0 8 * * *", &source("s", &site, "n"));
    assert!(stdout(&w.run(&["crawl"]).await).contains("s: 1 new"));
    assert!(w.run(&["digest"]).await.status.success());
    assert!(smtp.next_mail(10).await.is_some(), "first digest");

    // The publisher corrects a figure and adds a paragraph.
    let edited = LONG_B.replace("2000万元", "3000万元");
    site.page(
        "/n/a.html",
        "text/html",
        page("创投十条发布", &[LONG_A, &edited, LONG_C]),
    );
    let crawl = w.run(&["crawl"]).await;
    assert!(
        stdout(&crawl).contains("1 updated") && stdout(&crawl).contains("s: 0 new"),
        "{}",
        stdout(&crawl)
    );
    assert!(w.run(&["digest"]).await.status.success());
    let mail = smtp.next_mail(10).await.expect("digest of the update");
    let subject = mail["subject"].as_str().unwrap_or_default();
    assert!(
        subject.starts_with("招商动态 · ")
            && subject.contains(" · 更新1条")
            && !subject.contains("新增"),
        "{subject}"
    );
    let text = mail["text"].as_str().unwrap_or_default();
    let added_c = format!("+ {}", LONG_C.replace('，', ","));
    assert!(text.contains(&added_c), "added sentence shown: {text}");
    assert!(
        text.contains("3000万元") && text.contains("- 在机构落户方面"),
        "{text}"
    );
    assert!(text.contains("(第2版)"), "{text}");
    let html = mail["html"].as_str().unwrap_or_default();
    assert!(
        html.contains("更新 (1)") && html.contains("资金募集环节"),
        "{html}"
    );

    let revisions = stdout(&w.run(&["export", "--revisions", "--format", "jsonl"]).await);
    let revs: Vec<serde_json::Value> = revisions
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(revs.len(), 2);
    assert_eq!(
        (revs[0]["revision"].as_u64(), revs[1]["revision"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(
        stdout(&w.run(&["export"]).await).matches("\n-\n").count() + 1,
        1,
        "export shows the latest only"
    );
    assert!(stdout(&w.run(&["export"]).await).contains("3000万元"));
}

#[tokio::test(flavor = "multi_thread")]
async fn retitled_repost_is_a_revision_and_another_portals_copy_is_a_repost() {
    let site = Site::start().await;
    list(&site, "n", &["a.html"]);
    site.page(
        "/n/a.html",
        "text/html",
        page("创投十条发布", &[LONG_A, LONG_B, LONG_C]),
    );
    list(&site, "m", &["copy.html"]);
    let w = Workdir::new(
        None,
        "0 8 * * *",
        &format!("{}{}", source("s", &site, "n"), source("other", &site, "m")),
    );
    w.run(&["crawl", "s"]).await;

    // Same source, new URL, new title, a changed byline sentence: a revision, not a new item.
    list(&site, "n", &["a.html", "b.html"]);
    let byline = "（记者 张三 通讯员 李四）";
    site.page(
        "/n/b.html",
        "text/html",
        page(
            "重磅！武汉创投十条全文发布",
            &[byline, LONG_A, LONG_B, LONG_C],
        ),
    );
    let crawl = w.run(&["crawl", "s"]).await;
    assert!(
        stdout(&crawl).contains("s: 0 new") && stdout(&crawl).contains("1 updated"),
        "{}",
        stdout(&crawl)
    );

    // Another portal carries the same press release: recognised as a repost, not queued again.
    site.page(
        "/m/copy.html",
        "text/html",
        page(
            "东湖高新区发布创投十条",
            &[LONG_A, LONG_B, LONG_C, "来源：光谷发布"],
        ),
    );
    let other = w.run(&["crawl", "other"]).await;
    assert!(
        stdout(&other).contains("other: 0 new") && stdout(&other).contains("1 repost"),
        "{}",
        stdout(&other)
    );

    // A different article is still new.
    list(&site, "m", &["copy.html", "new.html"]);
    site.page("/m/new.html", "text/html", page("硚口作风整治", &[OTHER]));
    assert!(stdout(&w.run(&["crawl", "other"]).await).contains("other: 1 new"));

    let dry = stdout(&w.run(&["digest", "--dry-run"]).await);
    assert!(
        dry.contains("Subject: 招商动态 · ")
            && dry.contains(" · 新增2条")
            && !dry.contains("更新1条"),
        "revision merged into the unsent new item: {dry}"
    );
    assert!(
        dry.contains("重磅！武汉创投十条全文发布") || dry.contains("重磅!武汉创投十条全文发布"),
        "latest title shown: {dry}"
    );
    assert!(
        !dry.contains("东湖高新区发布创投十条"),
        "the repost is not a digest item: {dry}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_digests_with_keyword_filters_each_get_only_their_items() {
    let site = Site::start().await;
    list(&site, "n", &["a.html", "b.html", "c.html"]);
    site.page(
        "/n/a.html",
        "text/html",
        page(
            "光谷招商引资签约",
            &["东湖高新区举行招商引资集中签约活动，签约项目10个。"],
        ),
    );
    site.page(
        "/n/b.html",
        "text/html",
        page("硚口营商环境", &["硚口区优化营商环境，服务企业。"]),
    );
    site.page(
        "/n/c.html",
        "text/html",
        page("招商引资人员招聘", &["招商局招聘工作人员。"]),
    );
    let mut smtp = Smtp::start().await;
    let config = format!(
        "{}{}{}{}",
        settings(),
        digest_table(
            "invest",
            smtp.port,
            "keywords = [\"招商引资\"]\nexclude = [\"招聘\"]"
        ),
        digest_table("climate", smtp.port, "keywords = [\"/营商.境/\"]"),
        source("s", &site, "n")
    );
    let w = Workdir::raw(&config);
    assert!(w.run(&["crawl"]).await.status.success());
    let out = w.run(&["digest"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let mut mails = Vec::new();
    while let Some(m) = smtp.next_mail(5).await {
        mails.push(m);
        if mails.len() == 2 {
            break;
        }
    }
    let by_subject = |s: &str| {
        mails
            .iter()
            .find(|m| m["subject"].as_str().unwrap_or_default().contains(s))
            .cloned()
            .unwrap_or_default()
    };
    let invest = by_subject("（invest）");
    let climate = by_subject("（climate）");
    for (mail, name) in [(&invest, "invest"), (&climate, "climate")] {
        let subject = mail["subject"].as_str().unwrap_or_default();
        assert!(
            subject.starts_with(&format!("招商动态（{name}） · "))
                && subject.contains(" · 新增1条"),
            "{subject}"
        );
    }
    let invest_text = invest["text"].as_str().unwrap_or_default();
    assert!(
        invest_text.contains("光谷**招商引资**签约"),
        "match highlighted: {invest_text}"
    );
    assert!(
        !invest_text.contains("招聘") && !invest_text.contains("硚口"),
        "{invest_text}"
    );
    let climate_html = climate["html"].as_str().unwrap_or_default();
    assert!(
        climate_html.contains("硚口<mark") && !climate_html.contains("光谷招商"),
        "{climate_html}"
    );
    assert!(stdout(&w.run(&["digest"]).await).contains("invest: nothing pending"));
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_sends_keep_every_item_and_the_next_send_delivers_all_once() {
    let site = Site::start().await;
    list(&site, "n", &["a.html", "b.html"]);
    site.page("/n/a.html", "text/html", page("甲", &["第一篇。"]));
    site.page("/n/b.html", "text/html", page("乙", &["第二篇。"]));
    let refusing = RefusingSmtp::start().await;
    let closed = common::free_port();
    let config = |port: u16| {
        format!(
            "{}{}{}",
            settings(),
            digest_table("d", port, ""),
            source("s", &site, "n")
        )
    };
    let w = Workdir::raw(&config(closed));
    w.run(&["crawl"]).await;

    // Connection refused.
    let out = w.run(&["digest"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).to_lowercase().contains("connection refused"),
        "{}",
        stderr(&out)
    );
    let first_try = stdout(&w.run(&["digest", "--dry-run"]).await);
    let message_id = first_try
        .split("Message-ID ")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .unwrap_or_default()
        .to_owned();
    assert!(
        message_id.starts_with("<digest-"),
        "the digest was recorded before sending: {first_try}"
    );

    // 451 on DATA: the server's reply is reported, items stay.
    std::fs::write(w.config(), config(refusing.port)).expect("config");
    let out = w.run(&["digest"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("451") && stderr(&out).contains("its items stay queued"),
        "{}",
        stderr(&out)
    );
    assert_eq!(refusing.refused(), 1);

    // New articles arrive meanwhile; they wait for the next digest.
    list(&site, "n", &["a.html", "b.html", "c.html"]);
    site.page("/n/c.html", "text/html", page("丙", &["第三篇。"]));
    w.run(&["crawl"]).await;

    let mut smtp = Smtp::start().await;
    std::fs::write(w.config(), config(smtp.port)).expect("config");
    let ok = w.run(&["digest"]).await;
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert!(stdout(&ok).contains("(attempt 3)"), "{}", stdout(&ok));
    let mail = smtp.next_mail(10).await.expect("the retried digest");
    assert!(
        mail["subject"]
            .as_str()
            .unwrap_or_default()
            .contains("（d） · ")
            && mail["subject"]
                .as_str()
                .unwrap_or_default()
                .contains(" · 新增2条"),
        "the recorded digest, unchanged: {}",
        mail["subject"]
    );
    let headers = mail["headers"].to_string();
    assert!(
        headers.contains(message_id.trim_matches(['<', '>'])),
        "same Message-ID on retry: {headers} vs {message_id}"
    );
    let next = w.run(&["digest"]).await;
    assert!(next.status.success());
    let mail = smtp.next_mail(10).await.expect("the next digest");
    assert!(
        mail["subject"]
            .as_str()
            .unwrap_or_default()
            .contains(" · 新增1条"),
        "only the article that arrived later: {}",
        mail["subject"]
    );
    assert!(
        stdout(&w.run(&["digest"]).await).contains("nothing pending"),
        "each item mailed once"
    );
    assert!(smtp.next_mail(1).await.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn daemon_delivers_a_failed_digest_once_the_server_is_back() {
    let site = Site::start().await;
    list(&site, "n", &["a.html"]);
    site.page("/n/a.html", "text/html", page("甲", &["第一篇。"]));
    let smtp = Smtp::start().await;
    let smtp_port = smtp.port;
    smtp.stop();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let config = format!(
        "{}{}{}",
        settings(),
        digest_table("d", smtp_port, "").replace("0 8 * * *", "*/2 * * * * *"),
        source("s", &site, "n")
    );
    let w = Workdir::raw(&config);
    w.run(&["crawl"]).await;
    let mut daemon = w.daemon(&[]);
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let mut smtp = Smtp::start_on(smtp_port).await;
    let mail = smtp
        .next_mail(20)
        .await
        .expect("delivered once the server is back");
    assert!(
        mail["subject"]
            .as_str()
            .unwrap_or_default()
            .contains(" · 新增1条"),
        "{}",
        mail["subject"]
    );
    assert!(smtp.next_mail(4).await.is_none(), "delivered once");
    let _ = daemon.start_kill();
}

fn verify_hmac(key: &[u8], message: &[u8], expected_b64: &str) -> bool {
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(key) else {
        return false;
    };
    mac.update(message);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()) == expected_b64
}

#[tokio::test(flavor = "multi_thread")]
async fn chat_robots_get_markdown_with_correct_signatures() {
    let site = Site::start().await;
    list(&site, "n", &["a.html"]);
    site.page(
        "/n/a.html",
        "text/html",
        page(
            "光谷招商引资签约",
            &["东湖高新区举行招商引资集中签约活动。"],
        ),
    );
    let robots = Site::start().await;
    robots.route(
        "/dingtalk/send",
        200,
        &[("content-type", "application/json")],
        r#"{"errcode":0,"errmsg":"ok"}"#,
    );
    robots.route(
        "/feishu/hook",
        200,
        &[("content-type", "application/json")],
        r#"{"code":0,"msg":"success"}"#,
    );
    robots.route("/plain", 200, &[], "ok");
    robots.route(
        "/wecom/send",
        200,
        &[("content-type", "application/json")],
        r#"{"errcode":93000,"errmsg":"invalid webhook url"}"#,
    );
    let config = format!(
        "{}\n[[notify]]\nname = \"ding\"\nkind = \"dingtalk\"\nurl = \"{}\"\nsecret_env = \"NW_TEST_DING_SECRET\"\nschedule = \"0 8 * * *\"\n\
         \n[[notify]]\nname = \"fei\"\nkind = \"feishu\"\nurl = \"{}\"\nsecret_file = \"feishu.secret\"\nschedule = \"0 8 * * *\"\n\
         \n[[notify]]\nname = \"broken\"\nkind = \"wecom\"\nurl = \"{}\"\nschedule = \"0 8 * * *\"\n\
         \n[[notify]]\nname = \"plain\"\nkind = \"webhook\"\nurl = \"{}\"\nschedule = \"0 8 * * *\"\n{}",
        settings(),
        robots.url("/dingtalk/send?access_token=tok"),
        robots.url("/feishu/hook"),
        robots.url("/wecom/send?key=k"),
        robots.url("/plain"),
        source("s", &site, "n"),
    );
    let w = Workdir::raw(&config);
    std::fs::write(w.path().join("feishu.secret"), "feishu-secret\n").expect("secret file");
    let run = |args: &'static [&'static str]| {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_newswatch"));
        cmd.arg("--config")
            .arg(w.config())
            .args(args)
            .env("NW_TEST_DING_SECRET", "SECdingsecret");
        cmd.output()
    };
    assert!(run(&["crawl"]).await.expect("crawl").status.success());
    let out = run(&["digest"]).await.expect("digest");
    assert_eq!(
        out.status.code(),
        Some(1),
        "the broken channel fails the command"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("broken") && err.contains("93000") && err.contains("invalid webhook url"),
        "{err}"
    );
    assert!(
        !err.contains("key=k"),
        "the webhook token is never printed: {err}"
    );

    let hits = robots.requests();
    let ding = hits
        .iter()
        .find(|h| h.path.starts_with("/dingtalk/send"))
        .expect("dingtalk got the digest");
    let query: std::collections::HashMap<String, String> =
        url::Url::parse(&format!("http://x{}", ding.path))
            .expect("url")
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    let ts = query.get("timestamp").cloned().unwrap_or_default();
    let sign = query.get("sign").cloned().unwrap_or_default();
    assert!(
        verify_hmac(
            b"SECdingsecret",
            format!("{ts}\nSECdingsecret").as_bytes(),
            &sign
        ),
        "DingTalk signature verifies"
    );
    let body: serde_json::Value = serde_json::from_slice(&ding.body).expect("json");
    assert_eq!(body["msgtype"], "markdown");
    assert!(
        body["markdown"]["text"]
            .as_str()
            .unwrap_or_default()
            .contains("[光谷招商引资签约]("),
        "{body}"
    );

    let fei = hits
        .iter()
        .find(|h| h.path == "/feishu/hook")
        .expect("feishu got the digest");
    let body: serde_json::Value = serde_json::from_slice(&fei.body).expect("json");
    let ts = body["timestamp"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| body["timestamp"].to_string());
    let sign = body["sign"].as_str().unwrap_or_default();
    assert!(
        verify_hmac(format!("{ts}\nfeishu-secret").as_bytes(), b"", sign),
        "Feishu signature verifies: {body}"
    );
    assert!(body.to_string().contains("光谷招商引资签约"));

    let plain = hits
        .iter()
        .find(|h| h.path == "/plain")
        .expect("plain webhook got the digest");
    let body: serde_json::Value = serde_json::from_slice(&plain.body).expect("json");
    let title = body["title"].as_str().unwrap_or_default();
    assert!(
        title.starts_with("招商动态（plain） · ") && title.contains(" · 新增1条"),
        "{title}"
    );
    assert!(
        body["markdown"]
            .as_str()
            .unwrap_or_default()
            .contains("## 招商动态（plain） · ")
    );

    // The failing channel kept its item; the others did not send again.
    let again = run(&["digest"]).await.expect("digest");
    let again_out = String::from_utf8_lossy(&again.stdout);
    assert!(
        again_out.contains("ding: nothing pending") && again_out.contains("plain: nothing pending"),
        "{again_out}"
    );
    assert_eq!(robots.hits("/plain"), 1);
    assert_eq!(
        robots
            .requests()
            .iter()
            .filter(|h| h.path.starts_with("/wecom/send"))
            .count(),
        2,
        "the broken channel retried its digest"
    );
}
