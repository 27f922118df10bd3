//! Mail transport: SMTP through lettre, or `.eml` files in the outbox when no server is set.

use super::{MailSettings, NotifyError};
use crate::store::DigestRecord;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::{Path, PathBuf};
use std::time::Duration;

enum Transport {
    Smtp(Box<AsyncSmtpTransport<Tokio1Executor>>),
    Outbox(AsyncFileTransport<Tokio1Executor>, PathBuf),
}

/// Sends one digest's mails.
pub struct Mailer {
    digest: String,
    transport: Transport,
    from: Mailbox,
    to: Vec<Mailbox>,
}

impl Mailer {
    /// SMTP when `smtp` is set, else `.eml` files under `<state_dir>/outbox/`.
    pub fn new(
        digest: &str,
        email: &MailSettings,
        state_dir: &Path,
    ) -> Result<Mailer, NotifyError> {
        let err = |reason: String| NotifyError::Send {
            digest: digest.to_owned(),
            reason,
        };
        let transport = match &email.smtp {
            Some(url) => {
                let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| err(format!("SMTP URL: {e}")))?
                    .timeout(Some(Duration::from_secs(30)));
                if let Some(password) = &email.password {
                    let user = url::Url::parse(url)
                        .map(|u| u.username().to_owned())
                        .unwrap_or_default();
                    builder =
                        builder.credentials(Credentials::new(user, password.expose().to_owned()));
                }
                Transport::Smtp(Box::new(builder.build()))
            }
            // Created on first send: loading the config must not create any state.
            None => {
                let dir = state_dir.join("outbox");
                Transport::Outbox(AsyncFileTransport::new(&dir), dir)
            }
        };
        Ok(Mailer {
            digest: digest.to_owned(),
            transport,
            from: email.from.clone(),
            to: email.to.clone(),
        })
    }

    /// The sender's domain, for Message-IDs.
    pub fn domain(&self) -> String {
        self.from.email.domain().to_owned()
    }

    /// The `multipart/alternative` mail for `record`, with its recorded Message-ID.
    pub fn message(&self, record: &DigestRecord) -> Result<Message, NotifyError> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(record.subject.clone())
            .message_id(Some(record.message_id.clone()));
        for to in &self.to {
            builder = builder.to(to.clone());
        }
        builder
            .multipart(MultiPart::alternative_plain_html(
                record.text.clone(),
                record.html.clone(),
            ))
            .map_err(NotifyError::Message)
    }

    /// Sends `record`; an error carries the server's reply.
    pub async fn send(&self, record: &DigestRecord) -> Result<(), NotifyError> {
        let message = self.message(record)?;
        let err = |reason: String| NotifyError::Send {
            digest: self.digest.clone(),
            reason,
        };
        match &self.transport {
            Transport::Smtp(smtp) => smtp
                .send(message)
                .await
                .map(drop)
                .map_err(|e| err(crate::error_chain(&e))),
            Transport::Outbox(file, dir) => {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| err(format!("cannot create outbox {}: {e}", dir.display())))?;
                file.send(message)
                    .await
                    .map(drop)
                    .map_err(|e| err(format!("cannot write to outbox {}: {e}", dir.display())))
            }
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
