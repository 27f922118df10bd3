//! Notify: route articles to digests, build each digest, and deliver it exactly once.
//!
//! A digest is recorded — items, rendered content, Message-ID — before the first attempt to
//! send it. Its items leave the digest's pending list only after the mail server (or chat
//! platform) accepted it, in one transaction; a failed attempt leaves the record and the list as
//! they were, and the next attempt sends the very same digest with the same Message-ID. So
//! nothing is lost and, as far as SMTP allows, nothing is sent twice.
//!
//! The stage owns its settings ([`DigestSettings`], [`Channel`], [`MailSettings`],
//! [`ChatSettings`], [`Secret`]); the config reads the file and assembles them.

pub mod diff;
pub mod filter;
mod mail;
pub mod templates;
pub mod webhook;

pub use mail::Mailer;
pub use templates::{FailingSource, Format, Rendered, Templates};
pub use webhook::ChatKind;

use crate::article::Article;
use crate::schedule::Schedule;
use crate::store::{DigestRecord, Store, StoreError};
use chrono::Utc;
use chrono_tz::Tz;
use std::fmt;
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum NotifyError {
    #[error("template {name}: {reason}")]
    Template { name: String, reason: String },
    #[error("invalid digest mail")]
    Message(#[source] lettre::error::Error),
    #[error("sending digest {digest:?} failed: {reason}")]
    Send { digest: String, reason: String },
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
    /// Folder holding `digest.txt` and `digest.html` (mail) or `digest.md` (chat); `None` uses
    /// the built-in templates.
    pub templates: Option<PathBuf>,
    pub channel: Channel,
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
            Channel::Chat(_) => Format::Markdown,
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
}

/// A digest posted to a group-chat robot.
#[derive(Debug, Clone)]
pub struct ChatSettings {
    pub kind: ChatKind,
    pub url: Secret,
}

/// Which digests want an article: the digests it is pending for.
#[derive(Debug, Clone, Default)]
pub struct Routing {
    digests: Vec<(String, filter::Filter)>,
}

impl Routing {
    pub fn new(digests: &[DigestSettings]) -> Routing {
        Routing {
            digests: digests
                .iter()
                .map(|d| (d.name.clone(), d.filter.clone()))
                .collect(),
        }
    }

    /// Names of the digests whose filters `article` passes.
    pub fn digests_for(&self, article: &Article) -> Vec<String> {
        self.digests
            .iter()
            .filter(|(_, f)| f.accepts(article))
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
    },
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
                }
            }
        })
    }

    async fn send(&self, record: &DigestRecord) -> Result<(), NotifyError> {
        match self {
            Transport::Mail(m) => m.send(record).await,
            Transport::Chat { client, robot } => {
                webhook::send(client, robot, &record.subject, &record.text)
                    .await
                    .map(drop)
                    .map_err(|e| NotifyError::Send {
                        digest: record.digest.clone(),
                        reason: e.to_string(),
                    })
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
            templates: Templates::load(settings.templates.as_deref(), settings.channel.format())?,
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
    /// unchanged), else a fresh one of what is pending, with `failing` sources in its footer.
    /// Changes nothing.
    pub fn preview(
        &self,
        store: &Store,
        timezone: Tz,
        failing: &[FailingSource],
    ) -> Result<Option<DigestRecord>, NotifyError> {
        if let Some(record) = store.digest_in_flight(self.name())? {
            return Ok(Some(record));
        }
        let items = store.pending(self.name())?;
        let rendered = self.templates.render(
            self.name(),
            &items,
            &self.settings.filter,
            failing,
            timezone,
            Utc::now(),
        )?;
        Ok(rendered.map(|r| DigestRecord {
            id: 0,
            digest: self.name().to_owned(),
            message_id: String::new(),
            created_at: Utc::now(),
            items: items.iter().map(|i| (i.id, i.article.revision)).collect(),
            subject: r.subject,
            text: r.text,
            html: r.html,
            attempts: 0,
            last_error: None,
            sent_at: None,
        }))
    }

    /// Sends the digest in flight or a fresh one; see the module docs for the guarantees.
    pub async fn deliver(
        &self,
        store: &Store,
        timezone: Tz,
        failing: &[FailingSource],
    ) -> Result<Delivery, NotifyError> {
        let mut record = match store.digest_in_flight(self.name())? {
            Some(r) => r,
            None => {
                let Some(mut fresh) = self.preview(store, timezone, failing)? else {
                    return Ok(Delivery::NothingPending);
                };
                fresh.id = store.new_digest_id()?;
                fresh.message_id = self.transport.message_id(fresh.id);
                // On disk before the first attempt: a crash mid-send retries with this record.
                store.save_digest(&fresh).await?;
                fresh
            }
        };
        match self.transport.send(&record).await {
            Ok(()) => {
                store.complete_digest(&record).await?;
                tracing::info!(digest = %self.name(), items = record.items.len(), "digest delivered");
                Ok(Delivery::Sent {
                    items: record.items.len(),
                    attempt: record.attempts + 1,
                })
            }
            Err(e) => {
                record.attempts += 1;
                record.last_error = Some(e.to_string());
                store.save_digest(&record).await?;
                Err(e)
            }
        }
    }
}

/// What a delivery did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Nothing was pending; nothing sent.
    NothingPending,
    /// A digest of this many items was accepted, on this attempt.
    Sent { items: usize, attempt: u32 },
}
