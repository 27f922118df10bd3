//! Running it: the daemon's /healthz, /metrics and /status, JSON logs, and `validate` refusing
//! every kind of bad config with exit code 2 before anything starts.

mod common;

use common::{Site, Workdir, pages, stderr, stdout};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn daemon_serves_health_metrics_and_status() {
    let site = Site::start().await;
    site.page(
        "/n/index.html",
        "text/html",
        pages::list("utf-8", &[("/n/a.html", "x")], None),
    );
    site.page(
        "/n/a.html",
        "text/html",
        pages::article("utf-8", "光谷签约", "2025-07-02", &["东湖高新区签约。"]),
    );
    site.route("/down/index.html", 503, &[], "");
    let port = common::free_port();
    let sources = format!(
        "{}{}",
        pages::source("good", &site.url("/n/index.html"), "").replace("0 0 * * *", "* * * * * *"),
        pages::source(
            "down",
            &site.url("/down/index.html"),
            "max_retries = 0\nalert_after_failures = 2"
        )
        .replace("0 0 * * *", "* * * * * *")
    );
    let w = Workdir::new(None, "0 8 * * *", &sources);
    let config = std::fs::read_to_string(w.config())
        .expect("config")
        .replace(
            "[settings]\n",
            &format!("[settings]\nlisten = \"127.0.0.1:{port}\"\n"),
        );
    std::fs::write(w.config(), config).expect("config");
    let daemon = w.daemon(&["--log-format", "json"]);
    let client = reqwest::Client::new();
    let get = |path: &str| {
        let url = format!("http://127.0.0.1:{port}{path}");
        let client = client.clone();
        async move {
            for _ in 0..50 {
                if let Ok(r) = client.get(&url).send().await {
                    let status = r.status().as_u16();
                    return (status, r.text().await.unwrap_or_default());
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            (0, String::new())
        }
    };
    assert_eq!(get("/healthz").await, (200, "ok\n".to_owned()));
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (code, metrics) = get("/metrics").await;
    assert_eq!(code, 200);
    assert!(
        metrics.contains(r#"newswatch_fetches_total{source="good",status="200"}"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"newswatch_fetches_total{source="down",status="503"}"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"newswatch_articles_total{source="good",kind="new"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"newswatch_queue_depth{digest="digest"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"newswatch_last_success_timestamp_seconds{source="down"} 0"#),
        "{metrics}"
    );
    let (code, page) = get("/status").await;
    assert_eq!(code, 200);
    assert!(page.contains("<td>good</td><td>ok</td>"), "{page}");
    assert!(page.contains("<td>down</td><td>FAILING"), "{page}");
    assert!(page.contains("digest: 1 waiting"), "{page}");

    common::sigterm(&daemon);
    let out = tokio::time::timeout(Duration::from_secs(10), daemon.wait_with_output())
        .await
        .expect("stops")
        .expect("output");
    assert!(out.status.success());
    let logs = String::from_utf8_lossy(&out.stderr);
    let first: serde_json::Value =
        serde_json::from_str(logs.lines().next().unwrap_or_default()).expect("JSON log lines");
    assert!(
        first["level"].is_string() && first["fields"].is_object(),
        "{first}"
    );
    assert!(
        logs.lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
        "{logs}"
    );
}

/// Runs `validate` on a config made from a good one by `edit`; returns (exit code, stderr).
async fn validate(edit: impl Fn(String) -> String) -> (Option<i32>, String) {
    let good = format!(
        "{}{}",
        "[settings]\nstate_dir = \"state\"\n\n[digest]\nschedule = \"0 8 * * *\"\nfrom = \"nw@example.org\"\nto = [\"a@example.org\"]\n",
        pages::source("qiaokou", "http://example.gov.cn/news/index.html", "")
    );
    let w = Workdir::raw(&edit(good));
    let out = w.run(&["validate"]).await;
    assert!(
        !w.path().join("state").exists(),
        "validate creates no state"
    );
    let run = w.run(&["run"]).await;
    assert_eq!(
        run.status.code(),
        out.status.code(),
        "run refuses the same config the same way"
    );
    assert!(
        !w.path().join("state").exists(),
        "a refused run creates no state"
    );
    (out.status.code(), stderr(&out))
}

#[tokio::test(flavor = "multi_thread")]
async fn every_kind_of_bad_config_is_refused_with_its_place() {
    let w = Workdir::raw(&pages::source("ok", "http://example.gov.cn/", ""));
    let ok = w.run(&["validate"]).await;
    assert!(
        ok.status.success() && stdout(&ok).contains("OK: 1 source"),
        "{}",
        stderr(&ok)
    );

    type Edit = Box<dyn Fn(String) -> String>;
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "unknown key",
            Box::new(|c: String| c.replace("max_pages = 5", "max_pagez = 5")),
            "sources.toml:16: unknown field `max_pagez`",
        ),
        (
            "bad cron",
            Box::new(|c: String| c.replace("0 0 * * *", "0 25 * * *")),
            "source \"qiaokou\": schedule",
        ),
        (
            "invalid CSS",
            Box::new(|c: String| c.replace("ul.news-list a", "ul.news-list >> a")),
            "source \"qiaokou\": links: invalid CSS selector",
        ),
        (
            "duplicate name",
            Box::new(|c: String| {
                format!(
                    "{c}{}",
                    pages::source("qiaokou", "http://example.gov.cn/b/", "")
                )
            }),
            "duplicate source name",
        ),
        (
            "non-http URL",
            Box::new(|c: String| {
                c.replace(
                    "http://example.gov.cn/news/index.html",
                    "file:///etc/passwd",
                )
            }),
            "source \"qiaokou\": url: scheme \"file\"",
        ),
        (
            "missing template",
            Box::new(|c: String| {
                c.replace(
                    "to = [\"a@example.org\"]",
                    "to = [\"a@example.org\"]\ntemplates = \"mine\"",
                )
            }),
            "templates:",
        ),
        (
            "invalid TOML",
            Box::new(|c: String| c.replace("[digest]", "[digest")),
            "sources.toml:4:",
        ),
        (
            "bad address",
            Box::new(|c: String| c.replace("a@example.org", "not an address")),
            "digest \"digest\": to: invalid address",
        ),
    ];
    for (what, edit, expect) in cases {
        let (code, err) = validate(edit).await;
        assert_eq!(code, Some(2), "{what}: {err}");
        assert!(
            err.contains("sources.toml:") && err.contains(expect),
            "{what}: {err}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn template_syntax_error_is_refused_at_start() {
    let w = Workdir::raw(&format!(
        "[digest]\nschedule = \"0 8 * * *\"\nfrom = \"nw@example.org\"\nto = \"a@example.org\"\ntemplates = \"mine\"\n{}",
        pages::source("s", "http://example.gov.cn/", "")
    ));
    std::fs::create_dir_all(w.path().join("mine")).expect("dir");
    std::fs::write(w.path().join("mine/digest.txt"), "{{ subject }").expect("tpl");
    std::fs::write(w.path().join("mine/digest.html"), "<p>{{ subject }}</p>").expect("tpl");
    let out = w.run(&["validate"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("mine/digest.txt"), "{}", stderr(&out));
    assert!(!w.path().join("state").exists());
}
