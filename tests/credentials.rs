//! Credentials in a source URL (`http://user:password@host/…`) are used — sent to the source's
//! own origin as HTTP Basic auth — and shown nowhere: not in `crawl` (text or JSON), its logs,
//! `status` (text or JSON), `check`, the digest's footer, the daemon's logs, `/status`,
//! `/metrics` or `state/status.json`.

mod common;

use common::{Site, Smtp, Workdir, pages};
use std::process::Output;
use std::time::Duration;

const PASSWORD: &str = "Pa55w0rd-do-not-show";

/// Runs newswatch with debug logs, so every log line a URL could appear in is written.
async fn newswatch(w: &Workdir, args: &[&str]) -> Output {
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_newswatch"))
        .arg("--config")
        .arg(w.config())
        .args(args)
        .env("RUST_LOG", "newswatch=debug")
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("newswatch finished in 120 s")
        .expect("newswatch ran")
}

/// Everything a run printed.
fn printed(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_in_a_source_url_are_used_and_shown_nowhere() {
    let site = Site::start().await;
    site.page(
        "/list.html",
        "text/html",
        pages::list("utf-8", &[("/a.html", "签约")], None),
    );
    site.page(
        "/a.html",
        "text/html",
        pages::article(
            "utf-8",
            "汉阳区签约十个项目",
            "2025-07-02",
            &["签约总额五十亿元。"],
        ),
    );
    let mut smtp = Smtp::start().await;
    let closed = common::free_port();
    let listen = common::free_port();
    let extra = "max_retries = 0\nalert_after_failures = 1";
    let good = format!(
        "http://nwuser:{PASSWORD}@127.0.0.1:{}/list.html",
        site.addr.port()
    );
    let down = format!("http://nwuser:{PASSWORD}@127.0.0.1:{closed}/list.html");
    let sources = [
        pages::source("good", &good, extra),
        pages::source("down", &down, extra),
    ]
    .concat()
    .replace("0 0 * * *", "* * * * * *");
    let w = Workdir::new(Some(smtp.port), "0 8 * * *", &sources);
    let config = std::fs::read_to_string(w.config())
        .expect("config")
        .replace(
            "[settings]\n",
            &format!("[settings]\nlisten = \"127.0.0.1:{listen}\"\n"),
        );
    std::fs::write(w.config(), config).expect("config");
    let mut shown = Vec::new();

    // A crawl that succeeds for one source and fails (connection refused) for the other.
    let crawl = newswatch(&w, &["crawl"]).await;
    let out = printed(&crawl);
    assert!(out.contains("good: 1 new"), "{out}");
    assert!(
        out.contains(&format!("http://127.0.0.1:{closed}/list.html")),
        "the failing URL is named, without its credentials: {out}"
    );
    shown.push(("crawl", out));
    let list = site
        .requests()
        .into_iter()
        .find(|h| h.path == "/list.html")
        .expect("list page fetched");
    let basic = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("nwuser:{PASSWORD}")
        )
    );
    assert_eq!(
        list.header("authorization"),
        Some(basic.as_str()),
        "the credentials are sent to the source"
    );
    shown.push((
        "crawl json",
        printed(&newswatch(&w, &["crawl", "--format", "json"]).await),
    ));

    // Then the good source fails too: every source is failing and has a last error.
    site.route("/list.html", 500, &[], "broken");
    let out = printed(&newswatch(&w, &["crawl"]).await);
    assert!(out.contains("HTTP 500"), "{out}");
    shown.push(("failed crawl", out));
    shown.push((
        "failed crawl json",
        printed(&newswatch(&w, &["crawl", "--format", "json"]).await),
    ));
    let status = printed(&newswatch(&w, &["status"]).await);
    assert!(
        status.contains("FAILING") && status.contains("HTTP 500"),
        "{status}"
    );
    shown.push(("status", status));
    shown.push((
        "status json",
        printed(&newswatch(&w, &["status", "--format", "json"]).await),
    ));
    shown.push(("check", printed(&newswatch(&w, &["check", "good"]).await)));
    shown.push((
        "digest dry-run",
        printed(&newswatch(&w, &["digest", "--dry-run"]).await),
    ));
    let sent = newswatch(&w, &["digest"]).await;
    assert_eq!(sent.status.code(), Some(0), "{}", printed(&sent));
    shown.push(("digest", printed(&sent)));
    let mail = smtp.next_mail(10).await.expect("the digest is mailed");
    let footer = format!("{}\n{}", mail["text"], mail["html"]);
    assert!(
        footer.contains("Sources failing") && footer.contains(&format!("127.0.0.1:{closed}")),
        "the footer names the failing sources and their errors: {footer}"
    );
    shown.push(("mail", mail.to_string()));

    // The daemon: its logs as it crawls (and fails), /status, /metrics and its snapshot.
    let daemon = tokio::process::Command::new(env!("CARGO_BIN_EXE_newswatch"))
        .arg("--config")
        .arg(w.config())
        .arg("run")
        .env("RUST_LOG", "newswatch=debug")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("daemon");
    let client = reqwest::Client::new();
    let mut pages_served = Vec::new();
    for path in ["/status", "/metrics"] {
        let url = format!("http://127.0.0.1:{listen}{path}");
        let mut body = None;
        for _ in 0..100 {
            if let Ok(r) = client.get(&url).send().await {
                body = r.text().await.ok();
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        pages_served.push((path, body.unwrap_or_else(|| panic!("{path} answered"))));
    }
    // A few crawls, each failing and logged.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (_, status_page) = &pages_served[0];
    assert!(status_page.contains("FAILING"), "{status_page}");
    for (path, body) in pages_served {
        shown.push((path, body));
    }
    let snapshot = std::fs::read_to_string(w.path().join("state/status.json")).expect("snapshot");
    assert!(snapshot.contains("HTTP 500"), "{snapshot}");
    shown.push(("status.json", snapshot));
    common::sigterm(&daemon);
    let out = tokio::time::timeout(Duration::from_secs(15), daemon.wait_with_output())
        .await
        .expect("the daemon stops")
        .expect("its output");
    let logs = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        logs.contains("crawled") && logs.contains(&format!("127.0.0.1:{closed}")),
        "the daemon logged its crawls: {logs}"
    );
    shown.push(("daemon logs", logs));

    for (place, text) in &shown {
        assert!(
            !text.contains(PASSWORD) && !text.contains("nwuser:") && !text.contains("nwuser@"),
            "{place} shows the credentials:\n{text}"
        );
    }
}
