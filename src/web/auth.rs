//! The token the pages ask for when one is configured (always, when the listener reaches
//! beyond loopback).
//!
//! A request is let in when it carries the token as `Authorization: Bearer TOKEN` (scrapers,
//! scripts) or in the `newswatch_token` cookie (browsers). A browser gets the cookie by opening
//! any page with `?token=TOKEN` once — typed into the form every refused page shows, so a
//! digest link opened on a phone leads to one prompt — and is sent on to the same address
//! without the token, so it does not stay in the address bar. `/healthz` needs no token: it
//! tells nothing but that the process answers.

use crate::notify::Secret;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// The cookie that carries the token.
pub const COOKIE: &str = "newswatch_token";
/// How long a browser keeps it (30 days).
const COOKIE_SECS: u64 = 30 * 24 * 3600;

/// What the guard checks against.
#[derive(Clone)]
pub struct Guard {
    /// SHA-256 of the token: what is compared (see [`Guard::admits`]).
    digest: [u8; 32],
    /// Whether the pages are reached over https (the cookie is then `Secure`).
    secure: bool,
    pages: Arc<super::Pages>,
}

impl Guard {
    pub fn new(token: &Secret, secure: bool, pages: Arc<super::Pages>) -> Guard {
        Guard {
            digest: Sha256::digest(token.expose().as_bytes()).into(),
            secure,
            pages,
        }
    }

    /// Whether `given` is the token, in time that does not depend on where they differ: both
    /// are hashed to 32 bytes first (so neither the token's length nor its bytes show in the
    /// time taken) and the digests compared with `subtle`'s constant-time equality.
    pub fn admits(&self, given: &str) -> bool {
        let given: [u8; 32] = Sha256::digest(given.as_bytes()).into();
        bool::from(given.ct_eq(&self.digest))
    }
}

fn cookie_token(req: &Request) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned()
        })
}

fn bearer_token(req: &Request) -> Option<String> {
    // Bytes, not `to_str`: a token may hold any UTF-8, which HTTP headers carry as is.
    let v = std::str::from_utf8(req.headers().get(header::AUTHORIZATION)?.as_bytes()).ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// The middleware: lets a request with the token through, turns `?token=` into the cookie,
/// and answers anything else `401` with a form asking for the token.
pub async fn guard(State(g): State<Guard>, req: Request, next: Next) -> Response {
    if req.uri().path() == "/healthz" {
        return next.run(req).await;
    }
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(req.uri().query().unwrap_or_default().as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    let rest: Vec<&(String, String)> = params.iter().filter(|(k, _)| k != "token").collect();
    let path = req.uri().path().to_owned();
    if let Some((_, given)) = params.iter().find(|(k, _)| k == "token") {
        if g.admits(given) {
            let mut to = path.clone();
            if !rest.is_empty() {
                let mut s = url::form_urlencoded::Serializer::new(String::new());
                for (k, v) in &rest {
                    s.append_pair(k, v);
                }
                to.push('?');
                to.push_str(&s.finish());
            }
            let cookie = format!(
                "{COOKIE}={}; Path=/; Max-Age={COOKIE_SECS}; HttpOnly; SameSite=Lax{}",
                percent_encoding::utf8_percent_encode(given, percent_encoding::NON_ALPHANUMERIC),
                if g.secure { "; Secure" } else { "" }
            );
            let mut resp = (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response();
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                resp.headers_mut().insert(header::SET_COOKIE, v);
            }
            return resp;
        }
        return refuse(&g, &path, &rest, true);
    }
    let admitted = bearer_token(&req).is_some_and(|t| g.admits(&t))
        || cookie_token(&req).is_some_and(|t| g.admits(&t));
    if admitted {
        next.run(req).await
    } else {
        refuse(&g, &path, &rest, false)
    }
}

/// `401` with the form that asks for the token and comes back to the same page.
fn refuse(g: &Guard, path: &str, rest: &[&(String, String)], wrong: bool) -> Response {
    let hidden: Vec<(String, String)> = rest.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let ctx = minijinja::context! {
        action => path,
        hidden => super::to_value(&hidden),
        wrong => wrong,
    };
    let mut resp = match g.pages.render("login.html", ctx) {
        Ok(html) => (StatusCode::UNAUTHORIZED, Html(html)).into_response(),
        Err(e) => {
            tracing::error!("web page login.html: {e}");
            (StatusCode::UNAUTHORIZED, "token required\n").into_response()
        }
    };
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"newswatch\""),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_token_itself_is_admitted() {
        let pages = Arc::new(super::super::Pages::load(None).unwrap_or_else(|e| panic!("{e}")));
        let g = Guard::new(&Secret::from("s3cret-令牌"), false, pages);
        assert!(g.admits("s3cret-令牌"));
        for wrong in [
            "",
            "s3cret",
            "s3cret-令牌 ",
            "S3CRET-令牌",
            "s3cret-令牌s3cret-令牌",
        ] {
            assert!(!g.admits(wrong), "{wrong:?}");
        }
    }
}
