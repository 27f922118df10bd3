//! Input that lies or overwhelms: archives with invalid UTF-8 or in GBK, records with a line of
//! tens of megabytes and tens of thousands of footer lines, and titles and bodies carrying
//! terminal escape sequences, control characters and invisible characters, from an archive and
//! from a real page. Each is reported by `FILE:LINE` (or cleaned) and the rest goes on.

mod common;

use common::{Site, Workdir, gbk, pages, stderr, stdout};
use std::io::Write as _;

const CONFIG: &str = "[settings]\nstate_dir = \"state\"\n\n[digest]\nschedule = \"0 8 * * *\"\nfrom = \"nw@example.org\"\nto = [\"a@example.org\"]\n";

/// Every stored article as `(title, body)`, in the order stored.
async fn stored(w: &Workdir) -> Vec<(String, String)> {
    let out = w.run(&["export", "--format", "jsonl"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("jsonl");
            (
                v["title"].as_str().unwrap_or_default().to_owned(),
                v["body"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn invalid_utf8_is_reported_by_line_and_the_import_goes_on() {
    let w = Workdir::raw(CONFIG);
    let mut file = Vec::new();
    file.extend_from_slice("-\n第一篇\n正文一。\n2025-07-01\n".as_bytes());
    file.extend_from_slice(b"-\n\xff\xfe broken title\n\xe6\xad\xa3\xe6\x96\x87\n2025-07-02\n");
    file.extend_from_slice("-\n第三篇\n正文三。\n2025-07-03\n".as_bytes());
    file.extend_from_slice(b"footer \xc3\x28 end\n");
    file.extend_from_slice("-\n第四篇\n正文四。\n2025-07-04\n".as_bytes());
    let path = w.path().join("old.txt");
    std::fs::write(&path, &file).expect("archive");
    let out = w.run(&["backfill", &path.to_string_lossy()]).await;
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        stdout(&out).contains("3 imported, 0 duplicate, 1 rejected, 1 skipped"),
        "{}",
        stdout(&out)
    );
    assert!(
        err.contains("old.txt:6: rejected: not valid UTF-8 at byte 1 of the line")
            && err.contains("--encoding"),
        "{err}"
    );
    assert!(
        err.contains("old.txt:13: skipped") && err.contains("not valid UTF-8 at byte 8"),
        "{err}"
    );
    let titles: Vec<String> = stored(&w).await.into_iter().map(|(t, _)| t).collect();
    assert_eq!(titles, ["第一篇", "第三篇", "第四篇"]);
}

#[tokio::test]
async fn a_gbk_archive_is_read_with_encoding_or_detected() {
    let text: String = (0..30)
        .map(|i| {
            format!(
                "-\n硚口区招商第{i}号\n硚口区第{i}篇正文，讲营商环境。\n2025-07-0{}\n",
                i % 9 + 1
            )
        })
        .collect();
    let utf8 = Workdir::raw(CONFIG);
    let out = utf8
        .run_with_stdin(&["backfill", "-"], Some(text.as_bytes()))
        .await;
    assert!(stdout(&out).contains("30 imported"), "{}", stderr(&out));
    let want = stored(&utf8).await;

    let bytes = gbk(&text);
    let plain = Workdir::raw(CONFIG);
    let out = plain.run_with_stdin(&["backfill", "-"], Some(&bytes)).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("0 imported, 0 duplicate, 30 rejected"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        stderr(&out).matches("--encoding").count(),
        1,
        "the hint is given once: {}",
        stderr(&out)
    );
    for args in [
        &["backfill", "-", "--encoding", "gbk"][..],
        &["backfill", "-", "--encoding", "auto"],
    ] {
        let w = Workdir::raw(CONFIG);
        let out = w.run_with_stdin(args, Some(&bytes)).await;
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert!(
            stdout(&out).contains("30 imported, 0 duplicate, 0 rejected, 0 skipped"),
            "{args:?}: {}",
            stdout(&out)
        );
        assert_eq!(
            stored(&w).await,
            want,
            "{args:?}: the same articles as UTF-8"
        );
    }
    let out = plain
        .run_with_stdin(&["backfill", "-", "--encoding", "utf-16le"], Some(&bytes))
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("convert the file to UTF-8"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn a_huge_line_and_many_footer_lines_cost_no_memory() {
    let w = Workdir::raw(CONFIG);
    let path = w.path().join("huge.txt");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("file"));
        write!(f, "-\n第一篇\n正文一。\n2025-07-01\n-\n巨大的\n正文").expect("write");
        let chunk = "招商引资".repeat(4096);
        for _ in 0..(64 << 20) / chunk.len() {
            f.write_all(chunk.as_bytes()).expect("write");
        }
        writeln!(f, "\n2025-07-02").expect("write");
        let footer = format!("页脚{}\n", "版权所有".repeat(80));
        for _ in 0..60_000 {
            f.write_all(footer.as_bytes()).expect("write");
        }
        writeln!(f, "-\n最后一篇\n正文末。\n2025-07-03").expect("write");
        f.flush().expect("flush");
    }
    let out = tokio::process::Command::new("/usr/bin/time")
        .args(["-f", "PEAK_RSS_KB=%M"])
        .arg(env!("CARGO_BIN_EXE_newswatch"))
        .arg("--config")
        .arg(w.config())
        .arg("backfill")
        .arg(&path)
        .output()
        .await
        .expect("ran");
    let err = stderr(&out);
    assert!(
        out.status.success(),
        "{}",
        &err[err.len().saturating_sub(2000)..]
    );
    assert!(
        stdout(&out).contains("2 imported, 0 duplicate, 1 rejected, 60000 skipped"),
        "{}",
        stdout(&out)
    );
    assert!(
        err.contains("huge.txt:7: rejected: line is ")
            && err.contains("over the limit of 1048576 bytes (1 MiB)"),
        "{}",
        &err[..err.len().min(2000)]
    );
    let skipped = err.lines().filter(|l| l.contains(": skipped")).count();
    assert_eq!(skipped, 60_000);
    assert!(
        err.lines().all(|l| l.len() < 400),
        "a skipped line is shown by its opening"
    );
    let peak_kb: u64 = err
        .lines()
        .find_map(|l| l.strip_prefix("PEAK_RSS_KB="))
        .and_then(|v| v.trim().parse().ok())
        .expect("peak RSS");
    eprintln!(
        "backfill of a 64 MiB line and 60,000 footer lines: peak RSS {} MB",
        peak_kb / 1024
    );
    // The file is 120 MB; reading it whole (or keeping its skipped lines) would pass this.
    assert!(peak_kb < 100 * 1024, "peak RSS {peak_kb} kB");
    let titles: Vec<String> = stored(&w).await.into_iter().map(|(t, _)| t).collect();
    assert_eq!(titles, ["第一篇", "最后一篇"]);
}

/// Text that a terminal or a mail client would act on or hide.
const DIRTY_TITLE: &str =
    "\u{1b}[31m光谷\u{1b}[0m签约\u{200b}\u{202e}重大\u{202c}项目\u{1b}]0;pwned\u{7}";
const CLEAN_TITLE: &str = "光谷签约重大项目";

fn is_clean(s: &str) -> bool {
    !s.chars().any(|c| {
        c.is_control() && !matches!(c, '\n' | '\t' | '\r')
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
    })
}

#[tokio::test]
async fn control_characters_are_stripped_from_archives() {
    let w = Workdir::raw(CONFIG);
    let text = format!(
        "-\n\u{200b}\n正文。\n2025-07-01\n-\n{DIRTY_TITLE}\n东湖\u{1b}[2J高新区\u{7f}签约\u{feff}。\n2025-07-02\n"
    );
    let out = w
        .run_with_stdin(&["backfill", "-", "--notify"], Some(text.as_bytes()))
        .await;
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("standard input:1: rejected: title or body is empty after normalisation"),
        "a title of only U+200B is empty: {err}"
    );
    assert_eq!(
        stored(&w).await,
        [(CLEAN_TITLE.to_owned(), "东湖高新区签约。".to_owned())]
    );
    let preview = w.run(&["digest", "--dry-run"]).await;
    assert!(
        stdout(&preview).contains(CLEAN_TITLE),
        "{}",
        stdout(&preview)
    );
    assert!(is_clean(&stdout(&preview)), "{:?}", stdout(&preview));
}

#[tokio::test(flavor = "multi_thread")]
async fn control_characters_are_stripped_from_pages() {
    let site = Site::start().await;
    site.page(
        "/n/index.html",
        "text/html",
        pages::list("utf-8", &[("/n/a.html", "x")], None),
    );
    site.page(
        "/n/a.html",
        "text/html; charset=utf-8",
        pages::article(
            "utf-8",
            DIRTY_TITLE,
            "2025-07-02",
            &[
                "\u{1b}]8;;http://evil.example/\u{7}点击领取\u{1b}]8;;\u{1b}\\补贴。",
                "招商\u{2066}引资\u{2069}\u{8}成果\u{ad}显著。",
            ],
        ),
    );
    let w = Workdir::new(
        None,
        "0 8 * * *",
        &pages::source("p", &site.url("/n/index.html"), ""),
    );
    let out = w.run(&["crawl"]).await;
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(
        stored(&w).await,
        [(
            CLEAN_TITLE.to_owned(),
            "点击领取补贴。 招商引资成果显著。".to_owned()
        )]
    );
    let check = w.run(&["check", "p"]).await;
    assert!(stdout(&check).contains(CLEAN_TITLE), "{}", stdout(&check));
    assert!(is_clean(&stdout(&check)), "{:?}", stdout(&check));
    let preview = w.run(&["digest", "--dry-run"]).await;
    assert!(is_clean(&stdout(&preview)), "{:?}", stdout(&preview));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_digest_of_a_huge_article_reads_only_its_opening() {
    let site = Site::start().await;
    site.page(
        "/n/index.html",
        "text/html",
        pages::list("utf-8", &[("/n/a.html", "x")], None),
    );
    // 24 MB of text in one paragraph, after the opening the digest shows.
    let body = format!("开头一句。{}", "招商引资项目落地。".repeat(24 << 20 >> 5));
    site.page(
        "/n/a.html",
        "text/html; charset=utf-8",
        pages::article("utf-8", "超长文章", "2025-07-02", &[&body]),
    );
    drop(body);
    let source = pages::source(
        "p",
        &site.url("/n/index.html"),
        "max_body_bytes = 100000000\nrequest_timeout_secs = 120",
    );
    let w = Workdir::new(None, "0 8 * * *", &source);
    let out = w.run(&["crawl"]).await;
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let out = tokio::process::Command::new("/usr/bin/time")
        .args(["-f", "PEAK_RSS_KB=%M"])
        .arg(env!("CARGO_BIN_EXE_newswatch"))
        .arg("--config")
        .arg(w.config())
        .args(["digest", "--dry-run"])
        .output()
        .await
        .expect("ran");
    let (text, err) = (stdout(&out), stderr(&out));
    assert!(out.status.success(), "{err}");
    assert!(
        text.contains("开头一句。招商引资项目落地。"),
        "{}",
        &text[..text.len().min(2000)]
    );
    assert!(
        text.len() < 20_000,
        "the opening, not the body: {} bytes",
        text.len()
    );
    let peak_kb: u64 = err
        .lines()
        .find_map(|l| l.strip_prefix("PEAK_RSS_KB="))
        .and_then(|v| v.trim().parse().ok())
        .expect("peak RSS");
    eprintln!(
        "digest --dry-run of a 24 MB article: peak RSS {} MB",
        peak_kb / 1024
    );
    assert!(peak_kb < 160 * 1024, "peak RSS {peak_kb} kB");
}
