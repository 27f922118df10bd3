//! Stalls: many sources whose sites never answer (a listener that accepts and says nothing) or
//! refuse (a closed port), crawled together. Crawls must keep completing — `crawl` returns a
//! report for every source, every time; the daemon's crawl counter keeps rising tick after tick —
//! and SIGTERM must end the daemon within seconds, whatever is in flight.
//!
//! Found by issue 10: concurrent store flushes (sled 0.34's `flush_async`) deadlocked, after
//! which every crawl task held its source's lock forever and shutdown waited on a flush that
//! never returned.

mod common;

use common::{Workdir, pages};
use std::time::{Duration, Instant};

/// Listeners on 127.0.0.1 that accept every connection and never send a byte. The accepted
/// sockets are held until the test's runtime ends.
async fn silent_hosts(n: usize) -> Vec<String> {
    let mut urls = Vec::new();
    for _ in 0..n {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        urls.push(format!("http://{addr}/list.html"));
    }
    urls
}

/// `n` sources on a two-second schedule, half on silent hosts and half on closed ports, with a
/// one-second request timeout so the silent ones time out inside the test. With `hang`, the
/// sources on half of the silent hosts wait two minutes instead: their requests are still in
/// flight when the daemon is told to stop.
async fn workdir(n: usize, listen: Option<u16>, hang: bool) -> Workdir {
    let silent = silent_hosts(8).await;
    let closed: Vec<String> = (0..8)
        .map(|_| format!("http://127.0.0.1:{}/list.html", common::free_port()))
        .collect();
    let sources: String = (0..n)
        .map(|i| {
            let (url, extra) = if i % 2 == 0 {
                let host = i / 2 % silent.len();
                let extra = if hang && host < silent.len() / 2 {
                    "request_timeout_secs = 120"
                } else {
                    ""
                };
                (&silent[host], extra)
            } else {
                (&closed[i / 2 % closed.len()], "")
            };
            pages::source(&format!("s{i:03}"), url, extra).replace("0 0 * * *", "*/2 * * * * *")
        })
        .collect();
    let w = Workdir::new(None, "0 8 * * *", &sources);
    let listen = listen.map_or(String::new(), |p| format!("listen = \"127.0.0.1:{p}\"\n"));
    let config = std::fs::read_to_string(w.config())
        .expect("config")
        .replace(
            "[settings]\n",
            &format!(
                "[settings]\n{listen}request_timeout_secs = 1\nmax_retries = 0\nstartup_spread_secs = 0\nconcurrency = 64\n"
            ),
        );
    std::fs::write(w.config(), config).expect("config");
    w
}

/// `crawl` of every source, three times over: each run ends with one JSON report per source.
async fn crawl_keeps_completing(n: usize) {
    let w = workdir(n, None, false).await;
    for round in 0..3 {
        let started = Instant::now();
        let out = w.run(&["crawl", "--format", "json"]).await;
        let reports: Vec<serde_json::Value> = common::stdout(&out)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        assert_eq!(
            reports.len(),
            n,
            "round {round}: a report per source; stderr: {}",
            common::stderr(&out)
        );
        assert!(
            reports.iter().all(|r| r["health"] == "failed"),
            "round {round}: every source is down"
        );
        assert_eq!(out.status.code(), Some(1), "round {round}");
        eprintln!(
            "crawl of {n} sources, round {round}: {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn crawl_of_60_down_sources_keeps_completing() {
    crawl_keeps_completing(60).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn crawl_of_400_down_sources_keeps_completing() {
    crawl_keeps_completing(400).await;
}

/// Reads a log to its end, keeping the last lines.
async fn tail(stderr: tokio::process::ChildStderr) -> Vec<String> {
    use tokio::io::AsyncBufReadExt as _;
    let mut lines = tokio::io::BufReader::new(stderr).lines();
    let mut last = std::collections::VecDeque::new();
    while let Ok(Some(line)) = lines.next_line().await {
        if last.len() == 20 {
            last.pop_front();
        }
        last.push_back(line);
    }
    last.into()
}

/// The sum of `newswatch_crawls_total` over every source and result.
async fn crawls_total(client: &reqwest::Client, port: u16) -> Option<u64> {
    let text = client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    Some(
        text.lines()
            .filter(|l| l.starts_with("newswatch_crawls_total{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>() as u64,
    )
}

/// The daemon with `n` down sources: its crawl count rises over several ticks, and SIGTERM
/// ends it within a few seconds, with a quarter of its crawls still waiting on a silent host.
async fn daemon_keeps_crawling(n: usize) {
    let port = common::free_port();
    let w = workdir(n, Some(port), true).await;
    let mut daemon = w.daemon(&[]);
    // Read its log as it comes: a full pipe would stop the daemon, not the bug under test.
    let log = tokio::spawn(tail(daemon.stderr.take().expect("stderr")));
    let client = reqwest::Client::new();
    let mut seen = Vec::new();
    // Past the first ticks (where the original stall set in), then three more windows.
    tokio::time::sleep(Duration::from_secs(4)).await;
    for window in 0..4 {
        if window > 0 {
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
        seen.push(crawls_total(&client, port).await);
    }
    let counts: Vec<u64> = seen.iter().map(|c| c.unwrap_or(0)).collect();
    eprintln!("daemon with {n} sources, crawls counted every 3 s: {counts:?}");
    assert!(
        seen.iter().all(Option::is_some),
        "/metrics answers: {seen:?}"
    );
    assert!(
        counts.windows(2).all(|w| w[1] > w[0]),
        "crawls keep completing in every window: {counts:?}"
    );
    assert!(
        counts[3] - counts[0] >= n as u64,
        "every source is crawled again: {counts:?}"
    );
    let asked = Instant::now();
    common::sigterm(&daemon);
    let status = tokio::time::timeout(Duration::from_secs(10), daemon.wait())
        .await
        .expect("the daemon exits within seconds of SIGTERM")
        .expect("status");
    let took = asked.elapsed();
    eprintln!(
        "daemon with {n} sources stopped {:.1} s after SIGTERM",
        took.as_secs_f64()
    );
    let last = log.await.expect("log reader");
    assert!(
        status.success(),
        "exit 0; the log ends:\n{}",
        last.join("\n")
    );
    assert!(
        last.iter().any(|l| l.contains("abandoned for shutdown"))
            && last.iter().any(|l| l.contains("bye")),
        "crawls in flight were left behind, and the store flushed; the log ends:\n{}",
        last.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn daemon_with_60_down_sources_keeps_crawling_and_stops() {
    daemon_keeps_crawling(60).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn daemon_with_400_down_sources_keeps_crawling_and_stops() {
    daemon_keeps_crawling(400).await;
}
