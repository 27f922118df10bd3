//! Fetch: download pages over HTTP(S), politely and within limits.
//!
//! One [`Fetcher`] is shared by every source. It obeys robots.txt, keeps per-host and global
//! request limits, retries what is worth retrying, sends conditional requests, and cuts bodies at
//! a size limit. It only moves bytes; what they mean (charset, HTML, feed) is for [`charset`] and
//! the extract stage.

pub mod charset;
pub mod politeness;
pub mod robots;
pub mod scope;

use politeness::{HostLimits, HostPolicy};
use reqwest::StatusCode;
use reqwest::header::{
    CACHE_CONTROL, CONTENT_TYPE, ETAG, HeaderMap, HeaderValue, IF_MODIFIED_SINCE, IF_NONE_MATCH,
    LAST_MODIFIED, LOCATION, RETRY_AFTER, USER_AGENT,
};
use robots::{RobotsCache, Rules, Verdict};
pub use scope::{HostPattern, OffScope, Scope};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use thiserror::Error;
use tokio::time::Instant;
use url::Url;

/// A `Retry-After` longer than this is not waited out inside a crawl: the request fails now and
/// the host is left alone until then.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(60);
/// First retry waits about this long; each further one twice as long, with jitter.
const BACKOFF_BASE: Duration = Duration::from_millis(500);
/// Redirects followed for one request, as browsers allow about as many.
const MAX_REDIRECTS: usize = 10;

/// How a URL is shown in every message, report and log line: without its user name and
/// password, which are credentials (`https://user:secret@host/` shows as `https://host/`).
pub fn shown(url: &Url) -> String {
    if url.username().is_empty() && url.password().is_none() {
        return url.to_string();
    }
    let mut bare = url.clone();
    // Fails only for URLs that cannot have credentials, which then have none to hide.
    let _ = bare.set_username("");
    let _ = bare.set_password(None);
    bare.to_string()
}

/// `text` with the credentials of every URL in it dropped, for text that may hold URLs from
/// elsewhere (an error of another library, a last error stored by an older newswatch).
pub fn redact(text: &str) -> std::borrow::Cow<'_, str> {
    static USERINFO: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#\s@"'<>]*@"#).ok()
    });
    match &*USERINFO {
        Some(re) => re.replace_all(text, "$1"),
        None => std::borrow::Cow::Borrowed(text),
    }
}

/// How to fetch for one source: the fetch stage's settings (`[settings]` with the source's
/// overrides, assembled by the config).
#[derive(Debug, Clone)]
pub struct FetchSettings {
    pub user_agent: String,
    /// Whole-request limit, connect to last body byte.
    pub timeout: Duration,
    /// Bodies are cut here, counted after decompression.
    pub max_body_bytes: usize,
    /// Retries after a timeout, connection error, 429 or 5xx.
    pub max_retries: u32,
    pub per_host_concurrency: usize,
    /// Between the starts of two requests to one host.
    pub per_host_delay: Duration,
    /// Proxy URL for this source; otherwise `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY` apply.
    pub proxy: Option<String>,
    /// Extra request headers (cookies, referer, credentials from the source URL): sent only
    /// to the source's own origin (see [`Scope::sends_headers`]).
    pub headers: HeaderMap,
    /// The hosts the source may fetch from; redirects elsewhere are refused.
    pub scope: Scope,
}

impl FetchSettings {
    fn host_policy(&self) -> HostPolicy {
        HostPolicy {
            concurrency: self.per_host_concurrency,
            delay: self.per_host_delay,
        }
    }
}

/// HTTP cache validators remembered per URL, sent back on the next request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

impl Validators {
    pub fn is_empty(&self) -> bool {
        self.etag.is_none() && self.last_modified.is_none()
    }

    /// The bytes the store keeps for a URL (empty when there is nothing to keep).
    pub fn to_bytes(&self) -> Vec<u8> {
        if self.is_empty() {
            return Vec::new();
        }
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Validators from [`Validators::to_bytes`]; unreadable bytes are as good as none (the
    /// next request is simply unconditional).
    pub fn from_bytes(bytes: &[u8]) -> Option<Validators> {
        serde_json::from_slice(bytes).ok()
    }
}

/// Why a fetch failed. Each names the URL, since a source's report lists many; the cause, where
/// there is one, is the error's source.
#[derive(Debug, Error)]
pub enum FetchError {
    #[error("{}: only http and https URLs are fetched", crate::short_url(.url))]
    UnsupportedScheme { url: String },
    /// The site's own robots.txt disallows the URL: a policy, not a failure.
    #[error("{}: blocked by robots.txt ({reason})", crate::short_url(.url))]
    Blocked { url: String, reason: String },
    /// robots.txt could not be read (5xx, 429, timeout, refused): the site may be down, and
    /// nothing on it is fetched until robots.txt answers. A failure, not a policy.
    #[error(
        "{}: robots.txt unavailable, so nothing on this site is fetched for now",
        crate::short_url(.url)
    )]
    RobotsUnavailable {
        url: String,
        #[source]
        cause: Arc<FetchError>,
    },
    #[error("{}: HTTP {status}{}", crate::short_url(.url), retry_note(.retry_after))]
    Status {
        url: String,
        status: StatusCode,
        retry_after: Option<Duration>,
    },
    #[error("{}: timed out after {secs}s", crate::short_url(.url))]
    Timeout { url: String, secs: u64 },
    #[error("{}: body larger than max_body_bytes ({limit} bytes)", crate::short_url(.url))]
    TooLarge { url: String, limit: usize },
    #[error(
        "{}: redirect to a non-http(s) URL {} refused",
        crate::short_url(.url),
        crate::short_url(.target)
    )]
    RedirectRefused { url: String, target: String },
    #[error("{}: more than {MAX_REDIRECTS} redirects", crate::short_url(.url))]
    TooManyRedirects { url: String },
    #[error("{}: redirect loop at {}", crate::short_url(.url), crate::short_url(.target))]
    RedirectLoop { url: String, target: String },
    /// The URL (or a redirect on the way) leads outside the source's hosts: a policy, not a
    /// failure. `target` is where the redirect pointed, when it was one.
    #[error("{}: not fetched{}: {refusal}", crate::short_url(.url), .target.as_ref().map_or(String::new(), |t| format!(" (redirects to {})", crate::short_url(t))))]
    OffScope {
        url: String,
        target: Option<String>,
        refusal: OffScope,
    },
    #[error("{}", crate::short_url(.url))]
    Network {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("cannot build an HTTP client{}", .proxy.as_ref().map_or(String::new(), |p| format!(" for proxy {}", redact(p))))]
    Client {
        proxy: Option<String>,
        #[source]
        source: reqwest::Error,
    },
}

fn retry_note(retry_after: &Option<Duration>) -> String {
    retry_after.map_or(String::new(), |d| {
        format!(" (server asks to retry after {}s)", d.as_secs())
    })
}

impl FetchError {
    /// robots.txt forbade the fetch: a policy outcome, not a failure of the source.
    pub fn is_blocked(&self) -> bool {
        matches!(self, FetchError::Blocked { .. })
    }

    /// The URL leads outside the source's hosts: a policy outcome, not a failure.
    pub fn off_scope(&self) -> Option<&OffScope> {
        match self {
            FetchError::OffScope { refusal, .. } => Some(refusal),
            _ => None,
        }
    }

    /// A short name for what went wrong, for metrics and machine-readable reports.
    pub fn kind(&self) -> &'static str {
        match self {
            FetchError::UnsupportedScheme { .. } => "unsupported_scheme",
            FetchError::Blocked { .. } => "blocked",
            FetchError::RobotsUnavailable { .. } => "robots_unavailable",
            FetchError::Status { .. } => "status",
            FetchError::Timeout { .. } => "timeout",
            FetchError::TooLarge { .. } => "too_large",
            FetchError::OffScope {
                refusal: OffScope::Host { .. },
                ..
            } => "off_host",
            FetchError::OffScope {
                refusal: OffScope::OtherSource { .. },
                ..
            } => "other_source",
            FetchError::RedirectRefused { .. }
            | FetchError::TooManyRedirects { .. }
            | FetchError::RedirectLoop { .. }
            | FetchError::Network { .. } => "network",
            FetchError::Client { .. } => "client",
        }
    }
}

/// A complete response body (within limits).
#[derive(Debug, Clone)]
pub struct Response {
    /// The final URL, after redirects.
    pub url: Url,
    pub status: StatusCode,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    /// Validators to send next time.
    pub validators: Validators,
    pub cache_control: Option<String>,
}

impl Response {
    /// Decodes the body as text (see [`charset::decode`]).
    pub fn decode(&self, override_label: Option<&str>) -> charset::Decoded {
        charset::decode(&self.body, self.content_type.as_deref(), override_label)
    }
}

/// The outcome of a conditional GET.
#[derive(Debug, Clone)]
pub enum Fetched {
    Page(Box<Response>),
    /// 304: unchanged since the validators were issued.
    NotModified,
}

/// One attempt's failure, and whether (and when) it is worth another.
struct AttemptError {
    error: FetchError,
    retry: bool,
    retry_after: Option<Duration>,
}

impl AttemptError {
    fn fatal(error: FetchError) -> Self {
        AttemptError {
            error,
            retry: false,
            retry_after: None,
        }
    }
}

struct Inner {
    clients: Mutex<HashMap<Option<String>, reqwest::Client>>,
    limits: HostLimits,
    robots: RobotsCache,
}

/// The shared HTTP client. Cloning is cheap and shares limits and caches.
#[derive(Clone)]
pub struct Fetcher {
    inner: Arc<Inner>,
}

/// `host:port`, the unit of politeness.
fn host_key(url: &Url) -> String {
    format!(
        "{}:{}",
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or(0)
    )
}

fn build_client(proxy: Option<&str>) -> Result<reqwest::Client, FetchError> {
    // Redirects are followed by `Fetcher::once`, one hop at a time: each hop's host is checked
    // against the source's scope and gets the source's headers only on its own origin, which
    // reqwest's redirect policy cannot do per source.
    let mut builder = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none());
    let client_error = |source| FetchError::Client {
        proxy: proxy.map(str::to_owned),
        source,
    };
    if let Some(p) = proxy {
        builder = builder.proxy(reqwest::Proxy::all(p).map_err(client_error)?);
    }
    builder.build().map_err(client_error)
}

fn parse_retry_after(v: &HeaderValue) -> Option<Duration> {
    let v = v.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

fn backoff(attempt: u32) -> Duration {
    let base = BACKOFF_BASE.saturating_mul(1 << attempt.min(10));
    // ±50 % jitter, so sources retrying after a shared outage do not come back in lockstep.
    base.mul_f64(0.5 + fastrand::f64())
}

impl Fetcher {
    /// A fetcher allowing `concurrency` requests at once overall. `hosts` lists the policy of
    /// each source by its URL, so a host shared by several sources gets the strictest limits.
    pub fn new<'a>(
        concurrency: usize,
        hosts: impl IntoIterator<Item = (&'a Url, &'a FetchSettings)>,
    ) -> Result<Fetcher, FetchError> {
        let mut configured: HashMap<String, HostPolicy> = HashMap::new();
        let mut clients = HashMap::new();
        clients.insert(None, build_client(None)?);
        for (url, policy) in hosts {
            let p = policy.host_policy();
            configured
                .entry(host_key(url))
                .and_modify(|c| {
                    c.concurrency = c.concurrency.min(p.concurrency);
                    c.delay = c.delay.max(p.delay);
                })
                .or_insert(p);
            if let Some(proxy) = &policy.proxy
                && !clients.contains_key(&Some(proxy.clone()))
            {
                clients.insert(Some(proxy.clone()), build_client(Some(proxy))?);
            }
        }
        Ok(Fetcher {
            inner: Arc::new(Inner {
                clients: Mutex::new(clients),
                limits: HostLimits::new(concurrency, configured),
                robots: RobotsCache::default(),
            }),
        })
    }

    fn client(&self, proxy: Option<&String>) -> Result<reqwest::Client, FetchError> {
        let mut clients = self.inner.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = clients.get(&proxy.cloned()) {
            return Ok(c.clone());
        }
        let c = build_client(proxy.map(String::as_str))?;
        clients.insert(proxy.cloned(), c.clone());
        Ok(c)
    }

    /// GETs `url` if it is within the source's scope and robots.txt allows, within the host's
    /// limits, retrying timeouts, connection errors, 429 and 5xx with backoff (honouring
    /// `Retry-After`). With `validators`, a 304 answer is [`Fetched::NotModified`].
    pub async fn get(
        &self,
        url: &Url,
        settings: &FetchSettings,
        validators: Option<&Validators>,
    ) -> Result<Fetched, FetchError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(FetchError::UnsupportedScheme { url: shown(url) });
        }
        if let Err(refusal) = settings.scope.check(url) {
            return Err(FetchError::OffScope {
                url: shown(url),
                target: None,
                refusal,
            });
        }
        match self.robots(url, settings).await {
            Verdict::Allowed(_) => {}
            Verdict::Blocked(reason) => {
                return Err(FetchError::Blocked {
                    url: shown(url),
                    reason,
                });
            }
            Verdict::Unavailable(cause) => {
                return Err(FetchError::RobotsUnavailable {
                    url: shown(url),
                    cause,
                });
            }
        }
        self.with_retries(url, settings, validators, None).await
    }

    /// [`Fetcher::once`] within the host's limits, retried as [`Fetcher::get`] describes.
    async fn with_retries(
        &self,
        url: &Url,
        settings: &FetchSettings,
        validators: Option<&Validators>,
        truncate_at: Option<usize>,
    ) -> Result<Fetched, FetchError> {
        let host = host_key(url);
        let policy = settings.host_policy();
        let mut attempt = 0;
        loop {
            let permit = self.inner.limits.acquire(&host, policy).await;
            let result = self.once(url, settings, validators, truncate_at).await;
            drop(permit);
            let failure = match result {
                Ok(fetched) => return Ok(fetched),
                Err(f) => f,
            };
            if !failure.retry || attempt >= settings.max_retries {
                return Err(failure.error);
            }
            let wait = match failure.retry_after {
                Some(wait) if wait > MAX_RETRY_WAIT => {
                    self.inner
                        .limits
                        .hold_off(&host, policy, Instant::now() + wait)
                        .await;
                    return Err(failure.error);
                }
                Some(wait) => {
                    self.inner
                        .limits
                        .hold_off(&host, policy, Instant::now() + wait)
                        .await;
                    wait
                }
                None => backoff(attempt),
            };
            attempt += 1;
            tracing::debug!(url = %crate::short_url(&shown(url)), attempt, wait_ms = wait.as_millis() as u64, error = %failure.error, "retrying");
            tokio::time::sleep(wait).await;
        }
    }

    /// One request, no retries, following redirects within the source's scope. `truncate_at`
    /// cuts the body there instead of failing.
    async fn once(
        &self,
        url: &Url,
        settings: &FetchSettings,
        validators: Option<&Validators>,
        truncate_at: Option<usize>,
    ) -> Result<Fetched, AttemptError> {
        let client = self
            .client(settings.proxy.as_ref())
            .map_err(AttemptError::fatal)?;
        let transport_error = |e: reqwest::Error| {
            let retry = e.is_timeout() || e.is_connect() || e.is_request() || e.is_body();
            let error = if e.is_timeout() {
                FetchError::Timeout {
                    url: shown(url),
                    secs: settings.timeout.as_secs(),
                }
            } else {
                // The URL is in this error's own message; reqwest's would repeat it.
                FetchError::Network {
                    url: shown(url),
                    source: e.without_url(),
                }
            };
            AttemptError {
                error,
                retry,
                retry_after: None,
            }
        };
        let fatal = |error| Err(AttemptError::fatal(error));
        // `timeout` bounds the whole request, every redirect hop and the body included.
        let deadline = Instant::now() + settings.timeout;
        let mut at = url.clone();
        let mut hops: Vec<Url> = Vec::new();
        let mut resp = loop {
            let mut request = client
                .get(at.clone())
                .timeout(deadline.saturating_duration_since(Instant::now()))
                .header(USER_AGENT, &settings.user_agent);
            if settings.scope.sends_headers(&at) {
                request = request.headers(settings.headers.clone());
            }
            if let Some(v) = validators {
                if let Some(etag) = &v.etag {
                    request = request.header(IF_NONE_MATCH, etag);
                }
                if let Some(lm) = &v.last_modified {
                    request = request.header(IF_MODIFIED_SINCE, lm);
                }
            }
            let resp = request.send().await.map_err(transport_error)?;
            let status = resp.status().as_u16();
            let location = resp.headers().get(LOCATION);
            let (true, Some(location)) = (matches!(status, 301 | 302 | 303 | 307 | 308), location)
            else {
                break resp;
            };
            let location = String::from_utf8_lossy(location.as_bytes()).into_owned();
            let target = match at.join(&location) {
                Ok(t) if matches!(t.scheme(), "http" | "https") => t,
                _ => {
                    return fatal(FetchError::RedirectRefused {
                        url: shown(url),
                        target: redact(&location).into_owned(),
                    });
                }
            };
            if target == *url || hops.contains(&target) {
                return fatal(FetchError::RedirectLoop {
                    url: shown(url),
                    target: shown(&target),
                });
            }
            if hops.len() >= MAX_REDIRECTS {
                return fatal(FetchError::TooManyRedirects { url: shown(url) });
            }
            if let Err(refusal) = settings.scope.check(&target) {
                return fatal(FetchError::OffScope {
                    url: shown(url),
                    target: Some(shown(&target)),
                    refusal,
                });
            }
            hops.push(target.clone());
            at = target;
        };
        let status = resp.status();
        if status == StatusCode::NOT_MODIFIED && validators.is_some_and(|v| !v.is_empty()) {
            return Ok(Fetched::NotModified);
        }
        if status.is_redirection() {
            // A redirect without a target, or one no client follows (300, 305).
            let target = resp
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .map_or_else(|| "nowhere".to_owned(), |t| redact(t).into_owned());
            return fatal(FetchError::RedirectRefused {
                url: shown(url),
                target,
            });
        }
        if !status.is_success() {
            let retry_after = resp.headers().get(RETRY_AFTER).and_then(parse_retry_after);
            return Err(AttemptError {
                error: FetchError::Status {
                    url: shown(url),
                    status,
                    retry_after,
                },
                retry: status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error(),
                retry_after,
            });
        }
        let header = |name| {
            resp.headers()
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header(CONTENT_TYPE);
        let cache_control = header(CACHE_CONTROL);
        let validators = Validators {
            etag: header(ETAG),
            last_modified: header(LAST_MODIFIED),
        };
        let final_url = resp.url().clone();
        let limit = truncate_at.unwrap_or(settings.max_body_bytes);
        let mut body = Vec::new();
        // Chunks arrive decompressed, so a gzip bomb is stopped at the limit, not after.
        while let Some(chunk) = resp.chunk().await.map_err(transport_error)? {
            if body.len() + chunk.len() > limit {
                if truncate_at.is_some() {
                    body.extend_from_slice(&chunk[..limit - body.len()]);
                    break;
                }
                return fatal(FetchError::TooLarge {
                    url: shown(url),
                    limit,
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched::Page(Box::new(Response {
            url: final_url,
            status,
            content_type,
            body,
            validators,
            cache_control,
        })))
    }

    /// What robots.txt says about `url`, fetching and caching the origin's file when needed.
    /// robots.txt is fetched with the same retries as any page.
    pub async fn robots(&self, url: &Url, settings: &FetchSettings) -> Verdict {
        let origin = url.origin().ascii_serialization();
        if let Some(entry) = self.inner.robots.get(&origin) {
            return entry.verdict(url.as_str());
        }
        let lock = self.inner.robots.fetch_lock(&origin);
        let _guard = lock.lock().await;
        if let Some(entry) = self.inner.robots.get(&origin) {
            return entry.verdict(url.as_str());
        }
        let robots_url = match url.join("/robots.txt") {
            Ok(u) => u,
            Err(_) => return Verdict::Allowed("no robots.txt URL for this origin".into()),
        };
        // A robots.txt that redirects elsewhere is still the site's word (RFC 9309 follows
        // redirects), so it is read wherever it leads; the headers still go only home.
        let robots_settings = FetchSettings {
            scope: settings.scope.unrestricted(),
            ..settings.clone()
        };
        let result = self
            .with_retries(&robots_url, &robots_settings, None, Some(robots::MAX_BYTES))
            .await;
        let now = Instant::now();
        let entry = match result {
            Ok(Fetched::Page(resp)) => robots::Entry {
                rules: robots::parse(&settings.user_agent, &resp.body),
                expires: now + robots::ttl(resp.cache_control.as_deref()),
            },
            Ok(Fetched::NotModified) => robots::Entry {
                rules: Rules::AllowAll {
                    why: "robots.txt answered 304 to an unconditional request".into(),
                },
                expires: now + robots::UNREACHABLE_TTL,
            },
            // The server is in trouble (or asks us to slow down): nothing is fetched from it
            // for a while, and that is reported as a failure of every crawl that meets it.
            Err(error @ FetchError::Status { status, .. })
                if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS =>
            {
                robots::Entry {
                    rules: Rules::Unavailable(Arc::new(error)),
                    expires: now + robots::SERVER_ERROR_TTL,
                }
            }
            Err(FetchError::Status { status, .. }) => robots::Entry {
                rules: Rules::AllowAll {
                    why: format!("no robots.txt (HTTP {status})"),
                },
                expires: now + robots::DEFAULT_TTL,
            },
            // A robots.txt that redirects somewhere we do not go is as good as none.
            Err(FetchError::RedirectRefused { target, .. }) => robots::Entry {
                rules: Rules::AllowAll {
                    why: format!("robots.txt redirects to {target}; treated as allow-all"),
                },
                expires: now + robots::DEFAULT_TTL,
            },
            Err(error) => robots::Entry {
                rules: Rules::Unavailable(Arc::new(error)),
                expires: now + robots::UNREACHABLE_TTL,
            },
        };
        if let Some(delay) = entry.crawl_delay() {
            let host = host_key(url);
            self.inner
                .limits
                .raise_delay(&host, settings.host_policy(), delay)
                .await;
        }
        let entry = self.inner.robots.put(&origin, entry);
        entry.verdict(url.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_text_are_shown_without_credentials() {
        let url = Url::parse("https://user:pa%40ss@portal.example:8443/a?b=c#d")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(shown(&url), "https://portal.example:8443/a?b=c#d");
        let plain = Url::parse("http://portal.example/a").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(shown(&plain), "http://portal.example/a");
        assert_eq!(
            redact(
                "http://u:secret@h.example/x: error; see socks5h://token@proxy:1080 and mailto:a@b.example"
            ),
            "http://h.example/x: error; see socks5h://proxy:1080 and mailto:a@b.example"
        );
        assert_eq!(redact("no URL here: a@b"), "no URL here: a@b");
    }
}
