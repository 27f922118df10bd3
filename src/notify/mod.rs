//! Notify: route articles to digests, build each digest, and deliver it exactly once.
//!
//! A digest is recorded — items, rendered content, Message-ID — before the first attempt to
//! send it. Its items leave the queue only after the mail server (or chat platform) accepted it,
//! in one transaction; a failed attempt leaves the record and the queue as they were, and the next
//! attempt sends the very same digest with the same Message-ID. So nothing is lost and, as far as
//! SMTP allows, nothing is sent twice.

pub mod diff;
pub mod filter;
mod mail;
pub mod templates;
pub mod webhook;

pub use mail::Mailer;
pub use templates::{FailingSource, Format, Rendered, Templates};

use crate::article::Article;
use crate::config::{Config, Destination, DigestConfig};
use crate::store::{DigestRecord, Store, StoreError};
use chrono::Utc;
use chrono_tz::Tz;
use std::path::Path;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum NotifyError {
    #[error("template {name}: {reason}")]
    Template { name: String, reason: String },
    #[error("invalid digest mail: {0}")]
    Message(String),
    #[error("sending digest {digest:?} failed: {reason}")]
    Send { digest: String, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Which digests want an article: the queues it goes into.
#[derive(Debug, Clone, Default)]
pub struct Routing {
    digests: Vec<(String, filter::Filter)>,
}

impl Routing {
    pub fn new(digests: &[DigestConfig]) -> Routing {
        Routing {
            digests: digests
                .iter()
                .map(|d| (d.name.clone(), d.filter.clone()))
                .collect(),
        }
    }

    /// Names of the digests whose filters `article` passes.
    pub fn queues_for(&self, article: &Article) -> Vec<String> {
        self.digests
            .iter()
            .filter(|(_, f)| f.accepts(article))
            .map(|(n, _)| n.clone())
            .collect()
    }
}

/// Where one digest goes.
pub enum Sender {
    Mail(Mailer),
    Chat {
        client: reqwest::Client,
        channel: webhook::Channel,
    },
}

impl Sender {
    pub fn new(digest: &DigestConfig, state_dir: &Path) -> Result<Sender, NotifyError> {
        Ok(match &digest.destination {
            Destination::Email(email) => Sender::Mail(Mailer::new(&digest.name, email, state_dir)?),
            Destination::Chat(chat) => {
                let url = url::Url::parse(chat.url.expose()).map_err(|e| NotifyError::Send {
                    digest: digest.name.clone(),
                    reason: format!("webhook URL: {e}"),
                })?;
                let secret = chat.secret.as_ref().map(|s| s.expose().to_owned());
                let kind = match chat.kind {
                    crate::config::ChatKind::WeCom => webhook::ChannelKind::WeCom,
                    crate::config::ChatKind::DingTalk => webhook::ChannelKind::DingTalk { secret },
                    crate::config::ChatKind::Feishu => webhook::ChannelKind::Feishu { secret },
                    crate::config::ChatKind::Webhook => webhook::ChannelKind::Webhook,
                };
                let client = reqwest::Client::builder()
                    .timeout(std::time::Duration::from_secs(30))
                    .build()
                    .map_err(|e| NotifyError::Send {
                        digest: digest.name.clone(),
                        reason: e.to_string(),
                    })?;
                Sender::Chat {
                    client,
                    channel: webhook::Channel {
                        name: digest.name.clone(),
                        kind,
                        url,
                    },
                }
            }
        })
    }

    async fn send(&self, record: &DigestRecord) -> Result<(), NotifyError> {
        match self {
            Sender::Mail(m) => m.send(record).await,
            Sender::Chat { client, channel } => {
                webhook::send(client, channel, &record.subject, &record.text)
                    .await
                    .map(drop)
                    .map_err(|e| NotifyError::Send {
                        digest: record.queue.clone(),
                        reason: e.to_string(),
                    })
            }
        }
    }

    /// Where digests go, for messages (never the webhook URL, which holds a token).
    pub fn destination(&self) -> String {
        match self {
            Sender::Mail(m) => m.destination(),
            Sender::Chat { channel, .. } => {
                format!("{:?} chat robot", channel_kind_name(&channel.kind))
            }
        }
    }
}

fn channel_kind_name(kind: &webhook::ChannelKind) -> &'static str {
    match kind {
        webhook::ChannelKind::WeCom => "wecom",
        webhook::ChannelKind::DingTalk { .. } => "dingtalk",
        webhook::ChannelKind::Feishu { .. } => "feishu",
        webhook::ChannelKind::Webhook => "webhook",
    }
}

/// One digest, ready to run: its config, templates and sender.
pub struct Outlet {
    pub config: DigestConfig,
    pub templates: Templates,
    pub sender: Sender,
    /// Each source's `alert_after_failures`, for the footer of failing sources.
    alert_after: Vec<(String, u32)>,
}

impl Outlet {
    /// Loads every digest's templates and sender; a broken template fails here, at start-up.
    pub fn all(config: &Config) -> Result<Vec<Outlet>, NotifyError> {
        config
            .digests
            .iter()
            .map(|d| {
                let format = match d.destination {
                    Destination::Email(_) => Format::Mail,
                    Destination::Chat(_) => Format::Markdown,
                };
                Ok(Outlet {
                    templates: Templates::load(d.templates.as_deref(), format)?,
                    sender: Sender::new(d, &config.settings.state_dir)?,
                    config: d.clone(),
                    alert_after: config
                        .sources
                        .iter()
                        .map(|s| (s.name.clone(), s.alert_after_failures))
                        .collect(),
                })
            })
            .collect()
    }

    /// What the next delivery would send: the digest already in flight (a retry sends it
    /// unchanged), else a fresh one from the queue. Changes nothing.
    pub fn preview(
        &self,
        store: &Store,
        timezone: Tz,
    ) -> Result<Option<DigestRecord>, NotifyError> {
        if let Some(record) = store.digest_in_flight(&self.config.name)? {
            return Ok(Some(record));
        }
        let items = store.pending(&self.config.name)?;
        let failing = failing_sources(store, &self.alert_after, timezone)?;
        let rendered = self.templates.render(
            &self.config.name,
            &items,
            &self.config.filter,
            &failing,
            timezone,
            Utc::now(),
        )?;
        Ok(rendered.map(|r| DigestRecord {
            id: 0,
            queue: self.config.name.clone(),
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
    pub async fn deliver(&self, store: &Store, timezone: Tz) -> Result<Delivery, NotifyError> {
        let mut record = match store.digest_in_flight(&self.config.name)? {
            Some(r) => r,
            None => {
                let Some(mut fresh) = self.preview(store, timezone)? else {
                    return Ok(Delivery::NothingPending);
                };
                fresh.id = store.new_digest_id()?;
                fresh.message_id = message_id(fresh.id, &self.sender);
                // On disk before the first attempt: a crash mid-send retries with this record.
                store.save_digest(&fresh).await?;
                fresh
            }
        };
        match self.sender.send(&record).await {
            Ok(()) => {
                store.complete_digest(&record).await?;
                tracing::info!(digest = %self.config.name, items = record.items.len(), "digest delivered");
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

/// Sources at or past their `alert_after_failures` consecutive failures.
pub fn failing_sources(
    store: &Store,
    alert_after: &[(String, u32)],
    timezone: Tz,
) -> Result<Vec<FailingSource>, NotifyError> {
    let mut out = Vec::new();
    for (name, threshold) in alert_after {
        let state = store.source_state(name)?;
        if state.consecutive_failures >= *threshold {
            out.push(FailingSource {
                source: name.clone(),
                failures: state.consecutive_failures,
                last_error: state.last_error.unwrap_or_default(),
                last_success: state.last_success.map_or("never".into(), |t| {
                    t.with_timezone(&timezone).format("%Y-%m-%d").to_string()
                }),
            });
        }
    }
    Ok(out)
}

/// A Message-ID unique to the digest record, in the sender's domain.
fn message_id(record_id: u64, sender: &Sender) -> String {
    let domain = match sender {
        Sender::Mail(m) => m.domain(),
        Sender::Chat { .. } => "newswatch.invalid".to_owned(),
    };
    format!(
        "<digest-{record_id}.{}@{domain}>",
        uuid::Uuid::new_v4().simple()
    )
}

/// What a delivery did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The queue was empty; nothing sent.
    NothingPending,
    /// A digest of this many items was accepted, on this attempt.
    Sent { items: usize, attempt: u32 },
}
