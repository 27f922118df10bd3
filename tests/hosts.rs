//! What one source may touch: its canonical links, links, redirects and re-checks stay on its
//! own hosts (`allowed_hosts`), it never takes another source's URLs, and its headers go only
//! to its own origin.
//!
//! Two host names that both reach loopback stand for two hosts: `localhost` and `127.0.0.1`,
//! each with fixture sites on ports of their own (a port alone makes another origin, not
//! another host).

mod common;

use common::{Hit, Route, Site, Workdir, pages, stdout};

fn article(title: &str, text: &str) -> String {
    pages::article("utf-8", title, "2025-07-02", &[text])
}

/// `article` naming `canonical` as its canonical URL.
fn with_canonical(title: &str, text: &str, canonical: &str) -> String {
    article(title, text).replace(
        "<title>",
        &format!("<link rel=\"canonical\" href=\"{canonical}\"><title>"),
    )
}

fn list(links: &[&str]) -> String {
    let links: Vec<(&str, &str)> = links.iter().map(|l| (*l, "链接")).collect();
    pages::list("utf-8", &links, None)
}

/// `site`'s `path` as reached through the host name `localhost`.
fn localhost(site: &Site, path: &str) -> String {
    format!("http://localhost:{}{path}", site.addr.port())
}

/// The JSON lines `export --format jsonl` prints.
async fn exported(w: &Workdir) -> Vec<serde_json::Value> {
    stdout(&w.run(&["export", "--format", "jsonl", "--revisions"]).await)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_canonical_link_to_another_host_is_not_believed_nor_rechecked() {
    let portal = Site::start().await;
    let admin = Site::start().await;
    let admin_page = admin.url("/admin/users");
    portal.page("/list.html", "text/html", list(&["/a1.html"]));
    portal.page(
        "/a1.html",
        "text/html",
        with_canonical(
            "硚口区招商引资签约仪式举行",
            "签约项目十二个，总投资八十亿元。",
            &admin_page,
        ),
    );
    admin.page(
        "/admin/users",
        "text/html",
        article(
            "后台用户管理",
            "管理员 root 密码重置链接，内部资料，请勿外传。",
        ),
    );
    let source = pages::source(
        "portal",
        &localhost(&portal, "/list.html"),
        "recheck_days = 7\nheaders = { Cookie = \"session=portal-only\" }",
    );
    let w = Workdir::new(None, "0 8 * * *", &source);
    let first = w.run(&["crawl"]).await;
    assert_eq!(first.status.code(), Some(0), "{}", stdout(&first));
    // The re-check of a later crawl fetches the stored URL again.
    let second = w.run(&["crawl"]).await;
    assert_eq!(second.status.code(), Some(0), "{}", stdout(&second));

    assert!(
        admin.requests().is_empty(),
        "the admin host was never asked for anything: {:?}",
        admin.requests()
    );
    let rows = exported(&w).await;
    assert_eq!(
        rows.len(),
        1,
        "one article, no revision from elsewhere: {rows:?}"
    );
    assert_eq!(rows[0]["url"], localhost(&portal, "/a1.html"), "{rows:?}");
    assert_eq!(rows[0]["title"], "硚口区招商引资签约仪式举行");
    let digest = stdout(&w.run(&["digest", "--dry-run"]).await);
    assert!(
        !digest.contains("后台") && !digest.contains(&admin_page),
        "{digest}"
    );
    assert!(digest.contains("硚口区招商引资签约仪式举行"), "{digest}");
    assert_eq!(
        portal.hits("/a1.html"),
        2,
        "read once, re-checked once on its own host"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_source_cannot_claim_another_sources_urls() {
    let official = Site::start().await;
    let hostile = Site::start().await;
    official.page("/list.html", "text/html", list(&["/news/1.html"]));
    official.page(
        "/news/1.html",
        "text/html",
        article("东西湖区发布营商环境新政", "十条措施支持企业发展。"),
    );
    // Two hostile pages name the official source's next two (not yet published) articles as
    // their canonical URLs; the second source even lists the official host as allowed.
    hostile.page("/h/list.html", "text/html", list(&["/h/1.html"]));
    hostile.page(
        "/h/1.html",
        "text/html",
        with_canonical(
            "伪造公告甲",
            "伪造的招商公告，请把保证金汇入以下账户。",
            &official.url("/news/2.html"),
        ),
    );
    hostile.page("/g/list.html", "text/html", list(&["/g/1.html"]));
    hostile.page(
        "/g/1.html",
        "text/html",
        with_canonical(
            "伪造公告乙",
            "另一则伪造的公告，联系电话为假冒号码。",
            &official.url("/news/3.html"),
        ),
    );
    let sources = [
        pages::source("official", &official.url("/list.html"), ""),
        pages::source("hostile", &localhost(&hostile, "/h/list.html"), ""),
        pages::source(
            "hostile-listing",
            &localhost(&hostile, "/g/list.html"),
            "allowed_hosts = [\"127.0.0.1\"]",
        ),
    ]
    .concat();
    let w = Workdir::new(None, "0 8 * * *", &sources);
    let out = w.run(&["crawl"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));

    official.page(
        "/list.html",
        "text/html",
        list(&["/news/1.html", "/news/2.html", "/news/3.html"]),
    );
    official.page(
        "/news/2.html",
        "text/html",
        article("东西湖区招商引资项目集中签约", "二十个项目签约落户。"),
    );
    official.page(
        "/news/3.html",
        "text/html",
        article("东西湖区优化审批流程", "审批时限压缩一半。"),
    );
    let out = w.run(&["crawl", "official"]).await;
    assert!(
        stdout(&out).starts_with("official: 2 new"),
        "the official articles are new, not known: {}",
        stdout(&out)
    );
    assert_eq!(official.hits("/news/2.html"), 1);
    assert_eq!(official.hits("/news/3.html"), 1);
    for row in exported(&w).await {
        let url = row["url"].as_str().unwrap_or_default();
        if url.starts_with(&official.url("/")) {
            assert_eq!(row["source"], "official", "{row}");
            assert!(
                !row["title"].as_str().unwrap_or_default().contains("伪造"),
                "hostile text under an official URL: {row}"
            );
        }
    }
    let digest = stdout(&w.run(&["digest", "--dry-run"]).await);
    for forged in ["伪造公告甲", "伪造公告乙"] {
        let line = digest
            .lines()
            .skip_while(|l| !l.contains(forged))
            .take(4)
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            !line.contains(&official.url("/")),
            "{forged} shown under an official URL: {digest}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn links_redirects_and_rechecks_to_other_hosts_are_a_policy_not_a_failure() {
    let portal = Site::start().await;
    let elsewhere = Site::start().await;
    let off_link = elsewhere.url("/other.html");
    portal.page(
        "/list.html",
        "text/html",
        list(&["/own.html", &off_link, "/jump.html"]),
    );
    portal.page("/own.html", "text/html", article("本站文章", "本站正文。"));
    portal.route(
        "/jump.html",
        302,
        &[("location", &elsewhere.url("/landing.html"))],
        "",
    );
    elsewhere.page(
        "/other.html",
        "text/html",
        article("外站文章", "外站正文。"),
    );
    elsewhere.page(
        "/landing.html",
        "text/html",
        article("跳转落地页", "跳转后的正文。"),
    );
    let list_url = localhost(&portal, "/list.html");
    let w = Workdir::new(
        None,
        "0 8 * * *",
        &pages::source("portal", &list_url, "recheck_days = 7"),
    );
    let out = w.run(&["crawl", "--format", "json"]).await;
    let report: serde_json::Value =
        serde_json::from_str(stdout(&out).trim()).expect("one JSON report");
    assert_eq!(
        out.status.code(),
        Some(0),
        "a policy, not a failure: {report}"
    );
    assert_eq!(report["health"], "ok", "{report}");
    assert_eq!(report["counts"]["new"], 1, "{report}");
    assert_eq!(report["counts"]["off_host"], 2, "{report}");
    let outcome = |url: &str| {
        report["articles"]
            .as_array()
            .and_then(|a| a.iter().find(|r| r["url"] == url))
            .map(|r| r["outcome"].clone())
            .unwrap_or_else(|| panic!("{url} not in {report}"))
    };
    for url in [off_link.clone(), localhost(&portal, "/jump.html")] {
        let o = outcome(&url);
        assert_eq!(o["kind"], "skipped", "{url}: {o}");
        assert_eq!(o["policy"], "off_host", "{url}: {o}");
        assert_eq!(o["host"], "127.0.0.1", "{url}: {o}");
    }
    assert!(
        elsewhere.requests().is_empty(),
        "nothing fetched from the other host, not even robots.txt: {:?}",
        elsewhere.requests()
    );
    let text = stdout(&w.run(&["crawl"]).await);
    assert!(text.contains("2 on other hosts (allowed_hosts)"), "{text}");
    assert!(
        text.contains(&format!("skipped {off_link}: host 127.0.0.1 is not")),
        "{text}"
    );

    // Listed in allowed_hosts, the other host is read; taken off the list again, what was
    // stored from it is not re-checked there.
    let plain = std::fs::read_to_string(w.config()).expect("config");
    let config = plain.replace(
        "recheck_days = 7\n",
        "recheck_days = 7\nallowed_hosts = [\"127.0.0.1\"]\n",
    );
    std::fs::write(w.config(), &config).expect("config");
    assert!(config.contains("allowed_hosts"), "{config}");
    let out = w.run(&["crawl"]).await;
    assert!(
        stdout(&out).starts_with("portal: 2 new"),
        "the other host's pages are read once allowed: {}",
        stdout(&out)
    );
    assert_eq!(elsewhere.hits("/other.html"), 1);
    assert_eq!(elsewhere.hits("/landing.html"), 1);
    std::fs::write(w.config(), &plain).expect("config");
    let before = elsewhere.requests().len();
    let out = w.run(&["crawl", "--format", "json"]).await;
    let report: serde_json::Value =
        serde_json::from_str(stdout(&out).trim()).expect("one JSON report");
    let recheck = report["rechecks"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["url"] == off_link))
        .unwrap_or_else(|| panic!("re-check of {off_link} reported: {report}"));
    assert_eq!(recheck["outcome"]["policy"], "off_host", "{report}");
    assert_eq!(
        elsewhere.requests().len(),
        before,
        "no re-check on the other host: {:?}",
        &elsewhere.requests()[before..]
    );
}

/// Whether a request carried any of the source's own headers.
fn carries_secrets(hit: &Hit) -> bool {
    hit.header("cookie").is_some()
        || hit.header("authorization").is_some()
        || hit.header("x-api-key").is_some()
}

#[tokio::test(flavor = "multi_thread")]
async fn headers_go_only_to_the_sources_own_origin() {
    let own = Site::start().await;
    let other_port = Site::start().await;
    let own_list = own.url("/list.html");
    own.page(
        "/list.html",
        "text/html",
        list(&[
            "/a.html",
            &other_port.url("/b.html"),
            &localhost(&own, "/c.html"),
            "/r.html",
        ]),
    );
    own.page("/a.html", "text/html", article("本站", "本站的正文。"));
    own.page(
        "/c.html",
        "text/html",
        article("同机另一主机名", "另一主机名的正文。"),
    );
    own.route(
        "/r.html",
        302,
        &[("location", &other_port.url("/r2.html"))],
        "",
    );
    other_port.page(
        "/b.html",
        "text/html",
        article("另一端口", "另一端口的正文。"),
    );
    other_port.page(
        "/r2.html",
        "text/html",
        article("跳转目标", "跳转目标的正文。"),
    );
    other_port.sequence(
        "/robots.txt",
        vec![Route::new(
            200,
            &[("content-type", "text/plain")],
            "User-agent: *\nAllow: /\n",
        )],
    );
    let extra = "allowed_hosts = [\"localhost\"]\n\
                 headers = { Cookie = \"session=s3cret\", Authorization = \"Bearer t0ken\", X-Api-Key = \"k3y\" }";
    let w = Workdir::new(None, "0 8 * * *", &pages::source("s", &own_list, extra));
    let out = w.run(&["crawl"]).await;
    assert!(
        stdout(&out).starts_with("s: 4 new"),
        "every page read: {}",
        stdout(&out)
    );

    let own_host = format!("127.0.0.1:{}", own.addr.port());
    let home: Vec<Hit> = own
        .requests()
        .into_iter()
        .filter(|h| h.header("host") == Some(&own_host))
        .collect();
    assert!(
        home.iter().any(|h| h.path == "/a.html")
            && home.iter().all(|h| {
                h.header("cookie") == Some("session=s3cret")
                    && h.header("authorization") == Some("Bearer t0ken")
                    && h.header("x-api-key") == Some("k3y")
            }),
        "the source's own origin gets its headers: {home:?}"
    );
    let elsewhere: Vec<Hit> = own
        .requests()
        .into_iter()
        .filter(|h| h.header("host") != Some(&own_host))
        .chain(other_port.requests())
        .collect();
    assert!(
        elsewhere.iter().any(|h| h.path == "/robots.txt")
            && elsewhere.iter().any(|h| h.path == "/b.html")
            && elsewhere.iter().any(|h| h.path == "/c.html")
            && elsewhere.iter().any(|h| h.path == "/r2.html"),
        "{elsewhere:?}"
    );
    let leaked: Vec<&Hit> = elsewhere.iter().filter(|h| carries_secrets(h)).collect();
    assert!(
        leaked.is_empty(),
        "headers sent beyond the source's origin: {leaked:?}"
    );
}
