//! Every fragment of the WHERE corpus that passes the sanitizer for PostgreSQL or
//! MySQL/MariaDB runs, as the sanitizer renders it, against the real database inside a
//! READ ONLY transaction: what we let through is SQL the database accepts, not only SQL
//! sqlparser reads. The table has the corpus's columns, `meta` a JSON document.

#[path = "support/servers.rs"]
mod servers;
#[path = "support/where_corpus.rs"]
mod where_corpus;

use connectors::sanitize::{sanitize, Dialect, Scope};
use mysql_async::prelude::Queryable;
use servers::{maria_url, pg_client, unique};
use where_corpus::{columns, corpus};

/// The corpus's good fragments for `dialect`, sanitized against `schema`.orders; a
/// fragment naming the corpus's own schema (`shop`, `public`) is read with `schema`.
fn rendered(dialect: Dialect, corpus_schema: &str, schema: &str) -> Vec<(String, String)> {
    let cols = columns();
    let scope = Scope {
        schema: Some(schema),
        table: "orders",
        columns: &cols,
    };
    corpus(include_str!("corpus/where_ok.txt"))
        .into_iter()
        .filter(|(ds, _)| ds.contains(&dialect))
        .map(|(_, frag)| {
            let frag = frag.replace(
                &format!("{corpus_schema}.orders"),
                &format!("{schema}.orders"),
            );
            let sql = sanitize(&frag, dialect, &scope)
                .unwrap_or_else(|e| panic!("{frag}: {e}"))
                .sql()
                .to_string();
            (frag, sql)
        })
        .collect()
}

#[tokio::test]
async fn every_good_fragment_runs_on_postgres_read_only() {
    let Some(admin) = pg_client("postgres").await else {
        return;
    };
    let db = unique("pw_where");
    admin
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .await
        .unwrap();
    let mut c = pg_client(&db).await.unwrap();
    c.batch_execute(
        r#"CREATE TABLE orders (id int, customer_id int, status text, total numeric(10,2), email text,
             name text, created_at timestamp, country text, quantity int, is_active boolean, notes text,
             price numeric(10,2), "Order Date" date, meta jsonb);
           INSERT INTO orders VALUES (3, 7, 'shipped', 120.50, 'ada@example.com', 'Ada', '2024-05-01 10:00',
             'DE', 2, true, NULL, 60.25, '2024-05-01',
             '{"plan": "pro", "seats": 4, "tags": ["vip"], "address": {"city": "Berlin"}, "limits": {"seats": 10}, "country": "DE"}')"#,
    )
    .await
    .unwrap();
    let mut failures = Vec::new();
    for (frag, sql) in rendered(Dialect::Postgres, "public", "public") {
        let tx = c.build_transaction().read_only(true).start().await.unwrap();
        if let Err(e) = tx
            .query(
                &format!("SELECT count(*) FROM public.orders WHERE {sql}"),
                &[],
            )
            .await
        {
            failures.push(format!("{frag}  ->  {sql}: {e}"));
        }
        tx.rollback().await.ok();
    }
    drop(c);
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .await
        .ok();
    assert!(
        failures.is_empty(),
        "PostgreSQL refused:\n{}",
        failures.join("\n")
    );
}

#[tokio::test]
async fn every_good_fragment_runs_on_mariadb_read_only() {
    let pool = mysql_async::Pool::new(maria_url().as_str());
    let mut c = match pool.get_conn().await {
        Ok(c) => c,
        Err(e) if !servers::required() => return eprintln!("skipping: MariaDB not reachable: {e}"),
        Err(e) => panic!("MariaDB is required but not reachable: {e}"),
    };
    let db = unique("pw_where");
    for stmt in [
        format!("CREATE DATABASE {db}"),
        format!(
            "CREATE TABLE {db}.orders (id INT, customer_id INT, status VARCHAR(20), total DECIMAL(10,2), \
             email VARCHAR(100), name VARCHAR(100), created_at DATETIME, country CHAR(2), quantity INT, \
             is_active BOOLEAN, notes TEXT, price DECIMAL(10,2), `Order Date` DATE, meta JSON)"
        ),
        format!(
            "INSERT INTO {db}.orders VALUES (3, 7, 'shipped', 120.50, 'ada@example.com', 'Ada', \
             '2024-05-01 10:00', 'DE', 2, true, NULL, 60.25, '2024-05-01', \
             '{{\"plan\": \"pro\", \"seats\": 4, \"tags\": [\"vip\"], \"address\": {{\"city\": \"Berlin\"}}}}')"
        ),
    ] {
        c.query_drop(stmt).await.unwrap();
    }
    let mut failures = Vec::new();
    // MariaDB has no `->` / `->>` (MySQL 5.7+ does; no MySQL server runs here): it reads
    // JSON with JSON_EXTRACT and JSON_VALUE, which run below.
    for (frag, sql) in rendered(Dialect::MySql, "shop", &db)
        .into_iter()
        .filter(|(_, sql)| !sql.contains("->"))
    {
        c.query_drop("START TRANSACTION READ ONLY").await.unwrap();
        let r: Result<Vec<i64>, _> = c
            .query(format!("SELECT count(*) FROM {db}.orders WHERE {sql}"))
            .await;
        if let Err(e) = r {
            failures.push(format!("{frag}  ->  {sql}: {e}"));
        }
        c.query_drop("ROLLBACK").await.unwrap();
    }
    c.query_drop(format!("DROP DATABASE {db}")).await.ok();
    drop(c);
    pool.disconnect().await.ok();
    assert!(
        failures.is_empty(),
        "MariaDB refused:\n{}",
        failures.join("\n")
    );
}
