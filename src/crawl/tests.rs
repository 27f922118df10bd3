//! The crawl logic on its own: a fetch-stage double that serves canned pages behind [`Pages`]
//! (no network) and a real store in a temporary folder behind [`CrawlStore`].

use super::*;
use crate::article::ContentHash;
use crate::store::SourceState;
use chrono::DateTime;
use reqwest::StatusCode;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the double answers for one URL.
#[derive(Clone)]
enum Answer {
    /// 200 with this body; with an ETag, 304 to a request that sends it back.
    Page {
        body: String,
        etag: Option<String>,
    },
    Status(u16),
    /// robots.txt of the site answered with this status.
    RobotsUnavailable(u16),
    /// The site's robots.txt disallows the URL.
    Disallowed,
}

/// The fetch stage's double: answers by URL and remembers every request.
#[derive(Clone, Default)]
struct Site {
    answers: Arc<Mutex<HashMap<String, Answer>>>,
    hits: Arc<Mutex<Vec<String>>>,
}

impl Site {
    fn page(&self, path: &str, body: &str) {
        self.set(
            path,
            Answer::Page {
                body: body.to_owned(),
                etag: None,
            },
        );
    }

    fn set(&self, path: &str, answer: Answer) {
        let mut answers = self.answers.lock().unwrap_or_else(|p| p.into_inner());
        answers.insert(url(path).to_string(), answer);
    }

    fn hits(&self, path: &str) -> usize {
        let target = url(path).to_string();
        let hits = self.hits.lock().unwrap_or_else(|p| p.into_inner());
        hits.iter().filter(|h| **h == target).count()
    }
}

impl Pages for Site {
    fn get(
        &self,
        url: &Url,
        _settings: &FetchSettings,
        validators: Option<&Validators>,
    ) -> impl Future<Output = Result<Fetched, FetchError>> + Send {
        let key = url.to_string();
        self.hits
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(key.clone());
        let answer = self
            .answers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .cloned()
            .unwrap_or(Answer::Status(404));
        let sent = validators.and_then(|v| v.etag.clone());
        let url = url.clone();
        async move {
            match answer {
                Answer::Page { etag, .. } if etag.is_some() && etag == sent => {
                    Ok(Fetched::NotModified)
                }
                Answer::Page { body, etag } => Ok(Fetched::Page(Box::new(Response {
                    url,
                    status: StatusCode::OK,
                    content_type: Some("text/html; charset=utf-8".into()),
                    body: body.into_bytes(),
                    validators: Validators {
                        etag,
                        last_modified: None,
                    },
                    cache_control: None,
                }))),
                Answer::Status(code) => Err(FetchError::Status {
                    url: url.to_string(),
                    status: StatusCode::from_u16(code).unwrap_or(StatusCode::IM_A_TEAPOT),
                    retry_after: None,
                }),
                Answer::RobotsUnavailable(code) => Err(FetchError::RobotsUnavailable {
                    url: url.to_string(),
                    cause: Arc::new(FetchError::Status {
                        url: "http://h.test/robots.txt".into(),
                        status: StatusCode::from_u16(code).unwrap_or(StatusCode::IM_A_TEAPOT),
                        retry_after: None,
                    }),
                }),
                Answer::Disallowed => Err(FetchError::Blocked {
                    url: url.to_string(),
                    reason: "disallowed by robots.txt".into(),
                }),
            }
        }
    }
}

fn url(path: &str) -> Url {
    Url::parse("http://h.test/")
        .and_then(|b| b.join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn selector(css: &str) -> scraper::Selector {
    scraper::Selector::parse(css).unwrap_or_else(|e| panic!("{css}: {e}"))
}

fn list(links: &[&str], next: Option<&str>) -> String {
    let items: String = links
        .iter()
        .map(|l| format!("<li><a href=\"{l}\">{l}</a></li>"))
        .collect();
    let next = next.map_or(String::new(), |n| {
        format!("<a class=\"next\" href=\"{n}\">下一页</a>")
    });
    format!("<html><body><ul class=\"news\">{items}</ul>{next}</body></html>")
}

fn article(title: &str, body: &str) -> String {
    format!(
        "<html><body><h1>{title}</h1><span class=\"date\">2025-07-02</span><div class=\"content\"><p>{body}</p></div></body></html>"
    )
}

fn source(kind: SourceKind) -> Source {
    Source {
        name: "s".into(),
        url: url("/list.html"),
        schedule: Schedule::parse("0 8 * * *").unwrap_or_else(|e| panic!("{e}")),
        kind,
        fields: FieldSelectors {
            title: Some(selector("h1")),
            body: Some(selector("div.content")),
            date: Some(selector("span.date")),
        },
        encoding: None,
        max_articles: 100,
        fetch: FetchSettings {
            user_agent: "newswatch-test".into(),
            timeout: Duration::from_secs(1),
            max_body_bytes: 1 << 20,
            max_retries: 0,
            per_host_concurrency: 2,
            per_host_delay: Duration::ZERO,
            proxy: None,
            headers: reqwest::header::HeaderMap::new(),
            scope: crate::fetch::Scope::new(&url("/list.html"), Vec::new()),
        },
        recheck_days: 0,
        max_revisions: 10,
        alert_after_failures: 3,
    }
}

fn html(max_pages: usize) -> Source {
    source(SourceKind::Html {
        links: Some(selector("ul.news a")),
        next: Some(selector("a.next")),
        max_pages,
    })
}

struct Setup {
    site: Site,
    crawler: Crawler<Site, Store>,
    _dir: tempfile::TempDir,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store = Store::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let site = Site::default();
    Setup {
        crawler: Crawler {
            pages: site.clone(),
            store,
            timezone: chrono_tz::Asia::Shanghai,
            routing: Routing::default(),
            metrics: Metrics::new(),
        },
        site,
        _dir: dir,
    }
}

fn outcomes(rs: &[UrlReport]) -> Vec<(&str, &'static str)> {
    rs.iter()
        .map(|r| (r.url.trim_start_matches("http://h.test"), r.outcome.kind()))
        .collect()
}

fn state(s: &Setup) -> SourceState {
    s.crawler
        .store
        .source_state("s")
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn pagination_follows_next_up_to_max_pages() {
    let s = setup();
    s.site.page(
        "/list.html",
        &list(&["/a1.html", "/a2.html"], Some("/list2.html")),
    );
    s.site.page(
        "/list2.html",
        &list(&["/a2.html", "/a3.html"], Some("/list3.html")),
    );
    s.site.page("/list3.html", &list(&["/a4.html"], None));
    for (i, t) in ["甲", "乙", "丙", "丁"].iter().enumerate() {
        s.site.page(
            &format!("/a{}.html", i + 1),
            &article(t, &format!("{t}的正文。")),
        );
    }
    let report = s.crawler.crawl(&html(2)).await;
    assert_eq!(
        outcomes(&report.pages),
        [("/list.html", "listed"), ("/list2.html", "listed")]
    );
    assert_eq!(
        outcomes(&report.articles),
        [
            ("/a1.html", "stored"),
            ("/a2.html", "stored"),
            ("/a3.html", "stored")
        ],
        "listed order, a link on two pages once"
    );
    assert_eq!(s.site.hits("/list3.html"), 0, "max_pages = 2");
    assert_eq!(report.counts().new, 3);
    assert_eq!(report.health(), CrawlHealth::Ok);
    assert!(report.succeeded());
    assert_eq!(state(&s).articles_stored, 3);
}

#[tokio::test]
async fn paging_stops_at_a_list_page_that_brings_nothing_new() {
    let s = setup();
    let pages = [
        ("/list.html", ["/a1.html", "/a2.html"], Some("/list2.html")),
        ("/list2.html", ["/a3.html", "/a4.html"], Some("/list3.html")),
        ("/list3.html", ["/a5.html", "/a6.html"], None),
    ];
    for (path, links, next) in pages {
        s.site.page(path, &list(&links, next));
    }
    for i in 0..=6 {
        s.site.page(
            &format!("/a{i}.html"),
            &article(&format!("第{i}篇"), &format!("第{i}篇的正文。")),
        );
    }
    let source = html(5);
    let first = s.crawler.crawl(&source).await;
    assert_eq!(first.counts().new, 6, "{first}");
    assert_eq!(s.site.hits("/list3.html"), 1);

    // One new article on page 1: page 2 brings nothing new, so page 3 is not read.
    s.site.page(
        "/list.html",
        &list(&["/a0.html", "/a1.html", "/a2.html"], Some("/list2.html")),
    );
    let second = s.crawler.crawl(&source).await;
    assert_eq!(
        outcomes(&second.pages),
        [("/list.html", "listed"), ("/list2.html", "listed")]
    );
    assert_eq!(second.counts().new, 1, "{second}");
    assert_eq!(s.site.hits("/list3.html"), 1, "page 3 is not read again");

    // Nothing new on page 1: page 2 is not read either.
    let third = s.crawler.crawl(&source).await;
    assert_eq!(outcomes(&third.pages), [("/list.html", "listed")]);
    assert_eq!(s.site.hits("/list2.html"), 2);
}

/// A district portal's list page without any selector: navigation, breadcrumb, a side list of
/// hot news, the news list with dates, a pager and a footer.
fn portal(entries: &[(&str, &str)], pager: &str) -> String {
    let items: String = entries
        .iter()
        .map(|(href, text)| {
            format!("<li><a href=\"{href}\">{text}</a><span>2025-07-02</span></li>")
        })
        .collect();
    format!(
        r#"<html><body><ul class="menu"><li><a href="/">首页</a></li><li><a href="/gk/">政务公开</a></li><li><a href="/fw/">政务服务</a></li></ul>
        <div class="crumb"><a href="/">首页</a> &gt; <a href="/xw/">新闻中心</a></div>
        <div class="side"><h3>热点新闻</h3><ul><li><a href="/hot1.html">全市经济运行情况新闻发布会召开</a></li><li><a href="/hot2.html">市领导调研重点项目建设进展情况</a></li><li><a href="/hot3.html">一图读懂优化营商环境条例要点</a></li></ul></div>
        <div class="main"><ul>{items}</ul><div class="page">{pager}</div></div>
        <div class="foot"><a href="/about.html">关于我们</a> | <a href="/map.html">网站地图</a></div></body></html>"#
    )
}

#[tokio::test]
async fn without_selectors_the_news_list_and_the_next_page_are_found() {
    let s = setup();
    s.site.page(
        "/list.html",
        &portal(
            &[
                ("/n1.html", "硚口区召开一季度经济运行分析会议"),
                ("/n2.html", "硚口区举办招商引资项目集中签约活动"),
                ("/n3.html", "硚口区开展优化营商环境专项督查工作"),
            ],
            r#"<a href="/list.html">首页</a> <a href="/list_1.html">下一页</a>"#,
        ),
    );
    s.site.page(
        "/list_1.html",
        &portal(
            &[
                ("/n4.html", "硚口区发布支持先进制造业发展十条措施"),
                ("/n5.html", "硚口区政务服务中心推出一网通办新举措"),
                ("/n6.html", "硚口区重点项目建设现场推进会召开"),
            ],
            r#"<a href="/list.html">上一页</a>"#,
        ),
    );
    for i in 1..=6 {
        s.site.page(
            &format!("/n{i}.html"),
            &format!("<html><body><div class=\"c\"><p>第{i}篇的正文，讲述硚口区的工作进展。</p></div></body></html>"),
        );
    }
    let mut source = source(SourceKind::Html {
        links: None,
        next: None,
        max_pages: 5,
    });
    source.fields = FieldSelectors::default();
    let report = s.crawler.crawl(&source).await;
    assert_eq!(
        outcomes(&report.pages),
        [("/list.html", "listed"), ("/list_1.html", "listed")]
    );
    let want: Vec<(String, &str)> = (1..=6).map(|i| (format!("/n{i}.html"), "stored")).collect();
    let got: Vec<(String, &str)> = outcomes(&report.articles)
        .into_iter()
        .map(|(u, k)| (u.to_owned(), k))
        .collect();
    assert_eq!(got, want, "{report}");
    // The pages name themselves nowhere: the list link's text is their title.
    let id = s
        .crawler
        .store
        .url_article(url("/n2.html").as_str())
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("n2 stored"));
    let stored = s
        .crawler
        .store
        .article(id)
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("n2 readable"));
    assert_eq!(stored.title, "硚口区举办招商引资项目集中签约活动");
}

#[tokio::test]
async fn a_list_without_a_news_list_fails_naming_the_fix() {
    let s = setup();
    s.site.page(
        "/list.html",
        "<html><body><p>改版了</p><a href=\"/\">首页</a></body></html>",
    );
    let report = s
        .crawler
        .crawl(&source(SourceKind::Html {
            links: None,
            next: None,
            max_pages: 5,
        }))
        .await;
    assert_eq!(report.health(), CrawlHealth::Failed);
    assert!(
        report.to_string().contains("no list of article links"),
        "{report}"
    );
}

#[tokio::test]
async fn known_links_are_not_fetched_again_and_the_list_waits_for_every_link() {
    let s = setup();
    s.site.set(
        "/list.html",
        Answer::Page {
            body: list(&["/a1.html", "/a2.html"], None),
            etag: Some("\"v1\"".into()),
        },
    );
    s.site.page("/a1.html", &article("甲", "甲的正文。"));
    s.site.page("/a2.html", &article("乙", "乙的正文。"));
    let mut one = html(1);
    one.max_articles = 1;

    let first = s.crawler.crawl(&one).await;
    assert_eq!(
        outcomes(&first.articles),
        [("/a1.html", "stored"), ("/a2.html", "skipped")]
    );
    assert!(matches!(
        first.articles[1].outcome,
        UrlOutcome::Skipped(Policy::MaxArticles { limit: 1 })
    ));
    assert!(first.succeeded(), "waiting for max_articles is no failure");
    assert!(
        first
            .to_string()
            .contains("1 left for the next crawl (max_articles)"),
        "{first}"
    );

    // The list page's ETag was not kept: a 304 must not hide the article still waiting.
    let second = s.crawler.crawl(&one).await;
    assert_eq!(
        outcomes(&second.articles),
        [("/a1.html", "known"), ("/a2.html", "stored")]
    );
    assert_eq!(
        s.site.hits("/a1.html"),
        1,
        "a known link is not fetched again"
    );

    let third = s.crawler.crawl(&one).await;
    assert!(third.unchanged(), "{third}");
    assert!(
        third
            .to_string()
            .contains("unchanged since last crawl (HTTP 304)")
    );
    assert_eq!(s.site.hits("/a2.html"), 1);
}

#[tokio::test]
async fn unavailable_robots_txt_fails_every_crawl_until_alerted() {
    let s = setup();
    s.site.set("/list.html", Answer::RobotsUnavailable(503));
    let source = html(1);
    for n in 1..=3 {
        let report = s.crawler.crawl(&source).await;
        assert_eq!(report.health(), CrawlHealth::Failed, "crawl {n}: {report}");
        assert!(!report.succeeded());
        let shown = report.to_string();
        assert!(
            shown.contains("source failed") && shown.contains("robots.txt unavailable"),
            "{shown}"
        );
        assert!(shown.contains("HTTP 503"), "the cause is named: {shown}");
        assert!(!shown.contains("blocked"), "not a policy: {shown}");
        let st = state(&s);
        assert_eq!(st.consecutive_failures, n);
        assert!(st.last_success.is_none());
        assert!(
            st.last_error
                .as_deref()
                .is_some_and(|e| e.contains("HTTP 503")),
            "{st:?}"
        );
    }
    let report = s.crawler.crawl(&source).await;
    let json = serde_json::to_value(&report).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(json["health"], "failed");
    assert_eq!(json["ok"], false);
    assert_eq!(json["pages"][0]["outcome"]["kind"], "failed");
    assert_eq!(
        json["pages"][0]["outcome"]["error"]["kind"],
        "robots_unavailable"
    );
    assert_eq!(json["pages"][0]["outcome"]["error"]["status"], 503);
    assert_eq!(json["error"]["kind"], "robots_unavailable");
}

#[tokio::test]
async fn a_robots_disallow_is_a_policy_not_a_failure() {
    let s = setup();
    s.site
        .page("/list.html", &list(&["/a1.html", "/a2.html"], None));
    s.site.page("/a1.html", &article("甲", "甲的正文。"));
    s.site.set("/a2.html", Answer::Disallowed);
    let report = s.crawler.crawl(&html(1)).await;
    assert!(matches!(
        report.articles[1].outcome,
        UrlOutcome::Skipped(Policy::RobotsDisallow { .. })
    ));
    assert_eq!(report.health(), CrawlHealth::Ok);
    let shown = report.to_string();
    assert!(
        shown.starts_with("s: 1 new, 0 duplicate, 0 failed, 0 known, 1 blocked by robots.txt"),
        "{shown}"
    );
    assert!(shown.contains("/a2.html: blocked by robots.txt"), "{shown}");
    let json = serde_json::to_value(&report).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(json["articles"][1]["outcome"]["kind"], "skipped");
    assert_eq!(json["articles"][1]["outcome"]["policy"], "robots_disallow");
}

#[tokio::test]
async fn failed_articles_degrade_a_crawl_and_all_failing_fails_it() {
    let s = setup();
    s.site
        .page("/list.html", &list(&["/a1.html", "/a2.html"], None));
    s.site.page("/a1.html", &article("甲", "甲的正文。"));
    s.site.set("/a2.html", Answer::Status(404));
    let source = html(1);
    let report = s.crawler.crawl(&source).await;
    assert_eq!(report.health(), CrawlHealth::Degraded);
    assert!(!report.succeeded(), "crawl exits 1 when anything failed");
    assert!(
        report
            .to_string()
            .contains("failed http://h.test/a2.html: HTTP 404")
    );
    let st = state(&s);
    assert_eq!(st.consecutive_failures, 0, "the source itself was read");
    assert!(st.last_success.is_some());
    assert_eq!(st.errors_total, 1);

    // A redesign that breaks every page: nothing read, the source fails.
    s.site
        .page("/list.html", &list(&["/b1.html", "/b2.html"], None));
    s.site.page(
        "/b1.html",
        "<html><body><div class=\"app\"></div><script>render()</script></body></html>",
    );
    s.site.set("/b2.html", Answer::Status(500));
    let report = s.crawler.crawl(&source).await;
    assert_eq!(report.health(), CrawlHealth::Failed, "{report}");
    assert!(matches!(
        &report.articles[0].outcome,
        UrlOutcome::Failed(CrawlError::Extract { .. })
    ));
    assert_eq!(state(&s).consecutive_failures, 1);
}

#[tokio::test]
async fn a_list_without_links_fails_the_source() {
    let s = setup();
    s.site
        .page("/list.html", "<html><body><p>改版了</p></body></html>");
    let report = s.crawler.crawl(&html(1)).await;
    assert_eq!(report.health(), CrawlHealth::Failed);
    assert_eq!(report.source_error().map(CrawlError::kind), Some("extract"));
    assert!(
        report
            .to_string()
            .contains("the links selector matched no links")
    );
}

#[tokio::test]
async fn rechecks_revise_a_changed_page() {
    let s = setup();
    s.site.page("/list.html", &list(&["/a1.html"], None));
    s.site.page("/a1.html", &article("甲", "第一版正文。"));
    let mut source = html(1);
    source.recheck_days = 7;
    let first = s.crawler.crawl(&source).await;
    assert_eq!(first.counts().new, 1);
    assert!(
        first.rechecks.is_empty(),
        "read by this crawl: nothing to re-check"
    );

    s.site
        .page("/a1.html", &article("甲", "第一版正文。补充一句。"));
    let second = s.crawler.crawl(&source).await;
    assert_eq!(outcomes(&second.articles), [("/a1.html", "known")]);
    assert!(matches!(
        second.rechecks[0].outcome,
        UrlOutcome::Stored(Stored::Updated)
    ));
    assert!(
        second.to_string().contains("1 updated, 1 rechecked"),
        "{second}"
    );
    let id = s
        .crawler
        .store
        .url_article("http://h.test/a1.html")
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("stored"));
    let history = s.crawler.store.revisions(id).unwrap_or_default();
    assert_eq!(history.len(), 2);
    assert_eq!(history[1].body, "第一版正文。补充一句。");
    assert_eq!(
        history[1].url.as_deref(),
        Some("http://h.test/a1.html"),
        "the stored URL stays the identity"
    );

    let third = s.crawler.crawl(&source).await;
    assert!(matches!(third.rechecks[0].outcome, UrlOutcome::Unchanged));
}

#[tokio::test]
async fn a_changed_feed_item_takes_the_same_revision_path() {
    let s = setup();
    let rss = |text: &str| {
        format!(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title><link>http://h.test/</link>\
             <item><title>光谷签约</title><link>http://h.test/i1.html</link><description>{text}</description>\
             <pubDate>Wed, 02 Jul 2025 07:30:00 +0800</pubDate></item></channel></rss>"
        )
    };
    s.site.page("/list.html", &rss("签约项目十个。"));
    let mut feed = source(SourceKind::Feed { full_text: false });
    feed.recheck_days = 7;
    let first = s.crawler.crawl(&feed).await;
    assert_eq!(outcomes(&first.articles), [("/i1.html", "stored")]);
    let same = s.crawler.crawl(&feed).await;
    assert_eq!(outcomes(&same.articles), [("/i1.html", "known")]);
    s.site.page("/list.html", &rss("签约项目十一个。"));
    let changed = s.crawler.crawl(&feed).await;
    assert!(matches!(
        changed.articles[0].outcome,
        UrlOutcome::Stored(Stored::Updated)
    ));
    let id = s
        .crawler
        .store
        .url_article("http://h.test/i1.html")
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("stored"));
    let latest = s.crawler.store.article(id).ok().flatten();
    assert_eq!(
        latest.map(|a| (a.revision, a.body)),
        Some((2, "签约项目十一个。".into()))
    );
}

/// A store whose inserts fail, as on a full disk.
struct FullDisk(Store);

impl CrawlStore for FullDisk {
    fn url_article(&self, url: &str) -> Result<Option<ArticleId>, StoreError> {
        self.0.url_article(url)
    }
    fn article(&self, id: ArticleId) -> Result<Option<Article>, StoreError> {
        self.0.article(id)
    }
    fn find_hash(&self, hash: &ContentHash) -> Result<Option<ArticleId>, StoreError> {
        self.0.find_hash(hash)
    }
    fn near_duplicate(
        &self,
        fp: Fingerprint,
        max_bits: u32,
    ) -> Result<Option<(ArticleId, u32)>, StoreError> {
        self.0.near_duplicate(fp, max_bits)
    }
    fn insert(
        &self,
        _: &Article,
        _: Option<Fingerprint>,
        _: &[String],
        _: &[&str],
    ) -> Result<Inserted, StoreError> {
        Err(StoreError::Sled(sled::Error::Io(std::io::Error::other(
            "No space left on device",
        ))))
    }
    fn revise(
        &self,
        id: ArticleId,
        article: &Article,
        digests: &[String],
        aliases: &[&str],
        max_revisions: u32,
    ) -> Result<Inserted, StoreError> {
        self.0.revise(id, article, digests, aliases, max_revisions)
    }
    fn add_aliases(&self, id: ArticleId, urls: &[&str]) -> Result<(), StoreError> {
        self.0.add_aliases(id, urls)
    }
    fn recent(
        &self,
        source: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<(ArticleId, Article)>, StoreError> {
        self.0.recent(source, since)
    }
    fn validators(&self, url: &str) -> Result<Option<Validators>, StoreError> {
        CrawlStore::validators(&self.0, url)
    }
    fn set_validators(&self, url: &str, validators: &Validators) -> Result<(), StoreError> {
        CrawlStore::set_validators(&self.0, url, validators)
    }
    fn source_state(&self, name: &str) -> Result<SourceState, StoreError> {
        self.0.source_state(name)
    }
    fn set_source_state(&self, name: &str, state: &SourceState) -> Result<(), StoreError> {
        self.0.set_source_state(name, state)
    }
    fn commit(&self) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.0.commit()
    }
}

#[tokio::test]
async fn a_store_failure_is_a_typed_failure_of_the_crawl() {
    let s = setup();
    s.site.page("/list.html", &list(&["/a1.html"], None));
    s.site.page("/a1.html", &article("甲", "甲的正文。"));
    let crawler = Crawler {
        pages: s.site.clone(),
        store: FullDisk(s.crawler.store.clone()),
        timezone: chrono_tz::Asia::Shanghai,
        routing: Routing::default(),
        metrics: Metrics::new(),
    };
    let report = crawler.crawl(&html(1)).await;
    assert_eq!(report.health(), CrawlHealth::Failed);
    let error = report.source_error();
    assert_eq!(error.map(CrawlError::kind), Some("store"));
    let chain = error.map(CrawlError::chain).unwrap_or_default();
    assert!(
        chain.contains("a1.html") && chain.contains("No space left on device"),
        "names the URL and keeps the cause: {chain}"
    );
    assert_eq!(state(&s).consecutive_failures, 1);
}

#[tokio::test]
async fn links_to_other_hosts_are_skipped_before_max_articles_and_canonicals_stay_home() {
    let s = setup();
    s.site.page(
        "/list.html",
        &list(
            &[
                "http://elsewhere.test/x1.html",
                "http://elsewhere.test/x2.html",
                "http://other-source.test/y.html",
                "/a1.html",
            ],
            None,
        ),
    );
    s.site.page(
        "/a1.html",
        &article("甲", "甲的正文。").replace(
            "<body>",
            "<head><link rel=\"canonical\" href=\"http://other-source.test/claimed.html\"></head><body>",
        ),
    );
    let mut one = html(1);
    one.max_articles = 1;
    // Listing another source's host in allowed_hosts does not make its URLs this source's.
    let listed = crate::fetch::HostPattern::parse("other-source.test")
        .into_iter()
        .collect();
    one.fetch.scope = crate::fetch::Scope::new(&url("/list.html"), listed);
    one.fetch
        .scope
        .set_others([("other-source.test".to_owned(), "other".to_owned())]);
    let report = s.crawler.crawl(&one).await;
    assert_eq!(
        outcomes(&report.articles),
        [
            ("http://elsewhere.test/x1.html", "skipped"),
            ("http://elsewhere.test/x2.html", "skipped"),
            ("http://other-source.test/y.html", "skipped"),
            ("/a1.html", "stored"),
        ],
        "links elsewhere take no place under max_articles"
    );
    assert!(matches!(
        &report.articles[2].outcome,
        UrlOutcome::Skipped(Policy::OtherSource { source, .. }) if source == "other"
    ));
    assert_eq!(report.counts().off_host, 3);
    assert_eq!(report.health(), CrawlHealth::Ok);
    let id = s
        .crawler
        .store
        .url_article(url("/a1.html").as_str())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(id.is_some(), "stored under its listed URL");
    assert_eq!(
        s.crawler
            .store
            .url_article("http://other-source.test/claimed.html")
            .unwrap_or_else(|e| panic!("{e}")),
        None,
        "another source's URL is not claimed"
    );
}
