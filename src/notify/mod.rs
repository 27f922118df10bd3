//! Notify: route articles to digests, build each digest, and deliver it exactly once.
//!
//! A digest is recorded — items, rendered content, Message-ID — before the first attempt to
//! send it. Its items leave the digest's pending list only after the mail server (or chat
//! platform) accepted it, in one transaction; a failed attempt leaves the record and the list as
//! they were, and the next attempt sends the very same digest with the same Message-ID. So
//! nothing is lost and, as far as SMTP allows, nothing is sent twice.
//!
//! What can never be delivered does not hold up what can:
//! - A digest holds at most [`Limits::max_items`] articles and [`Limits::max_bytes`] of
//!   rendered text; the rest stays pending, the digest says how many, and the next digest (sent
//!   right after, up to [`MAX_DIGESTS_PER_RUN`] in one run) takes them, oldest first.
//! - A refusal that sending again cannot change (SMTP 5xx, a robot's "no such robot") is
//!   permanent: the record is closed as refused and reported, its items stay pending, and the
//!   next delivery builds a new digest of everything pending. A digest refused as too large
//!   (SMTP 552) is rebuilt with half as many articles and half the bytes (the byte cap is
//!   kept), so a server's size limit is found in a few attempts; one article refused as too
//!   large on its own is set aside, since it can never be sent.
//! - Chat messages are paced to the robot's rate limit, and each message delivered is recorded,
//!   so a retry (or a restart) resumes at the message that failed and never posts one twice.
//!
//! The stage owns its settings ([`DigestSettings`], [`Channel`], [`MailSettings`],
//! [`ChatSettings`], [`Limits`], [`Secret`]); the config reads the file and assembles them.

pub mod diff;
pub mod filter;
mod mail;
pub mod markup;
pub mod pace;
pub mod summary;
pub mod templates;
pub mod webhook;

pub use mail::{Mailer, exposes_password};
pub use markup::Markup;
pub use pace::Pace;
pub use templates::{FailingSource, Format, Language, Rendered, Templates};
pub use webhook::ChatKind;

use crate::article::Article;
use crate::schedule::Schedule;
use crate::signals::{Extractor, Signals};
use crate::store::{DeliveryState, DigestRecord, Refusal, Store, StoreError};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use thiserror::Error;

/// Digests one delivery run sends at most, one after another, when the size caps leave more
/// pending: enough to catch up on a busy day, few enough that a backlog of thousands (a
/// `backfill --notify`) does not flood the readers at once.
pub const MAX_DIGESTS_PER_RUN: usize = 10;

#[derive(Debug, Error)]
pub enum NotifyError {
    #[error("template {name}: {reason}")]
    Template { name: String, reason: String },
    #[error("invalid digest mail")]
    Message(#[source] lettre::error::Error),
    #[error("sending digest {digest:?} failed: {reason}")]
    Send { digest: String, reason: String },
    /// Refused for good: the record is closed; `next` says what happens to its items.
    #[error("digest {digest:?} refused for good: {reason}; {next}")]
    Refused {
        digest: String,
        reason: String,
        next: String,
    },
    #[error("digest {digest:?}: {what}")]
    Setup {
        digest: String,
        what: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A secret (password, signing key, robot URL with its token): never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// One digest's settings: what it takes, when it goes, and how it reaches its readers.
#[derive(Debug, Clone)]
pub struct DigestSettings {
    /// Unique among digests; names its pending list and its records in the store.
    pub name: String,
    pub schedule: Schedule,
    pub filter: filter::Filter,
    /// The language of the digest's labels, subject and dates (`language`; Chinese unless set).
    pub language: Language,
    /// Folder holding `digest.txt` and `digest.html` (mail) or `digest.md` (chat); `None` uses
    /// the built-in templates.
    pub templates: Option<PathBuf>,
    pub channel: Channel,
    pub limits: Limits,
    /// Where newswatch's own pages are reached (`https://news.example.org`, no trailing slash):
    /// when set, a digest links each article to `{public_url}/article/{id}` (its text and
    /// revisions) rather than to the page it was read from.
    pub public_url: Option<String>,
}

/// How much one digest may hold; what does not fit waits for the next digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Articles in one digest.
    pub max_items: usize,
    /// Bytes of rendered content in one digest (text and HTML of a mail; markdown of a chat
    /// digest, before it is split into messages).
    pub max_bytes: usize,
}

/// How a digest reaches its readers.
#[derive(Debug, Clone)]
pub enum Channel {
    Mail(MailSettings),
    Chat(ChatSettings),
}

impl Channel {
    /// The templates this channel renders.
    pub fn format(&self) -> Format {
        match self {
            Channel::Mail(_) => Format::Mail,
            Channel::Chat(chat) => Format::Markdown(chat.kind.markup()),
        }
    }
}

/// A digest sent by mail.
#[derive(Debug, Clone)]
pub struct MailSettings {
    pub from: lettre::message::Mailbox,
    pub to: Vec<lettre::message::Mailbox>,
    /// lettre SMTP URL; `None` writes `.eml` files to `<state_dir>/outbox/`.
    pub smtp: Option<String>,
    pub password: Option<Secret>,
    /// Send the password even where [`exposes_password`] says it would cross the network in
    /// clear (`allow_insecure_auth = true`).
    pub allow_insecure_auth: bool,
}

/// A digest posted to a group-chat robot.
#[derive(Debug, Clone)]
pub struct ChatSettings {
    pub kind: ChatKind,
    pub url: Secret,
    /// The robot's rate limits ([`ChatKind::pace`]; tests shorten them).
    pub pace: Vec<Pace>,
}

/// Which digests want an article: the digests it is pending for.
#[derive(Debug, Clone)]
pub struct Routing {
    digests: Vec<(String, filter::Filter)>,
    /// Finds an article's signals when a filter wants them and the caller has none.
    extractor: std::sync::Arc<Extractor>,
}

impl Default for Routing {
    fn default() -> Routing {
        Routing::new(&[], Extractor::standard_shared())
    }
}

impl Routing {
    /// Routing to `digests`, finding signals with `extractor` (the one the store uses).
    pub fn new(digests: &[DigestSettings], extractor: std::sync::Arc<Extractor>) -> Routing {
        Routing {
            digests: digests
                .iter()
                .map(|d| (d.name.clone(), d.filter.clone()))
                .collect(),
            extractor,
        }
    }

    /// Names of the digests whose filters `article` passes. Its signals are found only when
    /// some digest filters on them.
    pub fn digests_for(&self, article: &Article) -> Vec<String> {
        let signals = if self.digests.iter().any(|(_, f)| f.needs_signals()) {
            self.extractor.extract(&article.title, &article.body)
        } else {
            Signals::default()
        };
        self.digests_for_signals(article, &signals)
    }

    /// Names of the digests whose filters `article`, with signals `signals`, passes.
    pub fn digests_for_signals(&self, article: &Article, signals: &Signals) -> Vec<String> {
        self.digests
            .iter()
            .filter(|(_, f)| f.accepts(article, signals))
            .map(|(n, _)| n.clone())
            .collect()
    }
}

/// What carries a digest: a mailer or a chat robot.
enum Transport {
    Mail(Mailer),
    Chat {
        client: reqwest::Client,
        robot: webhook::Robot,
        pace: Vec<Pace>,
        /// When this robot's recent messages were accepted, for pacing.
        posted: Mutex<Vec<DateTime<Utc>>>,
    },
}

/// Why an attempt did not deliver.
enum Attempt {
    /// The server did not take it; `refusal` when sending it again cannot succeed.
    Failed {
        reason: String,
        refusal: Option<Refusal>,
    },
    /// Recording progress failed.
    Store(StoreError),
}

impl Transport {
    fn new(digest: &DigestSettings, state_dir: &Path) -> Result<Transport, NotifyError> {
        let setup = |what, source: Box<dyn std::error::Error + Send + Sync>| NotifyError::Setup {
            digest: digest.name.clone(),
            what,
            source,
        };
        Ok(match &digest.channel {
            Channel::Mail(mail) => Transport::Mail(Mailer::new(&digest.name, mail, state_dir)?),
            Channel::Chat(chat) => {
                // The parse error is not kept: it would quote the URL, which holds the token.
                let url = url::Url::parse(chat.url.expose())
                    .map_err(|_| setup("robot URL", "not a valid URL".into()))?;
                let client = reqwest::Client::builder()
                    .timeout(webhook::REQUEST_TIMEOUT)
                    .build()
                    .map_err(|e| setup("HTTP client", e.into()))?;
                Transport::Chat {
                    client,
                    robot: webhook::Robot {
                        name: digest.name.clone(),
                        kind: chat.kind.clone(),
                        url,
                    },
                    pace: chat.pace.clone(),
                    posted: Mutex::default(),
                }
            }
        })
    }

    /// Sends `record`. A chat digest goes message by message, paced, from the first message
    /// not yet delivered; each one accepted is recorded in `record` and stored at once.
    async fn send(&self, store: &Store, record: &mut DigestRecord) -> Result<(), Attempt> {
        match self {
            Transport::Mail(m) => m.send(record).await.map_err(|e| Attempt::Failed {
                reason: e.reason,
                refusal: e.refusal,
            }),
            Transport::Chat {
                client,
                robot,
                pace,
                posted,
            } => {
                let parts = webhook::parts(&robot.kind, &record.subject, &record.text);
                let total = parts.len();
                let done = record.delivery.parts_delivered.len().min(total);
                if done > 0 {
                    tracing::info!(digest = %robot.name, from = done + 1, parts = total,
                        "resuming the digest after the messages already delivered");
                }
                for (i, part) in parts.iter().enumerate().skip(done) {
                    loop {
                        let now = Utc::now();
                        let wait = {
                            let mut seen = posted.lock().unwrap_or_else(|p| p.into_inner());
                            seen.extend_from_slice(&record.delivery.parts_delivered);
                            pace::prune(pace, &mut seen, now);
                            pace::wait(pace, &seen, now)
                        };
                        if wait.is_zero() {
                            break;
                        }
                        tracing::info!(digest = %robot.name, part = i + 1, parts = total,
                            wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                            "waiting for the robot's rate limit");
                        tokio::time::sleep(wait).await;
                    }
                    webhook::post(client, robot, part, (i + 1, total))
                        .await
                        .map_err(|e| Attempt::Failed {
                            refusal: e.refusal(),
                            reason: e.to_string(),
                        })?;
                    let at = Utc::now();
                    posted.lock().unwrap_or_else(|p| p.into_inner()).push(at);
                    record.delivery.parts_delivered.push(at);
                    store.save_digest(record).await.map_err(Attempt::Store)?;
                }
                tracing::info!(digest = %robot.name, messages = total, "digest posted to chat");
                Ok(())
            }
        }
    }

    /// Where digests go, for messages (never the robot URL, which holds a token).
    fn destination(&self) -> String {
        match self {
            Transport::Mail(m) => m.destination(),
            Transport::Chat { robot, .. } => format!("{:?} chat robot", robot.kind.name()),
        }
    }

    /// A Message-ID unique to the digest record, in the sender's domain.
    fn message_id(&self, record_id: u64) -> String {
        let domain = match self {
            Transport::Mail(m) => m.domain(),
            Transport::Chat { .. } => "newswatch.invalid".to_owned(),
        };
        format!(
            "<digest-{record_id}.{}@{domain}>",
            uuid::Uuid::new_v4().simple()
        )
    }
}

/// One digest, ready to run: its settings, its checked templates and its transport.
pub struct Digest {
    pub settings: DigestSettings,
    templates: Templates,
    transport: Transport,
}

impl Digest {
    /// Loads the digest's templates and transport; a broken template fails here, at start-up.
    pub fn load(settings: &DigestSettings, state_dir: &Path) -> Result<Digest, NotifyError> {
        Ok(Digest {
            templates: Templates::load(
                settings.templates.as_deref(),
                settings.channel.format(),
                settings.limits.max_items,
            )?
            .with_language(settings.language)
            .linking(settings.public_url.clone()),
            transport: Transport::new(settings, state_dir)?,
            settings: settings.clone(),
        })
    }

    /// [`Digest::load`] for every digest.
    pub fn load_all(
        settings: &[DigestSettings],
        state_dir: &Path,
    ) -> Result<Vec<Digest>, NotifyError> {
        settings
            .iter()
            .map(|d| Digest::load(d, state_dir))
            .collect()
    }

    pub fn name(&self) -> &str {
        &self.settings.name
    }

    /// Where this digest goes, for messages (never a robot URL).
    pub fn destination(&self) -> String {
        self.transport.destination()
    }

    /// What the next delivery would send: the digest already in flight (a retry sends it
    /// unchanged), else a fresh one of what is pending, within the size caps, with `failing`
    /// sources in its footer. Changes nothing.
    pub fn preview(
        &self,
        store: &Store,
        timezone: Tz,
        failing: &[FailingSource],
    ) -> Result<Option<DigestRecord>, NotifyError> {
        if let Some(record) = store.digest_in_flight(self.name())? {
            return Ok(Some(record));
        }
        self.build(store, timezone, failing)
    }

    /// The caps for the next digest: the configured ones, the byte cap a server taught by
    /// refusing a digest as too large, and half the items of a digest just refused as such.
    fn caps(&self, last: Option<&DigestRecord>) -> (usize, usize, Option<usize>) {
        let limits = self.settings.limits;
        let learned = last.and_then(|r| r.delivery.byte_cap);
        let max_bytes = learned.map_or(limits.max_bytes, |b| b.min(limits.max_bytes));
        let mut max_items = limits.max_items.max(1);
        if let Some(r) = last
            && r.delivery.refused_at.is_some()
            && r.delivery.refusal == Some(Refusal::TooLarge)
        {
            max_items = max_items.min((r.items.len() / 2).max(1));
        }
        (max_items, max_bytes.max(1), learned)
    }

    /// A new digest record of the oldest pending articles that fit the caps (not yet stored:
    /// `id` 0, no Message-ID); `None` when nothing is pending.
    fn build(
        &self,
        store: &Store,
        timezone: Tz,
        failing: &[FailingSource],
    ) -> Result<Option<DigestRecord>, NotifyError> {
        let last = store.last_digest(self.name())?;
        let (max_items, max_bytes, byte_cap) = self.caps(last.as_ref());
        let items = store.pending_first(self.name(), max_items)?;
        if items.is_empty() {
            return Ok(None);
        }
        let total = store.pending_len(self.name()).max(items.len());
        let now = Utc::now();
        let mut n = items.len();
        loop {
            let more_pending = total - n;
            let Some(r) = self.templates.render(
                self.name(),
                &items[..n],
                &self.settings.filter,
                failing,
                timezone,
                now,
                more_pending,
            )?
            else {
                return Ok(None);
            };
            let bytes = r.text.len() + r.html.len();
            if bytes > max_bytes && n > 1 {
                // Fewer articles in proportion, and always at least one fewer.
                let fit = u128::try_from(n).unwrap_or(u128::MAX)
                    * u128::try_from(max_bytes).unwrap_or(u128::MAX)
                    / u128::try_from(bytes).unwrap_or(u128::MAX).max(1);
                n = usize::try_from(fit).unwrap_or(1).clamp(1, n - 1);
                continue;
            }
            if bytes > max_bytes {
                tracing::warn!(digest = %self.name(), bytes, max_bytes,
                    "one article alone is over the digest's size cap; it goes on its own");
            }
            return Ok(Some(DigestRecord {
                id: 0,
                digest: self.name().to_owned(),
                message_id: String::new(),
                created_at: now,
                items: items[..n]
                    .iter()
                    .map(|i| (i.id, i.article.revision))
                    .collect(),
                subject: r.subject,
                text: r.text,
                html: r.html,
                attempts: 0,
                last_error: None,
                sent_at: None,
                delivery: DeliveryState {
                    byte_cap,
                    more_pending,
                    ..DeliveryState::default()
                },
            }));
        }
    }

    /// Sends the digest in flight or a fresh one; see the module docs for the guarantees. A
    /// refusal for good comes back as [`NotifyError::Refused`], after the record is closed.
    /// When [`Delivery::Sent`] says more is pending, the caller delivers again (up to
    /// [`MAX_DIGESTS_PER_RUN`] times).
    pub async fn deliver(
        &self,
        store: &Store,
        timezone: Tz,
        failing: &[FailingSource],
    ) -> Result<Delivery, NotifyError> {
        let mut record = match store.digest_in_flight(self.name())? {
            Some(r) => r,
            None => {
                let Some(mut fresh) = self.build(store, timezone, failing)? else {
                    return Ok(Delivery::NothingPending);
                };
                fresh.id = store.new_digest_id()?;
                fresh.message_id = self.transport.message_id(fresh.id);
                // On disk before the first attempt: a crash mid-send retries with this record.
                store.save_digest(&fresh).await?;
                fresh
            }
        };
        match self.transport.send(store, &mut record).await {
            Ok(()) => {
                store.complete_digest(&record).await?;
                tracing::info!(digest = %self.name(), items = record.items.len(), "digest delivered");
                Ok(Delivery::Sent {
                    items: record.items.len(),
                    attempt: record.attempts + 1,
                    more_pending: record.delivery.more_pending,
                })
            }
            Err(Attempt::Store(e)) => Err(e.into()),
            Err(Attempt::Failed {
                reason,
                refusal: None,
            }) => {
                record.attempts += 1;
                record.last_error = Some(reason.clone());
                store.save_digest(&record).await?;
                Err(NotifyError::Send {
                    digest: self.name().to_owned(),
                    reason,
                })
            }
            Err(Attempt::Failed {
                reason,
                refusal: Some(refusal),
            }) => self.refuse(store, record, reason, refusal).await,
        }
    }

    /// Closes `record` as refused for good, so the next delivery builds a new digest.
    async fn refuse(
        &self,
        store: &Store,
        mut record: DigestRecord,
        reason: String,
        refusal: Refusal,
    ) -> Result<Delivery, NotifyError> {
        record.attempts += 1;
        record.last_error = Some(reason.clone());
        record.delivery.refused_at = Some(Utc::now());
        record.delivery.refusal = Some(refusal);
        let n = record.items.len();
        let bytes = record.text.len() + record.html.len();
        let next = match refusal {
            Refusal::TooLarge if n <= 1 => {
                record.delivery.set_aside = true;
                let what = record
                    .items
                    .first()
                    .map_or_else(String::new, |(id, _)| format!(" (article {id})"));
                format!(
                    "its one article{what} is too large to send even alone and is set aside: it \
                     stays in the store but leaves the pending list"
                )
            }
            Refusal::TooLarge => {
                let cap = (bytes / 2).max(1);
                record.delivery.byte_cap = Some(cap);
                format!(
                    "its {n} articles stay pending; the next digest is built with at most {} \
                     articles and {cap} bytes",
                    (n / 2).max(1)
                )
            }
            Refusal::Rejected => format!(
                "its {n} article{} stay pending and go in the next digest",
                if n == 1 { "" } else { "s" }
            ),
        };
        store.refuse_digest(&record).await?;
        tracing::error!(digest = %self.name(), items = n, bytes, "digest refused for good: {reason}; {next}");
        Err(NotifyError::Refused {
            digest: self.name().to_owned(),
            reason,
            next,
        })
    }
}

impl NotifyError {
    /// Whether the server refused the digest for good (reported, not retried).
    pub fn is_refusal(&self) -> bool {
        matches!(self, NotifyError::Refused { .. })
    }
}

/// What a delivery did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Nothing was pending; nothing sent.
    NothingPending,
    /// A digest of this many items was accepted, on this attempt; `more_pending` articles did
    /// not fit its caps and wait for the next digest.
    Sent {
        items: usize,
        attempt: u32,
        more_pending: usize,
    },
}
