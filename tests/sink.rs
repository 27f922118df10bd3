//! The PostgreSQL sink against a real server: a throwaway cluster per test (tests/common/postgres.rs).

mod common;

use chrono::{DateTime, NaiveDate, SubsecRound as _, Utc};
use common::postgres::{Options, Postgres};
use newswatch::article::Article;
use newswatch::sink::{Password, PostgresSink, Sink, SinkError, SinkRow, SinkSettings};
use tokio_postgres::NoTls;

fn sink(url: &str, schema: Option<&str>) -> PostgresSink {
    let settings = SinkSettings::postgres("archive", url, None, schema).expect("valid settings");
    PostgresSink::new(settings)
}

/// Revision `revision` of article `id`, with a text unique to `key`.
fn row(instance: &str, id: u64, revision: u32, key: &str) -> SinkRow {
    let day = NaiveDate::from_ymd_opt(2025, 7, 2).expect("date");
    let mut article = Article::new(
        &format!("硚口区招商引资项目签约 {key}"),
        &format!(
            "武汉市硚口区举行招商引资项目集中签约仪式,共签约项目{key}个。 第二段:优化营商环境。"
        ),
        day,
        Some(format!("https://qiaokou.example.gov.cn/{id}.html")),
        "qiaokou",
        Utc::now(),
    );
    article.revision = revision;
    if revision > 1 {
        article.revised_at = Some(Utc::now());
    }
    SinkRow::new(instance, id, &article, None)
}

async fn client(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .expect("connect for checking");
    tokio::spawn(connection);
    client
}

async fn count(client: &tokio_postgres::Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.expect(sql).get(0)
}

#[tokio::test]
async fn migrations_create_tables_view_and_indexes_once() {
    let Some(pg) = Postgres::start() else { return };
    let url = pg.url("postgres");
    sink(&url, None).migrate().await.expect("first migration");
    // A second instance (a new connection) finds everything in place and changes nothing.
    sink(&url, None).migrate().await.expect("second migration");

    let objects = pg.psql(
        "postgres",
        "SELECT relname || ':' || relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE nspname = 'public' ORDER BY relname",
    );
    for want in [
        "articles:r",
        "latest_articles:v",
        "newswatch_migrations:r",
        "articles_hash_key:i",
        "articles_date_idx:i",
        "articles_source_idx:i",
        "articles_article_idx:i",
    ] {
        assert!(
            objects.lines().any(|l| l == want),
            "{want} missing in:\n{objects}"
        );
    }
    assert_eq!(
        pg.psql("postgres", "SELECT version FROM newswatch_migrations"),
        "1"
    );
    let columns = pg.psql(
        "postgres",
        "SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position)
         FROM information_schema.columns WHERE table_name = 'articles'",
    );
    assert_eq!(
        columns,
        "id bigint, revision integer, title text, body text, date date, url text, source text, \
         fetched_at timestamp with time zone, revised_at timestamp with time zone, hash text, \
         signals jsonb, instance text, inserted_at timestamp with time zone"
    );
}

#[tokio::test]
async fn instances_migrating_at_once_all_succeed_and_leave_one_version() {
    let Some(pg) = Postgres::start() else { return };
    for round in 0..3 {
        let db = format!("race{round}");
        pg.create_database(&db);
        let url = pg.url(&db);
        let sinks: Vec<PostgresSink> = (0..4).map(|_| sink(&url, Some("shared"))).collect();
        let results = futures_util::future::join_all(sinks.iter().map(|s| s.migrate())).await;
        for r in results {
            r.expect("every instance migrates");
        }
        assert_eq!(
            pg.psql(
                &db,
                "SELECT count(*), max(version) FROM shared.newswatch_migrations"
            ),
            "1|1"
        );
    }
}

#[tokio::test]
async fn delivered_rows_equal_the_input_and_a_retry_adds_none() {
    let Some(pg) = Postgres::start() else { return };
    let url = pg.url("postgres");
    let s = sink(&url, None);
    let mut rows: Vec<SinkRow> = (0..50)
        .map(|i| row("wuhan-1", i, 1, &i.to_string()))
        .collect();
    rows[3].url = None; // an archive import
    rows[4].revision = 2;
    rows[4].revised_at = Some(Utc::now());
    rows[5].signals =
        Some(serde_json::json!({"amount_yuan": 1.5e9, "parties": ["光谷", "某公司"]}));
    rows[6].body.push_str(" 控制字符\0在此"); // PostgreSQL text cannot hold NUL

    let first = s.deliver(&rows).await.expect("delivered");
    assert_eq!((first.inserted, first.duplicates), (50, 0));

    let db = client(&url).await;
    let stored = db
        .query(
            "SELECT id, revision, title, body, date, url, source, fetched_at, revised_at, hash,
                    signals, instance
             FROM articles ORDER BY id",
            &[],
        )
        .await
        .expect("read back");
    assert_eq!(stored.len(), rows.len());
    for (got, want) in stored.iter().zip(&rows) {
        assert_eq!(got.get::<_, i64>("id") as u64, want.id);
        assert_eq!(got.get::<_, i32>("revision") as u32, want.revision);
        assert_eq!(got.get::<_, String>("title"), want.title);
        let body = want.body.replace('\0', "\u{FFFD}");
        assert_eq!(got.get::<_, String>("body"), body);
        assert_eq!(got.get::<_, NaiveDate>("date"), want.date);
        assert_eq!(got.get::<_, Option<String>>("url"), want.url);
        assert_eq!(got.get::<_, String>("source"), want.source);
        // timestamptz keeps microseconds.
        assert_eq!(
            got.get::<_, DateTime<Utc>>("fetched_at"),
            want.fetched_at.trunc_subsecs(6)
        );
        assert_eq!(
            got.get::<_, Option<DateTime<Utc>>>("revised_at"),
            want.revised_at.map(|t| t.trunc_subsecs(6))
        );
        assert_eq!(got.get::<_, String>("hash"), want.hash.to_string());
        assert_eq!(
            got.get::<_, Option<serde_json::Value>>("signals"),
            want.signals
        );
        assert_eq!(got.get::<_, String>("instance"), want.instance);
    }

    // A retry of the whole batch (the answer was lost, the process crashed) and a batch that
    // overlaps it: nothing twice.
    let again = s.deliver(&rows).await.expect("redelivered");
    assert_eq!((again.inserted, again.duplicates), (0, 50));
    let mut overlapping: Vec<SinkRow> = rows[40..].to_vec();
    overlapping.extend((50..60).map(|i| row("wuhan-1", i, 1, &i.to_string())));
    let third = sink(&url, None)
        .deliver(&overlapping)
        .await
        .expect("delivered");
    assert_eq!((third.inserted, third.duplicates), (10, 10));
    assert_eq!(count(&db, "SELECT count(*) FROM articles").await, 60);
}

#[tokio::test]
async fn two_instances_storing_one_text_make_one_row() {
    let Some(pg) = Postgres::start() else { return };
    let url = pg.url("postgres");
    let a = sink(&url, None);
    let b = sink(&url, None);
    // Instance b holds the same press release (same text, other id and URL) plus its own.
    let from_a: Vec<SinkRow> = (0..5).map(|i| row("a", i, 1, &format!("a{i}"))).collect();
    let mut shared = row("b", 100, 1, "a2");
    shared.url = Some("https://other-portal.example/p.html".into());
    let from_b = vec![shared, row("b", 101, 1, "b1")];

    let (da, db_) = tokio::join!(a.deliver(&from_a), async {
        // Both orders must end the same; let a go first most of the time.
        tokio::task::yield_now().await;
        b.deliver(&from_b).await
    });
    let (da, db_) = (da.expect("a"), db_.expect("b"));
    assert_eq!(da.inserted + db_.inserted, 6);
    assert_eq!(da.duplicates + db_.duplicates, 1);

    let db = client(&url).await;
    assert_eq!(count(&db, "SELECT count(*) FROM articles").await, 6);
    assert_eq!(
        count(&db, "SELECT count(*) FROM latest_articles").await,
        6,
        "each article once in the view"
    );
    let owners = count(
        &db,
        &format!(
            "SELECT count(*) FROM articles WHERE hash = '{}'",
            from_a[2].hash
        ),
    )
    .await;
    assert_eq!(owners, 1);
}

#[tokio::test]
async fn latest_articles_shows_each_articles_newest_text_even_after_an_edit_is_undone() {
    let Some(pg) = Postgres::start() else { return };
    let url = pg.url("postgres");
    let s = sink(&url, None);
    let first = row("a", 7, 1, "原文");
    let edited = row("a", 7, 2, "改后");
    let mut undone = row("a", 7, 3, "原文"); // the page went back to its first text
    undone.url = first.url.clone();
    let other_instance_same_id = row("b", 7, 1, "别处");

    s.deliver(&[first.clone(), other_instance_same_id])
        .await
        .expect("delivered");
    s.deliver(std::slice::from_ref(&edited))
        .await
        .expect("delivered");
    let db = client(&url).await;
    let latest = |instance: &'static str| {
        let db = &db;
        async move {
            let r = db
                .query_one(
                    "SELECT revision, title FROM latest_articles WHERE instance = $1 AND id = 7",
                    &[&instance],
                )
                .await
                .expect("one latest row");
            (r.get::<_, i32>(0), r.get::<_, String>(1))
        }
    };
    assert_eq!(latest("a").await, (2, edited.title.clone()));
    assert_eq!(
        latest("b").await.0,
        1,
        "ids are per instance: b's article 7 is another"
    );

    let d = s
        .deliver(std::slice::from_ref(&undone))
        .await
        .expect("delivered");
    assert_eq!(
        (d.inserted, d.duplicates),
        (0, 1),
        "the text is there already"
    );
    assert_eq!(latest("a").await, (3, first.title.clone()));
    assert_eq!(count(&db, "SELECT count(*) FROM articles").await, 3);

    // A late retry of revision 1 does not move the row back.
    s.deliver(&[first.clone(), edited.clone()])
        .await
        .expect("delivered");
    assert_eq!(latest("a").await, (3, first.title));
}

#[tokio::test]
async fn an_outage_is_reported_as_unavailable_and_delivery_resumes_after_it() {
    let Some(mut pg) = Postgres::start() else {
        return;
    };
    let url = pg.url("postgres");
    let s = sink(&url, None);
    let before: Vec<SinkRow> = (0..10).map(|i| row("a", i, 1, &i.to_string())).collect();
    let during: Vec<SinkRow> = (10..20).map(|i| row("a", i, 1, &i.to_string())).collect();
    s.deliver(&before).await.expect("delivered while up");

    // A restart between two batches (maintenance) is not an outage: the connection kept from
    // the first batch is dead, a fresh one is made at once.
    pg.stop();
    pg.start_again();
    let d = s.deliver(&before).await.expect("delivered after a restart");
    assert_eq!((d.inserted, d.duplicates), (0, 10));

    pg.stop();
    // The open connection was cut, and a sink that never connected cannot connect.
    for attempt in [&s, &sink(&url, None)] {
        let err = attempt.deliver(&during).await.expect_err("server is down");
        assert!(err.is_unavailable(), "{err:?}");
        assert!(
            err.to_string()
                .starts_with("sink archive: database unavailable"),
            "{err}"
        );
    }

    pg.start_again();
    let d = s
        .deliver(&during)
        .await
        .expect("delivered after the outage");
    assert_eq!((d.inserted, d.duplicates), (10, 0));
    let db = client(&url).await;
    assert_eq!(count(&db, "SELECT count(*) FROM articles").await, 20);
}

#[tokio::test]
async fn a_custom_schema_holds_everything_and_setup_errors_are_permanent() {
    let Some(pg) = Postgres::start() else { return };
    let url = pg.url("postgres");
    let s = sink(&url, Some("newswatch_archive"));
    let d = s
        .deliver(&[row("a", 1, 1, "x"), row("a", 2, 1, "y")])
        .await
        .expect("delivered");
    assert_eq!(d.inserted, 2);
    assert_eq!(
        pg.psql(
            "postgres",
            "SELECT count(*) FROM newswatch_archive.latest_articles"
        ),
        "2"
    );
    assert_eq!(
        pg.psql(
            "postgres",
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE '%articles'"
        ),
        "0",
        "nothing in public"
    );

    // A database that does not exist: an operator must act, waiting will not help.
    let err = sink(&pg.url("no_such_db"), None)
        .deliver(&[row("a", 1, 1, "x")])
        .await
        .expect_err("no database");
    assert!(matches!(err, SinkError::Refused { .. }), "{err:?}");
    assert!(err.to_string().contains("no_such_db"), "{err}");

    // A role that may not create the schema.
    pg.psql("postgres", "CREATE ROLE reader LOGIN");
    let reader_url = format!(
        "postgres://reader@127.0.0.1:{}/postgres?sslmode=disable",
        pg.port
    );
    let err = sink(&reader_url, Some("reader_archive"))
        .migrate()
        .await
        .expect_err("no CREATE privilege");
    assert!(matches!(err, SinkError::Permission { .. }), "{err:?}");
    // Granted the schema's tables but not INSERT: still a permission problem, at delivery.
    pg.psql(
        "postgres",
        "GRANT USAGE ON SCHEMA newswatch_archive TO reader; \
         GRANT SELECT ON ALL TABLES IN SCHEMA newswatch_archive TO reader",
    );
    let err = sink(&reader_url, Some("newswatch_archive"))
        .deliver(&[row("a", 3, 1, "z")])
        .await
        .expect_err("no INSERT privilege");
    assert!(matches!(err, SinkError::Permission { .. }), "{err:?}");
    // What docs/sink.md tells administrators to grant is enough, without CREATE anywhere.
    pg.psql(
        "postgres",
        "GRANT INSERT, UPDATE ON ALL TABLES IN SCHEMA newswatch_archive TO reader",
    );
    let d = sink(&reader_url, Some("newswatch_archive"))
        .deliver(&[row("a", 3, 1, "z"), row("a", 1, 1, "x")])
        .await
        .expect("least privilege suffices");
    assert_eq!((d.inserted, d.duplicates), (1, 1));

    // TLS demanded from a server without it.
    let tls_url = url.replace("sslmode=disable", "sslmode=require");
    let err = sink(&tls_url, None).migrate().await.expect_err("no TLS");
    assert!(matches!(err, SinkError::Tls { .. }), "{err:?}");

    // A newer newswatch migrated this schema: this one keeps its hands off.
    pg.psql(
        "postgres",
        "INSERT INTO newswatch_archive.newswatch_migrations (version, description) VALUES (2, 'future')",
    );
    let err = sink(&url, Some("newswatch_archive"))
        .deliver(&[row("a", 4, 1, "w")])
        .await
        .expect_err("newer schema");
    assert!(
        matches!(err, SinkError::NewerSchema { found: 2, .. }),
        "{err:?}"
    );
    assert!(!err.is_unavailable());
}

#[tokio::test]
async fn a_wrong_password_is_refused_as_credentials_and_never_shown() {
    let Some(pg) = Postgres::start() else { return };
    pg.psql(
        "postgres",
        "CREATE ROLE writer LOGIN PASSWORD 'correct horse battery' IN ROLE password_users; \
         GRANT CREATE ON DATABASE postgres TO writer",
    );
    let url = format!(
        "postgres://writer@127.0.0.1:{}/postgres?sslmode=disable",
        pg.port
    );
    let with = |password: Option<&str>| {
        let settings =
            SinkSettings::postgres("team-pg", &url, password.map(Password::new), Some("team"))
                .expect("valid");
        assert!(
            !format!("{settings:?}").contains("horse"),
            "settings print no password"
        );
        PostgresSink::new(settings)
    };

    for wrong in [Some("hunter2-wrong-horse"), None] {
        let err = with(wrong)
            .deliver(&[row("a", 1, 1, "x")])
            .await
            .expect_err("login refused");
        assert!(matches!(err, SinkError::Credentials { .. }), "{err:?}");
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("horse"), "password leaked: {shown}");
    }
    let d = with(Some("correct horse battery"))
        .deliver(&[row("a", 1, 1, "x")])
        .await
        .expect("the right password works");
    assert_eq!(d.inserted, 1);
}

#[tokio::test]
async fn tls_modes_connect_or_refuse_as_libpq_does() {
    let Some(pg) = Postgres::start_with(Options {
        tls: true,
        durable: false,
    }) else {
        return;
    };
    let ca = pg.ca_cert();
    let ca = ca.display();
    let port = pg.port;
    // The server's certificate names `localhost` only and is signed by the test CA.
    let cases: [(&str, String, Option<bool>); 7] = [
        (
            "plain",
            format!("127.0.0.1:{port}/postgres?sslmode=disable"),
            Some(false),
        ),
        (
            "any-cert",
            format!("127.0.0.1:{port}/postgres?sslmode=require"),
            Some(true),
        ),
        (
            "ca-any-name",
            format!("127.0.0.1:{port}/postgres?sslmode=verify-ca&sslrootcert={ca}"),
            Some(true),
        ),
        (
            "full",
            format!(
                "localhost:{port}/postgres?sslmode=verify-full&sslrootcert={ca}&hostaddr=127.0.0.1"
            ),
            Some(true),
        ),
        (
            "full-wrong-name",
            format!("127.0.0.1:{port}/postgres?sslmode=verify-full&sslrootcert={ca}"),
            None,
        ),
        (
            // The system's roots do not know the test CA.
            "full-system-roots",
            format!("localhost:{port}/postgres?sslmode=verify-full&hostaddr=127.0.0.1"),
            None,
        ),
        (
            "require-with-ca",
            format!(
                "localhost:{port}/postgres?sslmode=require&sslrootcert={ca}&hostaddr=127.0.0.1"
            ),
            Some(true),
        ),
    ];
    let sinks: Vec<PostgresSink> = cases
        .iter()
        .map(|(name, rest, _)| {
            sink(
                &format!("postgres://postgres@{rest}&application_name={name}"),
                None,
            )
        })
        .collect();
    for ((name, _, want), s) in cases.iter().zip(&sinks) {
        let result = s.deliver(&[row("a", 1, 1, name)]).await;
        match want {
            Some(encrypted) => {
                result.unwrap_or_else(|e| panic!("{name}: {e}"));
                // The connection stays open; the server says whether it is encrypted.
                let ssl = pg.psql(
                    "postgres",
                    &format!(
                        "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
                         WHERE a.application_name = '{name}'"
                    ),
                );
                assert_eq!(ssl, if *encrypted { "t" } else { "f" }, "{name}");
            }
            None => {
                let err = result.expect_err(name);
                assert!(matches!(err, SinkError::Tls { .. }), "{name}: {err:?}");
            }
        }
    }
    let missing = sink(
        &format!("postgres://postgres@localhost:{port}/postgres?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem"),
        None,
    )
    .migrate()
    .await
    .expect_err("no CA file");
    assert!(matches!(missing, SinkError::Tls { .. }), "{missing:?}");
    assert!(
        missing.to_string().contains("/nonexistent/ca.pem"),
        "{missing}"
    );
}

/// The trait is the seam the outbox is written against.
async fn deliver_in_batches<S: Sink>(sink: &S, rows: &[SinkRow], size: usize) -> (usize, usize) {
    let mut totals = (0, 0);
    for chunk in rows.chunks(size) {
        let d = sink.deliver(chunk).await.expect("delivered");
        totals.0 += d.inserted;
        totals.1 += d.duplicates;
    }
    totals
}

#[tokio::test]
async fn batches_through_the_trait_and_repeated_texts_inside_one_batch() {
    let Some(pg) = Postgres::start() else { return };
    let url = pg.url("postgres");
    let s = sink(&url, None);
    assert_eq!(s.name(), "archive");
    let mut rows: Vec<SinkRow> = (0..25).map(|i| row("a", i, 1, &i.to_string())).collect();
    rows.push(row("a", 3, 1, "3")); // the same text twice in one batch
    assert_eq!(deliver_in_batches(&s, &rows, 26).await, (25, 1));
    assert_eq!(deliver_in_batches(&s, &rows, 7).await, (0, 26));
    assert_eq!(deliver_in_batches(&s, &[], 7).await, (0, 0));
}

#[tokio::test]
async fn a_server_that_never_answers_is_unavailable_after_the_timeout() {
    // Accepts connections and says nothing, like a host behind a dead link: no PostgreSQL
    // needed to play it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let settings = SinkSettings::postgres(
        "archive",
        &format!("postgres://postgres@127.0.0.1:{port}/postgres?sslmode=disable"),
        None,
        None,
    )
    .expect("valid")
    .with_timeout(std::time::Duration::from_millis(500));
    let err = PostgresSink::new(settings)
        .deliver(&[row("a", 1, 1, "x")])
        .await
        .expect_err("no answer");
    assert!(err.is_unavailable(), "{err:?}");
    assert!(err.to_string().contains("no answer within 0.5 s"), "{err}");
    held.abort();
}

// ---------------------------------------------------------------------------------------------
// Delivery from the store: the journal followed into PostgreSQL by `crawl`, `backfill`, the
// daemon and `sink backfill`, through outages and crashes, from one instance or two.

use common::{Site, Workdir, pages, stderr, stdout};
use newswatch::sink::{Deliverer, SinkStates, Start};
use newswatch::store::{Inserted, Store};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// `sources.toml` for an instance named `instance` with sink `archive` at `url`.
fn sink_config(instance: &str, url: &str, settings: &str, sources: &str) -> String {
    format!(
        "[settings]\nstate_dir = \"state\"\nper_host_delay_ms = 0\nrecheck_days = 0\n\
         startup_spread_secs = 0\ninstance = \"{instance}\"\n{settings}\n\n\
         [[sink]]\nname = \"archive\"\nkind = \"postgres\"\nurl = \"{url}\"\n{sources}"
    )
}

/// An article page whose text mentions `key`.
fn article_page(key: &str) -> String {
    pages::article(
        "utf-8",
        &format!("{key}区招商引资项目集中签约"),
        "2025-07-02",
        &[&format!(
            "{key}区举行招商引资项目集中签约仪式，共签约项目12个，总投资超过150亿元。"
        )],
    )
}

/// Serves list page `list` linking `/news/<slug>.html` for each `(slug, district)`, and those
/// articles.
fn serve(site: &Site, list: &str, districts: &[(&str, &str)]) {
    let links: Vec<(String, String)> = districts
        .iter()
        .map(|(slug, name)| (format!("/news/{slug}.html"), name.to_string()))
        .collect();
    site.page(list, "text/html", pages::list("utf-8", &links, None));
    for (slug, name) in districts {
        site.page(
            &format!("/news/{slug}.html"),
            "text/html",
            article_page(name),
        );
    }
}

/// One stored revision, as `export --revisions --format jsonl` writes it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Revision {
    id: i64,
    revision: i32,
    hash: String,
    title: String,
    body: String,
    date: String,
    url: Option<String>,
    source: String,
}

async fn exported(w: &Workdir) -> Vec<Revision> {
    let out = w.run(&["export", "--revisions", "--format", "jsonl"]).await;
    assert!(out.status.success(), "export: {}", stderr(&out));
    let mut revisions: Vec<Revision> = stdout(&out)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
            let text = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
            Revision {
                id: v["id"].as_i64().expect("id"),
                revision: v["revision"].as_i64().expect("revision") as i32,
                hash: text("hash"),
                title: text("title"),
                body: text("body"),
                date: text("date"),
                url: v["url"].as_str().map(str::to_owned),
                source: text("source"),
            }
        })
        .collect();
    revisions.sort();
    revisions
}

/// The rows instance `instance` wrote.
async fn rows_of(db: &tokio_postgres::Client, instance: &str) -> Vec<Revision> {
    let rows = db
        .query(
            "SELECT id, revision, hash, title, body, date::text, url, source FROM articles
             WHERE instance = $1 ORDER BY id, revision",
            &[&instance],
        )
        .await
        .expect("read rows");
    let mut out: Vec<Revision> = rows
        .iter()
        .map(|r| Revision {
            id: r.get(0),
            revision: r.get(1),
            hash: r.get(2),
            title: r.get(3),
            body: r.get(4),
            date: r.get(5),
            url: r.get(6),
            source: r.get(7),
        })
        .collect();
    out.sort();
    out
}

/// `sql`'s count, or 0 while the sink has not created its tables yet.
async fn count_or_zero(db: &tokio_postgres::Client, sql: &str) -> i64 {
    match db.query_one(sql, &[]).await {
        Ok(row) => row.get(0),
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE) => 0,
        Err(e) => panic!("{sql}: {e}"),
    }
}

/// Waits up to `secs` for `sql` (a count) to give `want`; returns the last count.
async fn wait_for_count(db: &tokio_postgres::Client, sql: &str, want: i64, secs: u64) -> i64 {
    let until = Instant::now() + Duration::from_secs(secs);
    loop {
        let n = count_or_zero(db, sql).await;
        if n == want || Instant::now() > until {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn status_json(w: &Workdir) -> serde_json::Value {
    let out = w.run(&["status", "--format", "json"]).await;
    assert!(out.status.success(), "status: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("status JSON")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crawl_delivers_every_stored_revision_once_and_a_recrawl_adds_none() {
    let Some(pg) = Postgres::start() else { return };
    let url = pg.url("postgres");
    let site = Site::start().await;
    serve(
        &site,
        "/news/index.html",
        &[
            ("qiaokou", "硚口"),
            ("hanyang", "汉阳"),
            ("jiangan", "江岸"),
        ],
    );
    // The second reading of one article finds it edited: a second revision.
    site.sequence(
        "/news/hanyang.html",
        vec![
            common::Route::new(200, &[("content-type", "text/html")], article_page("汉阳")),
            common::Route::new(
                200,
                &[("content-type", "text/html")],
                article_page("汉阳").replace("12个", "13个"),
            ),
        ],
    );
    let sources = pages::source(
        "district",
        &site.url("/news/index.html"),
        "recheck_days = 7",
    );
    let w =
        Workdir::raw(&sink_config("wuhan-1", &url, "", &sources).replace("recheck_days = 0\n", ""));

    let first = w.run(&["crawl"]).await;
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stderr(&first).contains("sink archive: 3 rows added, 0 already there"),
        "{}",
        stderr(&first)
    );
    let second = w.run(&["crawl"]).await;
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(stdout(&second).contains("1 updated"), "{}", stdout(&second));

    let db = client(&url).await;
    let stored = exported(&w).await;
    assert_eq!(stored.len(), 4, "three articles, one with two revisions");
    assert_eq!(rows_of(&db, "wuhan-1").await, stored);
    assert_eq!(count(&db, "SELECT count(*) FROM latest_articles").await, 3);
    // The signals stage's findings ride along.
    let amounts = count(
        &db,
        "SELECT count(*) FROM articles WHERE jsonb_array_length(signals->'amounts') > 0",
    )
    .await;
    assert_eq!(amounts, 4, "every text states an amount");

    let before = pg.psql("postgres", "SELECT max(inserted_at) FROM articles");
    let third = w.run(&["crawl"]).await;
    assert!(third.status.success(), "{}", stderr(&third));
    assert!(
        !stderr(&third).contains("rows added"),
        "nothing to deliver: {}",
        stderr(&third)
    );
    assert_eq!(count(&db, "SELECT count(*) FROM articles").await, 4);
    assert_eq!(
        pg.psql("postgres", "SELECT max(inserted_at) FROM articles"),
        before
    );

    let status = status_json(&w).await;
    let sink = &status["sinks"][0];
    assert_eq!(sink["name"], "archive");
    assert_eq!(sink["health"], "ok");
    assert_eq!(sink["pending"], 0);
    assert_eq!(sink["inserted_total"], 4);
    assert!(sink["last_delivery"].is_string(), "{sink}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crawl_while_the_database_is_down_queues_its_rows_and_the_next_run_sends_them_once() {
    let Some(mut pg) = Postgres::start() else {
        return;
    };
    let url = pg.url("postgres");
    let site = Site::start().await;
    serve(
        &site,
        "/news/index.html",
        &[("qiaokou", "硚口"), ("hanyang", "汉阳")],
    );
    let sources = pages::source("district", &site.url("/news/index.html"), "");
    let w = Workdir::raw(&sink_config("wuhan-1", &url, "", &sources));
    assert!(w.run(&["crawl"]).await.status.success());

    pg.stop();
    serve(
        &site,
        "/news/index.html",
        &[
            ("qiaokou", "硚口"),
            ("hanyang", "汉阳"),
            ("jiangan", "江岸"),
            ("wuchang", "武昌"),
        ],
    );
    let started = Instant::now();
    let down = w.run(&["crawl"]).await;
    let took = started.elapsed();
    assert_eq!(down.status.code(), Some(1), "{}", stderr(&down));
    assert!(
        stdout(&down).contains("2 new"),
        "crawling went on: {}",
        stdout(&down)
    );
    let err = stderr(&down);
    assert!(
        err.contains("newswatch: sink archive: database unavailable")
            && err.contains("2 revisions stay queued for the daemon or the next crawl"),
        "{err}"
    );
    assert!(took < Duration::from_secs(60), "bounded wait: {took:?}");

    let status = status_json(&w).await;
    let sink = &status["sinks"][0];
    assert_eq!(sink["health"], "failing", "{sink}");
    assert_eq!(sink["pending"], 2);
    assert_eq!(sink["last_error"]["kind"], "unavailable");
    let text = stdout(&w.run(&["status"]).await);
    assert!(text.contains("FAILING since"), "{text}");
    assert!(text.contains("waiting:              2 revisions"), "{text}");

    pg.start_again();
    let again = w.run(&["crawl"]).await;
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("sink archive: 2 rows added, 0 already there"),
        "{}",
        stderr(&again)
    );
    let db = client(&url).await;
    assert_eq!(rows_of(&db, "wuhan-1").await, exported(&w).await);
    assert_eq!(count(&db, "SELECT count(*) FROM articles").await, 4);
    assert_eq!(status_json(&w).await["sinks"][0]["health"], "ok");
}

/// GET `path` from the daemon's listener: status code and body (0 when it does not answer).
async fn get(port: u16, path: &str) -> (u16, String) {
    let url = format!("http://127.0.0.1:{port}{path}");
    for _ in 0..50 {
        if let Ok(r) = reqwest::get(&url).await {
            let status = r.status().as_u16();
            return (status, r.text().await.unwrap_or_default());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (0, String::new())
}

/// Waits up to `secs` for /metrics to hold `line`.
async fn wait_for_metric(port: u16, line: &str, secs: u64) -> String {
    let until = Instant::now() + Duration::from_secs(secs);
    loop {
        let (_, metrics) = get(port, "/metrics").await;
        if metrics.lines().any(|l| l == line) || Instant::now() > until {
            return metrics;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daemon_delivers_as_it_stores_and_catches_up_after_the_database_returns() {
    let Some(mut pg) = Postgres::start() else {
        return;
    };
    let url = pg.url("postgres");
    let site = Site::start().await;
    serve(&site, "/news/index.html", &[("qiaokou", "硚口")]);
    let port = common::free_port();
    let sources = pages::source("district", &site.url("/news/index.html"), "")
        .replace("0 0 * * *", "*/2 * * * * *");
    let w = Workdir::raw(&sink_config(
        "wuhan-1",
        &url,
        &format!("listen = \"127.0.0.1:{port}\""),
        &sources,
    ));
    let db = client(&url).await;
    let mut daemon = w.daemon(&[]);
    assert_eq!(
        wait_for_count(&db, "SELECT count(*) FROM articles", 1, 30).await,
        1,
        "delivered while running"
    );

    pg.stop();
    serve(
        &site,
        "/news/index.html",
        &[
            ("qiaokou", "硚口"),
            ("hanyang", "汉阳"),
            ("jiangan", "江岸"),
        ],
    );
    let metrics = wait_for_metric(port, r#"newswatch_sink_pending{sink="archive"} 2"#, 30).await;
    assert!(
        metrics.contains(r#"newswatch_sink_pending{sink="archive"} 2"#),
        "the backlog shows while the database is down:\n{metrics}"
    );
    // The backlog can show before the deliverer's first attempt against the stopped database
    // has failed (a connection attempt takes its time on a loaded machine): wait for that too.
    let metrics = wait_for_metric(port, r#"newswatch_sink_failing{sink="archive"} 1"#, 30).await;
    assert!(
        metrics.contains(r#"newswatch_sink_failing{sink="archive"} 1"#),
        "{metrics}"
    );
    let (_, page) = get(port, "/status").await;
    assert!(page.contains("sink archive: 2 revisions waiting"), "{page}");
    assert!(page.contains("database unavailable"), "{page}");

    pg.start_again();
    let db = client(&url).await;
    assert_eq!(
        wait_for_count(&db, "SELECT count(*) FROM articles", 3, 60).await,
        3,
        "the backlog drains when the database returns"
    );
    let metrics = wait_for_metric(port, r#"newswatch_sink_pending{sink="archive"} 0"#, 10).await;
    assert!(
        metrics.contains(r#"newswatch_sink_failing{sink="archive"} 0"#),
        "{metrics}"
    );

    let stopping = Instant::now();
    common::sigterm(&daemon);
    let exit = tokio::time::timeout(Duration::from_secs(15), daemon.wait())
        .await
        .expect("the daemon stops within seconds")
        .expect("exit status");
    assert!(exit.success());
    assert!(stopping.elapsed() < Duration::from_secs(10));
    assert_eq!(rows_of(&db, "wuhan-1").await, exported(&w).await);
}

/// An archive of `n` records of generated text.
fn archive(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "-\n第{i}号招商引资项目签约\n第{i}号项目落户开发区,总投资{i}亿元。 项目建成后年产值可观。\n2024-03-{:02}\n",
                i % 28 + 1
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_between_store_and_delivery_loses_nothing_and_sends_nothing_twice() {
    let Some(mut pg) = Postgres::start() else {
        return;
    };
    let url = pg.url("postgres");
    let site = Site::start().await;
    serve(
        &site,
        "/news/index.html",
        &[
            ("qiaokou", "硚口"),
            ("hanyang", "汉阳"),
            ("jiangan", "江岸"),
            ("wuchang", "武昌"),
            ("qingshan", "青山"),
        ],
    );
    let sources = pages::source("district", &site.url("/news/index.html"), "")
        .replace("0 0 * * *", "*/2 * * * * *");
    let w = Workdir::raw(&sink_config("wuhan-1", &url, "", &sources));
    pg.stop();

    // An archive import while the database is down: stored, queued, exit 1.
    let records = 3000;
    let imported = w
        .run_with_stdin(&["backfill", "-"], Some(archive(records).as_bytes()))
        .await;
    assert_eq!(imported.status.code(), Some(1), "{}", stderr(&imported));
    assert!(
        stderr(&imported).contains(&format!("{records} revisions stay queued")),
        "{}",
        stderr(&imported)
    );

    // The daemon stores the site's articles with the database still down, then dies hard.
    let mut daemon = w.daemon(&[]);
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        let status = status_json(&w).await;
        if status["sinks"][0]["pending"].as_u64() == Some(records as u64 + 5)
            || Instant::now() > until
        {
            assert_eq!(status["sinks"][0]["health"], "failing", "{status}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    daemon.kill().await.expect("SIGKILL");

    // Back up, and killed again while it drains the backlog.
    pg.start_again();
    let db = client(&url).await;
    let mut daemon = w.daemon(&[]);
    let until = Instant::now() + Duration::from_secs(30);
    while count_or_zero(&db, "SELECT count(*) FROM articles").await == 0 && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    daemon.kill().await.expect("SIGKILL");
    let after_kill = count(&db, "SELECT count(*) FROM articles").await;
    assert!(after_kill > 0, "delivery began before the kill");

    let mut daemon = w.daemon(&[]);
    let total = records as i64 + 5;
    assert_eq!(
        wait_for_count(&db, "SELECT count(*) FROM articles", total, 60).await,
        total,
        "every stored revision arrives"
    );
    common::sigterm(&daemon);
    let _ = tokio::time::timeout(Duration::from_secs(15), daemon.wait()).await;

    let stored = exported(&w).await;
    assert_eq!(stored.len() as i64, total);
    assert_eq!(
        rows_of(&db, "wuhan-1").await,
        stored,
        "each once, as stored"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(DISTINCT (instance, id, revision)) FROM articles"
        )
        .await,
        total
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_with_different_sources_fill_one_archive_and_share_a_text_once() {
    let Some(pg) = Postgres::start() else { return };
    let url = pg.url("postgres");
    let site = Site::start().await;
    // Each district portal reposts one city press release (same text, its own URL).
    let names = |k: &str| match k {
        "硚口" => "qiaokou",
        "汉阳" => "hanyang",
        _ => "jiangxia",
    };
    let links = |keys: &[&str], shared: &str| -> Vec<(String, String)> {
        keys.iter()
            .map(|k| (format!("/news/{}.html", names(k)), k.to_string()))
            .chain([(shared.to_owned(), "市政府".to_owned())])
            .collect()
    };
    site.page(
        "/a/index.html",
        "text/html",
        pages::list("utf-8", &links(&["硚口", "汉阳"], "/a/press.html"), None),
    );
    site.page(
        "/b/index.html",
        "text/html",
        pages::list("utf-8", &links(&["江夏"], "/b/press.html"), None),
    );
    for k in ["硚口", "汉阳", "江夏"] {
        site.page(
            &format!("/news/{}.html", names(k)),
            "text/html",
            article_page(k),
        );
    }
    for p in ["/a/press.html", "/b/press.html"] {
        site.page(p, "text/html", article_page("武汉市"));
    }
    let a = Workdir::raw(&sink_config(
        "wuhan-a",
        &url,
        "",
        &pages::source("district-a", &site.url("/a/index.html"), ""),
    ));
    let b = Workdir::raw(&sink_config(
        "wuhan-b",
        &url,
        "",
        &pages::source("district-b", &site.url("/b/index.html"), ""),
    ));
    let (ra, rb) = tokio::join!(a.run(&["crawl"]), b.run(&["crawl"]));
    assert!(ra.status.success(), "{}", stderr(&ra));
    assert!(rb.status.success(), "{}", stderr(&rb));

    let db = client(&url).await;
    let (sa, sb) = (exported(&a).await, exported(&b).await);
    assert_eq!((sa.len(), sb.len()), (3, 2));
    let hashes: BTreeSet<String> = sa.iter().chain(&sb).map(|r| r.hash.clone()).collect();
    assert_eq!(hashes.len(), 4, "the press release is one text");
    assert_eq!(count(&db, "SELECT count(*) FROM articles").await, 4);
    assert_eq!(
        count(&db, "SELECT count(DISTINCT hash) FROM articles").await,
        4
    );
    // Each instance's rows are its own revisions, as stored; the shared text is under
    // whichever instance sent it first, and the other's copy counted as already there.
    let (rows_a, rows_b) = (rows_of(&db, "wuhan-a").await, rows_of(&db, "wuhan-b").await);
    assert_eq!(rows_a.len() + rows_b.len(), 4);
    for row in rows_a.iter() {
        assert!(sa.contains(row), "{row:?}");
    }
    for row in rows_b.iter() {
        assert!(sb.contains(row), "{row:?}");
    }
    let told = format!("{}{}", stderr(&ra), stderr(&rb));
    assert!(told.contains("1 already there"), "{told}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sink_backfill_sends_what_was_stored_before_the_sink_was_added() {
    let Some(mut pg) = Postgres::start() else {
        return;
    };
    let url = pg.url("postgres");
    let site = Site::start().await;
    serve(
        &site,
        "/news/index.html",
        &[("qiaokou", "硚口"), ("hanyang", "汉阳")],
    );
    site.sequence(
        "/news/hanyang.html",
        vec![
            common::Route::new(200, &[("content-type", "text/html")], article_page("汉阳")),
            common::Route::new(
                200,
                &[("content-type", "text/html")],
                article_page("汉阳").replace("12个", "13个"),
            ),
        ],
    );
    let sources = pages::source(
        "district",
        &site.url("/news/index.html"),
        "recheck_days = 7",
    );
    let with_sink = sink_config("wuhan-1", &url, "", &sources);
    let without =
        with_sink[..with_sink.find("[[sink]]").expect("sink table")].to_owned() + &sources;
    let w = Workdir::raw(&without);
    assert!(w.run(&["crawl"]).await.status.success());
    assert!(w.run(&["crawl"]).await.status.success());
    let imported = w
        .run_with_stdin(&["backfill", "-"], Some(archive(40).as_bytes()))
        .await;
    assert!(imported.status.success(), "{}", stderr(&imported));
    let stored = exported(&w).await;
    assert_eq!(stored.len(), 43, "2 articles, one revised, and 40 imported");

    // The sink is added to a store that already holds articles: it starts at the end, and
    // says how to send the rest.
    std::fs::write(w.config(), &with_sink).expect("config");
    let crawled = w.run(&["crawl"]).await;
    assert!(crawled.status.success(), "{}", stderr(&crawled));
    assert!(
        stderr(&crawled).contains("run `newswatch sink backfill archive`"),
        "{}",
        stderr(&crawled)
    );
    let db = client(&url).await;
    assert_eq!(count_or_zero(&db, "SELECT count(*) FROM articles").await, 0);
    assert_eq!(status_json(&w).await["sinks"][0]["pending"], 0);

    let sent = w.run(&["sink", "backfill", "archive"]).await;
    assert!(sent.status.success(), "{}", stderr(&sent));
    assert_eq!(
        stdout(&sent).trim(),
        "sink archive: 43 revisions sent: 43 rows added, 0 already there"
    );
    assert!(
        stderr(&sent).is_empty(),
        "no progress bar in a pipe: {}",
        stderr(&sent)
    );
    assert_eq!(rows_of(&db, "wuhan-1").await, stored);

    let again = w.run(&["sink", "backfill", "archive"]).await;
    assert_eq!(
        stdout(&again).trim(),
        "sink archive: 43 revisions sent: 0 rows added, 43 already there"
    );
    assert_eq!(count(&db, "SELECT count(*) FROM articles").await, 43);

    let unknown = w.run(&["sink", "backfill", "nope"]).await;
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("no sink named \"nope\" (known: archive)"));

    pg.stop();
    let down = w.run(&["sink", "backfill", "archive"]).await;
    assert_eq!(down.status.code(), Some(1));
    assert!(
        stderr(&down).contains("sink archive: database unavailable"),
        "{}",
        stderr(&down)
    );
}

/// A sink that refuses everything while `down` is set, for driving the deliverer by hand.
struct Switchable {
    inner: PostgresSink,
    down: std::sync::atomic::AtomicBool,
}

impl Sink for Switchable {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn deliver(&self, rows: &[SinkRow]) -> Result<newswatch::sink::Delivered, SinkError> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(SinkError::Unavailable {
                sink: self.name().into(),
                reason: "switched off".into(),
            });
        }
        self.inner.deliver(rows).await
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cursor_moves_only_after_a_commit_and_revisions_no_longer_kept_are_skipped() {
    let Some(pg) = Postgres::start() else { return };
    let url = pg.url("postgres");
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("store");
    let switchable = Switchable {
        inner: sink(&url, None),
        down: std::sync::atomic::AtomicBool::new(true),
    };
    let d = Deliverer::new(
        switchable,
        store.clone(),
        "wuhan-1",
        None,
        SinkStates::load(dir.path()),
    );
    assert_eq!(d.start().expect("start"), Start::Beginning);
    let article = |title: &str, body: &str| {
        Article::new(
            title,
            body,
            NaiveDate::from_ymd_opt(2025, 7, 2).expect("date"),
            Some(format!("https://example.gov.cn/{title}.html")),
            "district",
            Utc::now(),
        )
    };
    let Ok(Inserted::New(id)) = store.insert(&article("甲", "第一版。"), &[], &[]) else {
        panic!("stored")
    };
    store
        .insert(&article("乙", "正文。"), &[], &[])
        .expect("stored");
    // Two edits with max_revisions = 1: revision 1 and 2 leave the history before delivery.
    for text in ["第二版。", "第三版。"] {
        store
            .revise(id, &article("甲", text), &[], &[], 1)
            .expect("revised");
    }

    let failed = d.drain(Duration::from_millis(100)).await;
    assert!(failed.error.is_some_and(|e| e.is_unavailable()));
    assert_eq!(failed.pending, 4, "nothing moved");
    assert_eq!(store.cursor("sink:archive").expect("cursor"), Some(0));

    d.sink()
        .down
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let drained = d.drain(Duration::from_secs(5)).await;
    assert!(drained.error.is_none(), "{:?}", drained.error);
    let p = drained.progress;
    assert_eq!((p.entries, p.inserted, p.skipped), (4, 2, 2), "{p:?}");
    assert_eq!(drained.pending, 0);
    assert_eq!(
        store.cursor("sink:archive").expect("cursor"),
        Some(store.journal_end().expect("end"))
    );
    let db = client(&url).await;
    assert_eq!(
        count(&db, "SELECT count(*) FROM articles WHERE revision = 3").await,
        1
    );
    let state = SinkStates::load(dir.path()).get("archive");
    assert_eq!((state.inserted_total, state.skipped_total), (2, 2));
    assert!(state.failing_since.is_none() && state.last_error.is_some());

    // A second deliverer on a store that already holds articles starts at the end.
    let late = Deliverer::new(
        sink(&url, None),
        store.clone(),
        "wuhan-1",
        None,
        SinkStates::load(dir.path()),
    );
    assert_eq!(
        late.start().expect("start"),
        Start::Resumed(store.journal_end().expect("end"))
    );
    let other = Deliverer::new(
        PostgresSink::new(SinkSettings::postgres("late", &url, None, Some("late")).expect("valid")),
        store.clone(),
        "wuhan-1",
        None,
        SinkStates::load(dir.path()),
    );
    let end = store.journal_end().expect("end");
    assert_eq!(
        other.start().expect("start"),
        Start::End {
            at: end,
            articles: 2
        }
    );
    assert_eq!(
        other.drain(Duration::from_secs(5)).await.progress.entries,
        0
    );
}
