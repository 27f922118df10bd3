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
