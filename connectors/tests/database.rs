//! The database drivers against the real PostgreSQL and MariaDB servers on this machine
//! (127.0.0.1:5432 trust, 127.0.0.1:3306 root without a password; override with
//! PIPEWRIGHT_TEST_POSTGRES_URL / PIPEWRIGHT_TEST_MYSQL_URL). Each run creates its own
//! database and roles and drops them afterwards. Without the servers these tests skip,
//! unless PIPEWRIGHT_REQUIRE_SERVICES=1.

use std::{collections::HashMap, time::Duration};

use connectors::{
    database::{
        self, DatabaseConfig, DatabaseDriver, DbKind, Secret, TableQuery, TableRef, TlsMode,
    },
    sanitize::{sanitize, Predicate, Scope},
    DriverError,
};
use mysql_async::prelude::Queryable;
use serde_json::{json, Value};

#[path = "support/servers.rs"]
mod servers;
use servers::{maria_url, pg_client, required, unique};

fn config(
    kind: DbKind,
    port: u16,
    database: &str,
    user: &str,
    password: Option<&str>,
) -> DatabaseConfig {
    DatabaseConfig {
        kind,
        host: "127.0.0.1".into(),
        port,
        database: database.into(),
        user: user.into(),
        password: password.map(Secret::new),
        path: None,
        tls_mode: TlsMode::Disable,
        tls_ca_file: None,
        tunnel: None,
        connect_to: None,
        connect_timeout: Duration::from_secs(5),
        statement_timeout: Duration::from_secs(2),
        max_concurrent: 4,
        allow_cleartext_password: false,
        other_secrets: Vec::new(),
    }
}

const READER_PASSWORD: &str = "Rd-7c1f-LEAKCHECK";

// ---------------------------------------------------------------- PostgreSQL fixture

struct Pg {
    admin: tokio_postgres::Client,
    db: String,
    reader: String,
}

impl Pg {
    async fn create() -> Option<Pg> {
        let admin = pg_client("postgres").await?;
        let db = unique("pw_conn");
        let reader = unique("pw_reader");
        admin
            .batch_execute(&format!("CREATE DATABASE {db}"))
            .await
            .unwrap();
        admin
            .batch_execute(&format!(
                "CREATE ROLE {reader} LOGIN PASSWORD '{READER_PASSWORD}'"
            ))
            .await
            .unwrap();
        let c = pg_client(&db).await.unwrap();
        c.batch_execute(&format!(
            "CREATE TABLE every_type (
                id bigint PRIMARY KEY, small smallint, normal integer, big bigint,
                real_v real, dbl double precision, num numeric(30,10), flag boolean,
                name text, code varchar(10), ch char(3), d date, ts timestamp, tstz timestamptz,
                t time, b bytea, j jsonb, u uuid, arr integer[], long_text text, iv interval);
             INSERT INTO every_type VALUES
               (1, -32768, 2147483647, 9007199254740993, 1.5, 2.25, 12345678901234567890.0123456789, true,
                'Zoë ''quoted''; -- not a comment', 'abc', 'xy', '2024-02-29', '2024-02-29 13:45:56.123456',
                '2024-02-29 13:45:56+02', '23:59:58', '\\x000102ff', '{{\"k\": [1, 2]}}',
                'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{{1,2,3}}', repeat('x', 5000), '1 day 02:03:04'),
               (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                NULL, NULL, NULL, NULL, NULL, NULL);
             CREATE TABLE orders (id serial PRIMARY KEY, status text, total numeric(10,2));
             INSERT INTO orders (status, total) SELECT CASE WHEN g % 2 = 0 THEN 'paid' ELSE 'open' END, g * 1.5
               FROM generate_series(1, 30) g;
             CREATE VIEW paid_orders AS SELECT * FROM orders WHERE status = 'paid';
             CREATE SCHEMA sales; CREATE TABLE sales.leads (id int, email text);
             CREATE TABLE secrets (id int);
             GRANT USAGE ON SCHEMA public TO {reader};
             GRANT SELECT ON orders, every_type, paid_orders TO {reader};"
        ))
        .await
        .unwrap();
        Some(Pg { admin, db, reader })
    }

    fn driver(&self, user: &str, password: Option<&str>) -> std::sync::Arc<dyn DatabaseDriver> {
        database::open_direct(config(DbKind::Postgres, 5432, &self.db, user, password)).unwrap()
    }

    async fn drop(self) {
        let _ = self
            .admin
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE); DROP ROLE IF EXISTS {};",
                self.db, self.reader
            ))
            .await;
    }
}

/// Runs `f`, then cleans up even if it panicked.
async fn with_pg<F, Fut>(f: F)
where
    F: FnOnce(std::sync::Arc<Pg>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let Some(pg) = Pg::create().await else { return };
    let pg = std::sync::Arc::new(pg);
    let result = tokio::spawn(f(pg.clone())).await;
    if let Ok(pg) = std::sync::Arc::try_unwrap(pg) {
        pg.drop().await;
    }
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn preview_all(
    d: &dyn DatabaseDriver,
    t: &TableRef,
    where_clause: Option<&str>,
    n: u32,
) -> Result<(Vec<database::ColumnInfo>, Vec<HashMap<String, Value>>), DriverError> {
    let cols = d.describe_table(t).await?;
    let names: Vec<String> = cols.iter().map(|c| c.name.clone()).collect();
    let pred = where_clause.map(|w| {
        sanitize(
            w,
            d.dialect(),
            &Scope {
                schema: t.schema.as_deref(),
                table: &t.name,
                columns: &names,
            },
        )
        .unwrap_or_else(|e| panic!("{w}: {e}"))
    });
    let p = d.preview(t, &cols, n, pred.as_ref()).await?;
    let rows = p
        .rows
        .into_iter()
        .map(|r| names.iter().cloned().zip(r).collect())
        .collect();
    Ok((cols, rows))
}

fn table(name: &str) -> TableRef {
    TableRef {
        schema: None,
        name: name.into(),
    }
}

/// A missing table (or schema) is `TableNotFound` whose message says so, never with the
/// value the caller sent.
async fn assert_missing_table_hides_the_name(d: &dyn DatabaseDriver) {
    for t in [
        table("zz_Marker_7f3a"),
        TableRef {
            schema: Some("zz_Schema_7f3a".into()),
            name: "zz_Marker_7f3a".into(),
        },
    ] {
        let e = d.describe_table(&t).await.unwrap_err();
        assert!(matches!(e, DriverError::TableNotFound(_)), "{e:?}");
        let text = e.to_string();
        assert!(text.contains("no table or view of that name"), "{text}");
        assert!(
            !text.contains("zz_Marker") && !text.contains("zz_Schema"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn missing_table_errors_name_the_field_not_the_value() {
    with_pg(|pg| async move {
        assert_missing_table_hides_the_name(pg.driver("postgres", None).as_ref()).await;
    })
    .await;
    with_maria(|m| async move {
        assert_missing_table_hides_the_name(m.driver("root", None).as_ref()).await;
    })
    .await;
}

#[tokio::test]
async fn postgres_preview_types_every_value_faithfully() {
    with_pg(|pg| async move {
        let d = pg.driver("postgres", None);
        let (cols, rows) = preview_all(d.as_ref(), &table("every_type"), Some("id IN (1, 2)"), 20)
            .await
            .unwrap();
        let ty: HashMap<_, _> = cols
            .iter()
            .map(|c| (c.name.as_str(), c.json_type.as_str()))
            .collect();
        assert_eq!(ty["big"], "integer");
        assert_eq!(ty["num"], "decimal");
        assert_eq!(ty["tstz"], "timestamp");
        assert_eq!(ty["b"], "binary");
        assert!(cols
            .iter()
            .find(|c| c.name == "id")
            .map(|c| !c.nullable)
            .unwrap());
        assert_eq!(
            cols.iter()
                .find(|c| c.name == "code")
                .unwrap()
                .database_type,
            "character varying(10)"
        );
        let r = &rows[0];
        assert_eq!(r["id"], json!(1));
        assert_eq!(r["small"], json!(-32768));
        assert_eq!(r["normal"], json!(2147483647));
        assert_eq!(
            r["big"],
            json!("9007199254740993"),
            "beyond 2^53 stays exact, as a string"
        );
        assert_eq!(r["real_v"], json!(1.5));
        assert_eq!(r["dbl"], json!(2.25));
        assert_eq!(r["num"], json!("12345678901234567890.0123456789"));
        assert_eq!(r["flag"], json!(true));
        assert_eq!(r["name"], json!("Zoë 'quoted'; -- not a comment"));
        assert_eq!(r["code"], json!("abc"));
        // char(n) → text drops the padding, as PostgreSQL's own cast does.
        assert_eq!(r["ch"], json!("xy"));
        assert_eq!(r["d"], json!("2024-02-29"));
        assert_eq!(r["ts"], json!("2024-02-29T13:45:56.123456"));
        assert_eq!(r["tstz"], json!("2024-02-29T11:45:56Z"));
        assert_eq!(r["t"], json!("23:59:58"));
        assert_eq!(r["b"], json!("AAEC/w=="));
        assert_eq!(r["j"], json!({"k": [1, 2]}));
        assert_eq!(r["u"], json!("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"));
        assert_eq!(r["arr"], json!("{1,2,3}"));
        assert_eq!(r["iv"], json!("1 day 02:03:04"));
        let long = r["long_text"].as_str().unwrap();
        assert!(
            long.ends_with("…[truncated]") && long.len() < 5000,
            "{}",
            long.len()
        );
        assert!(
            rows[1]
                .iter()
                .filter(|(k, _)| *k != "id")
                .all(|(_, v)| v.is_null()),
            "{:?}",
            rows[1]
        );
    })
    .await;
}

/// One paging behaviour on every driver (`discover_schema`'s): a page past the end has no
/// tables and the listing's true total; the last page is partial; a search that matches
/// nothing says 0 on any page.
async fn pages_past_the_end_tell_the_total(d: &dyn DatabaseDriver, schema: Option<&str>) {
    let q = |search: Option<&str>, limit, offset| TableQuery {
        schema: schema.map(String::from),
        search: search.map(String::from),
        limit,
        offset,
    };
    let all = d.list_tables(&q(None, 1000, 0)).await.unwrap();
    let n = all.total;
    assert!(n >= 2, "{all:?}");
    assert_eq!(all.tables.len() as i64, n);
    let last = d.list_tables(&q(None, 2, n - 1)).await.unwrap();
    assert_eq!((last.tables.len(), last.total), (1, n), "the last page");
    let past = d.list_tables(&q(None, 10, n + 5)).await.unwrap();
    assert_eq!(
        (past.tables.len(), past.total),
        (0, n),
        "a page past the end"
    );
    for offset in [0, 20] {
        let none = d
            .list_tables(&q(Some("no_such_table_zz"), 10, offset))
            .await
            .unwrap();
        assert_eq!((none.tables.len(), none.total), (0, 0), "nothing matches");
    }
}

#[tokio::test]
async fn postgres_pages_past_the_end_tell_the_total() {
    with_pg(|pg| async move {
        let d = pg.driver("postgres", None);
        pages_past_the_end_tell_the_total(d.as_ref(), None).await;
        pages_past_the_end_tell_the_total(d.as_ref(), Some("public")).await;
    })
    .await;
}

#[tokio::test]
async fn mariadb_pages_past_the_end_tell_the_total() {
    with_maria(|m| async move {
        let d = m.driver("root", None);
        pages_past_the_end_tell_the_total(d.as_ref(), None).await;
    })
    .await;
}

#[tokio::test]
async fn sqlite_pages_past_the_end_tell_the_total() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pages.db");
    let mut cfg = config(DbKind::Sqlite, 0, "", "", None);
    cfg.path = Some(path.clone());
    {
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .connect_with(
                sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(&path)
                    .create_if_missing(true),
            )
            .await
            .unwrap();
        sqlx::raw_sql(
            "CREATE TABLE a (id int); CREATE TABLE b (id int); CREATE VIEW c AS SELECT * FROM a;",
        )
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
    }
    let d = database::open_direct(cfg).unwrap();
    pages_past_the_end_tell_the_total(d.as_ref(), None).await;
    pages_past_the_end_tell_the_total(d.as_ref(), Some("main")).await;
}

/// An operator someone created in `public` never runs in a preview's place:
/// PostgreSQL prefers an exact type match from any schema on the search path, so a preview
/// resolves the filter's operators and functions in pg_catalog only.
#[tokio::test]
async fn postgres_preview_never_runs_an_operator_planted_in_public() {
    with_pg(|pg| async move {
        let c = pg_client(&pg.db).await.unwrap();
        c.batch_execute(
            r#"CREATE TABLE docs (id int, meta jsonb);
               INSERT INTO docs VALUES (1, '{"plan": "pro"}'), (2, '{"plan": "free"}');
               CREATE FUNCTION public.hijack(jsonb, jsonb) RETURNS text LANGUAGE plpgsql AS
                 $$ BEGIN RAISE EXCEPTION 'hijacked'; END $$;
               CREATE OPERATOR public.->> (LEFTARG = jsonb, RIGHTARG = jsonb, FUNCTION = public.hijack);"#,
        )
        .await
        .unwrap();
        // Outside a preview, the planted operator is what PostgreSQL picks for a key that
        // reads as JSON: an exact (jsonb, jsonb) match beats pg_catalog's (jsonb, text).
        let e = c
            .query("SELECT id FROM docs WHERE meta->>'\"plan\"' = 'pro'", &[])
            .await
            .unwrap_err();
        assert!(format!("{e:?}").contains("hijacked"), "{e:?}");
        let d = pg.driver("postgres", None);
        let (_, rows) = preview_all(d.as_ref(), &table("docs"), Some("meta->>'\"plan\"' IS NULL"), 10)
            .await
            .unwrap();
        assert_eq!(rows.len(), 2, "pg_catalog's ->> ran: no such key");
        let (_, rows) = preview_all(d.as_ref(), &table("docs"), Some("meta->>'plan' = 'pro'"), 10)
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["id"], json!(1));
    })
    .await;
}

#[tokio::test]
async fn postgres_discovery_filters_and_pages() {
    with_pg(|pg| async move {
        let d = pg.driver("postgres", None);
        let q = |schema: Option<&str>, search: Option<&str>, limit, offset| TableQuery {
            schema: schema.map(String::from),
            search: search.map(String::from),
            limit,
            offset,
        };
        let all = d.list_tables(&q(None, None, 100, 0)).await.unwrap();
        let names: Vec<_> = all
            .tables
            .iter()
            .map(|t| format!("{}.{}", t.schema.as_deref().unwrap(), t.name))
            .collect();
        assert_eq!(
            names,
            [
                "public.every_type",
                "public.orders",
                "public.paid_orders",
                "public.secrets",
                "sales.leads"
            ]
        );
        assert_eq!(all.total, 5);
        assert_eq!(all.tables[2].kind, "view");
        let sales = d
            .list_tables(&q(Some("sales"), None, 100, 0))
            .await
            .unwrap();
        assert_eq!((sales.total, sales.tables[0].name.as_str()), (1, "leads"));
        let found = d
            .list_tables(&q(None, Some("ORDER"), 100, 0))
            .await
            .unwrap();
        assert_eq!(found.total, 2, "{found:?}");
        let page = d.list_tables(&q(None, None, 2, 2)).await.unwrap();
        assert_eq!(
            (page.total, page.tables.len(), page.tables[0].name.as_str()),
            (5, 2, "paid_orders")
        );
        let past = d.list_tables(&q(None, None, 2, 10)).await.unwrap();
        assert_eq!((past.total, past.tables.len()), (5, 0));
        let lead_cols = d
            .describe_table(&TableRef {
                schema: Some("sales".into()),
                name: "leads".into(),
            })
            .await
            .unwrap();
        assert_eq!(lead_cols.len(), 2);
        assert!(matches!(
            d.describe_table(&table("nope")).await,
            Err(DriverError::TableNotFound(_))
        ));
        let (_, paid) = preview_all(
            d.as_ref(),
            &table("orders"),
            Some("status = 'paid' AND total > 30"),
            5,
        )
        .await
        .unwrap();
        assert_eq!(paid.len(), 5);
        assert!(paid.iter().all(|r| r["status"] == json!("paid")));
        let (_, capped) = preview_all(d.as_ref(), &table("orders"), None, 10_000)
            .await
            .unwrap();
        assert_eq!(capped.len(), 30, "all 30 rows, under the cap of 200");
    })
    .await;
}

#[tokio::test]
async fn postgres_test_connection_reports_each_failure() {
    with_pg(|pg| async move {
        let ok = pg.driver("postgres", None).test_connection().await.unwrap();
        assert!(ok.server_version.starts_with("PostgreSQL"), "{ok:?}");
        assert_eq!(ok.can_write, Some(true));
        let reader = pg
            .driver(&pg.reader, Some(READER_PASSWORD))
            .test_connection()
            .await
            .unwrap();
        assert_eq!(
            reader.can_write,
            Some(false),
            "a SELECT-only role cannot write"
        );

        // This machine's PostgreSQL trusts loopback, so a wrong password cannot fail here;
        // an unknown role is refused the same way (SQLSTATE 28000).
        let e = pg
            .driver("no_such_role_here", Some("wrong-LEAKCHECK"))
            .test_connection()
            .await
            .unwrap_err();
        assert!(matches!(e, DriverError::AuthFailed { .. }), "{e:?}");
        assert!(!e.to_string().contains("LEAKCHECK"));
        let e = database::open_direct(config(
            DbKind::Postgres,
            5432,
            "no_such_db_here",
            "postgres",
            None,
        ))
        .unwrap()
        .test_connection()
        .await
        .unwrap_err();
        assert!(matches!(e, DriverError::DatabaseMissing { .. }), "{e:?}");
        let e = database::open_direct(config(DbKind::Postgres, 1, &pg.db, "postgres", None))
            .unwrap()
            .test_connection()
            .await
            .unwrap_err();
        assert!(matches!(e, DriverError::Unreachable { .. }), "{e:?}");
        assert!(e.to_string().contains("127.0.0.1:1"), "{e}");
        // A role without SELECT on the table.
        let d = pg.driver(&pg.reader, Some(READER_PASSWORD));
        let cols = d.describe_table(&table("secrets")).await.unwrap();
        let e = d
            .preview(&table("secrets"), &cols, 5, None)
            .await
            .unwrap_err();
        assert!(matches!(e, DriverError::PermissionDenied(_)), "{e:?}");
    })
    .await;
}

#[tokio::test]
async fn postgres_guards_hold_even_without_the_sanitizer() {
    with_pg(|pg| async move {
        let d = pg.driver("postgres", None);
        let cols = d.describe_table(&table("orders")).await.unwrap();
        let bypass = |sql: &str| Predicate::unchecked(sql);
        // The statement timeout stops a sleeper.
        let started = std::time::Instant::now();
        let e = d
            .preview(
                &table("orders"),
                &cols,
                5,
                Some(&bypass("pg_sleep(30) IS NULL")),
            )
            .await
            .unwrap_err();
        assert!(matches!(e, DriverError::Timeout(_)), "{e:?}");
        assert!(started.elapsed() < Duration::from_secs(10));
        // The read-only transaction stops writes a function would make.
        pg.admin.batch_execute("SELECT 1").await.unwrap();
        let c = pg_client(&pg.db).await.unwrap();
        c.batch_execute("CREATE SEQUENCE s").await.unwrap();
        let e = d
            .preview(
                &table("orders"),
                &cols,
                5,
                // Schema-qualified: a preview resolves names in pg_catalog only.
                Some(&bypass("nextval('public.s') > 0")),
            )
            .await
            .unwrap_err();
        assert!(e.to_string().contains("read-only"), "{e}");
        let next: i64 = c
            .query_one("SELECT nextval('s')", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(next, 1, "the sequence never moved");
        // Several statements cannot run: the extended protocol takes one.
        let e = d
            .preview(
                &table("orders"),
                &cols,
                5,
                Some(&bypass("true; DROP TABLE orders")),
            )
            .await
            .unwrap_err();
        assert!(matches!(e, DriverError::Query(_)), "{e:?}");
        let n: i64 = c
            .query_one("SELECT count(*) FROM orders", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 30);
        // And the sanitizer rejects every LIVE hostile fragment before any of this; run
        // through the driver anyway (as the SELECT-only role a preview connection should
        // use), none of them does anything.
        let reader = pg.driver(&pg.reader, Some(READER_PASSWORD));
        for line in include_str!("corpus/where_hostile.txt")
            .lines()
            .filter(|l| l.ends_with("## LIVE"))
        {
            let frag = line.trim_end_matches("## LIVE").trim();
            if frag.starts_with('[') && !frag.starts_with("[pg]") {
                continue;
            }
            let frag = frag.trim_start_matches("[pg] ");
            let names: Vec<String> = cols.iter().map(|c| c.name.clone()).collect();
            let scope = Scope {
                schema: None,
                table: "orders",
                columns: &names,
            };
            assert!(sanitize(frag, d.dialect(), &scope).is_err(), "{frag}");
            let r = reader
                .preview(&table("orders"), &cols, 1, Some(&bypass(frag)))
                .await;
            if r.is_ok() {
                // Only a setting change can run read-only; the rollback undoes it, so the
                // statement timeout still holds on the next preview over the same pool.
                assert!(frag.starts_with("set_config"), "{frag} ran: {r:?}");
                let again = reader
                    .preview(
                        &table("orders"),
                        &cols,
                        1,
                        Some(&bypass("pg_sleep(30) IS NULL")),
                    )
                    .await;
                assert!(matches!(again, Err(DriverError::Timeout(_))), "{again:?}");
            }
        }
    })
    .await;
}

// ---------------------------------------------------------------- MariaDB fixture

struct Maria {
    admin: mysql_async::Pool,
    db: String,
    reader: String,
}

impl Maria {
    async fn create() -> Option<Maria> {
        let admin = mysql_async::Pool::new(maria_url().as_str());
        let mut c = match admin.get_conn().await {
            Ok(c) => c,
            Err(e) if !required() => {
                eprintln!("skipping: MariaDB not reachable: {e}");
                return None;
            }
            Err(e) => panic!("MariaDB is required but not reachable: {e}"),
        };
        let db = unique("pw_conn");
        let reader = unique("pw_rd");
        let script = format!(
            "CREATE DATABASE {db} CHARACTER SET utf8mb4;
             USE {db};
             CREATE TABLE every_type (
               id BIGINT PRIMARY KEY, tiny TINYINT, small SMALLINT, normal INT, big BIGINT,
               ubig BIGINT UNSIGNED, f FLOAT, dbl DOUBLE, num DECIMAL(30,10), flag BOOLEAN,
               name VARCHAR(100), ch CHAR(3), body TEXT, d DATE, dt DATETIME(6), ts TIMESTAMP NULL,
               t TIME, b VARBINARY(16), blb BLOB, j JSON, e ENUM('a','b'));
             INSERT INTO every_type VALUES
               (1, -128, -32768, 2147483647, 9007199254740993, 18446744073709551615, 1.5, 2.25,
                12345678901234567890.0123456789, TRUE, 'Zoë ''quoted''; -- not a comment', 'xy',
                REPEAT('x', 5000), '2024-02-29', '2024-02-29 13:45:56.123456', '2024-02-29 13:45:56',
                '-26:00:01', X'000102FF', X'41', '{{\"k\": [1, 2]}}', 'b'),
               (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                NULL, NULL, NULL, NULL, NULL, NULL);
             CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, status VARCHAR(10), total DECIMAL(10,2));
             INSERT INTO orders (status, total) VALUES ('paid', 10), ('open', 20), ('paid', 30);
             CREATE VIEW paid_orders AS SELECT * FROM orders WHERE status = 'paid';
             CREATE TABLE secrets (id INT);
             CREATE USER '{reader}'@'%' IDENTIFIED BY '{READER_PASSWORD}';
             CREATE USER '{reader}'@'localhost' IDENTIFIED BY '{READER_PASSWORD}';
             GRANT SELECT ON {db}.orders TO '{reader}'@'%';
             GRANT SELECT ON {db}.orders TO '{reader}'@'localhost';"
        );
        c.query_drop(script).await.unwrap();
        drop(c);
        Some(Maria { admin, db, reader })
    }

    fn driver(&self, user: &str, password: Option<&str>) -> std::sync::Arc<dyn DatabaseDriver> {
        database::open_direct(config(DbKind::MySql, 3306, &self.db, user, password)).unwrap()
    }

    async fn drop(self) {
        if let Ok(mut c) = self.admin.get_conn().await {
            let _ = c
                .query_drop(format!(
                    "DROP DATABASE IF EXISTS {}; DROP USER IF EXISTS '{r}'@'%'; DROP USER IF EXISTS '{r}'@'localhost';",
                    self.db,
                    r = self.reader
                ))
                .await;
        }
        let _ = self.admin.disconnect().await;
    }
}

async fn with_maria<F, Fut>(f: F)
where
    F: FnOnce(std::sync::Arc<Maria>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let Some(m) = Maria::create().await else {
        return;
    };
    let m = std::sync::Arc::new(m);
    let result = tokio::spawn(f(m.clone())).await;
    if let Ok(m) = std::sync::Arc::try_unwrap(m) {
        m.drop().await;
    }
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}

#[tokio::test]
async fn mariadb_preview_types_every_value_faithfully() {
    with_maria(|m| async move {
        let d = m.driver("root", None);
        let (cols, rows) = preview_all(d.as_ref(), &table("every_type"), Some("id IN (1, 2)"), 20)
            .await
            .unwrap();
        let ty: HashMap<_, _> = cols
            .iter()
            .map(|c| (c.name.as_str(), c.json_type.as_str()))
            .collect();
        assert_eq!(ty["num"], "decimal");
        assert_eq!(ty["dt"], "timestamp");
        assert_eq!(ty["b"], "binary");
        let r = &rows[0];
        assert_eq!(r["tiny"], json!(-128));
        assert_eq!(r["small"], json!(-32768));
        assert_eq!(r["normal"], json!(2147483647));
        assert_eq!(r["big"], json!("9007199254740993"));
        assert_eq!(r["ubig"], json!("18446744073709551615"));
        assert_eq!(r["f"], json!(1.5));
        assert_eq!(r["dbl"], json!(2.25));
        assert_eq!(r["num"], json!("12345678901234567890.0123456789"));
        assert_eq!(r["flag"], json!(1));
        assert_eq!(r["name"], json!("Zoë 'quoted'; -- not a comment"));
        assert_eq!(r["ch"], json!("xy"));
        assert!(r["body"].as_str().unwrap().ends_with("…[truncated]"));
        assert_eq!(r["d"], json!("2024-02-29"));
        assert_eq!(r["dt"], json!("2024-02-29T13:45:56.123456"));
        assert_eq!(r["ts"], json!("2024-02-29T13:45:56"));
        assert_eq!(r["t"], json!("-26:00:01"));
        assert_eq!(r["b"], json!("AAEC/w=="));
        assert_eq!(r["blb"], json!("QQ=="));
        assert_eq!(r["e"], json!("b"));
        assert_eq!(
            r["j"].to_string().replace(' ', ""),
            r#""{\"k\":[1,2]}""#.replace(' ', ""),
            "{}",
            r["j"]
        );
        assert!(
            rows[1]
                .iter()
                .filter(|(k, _)| *k != "id")
                .all(|(_, v)| v.is_null()),
            "{:?}",
            rows[1]
        );
    })
    .await;
}

#[tokio::test]
async fn mariadb_discovery_failures_and_guards() {
    with_maria(|m| async move {
        let d = m.driver("root", None);
        let ok = d.test_connection().await.unwrap();
        assert!(ok.server_version.contains("MariaDB"), "{ok:?}");
        assert_eq!(ok.can_write, Some(true));
        let reader = m.driver(&m.reader, Some(READER_PASSWORD));
        assert_eq!(
            reader.test_connection().await.unwrap().can_write,
            Some(false)
        );

        let all = d
            .list_tables(&TableQuery {
                schema: None,
                search: None,
                limit: 100,
                offset: 0,
            })
            .await
            .unwrap();
        let names: Vec<_> = all.tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["every_type", "orders", "paid_orders", "secrets"]);
        assert_eq!(all.tables[2].kind, "view");
        let found = d
            .list_tables(&TableQuery {
                schema: Some(m.db.clone()),
                search: Some("ORD".into()),
                limit: 1,
                offset: 1,
            })
            .await
            .unwrap();
        assert_eq!(
            (found.total, found.tables[0].name.as_str()),
            (2, "paid_orders")
        );

        let e = m
            .driver(&m.reader, Some("wrong"))
            .test_connection()
            .await
            .unwrap_err();
        assert!(matches!(e, DriverError::AuthFailed { .. }), "{e:?}");
        let e = database::open_direct(config(DbKind::MySql, 3306, "no_such_db_here", "root", None))
            .unwrap()
            .test_connection()
            .await
            .unwrap_err();
        assert!(matches!(e, DriverError::DatabaseMissing { .. }), "{e:?}");
        let e = database::open_direct(config(DbKind::MySql, 1, &m.db, "root", None))
            .unwrap()
            .test_connection()
            .await
            .unwrap_err();
        assert!(matches!(e, DriverError::Unreachable { .. }), "{e:?}");
        let cols = d.describe_table(&table("secrets")).await.unwrap();
        let e = reader
            .preview(&table("secrets"), &cols, 5, None)
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                DriverError::PermissionDenied(_) | DriverError::TableNotFound(_)
            ),
            "{e:?}"
        );

        // Guards without the sanitizer: the time limit stops a sleeper, the read-only
        // transaction a write, and a prepared statement takes one statement only.
        let cols = d.describe_table(&table("orders")).await.unwrap();
        let started = std::time::Instant::now();
        let e = d
            .preview(
                &table("orders"),
                &cols,
                5,
                Some(&Predicate::unchecked("SLEEP(30) = 0")),
            )
            .await;
        assert!(started.elapsed() < Duration::from_secs(10), "{e:?}");
        let e = d
            .preview(
                &table("orders"),
                &cols,
                5,
                Some(&Predicate::unchecked("1=1; DELETE FROM orders")),
            )
            .await
            .unwrap_err();
        assert!(matches!(e, DriverError::Query(_)), "{e:?}");
        let (_, rows) = preview_all(d.as_ref(), &table("orders"), None, 10)
            .await
            .unwrap();
        assert_eq!(rows.len(), 3);
        for line in include_str!("corpus/where_hostile.txt")
            .lines()
            .filter(|l| l.ends_with("## LIVE"))
        {
            let frag = line.trim_end_matches("## LIVE").trim();
            if frag.starts_with('[') && !frag.starts_with("[mysql]") {
                continue;
            }
            let frag = frag.trim_start_matches("[mysql] ");
            let names: Vec<String> = cols.iter().map(|c| c.name.clone()).collect();
            let scope = Scope {
                schema: None,
                table: "orders",
                columns: &names,
            };
            assert!(sanitize(frag, d.dialect(), &scope).is_err(), "{frag}");
            // Through the server anyway, as the SELECT-only user: the time limit stops the
            // sleepers, and a file read without the FILE privilege yields nothing.
            let started = std::time::Instant::now();
            let r = reader
                .preview(
                    &table("orders"),
                    &cols,
                    5,
                    Some(&Predicate::unchecked(frag)),
                )
                .await;
            assert!(
                started.elapsed() < Duration::from_secs(6),
                "{frag} ran for {:?}",
                started.elapsed()
            );
            if let Ok(p) = r {
                assert!(
                    !format!("{:?}", p.rows).contains("root:"),
                    "{frag} read a file: {:?}",
                    p.rows
                );
            }
        }
    })
    .await;
}

#[path = "../../tests/support/hostile.rs"]
mod hostile;

/// A MySQL server without TLS (so `prefer` goes on in the clear) that switches to
/// `mysql_clear_password`: refused before the password is sent; when allowed, the password
/// the server quotes back is scrubbed from the error.
#[tokio::test]
async fn mysql_clear_password_is_refused_on_a_plain_connection_unless_allowed() {
    const PW: &str = "Mysql-LEAKCHECK-pw";
    let server = hostile::Hostile::mysql();
    let mut cfg = config(DbKind::MySql, server.port, "shop", "etl", Some(PW));
    cfg.tls_mode = TlsMode::Prefer;
    let e = database::open_direct(cfg.clone())
        .unwrap()
        .test_connection()
        .await
        .unwrap_err();
    assert!(matches!(e, DriverError::CleartextPasswordRefused), "{e:?}");
    assert!(!server.received_text(PW) && server.passwords().is_empty());

    cfg.allow_cleartext_password = true;
    let e = database::open_direct(cfg)
        .unwrap()
        .test_connection()
        .await
        .unwrap_err();
    assert_eq!(server.passwords(), [PW], "allowed, the password is sent");
    let text = e.to_string();
    assert!(text.contains("password '[redacted]'"), "{text}");
    assert!(!text.contains(PW), "{text}");
}

#[tokio::test]
async fn a_server_that_never_answers_is_a_timeout() {
    // A listener that accepts and then says nothing, like a firewall that swallows packets.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            open.push(s);
        }
    });
    for kind in [DbKind::Postgres, DbKind::MySql, DbKind::MsSql] {
        let mut cfg = config(kind, port, "db", "user", Some("pw"));
        cfg.connect_timeout = Duration::from_millis(500);
        let started = std::time::Instant::now();
        let e = database::open_direct(cfg)
            .unwrap()
            .test_connection()
            .await
            .unwrap_err();
        assert!(matches!(e, DriverError::Timeout(_)), "{kind:?}: {e:?}");
        assert!(e.to_string().contains("timed out"), "{e}");
        assert!(started.elapsed() < Duration::from_secs(5), "{kind:?}");
    }
    held.abort();
}
