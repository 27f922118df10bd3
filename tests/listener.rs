//! The status listener (`[settings] listen`) under a flood of slow connections: it serves a
//! bounded number at once, drops clients that never finish their headers, keeps no idle
//! connection, and the crawls beside it keep working — here in a daemon limited to few file
//! descriptors, as a small container or a systemd unit with a low `LimitNOFILE` would be.

mod common;

use common::{Site, Workdir, pages};
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Open files the daemon may have: enough for its store, runtime and a few sockets, far
/// fewer than the slow connections below.
const FD_LIMIT: u32 = 128;
const SLOW_CONNECTIONS: usize = 400;

/// Reads what the server sends until it closes the connection (or `limit` passes): `None` if
/// the connection was still open then.
async fn until_closed(stream: &mut TcpStream, limit: Duration) -> Option<String> {
    let mut got = Vec::new();
    let read = tokio::time::timeout(limit, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok()
        .map(|()| String::from_utf8_lossy(&got).into_owned())
}

async fn articles_stored(w: &Workdir) -> u64 {
    std::fs::read_to_string(w.path().join("state/status.json"))
        .ok()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
        .and_then(|v| v["sources"]["s"]["articles_stored"].as_u64())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_connections_neither_starve_crawls_nor_the_listener() {
    let site = Site::start().await;
    let list = |n: usize| {
        let links: Vec<(String, String)> = (0..n)
            .map(|i| (format!("/a{i}.html"), format!("第{i}条")))
            .collect();
        pages::list("utf-8", &links, None)
    };
    for i in 0..2 {
        site.page(
            &format!("/a{i}.html"),
            "text/html",
            pages::article(
                "utf-8",
                &format!("签约项目第{i}批"),
                "2025-07-02",
                &["项目落户。"],
            ),
        );
    }
    site.page("/list.html", "text/html", list(1));
    let port = common::free_port();
    let source =
        pages::source("s", &site.url("/list.html"), "").replace("0 0 * * *", "* * * * * *");
    let w = Workdir::new(None, "0 8 * * *", &source);
    let config = std::fs::read_to_string(w.config())
        .expect("config")
        .replace(
            "[settings]\n",
            &format!("[settings]\nlisten = \"127.0.0.1:{port}\"\nstartup_spread_secs = 0\n"),
        );
    std::fs::write(w.config(), config).expect("config");
    // `ulimit` is the shell's own, so the limit holds for the daemon alone.
    let daemon = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -n {FD_LIMIT} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_newswatch"))
        .arg("--config")
        .arg(w.config())
        .arg("run")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("daemon");
    let addr = format!("127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let healthz = format!("http://{addr}/healthz");
    let mut up = false;
    for _ in 0..100 {
        if client
            .get(&healthz)
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "the daemon serves /healthz");
    for _ in 0..100 {
        if articles_stored(&w).await >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        articles_stored(&w).await,
        1,
        "the first crawl stored the first article"
    );

    // Slow-loris clients: each sends half a request and waits. (A listener that stops
    // accepting leaves the rest waiting in the kernel's queue until it is full.)
    let mut slow = Vec::with_capacity(SLOW_CONNECTIONS);
    for _ in 0..SLOW_CONNECTIONS {
        let connect = TcpStream::connect(&addr);
        let Ok(Ok(mut stream)) = tokio::time::timeout(Duration::from_secs(2), connect).await else {
            break;
        };
        let _ = stream
            .write_all(b"GET /status HTTP/1.1\r\nHost: newswatch\r\nX-Slow: ")
            .await;
        slow.push(stream);
    }
    // A crawl while they hang on: it must find and store the new article.
    site.page("/list.html", "text/html", list(2));
    for _ in 0..150 {
        if articles_stored(&w).await >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        articles_stored(&w).await,
        2,
        "a crawl beside the slow connections stored the new article"
    );

    // The listener ends every slow connection by itself: the ones over its cap at once (503),
    // the others once their header time is up.
    let mut busy = 0;
    for stream in &mut slow {
        let answer = until_closed(stream, Duration::from_secs(30))
            .await
            .expect("the server closed a connection that never finished its headers");
        if answer.starts_with("HTTP/1.1 503") {
            busy += 1;
        }
    }
    assert_eq!(slow.len(), SLOW_CONNECTIONS, "every connection was taken");
    assert!(
        busy >= SLOW_CONNECTIONS / 2,
        "connections over the cap are refused at once ({busy} of {SLOW_CONNECTIONS})"
    );
    drop(slow);

    // A fresh request is served, and its connection is not kept idle afterwards.
    let mut answered = None;
    for _ in 0..50 {
        let mut stream = TcpStream::connect(&addr).await.expect("connect");
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: newswatch\r\n\r\n")
            .await
            .expect("request");
        let answer = until_closed(&mut stream, Duration::from_secs(10))
            .await
            .expect("the connection is closed after its response");
        if answer.starts_with("HTTP/1.1 200") {
            answered = Some(answer);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let answered = answered.expect("a fresh request is answered 200");
    assert!(answered.ends_with("ok\n"), "{answered}");

    common::sigterm(&daemon);
    let out = tokio::time::timeout(Duration::from_secs(15), daemon.wait_with_output())
        .await
        .expect("the daemon stops")
        .expect("its output");
    let logs = String::from_utf8_lossy(&out.stderr);
    assert!(
        !logs.contains("Too many open files"),
        "the process never ran out of file descriptors: {logs}"
    );
    assert!(out.status.success(), "{logs}");
}
