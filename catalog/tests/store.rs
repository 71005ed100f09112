//! One store suite, run against SQLite and against the PostgreSQL server on this machine
//! (`PIPEWRIGHT_TEST_POSTGRES_URL`, default postgres://postgres@127.0.0.1:5432/postgres).
//! Each PostgreSQL run creates its own database and drops it afterwards.

use std::{
    collections::BTreeMap,
    future::Future,
    sync::atomic::{AtomicUsize, Ordering},
};

use catalog::{
    access::{Access, Credential, CredentialKind, Refusal, Scopes},
    clusters::NewCluster,
    connections::NewConnection,
    packages::{NewPackage, PackageFilter},
    runs::NewRun,
    schedules::ScheduleSpec,
    seal::Sealer,
    search::Kind,
    tokens::NewToken,
    CatalogError, PageRequest, Store,
};
use serde_json::json;
use sqlx::{AnyConnection, AssertSqlSafe, Connection, Executor};

const SECRET: &str = "s3cr3t-p@ss-in-the-store";

/// Every behaviour the store promises, on whichever backend it is given.
async fn suite(store: &Store) {
    let sealer = Sealer::from_key_bytes(&[9u8; 32]).unwrap();

    // Accounts, members, subdomain rules.
    let acme = store.create_account("acme", "Acme").await.unwrap();
    let other = store.create_account("other", "Other").await.unwrap();
    assert!(matches!(
        store.create_account("acme", "again").await,
        Err(CatalogError::Conflict(_))
    ));
    assert!(matches!(
        store.create_account("12345", "digits").await,
        Err(CatalogError::InvalidArgument {
            field: "subdomain",
            ..
        })
    ));
    assert_eq!(
        store
            .find_account(&acme.id.to_string())
            .await
            .unwrap()
            .unwrap()
            .subdomain,
        "acme"
    );
    assert!(store.find_account("nobody").await.unwrap().is_none());
    let ada = store
        .add_member(acme.id, "ada@acme.io", "Ada", "owner")
        .await
        .unwrap();
    let bob = store
        .add_member(other.id, "bob@other.io", "Bob", "owner")
        .await
        .unwrap();
    assert_eq!(
        store.account_owner(acme.id).await.unwrap().unwrap().id,
        ada.id
    );

    // Tokens: only the hash is kept; every refusal is distinct.
    let (t, secret) = store
        .create_token(NewToken {
            account_id: acme.id,
            user_id: ada.id,
            name: "laptop",
            lifetime_ms: None,
            read_only: false,
        })
        .await
        .unwrap();
    assert!(secret.starts_with("pwt_") && secret.len() > 40);
    assert!(
        secret.starts_with(&t.prefix) && t.prefix.len() < 12,
        "the stored prefix identifies, never reveals"
    );
    let p = store.authenticate(&secret, &acme).await.unwrap().unwrap();
    assert_eq!((p.user_id, p.token_id, p.read_only), (ada.id, t.id, false));
    assert_eq!(
        p.credential,
        Credential {
            kind: CredentialKind::PersonalAccessToken,
            scopes: Scopes::default()
        }
    );
    assert!(store.token(t.id).await.unwrap().last_used_at.is_some());
    assert_eq!(
        store
            .authenticate("pwt_nope", &acme)
            .await
            .unwrap()
            .unwrap_err(),
        Refusal::Unknown
    );
    assert_eq!(
        store
            .authenticate(&secret, &other)
            .await
            .unwrap()
            .unwrap_err(),
        Refusal::NotAMember
    );
    // The edge's one-query form: account by subdomain or id, then the same rules.
    match store.authenticate_at(&secret, "acme").await.unwrap() {
        Access::Granted(p) => assert_eq!((p.account.id, p.token_id), (acme.id, t.id)),
        other => panic!("expected access, got {other:?}"),
    }
    match store
        .authenticate_at(&secret, &acme.id.to_string())
        .await
        .unwrap()
    {
        Access::Granted(p) => assert_eq!(p.account.subdomain, "acme"),
        other => panic!("expected access by id, got {other:?}"),
    }
    assert!(matches!(
        store.authenticate_at(&secret, "nowhere").await.unwrap(),
        Access::UnknownAccount
    ));
    assert!(matches!(
        store.authenticate_at("pwt_nope", "acme").await.unwrap(),
        Access::Refused(Refusal::Unknown)
    ));
    assert!(matches!(
        store
            .authenticate_at(&secret, &other.subdomain)
            .await
            .unwrap(),
        Access::Refused(Refusal::NotAMember)
    ));
    assert!(store
        .create_token(NewToken {
            account_id: acme.id,
            user_id: bob.id,
            name: "x",
            lifetime_ms: None,
            read_only: false
        })
        .await
        .is_err());
    let (_, ro) = store
        .create_token(NewToken {
            account_id: acme.id,
            user_id: ada.id,
            name: "ro",
            lifetime_ms: Some(60_000),
            read_only: true,
        })
        .await
        .unwrap();
    assert!(
        store
            .authenticate(&ro, &acme)
            .await
            .unwrap()
            .unwrap()
            .read_only
    );
    let (_, short) = store
        .create_token(NewToken {
            account_id: acme.id,
            user_id: ada.id,
            name: "short",
            lifetime_ms: Some(1),
            read_only: false,
        })
        .await
        .unwrap();
    let until = std::time::Instant::now() + std::time::Duration::from_millis(5);
    while std::time::Instant::now() < until {
        std::thread::yield_now();
    }
    assert_eq!(
        store
            .authenticate(&short, &acme)
            .await
            .unwrap()
            .unwrap_err(),
        Refusal::Expired
    );
    store.revoke_token(t.id).await.unwrap();
    assert_eq!(
        store
            .authenticate(&secret, &acme)
            .await
            .unwrap()
            .unwrap_err(),
        Refusal::Revoked
    );
    let acme = store
        .set_account_flags(acme.id, Some(false), None)
        .await
        .unwrap();
    assert_eq!(
        store.authenticate(&ro, &acme).await.unwrap().unwrap_err(),
        Refusal::McpDisabled
    );
    let acme = store
        .set_account_flags(acme.id, Some(true), Some(true))
        .await
        .unwrap();
    let (_, full) = store
        .create_token(NewToken {
            account_id: acme.id,
            user_id: ada.id,
            name: "full",
            lifetime_ms: None,
            read_only: false,
        })
        .await
        .unwrap();
    let principal = store.authenticate(&full, &acme).await.unwrap().unwrap();
    assert!(
        principal.read_only,
        "an account in read-only mode makes every token read-only"
    );
    let acme = store
        .set_account_flags(acme.id, None, Some(false))
        .await
        .unwrap();
    let principal = store.authenticate(&full, &acme).await.unwrap().unwrap();

    // Workspaces, packages, runs: counts, filters, pagination.
    let w1 = store
        .create_workspace(acme.id, "Sales", "orders and customers")
        .await
        .unwrap();
    let w2 = store
        .create_workspace(acme.id, "Finance", "revenue")
        .await
        .unwrap();
    store
        .create_workspace(other.id, "Theirs", "")
        .await
        .unwrap();
    let mut packages = vec![];
    for (i, (ws, flow)) in [(w1, "dataflow"), (w1, "workflow"), (w2, "dataflow")]
        .into_iter()
        .enumerate()
    {
        packages.push(
            store
                .create_package(NewPackage {
                    account_id: acme.id,
                    workspace_id: Some(ws),
                    name: &format!("package {i} orders"),
                    description: "",
                    flow_type: flow,
                    data_flow_json: json!({"components": [], "edges": []}),
                    variables: json!({"a": 1}),
                })
                .await
                .unwrap(),
        );
    }
    assert!(store
        .create_package(NewPackage {
            account_id: acme.id,
            workspace_id: None,
            name: "bad",
            description: "",
            flow_type: "stream",
            data_flow_json: json!({}),
            variables: json!({})
        })
        .await
        .is_err());
    for (pkg, status) in [
        (packages[0], "completed"),
        (packages[0], "failed"),
        (packages[1], "completed"),
    ] {
        store
            .record_run(NewRun {
                account_id: acme.id,
                package_id: pkg,
                cluster_id: None,
                status,
                rows_read: 1,
                rows_written: 1,
                last_error: None,
                started_at: None,
                completed_at: None,
                log: vec![("INFO", "hello".into())],
            })
            .await
            .unwrap();
    }
    let ws = store
        .list_workspaces(acme.id, PageRequest::new(10, 0))
        .await
        .unwrap();
    assert_eq!(ws.total, 2);
    let sales = ws.items.iter().find(|w| w.id == w1).unwrap();
    assert_eq!(
        (
            sales.package_count,
            sales.last_failed_jobs_count,
            sales.last_completed_jobs_count
        ),
        (2, 1, 1)
    );
    assert_eq!(
        store
            .list_workspaces(acme.id, PageRequest::new(1, 1))
            .await
            .unwrap()
            .items[0]
            .id,
        w2
    );
    let f = PackageFilter {
        flow_type: Some("dataflow"),
        ..Default::default()
    };
    assert_eq!(
        store
            .list_packages(acme.id, &f, PageRequest::new(10, 0))
            .await
            .unwrap()
            .total,
        2
    );
    let f = PackageFilter {
        workspace_id: Some(w1),
        flow_type: Some("dataflow"),
        status: Some("active"),
    };
    let page = store
        .list_packages(acme.id, &f, PageRequest::new(10, 0))
        .await
        .unwrap();
    assert_eq!(
        (page.total, page.items[0].last_run_status.as_deref()),
        (1, Some("failed"))
    );
    store
        .set_package_status(acme.id, packages[2], "archived")
        .await
        .unwrap();
    let f = PackageFilter {
        status: Some("archived"),
        ..Default::default()
    };
    let archived = store
        .list_packages(acme.id, &f, PageRequest::new(10, 0))
        .await
        .unwrap();
    assert_eq!((archived.total, archived.items[0].version), (1, 2));
    assert!(matches!(
        store.package(other.id, packages[0]).await,
        Err(CatalogError::NotFound { .. })
    ));

    // Connections: secrets sealed at rest, never in the clear view, refused as fields.
    let mut secrets = BTreeMap::new();
    secrets.insert("password".to_string(), SECRET.to_string());
    let fields = json!({"host": "db.internal", "port": 5432, "database": "prod", "user": "etl"});
    let conn = store
        .create_connection(
            &sealer,
            NewConnection {
                account_id: acme.id,
                name: "prod-pg",
                kind: "postgres",
                fields: fields.as_object().unwrap().clone(),
                secrets: secrets.clone(),
            },
        )
        .await
        .unwrap();
    let bad = json!({"host": "h", "password": "oops"});
    let e = store
        .create_connection(
            &sealer,
            NewConnection {
                account_id: acme.id,
                name: "bad",
                kind: "postgres",
                fields: bad.as_object().unwrap().clone(),
                secrets: BTreeMap::new(),
            },
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("looks like a credential"), "{e}");
    // A switch is not a credential, whatever its name.
    let switch = json!({"host": "h", "allow_cleartext_password": true});
    store
        .create_connection(
            &sealer,
            NewConnection {
                account_id: other.id,
                name: "switch",
                kind: "postgres",
                fields: switch.as_object().unwrap().clone(),
                secrets: BTreeMap::new(),
            },
        )
        .await
        .unwrap();
    let c = store.connection(acme.id, conn).await.unwrap();
    assert_eq!(c.fields["host"], json!("db.internal"));
    assert_eq!(c.secrets_set, vec!["password"]);
    assert!(!serde_json::to_string(&c).unwrap().contains(SECRET));
    assert_eq!(
        store.open_secrets(&sealer, acme.id, conn).await.unwrap(),
        secrets
    );
    assert!(matches!(
        store.connection(other.id, conn).await,
        Err(CatalogError::NotFound { .. })
    ));
    let s3 = json!({"bucket": "raw"});
    store
        .create_connection(
            &sealer,
            NewConnection {
                account_id: acme.id,
                name: "lake",
                kind: "s3",
                fields: s3.as_object().unwrap().clone(),
                secrets: BTreeMap::new(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .list_connections(acme.id, Some("file"), PageRequest::new(10, 0))
            .await
            .unwrap()
            .total,
        1
    );
    assert_eq!(
        store
            .list_connections(acme.id, Some("postgres"), PageRequest::new(10, 0))
            .await
            .unwrap()
            .total,
        1
    );
    assert_eq!(
        store
            .list_connections(acme.id, None, PageRequest::new(1, 1))
            .await
            .unwrap()
            .items[0]
            .name,
        "lake"
    );

    // Clusters.
    store
        .create_cluster(NewCluster {
            account_id: acme.id,
            name: "main",
            status: "available",
            kind: "local",
            nodes: 3,
            region: "eu",
            terminate_on_idle: true,
        })
        .await
        .unwrap();
    store
        .create_cluster(NewCluster {
            account_id: acme.id,
            name: "old",
            status: "terminated",
            kind: "local",
            nodes: 1,
            region: "eu",
            terminate_on_idle: false,
        })
        .await
        .unwrap();
    let avail = store
        .list_clusters(acme.id, Some("available"), PageRequest::new(10, 0))
        .await
        .unwrap();
    assert_eq!(
        (
            avail.total,
            avail.items[0].nodes,
            avail.items[0].terminate_on_idle
        ),
        (1, 3, true)
    );

    // Search: prefix words, ranked, per account, per kind.
    let hits = store
        .search(acme.id, Kind::Package, "ord", 10)
        .await
        .unwrap();
    assert_eq!(hits.len(), 3);
    assert!(store
        .search(other.id, Kind::Package, "orders", 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .search(acme.id, Kind::Connection, "prod", 10)
            .await
            .unwrap()[0]
            .id,
        conn
    );
    assert_eq!(
        store
            .search(acme.id, Kind::Workspace, "revenue", 10)
            .await
            .unwrap()[0]
            .id,
        w2
    );
    assert_eq!(
        store
            .search(acme.id, Kind::Package, "package 1", 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(store
        .search(acme.id, Kind::Package, "\" * ( :", 10)
        .await
        .unwrap()
        .is_empty());

    // Schedules: toggling is atomic with its audit event, and idempotent.
    let actor = catalog::Actor::from(&principal);
    let created = store
        .create_schedule(
            &actor,
            ScheduleSpec {
                package_id: packages[0],
                name: "hourly".into(),
                cron: "0 0 * * * *".into(),
                time_zone: None,
                enabled: true,
                variables: serde_json::Map::new(),
                cluster_id: None,
                missed_policy: None,
                overlap_policy: None,
            },
        )
        .await
        .unwrap();
    let sched = created.schedule.id;
    assert_eq!(created.schedule.version, 1);
    assert_eq!(created.next_fire_times.len(), 3);
    assert!(created.schedule.next_run_at.is_some());
    let off = store.toggle_schedule(&actor, sched, false).await.unwrap();
    assert!(off.changed && !off.schedule.enabled);
    assert_eq!(off.schedule.version, 2);
    assert_eq!(
        off.schedule.next_run_at, None,
        "a disabled schedule has no next fire time"
    );
    let again = store.toggle_schedule(&actor, sched, false).await.unwrap();
    assert!(!again.changed);
    assert_eq!(again.schedule.version, 2, "no change, no version");
    assert_eq!(
        store
            .list_schedules(acme.id, None, Some(false), PageRequest::new(10, 0))
            .await
            .unwrap()
            .total,
        1
    );
    assert_eq!(
        store
            .list_schedules(acme.id, Some(packages[1]), None, PageRequest::new(10, 0))
            .await
            .unwrap()
            .total,
        0
    );
    let events = store.audit_events(acme.id, 100).await.unwrap();
    let toggles: Vec<_> = events
        .iter()
        .filter(|e| e.action == "schedule.disable")
        .collect();
    assert_eq!(toggles.len(), 1, "one change, one event");
    assert_eq!(toggles[0].token_id, Some(principal.token_id));
    assert_eq!(toggles[0].before, Some(json!({"/enabled": true})));
    let other_principal = catalog::Principal {
        account: other.clone(),
        ..principal.clone()
    };
    assert!(matches!(
        store
            .toggle_schedule(&catalog::Actor::from(&other_principal), sched, true)
            .await,
        Err(CatalogError::NotFound { .. })
    ));
    assert!(events.iter().all(|e| !format!("{:?}", e).contains(SECRET)));
}

#[tokio::test]
async fn store_suite_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_data_dir(dir.path()).await.unwrap();
    suite(&store).await;
    store.close().await;
    // Migrations are idempotent: a second open finds everything in place.
    let again = Store::open_data_dir(dir.path()).await.unwrap();
    assert_eq!(again.list_accounts().await.unwrap().len(), 2);
}

#[tokio::test]
async fn store_suite_on_postgres() {
    with_postgres(|url| async move {
        let store = Store::open(&url).await.unwrap();
        assert_eq!(store.backend(), catalog::Backend::Postgres);
        suite(&store).await;
        store.close().await;
        let again = Store::open(&url).await.unwrap();
        assert_eq!(again.list_accounts().await.unwrap().len(), 2);
        again.close().await;
    })
    .await;
}

/// Runs `body` on a PostgreSQL database of its own, created for it and dropped afterwards
/// whatever happens. Without a server it skips, unless `PIPEWRIGHT_REQUIRE_SERVICES=1`.
async fn with_postgres<F, Fut>(body: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let admin_url = std::env::var("PIPEWRIGHT_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    sqlx::any::install_default_drivers();
    let mut admin = match AnyConnection::connect(&admin_url).await {
        Ok(c) => c,
        Err(e) if std::env::var("PIPEWRIGHT_REQUIRE_SERVICES").as_deref() != Ok("1") => {
            eprintln!("skipping: PostgreSQL not reachable at {admin_url}: {e}");
            return;
        }
        Err(e) => {
            panic!("PostgreSQL is required (PIPEWRIGHT_REQUIRE_SERVICES=1) but not reachable: {e}")
        }
    };
    static SEQ: AtomicUsize = AtomicUsize::new(0);
    let db = format!(
        "pw_store_{}_{}_{}",
        std::process::id(),
        catalog::time::now_ms(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    );
    admin
        .execute(AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .await
        .unwrap();
    let base = admin_url
        .rsplit_once('/')
        .map(|(b, _)| b.to_string())
        .unwrap();
    // Spawned, so a failure is caught and the database still dropped.
    let result = tokio::spawn(body(format!("{base}/{db}"))).await;
    admin
        .execute(AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {db} WITH (FORCE)"
        )))
        .await
        .unwrap();
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn on_sqlite<F, Fut>(suite: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_data_dir(dir.path()).await.unwrap();
    suite(store.clone()).await;
    store.close().await;
}

async fn on_postgres<F, Fut>(suite: F)
where
    F: FnOnce(Store) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    with_postgres(|url| async move {
        let store = Store::open(&url).await.unwrap();
        suite(store.clone()).await;
        store.close().await;
    })
    .await;
}

/// Each suite named here runs twice, as `sqlite::<suite>` and `postgres::<suite>`: a
/// backend is done when it passes them all.
macro_rules! on_both_backends {
    ($($module:ident :: $suite:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $suite() {
                    super::on_sqlite(super::$module::$suite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $suite() {
                    super::on_postgres(super::$module::$suite).await
                }
            )*
        }
    };
}

on_both_backends!(
    packages::package_authoring_versions_and_audits_every_change,
    packages::refused_package_changes_write_nothing,
    packages::twenty_concurrent_editors_lose_nothing,
    runs::a_run_goes_from_queue_to_completed_under_one_worker,
    runs::workers_claim_only_runs_of_their_cluster_oldest_first,
    runs::refused_submissions_write_nothing,
    runs::cancelling_depends_on_the_status_and_is_idempotent,
    runs::retries_are_new_runs_of_failed_or_cancelled_ones,
    runs::lost_runs_are_failed_once_and_never_requeued,
    runs::the_log_keeps_the_newest_lines,
    runs::runs_list_by_package_and_status_and_demo_runs_read_well,
    runs::clusters_show_live_workers,
    schedules::slots_fire_once_and_follow_their_policies,
    schedules::secret_variables_are_masked_and_kept,
    schedules::a_slot_that_already_ran_is_passed_not_retried,
);

/// Four schedulers in separate pools on one PostgreSQL control plane race for fifty slots:
/// each slot starts exactly one run.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_schedulers_in_separate_pools_fire_each_slot_once() {
    with_postgres(|url| async move {
        let mut stores = Vec::new();
        for _ in 0..4 {
            stores.push(Store::open(&url).await.unwrap());
        }
        schedules::concurrent_schedulers_fire_each_slot_once(stores).await;
    })
    .await;
}

/// The same on SQLite, four pools on one file.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_schedulers_in_separate_pools_fire_each_slot_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut stores = Vec::new();
    for _ in 0..4 {
        stores.push(Store::open_data_dir(dir.path()).await.unwrap());
    }
    schedules::concurrent_schedulers_fire_each_slot_once(stores).await;
}

/// Four workers, each with its own pool on one PostgreSQL control plane, drain 50 queued
/// runs: `FOR UPDATE SKIP LOCKED` gives each run to exactly one of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_claimers_in_separate_pools_take_each_run_once() {
    with_postgres(|url| async move {
        let mut stores = Vec::new();
        for _ in 0..4 {
            stores.push(Store::open(&url).await.unwrap());
        }
        runs::concurrent_claimers_take_each_run_once(stores, 50).await;
    })
    .await;
}

/// The same on SQLite, with stores opened separately on one file (as a CLI beside a
/// server): the database's write lock serialises the claims.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_claimers_in_separate_pools_take_each_run_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut stores = Vec::new();
    for _ in 0..4 {
        stores.push(Store::open_data_dir(dir.path()).await.unwrap());
    }
    runs::concurrent_claimers_take_each_run_once(stores, 50).await;
}

/// Package authoring, versions, audit and validations.
#[path = "store/packages.rs"]
mod packages;

/// The run queue, workers and live clusters.
#[path = "store/runs.rs"]
mod runs;

/// Schedules firing, with the clock given.
#[path = "store/schedules.rs"]
mod schedules;
