//! Database tools against the machine's PostgreSQL, in one run:
//!   1. `preview_data` of 20 rows through the MCP HTTP endpoint of the release binary,
//!      beside the same SELECT through tokio-postgres directly (the baseline);
//!   2. `discover_schema`, a page of 100, on a database holding 10,000 tables.
//!
//!   cargo bench --bench database        (or scripts/bench)
//!
//! Needs PostgreSQL at PIPEWRIGHT_TEST_POSTGRES_URL (default
//! postgres://postgres@127.0.0.1:5432/postgres); creates two databases and drops them.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::{
    add_connection, bench_account, percentile, pg_connect, pg_db_url, run_bench, with_pg_databases,
    McpServer,
};

const ITERATIONS: usize = 300;

async fn run() {
    with_pg_databases(&["shop", "wide"], |dbs| {
        measure(dbs[0].clone(), dbs[1].clone())
    })
    .await;
}

async fn measure(shop: String, wide: String) {
    let (shop, wide) = (shop.as_str(), wide.as_str());
    // ---- data: 10,000 orders of mixed types; 10,000 one-column tables.
    let c = pg_connect(&pg_db_url(shop)).await;
    c.batch_execute(
        "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id integer, status text, total numeric(12,2),
                              ordered_at timestamptz, shipped boolean, note varchar(200), weight double precision);
         INSERT INTO orders SELECT g, g % 997, CASE WHEN g % 3 = 0 THEN 'shipped' ELSE 'open' END, g * 1.25,
                               '2024-01-01'::timestamptz + g * interval '1 minute', g % 2 = 0, 'order number ' || g, g / 7.0
           FROM generate_series(1, 10000) g;
         ANALYZE orders;",
    )
    .await
    .unwrap();
    let w = pg_connect(&pg_db_url(wide)).await;
    // A thousand tables per transaction (each CREATE holds a lock until commit).
    for batch in 0..10 {
        w.batch_execute(&format!(
            "DO $$ BEGIN FOR i IN {}..{} LOOP EXECUTE format('CREATE TABLE t%s (id int)', lpad(i::text, 5, '0')); END LOOP; END $$;",
            batch * 1000 + 1,
            batch * 1000 + 1000
        ))
        .await
        .unwrap();
    }

    // ---- the server, an account, a token, two connections.
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    let token = bench_account(d);
    let conn = |name: &str, db: &str| {
        let database = format!("database={db}");
        add_connection(
            d,
            name,
            "postgres",
            &[
                "--set",
                "host=127.0.0.1",
                "--set",
                "port=5432",
                "--set",
                &database,
                "--set",
                "user=postgres",
            ],
        )
    };
    let shop_id = conn("shop", shop);
    let wide_id = conn("wide", wide);
    let server = McpServer::start(d, "bench", &token).await;
    let call = |name: &'static str, args: serde_json::Value| server.call(name, args);

    // ---- 1. preview_data 20 rows vs tokio-postgres directly.
    let preview_args = json!({"connection_id": shop_id, "table_name": "orders", "row_count": 20});
    for _ in 0..20 {
        call("preview_data", preview_args.clone()).await;
    }
    let mut mcp = Vec::with_capacity(ITERATIONS);
    for _ in 0..ITERATIONS {
        let t = Instant::now();
        call("preview_data", preview_args.clone()).await;
        mcp.push(t.elapsed());
    }
    let direct_sql = "SELECT id, customer_id, status, total::text, ordered_at, shipped, note, weight FROM orders LIMIT 20";
    for _ in 0..20 {
        c.query(direct_sql, &[]).await.unwrap();
    }
    let mut direct = Vec::with_capacity(ITERATIONS);
    for _ in 0..ITERATIONS {
        let t = Instant::now();
        let rows = c.query(direct_sql, &[]).await.unwrap();
        assert_eq!(rows.len(), 20);
        direct.push(t.elapsed());
    }
    mcp.sort();
    direct.sort();

    // ---- 2. discover_schema on 10,000 tables, a page of 100.
    let mut pages = Vec::with_capacity(50);
    for i in 0..50 {
        let t = Instant::now();
        let body = call(
            "discover_schema",
            json!({"connection_id": wide_id, "limit": 100, "offset": i * 100}),
        )
        .await;
        pages.push(t.elapsed());
        assert!(body.contains("\"total\":10000"), "{body}");
    }
    pages.sort();
    let mut searched = Vec::with_capacity(50);
    for _ in 0..50 {
        let t = Instant::now();
        call(
            "discover_schema",
            json!({"connection_id": wide_id, "limit": 100, "search": "t099"}),
        )
        .await;
        searched.push(t.elapsed());
    }
    searched.sort();

    println!(
        "PostgreSQL {} on loopback, {ITERATIONS} sequential calls each, 2 cores",
        c.query_one("SHOW server_version", &[])
            .await
            .unwrap()
            .get::<_, String>(0)
    );
    println!();
    println!("{:<58} {:>9} {:>9}", "", "p50 ms", "p99 ms");
    let row = |label: &str, v: &[Duration]| {
        println!(
            "{label:<58} {:>9.3} {:>9.3}",
            percentile(v, 0.5),
            percentile(v, 0.99)
        )
    };
    row(
        "preview_data, 20 rows, via MCP HTTP (auth, session, SSE)",
        &mcp,
    );
    row(
        "same SELECT via tokio-postgres directly (baseline)",
        &direct,
    );
    let (m50, d50) = (percentile(&mcp, 0.5), percentile(&direct, 0.5));
    println!(
        "ratio p50: {:.2}x; overhead p50: {:.3} ms (goal: <= 1.5x baseline + 2 ms = {:.3} ms: {})",
        m50 / d50,
        m50 - d50,
        1.5 * d50 + 2.0,
        if m50 <= 1.5 * d50 + 2.0 {
            "met"
        } else {
            "not met"
        }
    );
    println!();
    row("discover_schema, page of 100 of 10,000 tables", &pages);
    row("discover_schema, search over 10,000 tables", &searched);
    println!(
        "goal: page of 100 <= 300 ms: {}",
        if percentile(&pages, 0.5) <= 300.0 {
            "met"
        } else {
            "not met"
        }
    );
}

fn main() {
    run_bench(run);
}
