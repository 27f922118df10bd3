//! What the commands print when the world is unkind: a reader that closes the pipe early
//! (`| head`), and URLs of 100 KB in errors and logs.

mod common;

use common::{Site, Workdir, pages, stderr, stdout};
use std::time::Duration;
use tokio::io::AsyncReadExt as _;

/// Runs `newswatch args…`, reads the first bytes of its output and closes the pipe, as
/// `| head -c 16` does; returns the exit code and what it wrote to stderr.
async fn cut_short(w: &Workdir, args: &[&str]) -> (Option<i32>, String) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_newswatch"))
        .arg("--config")
        .arg(w.config())
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn");
    let mut out = child.stdout.take().expect("stdout");
    let mut first = [0u8; 16];
    out.read_exact(&mut first).await.expect("some output");
    drop(out);
    let done = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("ends")
        .expect("output");
    (done.status.code(), stderr(&done))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_closed_pipe_ends_every_command_quietly() {
    let w = Workdir::new(None, "0 8 * * *", "");
    // Enough for every command's output to outgrow the pipe's buffer.
    let archive: String = (0..3000)
        .map(|i| format!("-\n第{i}号文章的标题\n第{i}篇正文，讲招商引资和营商环境。\n2025-07-02\n"))
        .collect();
    let out = w
        .run_with_stdin(&["backfill", "-", "--notify"], Some(archive.as_bytes()))
        .await;
    assert!(out.status.success(), "{}", stderr(&out));
    for args in [
        &["digest", "--dry-run"][..],
        &["export"],
        &["export", "--format", "jsonl", "--revisions"],
    ] {
        let (code, err) = cut_short(&w, args).await;
        assert_eq!((code, err.as_str()), (Some(0), ""), "{args:?}");
    }
    // A backup cut short is not a backup: said once, and a failure.
    let (code, err) = cut_short(&w, &["backup", "-"]).await;
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(
        err.trim(),
        "newswatch: backup: standard output was closed before the backup was complete"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_100_kb_url_is_shown_once_and_short() {
    let site = Site::start().await;
    // 60 KB: the longest a request line may be (http's URI limit is 64 KiB) is served 503.
    let served = format!("/{}", "a".repeat(60_000));
    site.route(&served, 503, &[], "down");
    let long_ok = format!("{}{served}", site.url(""));
    let long_refused = format!(
        "http://127.0.0.1:{}/{}",
        common::free_port(),
        "a".repeat(100_000)
    );
    let sources = format!(
        "{}{}",
        pages::source("served", &long_ok, "max_retries = 0"),
        pages::source("refused", &long_refused, "max_retries = 0")
    );
    let w = Workdir::new(None, "0 8 * * *", &sources);
    let long = "a".repeat(1000);
    for format in ["text", "json"] {
        let out = w.run(&["crawl", "--format", format]).await;
        assert_eq!(out.status.code(), Some(1));
        let (text, err) = (stdout(&out), stderr(&out));
        let messages: Vec<String> = if format == "json" {
            // The URL itself is data in `pages`; messages name it short.
            text.lines()
                .map(|l| {
                    let v: serde_json::Value = serde_json::from_str(l).expect("json");
                    v["error"]["message"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned()
                })
                .collect()
        } else {
            text.lines().map(str::to_owned).collect()
        };
        assert_eq!(messages.len(), 2, "{format}: {text}");
        for m in &messages {
            assert!(!m.contains(&long), "{format}: {}", &m[..m.len().min(500)]);
            assert_eq!(m.matches("characters left out").count(), 1, "{format}: {m}");
            assert!(m.len() < 600, "{format}: {} bytes: {m}", m.len());
        }
        assert!(
            messages.iter().any(|m| m.contains("HTTP 503"))
                && messages.iter().any(|m| m.contains("Connection refused")),
            "{messages:?}"
        );
        assert!(!err.contains(&long), "{format}: logs: {}", err.len());
    }
    let status = stdout(&w.run(&["status"]).await);
    assert!(!status.contains(&long), "status: {} bytes", status.len());
    assert!(status.len() < 3000, "status: {status}");
}
