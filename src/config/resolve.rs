//! Resolution: what a checked config names outside itself — secrets in the environment or in
//! files, template folders — read and turned into the notify stage's settings. The only part
//! of loading a config that touches the world beyond the file.

use super::check::{ChannelDraft, DigestDraft, Problems, SecretRef, SinkDraft, TemplatesRef};
use crate::notify::{
    Channel, ChatKind, ChatSettings, DigestSettings, MailSettings, Secret, exposes_password,
};

/// The environment variable holding the SMTP password when no `smtp_password_file` is set.
pub const SMTP_PASSWORD_ENV: &str = "NEWSWATCH_SMTP_PASSWORD";

/// The environment variable holding the web pages' token when no `web_token_file` is set.
pub const WEB_TOKEN_ENV: &str = "NEWSWATCH_WEB_TOKEN";

/// Reads the web pages' token (from `web_token_file`, else [`WEB_TOKEN_ENV`]) into `settings`,
/// checks the template folder, and requires a token when `listen` reaches beyond this machine:
/// the pages show the whole archive and the sources' errors.
pub fn web_token(
    raw: &super::raw::RawSettings,
    base: &std::path::Path,
    settings: &mut super::Settings,
    p: &mut Problems,
) {
    settings.web.token = match &raw.web_token_file {
        Some(file) => secret(
            "[settings] ",
            &SecretRef::File {
                path: base.join(file.get_ref()),
                span: file.span(),
            },
            p,
        ),
        None => std::env::var(WEB_TOKEN_ENV)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map(|v| Secret::new(v.trim().to_owned())),
    };
    if let (Some(dir), Some(span)) = (&settings.web.templates, &raw.web_templates)
        && !dir.is_dir()
    {
        p.add(
            span.span(),
            format!(
                "[settings] web_templates: {} is not a folder",
                dir.display()
            ),
        );
    }
    if let (Some(addr), Some(span)) = (settings.listen, &raw.listen)
        && !addr.ip().is_loopback()
        && settings.web.token.is_none()
    {
        p.add(
            span.span(),
            format!(
                "[settings] listen: {addr} reaches beyond this machine, so the pages need a token: \
                 set web_token_file or the environment variable {WEB_TOKEN_ENV} (or listen on 127.0.0.1)"
            ),
        );
    }
}

/// Checks what is on disk at `state_dir` (without creating anything): absent, or a folder that
/// holds a newswatch store or nothing else. A regular file, someone's folder of other files or
/// their own `db/` folder is refused here, before any command starts.
pub fn state_dir(dir: &std::path::Path, span: std::ops::Range<usize>, p: &mut Problems) {
    if let Err(e) = crate::store::check_dir(dir) {
        p.add(
            span,
            format!("[settings] state_dir: {}", crate::error_chain(&e)),
        );
    }
}

/// The name this instance writes into its sinks when `[settings] instance` is not set: the
/// host's name. A host name that cannot serve is a problem only when there is a sink to write.
pub fn instance(has_sinks: bool, p: &mut Problems) -> String {
    let host = hostname::get()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_default();
    if crate::sink::check_instance(&host).is_ok() {
        return host;
    }
    if has_sinks {
        p.add(
            0..0,
            format!(
                "[settings] instance: not set, and the host name {host:?} cannot name this instance in its sinks; set instance = \"NAME\""
            ),
        );
    }
    "newswatch".to_owned()
}

/// The sinks with their passwords read: from `password_file`, else the sink's environment
/// variable (`NEWSWATCH_SINK_<NAME>_PASSWORD`), else none (trust or certificate login).
pub fn sinks(drafts: Vec<SinkDraft>, p: &mut Problems) -> Vec<crate::sink::SinkSettings> {
    drafts
        .into_iter()
        .filter_map(|d| {
            let password = match &d.password_file {
                Some(file) => Some(secret(&d.at, file, p)?.expose().to_owned()),
                None => std::env::var(crate::sink::password_env(d.settings.name()))
                    .ok()
                    .filter(|v| !v.is_empty()),
            };
            Some(match password {
                Some(pw) => d.settings.with_password(crate::sink::Password::new(pw)),
                None => d.settings,
            })
        })
        .collect()
}

/// The digests with their secrets read and template folders looked into.
pub fn digests(drafts: Vec<DigestDraft>, p: &mut Problems) -> Vec<DigestSettings> {
    drafts.into_iter().filter_map(|d| digest(d, p)).collect()
}

fn digest(d: DigestDraft, p: &mut Problems) -> Option<DigestSettings> {
    let at = &d.at;
    if let Some(t) = &d.templates {
        templates(at, t, p);
    }
    let channel = match d.channel {
        ChannelDraft::Mail {
            from,
            to,
            smtp,
            smtp_span,
            password_file,
            allow_insecure_auth,
        } => {
            // The password never comes from the config itself: a file it names, else the
            // environment.
            let password = match &password_file {
                Some(file) => secret(at, file, p),
                None => std::env::var(SMTP_PASSWORD_ENV)
                    .ok()
                    .filter(|v| !v.is_empty())
                    .map(Secret::new),
            };
            if let Some(url) = &smtp {
                let parsed = url::Url::parse(url).ok();
                let in_url = parsed.as_ref().is_some_and(|u| u.password().is_some());
                if (password.is_some() || in_url) && exposes_password(url) && !allow_insecure_auth {
                    // The host only: the URL may hold the password itself.
                    let host = parsed
                        .as_ref()
                        .and_then(|u| u.host_str())
                        .unwrap_or("the server");
                    p.add(
                        smtp_span,
                        format!(
                            "{at}smtp: a password is set, and plain smtp:// to {host} would \
                             send it in clear: use smtps:// or smtp://…?tls=required, or set \
                             allow_insecure_auth = true (a relay on 127.0.0.1 or localhost \
                             needs neither)"
                        ),
                    );
                }
            }
            Channel::Mail(MailSettings {
                from,
                to,
                smtp,
                password,
                allow_insecure_auth,
            })
        }
        ChannelDraft::Chat {
            kind,
            url,
            url_span,
            secret: signing,
        } => {
            // A URL written in the file was checked with it; one from the environment can only
            // be checked now.
            let from_env = matches!(url, SecretRef::Env { .. });
            let url = secret(at, &url, p)?;
            let ok =
                url::Url::parse(url.expose()).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
            if from_env && !ok {
                p.add(url_span, format!("{at}url: not an http(s) URL"));
                return None;
            }
            let signing = match &signing {
                Some(s) => Some(secret(at, s, p)?),
                None => None,
            };
            let kind = match kind {
                ChatKind::DingTalk { .. } => ChatKind::DingTalk { secret: signing },
                ChatKind::Feishu { .. } => ChatKind::Feishu { secret: signing },
                other => other,
            };
            Channel::Chat(ChatSettings {
                pace: kind.pace(),
                kind,
                url,
            })
        }
    };
    Some(DigestSettings {
        name: d.name,
        schedule: d.schedule,
        filter: d.filter,
        language: d.language,
        templates: d.templates.map(|t| t.dir),
        channel,
        limits: d.limits,
        public_url: None,
    })
}

/// Reads a secret; a missing or empty one is a problem at the key that named it.
fn secret(at: &str, r: &SecretRef, p: &mut Problems) -> Option<Secret> {
    match r {
        SecretRef::Value(v) => Some(Secret::new(v.clone())),
        SecretRef::Env { key, var, span } => match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => Some(Secret::new(v.trim().to_owned())),
            _ => {
                p.add(
                    span.clone(),
                    format!("{at}{key}: environment variable {var} is not set"),
                );
                None
            }
        },
        SecretRef::File { path, span } => match std::fs::read_to_string(path) {
            Ok(v) if !v.trim().is_empty() => Some(Secret::new(v.trim().to_owned())),
            Ok(_) => {
                p.add(span.clone(), format!("{at}{} is empty", path.display()));
                None
            }
            Err(e) => {
                p.add(
                    span.clone(),
                    format!("{at}cannot read {}: {e}", path.display()),
                );
                None
            }
        },
    }
}

/// Every file a template folder must hold is there (whether they compile is the notify
/// stage's check, made when a digest is loaded).
fn templates(at: &str, t: &TemplatesRef, p: &mut Problems) {
    for file in t.files {
        let path = t.dir.join(file);
        if !path.is_file() {
            p.add(
                t.span.clone(),
                format!("{at}templates: {} is missing", path.display()),
            );
        }
    }
}
