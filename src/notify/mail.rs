//! Mail transport: SMTP through lettre, or `.eml` files in the outbox when no server is set.

use super::{Digest, NotifyError};
use crate::config::DigestConfig;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The environment variable holding the SMTP password; it is never read from the config file.
pub const SMTP_PASSWORD_ENV: &str = "NEWSWATCH_SMTP_PASSWORD";

enum Transport {
    Smtp(Box<AsyncSmtpTransport<Tokio1Executor>>),
    Outbox(AsyncFileTransport<Tokio1Executor>, PathBuf),
}

/// Sends digests to the configured recipients.
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    to: Vec<Mailbox>,
}

impl Mailer {
    /// SMTP when `[digest] smtp` is set, else `.eml` files under `<state_dir>/outbox/`.
    pub fn new(digest: &DigestConfig, state_dir: &Path) -> Result<Mailer, NotifyError> {
        let transport = match &digest.smtp {
            Some(url) => {
                let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| NotifyError::Send(format!("SMTP URL {url:?}: {e}")))?
                    .timeout(Some(Duration::from_secs(30)));
                if let Ok(password) = std::env::var(SMTP_PASSWORD_ENV) {
                    let user = url::Url::parse(url)
                        .map(|u| u.username().to_owned())
                        .unwrap_or_default();
                    builder = builder.credentials(Credentials::new(user, password));
                }
                Transport::Smtp(Box::new(builder.build()))
            }
            None => {
                let dir = state_dir.join("outbox");
                std::fs::create_dir_all(&dir).map_err(|e| {
                    NotifyError::Send(format!("cannot create outbox {}: {e}", dir.display()))
                })?;
                Transport::Outbox(AsyncFileTransport::new(&dir), dir)
            }
        };
        Ok(Mailer {
            transport,
            from: digest.from.clone(),
            to: digest.to.clone(),
        })
    }

    /// Builds the `multipart/alternative` mail for `digest`.
    pub fn message(&self, digest: &Digest) -> Result<Message, NotifyError> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(digest.subject.clone())
            .message_id(None);
        for to in &self.to {
            builder = builder.to(to.clone());
        }
        builder
            .multipart(MultiPart::alternative_plain_html(
                digest.text.clone(),
                digest.html.clone(),
            ))
            .map_err(|e| NotifyError::Message(e.to_string()))
    }

    /// Sends `digest`; an error carries the server's reply.
    pub async fn send(&self, digest: &Digest) -> Result<(), NotifyError> {
        let message = self.message(digest)?;
        match &self.transport {
            Transport::Smtp(smtp) => smtp.send(message).await.map(drop).map_err(|e| {
                let mut reason = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    reason.push_str(": ");
                    reason.push_str(&s.to_string());
                    source = s.source();
                }
                NotifyError::Send(reason)
            }),
            Transport::Outbox(file, dir) => file.send(message).await.map(drop).map_err(|e| {
                NotifyError::Send(format!("cannot write to outbox {}: {e}", dir.display()))
            }),
        }
    }

    /// Where digests go, for messages.
    pub fn destination(&self) -> String {
        match &self.transport {
            Transport::Smtp(_) => "SMTP".into(),
            Transport::Outbox(_, dir) => format!("outbox {}", dir.display()),
        }
    }
}
