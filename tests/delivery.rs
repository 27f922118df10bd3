//! Delivery against what servers really do (issue 10, items 6, 8, 11 and SMTP AUTH of 15):
//! a server that refuses a digest for good, a robot that rate-limits, page text that tries to
//! plant markup in a chat digest, a template that never ends, and a password on plain SMTP.

mod common;

use axum::body::Bytes;
use axum::http::StatusCode;
use chrono::{NaiveDate, Utc};
use common::{Site, Workdir, pages, stderr, stdout};
use newswatch::article::Article;
use newswatch::notify::filter::Filter;
use newswatch::notify::{
    Channel, ChatKind, ChatSettings, Delivery, Digest, DigestSettings, Limits, NotifyError, Pace,
};
use newswatch::schedule::Schedule;
use newswatch::store::Store;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

fn list(site: &Site, links: &[&str]) {
    let items: Vec<(String, &str)> = links.iter().map(|l| (format!("/n/{l}"), "x")).collect();
    site.page(
        "/n/index.html",
        "text/html",
        pages::list("utf-8", &items, None),
    );
}

fn article(site: &Site, path: &str, title: &str, body: &str) {
    site.page(
        &format!("/n/{path}"),
        "text/html",
        pages::article("utf-8", title, "2025-07-02", &[body]),
    );
}

const SETTINGS: &str =
    "[settings]\nstate_dir = \"state\"\nper_host_delay_ms = 0\nrecheck_days = 0\n";

/// What an SMTP peer saw of one message.
#[derive(Debug, Clone)]
struct Received {
    subject: String,
    bytes: usize,
    accepted: bool,
}

/// A hand-written SMTP server on 127.0.0.1. With `size_limited`, it has a message size limit
/// it does not announce: it answers `552 5.3.4` to a message at least as large as the first
/// one it ever received (so that first digest is "too large"), and accepts smaller ones. It
/// advertises AUTH and records the AUTH commands it gets.
struct SmtpPeer {
    port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    auth: Arc<Mutex<Vec<String>>>,
}

impl SmtpPeer {
    async fn start(size_limited: bool) -> SmtpPeer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let auth: Arc<Mutex<Vec<String>>> = Arc::default();
        let limit: Arc<Mutex<Option<usize>>> = Arc::default();
        let (r, a) = (received.clone(), auth.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (received, auth, limit) = (r.clone(), a.clone(), limit.clone());
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut lines = BufReader::new(read).lines();
                    let _ = write.write_all(b"220 peer.test ESMTP\r\n").await;
                    while let Ok(Some(line)) = lines.next_line().await {
                        let verb = line
                            .split_whitespace()
                            .next()
                            .unwrap_or_default()
                            .to_ascii_uppercase();
                        let reply: Vec<u8> = match verb.as_str() {
                            "EHLO" => b"250-peer.test\r\n250 AUTH PLAIN LOGIN\r\n".to_vec(),
                            "HELO" => b"250 peer.test\r\n".to_vec(),
                            "AUTH" => {
                                auth.lock().expect("auth").push(line.clone());
                                b"235 2.7.0 Authentication successful\r\n".to_vec()
                            }
                            "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 2.0.0 OK\r\n".to_vec(),
                            "DATA" => {
                                let _ = write.write_all(b"354 go ahead\r\n").await;
                                let (mut bytes, mut subject) = (0, String::new());
                                let mut in_subject = false;
                                while let Ok(Some(l)) = lines.next_line().await {
                                    if l == "." {
                                        break;
                                    }
                                    bytes += l.len() + 2;
                                    if let Some(s) = l.strip_prefix("Subject: ") {
                                        subject = s.to_owned();
                                        in_subject = true;
                                    } else if in_subject && l.starts_with([' ', '\t']) {
                                        // A folded header goes on over lines that start with white space.
                                        subject.push_str(l.trim());
                                    } else {
                                        in_subject = false;
                                    }
                                }
                                let subject = decoded_words(&subject);
                                let max = *limit.lock().expect("limit").get_or_insert(bytes);
                                let accepted = !size_limited || bytes < max;
                                received.lock().expect("received").push(Received {
                                    subject,
                                    bytes,
                                    accepted,
                                });
                                if accepted {
                                    b"250 2.0.0 queued\r\n".to_vec()
                                } else {
                                    b"552 5.3.4 Message size exceeds fixed maximum message size\r\n"
                                        .to_vec()
                                }
                            }
                            "QUIT" => {
                                let _ = write.write_all(b"221 2.0.0 Bye\r\n").await;
                                break;
                            }
                            _ => b"502 5.5.2 Command not recognized\r\n".to_vec(),
                        };
                        if write.write_all(&reply).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        SmtpPeer {
            port,
            received,
            auth,
        }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().expect("received").clone()
    }
}

/// The text of a header of RFC 2047 encoded words (`=?utf-8?b?…?=`), as a mail reader shows it.
fn decoded_words(header: &str) -> String {
    use base64::Engine as _;
    let mut bytes = Vec::new();
    for word in header.split("?=").filter(|w| !w.trim().is_empty()) {
        match word.split_once("?b?").or_else(|| word.split_once("?B?")) {
            Some((_, b64)) => bytes.extend(
                base64::engine::general_purpose::STANDARD
                    .decode(b64.trim())
                    .expect("base64 word"),
            ),
            None => bytes.extend_from_slice(word.as_bytes()),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// "招商动态（d） · 7月2日 · 新增3条 · …" → 3.
fn articles_in(subject: &str) -> usize {
    subject
        .split(" · ")
        .find_map(|part| part.strip_prefix("新增")?.strip_suffix('条')?.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_digest_refused_as_too_large_does_not_wedge_the_queue_and_loses_nothing() {
    let site = Site::start().await;
    let paths: Vec<String> = (1..=8).map(|i| format!("{i}.html")).collect();
    let first: Vec<&str> = paths[..6].iter().map(String::as_str).collect();
    list(&site, &first);
    for (i, p) in paths.iter().enumerate() {
        article(
            &site,
            p,
            &format!("第{i}篇招商引资签约"),
            // Under 120 letters: too short for near-duplicate detection to merge them.
            &format!("第{i}篇：东湖高新区举行招商引资项目集中签约活动。"),
        );
    }
    let peer = SmtpPeer::start(true).await;
    let config = format!(
        "{SETTINGS}\n[[digest]]\nname = \"d\"\nschedule = \"0 8 * * *\"\nfrom = \"nw@example.org\"\nto = [\"a@example.org\"]\nsmtp = \"smtp://127.0.0.1:{}\"\n{}",
        peer.port,
        pages::source("s", &site.url("/n/index.html"), "")
    );
    let w = Workdir::raw(&config);
    assert!(stdout(&w.run(&["crawl"]).await).contains("s: 6 new"));

    // The server refuses the 6-article digest as too large: reported for good, not retried.
    let out = w.run(&["digest"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("552") && err.contains("refused for good") && err.contains("at most 3"),
        "{err}"
    );
    assert_eq!(peer.received().len(), 1);
    let status = stdout(&w.run(&["status"]).await);
    assert!(
        status.contains("digest d: 6 waiting") && status.contains("refused for good at"),
        "{status}"
    );

    // Two more articles arrive; the next run builds new, smaller digests of everything.
    list(&site, &paths.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(stdout(&w.run(&["crawl"]).await).contains("s: 2 new"));
    let out = w.run(&["digest"]).await;
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let received = peer.received();
    let accepted: Vec<&Received> = received.iter().filter(|r| r.accepted).collect();
    assert_eq!(
        accepted
            .iter()
            .map(|r| articles_in(&r.subject))
            .sum::<usize>(),
        8,
        "every article once, the refused digest's six and the two new: {received:?}"
    );
    assert!(
        received[1..].iter().all(|r| r.accepted),
        "the refused digest was not sent again: {received:?}"
    );
    assert!(accepted.iter().all(|r| r.bytes < received[0].bytes));
    assert!(stdout(&w.run(&["digest"]).await).contains("nothing pending"));
}

#[tokio::test(flavor = "multi_thread")]
async fn smtp_auth_on_plain_smtp_to_another_host_is_refused_by_validate_and_digest() {
    let insecure = format!(
        "{SETTINGS}\n[digest]\nschedule = \"0 8 * * *\"\nfrom = \"nw@example.org\"\nto = [\"a@example.org\"]\nsmtp = \"smtp://nw@mail.example.org:587\"\n"
    );
    let run = |config: &str, args: &'static [&'static str]| {
        let w = Workdir::raw(config);
        async move {
            let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_newswatch"))
                .arg("--config")
                .arg(w.config())
                .args(args)
                .env("NEWSWATCH_SMTP_PASSWORD", "hunter2")
                .output()
                .await
                .expect("run newswatch");
            (out, w)
        }
    };
    for args in [&["validate"][..], &["digest"][..]] {
        let (out, w) = run(&insecure, args).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("sources.toml:10: digest \"digest\": smtp:")
                && err.contains("allow_insecure_auth")
                && err.contains("mail.example.org"),
            "{err}"
        );
        assert!(!err.contains("hunter2"), "{err}");
        assert!(!w.path().join("state").exists(), "nothing started");
    }
    for fixed in [
        insecure.replace(":587\"", ":587?tls=required\""),
        insecure.replace(
            "smtp://nw@mail.example.org:587",
            "smtps://nw@mail.example.org",
        ),
        format!("{insecure}allow_insecure_auth = true\n"),
    ] {
        let (out, _) = run(&fixed, &["validate"]).await;
        assert!(out.status.success(), "{fixed}\n{}", stderr(&out));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn smtp_auth_to_a_relay_on_loopback_is_allowed() {
    let site = Site::start().await;
    list(&site, &["a.html"]);
    article(&site, "a.html", "光谷签约", "东湖高新区举行签约活动。");
    let peer = SmtpPeer::start(false).await;
    let config = format!(
        "{SETTINGS}\n[digest]\nschedule = \"0 8 * * *\"\nfrom = \"nw@example.org\"\nto = [\"a@example.org\"]\nsmtp = \"smtp://nw@127.0.0.1:{}\"\n{}",
        peer.port,
        pages::source("s", &site.url("/n/index.html"), "")
    );
    let w = Workdir::raw(&config);
    let run = |args: &'static [&'static str]| {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_newswatch"))
            .arg("--config")
            .arg(w.config())
            .args(args)
            .env("NEWSWATCH_SMTP_PASSWORD", "hunter2")
            .output()
    };
    assert!(run(&["validate"]).await.expect("validate").status.success());
    assert!(run(&["crawl"]).await.expect("crawl").status.success());
    let out = run(&["digest"]).await.expect("digest");
    assert!(out.status.success(), "{}", stderr(&out));
    let auth = peer.auth.lock().expect("auth").clone();
    assert_eq!(auth.len(), 1, "{auth:?}");
    assert!(auth[0].starts_with("AUTH PLAIN"), "{auth:?}");
}

/// The robots' answers when a message is accepted, by kind.
fn ok_answer(kind: &str) -> &'static str {
    match kind {
        "feishu" => r#"{"code":0,"msg":"success"}"#,
        "webhook" => "ok",
        _ => r#"{"errcode":0,"errmsg":"ok"}"#,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn page_text_arrives_as_literal_text_at_every_chat_robot() {
    const HOSTILE: &str =
        "[点此](https://evil.example/x) ![](https://evil.example/t.png) <font color=red>";
    let as_html = HOSTILE.replace('<', "&lt;").replace('>', "&gt;");
    let site = Site::start().await;
    list(&site, &["a.html"]);
    article(
        &site,
        "a.html",
        &format!("招商引资{as_html}"),
        &format!("正文开头{as_html}结尾。"),
    );
    let robots = Site::start().await;
    let kinds = ["wecom", "dingtalk", "feishu", "webhook"];
    let mut config = String::from(SETTINGS);
    for kind in kinds {
        robots.route(
            &format!("/{kind}"),
            200,
            &[("content-type", "application/json")],
            ok_answer(kind),
        );
        config.push_str(&format!(
            "\n[[notify]]\nname = \"{kind}\"\nkind = \"{kind}\"\nurl = \"{}\"\nschedule = \"0 8 * * *\"\n",
            robots.url(&format!("/{kind}"))
        ));
    }
    config.push_str(&pages::source("s", &site.url("/n/index.html"), ""));
    let w = Workdir::raw(&config);
    assert!(w.run(&["crawl"]).await.status.success());
    let out = w.run(&["digest"]).await;
    assert!(out.status.success(), "{}", stderr(&out));

    for kind in kinds {
        let hit = robots
            .requests()
            .into_iter()
            .find(|h| h.path == format!("/{kind}"))
            .unwrap_or_else(|| panic!("{kind} got no digest"));
        let body: serde_json::Value = serde_json::from_slice(&hit.body).expect("json");
        let text = match kind {
            "wecom" => &body["markdown"]["content"],
            "dingtalk" => &body["markdown"]["text"],
            "feishu" => &body["card"]["elements"][0]["content"],
            _ => &body["markdown"],
        }
        .as_str()
        .unwrap_or_default()
        .to_owned();
        assert!(text.contains("招商引资"), "{kind}: {text}");
        // Markup starts where its first character is not escaped by a backslash.
        for planted in ["](https://evil", "![", "<font"] {
            let live = text
                .match_indices(planted)
                .any(|(i, _)| !text[..i].ends_with('\\'));
            assert!(!live, "{kind} got markup {planted:?}: {text}");
        }
        let literal = if kind == "webhook" {
            r"\[点此\]\(https://evil.example/x\) \!\[\]\(https://evil.example/t.png\) \<font color=red\>"
        } else {
            "［点此］（https://evil.example/x） ！［］（https://evil.example/t.png） ＜font color=red＞"
        };
        assert_eq!(
            text.matches(literal).count(),
            2,
            "{kind}: the title and the opening, as literal text: {text}"
        );
    }
}

/// A chat robot on 127.0.0.1 that accepts at most `limit` messages in any `window` and
/// answers the next one as WeCom does ("api freq out of limit"). It keeps every message.
struct RateLimitedRobot {
    url: String,
    /// `(accepted, title)` for each message, in order.
    messages: Arc<Mutex<Vec<(bool, String)>>>,
}

impl RateLimitedRobot {
    async fn start(limit: usize, window: Duration) -> RateLimitedRobot {
        let messages: Arc<Mutex<Vec<(bool, String)>>> = Arc::default();
        let recent: Arc<Mutex<VecDeque<Instant>>> = Arc::default();
        let seen = messages.clone();
        let app = axum::Router::new().fallback(move |body: Bytes| {
            let (seen, recent) = (seen.clone(), recent.clone());
            async move {
                let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                let content = json["markdown"]["content"].as_str().unwrap_or_default();
                let title = content.lines().next().unwrap_or_default().to_owned();
                let now = Instant::now();
                let accepted = {
                    let mut recent = recent.lock().expect("recent");
                    while recent
                        .front()
                        .is_some_and(|t| now.duration_since(*t) >= window)
                    {
                        recent.pop_front();
                    }
                    let ok = recent.len() < limit;
                    if ok {
                        recent.push_back(now);
                    }
                    ok
                };
                seen.lock().expect("messages").push((accepted, title));
                let answer = if accepted {
                    r#"{"errcode":0,"errmsg":"ok"}"#
                } else {
                    r#"{"errcode":45009,"errmsg":"api freq out of limit"}"#
                };
                (StatusCode::OK, answer)
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        RateLimitedRobot {
            url: format!("http://{addr}/cgi-bin/webhook/send?key=k"),
            messages,
        }
    }

    fn messages(&self) -> Vec<(bool, String)> {
        self.messages.lock().expect("messages").clone()
    }
}

/// A store in `dir` with `n` articles pending for digest "team", and the digest's settings
/// for a WeCom robot at `url` paced by `pace`.
fn chat_digest(dir: &std::path::Path, n: usize, url: &str, pace: Vec<Pace>) -> (Store, Digest) {
    let store = Store::open(&dir.join("state")).expect("store");
    let day = NaiveDate::from_ymd_opt(2025, 7, 2).expect("date");
    for i in 0..n {
        let a = Article::new(
            &format!("第{i}篇：光谷举行招商引资项目集中签约活动，总投资约五十亿元"),
            &format!(
                "{}第{i}篇。",
                "东湖高新区举行招商引资项目集中签约活动，涵盖光电子信息和生物医药。".repeat(4)
            ),
            day,
            Some(format!("http://portal.example/n/{i}.html")),
            "portal",
            Utc::now(),
        );
        store.insert(&a, &["team".to_owned()], &[]).expect("insert");
    }
    let settings = DigestSettings {
        name: "team".into(),
        schedule: Schedule::parse("0 8 * * *").expect("schedule"),
        filter: Filter::default(),
        language: Default::default(),
        templates: None,
        channel: Channel::Chat(ChatSettings {
            kind: ChatKind::WeCom,
            url: url.into(),
            pace,
        }),
        limits: Limits {
            max_items: 1000,
            max_bytes: 1 << 20,
        },
        public_url: None,
    };
    let digest = Digest::load(&settings, &dir.join("state")).expect("digest");
    (store, digest)
}

/// "### newswatch (team): 60 new articles (7/12)" → (7, 12).
fn part_of(title: &str) -> (usize, usize) {
    let inner = title
        .rsplit('(')
        .next()
        .and_then(|s| s.strip_suffix(')'))
        .unwrap_or_default();
    let mut it = inner.split('/').map(|n| n.parse().unwrap_or(0));
    (it.next().unwrap_or(0), it.next().unwrap_or(0))
}

const WINDOW: Duration = Duration::from_millis(1500);

#[tokio::test(flavor = "multi_thread")]
async fn a_chat_digest_cut_off_by_the_rate_limit_resumes_at_the_failed_part() {
    let robot = RateLimitedRobot::start(5, WINDOW).await;
    let tmp = tempfile::tempdir().expect("tmp");
    // No pacing: the robot's limit cuts the digest off, as it did before pacing existed.
    let (store, digest) = chat_digest(tmp.path(), 80, &robot.url, Vec::new());
    let tz = chrono_tz::Asia::Shanghai;
    let mut failures = 0;
    loop {
        match digest.deliver(&store, tz, &[]).await {
            Ok(Delivery::Sent { attempt, .. }) => {
                assert_eq!(attempt, failures + 1);
                break;
            }
            Ok(other) => panic!("{other:?}"),
            Err(NotifyError::Send { reason, .. }) => {
                assert!(reason.contains("45009"), "{reason}");
                failures += 1;
                assert!(failures < 10, "never finished: {:?}", robot.messages());
                tokio::time::sleep(WINDOW).await;
            }
            Err(e) => panic!("{e}"),
        }
    }
    let messages = robot.messages();
    let accepted: Vec<(usize, usize)> = messages
        .iter()
        .filter(|(ok, _)| *ok)
        .map(|(_, t)| part_of(t))
        .collect();
    let total = accepted.first().map_or(0, |p| p.1);
    assert!(
        total > 10,
        "the digest needs more parts than the limit: {total}"
    );
    assert_eq!(
        accepted,
        (1..=total).map(|n| (n, total)).collect::<Vec<_>>(),
        "each part accepted once, in order"
    );
    let refused: Vec<usize> = messages
        .iter()
        .filter(|(ok, _)| !*ok)
        .map(|(_, t)| part_of(t).0)
        .collect();
    assert!(
        failures >= 2 && refused.len() == failures as usize,
        "{messages:?}"
    );
    for (i, (ok, title)) in messages.iter().enumerate().skip(1) {
        if *ok && !messages[i - 1].0 {
            assert_eq!(
                part_of(title).0,
                part_of(&messages[i - 1].1).0,
                "a retry starts at the part that was refused"
            );
        }
    }
    assert_eq!(store.pending_len("team"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn chat_parts_are_paced_to_the_robots_limit() {
    let robot = RateLimitedRobot::start(5, WINDOW).await;
    let tmp = tempfile::tempdir().expect("tmp");
    let pace = vec![Pace {
        messages: 5,
        per: WINDOW,
    }];
    let (store, digest) = chat_digest(tmp.path(), 80, &robot.url, pace);
    let sent = digest
        .deliver(&store, chrono_tz::Asia::Shanghai, &[])
        .await
        .unwrap_or_else(|e| panic!("{e}: {:?}", robot.messages()));
    assert!(
        matches!(sent, Delivery::Sent { attempt: 1, .. }),
        "{sent:?}"
    );
    let messages = robot.messages();
    assert!(messages.len() > 10, "{}", messages.len());
    assert!(
        messages.iter().all(|(ok, _)| *ok),
        "none refused: {messages:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_template_that_never_ends_fails_validate_naming_the_file() {
    let w = Workdir::new(None, "0 8 * * *", "");
    let dir = w.path().join("tpl");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join("digest.txt"),
        "{% for a in range(100000) %}{% for b in range(100000) %}{{ subject }}{% endfor %}{% endfor %}",
    )
    .expect("txt");
    std::fs::write(dir.join("digest.html"), "<p>{{ subject }}</p>").expect("html");
    let config = std::fs::read_to_string(w.config()).expect("config");
    std::fs::write(
        w.config(),
        config.replace("[digest]\n", "[digest]\ntemplates = \"tpl\"\n"),
    )
    .expect("config");
    let out = w.run(&["validate"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&dir.join("digest.txt").display().to_string()) && err.contains("budget"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daemon_stops_promptly_while_a_template_would_loop_on_a_real_digest() {
    let site = Site::start().await;
    list(&site, &["a.html"]);
    // Only this title sets the template looping, so the sample digest passes validation.
    article(&site, "a.html", "无尽循环", "东湖高新区举行签约活动。");
    let w = Workdir::new(
        None,
        "*/2 * * * * *",
        &pages::source("s", &site.url("/n/index.html"), ""),
    );
    let dir = w.path().join("tpl");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join("digest.txt"),
        "{% for g in new %}{% for item in g.items %}{% if \"无尽\" in item.title %}\
         {% for a in range(100000) %}{% for b in range(100000) %}.{% endfor %}{% endfor %}\
         {% endif %}{{ item.title }}{% endfor %}{% endfor %}",
    )
    .expect("txt");
    std::fs::write(dir.join("digest.html"), "<p>{{ subject }}</p>").expect("html");
    let config = std::fs::read_to_string(w.config()).expect("config");
    std::fs::write(
        w.config(),
        config.replace("[digest]\n", "[digest]\ntemplates = \"tpl\"\n"),
    )
    .expect("config");
    assert!(w.run(&["validate"]).await.status.success());
    assert!(stdout(&w.run(&["crawl"]).await).contains("s: 1 new"));

    let daemon = w.daemon(&[]);
    // Long enough for the digest to come due and start rendering.
    tokio::time::sleep(Duration::from_secs(5)).await;
    common::sigterm(&daemon);
    let out = tokio::time::timeout(Duration::from_secs(20), daemon.wait_with_output())
        .await
        .expect("the daemon exits after SIGTERM")
        .expect("daemon output");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("budget"),
        "the render was stopped and logged: {err}"
    );
    assert!(!w.path().join("state/outbox").exists(), "nothing sent");
}
