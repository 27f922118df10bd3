//! The PostgreSQL sink: one connection, opened on first use and again after any failure, the
//! schema migrated on each opening, and each batch written by one statement.
//!
//! A batch goes in as twelve arrays (`INSERT … SELECT * FROM unnest($1, …, $12)`): one round
//! trip and one statement whatever the batch size, so it commits or fails as a whole. COPY into
//! a temporary table and `INSERT … SELECT` measured no faster at these batch sizes and needs
//! three statements and a transaction (see docs/sink.md).

use super::migrations::{self, MigrateError, SCHEMA_VERSION, quote_ident};
use super::settings::{SinkSettings, TlsMode};
use super::{Delivered, Sink, SinkError, SinkRow, tls};
use chrono::{DateTime, NaiveDate, Utc};
use std::borrow::Cow;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio_postgres::config::SslMode;
use tokio_postgres::types::Json;
use tokio_postgres::{Client, Statement};

/// A PostgreSQL database that stored revisions are delivered to.
pub struct PostgresSink {
    settings: SinkSettings,
    /// `None` until first used and after a failure; a delivery holds it for its whole run, so
    /// deliveries through one sink never interleave.
    connection: Mutex<Option<Connection>>,
}

struct Connection {
    client: Client,
    insert: Statement,
}

impl PostgresSink {
    /// A sink for `settings`. Connects only when first used, so a database that is down at
    /// start-up delays delivery, not the daemon.
    pub fn new(settings: SinkSettings) -> PostgresSink {
        PostgresSink {
            settings,
            connection: Mutex::new(None),
        }
    }

    pub fn settings(&self) -> &SinkSettings {
        &self.settings
    }

    /// Connects now, if not connected, and brings the schema up to date (a delivery does this
    /// by itself): for checking a sink at start-up or before a backfill.
    pub async fn migrate(&self) -> Result<(), SinkError> {
        let mut slot = self.connection.lock().await;
        if slot.is_some() {
            return Ok(());
        }
        let opened = tokio::time::timeout(self.settings.timeout(), self.open()).await;
        *slot = Some(opened.map_err(|_| self.timed_out())??);
        Ok(())
    }

    async fn open(&self) -> Result<Connection, SinkError> {
        let endpoint = self.settings.endpoint();
        let mut config = tokio_postgres::Config::new();
        config
            .host(&endpoint.host)
            .port(endpoint.port)
            .user(&endpoint.user)
            .dbname(&endpoint.dbname)
            .application_name(&endpoint.application_name)
            .connect_timeout(endpoint.connect_timeout)
            // The two-hour default would leave a dead peer unnoticed for most of a day's crawls.
            .keepalives_idle(Duration::from_secs(60))
            .ssl_mode(match endpoint.tls {
                TlsMode::Disable => SslMode::Disable,
                TlsMode::Prefer if endpoint.is_loopback() => SslMode::Disable,
                TlsMode::Prefer => SslMode::Prefer,
                TlsMode::Require | TlsMode::VerifyCa | TlsMode::VerifyFull => SslMode::Require,
            });
        if let Some(ip) = endpoint.hostaddr {
            config.hostaddr(ip);
        }
        if let Some(password) = self.settings.password() {
            config.password(password.expose());
        }
        let connector = tls::connector(endpoint).map_err(|reason| SinkError::Tls {
            sink: self.name().to_owned(),
            reason,
        })?;
        let (mut client, connection) = config
            .connect(connector)
            .await
            .map_err(|e| classify(self.name(), &e))?;
        let sink = self.name().to_owned();
        tokio::spawn(async move {
            // Ends when the client is dropped, or with the error the next query also reports.
            if let Err(e) = connection.await {
                tracing::debug!(sink, error = %e, "sink connection closed");
            }
        });
        let schema = self.settings.schema();
        match migrations::migrate(&mut client, schema).await {
            Ok(_) => {}
            Err(MigrateError::Database(e)) => return Err(classify(self.name(), &e)),
            Err(MigrateError::Newer { found }) => {
                return Err(SinkError::NewerSchema {
                    sink: self.name().to_owned(),
                    schema: schema.to_owned(),
                    found,
                    known: SCHEMA_VERSION,
                });
            }
        }
        let insert = client
            .prepare(&insert_sql(schema))
            .await
            .map_err(|e| classify(self.name(), &e))?;
        tracing::info!(
            sink = self.name(),
            url = self.settings.url(),
            "sink connected"
        );
        Ok(Connection { client, insert })
    }

    fn timed_out(&self) -> SinkError {
        SinkError::Unavailable {
            sink: self.name().to_owned(),
            reason: format!(
                "no answer within {} s",
                self.settings.timeout().as_secs_f64()
            ),
        }
    }

    async fn deliver_batch(
        &self,
        slot: &mut Option<Connection>,
        batch: &Batch<'_>,
    ) -> Result<Delivered, SinkError> {
        // Taken out, and put back only after a success: any failure means a fresh connection
        // (and a fresh migration check) next time.
        let (connection, kept) = match slot.take() {
            Some(c) => (c, true),
            None => (self.open().await?, false),
        };
        let delivered = match self.insert(&connection, batch).await {
            // A connection kept from an earlier batch may have been cut since (a server
            // restart, an idle timeout in a proxy): one fresh try before reporting an outage.
            // Safe because the insert is idempotent.
            Err(e) if kept && e.is_unavailable() => {
                drop(connection);
                let connection = self.open().await?;
                let delivered = self.insert(&connection, batch).await?;
                *slot = Some(connection);
                return Ok(delivered);
            }
            other => other?,
        };
        *slot = Some(connection);
        Ok(delivered)
    }

    async fn insert(
        &self,
        connection: &Connection,
        batch: &Batch<'_>,
    ) -> Result<Delivered, SinkError> {
        let rows = connection
            .client
            .query(
                &connection.insert,
                &[
                    &batch.ids,
                    &batch.revisions,
                    &batch.titles,
                    &batch.bodies,
                    &batch.dates,
                    &batch.urls,
                    &batch.sources,
                    &batch.fetched_at,
                    &batch.revised_at,
                    &batch.hashes,
                    &batch.signals,
                    &batch.instances,
                ],
            )
            .await
            .map_err(|e| classify(self.name(), &e))?;
        let mut inserted = 0;
        for row in &rows {
            let fresh: bool = row.try_get(0).map_err(|e| classify(self.name(), &e))?;
            inserted += usize::from(fresh);
        }
        Ok(Delivered {
            inserted,
            duplicates: batch.sent - inserted + batch.folded,
        })
    }
}

impl Sink for PostgresSink {
    fn name(&self) -> &str {
        self.settings.name()
    }

    async fn deliver(&self, rows: &[SinkRow]) -> Result<Delivered, SinkError> {
        if rows.is_empty() {
            return Ok(Delivered::default());
        }
        let batch = Batch::new(rows).map_err(|reason| SinkError::Refused {
            sink: self.name().to_owned(),
            reason,
        })?;
        let mut slot = self.connection.lock().await;
        let started = std::time::Instant::now();
        let result = tokio::time::timeout(
            self.settings.timeout(),
            self.deliver_batch(&mut slot, &batch),
        )
        .await
        .unwrap_or_else(|_| Err(self.timed_out()));
        match &result {
            Ok(d) => tracing::debug!(
                sink = self.name(),
                rows = rows.len(),
                inserted = d.inserted,
                duplicates = d.duplicates,
                ms = started.elapsed().as_millis() as u64,
                "sink batch delivered"
            ),
            // The caller decides when to retry and reports the error; logged here only for
            // tracing a batch.
            Err(e) => tracing::debug!(rows = rows.len(), error = %e, "sink batch not delivered"),
        }
        result
    }
}

/// The insert. A text already present is left alone — unless the same article (instance, id)
/// came back to it in a later revision (an edit undone): then the row moves to that revision,
/// so `latest_articles` shows the text the page has now. Returns one row per row written, true
/// for an insert.
fn insert_sql(schema: &str) -> String {
    let s = quote_ident(schema);
    format!(
        "INSERT INTO {s}.articles AS a
            (id, revision, title, body, date, url, source, fetched_at, revised_at, hash, signals, instance)
         SELECT * FROM unnest($1::int8[], $2::int4[], $3::text[], $4::text[], $5::date[], $6::text[],
                              $7::text[], $8::timestamptz[], $9::timestamptz[], $10::text[],
                              $11::jsonb[], $12::text[])
         ON CONFLICT (hash) DO UPDATE SET
            revision = excluded.revision, title = excluded.title, body = excluded.body,
            date = excluded.date, url = excluded.url, source = excluded.source,
            revised_at = excluded.revised_at, signals = excluded.signals
         WHERE a.instance = excluded.instance AND a.id = excluded.id
           AND a.revision < excluded.revision
         RETURNING (xmax = 0)"
    )
}

/// Rows as the insert's parameter arrays.
struct Batch<'a> {
    ids: Vec<i64>,
    revisions: Vec<i32>,
    titles: Vec<Cow<'a, str>>,
    bodies: Vec<Cow<'a, str>>,
    dates: Vec<NaiveDate>,
    urls: Vec<Option<Cow<'a, str>>>,
    sources: Vec<Cow<'a, str>>,
    fetched_at: Vec<DateTime<Utc>>,
    revised_at: Vec<Option<DateTime<Utc>>>,
    hashes: Vec<String>,
    signals: Vec<Option<Json<Cow<'a, serde_json::Value>>>>,
    instances: Vec<Cow<'a, str>>,
    /// Rows sent.
    sent: usize,
    /// Rows left out because the batch holds their text twice.
    folded: usize,
}

impl<'a> Batch<'a> {
    fn new(rows: &'a [SinkRow]) -> Result<Batch<'a>, String> {
        let kept = fold_repeated_texts(rows);
        let n = kept.len();
        let mut b = Batch {
            ids: Vec::with_capacity(n),
            revisions: Vec::with_capacity(n),
            titles: Vec::with_capacity(n),
            bodies: Vec::with_capacity(n),
            dates: Vec::with_capacity(n),
            urls: Vec::with_capacity(n),
            sources: Vec::with_capacity(n),
            fetched_at: Vec::with_capacity(n),
            revised_at: Vec::with_capacity(n),
            hashes: Vec::with_capacity(n),
            signals: Vec::with_capacity(n),
            instances: Vec::with_capacity(n),
            sent: n,
            folded: rows.len() - n,
        };
        for row in kept {
            let id = i64::try_from(row.id)
                .map_err(|_| format!("article id {} does not fit a bigint", row.id))?;
            let revision = i32::try_from(row.revision).map_err(|_| {
                format!(
                    "article {} revision {} does not fit an integer",
                    row.id, row.revision
                )
            })?;
            b.ids.push(id);
            b.revisions.push(revision);
            b.titles.push(text(&row.title));
            b.bodies.push(text(&row.body));
            b.dates.push(row.date);
            b.urls.push(row.url.as_deref().map(text));
            b.sources.push(text(&row.source));
            b.fetched_at.push(row.fetched_at);
            b.revised_at.push(row.revised_at);
            b.hashes.push(row.hash.to_string());
            b.signals.push(row.signals.as_ref().map(|v| Json(json(v))));
            b.instances.push(text(&row.instance));
        }
        Ok(b)
    }
}

/// The rows to send, each text once. A batch holding one hash twice would make the statement
/// fail (ON CONFLICT DO UPDATE may not touch a row twice); the row kept is the one the database
/// would end with had they come one by one: the first, or a later revision of the same article.
fn fold_repeated_texts(rows: &[SinkRow]) -> Vec<&SinkRow> {
    let mut kept: Vec<&SinkRow> = Vec::with_capacity(rows.len());
    let mut at: HashMap<&[u8; 32], usize> = HashMap::with_capacity(rows.len());
    for row in rows {
        match at.get(row.hash.as_bytes()) {
            None => {
                at.insert(row.hash.as_bytes(), kept.len());
                kept.push(row);
            }
            Some(&i) => {
                let first = kept[i];
                if first.instance == row.instance
                    && first.id == row.id
                    && first.revision < row.revision
                {
                    kept[i] = row;
                }
            }
        }
    }
    kept
}

/// PostgreSQL text cannot hold NUL; an archive line can. U+FFFD marks where it was (the hash,
/// computed from the stored text, is unchanged).
fn text(s: &str) -> Cow<'_, str> {
    if s.contains('\0') {
        Cow::Owned(s.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// jsonb refuses `\u0000` in strings and keys, as text refuses NUL.
fn json(v: &serde_json::Value) -> Cow<'_, serde_json::Value> {
    fn has_nul(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::String(s) => s.contains('\0'),
            serde_json::Value::Array(a) => a.iter().any(has_nul),
            serde_json::Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
            _ => false,
        }
    }
    fn clean(v: &serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::String(s) => serde_json::Value::String(text(s).into_owned()),
            serde_json::Value::Array(a) => a.iter().map(clean).collect(),
            serde_json::Value::Object(o) => o
                .iter()
                .map(|(k, v)| (text(k).into_owned(), clean(v)))
                .collect(),
            other => other.clone(),
        }
    }
    if has_nul(v) {
        Cow::Owned(clean(v))
    } else {
        Cow::Borrowed(v)
    }
}

/// Sorts a driver error into what the caller should do about it.
fn classify(sink: &str, e: &tokio_postgres::Error) -> SinkError {
    let sink = sink.to_owned();
    let reason = crate::error_chain(e);
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        return match code {
            // Connection exceptions, insufficient resources, operator intervention (shutdown,
            // cancelled by a timeout), server-side I/O, serialization and deadlock aborts, and a
            // server that became a read-only standby after a failover.
            c if c.starts_with("08")
                || c.starts_with("53")
                || c.starts_with("57")
                || c.starts_with("58")
                || c.starts_with("40")
                || c == "25006" =>
            {
                SinkError::Unavailable { sink, reason }
            }
            c if c.starts_with("28") => SinkError::Credentials { sink, reason },
            "42501" => SinkError::Permission { sink, reason },
            _ => SinkError::Refused { sink, reason },
        };
    }
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cause {
        if err.is::<rustls::Error>() {
            return SinkError::Tls { sink, reason };
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            // tokio-rustls reports handshake failures as I/O errors carrying the rustls error.
            if io
                .get_ref()
                .is_some_and(|inner| inner.is::<rustls::Error>())
            {
                return SinkError::Tls { sink, reason };
            }
            return SinkError::Unavailable { sink, reason };
        }
        cause = err.source();
    }
    // The driver's own error kinds are private; their messages are the only way to tell them.
    if e.is_closed()
        || reason.starts_with("timeout waiting for server")
        || reason.starts_with("error communicating with the server")
        || reason.starts_with("error connecting to server")
    {
        SinkError::Unavailable { sink, reason }
    } else if reason.starts_with("error performing TLS handshake") {
        SinkError::Tls { sink, reason }
    } else if reason.contains("password missing") {
        SinkError::Credentials {
            reason: format!(
                "the server asks for a password and none is set (environment variable {} or password_file)",
                super::password_env(&sink)
            ),
            sink,
        }
    } else if reason.starts_with("authentication error") {
        SinkError::Credentials { sink, reason }
    } else {
        SinkError::Refused { sink, reason }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::article::Article;

    fn row(instance: &str, id: u64, revision: u32, title: &str) -> SinkRow {
        let day = NaiveDate::from_ymd_opt(2025, 7, 2).unwrap_or_default();
        let mut article = Article::new(title, "正文。", day, None, "s", Utc::now());
        article.revision = revision;
        SinkRow::new(instance, id, &article, None)
    }

    #[test]
    fn a_batch_sends_each_text_once() {
        let rows = [
            row("a", 1, 1, "甲"),
            row("b", 7, 1, "甲"),
            row("a", 2, 1, "乙"),
            row("a", 2, 3, "乙"),
            row("a", 2, 2, "乙"),
        ];
        let kept = fold_repeated_texts(&rows);
        assert_eq!(kept.len(), 2);
        assert_eq!(
            (kept[0].instance.as_str(), kept[0].id),
            ("a", 1),
            "first sender wins"
        );
        assert_eq!(
            (kept[1].id, kept[1].revision),
            (2, 3),
            "the article's latest revision wins"
        );
        let batch = Batch::new(&rows).expect("fits");
        assert_eq!((batch.sent, batch.folded), (2, 3));
    }

    #[test]
    fn nul_is_replaced_in_text_and_json() {
        assert_eq!(text("a\0b"), "a\u{FFFD}b");
        assert!(matches!(text("ab"), Cow::Borrowed(_)));
        let v = serde_json::json!({"k\u{0}": ["x\u{0}", 1]});
        assert_eq!(
            *json(&v),
            serde_json::json!({"k\u{FFFD}": ["x\u{FFFD}", 1]})
        );
        let plain = serde_json::json!({"k": 1});
        assert!(matches!(json(&plain), Cow::Borrowed(_)));
    }

    #[test]
    fn ids_beyond_bigint_are_refused_before_sending() {
        let rows = [row("a", u64::MAX, 1, "甲")];
        let reason = Batch::new(&rows).err().unwrap_or_default();
        assert!(reason.contains("does not fit a bigint"), "{reason}");
    }
}
