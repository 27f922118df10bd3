//! Mail transport: SMTP through lettre, or `.eml` files in the outbox when no server is set.

use super::{MailSettings, NotifyError};
use crate::store::{DigestRecord, Refusal};
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
                let has_password = email.password.is_some()
                    || url::Url::parse(url).is_ok_and(|u| u.password().is_some());
                if has_password && exposes_password(url) && !email.allow_insecure_auth {
                    return Err(NotifyError::Setup {
                        digest: digest.to_owned(),
                        what: "SMTP password",
                        source: INSECURE_AUTH.into(),
                    });
                }
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

    /// Sends `record`; an error carries the server's reply and whether it refused for good.
    pub async fn send(&self, record: &DigestRecord) -> Result<(), MailError> {
        let message = self.message(record).map_err(|e| MailError {
            reason: crate::error_chain(&e),
            // A mail that cannot be built now never can.
            refusal: Some(Refusal::Rejected),
        })?;
        let err = |reason: String| MailError {
            reason,
            refusal: None,
        };
        match &self.transport {
            Transport::Smtp(smtp) => smtp.send(message).await.map(drop).map_err(|e| MailError {
                refusal: refusal(&e),
                reason: crate::error_chain(&e),
            }),
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

/// Why a mail was not sent.
pub struct MailError {
    pub reason: String,
    /// `Some` when the server refused for good (a 5xx reply): sending again cannot succeed.
    pub refusal: Option<Refusal>,
}

/// How a permanent SMTP reply is read. 552 ("exceeded storage allocation", the size limit at
/// DATA) and the enhanced codes 5.3.4 ("message too big for system") and 5.2.3 ("message
/// length exceeds administrative limit") mean too large, unless the reply says 5.2.2 (the
/// recipient's mailbox is full, which a smaller digest does not cure). Any other 5xx is a
/// refusal a smaller digest would not change either (a bad address, a password, a policy).
fn refusal(e: &lettre::transport::smtp::Error) -> Option<Refusal> {
    if !e.is_permanent() {
        return None;
    }
    let text = e.to_string();
    let code = e.status().map(u16::from);
    let too_large = (code == Some(552) || text.contains("5.3.4") || text.contains("5.2.3"))
        && !text.contains("5.2.2");
    Some(if too_large {
        Refusal::TooLarge
    } else {
        Refusal::Rejected
    })
}

const INSECURE_AUTH: &str = "the SMTP URL is plain smtp:// to a host other than this machine, so \
     the password would cross the network in clear: use smtps:// or smtp://…?tls=required, or \
     set allow_insecure_auth = true";

/// Whether SMTP AUTH over `smtp_url` would send a password in clear across a network: plain
/// `smtp://` (or `?tls=opportunistic`, which an attacker downgrades by hiding STARTTLS) to a
/// host that is not this machine. A relay on loopback (127.0.0.0/8, ::1, `localhost`) is
/// exempt: the password never leaves the machine, and a local relay or an stunnel/SSH tunnel
/// that adds TLS further on is the usual way to reach a provider. An unparsable URL counts as
/// exposed.
pub fn exposes_password(smtp_url: &str) -> bool {
    let Ok(url) = url::Url::parse(smtp_url) else {
        return true;
    };
    if url.scheme() == "smtps" {
        return false;
    }
    let tls_required = url
        .query_pairs()
        .any(|(k, v)| k == "tls" && v == "required");
    if tls_required {
        return false;
    }
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        // `smtp:` is not a special scheme to the URL parser, so an IPv4 address comes as text.
        Some(url::Host::Domain(d)) => {
            d.eq_ignore_ascii_case("localhost")
                || d.parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        None => false,
    };
    !loopback
}

#[cfg(test)]
mod tests {
    use super::exposes_password;

    #[test]
    fn plain_smtp_to_another_host_exposes_the_password() {
        for exposed in [
            "smtp://user@mail.example.org:587",
            "smtp://user@mail.example.org:587?tls=opportunistic",
            "smtp://10.0.0.5:25",
            "not a url",
        ] {
            assert!(exposes_password(exposed), "{exposed}");
        }
        for safe in [
            "smtps://user@mail.example.org:465",
            "smtp://user@mail.example.org:587?tls=required",
            "smtp://127.0.0.1:2525",
            "smtp://127.8.0.1:25",
            "smtp://[::1]:25",
            "smtp://LocalHost:25",
        ] {
            assert!(!exposes_password(safe), "{safe}");
        }
    }
}
