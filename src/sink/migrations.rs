//! The sink's tables, created and upgraded by newswatch itself.
//!
//! Each migration runs once per schema, recorded in `newswatch_migrations`. All of them run in
//! one transaction holding an advisory lock keyed by the schema, so instances starting together
//! queue behind each other instead of racing on `CREATE TABLE`; the last to get the lock finds
//! nothing left to do. Migrations are only ever appended: an applied one is never edited.

use tokio_postgres::Client;

/// The schema version this build creates and writes.
pub const SCHEMA_VERSION: u32 = 1;

/// First half of the advisory-lock key (`'nw'`); the second is the hash of the schema name.
const LOCK_CLASS: i32 = 0x6e77;

struct Migration {
    version: u32,
    description: &'static str,
    /// SQL with `{s}` standing for the quoted schema name.
    sql: &'static str,
}

const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    description: "articles, latest_articles, indexes on date, source, hash and article",
    sql: r#"
CREATE TABLE {s}.articles (
    id          bigint      NOT NULL,
    revision    integer     NOT NULL,
    title       text        NOT NULL,
    body        text        NOT NULL,
    date        date        NOT NULL,
    url         text,
    source      text        NOT NULL,
    fetched_at  timestamptz NOT NULL,
    revised_at  timestamptz,
    -- Hex digits: byte order is their order, and skips the locale's slow collation.
    hash        text        COLLATE "C" NOT NULL,
    signals     jsonb,
    instance    text        NOT NULL,
    inserted_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT articles_hash_key UNIQUE (hash)
);
COMMENT ON TABLE {s}.articles IS
    'One row per distinct article text stored by a newswatch instance; (instance, id) is the article, hash the text.';
CREATE INDEX articles_date_idx ON {s}.articles (date);
CREATE INDEX articles_source_idx ON {s}.articles (source);
CREATE INDEX articles_article_idx ON {s}.articles (instance, id, revision DESC);
CREATE VIEW {s}.latest_articles AS
    SELECT DISTINCT ON (instance, id) *
    FROM {s}.articles
    ORDER BY instance, id, revision DESC;
COMMENT ON VIEW {s}.latest_articles IS
    'The newest revision of each article (instance, id).';
"#,
}];

/// What went wrong while migrating.
pub(crate) enum MigrateError {
    Database(tokio_postgres::Error),
    /// The schema was migrated by a newer newswatch.
    Newer {
        found: u32,
    },
}

impl From<tokio_postgres::Error> for MigrateError {
    fn from(e: tokio_postgres::Error) -> Self {
        MigrateError::Database(e)
    }
}

/// `name` as a quoted SQL identifier. Settings allow only `[a-z0-9_]` names; quoting anyway
/// keeps a reserved word such as `user` usable.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Brings `schema` to [`SCHEMA_VERSION`]; returns the version found before.
pub(crate) async fn migrate(client: &mut Client, schema: &str) -> Result<u32, MigrateError> {
    let s = quote_ident(schema);
    let tx = client.transaction().await?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext($2))",
        &[&LOCK_CLASS, &schema],
    )
    .await?;
    // `CREATE SCHEMA IF NOT EXISTS` needs the CREATE privilege on the database even when the
    // schema exists, which a role granted only its schema does not have.
    let exists: bool = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
            &[&schema],
        )
        .await?
        .get(0);
    if !exists {
        tx.batch_execute(&format!("CREATE SCHEMA {s}")).await?;
    }
    // Looked up rather than `CREATE TABLE IF NOT EXISTS`, which needs the CREATE privilege on
    // the schema even when the table exists: an instance granted only INSERT and SELECT on
    // tables an administrator set up must get through here.
    let recorded: bool = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                            WHERE n.nspname = $1 AND c.relname = 'newswatch_migrations')",
            &[&schema],
        )
        .await?
        .get(0);
    if !recorded {
        tx.batch_execute(&format!(
            "CREATE TABLE {s}.newswatch_migrations (
                version     integer     PRIMARY KEY,
                description text        NOT NULL,
                applied_at  timestamptz NOT NULL DEFAULT now()
            )"
        ))
        .await?;
    }
    let found: i32 = tx
        .query_one(
            &format!("SELECT coalesce(max(version), 0) FROM {s}.newswatch_migrations"),
            &[],
        )
        .await?
        .get(0);
    let found = u32::try_from(found).unwrap_or(0);
    if found > SCHEMA_VERSION {
        // Not written to: a newer layout may mean something else by the same columns. Rows
        // wait (the caller keeps them) until this instance is upgraded too.
        return Err(MigrateError::Newer { found });
    }
    for m in MIGRATIONS.iter().filter(|m| m.version > found) {
        tx.batch_execute(&m.sql.replace("{s}", &s)).await?;
        let version = m.version as i32;
        tx.execute(
            &format!("INSERT INTO {s}.newswatch_migrations (version, description) VALUES ($1, $2)"),
            &[&version, &m.description],
        )
        .await?;
        tracing::info!(schema, version = m.version, "sink schema migrated");
    }
    tx.commit().await?;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_run_from_one_without_gaps_up_to_the_current() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version as usize, i + 1);
            assert!(
                m.sql.contains("{s}."),
                "migration {} names its schema",
                m.version
            );
        }
        assert_eq!(MIGRATIONS.last().map(|m| m.version), Some(SCHEMA_VERSION));
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("public"), "\"public\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
