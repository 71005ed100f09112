//! The six run tools called through the tool table on a real (SQLite) store, with the
//! test standing in for a worker through the store's own queue API.

use std::sync::Arc;

use catalog::{
    clusters::NewCluster,
    connection_source::StoredConnections,
    packages::NewPackage,
    runs::{NewRun, RunOutcome, WorkerInfo},
    seal::Sealer,
    tokens::NewToken,
    Store,
};
use mcp::{context::ToolContext, registry::Registry, tools};
use serde_json::{json, Value};

struct Bench {
    _dir: tempfile::TempDir,
    store: Store,
    ctx: ToolContext,
    tools: Registry,
    package: i64,
    cluster: i64,
    account: i64,
}

impl Bench {
    async fn call(&self, name: &str, args: Value) -> Result<Value, Value> {
        let spec = self.tools.get(name).expect("the tool is served");
        // As the server does: the principal names the tool it calls.
        let mut ctx = self.ctx.clone();
        ctx.principal.tool = Some(name.to_string());
        spec.call(ctx, args)
            .await
            .map_err(|e| serde_json::to_value(e).unwrap())
    }

    async fn ok(&self, name: &str, args: Value) -> Value {
        self.call(name, args.clone())
            .await
            .unwrap_or_else(|e| panic!("{name}({args}) failed: {e}"))
    }

    async fn err(&self, name: &str, args: Value) -> Value {
        match self.call(name, args.clone()).await {
            Err(e) => e,
            Ok(v) => panic!("{name}({args}) should fail, returned {v}"),
        }
    }

    /// Claims the oldest queued run as a worker would, and ends it with `outcome`.
    async fn run_as_worker(&self, log: &[(&str, &str)], outcome: RunOutcome) -> i64 {
        let w = WorkerInfo {
            id: "test-worker".into(),
            cluster: None,
            hostname: "here".into(),
            pid: 1,
        };
        let c = self
            .store
            .claim_run(&w)
            .await
            .unwrap()
            .expect("a queued run");
        let lines: Vec<(String, String)> = log
            .iter()
            .map(|(l, m)| (l.to_string(), m.to_string()))
            .collect();
        self.store.append_run_log(c.run_id, &lines).await.unwrap();
        assert!(self
            .store
            .finish_run(c.run_id, &w.id, outcome)
            .await
            .unwrap());
        c.run_id
    }
}

async fn bench() -> Bench {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_data_dir(dir.path()).await.unwrap();
    let account = store.create_account("acme", "Acme").await.unwrap();
    let user = store
        .add_member(account.id, "ada@acme.io", "Ada", "owner")
        .await
        .unwrap();
    let (_, secret) = store
        .create_token(NewToken {
            account_id: account.id,
            user_id: user.id,
            name: "laptop",
            lifetime_ms: None,
            read_only: false,
        })
        .await
        .unwrap();
    let principal = store
        .authenticate(&secret, &account)
        .await
        .unwrap()
        .unwrap();
    let package = store
        .create_package(NewPackage {
            account_id: account.id,
            workspace_id: None,
            name: "orders",
            description: "",
            flow_type: "dataflow",
            data_flow_json: json!({"components": [], "edges": []}),
            variables: json!({"since": "2020-01-01"}),
        })
        .await
        .unwrap();
    let cluster = store
        .create_cluster(NewCluster {
            account_id: account.id,
            name: "default",
            status: "available",
            kind: "local",
            nodes: 1,
            region: "eu",
            terminate_on_idle: false,
        })
        .await
        .unwrap();
    let sealer = Arc::new(Sealer::from_key_bytes(&[7u8; 32]).unwrap());
    let connections = Arc::new(connectors::Connections::new(Arc::new(
        StoredConnections::new(store.clone(), sealer.clone()),
    )));
    Bench {
        ctx: ToolContext {
            store: store.clone(),
            sealer,
            principal,
            connections,
        },
        tools: tools::registry(false).unwrap(),
        store,
        package,
        cluster,
        account: account.id,
        _dir: dir,
    }
}

fn failed(error: Value) -> RunOutcome {
    RunOutcome {
        status: "failed",
        rows_read: 0,
        rows_written: 0,
        progress: json!([]),
        error: Some(error),
    }
}

fn completed() -> RunOutcome {
    RunOutcome {
        status: "completed",
        rows_read: 3,
        rows_written: 3,
        progress: json!([{"component": "orders", "rows_read": 3, "bytes_read": 9, "rows_written": 0, "bytes_written": 0}]),
        error: None,
    }
}

#[tokio::test]
async fn run_package_queues_and_refuses_what_it_cannot_run() {
    let b = bench().await;
    let r = b
        .ok(
            "run_package",
            json!({"package_id": b.package, "cluster_id": b.cluster, "variables": {"since": "2026-01-01"}}),
        )
        .await;
    assert_eq!(r["status"], json!("queued"));
    let run_id = r["run_id"].as_i64().unwrap();
    let got = b.ok("get_run", json!({"run_id": run_id})).await;
    assert_eq!(
        (got["status"].clone(), got["variables"]["since"].clone()),
        (json!("queued"), json!("2026-01-01"))
    );

    let e = b.err("run_package", json!({"package_id": 999})).await;
    assert_eq!(
        (e["code"].clone(), e["field"].clone()),
        (json!("not_found"), json!("package_id"))
    );
    let e = b
        .err(
            "run_package",
            json!({"package_id": b.package, "cluster_id": 999}),
        )
        .await;
    assert_eq!(
        (e["code"].clone(), e["field"].clone()),
        (json!("not_found"), json!("cluster_id"))
    );
    let e = b
        .err(
            "run_package",
            json!({"package_id": b.package, "variables": {"pw": {"nested": "hunter2"}}}),
        )
        .await;
    assert_eq!(
        (e["code"].clone(), e["field"].clone()),
        (json!("invalid_argument"), json!("variables"))
    );
    assert!(!e.to_string().contains("hunter2"), "{e}");
    let e = b
        .err(
            "run_package",
            json!({"package_id": b.package, "cluster": 1}),
        )
        .await;
    assert_eq!(e["field"], json!("cluster"));
}

#[tokio::test]
async fn list_and_get_runs_page_filter_and_redact() {
    let b = bench().await;
    for _ in 0..3 {
        b.ok("run_package", json!({"package_id": b.package})).await;
    }
    let done = b
        .run_as_worker(
            &[
                ("INFO", "connecting to postgres://etl:hunter2@db/shop"),
                ("INFO", "password=hunter2 accepted"),
            ],
            completed(),
        )
        .await;
    let all = b.ok("list_runs", json!({})).await;
    assert_eq!(
        (all["total"].clone(), all["limit"].clone()),
        (json!(3), json!(25))
    );
    let completed_only = b.ok("list_runs", json!({"status": "completed"})).await;
    assert_eq!(completed_only["runs"][0]["id"], json!(done));
    assert_eq!(completed_only["total"], json!(1));
    let page = b.ok("list_runs", json!({"limit": 1, "offset": 2})).await;
    assert_eq!(page["runs"][0]["id"], json!(done), "newest first");
    assert_eq!(
        b.err("list_runs", json!({"status": "exploded"})).await["field"],
        json!("status")
    );
    assert_eq!(
        b.err("list_runs", json!({"package_id": 999})).await["field"],
        json!("package_id")
    );

    let r = b.ok("get_run", json!({"run_id": done})).await;
    assert_eq!(r["status"], json!("completed"));
    assert_eq!(r["rows_written"], json!(3));
    assert_eq!(r["progress"][0]["component"], json!("orders"));
    let text = r.to_string();
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("postgres://etl:[redacted]@db/shop"), "{text}");
    let one = b
        .ok("get_run", json!({"run_id": done, "log_tail_lines": 1}))
        .await;
    assert_eq!(one["log"].as_array().unwrap().len(), 1);
    let e = b
        .err("get_run", json!({"run_id": done, "log_tail_lines": 201}))
        .await;
    assert_eq!(
        (e["code"].clone(), e["field"].clone()),
        (json!("invalid_argument"), json!("log_tail_lines"))
    );
    let e = b.err("get_run", json!({"run_id": 31337})).await;
    assert_eq!(
        (e["code"].clone(), e["field"].clone()),
        (json!("not_found"), json!("run_id"))
    );
}

#[tokio::test]
async fn cancel_is_idempotent_and_retry_makes_a_new_run() {
    let b = bench().await;
    let queued = b.ok("run_package", json!({"package_id": b.package})).await["run_id"]
        .as_i64()
        .unwrap();
    let c = b.ok("cancel_job", json!({"run_id": queued})).await;
    assert_eq!(c["status"], json!("cancelled"));
    let again = b.ok("cancel_job", json!({"run_id": queued})).await;
    assert_eq!(again["status"], json!("cancelled"));

    b.ok("run_package", json!({"package_id": b.package})).await;
    let done = b.run_as_worker(&[], completed()).await;
    let c = b.ok("cancel_job", json!({"run_id": done})).await;
    assert_eq!(
        (c["status"].clone(), c["cancel_requested"].clone()),
        (json!("completed"), json!(false))
    );
    assert!(c["note"].as_str().unwrap().contains("already ended"));
    let e = b.err("retry_job", json!({"run_id": done})).await;
    assert_eq!(
        (e["code"].clone(), e["field"].clone()),
        (json!("conflict"), json!("run_id"))
    );

    let retried = b.ok("retry_job", json!({"run_id": queued})).await;
    assert_eq!(retried["retry_of"], json!(queued));
    assert_eq!(retried["status"], json!("queued"));
    let new_id = retried["run_id"].as_i64().unwrap();
    assert_ne!(new_id, queued);
    assert_eq!(
        b.ok("list_runs", json!({})).await["total"],
        json!(2),
        "the retry is hidden by default"
    );
    assert_eq!(
        b.ok("list_runs", json!({"include_retries": true})).await["total"],
        json!(3)
    );
    let e = b
        .err("retry_job", json!({"run_id": queued, "cluster_id": 999}))
        .await;
    assert_eq!(e["field"], json!("cluster_id"));
    let events = b.store.audit_events(b.account, 20).await.unwrap();
    let retry = events.iter().find(|e| e.action == "run.retry").unwrap();
    assert_eq!(
        (
            retry.tool.as_deref(),
            retry.token_name.as_deref(),
            retry.target_id
        ),
        (Some("retry_job"), Some("laptop"), Some(new_id))
    );
    assert_eq!(
        events.iter().filter(|e| e.action == "run.cancel").count(),
        1,
        "cancelling twice, and cancelling a finished run, record one change"
    );
    b.store
        .set_package_status(b.account, b.package, "archived")
        .await
        .unwrap();
    let e = b.err("retry_job", json!({"run_id": queued})).await;
    assert_eq!(
        (e["code"].clone(), e["field"].clone()),
        (json!("conflict"), json!("run_id"))
    );
    assert!(e["message"].as_str().unwrap().contains("archived"), "{e}");
    let e = b.err("run_package", json!({"package_id": b.package})).await;
    assert_eq!(e["field"], json!("package_id"));
}

#[tokio::test]
async fn explain_job_failure_reads_the_structured_error_or_the_log() {
    let b = bench().await;
    b.ok("run_package", json!({"package_id": b.package})).await;
    let structured = b
        .run_as_worker(
            &[("ERROR", "column `amout` not found (password=hunter2)")],
            failed(json!({
                "category": "expression", "component": "totals", "property": "expression",
                "message": "unknown column `amout`", "hint": "use a column of the input, e.g. `amount`",
            })),
        )
        .await;
    let x = b
        .ok("explain_job_failure", json!({"run_id": structured}))
        .await;
    assert_eq!(x["category"], json!("expression"));
    assert_eq!(x["source"], json!("error"));
    assert_eq!(
        (x["component"].clone(), x["property"].clone()),
        (json!("totals"), json!("expression"))
    );
    assert_eq!(x["error"], json!("unknown column `amout`"));
    let steps: Vec<&str> = x["next_steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(
        steps[0].contains("component `totals`, property `expression`"),
        "{steps:?}"
    );
    assert!(steps.iter().any(|s| s.contains("retry_job")), "{steps:?}");
    assert!(!x.to_string().contains("hunter2"), "{x}");

    // A seeded run without a structured error: read from its text.
    let started = catalog::time::now_ms() - 60_000;
    let seeded = b
        .store
        .record_run(NewRun {
            account_id: b.account,
            package_id: b.package,
            cluster_id: None,
            status: "failed",
            rows_read: 0,
            rows_written: 0,
            last_error: Some("FATAL auth failed for user \"pipewright\""),
            started_at: Some(started),
            completed_at: Some(started + 1000),
            log: vec![
                ("INFO", "starting".into()),
                ("ERROR", "FATAL auth failed for user \"pipewright\"".into()),
            ],
        })
        .await
        .unwrap();
    let x = b
        .ok(
            "explain_job_failure",
            json!({"run_id": seeded, "log_tail_lines": 1}),
        )
        .await;
    assert_eq!(
        (x["category"].clone(), x["source"].clone()),
        (json!("auth"), json!("log"))
    );
    assert!(x["patterns"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p == "FATAL"));
    assert_eq!(x["log"].as_array().unwrap().len(), 1);

    b.ok("run_package", json!({"package_id": b.package})).await;
    let fine = b.run_as_worker(&[], completed()).await;
    let x = b.ok("explain_job_failure", json!({"run_id": fine})).await;
    assert_eq!(x["category"], Value::Null);
    assert!(x["summary"].as_str().unwrap().contains("not failed"), "{x}");
    assert_eq!(
        b.err(
            "explain_job_failure",
            json!({"run_id": fine, "log_tail_lines": -1})
        )
        .await["field"],
        json!("log_tail_lines")
    );
}

#[test]
fn read_only_callers_see_the_run_readers_but_not_the_run_writers() {
    let r = tools::registry(false).unwrap();
    let visible: Vec<&str> = r.visible(true).map(|t| t.meta.name).collect();
    for name in ["list_runs", "get_run", "explain_job_failure"] {
        assert!(visible.contains(&name), "{name}");
    }
    for name in ["run_package", "cancel_job", "retry_job"] {
        assert!(!visible.contains(&name), "{name}");
    }
    let hints = |name: &str| {
        let t = r.get(name).unwrap();
        let a = serde_json::to_value(&t.definition).unwrap()["annotations"].clone();
        (
            a["readOnlyHint"].clone(),
            a["destructiveHint"].clone(),
            a["idempotentHint"].clone(),
        )
    };
    assert_eq!(
        hints("run_package"),
        (json!(false), json!(false), json!(false))
    );
    assert_eq!(
        hints("retry_job"),
        (json!(false), json!(false), json!(false))
    );
    assert_eq!(
        hints("cancel_job"),
        (json!(false), json!(false), json!(true))
    );
    assert_eq!(hints("get_run"), (json!(true), json!(false), json!(true)));
}
