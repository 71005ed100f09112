//! Package authoring benchmark (not a test), against the release server:
//! 1. `validate_package` latency for 5-, 20- and 100-component packages whose sources are
//!    a PostgreSQL table and a CSV on the S3 server (columns read through the drivers on
//!    every call), beside `get_package` on the same package as the baseline.
//! 2. `update_package_components` throughput (sequential, one client) on a SQLite and on a
//!    PostgreSQL control plane, beside `list_workspaces` on the same server.
//!
//! Needs PostgreSQL (PIPEWRIGHT_TEST_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres)
//! and the S3 server of `scripts/file-servers` (PIPEWRIGHT_TEST_S3_*; `scripts/bench` starts it).

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{
    add_connection, bench_account, percentile, pg_connect, pg_db_url, run_bench, with_pg_databases,
    McpServer,
};

const VALIDATIONS: usize = 40;
const UPDATES: usize = 300;

fn env(k: &str) -> String {
    std::env::var(k).unwrap_or_else(|_| panic!("{k} is not set; run scripts/bench"))
}

/// A source → filter → select chain naming its columns `id` and `amount`.
fn chain(i: usize, pg: i64, s3: i64) -> Vec<Value> {
    let (src, filter, select) = if i.is_multiple_of(2) {
        (
            json!({"database_source_component": {"name": format!("orders_{i}"), "connection_id": pg, "table": "orders"}}),
            "total > 10",
            json!(["id", "total AS amount"]),
        )
    } else {
        (
            json!({"cloud_storage_source_component": {"name": format!("people_{i}"), "connection_id": s3, "path": "people.csv"}}),
            "amount > 1",
            json!(["id", "amount"]),
        )
    };
    vec![
        src,
        json!({"filter_component": {"name": format!("filter_{i}"), "predicate": filter}}),
        json!({"select_component": {"name": format!("select_{i}"), "fields": select}}),
    ]
}

/// A valid package of exactly `n` components (5, or 3k + 2 and up) over both sources.
fn package(n: usize, pg: i64, s3: i64) -> Value {
    let mut components = Vec::new();
    let mut edges = Vec::new();
    let id = |c: &Value| c.as_object().unwrap().values().next().unwrap()["name"].clone();
    if n == 5 {
        let mut c = chain(0, pg, s3);
        c.push(json!({"limit_component": {"name": "top", "count": 100}}));
        c.push(json!({"database_destination_component": {"name": "sink", "connection_id": pg, "table": "sink", "operation": "append"}}));
        for w in c.windows(2) {
            edges.push(json!({"source": id(&w[0]), "target": id(&w[1])}));
        }
        components = c;
    } else {
        let chains = (n - 2) / 3;
        let extra = n - 2 - chains * 3;
        for i in 0..chains {
            let c = chain(i, pg, s3);
            edges.push(json!({"source": id(&c[0]), "target": id(&c[1])}));
            edges.push(json!({"source": id(&c[1]), "target": id(&c[2])}));
            edges.push(json!({"source": id(&c[2]), "target": "all"}));
            components.extend(c);
        }
        components.push(json!({"union_component": {"name": "all", "by_name": true}}));
        let mut last = json!("all");
        for j in 0..extra {
            let name = format!("tail_{j}");
            components.push(json!({"filter_component": {"name": name, "predicate": "amount > 0"}}));
            edges.push(json!({"source": last, "target": name}));
            last = json!(name);
        }
        components.push(json!({"database_destination_component": {"name": "sink", "connection_id": pg, "table": "sink", "operation": "append"}}));
        edges.push(json!({"source": last, "target": "sink"}));
    }
    // Edges name components by name here; give every component its name as id.
    for c in &mut components {
        let body = c.as_object_mut().unwrap().values_mut().next().unwrap();
        body["id"] = body["name"].clone();
    }
    assert_eq!(components.len(), n);
    json!({"name": format!("bench {n}"), "flow_type": "dataflow", "components": components, "edges": edges})
}

async fn time<F, Fut>(n: usize, mut f: F) -> Vec<Duration>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut t = Vec::with_capacity(n);
    for i in 0..n {
        let s = Instant::now();
        f(i).await;
        t.push(s.elapsed());
    }
    t.sort();
    t
}

async fn run() {
    with_pg_databases(&["pkg", "cp"], |dbs| {
        measure(dbs[0].clone(), dbs[1].clone())
    })
    .await;
}

async fn measure(shop: String, control: String) {
    pg_connect(&pg_db_url(&shop))
        .await
        .batch_execute(
            "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id integer, total numeric(12,2), status text);
             INSERT INTO orders SELECT g, g % 97, g * 1.5, 'open' FROM generate_series(1, 1000) g;
             CREATE TABLE sink (id bigint, amount numeric(38,10));",
        )
        .await
        .unwrap();

    println!("validate_package ({VALIDATIONS} calls per size; sources: a PostgreSQL table and a CSV on S3, columns read on every call)");
    println!("components | validate p50 ms  p99 ms | get_package p50 ms | p50 ×");
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    let token = bench_account(d);
    std::fs::write(d.join("id"), env("PIPEWRIGHT_TEST_S3_ACCESS_KEY_ID")).unwrap();
    std::fs::write(
        d.join("secret"),
        env("PIPEWRIGHT_TEST_S3_SECRET_ACCESS_KEY"),
    )
    .unwrap();
    let pg = add_connection(
        d,
        "pg",
        "postgres",
        &[
            "--set",
            "host=127.0.0.1",
            "--set",
            "port=5432",
            "--set",
            &format!("database={shop}"),
            "--set",
            "user=postgres",
        ],
    );
    let s3 = add_connection(
        d,
        "lake",
        "s3",
        &[
            "--set",
            &format!("bucket={}", env("PIPEWRIGHT_TEST_BUCKET")),
            "--set",
            &format!("endpoint={}", env("PIPEWRIGHT_TEST_S3_ENDPOINT")),
            "--secret-file",
            &format!("access_key_id={}", d.join("id").display()),
            "--secret-file",
            &format!("secret_access_key={}", d.join("secret").display()),
        ],
    );
    let server = McpServer::start(d, "bench", &token).await;
    for n in [5, 20, 100] {
        let created = server.ok("create_package", package(n, pg, s3)).await;
        let pid = created["package_id"].as_i64().unwrap();
        let first = server
            .ok("validate_package", json!({"package_id": pid}))
            .await;
        let errors = first["errors"].as_array().map_or(0, Vec::len);
        let v = time(VALIDATIONS, |_| async {
            server
                .ok("validate_package", json!({"package_id": pid}))
                .await;
        })
        .await;
        let g = time(VALIDATIONS, |_| async {
            server.ok("get_package", json!({"package_id": pid})).await;
        })
        .await;
        println!(
            "{n:>10} | {:>15.1} {:>7.1} | {:>18.2} | {:>5.1}{}",
            percentile(&v, 0.5),
            percentile(&v, 0.99),
            percentile(&g, 0.5),
            percentile(&v, 0.5) / percentile(&g, 0.5),
            if errors > 0 {
                format!("  ({errors} findings: {})", first["errors"][0])
            } else {
                String::new()
            }
        );
    }
    drop(server);

    println!("\nupdate_package_components, {UPDATES} sequential calls by one client (each: lock, edit, version, audit)");
    println!("control plane | updates/s | list_workspaces/s | ratio");
    for (label, url) in [("SQLite", None), ("PostgreSQL", Some(pg_db_url(&control)))] {
        let data = tempfile::tempdir().unwrap();
        let d = data.path();
        if let Some(u) = &url {
            std::env::set_var("PIPEWRIGHT_DATABASE_URL", u);
        }
        let token = bench_account(d);
        let server = McpServer::start(d, "bench", &token).await;
        let created = server
            .ok(
                "create_package",
                json!({"name": "edits", "flow_type": "dataflow", "components": [
                    {"filter_component": {"name": "f", "predicate": "x > 0"}}
                ]}),
            )
            .await;
        let pid = created["package_id"].as_i64().unwrap();
        let started = Instant::now();
        for i in 0..UPDATES {
            server
                .ok(
                    "update_package_components",
                    json!({"package_id": pid, "updates": [{"component_name": "f", "updates": {"predicate": format!("x > {i}")}}]}),
                )
                .await;
        }
        let updates = UPDATES as f64 / started.elapsed().as_secs_f64();
        let started = Instant::now();
        for _ in 0..UPDATES {
            server.ok("list_workspaces", json!({})).await;
        }
        let reads = UPDATES as f64 / started.elapsed().as_secs_f64();
        println!(
            "{label:>13} | {updates:>9.0} | {reads:>17.0} | {:.2}",
            updates / reads
        );
        std::env::remove_var("PIPEWRIGHT_DATABASE_URL");
    }
}

fn main() {
    run_bench(run);
}
