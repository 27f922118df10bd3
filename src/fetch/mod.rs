//! Fetch: download pages over HTTP(S), within time and size limits.
//!
//! One [`Fetcher`] is shared by every source. It only moves bytes; deciding what the bytes mean
//! (charset, HTML, feed) is left to [`charset`] and the extract stage.

pub mod charset;

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue, USER_AGENT};
use std::time::Duration;
use thiserror::Error;
use url::Url;

/// The default `User-Agent`: names newswatch and its version so site operators can reach us.
pub const DEFAULT_USER_AGENT: &str = concat!(
    "newswatch/",
    env!("CARGO_PKG_VERSION"),
    " (+https://github.com/newswatch/newswatch)"
);

/// Limits and identity for fetching.
#[derive(Debug, Clone)]
pub struct FetchSettings {
    pub user_agent: String,
    pub timeout: Duration,
    pub max_body_bytes: usize,
}

impl Default for FetchSettings {
    fn default() -> Self {
        FetchSettings {
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            timeout: Duration::from_secs(30),
            max_body_bytes: 10 * 1024 * 1024,
        }
    }
}

/// Why a fetch failed. Each names the URL, since a source's report lists many.
#[derive(Debug, Error)]
pub enum FetchError {
    #[error("{url}: only http and https URLs are fetched")]
    UnsupportedScheme { url: String },
    #[error("{url}: HTTP {status}")]
    Status { url: String, status: StatusCode },
    #[error("{url}: timed out after {secs}s")]
    Timeout { url: String, secs: u64 },
    #[error("{url}: body larger than max_body_bytes ({limit} bytes)")]
    TooLarge { url: String, limit: usize },
    #[error("{url}: {reason}")]
    Network { url: String, reason: String },
}

/// A successful response, body read in full (within limits).
#[derive(Debug, Clone)]
pub struct Response {
    /// The final URL, after redirects.
    pub url: Url,
    pub status: StatusCode,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

impl Response {
    /// Decodes the body as text (see [`charset::decode`]).
    pub fn decode(&self, override_label: Option<&str>) -> charset::Decoded {
        charset::decode(&self.body, self.content_type.as_deref(), override_label)
    }
}

/// The shared HTTP client.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    settings: FetchSettings,
}

impl Fetcher {
    pub fn new(settings: FetchSettings) -> Result<Self, FetchError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("zh-CN,zh;q=0.9,en;q=0.5"),
        );
        let client = reqwest::Client::builder()
            .user_agent(settings.user_agent.clone())
            .default_headers(headers)
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            .timeout(settings.timeout)
            .redirect(reqwest::redirect::Policy::custom(|attempt| {
                if attempt.previous().len() >= 10 {
                    attempt.error("more than 10 redirects")
                } else if !matches!(attempt.url().scheme(), "http" | "https") {
                    attempt.error("redirect to a non-http(s) URL")
                } else if attempt.previous().contains(attempt.url()) {
                    attempt.error("redirect loop")
                } else {
                    attempt.follow()
                }
            }))
            .build()
            .map_err(|e| FetchError::Network {
                url: String::new(),
                reason: format!("cannot build HTTP client: {e}"),
            })?;
        Ok(Fetcher { client, settings })
    }

    pub fn settings(&self) -> &FetchSettings {
        &self.settings
    }

    /// GETs `url`, following redirects, and reads the body up to `max_body_bytes`.
    pub async fn get(&self, url: &Url) -> Result<Response, FetchError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(FetchError::UnsupportedScheme {
                url: url.to_string(),
            });
        }
        let mut resp = self
            .client
            .get(url.clone())
            .header(USER_AGENT, &self.settings.user_agent)
            .send()
            .await
            .map_err(|e| self.error(url, e))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(FetchError::Status {
                url: url.to_string(),
                status,
            });
        }
        let final_url = resp.url().clone();
        let content_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let limit = self.settings.max_body_bytes;
        let mut body = Vec::new();
        // Read chunk by chunk, after decompression, so a gzip bomb stops at the limit.
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.error(url, e))? {
            if body.len() + chunk.len() > limit {
                return Err(FetchError::TooLarge {
                    url: url.to_string(),
                    limit,
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            url: final_url,
            status,
            content_type,
            body,
        })
    }

    fn error(&self, url: &Url, e: reqwest::Error) -> FetchError {
        let url = url.to_string();
        if e.is_timeout() {
            return FetchError::Timeout {
                url,
                secs: self.settings.timeout.as_secs(),
            };
        }
        // reqwest's top-level message is generic; the cause chain says what really happened.
        let mut reason = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            reason.push_str(": ");
            reason.push_str(&s.to_string());
            source = s.source();
        }
        FetchError::Network { url, reason }
    }
}
