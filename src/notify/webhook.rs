//! Chat webhooks: post a digest as markdown to group-chat robots.
//!
//! Chinese teams read news in group chats, so besides the mail a digest can go to a
//! 企业微信 (WeCom), 钉钉 (DingTalk) or 飞书 (Feishu) custom robot, or to any plain JSON
//! webhook. Each platform caps the size of one message, so a long digest is cut at line
//! boundaries into several messages titled "title (n/m)".
//!
//! Size limits, and where they come from:
//! - WeCom: `markdown.content` at most 4096 bytes (WeCom group-robot docs, "最长不超过4096个字节";
//!   the server answers errcode 40058 "markdown.content exceed max length 4096").
//! - DingTalk: the request body must stay under 20000 bytes (errcode 460101 "message too long,
//!   exceed 20000 bytes"), and markdown is reported to stop rendering past about 3500
//!   characters; the text is kept to 3500 bytes, which satisfies both.
//! - Feishu: the request body must not exceed 20 KB (custom-robot guide, "请求体的数据大小不能
//!   超过 20 KB"); the markdown is kept to 9000 bytes so that even if JSON escaping doubled every
//!   byte the card would still fit.
//! - Plain webhook: our own format, no platform limit; 64 KiB per message keeps requests bounded.
//!
//! Rate limits: WeCom and DingTalk accept 20 messages a minute per robot (DingTalk then blocks
//! the robot for 10 minutes); Feishu 100 a minute and 5 a second (custom-robot guide, "单租户单
//! 机器人 100 次/分钟，5 次/秒"). [`ChatKind::pace`] gives them; the notify stage waits between
//! parts to keep within them and records each part delivered, so a retry resumes at the part
//! that failed. Answers that say "too fast" (WeCom 45009, DingTalk 130101, Feishu 11232 and
//! 99991400) or "busy" are worth retrying; most other refusals are not ([`WebhookError::refusal`]).
//!
//! Robot URLs carry their access token and signing secrets are credentials: neither appears in
//! logs, `Debug` output or error messages. Errors name the channel instead.

use super::Secret;
use super::markup::Markup;
use super::pace::Pace;
use crate::store::Refusal;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};
use sha2::Sha256;
use std::fmt;
use std::time::Duration;
use url::Url;

/// Which platform a chat robot is on, with the signing secret where the platform signs
/// messages and the robot has one set. The one list of chat platforms newswatch knows.
#[derive(Clone, PartialEq, Eq)]
pub enum ChatKind {
    WeCom,
    DingTalk { secret: Option<Secret> },
    Feishu { secret: Option<Secret> },
    Webhook,
}

impl ChatKind {
    /// The platforms by their config name, without secrets.
    pub const NAMES: [&'static str; 4] = ["wecom", "dingtalk", "feishu", "webhook"];

    /// The platform named `name` in the config (`wecom`, `dingtalk`, `feishu`, `webhook`),
    /// with `secret` where the platform signs; `Err` names what is wrong.
    pub fn from_name(name: &str, secret: Option<Secret>) -> Result<ChatKind, String> {
        let kind = match name {
            "wecom" | "webhook" if secret.is_some() => {
                return Err("only dingtalk and feishu sign their messages".into());
            }
            "wecom" => ChatKind::WeCom,
            "dingtalk" => ChatKind::DingTalk { secret },
            "feishu" => ChatKind::Feishu { secret },
            "webhook" => ChatKind::Webhook,
            other => {
                return Err(format!(
                    "unknown kind {other:?} (wecom, dingtalk, feishu or webhook)"
                ));
            }
        };
        Ok(kind)
    }

    /// The config name of the platform.
    pub fn name(&self) -> &'static str {
        match self {
            ChatKind::WeCom => "wecom",
            ChatKind::DingTalk { .. } => "dingtalk",
            ChatKind::Feishu { .. } => "feishu",
            ChatKind::Webhook => "webhook",
        }
    }
}

impl ChatKind {
    /// The robot's published rate limits (see the module docs); the plain webhook has none.
    pub fn pace(&self) -> Vec<Pace> {
        match self {
            ChatKind::WeCom | ChatKind::DingTalk { .. } => vec![Pace::per_minute(20)],
            ChatKind::Feishu { .. } => vec![
                Pace::per_minute(100),
                Pace {
                    messages: 5,
                    per: Duration::from_secs(1),
                },
            ],
            ChatKind::Webhook => Vec::new(),
        }
    }

    /// How page text is made inert in this robot's markdown.
    pub fn markup(&self) -> Markup {
        match self {
            ChatKind::Webhook => Markup::CommonMark,
            _ => Markup::Chat,
        }
    }
}

/// A named chat robot. `name` (the digest's) is what logs and errors show, since `url` holds a
/// token.
#[derive(Clone, PartialEq, Eq)]
pub struct Robot {
    pub name: String,
    pub kind: ChatKind,
    pub url: Url,
}

// Hand-written so that secrets and the token in the URL never reach a log line.
impl fmt::Debug for ChatKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |s: &Option<Secret>| s.as_ref().map(|_| "<redacted>");
        match self {
            ChatKind::WeCom => f.write_str("WeCom"),
            ChatKind::DingTalk { secret } => f
                .debug_struct("DingTalk")
                .field("secret", &redacted(secret))
                .finish(),
            ChatKind::Feishu { secret } => f
                .debug_struct("Feishu")
                .field("secret", &redacted(secret))
                .finish(),
            ChatKind::Webhook => f.write_str("Webhook"),
        }
    }
}

impl fmt::Debug for Robot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Robot")
            .field("name", &self.name)
            .field("kind", &self.kind)
            // Only the origin: the path (Feishu) or query (WeCom, DingTalk) is the token.
            .field("url", &self.url.origin().ascii_serialization())
            .finish()
    }
}

/// Why a message did not get through. Every variant names the digest and which message of
/// how many failed (the earlier ones were delivered), and carries what the server answered.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("digest {digest:?} (chat robot): message {part}/{parts} could not be built: {reason}")]
    Request {
        digest: String,
        part: usize,
        parts: usize,
        reason: String,
    },
    #[error("digest {digest:?} (chat robot): message {part}/{parts} got no answer: {reason}")]
    Transport {
        digest: String,
        part: usize,
        parts: usize,
        reason: String,
    },
    #[error(
        "digest {digest:?} (chat robot): message {part}/{parts} refused with HTTP {status}: {answer}"
    )]
    Http {
        digest: String,
        part: usize,
        parts: usize,
        status: u16,
        answer: String,
    },
    #[error(
        "digest {digest:?} (chat robot): message {part}/{parts} refused by the platform: code {code}: {message}"
    )]
    Platform {
        digest: String,
        part: usize,
        parts: usize,
        code: i64,
        message: String,
    },
    #[error(
        "digest {digest:?} (chat robot): message {part}/{parts} got an answer without a result code: {answer}"
    )]
    Answer {
        digest: String,
        part: usize,
        parts: usize,
        answer: String,
    },
}

/// Platform codes that mean "too fast" or "busy, try later": sending again later can succeed.
/// WeCom 45009 "api freq out of limit", DingTalk 130101 "send too fast", Feishu 11232
/// "frequency limited" and 99991400 "request trigger frequency limit", -1 "system busy".
const RETRY_LATER_CODES: &[i64] = &[45009, 130101, 11232, 99991400, -1];
/// Platform codes that mean "this message is too long": WeCom 40058, DingTalk 460101.
const TOO_LONG_CODES: &[i64] = &[40058, 460101];

impl WebhookError {
    /// Whether sending the same message again cannot succeed, and why; `None` when a later
    /// attempt may (no answer, a timeout, "too fast", a 5xx, an answer that is not the robot's).
    pub fn refusal(&self) -> Option<Refusal> {
        match self {
            WebhookError::Request { .. } => Some(Refusal::Rejected),
            WebhookError::Transport { .. } | WebhookError::Answer { .. } => None,
            WebhookError::Http { status, answer, .. } => {
                // Feishu's older endpoints answer a rate limit with HTTP 400 and the code.
                let rate_limited = RETRY_LATER_CODES
                    .iter()
                    .any(|c| *c > 0 && answer.contains(&c.to_string()));
                if *status == 408 || *status == 429 || *status >= 500 || rate_limited {
                    None
                } else {
                    Some(Refusal::Rejected)
                }
            }
            WebhookError::Platform { code, .. } => {
                if RETRY_LATER_CODES.contains(code) {
                    None
                } else if TOO_LONG_CODES.contains(code) {
                    Some(Refusal::TooLarge)
                } else {
                    Some(Refusal::Rejected)
                }
            }
        }
    }
}

/// How long one message may take, connect to last byte of the answer; a stuck robot must not
/// hold up the digest loop.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

const WECOM_LIMIT: usize = 4096;
const DINGTALK_LIMIT: usize = 3500;
const FEISHU_LIMIT: usize = 9000;
const WEBHOOK_LIMIT: usize = 64 * 1024;
/// Titles are one header line; a runaway title must not eat the room for the digest.
const MAX_TITLE_BYTES: usize = 200;
/// How much of an unexpected answer an error quotes.
const ANSWER_QUOTE_BYTES: usize = 512;
/// How much of an answer is read at all; robots answer with a few dozen bytes.
const ANSWER_READ_BYTES: usize = 64 * 1024;

impl ChatKind {
    /// Bytes allowed in the field that carries the markdown (header included where the
    /// header is part of that field). See the module docs for the sources.
    fn limit(&self) -> usize {
        match self {
            ChatKind::WeCom => WECOM_LIMIT,
            ChatKind::DingTalk { .. } => DINGTALK_LIMIT,
            ChatKind::Feishu { .. } => FEISHU_LIMIT,
            ChatKind::Webhook => WEBHOOK_LIMIT,
        }
    }

    /// Whether the title is repeated as a heading inside the markdown field: WeCom has no
    /// title field, and DingTalk's title only shows in the notification, not the message.
    fn heading_in_text(&self) -> bool {
        matches!(self, ChatKind::WeCom | ChatKind::DingTalk { .. })
    }
}

/// One message of a digest: its title ("title (n/m)" when split) and its markdown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub title: String,
    pub text: String,
}

/// The messages `markdown` goes out as: split as the platform's size limit needs, at line
/// boundaries, each titled "title (n/m)" when split (a single line longer than the limit is
/// cut at a char boundary). Empty `markdown` still gives one message carrying the title. The
/// same input always gives the same parts, so a retry can resume at a part number.
pub fn parts(kind: &ChatKind, title: &str, markdown: &str) -> Vec<Part> {
    let title = clean_title(title);
    let markdown = strip_controls(markdown);
    let mut texts = split_markdown(&markdown, room_for_markdown(kind, &title));
    if texts.is_empty() {
        texts.push(String::new());
    }
    let total = texts.len();
    texts
        .iter()
        .enumerate()
        .map(|(i, text)| Part {
            title: if total == 1 {
                title.clone()
            } else {
                format!("{title} ({}/{total})", i + 1)
            },
            // Blank lines at a cut are paragraph breaks that no longer separate anything.
            text: text.trim_matches('\n').to_owned(),
        })
        .collect()
}

/// Posts message `part` (number `n` of `total`, counted from 1), within [`REQUEST_TIMEOUT`].
pub async fn post(
    client: &reqwest::Client,
    channel: &Robot,
    part: &Part,
    (n, total): (usize, usize),
) -> Result<(), WebhookError> {
    tracing::debug!(channel = %channel.name, part = n, parts = total, "posting to chat webhook");
    post_one(
        client,
        channel,
        &part.title,
        &part.text,
        (n, total),
        REQUEST_TIMEOUT,
    )
    .await
}

/// Posts every part of `markdown` (see [`parts`]) in order, without pacing, and returns how
/// many messages were sent. Sending stops at the first failure, so the chat never shows a
/// later part without the earlier ones.
pub async fn send(
    client: &reqwest::Client,
    channel: &Robot,
    title: &str,
    markdown: &str,
) -> Result<usize, WebhookError> {
    send_with_timeout(client, channel, title, markdown, REQUEST_TIMEOUT).await
}

async fn send_with_timeout(
    client: &reqwest::Client,
    channel: &Robot,
    title: &str,
    markdown: &str,
    timeout: Duration,
) -> Result<usize, WebhookError> {
    let parts = parts(&channel.kind, title, markdown);
    let total = parts.len();
    for (i, part) in parts.iter().enumerate() {
        post_one(
            client,
            channel,
            &part.title,
            &part.text,
            (i + 1, total),
            timeout,
        )
        .await?;
    }
    tracing::info!(channel = %channel.name, messages = total, "digest posted to chat");
    Ok(total)
}

/// Bytes left for the digest itself once the heading, with the widest possible "(n/m)", is
/// accounted for.
fn room_for_markdown(kind: &ChatKind, title: &str) -> usize {
    let heading = if kind.heading_in_text() {
        with_heading(&format!("{title} ({}/{})", usize::MAX, usize::MAX), "").len() + 2
    } else {
        0
    };
    kind.limit().saturating_sub(heading)
}

/// Splits `markdown` into parts of at most `limit_bytes` bytes each, breaking only between
/// lines, so list items and links stay whole; joining the parts with `"\n"` gives the input
/// back. A line longer than the limit is cut at char boundaries into pieces of its own. Empty
/// input gives no parts. A limit under 4 bytes is treated as 4, the widest UTF-8 character.
pub fn split_markdown(markdown: &str, limit_bytes: usize) -> Vec<String> {
    let limit = limit_bytes.max(4);
    let mut parts = Vec::new();
    if markdown.is_empty() {
        return parts;
    }
    let mut current: Option<String> = None;
    for line in markdown.split('\n') {
        if line.len() > limit {
            if let Some(done) = current.take() {
                parts.push(done);
            }
            let mut rest = line;
            while rest.len() > limit {
                let mut end = limit;
                while !rest.is_char_boundary(end) {
                    end -= 1;
                }
                parts.push(rest[..end].to_owned());
                rest = &rest[end..];
            }
            current = Some(rest.to_owned());
            continue;
        }
        match current.as_mut() {
            Some(cur) if cur.len() + 1 + line.len() <= limit => {
                cur.push('\n');
                cur.push_str(line);
            }
            _ => {
                if let Some(done) = current.replace(line.to_owned()) {
                    parts.push(done);
                }
            }
        }
    }
    parts.extend(current);
    parts
}

/// One line, at most [`MAX_TITLE_BYTES`]: a title is a heading and a card header.
fn clean_title(title: &str) -> String {
    let one_line: String = title
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let one_line = one_line.trim();
    let mut end = one_line.len().min(MAX_TITLE_BYTES);
    while !one_line.is_char_boundary(end) {
        end -= 1;
    }
    one_line[..end].to_owned()
}

/// Drops ASCII control characters other than newline and tab (so `\r\n` becomes `\n`). They
/// do nothing in markdown, and they are the only characters JSON escapes to six bytes: without
/// them the encoded body is at most twice the text, which the Feishu limit relies on.
fn strip_controls(markdown: &str) -> String {
    markdown
        .chars()
        .filter(|&c| c == '\n' || c == '\t' || !c.is_ascii_control())
        .collect()
}

fn with_heading(title: &str, text: &str) -> String {
    if text.is_empty() {
        format!("### {title}")
    } else {
        format!("### {title}\n\n{text}")
    }
}

fn hmac_sha256_base64(key: &[u8], message: &[u8]) -> Result<String, String> {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).map_err(|e| format!("signing key: {e}"))?;
    mac.update(message);
    Ok(BASE64.encode(mac.finalize().into_bytes()))
}

/// DingTalk's signature: HMAC-SHA256 keyed with the secret over "{timestamp_ms}\n{secret}",
/// base64 (URL-encoding is left to the query builder).
fn dingtalk_sign(secret: &str, timestamp_ms: i64) -> Result<String, String> {
    hmac_sha256_base64(
        secret.as_bytes(),
        format!("{timestamp_ms}\n{secret}").as_bytes(),
    )
}

/// Feishu's signature: HMAC-SHA256 keyed with "{timestamp_s}\n{secret}" over an empty
/// message, base64. (Feishu uses the string to sign as the key, unlike DingTalk.)
fn feishu_sign(secret: &str, timestamp_s: i64) -> Result<String, String> {
    hmac_sha256_base64(format!("{timestamp_s}\n{secret}").as_bytes(), b"")
}

/// The URL and JSON body of one message. Pure, given the clock, so tests can pin the time.
fn build_request(
    channel: &Robot,
    title: &str,
    text: &str,
    (part, parts): (usize, usize),
    now: DateTime<Utc>,
) -> Result<(Url, Value), String> {
    let mut url = channel.url.clone();
    let body = match &channel.kind {
        ChatKind::WeCom => json!({
            "msgtype": "markdown",
            "markdown": { "content": with_heading(title, text) },
        }),
        ChatKind::DingTalk { secret } => {
            if let Some(secret) = secret {
                let timestamp = now.timestamp_millis();
                let sign = dingtalk_sign(secret.expose(), timestamp)?;
                url.query_pairs_mut()
                    .append_pair("timestamp", &timestamp.to_string())
                    .append_pair("sign", &sign);
            }
            json!({
                "msgtype": "markdown",
                "markdown": { "title": title, "text": with_heading(title, text) },
            })
        }
        ChatKind::Feishu { secret } => {
            let mut body = json!({
                "msg_type": "interactive",
                "card": {
                    "config": { "wide_screen_mode": true },
                    "header": { "title": { "tag": "plain_text", "content": title } },
                    "elements": [ { "tag": "markdown", "content": text } ],
                },
            });
            if let (Some(secret), Some(obj)) = (secret, body.as_object_mut()) {
                let timestamp = now.timestamp();
                obj.insert("timestamp".into(), Value::from(timestamp.to_string()));
                obj.insert(
                    "sign".into(),
                    Value::from(feishu_sign(secret.expose(), timestamp)?),
                );
            }
            body
        }
        ChatKind::Webhook => json!({
            "title": title,
            "markdown": text,
            "part": part,
            "parts": parts,
        }),
    };
    Ok((url, body))
}

/// Posts one message and checks both the HTTP status and the platform's own result code,
/// since the robots answer HTTP 200 for refused messages.
async fn post_one(
    client: &reqwest::Client,
    channel: &Robot,
    title: &str,
    text: &str,
    (part, parts): (usize, usize),
    timeout: Duration,
) -> Result<(), WebhookError> {
    let channel_name = || channel.name.clone();
    let (url, body) =
        build_request(channel, title, text, (part, parts), Utc::now()).map_err(|reason| {
            WebhookError::Request {
                digest: channel_name(),
                part,
                parts,
                reason,
            }
        })?;
    let body = serde_json::to_vec(&body).map_err(|e| WebhookError::Request {
        digest: channel_name(),
        part,
        parts,
        reason: e.to_string(),
    })?;
    let transport = |e: reqwest::Error| WebhookError::Transport {
        digest: channel_name(),
        part,
        parts,
        reason: describe(e, timeout),
    };
    let mut response = client
        .post(url)
        .header(CONTENT_TYPE, "application/json; charset=utf-8")
        .body(body)
        .timeout(timeout)
        .send()
        .await
        .map_err(transport)?;
    let status = response.status();
    let mut answer = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        answer.extend_from_slice(&chunk[..chunk.len().min(ANSWER_READ_BYTES - answer.len())]);
        if answer.len() >= ANSWER_READ_BYTES {
            break;
        }
    }
    let answer = String::from_utf8_lossy(&answer);
    if !status.is_success() {
        return Err(WebhookError::Http {
            digest: channel_name(),
            part,
            parts,
            status: status.as_u16(),
            answer: quote(&answer),
        });
    }
    match check_answer(&channel.kind, &answer) {
        Verdict::Accepted => Ok(()),
        Verdict::Refused { code, message } => Err(WebhookError::Platform {
            digest: channel_name(),
            part,
            parts,
            code,
            message,
        }),
        Verdict::Unknown => Err(WebhookError::Answer {
            digest: channel_name(),
            part,
            parts,
            answer: quote(&answer),
        }),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Accepted,
    Refused { code: i64, message: String },
    Unknown,
}

/// Reads a 2xx answer: `{"errcode":0}` for WeCom and DingTalk, `{"code":0}` (or the older
/// `{"StatusCode":0}`) for Feishu; the plain webhook needs only the 2xx.
fn check_answer(kind: &ChatKind, answer: &str) -> Verdict {
    if *kind == ChatKind::Webhook {
        return Verdict::Accepted;
    }
    let Ok(v) = serde_json::from_str::<Value>(answer) else {
        return Verdict::Unknown;
    };
    let fields: &[(&str, &str)] = match kind {
        ChatKind::Feishu { .. } => &[("code", "msg"), ("StatusCode", "StatusMessage")],
        _ => &[("errcode", "errmsg")],
    };
    for (code_field, message_field) in fields {
        if let Some(code) = v.get(code_field).and_then(Value::as_i64) {
            if code == 0 {
                return Verdict::Accepted;
            }
            let message = v
                .get(message_field)
                .and_then(Value::as_str)
                .unwrap_or("(no message)");
            return Verdict::Refused {
                code,
                message: quote(message),
            };
        }
    }
    Verdict::Unknown
}

/// The error chain without the URL, which holds the robot's token (DingTalk's also the sign).
fn describe(e: reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("timed out after {}s", timeout.as_secs_f32());
    }
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// At most [`ANSWER_QUOTE_BYTES`] of a server's answer, on one line.
fn quote(answer: &str) -> String {
    let answer = answer.trim();
    let mut end = answer.len().min(ANSWER_QUOTE_BYTES);
    while !answer.is_char_boundary(end) {
        end -= 1;
    }
    let mut q: String = answer[..end]
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if end < answer.len() {
        q.push('…');
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Bytes;
    use axum::http::{StatusCode, Uri};
    use std::sync::{Arc, Mutex};

    // Expected signatures computed independently with Python:
    //   base64(hmac.new(b"SECtest-secret", b"1700000000000\nSECtest-secret", sha256).digest())
    //   base64(hmac.new(b"1599360473\nfeishu-secret", b"", sha256).digest())
    const DING_SECRET: &str = "SECtest-secret";
    const DING_SIGN: &str = "LC7hxZ4wslL+P7j7gu1hoQ+wzByekL+yWgiUMekZs0g=";
    const FEISHU_SECRET: &str = "feishu-secret";
    const FEISHU_SIGN: &str = "GnmU6lMJMtXPkxW7kXxgtXI0SJxjk0TQFnFuz93Dt+0=";

    #[test]
    fn dingtalk_sign_matches_known_value() {
        assert_eq!(
            dingtalk_sign(DING_SECRET, 1_700_000_000_000).as_deref(),
            Ok(DING_SIGN)
        );
    }

    #[test]
    fn feishu_sign_matches_known_value() {
        assert_eq!(
            feishu_sign(FEISHU_SECRET, 1_599_360_473).as_deref(),
            Ok(FEISHU_SIGN)
        );
    }

    #[test]
    fn dingtalk_url_gets_url_encoded_timestamp_and_sign() {
        let channel = Robot {
            name: "ding".into(),
            kind: ChatKind::DingTalk {
                secret: Some(DING_SECRET.into()),
            },
            url: Url::parse("https://oapi.dingtalk.com/robot/send?access_token=abc").expect("url"),
        };
        let now = DateTime::from_timestamp_millis(1_700_000_000_000).expect("time");
        let (url, _) = build_request(&channel, "t", "x", (1, 1), now).expect("request");
        assert_eq!(
            url.as_str(),
            "https://oapi.dingtalk.com/robot/send?access_token=abc&timestamp=1700000000000\
             &sign=LC7hxZ4wslL%2BP7j7gu1hoQ%2BwzByekL%2ByWgiUMekZs0g%3D"
        );
    }

    #[test]
    fn feishu_body_gets_timestamp_in_seconds_and_sign() {
        let channel = Robot {
            name: "fs".into(),
            kind: ChatKind::Feishu {
                secret: Some(FEISHU_SECRET.into()),
            },
            url: Url::parse("https://open.feishu.cn/open-apis/bot/v2/hook/tok").expect("url"),
        };
        let now = DateTime::from_timestamp(1_599_360_473, 0).expect("time");
        let (url, body) = build_request(&channel, "t", "x", (1, 1), now).expect("request");
        assert_eq!(url, channel.url, "Feishu signs in the body, not the URL");
        assert_eq!(body["timestamp"], "1599360473");
        assert_eq!(body["sign"], FEISHU_SIGN);
    }

    #[test]
    fn split_keeps_whole_lines_in_order_within_the_limit() {
        let text: String = (0..200).map(|i| format!("- 第{i}条 新闻标题\n")).collect();
        let parts = split_markdown(&text, 500);
        assert!(parts.len() > 1, "{}", parts.len());
        assert!(parts.iter().all(|p| p.len() <= 500));
        assert_eq!(parts.join("\n"), text, "nothing lost, nothing reordered");
        // Every part but the last is full up to one line's worth.
        assert!(parts[..parts.len() - 1].iter().all(|p| p.len() > 450));
    }

    #[test]
    fn split_cuts_an_overlong_line_at_char_boundaries() {
        let long = "汉".repeat(100); // 300 bytes
        let text = format!("a\n{long}\nb");
        let parts = split_markdown(&text, 64);
        assert!(parts.iter().all(|p| p.len() <= 64), "{parts:?}");
        assert_eq!(parts[0], "a");
        // 64 is not a multiple of 3: each piece backs off to 63 bytes (21 characters).
        assert_eq!(parts[1], "汉".repeat(21));
        assert_eq!(parts.concat(), format!("a{long}\nb"));
        // The rest of the long line (100 - 4 * 21 = 16 characters) shares a part with "b".
        let tail = format!("{}\nb", "汉".repeat(16));
        assert_eq!(parts.last(), Some(&tail));
    }

    #[test]
    fn split_small_and_empty_inputs() {
        assert_eq!(split_markdown("one\ntwo", 100), vec!["one\ntwo"]);
        // The newline joining two lines counts: 4 + 1 + 4 bytes fit 9, not 8.
        assert_eq!(split_markdown("aaaa\nbbbb", 9), vec!["aaaa\nbbbb"]);
        assert_eq!(split_markdown("aaaa\nbbbb", 8), vec!["aaaa", "bbbb"]);
        assert!(split_markdown("", 100).is_empty());
        // A limit too small for a character is raised to 4 bytes, so cutting makes progress.
        assert_eq!(split_markdown("ab", 0), vec!["ab"]);
        assert_eq!(split_markdown("汉字汉", 0), vec!["汉", "字", "汉"]);
    }

    #[test]
    fn worst_case_escaping_stays_within_body_caps() {
        // Every byte a quote: JSON doubles it. Titles at their maximum length of quotes too.
        let title = "\"".repeat(MAX_TITLE_BYTES);
        for (kind, cap) in [
            (
                ChatKind::Feishu {
                    secret: Some("s".into()),
                },
                20_000,
            ),
            (
                ChatKind::DingTalk {
                    secret: Some("s".into()),
                },
                20_000,
            ),
            (ChatKind::WeCom, usize::MAX),
        ] {
            let channel = Robot {
                name: "c".into(),
                kind: kind.clone(),
                url: Url::parse("http://127.0.0.1/").expect("url"),
            };
            let room = room_for_markdown(&kind, &title);
            let text = "\"".repeat(room);
            let part_title = format!("{title} (12/34)");
            let (_, body) =
                build_request(&channel, &part_title, &text, (12, 34), Utc::now()).expect("body");
            let encoded = serde_json::to_vec(&body).expect("json");
            assert!(encoded.len() < cap, "{kind:?}: {}", encoded.len());
            // The field the platform measures is within the platform's limit.
            let field = match kind {
                ChatKind::WeCom => body["markdown"]["content"].as_str(),
                ChatKind::DingTalk { .. } => body["markdown"]["text"].as_str(),
                _ => body["card"]["elements"][0]["content"].as_str(),
            };
            assert!(field.unwrap_or_default().len() <= kind.limit(), "{kind:?}");
        }
    }

    #[test]
    fn debug_output_hides_secret_and_token() {
        let channel = Robot {
            name: "研究部".into(),
            kind: ChatKind::DingTalk {
                secret: Some("SECverysecret".into()),
            },
            url: Url::parse("https://oapi.dingtalk.com/robot/send?access_token=tok123")
                .expect("url"),
        };
        let shown = format!("{channel:?}");
        assert!(shown.contains("研究部"), "{shown}");
        assert!(!shown.contains("SECverysecret"), "{shown}");
        assert!(!shown.contains("tok123"), "{shown}");
    }

    #[test]
    fn refusals_are_permanent_unless_waiting_can_help() {
        let platform = |code| WebhookError::Platform {
            digest: "d".into(),
            part: 1,
            parts: 1,
            code,
            message: String::new(),
        };
        let http = |status, answer: &str| WebhookError::Http {
            digest: "d".into(),
            part: 1,
            parts: 1,
            status,
            answer: answer.into(),
        };
        for later in [45009, 130101, 11232, 99991400, -1] {
            assert_eq!(platform(later).refusal(), None, "{later}");
        }
        assert_eq!(platform(93000).refusal(), Some(Refusal::Rejected));
        assert_eq!(platform(310000).refusal(), Some(Refusal::Rejected));
        assert_eq!(platform(40058).refusal(), Some(Refusal::TooLarge));
        assert_eq!(platform(460101).refusal(), Some(Refusal::TooLarge));
        assert_eq!(http(429, "").refusal(), None);
        assert_eq!(http(502, "").refusal(), None);
        assert_eq!(
            http(
                400,
                r#"{"code":99991400,"msg":"request trigger frequency limit"}"#
            )
            .refusal(),
            None
        );
        assert_eq!(http(404, "not found").refusal(), Some(Refusal::Rejected));
    }

    #[test]
    fn answers_are_read_per_platform() {
        let ding = ChatKind::DingTalk { secret: None };
        let feishu = ChatKind::Feishu { secret: None };
        assert_eq!(
            check_answer(&ding, r#"{"errcode":0,"errmsg":"ok"}"#),
            Verdict::Accepted
        );
        assert_eq!(
            check_answer(&ding, r#"{"errcode":310000,"errmsg":"sign not match"}"#),
            Verdict::Refused {
                code: 310000,
                message: "sign not match".into()
            }
        );
        assert_eq!(check_answer(&ding, "<html>proxy</html>"), Verdict::Unknown);
        assert_eq!(check_answer(&ChatKind::WeCom, "{}"), Verdict::Unknown);
        assert_eq!(
            check_answer(&feishu, r#"{"code":0,"msg":"success"}"#),
            Verdict::Accepted
        );
        assert_eq!(
            check_answer(&feishu, r#"{"StatusCode":0,"StatusMessage":"success"}"#),
            Verdict::Accepted
        );
        assert_eq!(
            check_answer(&feishu, r#"{"code":19021,"msg":"sign match fail"}"#),
            Verdict::Refused {
                code: 19021,
                message: "sign match fail".into()
            }
        );
        assert_eq!(check_answer(&ChatKind::Webhook, ""), Verdict::Accepted);
    }

    /// One request as the receiver saw it.
    #[derive(Debug, Clone)]
    struct Hit {
        path_and_query: String,
        content_type: String,
        body: Value,
    }

    impl Hit {
        fn query(&self, key: &str) -> Option<String> {
            let url = Url::parse(&format!("http://h{}", self.path_and_query)).ok()?;
            url.query_pairs()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.into_owned())
        }
    }

    type Answer = Arc<dyn Fn(&Hit) -> (StatusCode, String) + Send + Sync>;

    /// A robot stand-in on 127.0.0.1 that records each request and answers through `answer`.
    struct Receiver {
        base: String,
        hits: Arc<Mutex<Vec<Hit>>>,
    }

    impl Receiver {
        async fn start(answer: Answer) -> Receiver {
            Receiver::start_slow(answer, Duration::ZERO).await
        }

        async fn start_slow(answer: Answer, delay: Duration) -> Receiver {
            let hits: Arc<Mutex<Vec<Hit>>> = Arc::default();
            let recorded = hits.clone();
            let app = axum::Router::new().fallback(
                move |uri: Uri, headers: axum::http::HeaderMap, body: Bytes| {
                    let (recorded, answer) = (recorded.clone(), answer.clone());
                    async move {
                        let hit = Hit {
                            path_and_query: uri
                                .path_and_query()
                                .map_or_else(String::new, |p| p.to_string()),
                            content_type: headers
                                .get("content-type")
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or_default()
                                .to_owned(),
                            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
                        };
                        let reply = answer(&hit);
                        recorded.lock().expect("hits").push(hit);
                        tokio::time::sleep(delay).await;
                        reply
                    }
                },
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let addr = listener.local_addr().expect("addr");
            tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            });
            Receiver {
                base: format!("http://{addr}"),
                hits,
            }
        }

        fn url(&self, path_and_query: &str) -> Url {
            Url::parse(&format!("{}{path_and_query}", self.base)).expect("url")
        }

        fn hits(&self) -> Vec<Hit> {
            self.hits.lock().expect("hits").clone()
        }
    }

    fn ok(body: &'static str) -> Answer {
        Arc::new(move |_| (StatusCode::OK, body.to_owned()))
    }

    fn verify(key: &[u8], message: &[u8], claimed: &str) -> bool {
        let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(key) else {
            return false;
        };
        mac.update(message);
        BASE64
            .decode(claimed)
            .is_ok_and(|bytes| mac.verify_slice(&bytes).is_ok())
    }

    fn digest(lines: usize) -> String {
        (1..=lines)
            .map(|i| format!("- **第{i}条** 某上市公司发布年度业绩预告，净利润同比增长{i}%\n"))
            .collect()
    }

    #[tokio::test]
    async fn wecom_posts_markdown_payload() {
        let robot = Receiver::start(ok(r#"{"errcode":0,"errmsg":"ok"}"#)).await;
        let channel = Robot {
            name: "wecom-research".into(),
            kind: ChatKind::WeCom,
            url: robot.url("/cgi-bin/webhook/send?key=KEY1"),
        };
        let sent = send(
            &reqwest::Client::new(),
            &channel,
            "今日要闻",
            "- 第一条\n- 第二条",
        )
        .await
        .expect("sent");
        assert_eq!(sent, 1);
        let hits = robot.hits();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].path_and_query, "/cgi-bin/webhook/send?key=KEY1");
        assert!(
            hits[0].content_type.starts_with("application/json"),
            "{}",
            hits[0].content_type
        );
        assert_eq!(
            hits[0].body,
            json!({
                "msgtype": "markdown",
                "markdown": { "content": "### 今日要闻\n\n- 第一条\n- 第二条" },
            })
        );
    }

    #[tokio::test]
    async fn dingtalk_query_signature_verifies_against_the_secret() {
        // Answers like DingTalk: checks the signature and refuses a wrong one.
        let answer: Answer = Arc::new(|hit: &Hit| {
            let (Some(ts), Some(sign)) = (hit.query("timestamp"), hit.query("sign")) else {
                return (
                    StatusCode::OK,
                    r#"{"errcode":310000,"errmsg":"no sign"}"#.into(),
                );
            };
            let good = verify(
                DING_SECRET.as_bytes(),
                format!("{ts}\n{DING_SECRET}").as_bytes(),
                &sign,
            );
            let reply = if good {
                r#"{"errcode":0,"errmsg":"ok"}"#
            } else {
                r#"{"errcode":310000,"errmsg":"sign not match"}"#
            };
            (StatusCode::OK, reply.to_owned())
        });
        let robot = Receiver::start(answer).await;
        let channel = Robot {
            name: "ding-desk".into(),
            kind: ChatKind::DingTalk {
                secret: Some(DING_SECRET.into()),
            },
            url: robot.url("/robot/send?access_token=TOKEN"),
        };
        let before = Utc::now().timestamp_millis();
        let sent = send(
            &reqwest::Client::new(),
            &channel,
            "盘前速递",
            "**A股** 高开",
        )
        .await
        .expect("signed message accepted");
        let after = Utc::now().timestamp_millis();
        assert_eq!(sent, 1);
        let hit = &robot.hits()[0];
        assert_eq!(hit.query("access_token").as_deref(), Some("TOKEN"));
        let ts: i64 = hit
            .query("timestamp")
            .and_then(|t| t.parse().ok())
            .expect("timestamp");
        assert!((before..=after).contains(&ts), "milliseconds: {ts}");
        let sign = hit.query("sign").expect("sign");
        assert!(verify(
            DING_SECRET.as_bytes(),
            format!("{ts}\n{DING_SECRET}").as_bytes(),
            &sign
        ));
        assert_eq!(
            hit.body,
            json!({
                "msgtype": "markdown",
                "markdown": { "title": "盘前速递", "text": "### 盘前速递\n\n**A股** 高开" },
            })
        );
    }

    #[tokio::test]
    async fn feishu_body_signature_verifies_and_carries_a_markdown_card() {
        let answer: Answer = Arc::new(|hit: &Hit| {
            let ts = hit.body["timestamp"].as_str().unwrap_or_default();
            let sign = hit.body["sign"].as_str().unwrap_or_default();
            let good = verify(format!("{ts}\n{FEISHU_SECRET}").as_bytes(), b"", sign);
            let reply = if good {
                r#"{"code":0,"msg":"success","data":{}}"#
            } else {
                r#"{"code":19021,"msg":"sign match fail or timestamp is not within one hour from current time"}"#
            };
            (StatusCode::OK, reply.to_owned())
        });
        let robot = Receiver::start(answer).await;
        let channel = Robot {
            name: "feishu-ops".into(),
            kind: ChatKind::Feishu {
                secret: Some(FEISHU_SECRET.into()),
            },
            url: robot.url("/open-apis/bot/v2/hook/HOOK"),
        };
        let before = Utc::now().timestamp();
        let sent = send(
            &reqwest::Client::new(),
            &channel,
            "收盘点评",
            "沪指收涨 **1%**",
        )
        .await
        .expect("signed card accepted");
        let after = Utc::now().timestamp();
        assert_eq!(sent, 1);
        let hit = &robot.hits()[0];
        assert_eq!(hit.path_and_query, "/open-apis/bot/v2/hook/HOOK");
        let ts: i64 = hit.body["timestamp"]
            .as_str()
            .and_then(|t| t.parse().ok())
            .expect("timestamp");
        assert!((before..=after).contains(&ts), "seconds: {ts}");
        let sign = hit.body["sign"].as_str().expect("sign");
        assert!(verify(
            format!("{ts}\n{FEISHU_SECRET}").as_bytes(),
            b"",
            sign
        ));
        assert_eq!(hit.body["msg_type"], "interactive");
        assert_eq!(hit.body["card"]["header"]["title"]["content"], "收盘点评");
        assert_eq!(hit.body["card"]["elements"][0]["tag"], "markdown");
        assert_eq!(
            hit.body["card"]["elements"][0]["content"],
            "沪指收涨 **1%**"
        );
    }

    #[tokio::test]
    async fn long_digest_is_split_into_titled_parts_in_order() {
        let robot = Receiver::start(ok(r#"{"errcode":0,"errmsg":"ok"}"#)).await;
        let channel = Robot {
            name: "wecom-research".into(),
            kind: ChatKind::WeCom,
            url: robot.url("/send?key=K"),
        };
        let text = digest(300); // about 28 KB
        let sent = send(&reqwest::Client::new(), &channel, "今日要闻", &text)
            .await
            .expect("sent");
        let hits = robot.hits();
        assert!(sent >= 7, "{sent}");
        assert_eq!(hits.len(), sent);
        let mut delivered = Vec::new();
        for (i, hit) in hits.iter().enumerate() {
            let content = hit.body["markdown"]["content"].as_str().expect("content");
            assert!(
                content.len() <= 4096,
                "part {} is {} bytes",
                i + 1,
                content.len()
            );
            let heading = format!("### 今日要闻 ({}/{sent})\n\n", i + 1);
            let rest = content.strip_prefix(&heading).expect("titled part");
            delivered.extend(rest.lines().map(str::to_owned));
        }
        let expected: Vec<String> = text.lines().map(str::to_owned).collect();
        assert_eq!(delivered, expected);
    }

    #[tokio::test]
    async fn platform_error_names_channel_and_errmsg_and_stops() {
        let robot = Receiver::start(ok(r#"{"errcode":310000,"errmsg":"sign not match"}"#)).await;
        let channel = Robot {
            name: "ding-desk".into(),
            kind: ChatKind::DingTalk {
                secret: Some("SECdonotleak".into()),
            },
            url: robot.url("/robot/send?access_token=TOKENdonotleak"),
        };
        let err = send(&reqwest::Client::new(), &channel, "要闻", &digest(200))
            .await
            .expect_err("refused");
        assert!(
            matches!(
                err,
                WebhookError::Platform {
                    code: 310000,
                    part: 1,
                    ..
                }
            ),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(text.contains("ding-desk"), "{text}");
        assert!(text.contains("sign not match"), "{text}");
        assert!(text.contains("310000"), "{text}");
        assert!(!text.contains("donotleak"), "{text}");
        assert!(!format!("{err:?}").contains("donotleak"));
        assert_eq!(
            robot.hits().len(),
            1,
            "later parts are not sent after a refusal"
        );
    }

    #[tokio::test]
    async fn plain_webhook_gets_parts_and_non_2xx_is_an_error() {
        let robot =
            Receiver::start(Arc::new(|_: &Hit| (StatusCode::NO_CONTENT, String::new()))).await;
        let channel = Robot {
            name: "relay".into(),
            kind: ChatKind::Webhook,
            url: robot.url("/hook"),
        };
        let sent = send(&reqwest::Client::new(), &channel, "T", "line")
            .await
            .expect("2xx accepted");
        assert_eq!(sent, 1);
        assert_eq!(
            robot.hits()[0].body,
            json!({ "title": "T", "markdown": "line", "part": 1, "parts": 1 })
        );

        let failing = Receiver::start(Arc::new(|_: &Hit| {
            (StatusCode::BAD_GATEWAY, "upstream down".to_owned())
        }))
        .await;
        let channel = Robot {
            url: failing.url("/hook?token=TOKENdonotleak"),
            ..channel
        };
        let err = send(&reqwest::Client::new(), &channel, "T", "line")
            .await
            .expect_err("502 refused");
        let text = err.to_string();
        assert!(
            matches!(err, WebhookError::Http { status: 502, .. }),
            "{err:?}"
        );
        assert!(
            text.contains("relay") && text.contains("upstream down"),
            "{text}"
        );
        assert!(!text.contains("donotleak"), "{text}");
    }

    #[tokio::test]
    async fn answer_without_result_code_is_an_error() {
        // A captive proxy or a wrong URL answering 200 with a page is not a delivery.
        let robot = Receiver::start(ok("<html>login</html>")).await;
        let channel = Robot {
            name: "wecom-research".into(),
            kind: ChatKind::WeCom,
            url: robot.url("/send?key=K"),
        };
        let err = send(&reqwest::Client::new(), &channel, "T", "x")
            .await
            .expect_err("not a robot answer");
        assert!(matches!(err, WebhookError::Answer { .. }), "{err:?}");
        assert!(err.to_string().contains("<html>login</html>"), "{err}");
    }

    #[tokio::test]
    async fn slow_robot_times_out() {
        let robot = Receiver::start_slow(
            ok(r#"{"errcode":0,"errmsg":"ok"}"#),
            Duration::from_secs(10),
        )
        .await;
        let channel = Robot {
            name: "slow".into(),
            kind: ChatKind::WeCom,
            url: robot.url("/send?key=K"),
        };
        let started = std::time::Instant::now();
        let err = send_with_timeout(
            &reqwest::Client::new(),
            &channel,
            "T",
            "x",
            Duration::from_millis(300),
        )
        .await
        .expect_err("timed out");
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(matches!(err, WebhookError::Transport { .. }), "{err:?}");
        assert!(err.to_string().contains("timed out"), "{err}");
    }
}
