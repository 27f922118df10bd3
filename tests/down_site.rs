//! A site that is down must never read as healthy: one answering 503 to everything, robots.txt
//! included, fails each crawl (exit 1, naming the cause) and after `alert_after_failures` crawls
//! reads as failing in `status`, in `/metrics` and in the digest footer.

mod common;

use common::{Route, Site, Smtp, Workdir, pages, stderr, stdout};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn a_site_answering_503_to_everything_is_failing_everywhere() {
    let down = Site::start().await;
    down.sequence("/*", vec![Route::new(503, &[], "Service Unavailable")]);
    // A healthy source on another host, so the digest has something to send.
    let good = Site::start().await;
    good.page(
        "/n/index.html",
        "text/html",
        pages::list("utf-8", &[("/n/a.html", "x")], None),
    );
    good.page(
        "/n/a.html",
        "text/html",
        pages::article(
            "utf-8",
            "光谷签约",
            "2025-07-02",
            &["东湖高新区签约十个项目。"],
        ),
    );
    let mut smtp = Smtp::start().await;
    let port = common::free_port();
    let sources = format!(
        "{}{}",
        pages::source(
            "down",
            &down.url("/news/index.html"),
            "max_retries = 0\nalert_after_failures = 3"
        ),
        pages::source("good", &good.url("/n/index.html"), "")
    );
    let w = Workdir::new(Some(smtp.port), "0 8 * * *", &sources);

    for n in 1..=3 {
        let out = w.run(&["crawl", "down"]).await;
        let s = stdout(&out);
        assert_eq!(
            out.status.code(),
            Some(1),
            "crawl {n} fails: {s}{}",
            stderr(&out)
        );
        assert!(
            s.contains("down: 0 new") && s.contains("source failed"),
            "crawl {n}: {s}"
        );
        assert!(
            s.contains("robots.txt unavailable") && s.contains("HTTP 503"),
            "crawl {n} names the cause: {s}"
        );
        assert!(!s.contains("blocked by robots.txt"), "not a policy: {s}");
    }
    assert_eq!(
        down.hits("/news/index.html"),
        0,
        "nothing on the site is fetched while its robots.txt fails"
    );

    // The same crawl, machine-readable.
    let out = w.run(&["crawl", "--format", "json", "down"]).await;
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value =
        serde_json::from_str(stdout(&out).trim()).expect("one JSON object per source");
    assert_eq!(report["source"], "down");
    assert_eq!(report["health"], "failed");
    assert_eq!(report["ok"], false);
    let entry = &report["pages"][0];
    assert_eq!(entry["url"], down.url("/news/index.html"));
    assert_eq!(entry["outcome"]["kind"], "failed");
    assert_eq!(entry["outcome"]["error"]["kind"], "robots_unavailable");
    assert_eq!(entry["outcome"]["error"]["status"], 503);

    let out = w.run(&["crawl", "good"]).await;
    assert!(out.status.success(), "{}", stdout(&out));

    let out = w.run(&["status", "--format", "json"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status JSON");
    let source = |name: &str| {
        status["sources"]
            .as_array()
            .and_then(|all| all.iter().find(|s| s["name"] == name))
            .cloned()
            .unwrap_or_default()
    };
    let failing = source("down");
    assert_eq!(failing["health"], "failing", "{status}");
    assert_eq!(failing["consecutive_failures"], 4);
    assert_eq!(failing["alert_after_failures"], 3);
    assert_eq!(failing["last_success"], serde_json::Value::Null);
    assert!(
        failing["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("robots.txt unavailable") && e.contains("HTTP 503")),
        "{failing}"
    );
    assert_eq!(source("good")["health"], "ok");
    let text = stdout(&w.run(&["status"]).await);
    assert!(text.contains("health:               FAILING"), "{text}");

    // The digest footer.
    let out = w.run(&["digest"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let mail = smtp.next_mail(10).await.expect("digest mail");
    let body = mail["text"].as_str().unwrap_or_default();
    assert!(body.contains("Sources failing"), "{body}");
    assert!(
        body.contains("! down: 4 failed crawls in a row (last success: never)")
            && body.contains("robots.txt unavailable"),
        "{body}"
    );
    assert!(!body.contains("! good"), "{body}");

    // /metrics of the daemon.
    let config = std::fs::read_to_string(w.config())
        .expect("config")
        .replace(
            "[settings]\n",
            &format!("[settings]\nlisten = \"127.0.0.1:{port}\"\n"),
        );
    std::fs::write(w.config(), config).expect("config");
    let daemon = w.daemon(&[]);
    let client = reqwest::Client::new();
    let mut metrics = String::new();
    for _ in 0..100 {
        if let Ok(r) = client
            .get(format!("http://127.0.0.1:{port}/metrics"))
            .send()
            .await
        {
            metrics = r.text().await.unwrap_or_default();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        metrics.contains(r#"newswatch_source_failing{source="down"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"newswatch_source_failing{source="good"} 0"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"newswatch_consecutive_failures{source="down"} 4"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"newswatch_last_success_timestamp_seconds{source="down"} 0"#),
        "{metrics}"
    );
    common::sigterm(&daemon);
    let out = tokio::time::timeout(Duration::from_secs(10), daemon.wait_with_output())
        .await
        .expect("stops")
        .expect("output");
    assert!(out.status.success());
}
