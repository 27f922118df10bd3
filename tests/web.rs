//! Search and the web pages, end to end: `search` on the seed archive against a plain substring
//! scan of the store, the daemon's pages over its real listener (the same hits as `search`, an
//! article's revisions and their sentence diffs, source health, the digests sent with their
//! Message-IDs, links from the digest to the pages), the token when the listener reaches beyond
//! loopback, and the pages in headless Chromium.

mod common;

use common::{Site, Workdir, pages};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A config with an outbox digest, the listener on `listen`, and `extra` in `[settings]`.
fn config(listen: &str, extra: &str, sources: &str) -> Workdir {
    Workdir::raw(&format!(
        "[settings]\nstate_dir = \"state\"\nper_host_delay_ms = 0\nstartup_spread_secs = 0\n\
         listen = \"{listen}\"\n{extra}\n\n[digest]\nschedule = \"0 8 * * *\"\n\
         from = \"newswatch <nw@example.org>\"\nto = [\"analyst@example.org\"]\n{sources}"
    ))
}

async fn backfill_seed(w: &Workdir) -> Option<PathBuf> {
    let seed = common::seed_archive()?;
    let out = w.run(&["backfill", seed.to_str().expect("path")]).await;
    assert!(out.status.success(), "{}", common::stderr(&out));
    Some(seed)
}

/// Every stored article: id, title, body (from `export --format jsonl`).
async fn stored(w: &Workdir) -> Vec<(u64, String, String)> {
    let out = w.run(&["export", "--format", "jsonl"]).await;
    assert!(out.status.success(), "{}", common::stderr(&out));
    common::stdout(&out)
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("json line");
            (
                v["id"].as_u64().expect("id"),
                v["title"].as_str().expect("title").to_owned(),
                v["body"].as_str().expect("body").to_owned(),
            )
        })
        .collect()
}

/// `search QUERY --format jsonl --limit 1000`, as parsed lines.
async fn search_jsonl(w: &Workdir, query: &str) -> Vec<Value> {
    let out = w
        .run(&["search", query, "--format", "jsonl", "--limit", "1000"])
        .await;
    assert!(
        out.status.success(),
        "search {query}: {}",
        common::stderr(&out)
    );
    common::stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

struct Page {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

async fn get(url: &str, headers: &[(&str, &str)]) -> Page {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let mut req = client.get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    Page {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        body: resp.text().await.expect("body"),
    }
}

/// Waits until the daemon's listener answers `/healthz`.
async fn wait_listening(port: u16) {
    let started = Instant::now();
    loop {
        if let Ok(resp) = reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            && resp.status().is_success()
        {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the daemon never listened"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the daemon's index holds `n` articles and nothing waits (the `/sources` page).
async fn wait_indexed(base: &str, n: usize) {
    let started = Instant::now();
    loop {
        let page = get(&format!("{base}/sources"), &[]).await;
        if page.body.contains(&format!("{n} 篇可搜索")) && !page.body.contains("待索引") {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "the index never caught up: {}",
            page.body
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The article ids a page lists, in order (`data-id` of each card).
fn page_ids(html: &str) -> Vec<u64> {
    html.match_indices("data-id=\"")
        .filter_map(|(i, m)| {
            let rest = &html[i + m.len()..];
            rest[..rest.find('"')?].parse().ok()
        })
        .collect()
}

fn words_of_seed() -> Vec<&'static str> {
    vec![
        "营商环境",
        "招商引资",
        "算力",
        "东西湖",
        "光谷",
        "武汉",
        "项目",
        "签约",
        "数字经济",
        "5G",
        "硚口",
        "产业",
        "不存在的词语",
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn search_finds_exactly_the_articles_holding_the_word_titles_first() {
    let w = config("127.0.0.1:1", "", "");
    let Some(_) = backfill_seed(&w).await else {
        return;
    };
    let articles = stored(&w).await;
    assert!(articles.len() >= 10, "{} articles", articles.len());
    let mut partial = 0;
    for word in words_of_seed() {
        let hits = search_jsonl(&w, word).await;
        let got: Vec<u64> = hits.iter().map(|h| h["id"].as_u64().expect("id")).collect();
        let expected: BTreeSet<u64> = articles
            .iter()
            .filter(|(_, t, b)| t.contains(word) || b.contains(word))
            .map(|(id, _, _)| *id)
            .collect();
        assert_eq!(
            got.iter().copied().collect::<BTreeSet<_>>(),
            expected,
            "{word}"
        );
        assert_eq!(got.len(), expected.len(), "{word}: each article once");
        if !expected.is_empty() && expected.len() < articles.len() {
            partial += 1;
        }
        // Best first, and every article with the word in its title before any with it only in
        // the body.
        let scores: Vec<f64> = hits
            .iter()
            .map(|h| h["score"].as_f64().expect("score"))
            .collect();
        assert!(
            scores.windows(2).all(|s| s[0] >= s[1]),
            "{word}: {scores:?}"
        );
        let in_title: Vec<bool> = got
            .iter()
            .map(|id| articles.iter().any(|(i, t, _)| i == id && t.contains(word)))
            .collect();
        assert!(
            in_title.windows(2).all(|t| t[0] >= t[1]),
            "{word}: title matches first: {in_title:?}"
        );
        for h in &hits {
            for key in ["id", "title", "date", "source", "url", "snippet", "score"] {
                assert!(h.get(key).is_some(), "{key} missing: {h}");
            }
            assert_eq!(h["source"], "archive");
        }
    }
    assert!(partial >= 5, "only {partial} words split the archive");

    // Text: title, date, source, id and the snippet with the word marked (`**` in a pipe).
    let out = w.run(&["search", "营商环境", "--limit", "3"]).await;
    let text = common::stdout(&out);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let first = text.lines().next().unwrap_or_default();
    assert!(first.starts_with("1. "), "{text}");
    assert!(text.contains("**营商环境**"), "{text}");
    assert!(text.contains(" · archive · #"), "{text}");

    // Filters and bad input.
    let dated = search_jsonl(&w, "武汉").await;
    let day = dated[0]["date"].as_str().expect("date").to_owned();
    let out = w
        .run(&[
            "search", "武汉", "--since", &day, "--until", &day, "--format", "jsonl",
        ])
        .await;
    let same_day = common::stdout(&out);
    assert!(!same_day.is_empty());
    assert!(
        same_day
            .lines()
            .all(|l| l.contains(&format!("\"date\":\"{day}\""))),
        "{same_day}"
    );
    let out = w.run(&["search", "武汉", "--source", "elsewhere"]).await;
    assert!(out.status.success() && common::stdout(&out).is_empty());
    let out = w.run(&["search", "\"东西湖"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", common::stderr(&out));
    assert!(
        common::stderr(&out).contains("never closed"),
        "{}",
        common::stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn search_filters_on_the_stored_signals() {
    let w = config("127.0.0.1:1", "", "");
    let Some(_) = backfill_seed(&w).await else {
        return;
    };
    // The oracle: each article's signals as `export` prints them.
    let out = w.run(&["export", "--format", "jsonl"]).await;
    assert!(out.status.success(), "{}", common::stderr(&out));
    let articles: Vec<Value> = common::stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    let has = |a: &Value, kind: &str, v: &str| {
        a["signals"][kind]
            .as_array()
            .is_some_and(|l| l.iter().any(|x| x.as_str() == Some(v)))
    };
    let holds = |a: &Value, word: &str| {
        a["title"].as_str().is_some_and(|t| t.contains(word))
            || a["body"].as_str().is_some_and(|b| b.contains(word))
    };
    let run = |args: Vec<&'static str>| {
        let w = &w;
        async move {
            let mut all = vec!["search"];
            all.extend(args);
            all.extend(["--format", "jsonl", "--limit", "1000"]);
            let out = w.run(&all).await;
            assert!(out.status.success(), "{all:?}: {}", common::stderr(&out));
            common::stdout(&out)
                .lines()
                .map(|l| {
                    let v: Value = serde_json::from_str(l).expect("json line");
                    v["id"].as_u64().expect("id")
                })
                .collect::<BTreeSet<u64>>()
        }
    };
    let ids = |keep: &dyn Fn(&Value) -> bool| -> BTreeSet<u64> {
        articles
            .iter()
            .filter(|a| keep(a))
            .map(|a| a["id"].as_u64().expect("id"))
            .collect()
    };
    let all = ids(&|a| holds(a, "武汉"));
    let unveiled = ids(&|a| holds(a, "武汉") && has(a, "stages", "揭牌"));
    assert!(
        !unveiled.is_empty() && unveiled.len() < all.len(),
        "the seed has some unveilings"
    );
    assert_eq!(run(vec!["武汉", "--stage", "揭牌"]).await, unveiled);
    let district = ids(&|a| holds(a, "武汉") && has(a, "regions", "东湖高新区"));
    assert!(
        !district.is_empty() && district.len() < all.len(),
        "the seed names 东湖高新区 in some articles"
    );
    assert_eq!(
        run(vec!["武汉", "--region", "光谷"]).await,
        district,
        "a common name is read as the canonical one"
    );
    let big = ids(&|a| {
        holds(a, "武汉")
            && a["signals"]["amounts"].as_array().is_some_and(|l| {
                l.iter().any(|m| {
                    m["currency"].as_str() == Some("CNY")
                        && m["amount"].as_f64().is_some_and(|v| v >= 1e9)
                })
            })
    });
    let got = run(vec!["武汉", "--min-amount", "10亿元"]).await;
    assert!(!big.is_empty(), "the seed states amounts over 10亿元");
    assert!(
        big.is_subset(&got),
        "every article with 10亿元 or more in yuan is found: missing {:?}",
        big.difference(&got).collect::<Vec<_>>()
    );
    for id in &got {
        let a = articles
            .iter()
            .find(|a| a["id"].as_u64() == Some(*id))
            .expect("stored");
        let amounts = a["signals"]["amounts"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(!amounts.is_empty(), "{id}: found with no amount");
    }
    assert!(got.len() < all.len(), "the amount filter narrows");
    let out = w.run(&["search", "项目", "--region", "火星"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        common::stderr(&out).contains("火星"),
        "{}",
        common::stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn backfill_defers_indexing_and_reindex_rebuilds() {
    let w = config("127.0.0.1:1", "", "");
    let Some(seed) = common::seed_archive() else {
        return;
    };
    let out = w.run(&["backfill", seed.to_str().expect("path")]).await;
    assert!(
        common::stderr(&out).contains("articles wait to be indexed"),
        "{}",
        common::stderr(&out)
    );
    let n = stored(&w).await.len();
    let out = w.run(&["status"]).await;
    assert!(
        common::stdout(&out).contains(&format!(
            "search index: not built yet, {n} waiting to be indexed"
        )),
        "{}",
        common::stdout(&out)
    );
    let out = w.run(&["reindex"]).await;
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(
        common::stdout(&out).contains(&format!("search index rebuilt: {n} articles")),
        "{}",
        common::stdout(&out)
    );
    assert!(!search_jsonl(&w, "招商").await.is_empty());
    let out = w.run(&["status", "--format", "json"]).await;
    let status: Value = serde_json::from_str(&common::stdout(&out)).expect("status json");
    assert_eq!(status["search"]["searchable"].as_u64(), Some(n as u64));
    assert_eq!(status["search"]["waiting"].as_u64(), Some(0));
    // A second import of the same file adds nothing and leaves nothing to index.
    let out = w.run(&["backfill", seed.to_str().expect("path")]).await;
    assert!(
        !common::stderr(&out).contains("wait to be indexed"),
        "{}",
        common::stderr(&out)
    );
}

/// A site with one article whose text changes on the second fetch, for revisions.
async fn revising_site() -> Site {
    let site = Site::start().await;
    site.page(
        "/list.html",
        "text/html",
        pages::list("utf-8", &[("/a1.html", "签约")], None),
    );
    let v1 = pages::article(
        "utf-8",
        "东西湖区算力中心签约",
        "2025-07-02",
        &[
            "东西湖区与某公司签约建设算力中心。",
            "项目总投资50亿元。",
            "预计明年投产。",
        ],
    );
    let v2 = pages::article(
        "utf-8",
        "东西湖区算力中心签约落地",
        "2025-07-02",
        &[
            "东西湖区与某公司签约建设算力中心。",
            "项目总投资60亿元。",
            "预计明年投产。",
            "&lt;b&gt;将带动&lt;/b&gt;上下游企业集聚。",
        ],
    );
    site.sequence(
        "/a1.html",
        vec![
            common::Route::new(200, &[("content-type", "text/html")], v1),
            common::Route::new(200, &[("content-type", "text/html")], v2),
        ],
    );
    site
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_show_articles_search_revisions_sources_and_digests() {
    let site = revising_site().await;
    let port = common::free_port();
    let source = pages::source("dxh", &site.url("/list.html"), "recheck_days = 7");
    let w = config(
        &format!("127.0.0.1:{port}"),
        "public_url = \"https://news.example.org/\"",
        &source,
    );
    let seeded = backfill_seed(&w).await.is_some();
    // An archive of 40 more, so the front page pages, and a title that tries to be markup.
    let mut extra = String::from("-\n<script>alert(1)</script>标题\n正文。\n2024-01-01\n");
    for i in 0..40 {
        extra.push_str(&format!(
            "-\n测试文章第{i}篇\n测试正文第{i}篇。\n2024-02-01\n"
        ));
    }
    let file = w.path().join("extra.txt");
    std::fs::write(&file, extra).expect("write");
    let out = w
        .run(&[
            "backfill",
            file.to_str().expect("path"),
            "--source",
            "extra",
        ])
        .await;
    assert!(out.status.success(), "{}", common::stderr(&out));
    for _ in 0..2 {
        let out = w.run(&["crawl"]).await;
        assert!(out.status.success(), "{}", common::stderr(&out));
    }
    let articles = stored(&w).await;
    let (article_id, ..) = articles
        .iter()
        .find(|(_, t, _)| t.contains("算力中心签约"))
        .expect("the crawled article");
    let article_id = *article_id;
    // The digest links to the page; sent into the outbox, it is recorded with its Message-ID.
    let out = w.run(&["digest", "--dry-run"]).await;
    assert!(
        common::stdout(&out).contains(&format!("https://news.example.org/article/{article_id}")),
        "{}",
        common::stdout(&out)
    );
    let out = w.run(&["digest"]).await;
    assert!(out.status.success(), "{}", common::stderr(&out));

    let mut daemon = w.daemon(&[]);
    wait_listening(port).await;
    let base = format!("http://127.0.0.1:{port}");
    wait_indexed(&base, articles.len()).await;

    // `/`: newest first, paged by id, escaped.
    let front = get(&format!("{base}/"), &[]).await;
    assert_eq!(front.status, 200);
    assert!(front.body.contains("最新文章") && front.body.contains("name=\"viewport\""));
    let ids = page_ids(&front.body);
    assert_eq!(ids.len(), 30, "{}", front.body);
    assert!(ids.windows(2).all(|p| p[0] > p[1]), "{ids:?}");
    assert_eq!(ids[0], articles.iter().map(|a| a.0).max().expect("some"));
    let older = format!("/?before={}", ids[29]);
    assert!(front.body.contains(&older), "no link to older articles");
    let next = get(&format!("{base}{older}"), &[]).await;
    let next_ids = page_ids(&next.body);
    assert_eq!(next_ids.len(), articles.len() - 30);
    assert!(next_ids[0] < ids[29]);
    assert!(
        next.body
            .contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;标题")
    );
    assert!(!next.body.contains("<script>alert(1)"));

    // `/search`: the same hits, in the same order, as `search` while the daemon runs.
    for q in ["算力", "招商引资 项目", "测试", "营商环境"] {
        let cli: Vec<u64> = search_jsonl(&w, q)
            .await
            .iter()
            .map(|h| h["id"].as_u64().expect("id"))
            .take(20)
            .collect();
        let url =
            reqwest::Url::parse_with_params(&format!("{base}/search"), [("q", q)]).expect("url");
        let page = get(url.as_str(), &[]).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert_eq!(page_ids(&page.body), cli, "{q}");
        if !seeded && q != "测试" && q != "算力" {
            continue;
        }
        assert!(!cli.is_empty(), "{q}");
        assert!(page.body.contains("<mark>"), "{q}: {}", page.body);
    }
    let all = search_jsonl(&w, "测试").await.len();
    assert!(all >= 40, "{all}");
    let paged = get(&format!("{base}/search?q=%E6%B5%8B%E8%AF%95&page=2"), &[]).await;
    assert_eq!(page_ids(&paged.body).len(), (all - 20).min(20));
    assert!(paged.body.contains("上一页"), "{}", paged.body);
    let bad = get(&format!("{base}/search?q=%22open"), &[]).await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("never closed"), "{}", bad.body);

    // `/article/{id}`: the latest text, and revision 2 against revision 1.
    let page = get(&format!("{base}/article/{article_id}"), &[]).await;
    assert_eq!(page.status, 200);
    for want in [
        "东西湖区算力中心签约落地",
        "第 2 版",
        "＋ 项目总投资60亿元。",
        "－ 项目总投资50亿元。",
        "＋ &lt;b&gt;将带动&lt;&#x2f;b&gt;上下游企业集聚。",
        "标题由“东西湖区算力中心签约”改为“东西湖区算力中心签约落地”",
        &site.url("/a1.html").replace('/', "&#x2f;"),
    ] {
        assert!(page.body.contains(want), "{want}: {}", page.body);
    }
    assert_eq!(
        get(&format!("{base}/article/999999"), &[]).await.status,
        404
    );
    assert_eq!(get(&format!("{base}/article/x"), &[]).await.status, 404);

    // `/sources` and `/digests`.
    let page = get(&format!("{base}/sources"), &[]).await;
    assert!(page.body.contains("data-source=\"dxh\""), "{}", page.body);
    assert!(page.body.contains("正常"), "{}", page.body);
    let page = get(&format!("{base}/digests"), &[]).await;
    let record = std::fs::read_dir(w.path().join("state/outbox"))
        .expect("outbox")
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
        .find_map(|mail| {
            mail.lines()
                .find_map(|l| l.strip_prefix("Message-ID: ").map(str::to_owned))
        })
        .expect("a Message-ID in the mail sent");
    assert!(
        page.body
            .contains(&record.replace('<', "&lt;").replace('>', "&gt;")),
        "{record}: {}",
        page.body
    );
    assert!(page.body.contains("已发送"), "{}", page.body);
    assert!(page.body.contains(&format!("/article/{article_id}")));

    common::sigterm(&daemon);
    let status = tokio::time::timeout(Duration::from_secs(15), daemon.wait())
        .await
        .expect("the daemon stops")
        .expect("status");
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn beyond_loopback_every_page_but_healthz_needs_the_token() {
    let port = common::free_port();
    // No token: refused before anything starts.
    let w = config(&format!("0.0.0.0:{port}"), "", "");
    let out = w.run(&["validate"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", common::stderr(&out));
    assert!(
        common::stderr(&out).contains("sources.toml:5: [settings] listen")
            && common::stderr(&out).contains("web_token_file"),
        "{}",
        common::stderr(&out)
    );

    let w = config(
        &format!("0.0.0.0:{port}"),
        "web_token_file = \"web.token\"",
        "",
    );
    std::fs::write(w.path().join("web.token"), "tok-令牌-42\n").expect("token");
    let mut daemon = w.daemon(&[]);
    wait_listening(port).await;
    let base = format!("http://127.0.0.1:{port}");
    for path in [
        "/",
        "/search?q=x",
        "/article/1",
        "/sources",
        "/digests",
        "/status",
        "/metrics",
    ] {
        let page = get(&format!("{base}{path}"), &[]).await;
        assert_eq!(page.status, 401, "{path}");
        assert!(page.body.contains("需要访问令牌"), "{path}: {}", page.body);
        assert!(!page.body.contains("最新文章</h1>"), "{path}");
        let wrong = get(&format!("{base}{path}"), &[("authorization", "Bearer tok")]).await;
        assert_eq!(wrong.status, 401, "{path}");
        let cookie = get(
            &format!("{base}{path}"),
            &[("cookie", "newswatch_token=nope")],
        )
        .await;
        assert_eq!(cookie.status, 401, "{path}");
    }
    assert_eq!(get(&format!("{base}/healthz"), &[]).await.status, 200);
    let bearer = get(
        &format!("{base}/sources"),
        &[("authorization", "Bearer tok-令牌-42")],
    )
    .await;
    assert_eq!(bearer.status, 200);
    assert!(bearer.body.contains("来源状态"));
    // `?token=`: a cookie, and back to the page without the token in its address.
    let token = "tok-%E4%BB%A4%E7%89%8C-42";
    let login = get(&format!("{base}/search?q=abc&token={token}"), &[]).await;
    assert_eq!(login.status, 303);
    assert_eq!(
        login.headers.get("location").and_then(|v| v.to_str().ok()),
        Some("/search?q=abc")
    );
    let set = login
        .headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("a cookie");
    assert!(set.contains("HttpOnly"), "{set}");
    let cookie = set.split(';').next().expect("name=value");
    let page = get(&format!("{base}/search?q=abc"), &[("cookie", cookie)]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let wrong = get(&format!("{base}/?token=tok"), &[]).await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("令牌不对"));
    common::sigterm(&daemon);
    let _ = tokio::time::timeout(Duration::from_secs(15), daemon.wait()).await;
}

/// Chromium from the distribution, if installed: `None` (skipped, or failed under CI) when not.
fn chromium() -> Option<PathBuf> {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if let Some(p) = std::env::var_os("PATH")
            .map(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join(name))
                    .collect::<Vec<_>>()
            })
            .into_iter()
            .flatten()
            .find(|p| p.is_file())
        {
            return Some(p);
        }
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("chromium is missing, and CI installs it (.ci/run)");
    }
    common::skipped("chromium is not installed (apt-get install chromium fonts-noto-cjk)");
    None
}

/// Runs headless Chromium with `args` on `url`, as root in a sandbox-less container, with its
/// background traffic off (this machine has no network beyond loopback).
fn run_chromium(bin: &Path, profile: &Path, args: &[&str], url: &str) -> std::process::Output {
    let mut child = std::process::Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start chromium");
    // Bounded: a browser that hangs fails the test instead of holding it.
    let started = Instant::now();
    loop {
        if child.try_wait().expect("chromium status").is_some() {
            return child.wait_with_output().expect("chromium output");
        }
        if started.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            panic!("chromium did not finish with {url} in 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn chromium_renders_the_front_page_a_search_and_an_article() {
    let Some(bin) = chromium() else {
        return;
    };
    let site = revising_site().await;
    let port = common::free_port();
    let source = pages::source("dxh", &site.url("/list.html"), "recheck_days = 7");
    let w = config(&format!("127.0.0.1:{port}"), "", &source);
    backfill_seed(&w).await;
    for _ in 0..2 {
        let out = w.run(&["crawl"]).await;
        assert!(out.status.success(), "{}", common::stderr(&out));
    }
    let articles = stored(&w).await;
    let article_id = articles
        .iter()
        .find(|(_, t, _)| t.contains("算力中心"))
        .map(|a| a.0)
        .expect("crawled article");
    let mut daemon = w.daemon(&[]);
    wait_listening(port).await;
    let base = format!("http://127.0.0.1:{port}");
    wait_indexed(&base, articles.len()).await;

    // Screenshots go where NEWSWATCH_SCREENSHOTS says (to be looked at), else a temp folder.
    let shots = std::env::var_os("NEWSWATCH_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| w.path().join("shots"));
    std::fs::create_dir_all(&shots).expect("screenshot folder");
    let profile = tempfile::tempdir().expect("profile");
    let pages = [
        (
            "front",
            format!("{base}/"),
            vec!["最新文章", "东西湖区算力中心签约落地"],
        ),
        (
            "search",
            format!("{base}/search?q=%E7%AE%97%E5%8A%9B"),
            vec!["<mark>算力</mark>", "按相关度排序"],
        ),
        (
            "article",
            format!("{base}/article/{article_id}"),
            vec!["版本记录", "＋ 项目总投资60亿元。", "第 2 版"],
        ),
    ];
    for (name, url, wanted) in &pages {
        let out = run_chromium(&bin, profile.path(), &["--dump-dom"], url);
        let dom = String::from_utf8_lossy(&out.stdout);
        for want in wanted {
            assert!(
                dom.contains(want),
                "{name}: {want} not in the DOM Chromium built: {dom}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let png = shots.join(format!("{name}.png"));
        let _ = std::fs::remove_file(&png);
        let out = run_chromium(
            &bin,
            profile.path(),
            &[
                &format!("--screenshot={}", png.display()),
                "--window-size=412,915",
            ],
            url,
        );
        let bytes = std::fs::read(&png).unwrap_or_else(|e| {
            panic!(
                "{name}: no screenshot ({e}): {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{name}: not a PNG");
        assert!(
            bytes.len() > 10_000,
            "{name}: a blank page? {} bytes",
            bytes.len()
        );
    }
    common::sigterm(&daemon);
    let _ = tokio::time::timeout(Duration::from_secs(15), daemon.wait()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_index_catches_up_after_sigkill() {
    let Some(seed) = common::seed_archive() else {
        return;
    };
    let port = common::free_port();
    let w = config(&format!("127.0.0.1:{port}"), "", "");
    let mut daemon = w.daemon(&[]);
    wait_listening(port).await;
    let base = format!("http://127.0.0.1:{port}");
    wait_indexed(&base, 0).await;
    let pid = daemon.id().expect("pid");
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status();
    assert!(killed.is_ok_and(|s| s.success()));
    let _ = daemon.wait().await;
    // Stored while no daemon ran: the journal holds them past the index's watermark.
    let out = w.run(&["backfill", seed.to_str().expect("path")]).await;
    assert!(out.status.success(), "{}", common::stderr(&out));
    let n = stored(&w).await.len();
    let mut daemon = w.daemon(&[]);
    wait_listening(port).await;
    wait_indexed(&base, n).await;
    let page = get(&format!("{base}/search?q=%E6%8B%9B%E5%95%86"), &[]).await;
    assert!(!page_ids(&page.body).is_empty(), "{}", page.body);
    common::sigterm(&daemon);
    let _ = tokio::time::timeout(Duration::from_secs(15), daemon.wait()).await;
}
