//! Crash safety: the daemon is SIGKILLed at random moments, many times, while it crawls and
//! mails on seconds-level schedules; after each restart the store must open, every article must
//! be stored once, and every item must be mailed or still queued. Items mailed twice are counted.

mod common;

use common::{Site, Smtp, Workdir, pages, stdout};
use std::collections::HashMap;
use std::time::Duration;

const KILLS: usize = 12;

fn publish(site: &Site, n: usize) {
    let links: Vec<(String, String)> = (0..n)
        .map(|i| (format!("/c/{i}.html"), format!("{i}")))
        .collect();
    site.page(
        "/c/index.html",
        "text/html",
        pages::list("utf-8", &links, None),
    );
    for i in 0..n {
        site.page(
            &format!("/c/{i}.html"),
            "text/html",
            pages::article(
                "utf-8",
                &format!("崩溃测试文章{i:03}"),
                "2025-07-02",
                &[&format!("第{i}篇文章的正文。")],
            ),
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_at_random_moments_loses_nothing() {
    let site = Site::start().await;
    let mut smtp = Smtp::start().await;
    let source =
        pages::source("c", &site.url("/c/index.html"), "").replace("0 0 * * *", "* * * * * *");
    let w = Workdir::new(Some(smtp.port), "* * * * * *", &source);
    let mut rng = fastrand::Rng::with_seed(20261126);
    let mut published = 0;
    let mut mails = Vec::new();
    for _ in 0..KILLS {
        published += 2;
        publish(&site, published);
        let mut daemon = w.daemon(&[]);
        tokio::time::sleep(Duration::from_millis(rng.u64(300..2500))).await;
        daemon.start_kill().expect("SIGKILL");
        let _ = daemon.wait().await;
        while let Some(m) = smtp.next_mail(0).await {
            mails.push(m);
        }
        // The store must open after every kill.
        let probe = w.run(&["export", "--format", "jsonl"]).await;
        assert!(
            probe.status.success(),
            "store opens after SIGKILL: {}",
            String::from_utf8_lossy(&probe.stderr)
        );
    }
    // Let a last, undisturbed run drain the queue, then stop it properly.
    let mut daemon = w.daemon(&[]);
    tokio::time::sleep(Duration::from_secs(4)).await;
    common::sigterm(&daemon);
    let status = tokio::time::timeout(Duration::from_secs(10), daemon.wait())
        .await
        .expect("stops")
        .expect("status");
    assert!(status.success());
    while let Some(m) = smtp.next_mail(1).await {
        mails.push(m);
    }

    // Every article stored exactly once.
    let export = stdout(&w.run(&["export", "--format", "jsonl"]).await);
    let titles: Vec<String> = export
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("json")["title"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    let mut seen = HashMap::new();
    for t in &titles {
        *seen.entry(t.clone()).or_insert(0) += 1;
    }
    assert_eq!(seen.len(), published, "every published article stored");
    assert!(seen.values().all(|&n| n == 1), "stored once each: {seen:?}");

    // Every item mailed, or still queued; count what was mailed twice.
    let pending = stdout(&w.run(&["digest", "--dry-run"]).await);
    let mut mailed: HashMap<String, Vec<String>> = HashMap::new();
    for m in &mails {
        let text = m["text"].as_str().unwrap_or_default();
        let id = m["headers"]["message-id"]
            .as_str()
            .or(m["headers"]["Message-ID"].as_str())
            .unwrap_or_default()
            .to_owned();
        for t in seen.keys() {
            if text.contains(t.as_str()) {
                mailed.entry(t.clone()).or_default().push(id.clone());
            }
        }
    }
    let mut lost = Vec::new();
    for t in seen.keys() {
        if !mailed.contains_key(t) && !pending.contains(t.as_str()) {
            lost.push(t.clone());
        }
    }
    assert!(lost.is_empty(), "items neither mailed nor queued: {lost:?}");
    let twice = mailed.values().filter(|ids| ids.len() > 1).count();
    let twice_new_id = mailed
        .values()
        .filter(|ids| {
            let mut distinct: Vec<String> = ids.to_vec();
            distinct.sort();
            distinct.dedup();
            distinct.len() > 1
        })
        .count();
    eprintln!(
        "crash test: {KILLS} SIGKILLs, {published} articles, {} mails, {twice} items delivered twice ({twice_new_id} under different Message-IDs)",
        mails.len()
    );
    assert_eq!(twice_new_id, 0, "a resent digest reuses its Message-ID");
}

#[tokio::test(flavor = "multi_thread")]
async fn overdue_sources_are_spread_out_after_downtime() {
    let site = Site::start().await;
    let names: Vec<String> = (0..6).map(|i| format!("s{i}")).collect();
    let mut sources = String::new();
    for n in &names {
        site.page(
            &format!("/{n}/index.html"),
            "text/html",
            pages::list("utf-8", &[(&format!("/{n}/a.html"), "x")], None),
        );
        site.page(
            &format!("/{n}/a.html"),
            "text/html",
            pages::article(
                "utf-8",
                &format!("{n}的文章"),
                "2025-07-02",
                &[&format!("{n}的正文。")],
            ),
        );
        // Yearly: only the start-up catch-up can run them during this test.
        sources.push_str(
            &pages::source(n, &site.url(&format!("/{n}/index.html")), "")
                .replace("0 0 * * *", "0 0 1 1 *"),
        );
    }
    let w = Workdir::new(None, "0 8 * * *", &sources);
    std::fs::write(
        w.config(),
        std::fs::read_to_string(w.config())
            .expect("config")
            .replace("[settings]\n", "[settings]\nstartup_spread_secs = 3\n"),
    )
    .expect("config");
    let mut daemon = w.daemon(&[]);
    tokio::time::sleep(Duration::from_secs(6)).await;
    common::sigterm(&daemon);
    let _ = tokio::time::timeout(Duration::from_secs(10), daemon.wait()).await;
    let starts: Vec<std::time::Instant> = names
        .iter()
        .map(|n| {
            let hits: Vec<_> = site
                .requests()
                .into_iter()
                .filter(|h| h.path == format!("/{n}/index.html"))
                .collect();
            assert_eq!(hits.len(), 1, "{n} crawled once at start-up");
            hits[0].at
        })
        .collect();
    let first = starts.iter().min().copied().expect("first");
    let last = starts.iter().max().copied().expect("last");
    assert!(
        last - first >= Duration::from_millis(500),
        "spread over the window, not all at once: {:?}",
        last - first
    );
    assert!(last - first <= Duration::from_secs(4), "{:?}", last - first);
    assert_eq!(
        site.max_inflight(),
        1,
        "one host: per-host limit still holds"
    );
    assert_eq!(
        stdout(&w.run(&["export"]).await).matches("的文章").count(),
        6
    );
}
