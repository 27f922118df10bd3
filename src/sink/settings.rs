//! What a `[[sink]]` says, checked: the sink's name, its libpq-style URL, the password and the
//! schema. Parsing is pure (no I/O), so `validate` can report every problem before anything
//! starts; the CA file named by `sslrootcert` is read only when connecting.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;
use thiserror::Error;
use url::Url;

/// The schema used when a sink names none.
pub const DEFAULT_SCHEMA: &str = "public";

/// How long one delivery (connecting, migrating and the insert) may take before the database
/// counts as unavailable: keepalives alone would notice a vanished server only after minutes.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a connection attempt may take when the URL sets no `connect_timeout`.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The query parameters read from a sink URL; any other is an error, as unknown config keys are.
const URL_PARAMETERS: &[&str] = &[
    "sslmode",
    "sslrootcert",
    "hostaddr",
    "connect_timeout",
    "application_name",
];

/// A sink's password: never printed, never part of an error or a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn new(value: impl Into<String>) -> Self {
        Password(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(…)")
    }
}

/// Which database a sink writes to. PostgreSQL only, for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkKind {
    Postgres,
}

/// libpq's `sslmode`, as far as newswatch honours it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsMode {
    /// Plain TCP.
    Disable,
    /// TLS when the server offers it, unverified; plain otherwise. libpq's default. On a
    /// loopback address newswatch does not even try: there is nothing to protect.
    #[default]
    Prefer,
    /// TLS or no connection; the certificate is not checked unless `sslrootcert` is given (then
    /// as `verify-ca`), as with libpq.
    Require,
    /// TLS, the certificate chain checked against `sslrootcert`; any host name accepted.
    VerifyCa,
    /// TLS, chain and host name checked: against `sslrootcert` when given, else against the
    /// system's trusted roots. The only mode that stops a man in the middle on its own.
    VerifyFull,
}

impl TlsMode {
    fn parse(value: &str) -> Result<TlsMode, String> {
        match value {
            "disable" => Ok(TlsMode::Disable),
            "prefer" => Ok(TlsMode::Prefer),
            "require" => Ok(TlsMode::Require),
            "verify-ca" => Ok(TlsMode::VerifyCa),
            "verify-full" => Ok(TlsMode::VerifyFull),
            // libpq's `allow` tries plain first and TLS second; the driver cannot, and nobody
            // needs a mode weaker than `prefer`.
            other => Err(format!(
                "sslmode={other} is not supported (use disable, prefer, require, verify-ca or verify-full)"
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::Disable => "disable",
            TlsMode::Prefer => "prefer",
            TlsMode::Require => "require",
            TlsMode::VerifyCa => "verify-ca",
            TlsMode::VerifyFull => "verify-full",
        }
    }
}

/// A problem in a sink's settings, naming the key. The config reader adds file, line and sink.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SettingsError {
    #[error("name {0:?}: use ASCII letters, digits, '-' and '_' (it names the password variable)")]
    Name(String),
    #[error("url: {0}")]
    Url(String),
    #[error("schema {schema:?}: {reason}")]
    Schema { schema: String, reason: String },
    #[error(
        "instance {0:?}: use 1 to 63 ASCII letters, digits, '.', '-' and '_' (a host name fits)"
    )]
    Instance(String),
}

/// The parts of a sink URL the driver needs, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    pub host: String,
    pub hostaddr: Option<IpAddr>,
    pub port: u16,
    pub user: String,
    pub dbname: String,
    pub tls: TlsMode,
    pub root_cert: Option<PathBuf>,
    pub connect_timeout: Duration,
    pub application_name: String,
}

impl Endpoint {
    /// Whether the connection stays on this machine, where `prefer` goes without TLS.
    pub fn is_loopback(&self) -> bool {
        match self.hostaddr {
            Some(ip) => ip.is_loopback(),
            None => {
                self.host == "localhost"
                    || self.host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
            }
        }
    }
}

/// One checked `[[sink]]`.
#[derive(Debug, Clone)]
pub struct SinkSettings {
    name: String,
    kind: SinkKind,
    url: String,
    endpoint: Endpoint,
    password: Option<Password>,
    schema: String,
    timeout: Duration,
}

impl SinkSettings {
    /// Checks a PostgreSQL sink: `url` is libpq-style
    /// (`postgres://USER@HOST[:PORT]/DB?sslmode=verify-full`), `schema` defaults to `public`.
    /// The password comes separately (see [`password_env`]): a URL holding one is refused, since
    /// URLs end up in logs and status pages.
    pub fn postgres(
        name: &str,
        url: &str,
        password: Option<Password>,
        schema: Option<&str>,
    ) -> Result<SinkSettings, SettingsError> {
        check_name(name)?;
        let endpoint = parse_url(url).map_err(SettingsError::Url)?;
        let schema = schema.unwrap_or(DEFAULT_SCHEMA);
        check_schema(schema)?;
        Ok(SinkSettings {
            name: name.to_owned(),
            kind: SinkKind::Postgres,
            url: url.to_owned(),
            endpoint,
            password,
            schema: schema.to_owned(),
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// The same settings with `password` for logging in (read by the config from the sink's
    /// password variable or `password_file`).
    pub fn with_password(mut self, password: Password) -> SinkSettings {
        self.password = Some(password);
        self
    }

    /// The same settings with another limit on one delivery.
    pub fn with_timeout(mut self, timeout: Duration) -> SinkSettings {
        self.timeout = timeout;
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn kind(&self) -> SinkKind {
        self.kind
    }

    /// The URL as configured; it holds no password, so it may be shown.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn schema(&self) -> &str {
        &self.schema
    }

    pub fn tls(&self) -> TlsMode {
        self.endpoint.tls
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub fn has_password(&self) -> bool {
        self.password.is_some()
    }

    pub(crate) fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    pub(crate) fn password(&self) -> Option<&Password> {
        self.password.as_ref()
    }
}

/// The environment variable that holds sink `name`'s password: `NEWSWATCH_SINK_<NAME>_PASSWORD`,
/// the name upper-cased with `-` as `_`.
pub fn password_env(name: &str) -> String {
    let name: String = name
        .chars()
        .map(|c| match c {
            '-' => '_',
            c => c.to_ascii_uppercase(),
        })
        .collect();
    format!("NEWSWATCH_SINK_{name}_PASSWORD")
}

/// Checks the name an instance writes into the sink's `instance` column: with the store's
/// article id it identifies an article across instances, so it must be stable and differ
/// between instances. Host names fit.
pub fn check_instance(instance: &str) -> Result<(), SettingsError> {
    let fits = (1..=63).contains(&instance.len())
        && instance
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if fits {
        Ok(())
    } else {
        Err(SettingsError::Instance(instance.to_owned()))
    }
}

fn check_name(name: &str) -> Result<(), SettingsError> {
    let fits = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if fits {
        Ok(())
    } else {
        Err(SettingsError::Name(name.to_owned()))
    }
}

fn check_schema(schema: &str) -> Result<(), SettingsError> {
    let error = |reason: &str| SettingsError::Schema {
        schema: schema.to_owned(),
        reason: reason.to_owned(),
    };
    // Lower case only: PostgreSQL folds unquoted names, so a schema created as "Archive" could
    // not be read as `archive.articles` from psql or a BI tool.
    let mut chars = schema.chars();
    let first_fits = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    if !first_fits || !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        return Err(error(
            "use lower-case ASCII letters, digits and '_', starting with a letter or '_'",
        ));
    }
    if schema.len() > 63 {
        return Err(error("longer than PostgreSQL's 63-byte limit on names"));
    }
    if schema.starts_with("pg_") {
        return Err(error("names starting with pg_ are reserved by PostgreSQL"));
    }
    Ok(())
}

fn decode(part: &str, what: &str) -> Result<String, String> {
    percent_encoding::percent_decode_str(part)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| format!("the {what} is not UTF-8 after percent-decoding"))
}

fn parse_url(raw: &str) -> Result<Endpoint, String> {
    let url = Url::parse(raw)
        .map_err(|e| format!("not a URL ({e}); expected postgres://USER@HOST[:PORT]/DATABASE"))?;
    if url.scheme() != "postgres" && url.scheme() != "postgresql" {
        return Err(format!(
            "scheme {:?}: expected postgres:// or postgresql://",
            url.scheme()
        ));
    }
    if url.password().is_some() {
        // Not echoed: the message must not carry the secret it complains about.
        return Err(
            "holds a password; put it in the sink's password variable or password_file instead"
                .into(),
        );
    }
    let host = match url.host_str() {
        Some(h) if !h.is_empty() => h.trim_start_matches('[').trim_end_matches(']'),
        _ => return Err("no host (postgres://USER@HOST/DATABASE)".into()),
    };
    if host.contains('%') || host.contains(',') {
        return Err(format!(
            "host {host:?}: give one TCP host name or address (Unix sockets and host lists are not supported)"
        ));
    }
    let user = decode(url.username(), "user name")?;
    if user.is_empty() {
        return Err("no user name (postgres://USER@HOST/DATABASE)".into());
    }
    let path = url.path().strip_prefix('/').unwrap_or(url.path());
    let dbname = decode(path, "database name")?;
    if dbname.contains('/') {
        return Err(format!("database {dbname:?}: a database name has no '/'"));
    }
    // libpq's default: the database named after the user.
    let dbname = if dbname.is_empty() {
        user.clone()
    } else {
        dbname
    };
    if url.fragment().is_some() {
        return Err("has a #fragment; remove it".into());
    }

    let mut endpoint = Endpoint {
        host: host.to_owned(),
        hostaddr: None,
        port: url.port().unwrap_or(5432),
        user,
        dbname,
        tls: TlsMode::default(),
        root_cert: None,
        connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        application_name: "newswatch".to_owned(),
    };
    let mut seen: Vec<String> = Vec::new();
    for (key, value) in url.query_pairs() {
        if seen.iter().any(|k| *k == key) {
            return Err(format!("parameter {key} is given twice"));
        }
        seen.push(key.to_string());
        match key.as_ref() {
            "sslmode" => endpoint.tls = TlsMode::parse(&value)?,
            "sslrootcert" if value.is_empty() => return Err("sslrootcert is empty".into()),
            "sslrootcert" => endpoint.root_cert = Some(PathBuf::from(value.as_ref())),
            "hostaddr" => {
                let ip = value
                    .parse::<IpAddr>()
                    .map_err(|_| format!("hostaddr {value:?} is not an IP address"))?;
                endpoint.hostaddr = Some(ip);
            }
            "connect_timeout" => {
                let secs = value
                    .parse::<u64>()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| {
                        format!("connect_timeout {value:?}: expected whole seconds > 0")
                    })?;
                endpoint.connect_timeout = Duration::from_secs(secs);
            }
            "application_name" => endpoint.application_name = value.into_owned(),
            other => {
                return Err(format!(
                    "unknown parameter {other:?} (newswatch reads {})",
                    URL_PARAMETERS.join(", ")
                ));
            }
        }
    }
    match endpoint.tls {
        TlsMode::VerifyCa if endpoint.root_cert.is_none() => {
            return Err("sslmode=verify-ca needs sslrootcert=PATH (the CA that signed the server's certificate)".into());
        }
        TlsMode::Disable if endpoint.root_cert.is_some() => {
            return Err("sslrootcert is given but sslmode=disable turns TLS off".into());
        }
        _ => {}
    }
    Ok(endpoint)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url_error(url: &str) -> String {
        match SinkSettings::postgres("archive", url, None, None) {
            Ok(s) => panic!("{url} accepted: {s:?}"),
            Err(SettingsError::Url(reason)) => reason,
            Err(other) => panic!("{url}: wrong error {other:?}"),
        }
    }

    fn endpoint(url: &str) -> Endpoint {
        match SinkSettings::postgres("archive", url, None, None) {
            Ok(s) => s.endpoint().clone(),
            Err(e) => panic!("{url} refused: {e}"),
        }
    }

    #[test]
    fn reads_a_libpq_url() {
        let e = endpoint(
            "postgres://news%20watch@db.example:6543/archive?sslmode=verify-full&application_name=nw-1&connect_timeout=3",
        );
        assert_eq!(e.host, "db.example");
        assert_eq!(e.port, 6543);
        assert_eq!(e.user, "news watch");
        assert_eq!(e.dbname, "archive");
        assert_eq!(e.tls, TlsMode::VerifyFull);
        assert_eq!(e.application_name, "nw-1");
        assert_eq!(e.connect_timeout, Duration::from_secs(3));
        assert!(!e.is_loopback());
    }

    #[test]
    fn defaults_follow_libpq() {
        let e = endpoint("postgresql://newswatch@127.0.0.1");
        assert_eq!(e.port, 5432);
        assert_eq!(
            e.dbname, "newswatch",
            "database defaults to the user's name"
        );
        assert_eq!(e.tls, TlsMode::Prefer);
        assert!(e.is_loopback());
        assert!(endpoint("postgres://u@[::1]:5433/d").is_loopback());
        assert!(endpoint("postgres://u@localhost/d").is_loopback());
        let e = endpoint("postgres://u@db.example/d?hostaddr=127.0.0.1");
        assert!(e.is_loopback(), "the address connected to decides");
    }

    #[test]
    fn tls_modes_are_read_and_checked() {
        for (mode, want) in [
            ("disable", TlsMode::Disable),
            ("prefer", TlsMode::Prefer),
            ("require", TlsMode::Require),
            ("verify-full", TlsMode::VerifyFull),
        ] {
            assert_eq!(
                endpoint(&format!("postgres://u@h/d?sslmode={mode}")).tls,
                want
            );
        }
        let e = endpoint("postgres://u@h/d?sslmode=verify-ca&sslrootcert=/etc/ca.pem");
        assert_eq!(e.tls, TlsMode::VerifyCa);
        assert_eq!(e.root_cert, Some(PathBuf::from("/etc/ca.pem")));
        assert!(url_error("postgres://u@h/d?sslmode=verify-ca").contains("sslrootcert"));
        assert!(url_error("postgres://u@h/d?sslmode=allow").contains("not supported"));
        assert!(url_error("postgres://u@h/d?sslmode=REQUIRE").contains("not supported"));
        assert!(
            url_error("postgres://u@h/d?sslmode=disable&sslrootcert=/ca.pem").contains("disable")
        );
    }

    #[test]
    fn refuses_bad_urls_naming_the_problem() {
        assert!(url_error("mysql://u@h/d").contains("scheme"));
        assert!(url_error("postgres:///d").contains("no host"));
        assert!(url_error("postgres://h/d").contains("no user"));
        assert!(url_error("postgres://u@h/d/e").contains("'/'"));
        assert!(
            url_error("postgres://u@h/d?sslmod=require").contains("unknown parameter \"sslmod\"")
        );
        assert!(url_error("postgres://u@h/d?sslmode=require&sslmode=disable").contains("twice"));
        assert!(url_error("postgres://u@h/d?connect_timeout=0").contains("connect_timeout"));
        assert!(url_error("postgres://u@h/d?hostaddr=db").contains("hostaddr"));
        assert!(url_error("postgres://u@h1,h2/d").contains("one TCP host"));
        assert!(url_error("postgres://u@%2Fvar%2Frun/d").contains("Unix sockets"));
        assert!(url_error("not a url").contains("not a URL"));
    }

    #[test]
    fn a_password_in_the_url_is_refused_without_echoing_it() {
        let reason = url_error("postgres://u:hunter2secret@h/d");
        assert!(reason.contains("password"), "{reason}");
        assert!(!reason.contains("hunter2secret"), "{reason}");
    }

    #[test]
    fn the_password_never_prints() {
        let s = SinkSettings::postgres(
            "archive",
            "postgres://u@h/d",
            Some(Password::new("hunter2secret")),
            None,
        )
        .expect("valid");
        let shown = format!("{s:?} {:#?}", s);
        assert!(!shown.contains("hunter2secret"), "{shown}");
        assert!(shown.contains("Password(…)"));
        assert!(s.has_password());
    }

    #[test]
    fn schema_names_are_plain_lower_case() {
        let ok = SinkSettings::postgres("a", "postgres://u@h/d", None, Some("newswatch_2"));
        assert_eq!(ok.map(|s| s.schema().to_owned()), Ok("newswatch_2".into()));
        let default = SinkSettings::postgres("a", "postgres://u@h/d", None, None);
        assert_eq!(default.map(|s| s.schema().to_owned()), Ok("public".into()));
        for bad in [
            "Archive",
            "",
            "1st",
            "a-b",
            "pg_news",
            "a\"b",
            &"x".repeat(64),
        ] {
            let r = SinkSettings::postgres("a", "postgres://u@h/d", None, Some(bad));
            assert!(matches!(r, Err(SettingsError::Schema { .. })), "{bad:?}");
        }
    }

    #[test]
    fn instance_names_are_host_name_like() {
        for good in ["wuhan-1", "nw.example.cn", "a_b", &"x".repeat(63)] {
            assert_eq!(check_instance(good), Ok(()), "{good:?}");
        }
        for bad in ["", "a b", "武汉", "a/b", &"x".repeat(64)] {
            assert!(check_instance(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_map_to_password_variables() {
        assert_eq!(password_env("team-pg"), "NEWSWATCH_SINK_TEAM_PG_PASSWORD");
        for bad in ["", "a b", "库", "a.b"] {
            let r = SinkSettings::postgres(bad, "postgres://u@h/d", None, None);
            assert!(matches!(r, Err(SettingsError::Name(_))), "{bad:?}");
        }
    }
}
