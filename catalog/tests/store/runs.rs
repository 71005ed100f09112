//! The run queue on any backend: submitting, claiming (each run once, by the right
//! worker), heartbeats, finishing, cancelling in every status, retrying, reaping runs
//! whose worker died, the log cap, listing, and clusters' live nodes.

use std::time::Duration;

use catalog::{
    audit::AuditFilter,
    clusters::NewCluster,
    packages::NewPackage,
    runs::{NewRun, RunFilter, RunOutcome, RunSubmission, WorkerInfo, MAX_LOG_LINES},
    Actor, CatalogError, PageRequest, Store,
};
use serde_json::{json, Map, Value};

/// An account with two packages and three clusters, and another account with one of
/// each.
struct Shop {
    account: i64,
    orders: i64,
    archived: i64,
    eu: i64,
    us: i64,
    gone: i64,
    other: i64,
    other_package: i64,
    other_cluster: i64,
}

impl Shop {
    fn actor(&self) -> Actor {
        Actor::system(self.account).with_tool("run_package")
    }
}

async fn cluster(store: &Store, account_id: i64, name: &str, status: &str) -> i64 {
    store
        .create_cluster(NewCluster {
            account_id,
            name,
            status,
            kind: "local",
            nodes: 2,
            region: "eu",
            terminate_on_idle: false,
        })
        .await
        .unwrap()
}

async fn package(store: &Store, account_id: i64, name: &str) -> i64 {
    store
        .create_package(NewPackage {
            account_id,
            workspace_id: None,
            name,
            description: "",
            flow_type: "dataflow",
            data_flow_json: json!({"components": [], "edges": []}),
            variables: json!({"since": "2020-01-01", "limit": 10}),
        })
        .await
        .unwrap()
}

async fn shop(store: &Store) -> Shop {
    let account = store.create_account("acme", "Acme").await.unwrap().id;
    let other = store.create_account("other", "Other").await.unwrap().id;
    let archived = package(store, account, "legacy").await;
    store
        .set_package_status(account, archived, "archived")
        .await
        .unwrap();
    Shop {
        orders: package(store, account, "orders").await,
        archived,
        eu: cluster(store, account, "eu", "idle").await,
        us: cluster(store, account, "us", "available").await,
        gone: cluster(store, account, "old", "terminated").await,
        other_package: package(store, other, "theirs").await,
        other_cluster: cluster(store, other, "eu", "available").await,
        other,
        account,
    }
}

fn vars(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

async fn submit(store: &Store, s: &Shop, cluster_id: Option<i64>) -> i64 {
    store
        .submit_run(RunSubmission {
            actor: s.actor(),
            package_id: s.orders,
            cluster_id,
            variables: &Map::new(),
            dynamic_variables: &Map::new(),
            parent_run_id: None,
        })
        .await
        .unwrap()
}

fn worker(id: &str, cluster: Option<&str>) -> WorkerInfo {
    WorkerInfo {
        id: id.into(),
        cluster: cluster.map(String::from),
        hostname: "node-1".into(),
        pid: 4242,
    }
}

fn outcome(status: &'static str, error: Option<Value>) -> RunOutcome {
    RunOutcome {
        status,
        rows_read: 5,
        rows_written: if status == "completed" { 5 } else { 0 },
        progress: json!([{"component": "src", "rows_read": 5, "bytes_read": 50, "rows_written": 0, "bytes_written": 0}]),
        error,
    }
}

async fn actions(store: &Store, account: i64, action: &str) -> Vec<catalog::audit::AuditEvent> {
    store
        .list_audit_events(
            account,
            &AuditFilter {
                action: Some(action),
                ..Default::default()
            },
            PageRequest::new(100, 0),
        )
        .await
        .unwrap()
        .items
}

/// Waits (without sleeping on a guess) until the clock has moved `ms` past `since`.
fn until_clock_passes(since: i64, ms: i64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while catalog::time::now_ms() <= since + ms {
        assert!(
            std::time::Instant::now() < deadline,
            "the clock stood still"
        );
        std::thread::yield_now();
    }
}

pub async fn a_run_goes_from_queue_to_completed_under_one_worker(store: Store) {
    let s = shop(&store).await;
    let id = store
        .submit_run(RunSubmission {
            actor: s.actor(),
            package_id: s.orders,
            cluster_id: Some(s.eu),
            variables: &vars(json!({"since": "2026-11-01", "secretish": "hunter2"})),
            dynamic_variables: &vars(json!({"today": "2026-11-30"})),
            parent_run_id: None,
        })
        .await
        .unwrap();
    let queued = store.get_run(s.account, id, 20).await.unwrap();
    assert_eq!(queued.summary.status, "queued");
    assert_eq!(queued.summary.runtime_in_seconds, None);
    assert_eq!(queued.variables["since"], json!("2026-11-01"));
    let submitted = actions(&store, s.account, "run.submit").await;
    assert_eq!(submitted.len(), 1);
    assert_eq!(submitted[0].target_id, Some(id));
    assert_eq!(submitted[0].tool.as_deref(), Some("run_package"));
    assert!(
        !format!("{:?}", submitted[0]).contains("hunter2"),
        "the audit trail keeps variable names, not values"
    );

    let w = worker("w-eu", Some("eu"));
    store.register_worker(&w).await.unwrap();
    let claimed = store.claim_run(&w).await.unwrap().expect("a queued run");
    assert_eq!(
        (claimed.run_id, claimed.account_id, claimed.package_id),
        (id, s.account, s.orders)
    );
    assert_eq!(claimed.package_version, 1);
    assert_eq!(claimed.flow_type, "dataflow");
    assert_eq!(
        serde_json::from_str::<Value>(&claimed.data_flow_json).unwrap(),
        json!({"components": [], "edges": []})
    );
    assert_eq!(
        Value::Object(claimed.variables.clone()),
        json!({"since": "2026-11-01", "limit": 10, "secretish": "hunter2"}),
        "package defaults overlaid with the run's values"
    );
    assert_eq!(claimed.dynamic_variables["today"], json!("2026-11-30"));
    assert!(store.claim_run(&w).await.unwrap().is_none(), "claimed once");

    let progress = json!([
        {"component": "src", "rows_read": 3, "bytes_read": 30, "rows_written": 0, "bytes_written": 0},
        {"component": "dst", "rows_read": 0, "bytes_read": 0, "rows_written": 2, "bytes_written": 20},
    ]);
    let control = store.heartbeat_run(id, "w-eu", &progress).await.unwrap();
    assert!(!control.cancel_requested && !control.lost);
    let lost = store.heartbeat_run(id, "w-other", &progress).await.unwrap();
    assert!(lost.lost && lost.cancel_requested, "not this worker's run");
    let running = store.get_run(s.account, id, 20).await.unwrap();
    assert_eq!(running.summary.status, "running");
    assert_eq!(running.worker_id.as_deref(), Some("w-eu"));
    assert_eq!(running.package_version, Some(1));
    assert_eq!(
        (running.summary.rows_read, running.summary.rows_written),
        (3, 2)
    );
    assert_eq!(running.progress, progress);
    assert!(running.heartbeat_at.is_some() && running.summary.started_at.is_some());

    store
        .append_run_log(
            id,
            &[
                ("INFO".into(), "reading orders".into()),
                ("INFO".into(), "wrote 5 rows".into()),
            ],
        )
        .await
        .unwrap();
    assert!(
        !store
            .finish_run(id, "w-other", outcome("completed", None))
            .await
            .unwrap(),
        "another worker cannot end it"
    );
    assert!(store
        .finish_run(id, "w-eu", outcome("completed", None))
        .await
        .unwrap());
    assert!(
        !store
            .finish_run(id, "w-eu", outcome("failed", None))
            .await
            .unwrap(),
        "a finished run stays finished"
    );
    assert!(
        store
            .heartbeat_run(id, "w-eu", &json!([]))
            .await
            .unwrap()
            .lost
    );
    let done = store.get_run(s.account, id, 1).await.unwrap();
    assert_eq!(done.summary.status, "completed");
    assert_eq!((done.summary.rows_read, done.summary.rows_written), (5, 5));
    assert!(done.summary.completed_at.is_some());
    assert!(done.summary.runtime_in_seconds.unwrap() >= 0.0);
    assert_eq!(done.summary.last_error, None);
    assert_eq!(done.error, None);
    assert_eq!(done.log.len(), 1, "the tail asked for");
    assert_eq!(
        (done.log[0].level.as_str(), done.log[0].message.as_str()),
        ("INFO", "wrote 5 rows")
    );
    assert!(matches!(
        store
            .finish_run(
                id,
                "w-eu",
                RunOutcome {
                    status: "done",
                    ..outcome("completed", None)
                }
            )
            .await,
        Err(CatalogError::InvalidArgument {
            field: "status",
            ..
        })
    ));

    // A failure keeps its structured error, and its message as last_error.
    let failing = submit(&store, &s, None).await;
    let c = store.claim_run(&w).await.unwrap().unwrap();
    assert_eq!(
        c.run_id, failing,
        "a worker of a cluster also takes runs without one"
    );
    let error = json!({
        "category": "schema", "component": "orders", "property": "table",
        "message": "table `ordrs` does not exist", "hint": "fix the table name",
    });
    assert!(store
        .finish_run(failing, "w-eu", outcome("failed", Some(error.clone())))
        .await
        .unwrap());
    let failed = store.get_run(s.account, failing, 20).await.unwrap();
    assert_eq!(failed.summary.status, "failed");
    assert_eq!(failed.error, Some(error));
    assert_eq!(
        failed.summary.last_error.as_deref(),
        Some("table `ordrs` does not exist")
    );
    assert!(matches!(
        store.get_run(s.other, failing, 20).await,
        Err(CatalogError::NotFound { kind: "run", .. })
    ));
}

pub async fn workers_claim_only_runs_of_their_cluster_oldest_first(store: Store) {
    let s = shop(&store).await;
    let on_us = submit(&store, &s, Some(s.us)).await;
    let on_eu = submit(&store, &s, Some(s.eu)).await;
    let anywhere = submit(&store, &s, None).await;
    let eu_worker = worker("eu-1", Some("eu"));
    assert_eq!(
        store.claim_run(&eu_worker).await.unwrap().unwrap().run_id,
        on_eu
    );
    assert_eq!(
        store.claim_run(&eu_worker).await.unwrap().unwrap().run_id,
        anywhere
    );
    assert!(
        store.claim_run(&eu_worker).await.unwrap().is_none(),
        "the run on `us` is not for an `eu` worker"
    );
    let elsewhere = worker("x-1", Some("asia"));
    assert!(store.claim_run(&elsewhere).await.unwrap().is_none());
    let any = worker("any-1", None);
    assert_eq!(store.claim_run(&any).await.unwrap().unwrap().run_id, on_us);
    // The other account's `eu` cluster is served by `eu` workers too.
    let theirs = store
        .submit_run(RunSubmission {
            actor: Actor::system(s.other),
            package_id: s.other_package,
            cluster_id: Some(s.other_cluster),
            variables: &Map::new(),
            dynamic_variables: &Map::new(),
            parent_run_id: None,
        })
        .await
        .unwrap();
    let c = store.claim_run(&eu_worker).await.unwrap().unwrap();
    assert_eq!((c.run_id, c.account_id), (theirs, s.other));
}

pub async fn refused_submissions_write_nothing(store: Store) {
    let s = shop(&store).await;
    let submit_with = |package_id: i64, cluster_id: Option<i64>, v: Value| {
        let store = store.clone();
        let actor = s.actor();
        async move {
            store
                .submit_run(RunSubmission {
                    actor,
                    package_id,
                    cluster_id,
                    variables: &vars(v),
                    dynamic_variables: &Map::new(),
                    parent_run_id: None,
                })
                .await
        }
    };
    assert!(matches!(
        submit_with(s.other_package, None, json!({})).await,
        Err(CatalogError::NotFound {
            kind: "package",
            ..
        })
    ));
    assert!(matches!(
        submit_with(s.orders, Some(s.other_cluster), json!({})).await,
        Err(CatalogError::NotFound {
            kind: "cluster",
            ..
        })
    ));
    match submit_with(s.archived, None, json!({})).await {
        Err(CatalogError::Conflict(m)) => assert!(m.contains("archived"), "{m}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    match submit_with(s.orders, Some(s.gone), json!({})).await {
        Err(CatalogError::Conflict(m)) => assert!(m.contains("terminated"), "{m}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    let e = submit_with(s.orders, None, json!({"nested": {"password": "hunter2"}}))
        .await
        .unwrap_err();
    assert!(matches!(
        e,
        CatalogError::InvalidArgument {
            field: "variables",
            ..
        }
    ));
    assert!(!e.to_string().contains("hunter2"));
    let e = store
        .submit_run(RunSubmission {
            actor: s.actor(),
            package_id: s.orders,
            cluster_id: None,
            variables: &Map::new(),
            dynamic_variables: &Map::new(),
            parent_run_id: Some(999_999),
        })
        .await
        .unwrap_err();
    assert!(matches!(e, CatalogError::NotFound { kind: "run", .. }));
    let all = RunFilter {
        include_retries: true,
        ..Default::default()
    };
    assert_eq!(
        store
            .list_runs(s.account, &all, PageRequest::new(10, 0))
            .await
            .unwrap()
            .total,
        0
    );
    assert!(actions(&store, s.account, "run.submit").await.is_empty());
}

pub async fn cancelling_depends_on_the_status_and_is_idempotent(store: Store) {
    let s = shop(&store).await;
    let actor = || Actor::system(s.account).with_tool("cancel_job");
    let w = worker("w1", None);

    // Queued: cancelled at once, and never claimed.
    let queued = submit(&store, &s, None).await;
    let r = store.cancel_run(actor(), queued).await.unwrap();
    assert_eq!(r.summary.status, "cancelled");
    assert_eq!(r.error.as_ref().unwrap()["category"], json!("cancelled"));
    assert!(r.summary.completed_at.is_some());
    assert!(store.claim_run(&w).await.unwrap().is_none());

    // Running: asked to stop; the worker hears it and ends it as cancelled.
    let running = submit(&store, &s, None).await;
    store.claim_run(&w).await.unwrap().unwrap();
    let r = store.cancel_run(actor(), running).await.unwrap();
    assert_eq!(
        (r.summary.status.as_str(), r.cancel_requested),
        ("running", true)
    );
    let again = store.cancel_run(actor(), running).await.unwrap();
    assert_eq!(again.summary.status, "running");
    let control = store
        .heartbeat_run(running, "w1", &json!([]))
        .await
        .unwrap();
    assert!(control.cancel_requested && !control.lost);
    assert!(store
        .finish_run(
            running,
            "w1",
            outcome(
                "cancelled",
                Some(json!({"category": "cancelled", "message": "cancelled"}))
            )
        )
        .await
        .unwrap());
    let r = store.get_run(s.account, running, 5).await.unwrap();
    assert_eq!(r.summary.status, "cancelled");
    assert_eq!(r.summary.last_error, None, "last_error is for failed runs");

    // Finished: left as it is.
    let completed = submit(&store, &s, None).await;
    store.claim_run(&w).await.unwrap().unwrap();
    store
        .finish_run(completed, "w1", outcome("completed", None))
        .await
        .unwrap();
    let r = store.cancel_run(actor(), completed).await.unwrap();
    assert_eq!(
        (r.summary.status.as_str(), r.cancel_requested),
        ("completed", false)
    );
    let r = store.cancel_run(actor(), queued).await.unwrap();
    assert_eq!(r.summary.status, "cancelled");

    let events = actions(&store, s.account, "run.cancel").await;
    let mut targets: Vec<_> = events.iter().map(|e| e.target_id.unwrap()).collect();
    targets.sort();
    assert_eq!(
        targets,
        vec![queued, running],
        "one event per change; repeats and finished runs change nothing"
    );
    assert_eq!(events[0].tool.as_deref(), Some("cancel_job"));
    assert!(matches!(
        store.cancel_run(Actor::system(s.other), queued).await,
        Err(CatalogError::NotFound { kind: "run", .. })
    ));
}

pub async fn retries_are_new_runs_of_failed_or_cancelled_ones(store: Store) {
    let s = shop(&store).await;
    let actor = || Actor::system(s.account).with_tool("retry_job");
    let w = worker("w1", None);
    let original = store
        .submit_run(RunSubmission {
            actor: s.actor(),
            package_id: s.orders,
            cluster_id: Some(s.eu),
            variables: &vars(json!({"since": "2026-01-01"})),
            dynamic_variables: &vars(json!({"d": 1})),
            parent_run_id: None,
        })
        .await
        .unwrap();
    let refused = |status: &'static str| {
        move |r: Result<i64, CatalogError>| match r {
            Err(CatalogError::Conflict(m)) => {
                assert!(m.contains(status), "{m}");
                assert!(m.contains("failed or cancelled"), "{m}")
            }
            other => panic!("expected a conflict for a {status} run, got {other:?}"),
        }
    };
    refused("queued")(store.retry_run(actor(), original, None).await);
    store.claim_run(&w).await.unwrap().unwrap();
    refused("running")(store.retry_run(actor(), original, None).await);
    store
        .finish_run(
            original,
            "w1",
            outcome(
                "failed",
                Some(json!({"category": "auth", "message": "password rejected"})),
            ),
        )
        .await
        .unwrap();

    let retry = store.retry_run(actor(), original, None).await.unwrap();
    let r = store.get_run(s.account, retry, 0).await.unwrap();
    assert_eq!(r.summary.status, "queued");
    assert_eq!(r.summary.parent_run_id, Some(original));
    assert_eq!(r.summary.cluster_id, Some(s.eu), "the original's cluster");
    assert_eq!(r.variables, json!({"since": "2026-01-01"}));
    assert_eq!(r.dynamic_variables, json!({"d": 1}));
    let kept = store.get_run(s.account, original, 0).await.unwrap();
    assert_eq!(kept.summary.status, "failed", "the original is kept");

    let moved = store
        .retry_run(actor(), original, Some(s.us))
        .await
        .unwrap();
    assert_eq!(
        store
            .get_run(s.account, moved, 0)
            .await
            .unwrap()
            .summary
            .cluster_id,
        Some(s.us)
    );
    assert!(matches!(
        store
            .retry_run(actor(), original, Some(s.other_cluster))
            .await,
        Err(CatalogError::NotFound {
            kind: "cluster",
            ..
        })
    ));
    assert!(matches!(
        store.retry_run(actor(), original, Some(s.gone)).await,
        Err(CatalogError::Conflict(_))
    ));
    assert!(matches!(
        store
            .retry_run(Actor::system(s.other), original, None)
            .await,
        Err(CatalogError::NotFound { kind: "run", .. })
    ));

    // A cancelled run can be retried; a completed one cannot.
    store.cancel_run(actor(), retry).await.unwrap();
    store.retry_run(actor(), retry, None).await.unwrap();
    let done = submit(&store, &s, None).await;
    let c = store.claim_run(&w).await.unwrap().unwrap();
    assert_eq!(c.run_id, moved, "oldest first");
    let c = store.claim_run(&w).await.unwrap().unwrap();
    assert_ne!(c.run_id, done);
    let c2 = store.claim_run(&w).await.unwrap().unwrap();
    assert_eq!(c2.run_id, done);
    store
        .finish_run(done, "w1", outcome("completed", None))
        .await
        .unwrap();
    refused("completed")(store.retry_run(actor(), done, None).await);

    let events = actions(&store, s.account, "run.retry").await;
    assert_eq!(events.len(), 3);
    assert!(events
        .iter()
        .any(|e| e.after.as_ref().unwrap()["retry_of"] == json!(original)));

    // Retries are hidden from lists unless asked for.
    let top = store
        .list_runs(s.account, &RunFilter::default(), PageRequest::new(10, 0))
        .await
        .unwrap();
    assert_eq!(
        top.items.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![done, original],
        "newest first, retries hidden"
    );
    let all = store
        .list_runs(
            s.account,
            &RunFilter {
                include_retries: true,
                ..Default::default()
            },
            PageRequest::new(10, 0),
        )
        .await
        .unwrap();
    assert_eq!(all.total, 5);
}

pub async fn lost_runs_are_failed_once_and_never_requeued(store: Store) {
    let s = shop(&store).await;
    let w = worker("w-dead", Some("eu"));
    store.register_worker(&w).await.unwrap();
    let lost = submit(&store, &s, Some(s.eu)).await;
    let cancelling = submit(&store, &s, Some(s.eu)).await;
    let queued = submit(&store, &s, Some(s.eu)).await;
    store.claim_run(&w).await.unwrap().unwrap();
    store.claim_run(&w).await.unwrap().unwrap();
    store
        .cancel_run(Actor::system(s.account), cancelling)
        .await
        .unwrap();
    assert!(
        store
            .reap_lost_runs(Duration::from_secs(60))
            .await
            .unwrap()
            .is_empty(),
        "fresh heartbeats are left alone"
    );
    let claimed_at = catalog::time::now_ms();
    until_clock_passes(claimed_at, 5);
    let mut reaped = store
        .reap_lost_runs(Duration::from_millis(1))
        .await
        .unwrap();
    reaped.sort();
    assert_eq!(reaped, vec![lost, cancelling]);
    assert!(store
        .reap_lost_runs(Duration::from_millis(1))
        .await
        .unwrap()
        .is_empty());

    let r = store.get_run(s.account, lost, 5).await.unwrap();
    assert_eq!(r.summary.status, "failed");
    let e = r.error.unwrap();
    assert_eq!(e["category"], json!("resource"));
    let m = e["message"].as_str().unwrap();
    assert!(
        m.contains("worker w-dead (host node-1, pid 4242)") && m.contains("heartbeat"),
        "{m}"
    );
    assert!(e["hint"].as_str().unwrap().contains("retry_job"));
    assert_eq!(r.summary.last_error.as_deref(), Some(m));
    assert_eq!(r.log.last().unwrap().level, "ERROR");
    let c = store.get_run(s.account, cancelling, 0).await.unwrap();
    assert_eq!(c.summary.status, "cancelled");
    assert_eq!(
        store
            .get_run(s.account, queued, 0)
            .await
            .unwrap()
            .summary
            .status,
        "queued",
        "queued runs wait, whatever their age"
    );
    assert!(
        store
            .heartbeat_run(lost, "w-dead", &json!([]))
            .await
            .unwrap()
            .lost
    );
    assert!(!store
        .finish_run(lost, "w-dead", outcome("completed", None))
        .await
        .unwrap());
    assert_eq!(actions(&store, s.account, "run.lost").await.len(), 2);

    // Never requeued: the next claim is the queued run, and the retry after it.
    let retry = store
        .retry_run(Actor::system(s.account), lost, None)
        .await
        .unwrap();
    assert_eq!(store.claim_run(&w).await.unwrap().unwrap().run_id, queued);
    assert_eq!(store.claim_run(&w).await.unwrap().unwrap().run_id, retry);
    assert!(store.claim_run(&w).await.unwrap().is_none());
}

pub async fn the_log_keeps_the_newest_lines(store: Store) {
    let s = shop(&store).await;
    let id = submit(&store, &s, None).await;
    let lines = |from: i64, to: i64| -> Vec<(String, String)> {
        (from..to)
            .map(|i| ("INFO".to_string(), format!("line {i}")))
            .collect()
    };
    store.append_run_log(id, &lines(0, 6000)).await.unwrap();
    store
        .append_run_log(id, &lines(6000, MAX_LOG_LINES + 50))
        .await
        .unwrap();
    let all = store
        .get_run(s.account, id, MAX_LOG_LINES as usize + 100)
        .await
        .unwrap()
        .log;
    assert_eq!(all.len(), MAX_LOG_LINES as usize);
    assert_eq!(all[0].message, "line 50", "the oldest lines are dropped");
    assert_eq!(
        all.last().unwrap().message,
        format!("line {}", MAX_LOG_LINES + 49)
    );
    let tail = store.get_run(s.account, id, 2).await.unwrap().log;
    assert_eq!(
        tail.iter().map(|l| l.message.as_str()).collect::<Vec<_>>(),
        vec![
            format!("line {}", MAX_LOG_LINES + 48),
            format!("line {}", MAX_LOG_LINES + 49)
        ]
    );
    // One batch over the cap keeps its newest lines; long lines are cut.
    let other = submit(&store, &s, None).await;
    store
        .append_run_log(other, &lines(0, MAX_LOG_LINES + 3))
        .await
        .unwrap();
    let log = store
        .get_run(s.account, other, MAX_LOG_LINES as usize)
        .await
        .unwrap()
        .log;
    assert_eq!(
        (log.len(), log[0].message.as_str()),
        (MAX_LOG_LINES as usize, "line 3")
    );
    store
        .append_run_log(other, &[("ERROR".into(), "é".repeat(10_000))])
        .await
        .unwrap();
    let last = store.get_run(s.account, other, 1).await.unwrap().log;
    assert!(last[0].message.len() <= 8 * 1024 && last[0].message.starts_with('é'));
    assert!(matches!(
        store.append_run_log(999_999, &lines(0, 1)).await,
        Err(CatalogError::NotFound { kind: "run", .. })
    ));
    store.append_run_log(999_999, &[]).await.unwrap();
}

pub async fn runs_list_by_package_and_status_and_demo_runs_read_well(store: Store) {
    let s = shop(&store).await;
    let second = package(&store, s.account, "customers").await;
    let started = catalog::time::now_ms() - 90_000;
    let demo = store
        .record_run(NewRun {
            account_id: s.account,
            package_id: second,
            cluster_id: Some(s.us),
            status: "failed",
            rows_read: 10,
            rows_written: 0,
            last_error: Some("FATAL auth failed for user \"etl\""),
            started_at: Some(started),
            completed_at: Some(started + 61_500),
            log: vec![("ERROR", "FATAL auth failed for user \"etl\"".into())],
        })
        .await
        .unwrap();
    let queued = submit(&store, &s, None).await;
    let page = |f: RunFilter| {
        let store = store.clone();
        async move {
            store
                .list_runs(s.account, &f, PageRequest::new(10, 0))
                .await
                .unwrap()
        }
    };
    let all = page(RunFilter::default()).await;
    assert_eq!(
        all.items.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![queued, demo]
    );
    let d = &all.items[1];
    assert_eq!(d.package_name, "customers");
    assert_eq!(d.runtime_in_seconds, Some(61.5));
    assert_eq!(
        d.last_error.as_deref(),
        Some("FATAL auth failed for user \"etl\"")
    );
    assert_eq!(d.cluster_id, Some(s.us));
    let by_package = page(RunFilter {
        package_id: Some(s.orders),
        ..Default::default()
    })
    .await;
    assert_eq!((by_package.total, by_package.items[0].id), (1, queued));
    let failed = page(RunFilter {
        status: Some("failed".into()),
        ..Default::default()
    })
    .await;
    assert_eq!((failed.total, failed.items[0].id), (1, demo));
    let detail = store.get_run(s.account, demo, 20).await.unwrap();
    assert_eq!(detail.error, None, "demo runs have no structured error");
    assert_eq!(detail.progress, json!([]));
    assert_eq!(detail.variables, json!({}));
    assert_eq!(detail.log.len(), 1);
    assert!(matches!(
        store
            .list_runs(
                s.account,
                &RunFilter {
                    status: Some("exploded".into()),
                    ..Default::default()
                },
                PageRequest::new(10, 0)
            )
            .await,
        Err(CatalogError::InvalidArgument {
            field: "status",
            ..
        })
    ));
    let second_page = store
        .list_runs(s.account, &RunFilter::default(), PageRequest::new(1, 1))
        .await
        .unwrap();
    assert_eq!((second_page.total, second_page.items[0].id), (2, demo));
    assert!(store
        .list_runs(s.other, &RunFilter::default(), PageRequest::new(10, 0))
        .await
        .unwrap()
        .items
        .iter()
        .all(|r| r.id != demo));
}

pub async fn clusters_show_live_workers(store: Store) {
    let s = shop(&store).await;
    let list = |status: Option<&'static str>| {
        let store = store.clone();
        async move {
            store
                .list_clusters(s.account, status, PageRequest::new(10, 0))
                .await
                .unwrap()
                .items
        }
    };
    let by_name = |items: &[catalog::clusters::Cluster], name: &str| {
        let c = items.iter().find(|c| c.name == name).unwrap();
        (c.status.clone(), c.live_nodes, c.nodes)
    };
    let before = list(None).await;
    assert_eq!(by_name(&before, "eu"), ("idle".into(), 0, 2));
    assert_eq!(by_name(&before, "us"), ("available".into(), 0, 2));

    store
        .register_worker(&worker("eu-1", Some("eu")))
        .await
        .unwrap();
    store
        .register_worker(&worker("eu-2", Some("eu")))
        .await
        .unwrap();
    store
        .register_worker(&worker("eu-2", Some("eu")))
        .await
        .unwrap();
    let now = list(None).await;
    assert_eq!(
        by_name(&now, "eu"),
        ("available".into(), 2, 2),
        "two live workers"
    );
    assert_eq!(by_name(&now, "us"), ("available".into(), 0, 2));
    assert_eq!(by_name(&now, "old"), ("terminated".into(), 0, 2));
    let available = list(Some("available")).await;
    assert_eq!(available.len(), 2, "the status filter sees the live status");
    assert!(list(Some("idle")).await.is_empty());

    store.register_worker(&worker("any", None)).await.unwrap();
    let now = list(None).await;
    assert_eq!(by_name(&now, "eu").1, 3);
    assert_eq!(
        by_name(&now, "us").1,
        1,
        "a worker for every cluster counts everywhere"
    );
    assert_eq!(
        by_name(&now, "old"),
        ("terminated".into(), 0, 2),
        "terminated clusters stay terminated"
    );
    store.heartbeat_worker("any").await.unwrap();
    assert!(matches!(
        store.heartbeat_worker("nobody").await,
        Err(CatalogError::NotFound { kind: "worker", .. })
    ));
    for id in ["eu-1", "eu-2", "any"] {
        store.remove_worker(id).await.unwrap();
    }
    assert_eq!(by_name(&list(None).await, "eu"), ("idle".into(), 0, 2));
    assert!(store.register_worker(&worker(" ", None)).await.is_err());
}

/// `claimers` stores (each its own pool, as separate worker processes have) claim from
/// one queue of `runs` runs until it is empty: every run is claimed exactly once.
pub async fn concurrent_claimers_take_each_run_once(stores: Vec<Store>, runs: usize) {
    let s = shop(&stores[0]).await;
    let mut queued = Vec::new();
    for _ in 0..runs {
        queued.push(submit(&stores[0], &s, None).await);
    }
    let mut tasks = Vec::new();
    for (i, store) in stores.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            let w = worker(&format!("w{i}"), if i % 2 == 0 { None } else { Some("eu") });
            let mut mine = Vec::new();
            while let Some(c) = store.claim_run(&w).await.unwrap() {
                assert!(store
                    .finish_run(c.run_id, &w.id, outcome("completed", None))
                    .await
                    .unwrap());
                mine.push(c.run_id);
            }
            store.close().await;
            mine
        }));
    }
    let mut claimed = Vec::new();
    let mut per_worker = Vec::new();
    for t in tasks {
        let mine = t.await.unwrap();
        per_worker.push(mine.len());
        claimed.extend(mine);
    }
    claimed.sort();
    eprintln!("claims per worker: {per_worker:?}");
    assert_eq!(
        claimed, queued,
        "each run exactly once ({per_worker:?} per worker)"
    );
}

/// A store made before the run queue (migrations 1 to 3, with run history) upgrades in
/// place: its runs read as before and new runs queue beside them.
#[tokio::test]
async fn upgrading_a_store_with_run_history_keeps_its_runs() {
    use sqlx::{AnyConnection, Connection};

    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("pipewright.db").display()
    );
    sqlx::any::install_default_drivers();
    let mut old = AnyConnection::connect(&url).await.unwrap();
    for sql in [
        include_str!("../../migrations/sqlite/0001_init.sql"),
        include_str!("../../migrations/sqlite/0002_packages_by_workspace.sql"),
        include_str!("../../migrations/sqlite/0003_package_authoring.sql"),
        "CREATE TABLE pipewright_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL);
         INSERT INTO pipewright_migrations VALUES (1, 0), (2, 0), (3, 0);
         INSERT INTO accounts (id, subdomain, name, created_at) VALUES (1, 'acme', 'Acme', 0);
         INSERT INTO packages (id, account_id, name, flow_type, data_flow_json, created_at, updated_at)
             VALUES (1, 1, 'Orders', 'dataflow', '{\"components\": []}', 0, 0);
         INSERT INTO package_versions (package_id, version, name, description, data_flow_json, variables_json, created_at)
             VALUES (1, 1, 'Orders', '', '{\"components\": []}', '{}', 0);
         INSERT INTO runs (id, account_id, package_id, status, rows_read, last_error, created_at, started_at, completed_at)
             VALUES (1, 1, 1, 'failed', 3, 'ERROR connection refused', 1000, 1000, 4000);
         INSERT INTO run_logs (run_id, seq, at, level, message) VALUES (1, 0, 1000, 'ERROR', 'connection refused');",
    ] {
        sqlx::raw_sql(sql).execute(&mut old).await.unwrap();
    }
    old.close().await.unwrap();

    let store = Store::open_data_dir(dir.path()).await.unwrap();
    let old_run = store.get_run(1, 1, 10).await.unwrap();
    assert_eq!(old_run.summary.status, "failed");
    assert_eq!(old_run.summary.runtime_in_seconds, Some(3.0));
    assert_eq!(
        old_run.summary.last_error.as_deref(),
        Some("ERROR connection refused")
    );
    assert_eq!((old_run.error, old_run.cancel_requested), (None, false));
    assert_eq!(old_run.log[0].message, "connection refused");
    let retry = store.retry_run(Actor::system(1), 1, None).await.unwrap();
    let c = store.claim_run(&worker("w", None)).await.unwrap().unwrap();
    assert_eq!((c.run_id, c.package_version), (retry, 1));
    store
        .append_run_log(1, &[("INFO".into(), "after".into())])
        .await
        .unwrap();
    assert_eq!(store.get_run(1, 1, 10).await.unwrap().log.len(), 2);
}
