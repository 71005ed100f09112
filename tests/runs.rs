//! Packages run for real, through the MCP endpoint of the real binary: sources and
//! destinations on the machine's PostgreSQL and MariaDB, the S3 server, the SFTP server
//! and local folders; cancellation, retries, failure explanations; workers killed
//! mid-run and workers sharing one PostgreSQL control plane.

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{
    databases::{connection, maria_connection, pg_connection, TempDatabase, TempMariaDb},
    services_required, *,
};

/// Polls `get_run` until `done` holds (deadline `secs`); the last answer.
async fn wait_run(c: &mut Session, run_id: i64, secs: u64, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let r = c
            .ok("get_run", json!({"run_id": run_id, "log_tail_lines": 200}))
            .await;
        if done(&r) {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "run {run_id} did not get there in {secs} s: {r}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn finished(r: &Value) -> bool {
    matches!(
        r["status"].as_str(),
        Some("completed" | "failed" | "cancelled")
    )
}

/// Runs a package to its end; the finished run.
async fn run(c: &mut Session, package_id: i64, args: Value) -> Value {
    let mut a = json!({"package_id": package_id});
    if let (Some(a), Some(extra)) = (a.as_object_mut(), args.as_object()) {
        a.extend(extra.clone());
    }
    let started = c.ok("run_package", a).await;
    let id = started["run_id"].as_i64().expect("run_id");
    wait_run(c, id, 120, finished).await
}

async fn package(
    c: &mut Session,
    name: &str,
    components: Value,
    edges: &[(&str, &str)],
    variables: Value,
) -> i64 {
    let edges: Vec<Value> = edges
        .iter()
        .map(|(s, t)| json!({"source": s, "target": t}))
        .collect();
    c.ok(
        "create_package",
        json!({"name": name, "flow_type": "dataflow", "components": components, "edges": edges, "variables": variables}),
    )
    .await["package_id"]
        .as_i64()
        .unwrap()
}

fn env(k: &str) -> Option<String> {
    std::env::var(k).ok().filter(|v| !v.is_empty())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_joined_with_a_csv_on_s3_aggregated_into_mariadb() {
    let (Some(pg), Some(maria)) = (TempDatabase::create().await, TempMariaDb::create().await)
    else {
        return;
    };
    let (Some(endpoint), Some(bucket), Some(key_id), Some(secret)) = (
        env("PIPEWRIGHT_TEST_S3_ENDPOINT"),
        env("PIPEWRIGHT_TEST_BUCKET"),
        env("PIPEWRIGHT_TEST_S3_ACCESS_KEY_ID"),
        env("PIPEWRIGHT_TEST_S3_SECRET_ACCESS_KEY"),
    ) else {
        assert!(
            !services_required(),
            "the S3 test server is required (scripts/file-servers)"
        );
        return;
    };
    let db = pg.client().await;
    db.batch_execute(
        "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL, total numeric(10,2) NOT NULL, status text NOT NULL);
         INSERT INTO orders VALUES (1, 1, 10.50, 'paid'), (2, 1, 4.50, 'paid'), (3, 2, 100.00, 'paid'),
                                   (4, 3, 7.25, 'paid'), (5, 3, 1.00, 'cancelled'), (6, 4, 3.00, 'paid');",
    )
    .await
    .unwrap();
    // The customers file, uploaded to the real S3 server.
    let key = format!("runs-{}/customers.csv", std::process::id());
    let store = connectors::files::open(
        connectors::files::FileConfig::from_fields(
            "s3",
            json!({"bucket": bucket, "endpoint": endpoint, "region": "us-east-1"})
                .as_object()
                .unwrap(),
            [
                ("access_key_id".to_string(), key_id.clone()),
                ("secret_access_key".to_string(), secret.clone()),
            ]
            .into(),
            None,
        )
        .unwrap(),
    )
    .unwrap();
    store
        .put(
            &key,
            b"id,country,name\n1,DE,Anna\n2,FR,Bruno\n3,DE,Chen\n4,IT,Dora\n".to_vec(),
        )
        .await
        .unwrap();

    let (s, mut c) = demo().await;
    let src = pg_connection(&s, "shop-pg", &pg);
    let lake = connection(
        &s,
        "lake",
        "s3",
        &[format!("bucket={bucket}"), format!("endpoint={endpoint}")],
        &[("access_key_id", &key_id), ("secret_access_key", &secret)],
    );
    let dst = maria_connection(&s, "mart", &maria, None);
    let pid = package(
        &mut c,
        "revenue by country",
        json!([
            {"postgres_source_component": {"id": "o", "name": "orders", "connection_id": src, "table": "orders"}},
            {"cloud_storage_source_component": {"id": "cu", "name": "customers", "connection_id": lake, "path": key}},
            {"filter_component": {"id": "f", "name": "paid", "predicate": "status = 'paid'"}},
            {"join_component": {"id": "j", "name": "with_country", "on": "orders.customer_id = customers.id"}},
            {"aggregate_component": {"id": "a", "name": "per_country", "group_by": ["country"], "measures": ["sum(total) AS revenue", "count(*) AS orders"]}},
            {"mysql_destination_component": {"id": "d", "name": "mart_revenue", "connection_id": dst, "table": "revenue", "operation": "overwrite"}}
        ]),
        &[("o", "f"), ("f", "j"), ("cu", "j"), ("j", "a"), ("a", "d")],
        json!({}),
    )
    .await;
    let r = run(&mut c, pid, json!({})).await;
    assert_eq!(r["status"], json!("completed"), "{r}");
    assert_eq!(r["rows_written"], json!(3), "{r}");

    use mysql_async::prelude::Queryable;
    let mut m = maria.conn().await;
    let rows: Vec<(String, String, i64)> = m
        .query("SELECT country, CAST(revenue AS CHAR), orders FROM revenue ORDER BY country")
        .await
        .unwrap();
    let rows: Vec<(String, f64, i64)> = rows
        .into_iter()
        .map(|(c, r, n)| (c, r.parse::<f64>().unwrap(), n))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("DE".into(), 22.25, 3),
            ("FR".into(), 100.0, 1),
            ("IT".into(), 3.0, 1)
        ]
    );
    // Progress per component, and a log that says what happened.
    let progress = r["progress"].as_array().expect("progress");
    let of = |name: &str| {
        progress
            .iter()
            .find(|p| p["component"] == json!(name))
            .cloned()
            .unwrap_or_default()
    };
    // `status = 'paid'` went to PostgreSQL: the cancelled order never left the server.
    assert_eq!(of("orders")["rows_read"], json!(5), "{r}");
    assert_eq!(of("customers")["rows_read"], json!(4), "{r}");
    assert_eq!(of("mart_revenue")["rows_written"], json!(3), "{r}");
    assert!(r["runtime_in_seconds"].as_f64().is_some(), "{r}");
    let _ = m.disconnect().await;
    let _ = store;
}

/// A Latin-1 CSV on the SFTP server merged into a PostgreSQL table on its key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latin1_csv_over_sftp_upserts_into_postgres() {
    let Some(pg) = TempDatabase::create().await else {
        return;
    };
    let (Some(port), Some(user), Some(password), Some(home)) = (
        env("PIPEWRIGHT_TEST_SSH_PORT"),
        env("PIPEWRIGHT_TEST_SSH_USER"),
        env("PIPEWRIGHT_TEST_SSH_PASSWORD"),
        env("PIPEWRIGHT_TEST_SSH_HOME"),
    ) else {
        assert!(
            !services_required(),
            "the SFTP test server is required (scripts/ssh-server)"
        );
        return;
    };
    let folder = format!("pw-runs-{}", std::process::id());
    std::fs::create_dir_all(std::path::Path::new(&home).join(&folder)).unwrap();
    // "Müller", "Zoë", "Ångström" in ISO-8859-1.
    let mut bytes = b"id;name;city\n1;M".to_vec();
    bytes.extend([0xFC]);
    bytes.extend(b"ller;K");
    bytes.extend([0xF6]);
    bytes.extend(b"ln\n2;Zo");
    bytes.extend([0xEB]);
    bytes.extend(b";Paris\n3;");
    bytes.extend([0xC5]);
    bytes.extend(b"ngstr");
    bytes.extend([0xF6]);
    bytes.extend(b"m;Lund\n");
    std::fs::write(
        std::path::Path::new(&home).join(&folder).join("people.csv"),
        &bytes,
    )
    .unwrap();

    let db = pg.client().await;
    db.batch_execute(
        "CREATE TABLE people (id bigint PRIMARY KEY, name text, city text);
         INSERT INTO people VALUES (1, 'old name', 'old city'), (9, 'untouched', 'Oslo');",
    )
    .await
    .unwrap();
    let (s, mut c) = demo().await;
    let sftp = connection(
        &s,
        "partner-sftp",
        "sftp",
        &[
            "host=127.0.0.1".into(),
            format!("port={port}"),
            format!("user={user}"),
        ],
        &[("password", &password)],
    );
    let dst = pg_connection(&s, "crm", &pg);
    let pid = package(
        &mut c,
        "partner people",
        json!([
            {"cloud_storage_source_component": {"id": "s", "name": "people_csv", "connection_id": sftp, "path": format!("{folder}/people.csv"), "encoding": "ISO-8859-1", "delimiter": ";"}},
            {"postgres_destination_component": {"id": "d", "name": "people", "connection_id": dst, "table": "people", "operation": "merge", "merge_keys": ["id"]}}
        ]),
        &[("s", "d")],
        json!({}),
    )
    .await;
    let r = run(&mut c, pid, json!({})).await;
    assert_eq!(r["status"], json!("completed"), "{r}");
    let rows: Vec<(i64, String, String)> = db
        .query("SELECT id, name, city FROM people ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        rows,
        vec![
            (1, "Müller".into(), "Köln".into()),
            (2, "Zoë".into(), "Paris".into()),
            (3, "Ångström".into(), "Lund".into()),
            (9, "untouched".into(), "Oslo".into()),
        ]
    );
    let _ = std::fs::remove_dir_all(std::path::Path::new(&home).join(&folder));
}

/// PostgreSQL rows written as Parquet to a local folder, read back value by value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_to_parquet_in_a_local_folder_reads_back() {
    let Some(pg) = TempDatabase::create().await else {
        return;
    };
    let db = pg.client().await;
    db.batch_execute(
        "CREATE TABLE events (id bigint, kind text, amount numeric(12,3), at timestamp, ok boolean);
         INSERT INTO events SELECT g, CASE WHEN g % 2 = 0 THEN 'even' ELSE 'odd' END, g * 1.5, TIMESTAMP '2026-01-01' + g * INTERVAL '1 hour', g % 3 = 0
         FROM generate_series(1, 1000) g;
         INSERT INTO events VALUES (1001, NULL, NULL, NULL, NULL);",
    )
    .await
    .unwrap();
    let (s, mut c) = demo().await;
    let out = tempfile::tempdir().unwrap();
    let src = pg_connection(&s, "events-pg", &pg);
    let folder = connection(
        &s,
        "exports",
        "local",
        &[format!("path={}", out.path().display())],
        &[],
    );
    let pid = package(
        &mut c,
        "events to parquet",
        json!([
            {"postgres_source_component": {"id": "s", "name": "events", "connection_id": src, "table": "events"}},
            {"cloud_storage_destination_component": {"id": "d", "name": "events_parquet", "connection_id": folder, "path": "events.parquet", "record_type": "parquet"}}
        ]),
        &[("s", "d")],
        json!({}),
    )
    .await;
    let r = run(&mut c, pid, json!({})).await;
    assert_eq!(r["status"], json!("completed"), "{r}");

    use parquet::arrow::arrow_reader::ArrowReaderOptions;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let file = std::fs::File::open(out.path().join("events.parquet")).unwrap();
    let reader =
        ParquetRecordBatchReaderBuilder::try_new_with_options(file, ArrowReaderOptions::new())
            .unwrap()
            .build()
            .unwrap();
    let mut seen = 0usize;
    let mut sum_ids = 0i64;
    let mut nulls = 0usize;
    for batch in reader {
        let batch = batch.unwrap();
        let names: Vec<String> = batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(names, ["id", "kind", "amount", "at", "ok"]);
        use engine::arrow::array::Array;
        let ids = batch
            .column(0)
            .as_any()
            .downcast_ref::<engine::arrow::array::Int64Array>()
            .map(|a| a.values().iter().sum::<i64>());
        sum_ids += ids.expect("id is a 64-bit integer column");
        nulls += batch.column(1).null_count();
        seen += batch.num_rows();
    }
    assert_eq!(seen, 1001);
    assert_eq!(sum_ids, (1..=1001).sum::<i64>());
    assert_eq!(nulls, 1);
}

/// Cancelling a run mid-way leaves an overwrite destination as it was; cancelling again
/// answers the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_overwrite_leaves_the_old_rows() {
    let Some(pg) = TempDatabase::create().await else {
        return;
    };
    let db = pg.client().await;
    db.batch_execute("CREATE TABLE big (id bigint); INSERT INTO big VALUES (1), (2), (3);")
        .await
        .unwrap();
    let (s, mut c) = demo().await;
    let conn = pg_connection(&s, "pg", &pg);
    let pid = package(
        &mut c,
        "slow overwrite",
        json!([
            {"postgres_source_component": {"id": "s", "name": "series", "connection_id": conn, "query": "SELECT g AS id FROM generate_series(1, 200000000) g"}},
            {"postgres_destination_component": {"id": "d", "name": "big", "connection_id": conn, "table": "big", "operation": "overwrite"}}
        ]),
        &[("s", "d")],
        json!({}),
    )
    .await;
    let id = c.ok("run_package", json!({"package_id": pid})).await["run_id"]
        .as_i64()
        .unwrap();
    // Cancel once rows are flowing into the destination.
    wait_run(&mut c, id, 60, |r| {
        r["progress"].as_array().is_some_and(|p| {
            p.iter().any(|x| {
                x["component"] == json!("big") && x["rows_written"].as_u64().unwrap_or(0) > 0
            })
        })
    })
    .await;
    let asked = Instant::now();
    c.ok("cancel_job", json!({"run_id": id})).await;
    let r = wait_run(&mut c, id, 10, finished).await;
    assert_eq!(r["status"], json!("cancelled"), "{r}");
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "cancellation took {:?}",
        asked.elapsed()
    );
    let again = c.ok("cancel_job", json!({"run_id": id})).await;
    assert_eq!(again["status"], json!("cancelled"), "{again}");
    let ids: Vec<i64> = db
        .query("SELECT id FROM big ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ids, vec![1, 2, 3]);
    let explained = c.ok("explain_job_failure", json!({"run_id": id})).await;
    assert_eq!(explained["category"], json!("cancelled"), "{explained}");
}

/// A run that fails for a real reason is explained; fixed, its retry succeeds and the
/// original stays as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_run_is_explained_then_retried_once_fixed() {
    let Some(pg) = TempDatabase::create().await else {
        return;
    };
    let (s, mut c) = demo().await;
    let conn = pg_connection(&s, "pg", &pg);
    let pid = package(
        &mut c,
        "late table",
        json!([
            {"postgres_source_component": {"id": "s", "name": "late", "connection_id": conn, "table": "late"}},
            {"postgres_destination_component": {"id": "d", "name": "copy", "connection_id": conn, "table": "late_copy"}}
        ]),
        &[("s", "d")],
        json!({}),
    )
    .await;
    let failed = run(&mut c, pid, json!({})).await;
    assert_eq!(failed["status"], json!("failed"), "{failed}");
    let id = failed["id"].as_i64().or(failed["run_id"].as_i64()).unwrap();
    let e = c.ok("explain_job_failure", json!({"run_id": id})).await;
    assert_eq!(e["category"], json!("schema"), "{e}");
    assert_eq!(e["component"], json!("late"), "{e}");
    assert_eq!(e["property"], json!("table"), "{e}");

    let db = pg.client().await;
    db.batch_execute(
        "CREATE TABLE late (id bigint, note text); INSERT INTO late VALUES (1, 'a'), (2, 'b');",
    )
    .await
    .unwrap();
    let retry = c.ok("retry_job", json!({"run_id": id})).await;
    let new_id = retry["run_id"].as_i64().unwrap();
    assert_ne!(new_id, id);
    let r = wait_run(&mut c, new_id, 60, finished).await;
    assert_eq!(r["status"], json!("completed"), "{r}");
    let n: i64 = db
        .query_one("SELECT count(*) FROM late_copy", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 2);
    let original = c.ok("get_run", json!({"run_id": id})).await;
    assert_eq!(original["status"], json!("failed"));
    // Retries are children: listed only when asked for.
    let listed = c.ok("list_runs", json!({"package_id": pid})).await;
    assert_eq!(listed["total"], json!(1), "{listed}");
    let all = c
        .ok(
            "list_runs",
            json!({"package_id": pid, "include_retries": true}),
        )
        .await;
    assert_eq!(all["total"], json!(2), "{all}");
}

/// The four failures an engineer meets most, each with its category and the component
/// and property to change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_categorised_with_the_component_and_property_to_change() {
    let (Some(pg), Some(maria)) = (TempDatabase::create().await, TempMariaDb::create().await)
    else {
        return;
    };
    let db = pg.client().await;
    db.batch_execute(
        "CREATE TABLE orders (id bigint, total numeric(10,2)); INSERT INTO orders VALUES (1, 2.5);",
    )
    .await
    .unwrap();
    let (s, mut c) = demo().await;
    let good = pg_connection(&s, "pg", &pg);
    const PW: &str = "Wrong-LEAKCHECK-pw-42";
    let wrong_pw = maria_connection(&s, "maria-wrong-pw", &maria, Some(PW));
    let nowhere = connection(
        &s,
        "nowhere",
        "postgres",
        &[
            "host=127.0.0.1".into(),
            "port=1".into(),
            "database=x".into(),
            "user=postgres".into(),
            "tls_mode=disable".into(),
        ],
        &[],
    );
    let cases = [
        (wrong_pw, "total > 0", "id", "auth", "src", "connection_id"),
        (
            nowhere,
            "total > 0",
            "id",
            "connection",
            "src",
            "connection_id",
        ),
        (good, "amount > 0", "id", "schema", "keep", "predicate"),
        (
            good,
            "total > 0",
            "total +* 2 AS doubled",
            "expression",
            "shape",
            "fields",
        ),
    ];
    for (i, (source, predicate, field, category, component, property)) in
        cases.into_iter().enumerate()
    {
        let table = if source == wrong_pw { "t" } else { "orders" };
        let pid = package(
            &mut c,
            &format!("case {i}"),
            json!([
                {"database_source_component": {"id": "s", "name": "src", "connection_id": source, "table": table}},
                {"filter_component": {"id": "f", "name": "keep", "predicate": predicate}},
                {"select_component": {"id": "p", "name": "shape", "fields": [field]}},
                {"postgres_destination_component": {"id": "d", "name": "out", "connection_id": good, "table": format!("out_{i}")}}
            ]),
            &[("s", "f"), ("f", "p"), ("p", "d")],
            json!({}),
        )
        .await;
        let r = run(&mut c, pid, json!({})).await;
        assert_eq!(r["status"], json!("failed"), "case {i}: {r}");
        let id = r["id"].as_i64().or(r["run_id"].as_i64()).unwrap();
        let e = c.ok("explain_job_failure", json!({"run_id": id})).await;
        assert_eq!(e["category"], json!(category), "case {i}: {e}");
        assert_eq!(e["component"], json!(component), "case {i}: {e}");
        assert_eq!(e["property"], json!(property), "case {i}: {e}");
        let steps = e["next_steps"].to_string();
        assert!(
            steps.contains(component) && steps.contains(property),
            "case {i}: {e}"
        );
        let everything = format!("{r}{e}{}", s.logs());
        assert!(
            !everything.contains(PW),
            "the password came back in case {i}"
        );
    }
}

/// A run variable that tries to end its string literal in a pushed-down filter is data,
/// not SQL: the rows kept are exactly the ones equal to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_variable_in_a_filter_is_compared_not_executed() {
    let Some(pg) = TempDatabase::create().await else {
        return;
    };
    let db = pg.client().await;
    db.batch_execute(
        r"CREATE TABLE people (id bigint, name text);
          INSERT INTO people VALUES (1, 'Ann'), (2, 'O''Brien'), (3, 'x\'' OR 1=1 --');",
    )
    .await
    .unwrap();
    let (s, mut c) = demo().await;
    let conn = pg_connection(&s, "pg", &pg);
    let pid = package(
        &mut c,
        "by name",
        json!([
            {"postgres_source_component": {"id": "s", "name": "people", "connection_id": conn, "table": "people"}},
            {"filter_component": {"id": "f", "name": "named", "predicate": "name = $who"}},
            {"postgres_destination_component": {"id": "d", "name": "out", "connection_id": conn, "table": "picked", "operation": "overwrite"}}
        ]),
        &[("s", "f"), ("f", "d")],
        json!({"who": "nobody"}),
    )
    .await;
    for (who, expected) in [
        (r"\' OR 1=1 --", vec![]),
        ("O'Brien", vec![2i64]),
        (r"x\' OR 1=1 --", vec![3]),
    ] {
        let r = run(&mut c, pid, json!({"variables": {"who": who}})).await;
        assert_eq!(r["status"], json!("completed"), "{r}");
        let ids: Vec<i64> = db
            .query("SELECT id FROM picked ORDER BY id", &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(ids, expected, "who = {who}");
    }
}

/// The demo's run history is real: its packages ran when the demo was created, moving the
/// shop's rows into its analytics database, and the one meant to fail is explained.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_history_is_made_of_real_runs() {
    let (_s, mut c) = demo().await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let runs = loop {
        let list = c.ok("list_runs", json!({"limit": 50})).await;
        let runs = list["runs"].as_array().unwrap().clone();
        if !runs.is_empty() && runs.iter().all(finished) {
            break runs;
        }
        assert!(Instant::now() < deadline, "demo runs still open: {list}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let failed: Vec<&Value> = runs
        .iter()
        .filter(|r| r["status"] == json!("failed"))
        .collect();
    assert_eq!(failed.len(), 1, "{runs:?}");
    assert_eq!(failed[0]["package_name"], json!("Refunded orders report"));
    for r in runs.iter().filter(|r| r["status"] != json!("failed")) {
        assert_eq!(r["status"], json!("completed"), "{r}");
        assert!(r["rows_written"].as_i64().unwrap() > 0, "{r}");
    }
    let e = c
        .ok("explain_job_failure", json!({"run_id": failed[0]["id"]}))
        .await;
    assert_eq!(e["category"], json!("schema"), "{e}");
    assert_eq!(e["component"], json!("refunded"), "{e}");
    assert_eq!(e["property"], json!("predicate"), "{e}");
}
