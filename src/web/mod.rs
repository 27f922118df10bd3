//! The web pages, served by the daemon beside `/healthz`, `/metrics` and `/status`: the latest
//! articles (`/`), search (`/search?q=`), one article with its revisions and what changed
//! between them (`/article/{id}`), source health (`/sources`) and the digests sent
//! (`/digests`).
//!
//! Read-only, server-rendered from minijinja templates (built in; a `[settings] web_templates`
//! folder overrides any of them by file name), usable without JavaScript. Every value from a
//! page or the store is HTML-escaped by the templates' auto-escaping; the only markup passed
//! through is what newswatch builds itself (search highlights). Bound beyond loopback, every
//! page but `/healthz` needs the token ([`auth`]).

pub mod auth;
mod pages;

pub use pages::{Pages, WebError};

use crate::config::Config;
use crate::search::{Query, SearchReader, SignalNames, UnknownSignal};
use crate::status::{Health, IndexStatus, Status};
use crate::store::{ArticleId, Store};
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;

/// The web pages' settings, assembled by `config` with the rest of `[settings]` (defined there,
/// as the pages read the whole config like the status listener does).
pub use crate::config::WebSettings;

/// Articles on one page of `/`.
const LATEST_PAGE: usize = 30;
/// Hits on one page of `/search`.
pub const SEARCH_PAGE: usize = 20;
/// Digest records shown per digest on `/digests`.
const DIGESTS_SHOWN: usize = 50;
/// Characters of the body shown under a title on `/`.
const OPENING_CHARS: usize = 100;

/// What the pages read from.
#[derive(Clone)]
pub struct Web {
    pub config: Arc<Config>,
    pub store: Store,
    /// `None` when the index could not be opened (the error is logged).
    pub search: Option<SearchReader>,
    pub pages: Arc<Pages>,
}

/// The pages' routes, for the daemon's listener.
pub fn routes(web: Web) -> Router {
    Router::new()
        .route("/", get(latest))
        .route("/search", get(search))
        .route("/article/{id}", get(article))
        .route("/sources", get(sources))
        .route("/digests", get(digests))
        .with_state(web)
}

/// The query string's parameters (the last value of each wins).
pub(crate) fn params(raw: Option<&str>) -> HashMap<String, String> {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn to_value<T: Serialize>(v: &T) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(v))
}

/// `href` for a stored URL: only http(s) addresses become links.
fn href(url: Option<&str>) -> Option<String> {
    url.filter(|u| u.starts_with("http://") || u.starts_with("https://"))
        .map(str::to_owned)
}

fn opening(body: &str, chars: usize) -> String {
    match body.char_indices().nth(chars) {
        Some((at, _)) => format!("{}…", &body[..at]),
        None => body.to_owned(),
    }
}

impl Web {
    fn page(&self, status: StatusCode, name: &str, ctx: minijinja::Value) -> Response {
        match self.pages.render(name, ctx) {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!("web page {name}: {}", crate::error_chain(&e));
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("page template {name} failed: {e}\n"),
                )
                    .into_response()
            }
        }
    }

    fn error(&self, status: StatusCode, message: &str) -> Response {
        self.page(
            status,
            "error.html",
            minijinja::context! { message => message, status => status.as_u16() },
        )
    }

    fn time(&self, t: chrono::DateTime<chrono::Utc>) -> String {
        t.with_timezone(&self.config.settings.timezone)
            .format("%Y-%m-%d %H:%M")
            .to_string()
    }
}

/// Runs store and index work off the async threads (a search can take tens of milliseconds).
async fn blocking<T: Send + 'static>(
    web: &Web,
    work: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, Response> {
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(message)) => Err(web.error(StatusCode::SERVICE_UNAVAILABLE, &message)),
        Err(_) => Err(web.error(StatusCode::SERVICE_UNAVAILABLE, "服务正在停止")),
    }
}

#[derive(Serialize)]
struct ArticleRow {
    id: ArticleId,
    title: String,
    date: String,
    source: String,
    url: Option<String>,
    opening: String,
    revision: u32,
}

/// `/`: the latest articles, newest first; `?before=ID` pages back.
async fn latest(State(web): State<Web>, RawQuery(raw): RawQuery) -> Response {
    let p = params(raw.as_deref());
    let before = match p.get("before").filter(|b| !b.is_empty()) {
        None => None,
        Some(b) => match b.parse::<ArticleId>() {
            Ok(id) => Some(id),
            Err(_) => return web.error(StatusCode::BAD_REQUEST, "before 必须是文章编号"),
        },
    };
    let store = web.store.clone();
    let rows = blocking(&web, move || {
        let total = store.len();
        let rows = store
            .latest(before, LATEST_PAGE)
            .map_err(|e| format!("读取存储失败：{}", crate::error_chain(&e)))?;
        Ok((total, rows))
    })
    .await;
    let (total, rows) = match rows {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let older = (rows.len() == LATEST_PAGE)
        .then(|| rows.last().map(|(id, _)| *id))
        .flatten();
    let rows: Vec<ArticleRow> = rows
        .into_iter()
        .map(|(id, a)| ArticleRow {
            id,
            opening: opening(&a.body, OPENING_CHARS),
            date: a.date.to_string(),
            url: href(a.url.as_deref()),
            title: a.title,
            source: a.source,
            revision: a.revision,
        })
        .collect();
    web.page(
        StatusCode::OK,
        "index.html",
        minijinja::context! {
            articles => to_value(&rows),
            total => total,
            older => older,
            paged => before.is_some(),
            nav => "latest",
        },
    )
}

/// Signal filters of the search form, besides the text, source and dates.
const SIGNAL_PARAMS: [&str; 4] = ["stage", "region", "industry", "min_amount"];

/// The search the page's parameters ask for, as `newswatch search` would run it, with signal
/// names read by `extractor` (the configured dictionaries).
pub fn query_of(
    p: &HashMap<String, String>,
    limit: usize,
    extractor: &crate::signals::Extractor,
) -> Result<Query, String> {
    let text = p.get("q").map(|q| q.trim()).unwrap_or_default();
    let mut q = Query::new(text);
    q.limit = limit;
    let nonempty = |k: &str| p.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    q.source = nonempty("source").map(str::to_owned);
    let day = |k: &str, label: &str| -> Result<Option<NaiveDate>, String> {
        nonempty(k)
            .map(|v| {
                NaiveDate::parse_from_str(v, "%Y-%m-%d")
                    .map_err(|_| format!("{label}“{v}”不是 YYYY-MM-DD 格式的日期"))
            })
            .transpose()
    };
    q.since = day("since", "起始日期")?;
    q.until = day("until", "截止日期")?;
    let names = SignalNames {
        stages: nonempty("stage").map(str::to_owned).into_iter().collect(),
        regions: nonempty("region").map(str::to_owned).into_iter().collect(),
        industries: nonempty("industry")
            .map(str::to_owned)
            .into_iter()
            .collect(),
        min_amount: nonempty("min_amount").map(str::to_owned),
    };
    names.apply(extractor, &mut q).map_err(|e| match e {
        UnknownSignal::Stage(v) => format!("阶段“{v}”不在词表中"),
        UnknownSignal::Region(v) => {
            format!("地区“{v}”不在词表中（可在 sources.toml 的 [signals] regions 中添加）")
        }
        UnknownSignal::Industry(v) => {
            format!("产业“{v}”不在词表中（可在 sources.toml 的 [signals] industries 中添加）")
        }
        UnknownSignal::Amount(v) => format!("金额“{v}”无法识别（写法如 10亿元、5000万美元）"),
    })?;
    let page = match nonempty("page") {
        None => 1,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|&n| n >= 1)
            .ok_or_else(|| format!("页码“{v}”不是正整数"))?,
    };
    q.offset = (page - 1).saturating_mul(limit);
    Ok(q)
}

#[derive(Serialize)]
struct HitRow {
    id: ArticleId,
    title: minijinja::Value,
    date: String,
    source: String,
    url: Option<String>,
    snippet: minijinja::Value,
    score: f32,
}

/// `/search?q=…[&source=…&since=…&until=…&stage=…&region=…&industry=…&min_amount=…&page=N]`:
/// what `newswatch search` finds, with highlighted snippets.
async fn search(State(web): State<Web>, RawQuery(raw): RawQuery) -> Response {
    let p = params(raw.as_deref());
    let text = p.get("q").cloned().unwrap_or_default();
    let mut ctx = HashMap::<&str, minijinja::Value>::new();
    ctx.insert("nav", "search".into());
    ctx.insert("q", text.clone().into());
    for k in ["source", "since", "until"]
        .into_iter()
        .chain(SIGNAL_PARAMS)
    {
        ctx.insert(k, p.get(k).cloned().unwrap_or_default().into());
    }
    let sources: Vec<String> = web.config.sources.iter().map(|s| s.name.clone()).collect();
    ctx.insert("sources", to_value(&sources));
    let stages: Vec<&str> = crate::signals::Stage::ALL
        .iter()
        .map(|s| s.label())
        .collect();
    ctx.insert("stages", to_value(&stages));
    if text.trim().is_empty() {
        return web.page(StatusCode::OK, "search.html", to_value(&ctx));
    }
    let query = match query_of(&p, SEARCH_PAGE, &web.config.extractor) {
        Ok(q) => q,
        Err(message) => {
            ctx.insert("problem", message.into());
            return web.page(StatusCode::BAD_REQUEST, "search.html", to_value(&ctx));
        }
    };
    let Some(reader) = web.search.clone() else {
        ctx.insert("problem", "搜索索引不可用（见守护进程日志）".into());
        return web.page(
            StatusCode::SERVICE_UNAVAILABLE,
            "search.html",
            to_value(&ctx),
        );
    };
    let page = query.offset / SEARCH_PAGE + 1;
    let q = query.clone();
    let found = tokio::task::spawn_blocking(move || reader.search(&q)).await;
    let hits = match found {
        Ok(Ok(hits)) => hits,
        Ok(Err(crate::search::SearchError::BadQuery { reason, .. })) => {
            ctx.insert("problem", format!("无法搜索：{reason}").into());
            return web.page(StatusCode::BAD_REQUEST, "search.html", to_value(&ctx));
        }
        Ok(Err(e)) => {
            return web.error(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("搜索失败：{}", crate::error_chain(&e)),
            );
        }
        Err(_) => return web.error(StatusCode::SERVICE_UNAVAILABLE, "服务正在停止"),
    };
    let more = hits.len() == SEARCH_PAGE;
    let rows: Vec<HitRow> = hits
        .iter()
        .map(|h| HitRow {
            id: h.id,
            title: minijinja::Value::from_safe_string(h.title.html()),
            date: h.date.to_string(),
            source: h.source.clone(),
            url: href(Some(&h.url)),
            snippet: minijinja::Value::from_safe_string(h.snippet.html()),
            score: h.score,
        })
        .collect();
    // Links to the neighbouring pages keep every parameter but the page.
    let link = |n: usize| {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        s.append_pair("q", &text);
        for k in ["source", "since", "until"]
            .into_iter()
            .chain(SIGNAL_PARAMS)
        {
            if let Some(v) = p.get(k).filter(|v| !v.is_empty()) {
                s.append_pair(k, v);
            }
        }
        if n > 1 {
            s.append_pair("page", &n.to_string());
        }
        format!("/search?{}", s.finish())
    };
    ctx.insert("hits", to_value(&rows));
    ctx.insert("page", page.into());
    ctx.insert("first", (query.offset + 1).into());
    ctx.insert(
        "next",
        more.then(|| link(page + 1))
            .map_or(minijinja::Value::from(()), minijinja::Value::from),
    );
    ctx.insert(
        "previous",
        (page > 1)
            .then(|| link(page - 1))
            .map_or(minijinja::Value::from(()), minijinja::Value::from),
    );
    web.page(StatusCode::OK, "search.html", to_value(&ctx))
}

#[derive(Serialize)]
struct RevisionView {
    revision: u32,
    /// When this text was stored.
    stored: String,
    title: String,
    /// The title it replaced, when it changed.
    previous_title: Option<String>,
    added: Vec<String>,
    removed: Vec<String>,
    /// Whether it has a predecessor kept to compare with.
    compared: bool,
}

/// `/article/{id}`: the latest text, and each kept revision with the sentences it added and
/// removed, newest first.
async fn article(State(web): State<Web>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<ArticleId>() else {
        return web.error(StatusCode::NOT_FOUND, "没有这篇文章");
    };
    let store = web.store.clone();
    let revisions = match blocking(&web, move || {
        store
            .revisions(id)
            .map_err(|e| format!("读取存储失败：{}", crate::error_chain(&e)))
    })
    .await
    {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let Some(latest) = revisions.last() else {
        return web.error(StatusCode::NOT_FOUND, "没有这篇文章");
    };
    let mut views: Vec<RevisionView> = revisions
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let previous = i.checked_sub(1).and_then(|j| revisions.get(j));
            let (added, removed) = previous.map_or((Vec::new(), Vec::new()), |p| {
                crate::notify::diff::changed_sentences(&p.body, &a.body)
            });
            RevisionView {
                revision: a.revision,
                stored: web.time(a.revised_at.unwrap_or(a.fetched_at)),
                title: a.title.clone(),
                previous_title: previous
                    .filter(|p| p.title != a.title)
                    .map(|p| p.title.clone()),
                added,
                removed,
                compared: previous.is_some(),
            }
        })
        .collect();
    views.reverse();
    let paragraphs = paragraphs(&latest.body);
    web.page(
        StatusCode::OK,
        "article.html",
        minijinja::context! {
            id => id,
            title => latest.title.clone(),
            date => latest.date.to_string(),
            source => latest.source.clone(),
            url => href(latest.url.as_deref()),
            first_stored => web.time(latest.fetched_at),
            revision => latest.revision,
            paragraphs => to_value(&paragraphs),
            revisions => to_value(&views),
            nav => "latest",
        },
    )
}

/// The body's paragraphs: the normal form joins them with one space, and a space after a
/// sentence's end is where one paragraph ended (a space inside a sentence stays).
fn paragraphs(body: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut prev = None;
    for (i, c) in body.char_indices() {
        if c == ' '
            && prev.is_some_and(|p| matches!(p, '。' | '！' | '？' | '!' | '?' | '；' | '…'))
        {
            out.push(&body[start..i]);
            start = i + 1;
        }
        prev = Some(c);
    }
    out.push(&body[start..]);
    out.retain(|p| !p.trim().is_empty());
    out
}

#[derive(Serialize)]
struct SourceRow {
    name: String,
    /// `ok`, `warning`, `failing`, `not_crawled`: the page's colour.
    health: &'static str,
    label: &'static str,
    summary: String,
    last_attempt: String,
    last_success: String,
    failures: u32,
    errors: u64,
    last_error: String,
    stored: u64,
    next_run: String,
    schedule: String,
}

/// `/sources`: each source's health, from the one status model, and the search index's state.
async fn sources(State(web): State<Web>) -> Response {
    let (config, store) = (web.config.clone(), web.store.clone());
    let search = web.search.clone();
    let got = blocking(&web, move || {
        let status = Status::from_store(&config, &store)
            .map_err(|e| format!("读取存储失败：{}", crate::error_chain(&e)))?;
        let index = search.map(|r| IndexStatus::of(&r, Some(&store)));
        Ok((status, index))
    })
    .await;
    let (status, index) = match got {
        Ok(v) => v,
        Err(resp) => return resp,
    };
    let rows: Vec<SourceRow> = status
        .sources
        .iter()
        .map(|s| {
            let (health, label) = match s.health {
                Health::Ok => ("ok", "正常"),
                Health::Warning => ("warning", "有失败"),
                Health::Failing => ("failing", "失败"),
                Health::NotCrawled => ("not_crawled", "未抓取"),
            };
            SourceRow {
                name: s.name.clone(),
                health,
                label,
                summary: s.summary.clone(),
                last_attempt: status.time(s.state.last_attempt),
                last_success: status.time(s.state.last_success),
                failures: s.state.consecutive_failures,
                errors: s.state.errors_total,
                last_error: s.state.last_error.clone().unwrap_or_default(),
                stored: s.state.articles_stored,
                next_run: s.next_run.map_or_else(
                    || "unknown".to_owned(),
                    |t| t.format("%Y-%m-%d %H:%M").to_string(),
                ),
                schedule: s.schedule.clone(),
            }
        })
        .collect();
    let digests: Vec<(String, usize)> = status
        .digests
        .iter()
        .flatten()
        .map(|d| (d.name.clone(), d.pending))
        .collect();
    web.page(
        StatusCode::OK,
        "sources.html",
        minijinja::context! {
            sources => to_value(&rows),
            articles => status.articles,
            digests => to_value(&digests),
            indexed => index.as_ref().map(|ix| ix.searchable),
            waiting => index.and_then(|ix| ix.waiting),
            nav => "sources",
        },
    )
}

#[derive(Serialize)]
struct DigestRow {
    created: String,
    /// `sent`, `refused` or `waiting`.
    state: &'static str,
    label: &'static str,
    when: String,
    subject: String,
    message_id: String,
    items: Vec<ArticleId>,
    attempts: u32,
    last_error: String,
}

#[derive(Serialize)]
struct DigestGroup {
    name: String,
    destination: String,
    records: Vec<DigestRow>,
}

/// `/digests`: what each digest sent when, with its Message-ID, newest first.
async fn digests(State(web): State<Web>) -> Response {
    let (config, store) = (web.config.clone(), web.store.clone());
    let got = blocking(&web, move || {
        config
            .digests
            .iter()
            .map(|d| {
                store
                    .digest_records(&d.name, DIGESTS_SHOWN)
                    .map(|r| (d.name.clone(), destination(d), r))
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("读取存储失败：{}", crate::error_chain(&e)))
    })
    .await;
    let groups = match got {
        Ok(g) => g,
        Err(resp) => return resp,
    };
    let groups: Vec<DigestGroup> = groups
        .into_iter()
        .map(|(name, destination, records)| DigestGroup {
            name,
            destination,
            records: records
                .into_iter()
                .map(|r| {
                    let (state, label, when) = match (r.sent_at, r.delivery.refused_at) {
                        (Some(t), _) => ("sent", "已发送", web.time(t)),
                        (None, Some(t)) => ("refused", "被拒收", web.time(t)),
                        (None, None) => ("waiting", "待重试", String::new()),
                    };
                    DigestRow {
                        created: web.time(r.created_at),
                        state,
                        label,
                        when,
                        subject: r.subject,
                        message_id: r.message_id,
                        items: r.items.iter().map(|(id, _)| *id).collect(),
                        attempts: r.attempts,
                        last_error: r.last_error.unwrap_or_default(),
                    }
                })
                .collect(),
        })
        .collect();
    web.page(
        StatusCode::OK,
        "digests.html",
        minijinja::context! { digests => to_value(&groups), nav => "digests" },
    )
}

/// Where a digest goes, for the page: the recipients of a mail, the kind of a chat robot (never
/// its URL, which holds its token).
fn destination(d: &crate::notify::DigestSettings) -> String {
    match &d.channel {
        crate::notify::Channel::Mail(m) => {
            m.to.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        }
        crate::notify::Channel::Chat(c) => c.kind.name().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_split_after_sentence_ends_only() {
        assert_eq!(
            paragraphs("第一段。 第二段有 AI 算力。 第三段"),
            ["第一段。", "第二段有 AI 算力。", "第三段"]
        );
        assert_eq!(paragraphs(""), Vec::<&str>::new());
    }

    #[test]
    fn only_web_addresses_become_links() {
        assert_eq!(href(Some("javascript:alert(1)")), None);
        assert_eq!(
            href(Some("https://a.example/x")).as_deref(),
            Some("https://a.example/x")
        );
    }

    #[test]
    fn page_parameters_become_the_cli_query() {
        let p = params(Some(
            "q=%E7%AE%97%E5%8A%9B&source=qiaokou&since=2025-03-01&page=3",
        ));
        let dictionaries = crate::signals::Extractor::standard_shared();
        let q = query_of(&p, 20, &dictionaries).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(q.text, "算力");
        assert_eq!(q.source.as_deref(), Some("qiaokou"));
        assert_eq!(q.since, NaiveDate::from_ymd_opt(2025, 3, 1));
        assert_eq!((q.limit, q.offset), (20, 40));
        let bad = params(Some("q=x&until=March"));
        assert!(query_of(&bad, 20, &dictionaries).is_err_and(|e| e.contains("March")));
        // Signal names are read by the dictionaries: a common name becomes the canonical one.
        let p = params(Some(
            "q=x&stage=%E7%AD%BE%E7%BA%A6&region=%E5%85%89%E8%B0%B7&min_amount=10%E4%BA%BF%E5%85%83",
        ));
        let q = query_of(&p, 20, &dictionaries).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(q.stages, ["签约"]);
        assert!(
            q.regions.iter().any(|r| r == "东湖高新区"),
            "{:?}",
            q.regions
        );
        assert_eq!(q.min_amount_cny, Some(1e9));
        let bad = params(Some("q=x&region=%E7%81%AB%E6%98%9F"));
        assert!(query_of(&bad, 20, &dictionaries).is_err_and(|e| e.contains("火星")));
    }
}
