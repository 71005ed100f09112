//! Clusters as worker pools on one PostgreSQL control plane: `pipewright worker`
//! processes beside a server that runs none; a worker killed with SIGKILL mid-run; two
//! workers draining fifty queued runs, each run exactly once.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{cli, databases::TempDatabase, *};

/// `pipewright worker` on the same store, its output kept.
struct WorkerProcess(Child);

impl WorkerProcess {
    fn start(data_dir: &std::path::Path, database_url: &str) -> WorkerProcess {
        let child = Command::new(BIN)
            .args(["worker", "--data-dir"])
            .arg(data_dir)
            .args(["--database-url", database_url])
            .env("PIPEWRIGHT_RUN_LOST_AFTER_SECS", "3")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .stdin(Stdio::null())
            .spawn()
            .expect("start a worker");
        WorkerProcess(child)
    }

    fn kill9(&mut self) {
        let _ = Command::new("kill")
            .args(["-9", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn get(c: &mut Session, id: i64) -> Value {
    c.ok("get_run", json!({"run_id": id, "log_tail_lines": 50}))
        .await
}

async fn wait(c: &mut Session, id: i64, secs: u64, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let r = get(c, id).await;
        if done(&r) {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "run {id} did not get there in {secs} s: {r}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The server on a PostgreSQL control plane, with no worker of its own.
async fn server_without_worker(control: &TempDatabase) -> (Server, Session) {
    let url = control.url.clone();
    let mut s = Server::start_with(Options {
        demo: true,
        extra_args: &["--database-url", &url],
        env: &[
            ("PIPEWRIGHT_WORKER_CONCURRENCY", "0"),
            ("PIPEWRIGHT_RUN_LOST_AFTER_SECS", "3"),
        ],
        data_dir: None,
    });
    let token = s.demo_token();
    let c = Session::open(&s.url("demo"), &token).await;
    (s, c)
}

fn pg_connection(s: &Server, control_url: &str, name: &str, db: &TempDatabase) -> i64 {
    cli(
        &s.data_dir,
        &[
            "connection",
            "add",
            "--account",
            "demo",
            "--name",
            name,
            "--type",
            "postgres",
            "--set",
            "host=127.0.0.1",
            "--set",
            "port=5432",
            "--set",
            &format!("database={}", db.name),
            "--set",
            "user=postgres",
            "--set",
            "tls_mode=disable",
            "--database-url",
            control_url,
        ],
    )
    .trim()
    .parse()
    .unwrap()
}

/// A PostgreSQL control plane and a data database seeded with `seed`, the server on the
/// control plane (no worker of its own), and its connection to the data database.
async fn control_and_data(
    seed: &str,
) -> Option<(TempDatabase, TempDatabase, Server, Session, i64)> {
    let (Some(control), Some(data)) = (TempDatabase::create().await, TempDatabase::create().await)
    else {
        return None;
    };
    data.client().await.batch_execute(seed).await.unwrap();
    let (s, c) = server_without_worker(&control).await;
    let conn = pg_connection(&s, &control.url, "data", &data);
    Some((control, data, s, c, conn))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_run_fails_the_run_which_retries_elsewhere_and_nothing_runs_twice() {
    let Some((control, data, s, mut c, conn)) =
        control_and_data("CREATE TABLE target (id bigint); INSERT INTO target VALUES (-1);").await
    else {
        return;
    };
    let db = data.client().await;
    let pid = c
        .ok(
            "create_package",
            json!({"name": "slow load", "flow_type": "dataflow", "variables": {"n": 200000000},
                   "components": [
                {"postgres_source_component": {"id": "s", "name": "series", "connection_id": conn, "query": "SELECT g AS id FROM generate_series(1, $n) g"}},
                {"postgres_destination_component": {"id": "d", "name": "target", "connection_id": conn, "table": "target", "operation": "overwrite"}}
            ], "edges": [{"source": "s", "target": "d"}]}),
        )
        .await["package_id"]
        .as_i64()
        .unwrap();
    let id = c.ok("run_package", json!({"package_id": pid})).await["run_id"]
        .as_i64()
        .unwrap();
    assert_eq!(get(&mut c, id).await["status"], json!("queued"));
    let mut first = WorkerProcess::start(&s.data_dir, &control.url);
    wait(&mut c, id, 60, |r| {
        r["progress"].as_array().is_some_and(|p| {
            p.iter()
                .any(|x| x["rows_written"].as_u64().unwrap_or(0) > 0)
        })
    })
    .await;
    first.kill9();
    // Another worker notices the silence and fails the run; it does not run it again.
    let _second = WorkerProcess::start(&s.data_dir, &control.url);
    let r = wait(&mut c, id, 30, |r| r["status"] != json!("running")).await;
    assert_eq!(r["status"], json!("failed"), "{r}");
    let e = c.ok("explain_job_failure", json!({"run_id": id})).await;
    let text = e.to_string();
    assert!(text.contains("worker") && text.contains("retry"), "{e}");
    let ids: Vec<i64> = db
        .query("SELECT id FROM target", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        ids,
        vec![-1],
        "the killed run's overwrite must not be visible"
    );

    // Retried with a small n, it completes once.
    c.ok(
        "manage_package_variables",
        json!({"package_id": pid, "set": {"n": 1000}}),
    )
    .await;
    let retry = c.ok("retry_job", json!({"run_id": id})).await["run_id"]
        .as_i64()
        .unwrap();
    let r = wait(&mut c, retry, 60, |r| {
        r["status"] != json!("queued") && r["status"] != json!("running")
    })
    .await;
    assert_eq!(r["status"], json!("completed"), "{r}");
    let n: i64 = db
        .query_one("SELECT count(*) FROM target", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1000);
    assert_eq!(
        get(&mut c, id).await["status"],
        json!("failed"),
        "the original stays failed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_run_fifty_queued_runs_each_exactly_once() {
    let Some((control, data, s, mut c, conn)) =
        control_and_data("CREATE TABLE one (x bigint); INSERT INTO one VALUES (1);").await
    else {
        return;
    };
    let db = data.client().await;
    let pid = c
        .ok(
            "create_package",
            json!({"name": "tagged", "flow_type": "dataflow", "variables": {"tag": 0},
                   "components": [
                {"postgres_source_component": {"id": "s", "name": "one", "connection_id": conn, "table": "one"}},
                {"select_component": {"id": "p", "name": "tagged", "fields": ["$tag AS tag", "x"]}},
                {"postgres_destination_component": {"id": "d", "name": "seen", "connection_id": conn, "table": "seen"}}
            ], "edges": [{"source": "s", "target": "p"}, {"source": "p", "target": "d"}]}),
        )
        .await["package_id"]
        .as_i64()
        .unwrap();
    let mut ids = Vec::new();
    for tag in 1..=50 {
        ids.push(
            c.ok(
                "run_package",
                json!({"package_id": pid, "variables": {"tag": tag}}),
            )
            .await["run_id"]
                .as_i64()
                .unwrap(),
        );
    }
    let _a = WorkerProcess::start(&s.data_dir, &control.url);
    let _b = WorkerProcess::start(&s.data_dir, &control.url);
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let done = c
            .ok(
                "list_runs",
                json!({"package_id": pid, "status": "completed", "limit": 1}),
            )
            .await["total"]
            .as_i64()
            .unwrap();
        if done == 50 {
            break;
        }
        let failed = c
            .ok(
                "list_runs",
                json!({"package_id": pid, "status": "failed", "limit": 5}),
            )
            .await;
        assert_eq!(failed["total"], json!(0), "{failed}");
        assert!(
            Instant::now() < deadline,
            "{done} of 50 runs completed in time"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let rows: Vec<(i64, i64)> = db
        .query(
            "SELECT tag, count(*) FROM seen GROUP BY tag ORDER BY tag",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(rows, (1..=50).map(|t| (t, 1)).collect::<Vec<_>>());
    let mut workers = std::collections::BTreeSet::new();
    for id in ids {
        let r = get(&mut c, id).await;
        assert_eq!(r["status"], json!("completed"));
        if let Some(w) = r["worker_id"].as_str() {
            workers.insert(w.to_string());
        }
    }
    assert!(!workers.is_empty());
}
