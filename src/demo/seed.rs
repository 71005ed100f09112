//! The demo account's control-plane objects: workspaces, connections, clusters, packages,
//! schedules and a run history with successes and failures.

use std::{collections::BTreeMap, path::Path};

use catalog::{
    clusters::NewCluster, connections::NewConnection, packages::NewPackage, runs::NewRun,
    schedules::NewSchedule, seal::Sealer, time::now_ms, Store,
};
use serde_json::{json, Map, Value};

use super::{rng::Rng, ACCOUNT, OWNER};

fn fields(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn graph(components: Value, edges: &[(&str, &str)]) -> Value {
    json!({
        "components": components,
        "edges": edges.iter().map(|(s, t)| json!({"source": s, "target": t})).collect::<Vec<_>>()
    })
}

pub async fn seed(store: &Store, sealer: &Sealer, dir: &Path) -> anyhow::Result<()> {
    let acct = store.create_account(ACCOUNT, "Demo Shop Inc.").await?;
    store
        .add_member(acct.id, OWNER, "Demo Owner", "owner")
        .await?;
    let a = acct.id;

    let sales = store
        .create_workspace(
            a,
            "Sales analytics",
            "Orders and customers into the warehouse",
        )
        .await?;
    let finance = store
        .create_workspace(a, "Finance", "Revenue roll-ups and reconciliations")
        .await?;
    let _sandbox = store
        .create_workspace(a, "Sandbox", "Experiments; safe to break")
        .await?;

    let shop_db = store
        .create_connection(
            sealer,
            NewConnection {
                account_id: a,
                name: "shop-db",
                kind: "sqlite",
                fields: fields(
                    json!({"path": dir.join("shop.db").display().to_string(), "database": "shop"}),
                ),
                secrets: BTreeMap::new(),
            },
        )
        .await?;
    let files = store
        .create_connection(
            sealer,
            NewConnection {
                account_id: a,
                name: "sample-files",
                kind: "local",
                fields: fields(json!({"path": dir.join("files").display().to_string()})),
                secrets: BTreeMap::new(),
            },
        )
        .await?;
    let mut wh_secret = BTreeMap::new();
    wh_secret.insert(
        "password".to_string(),
        "demo-warehouse-password".to_string(),
    );
    let warehouse = store
        .create_connection(
            sealer,
            NewConnection {
                account_id: a,
                name: "warehouse-postgres",
                kind: "postgres",
                fields: fields(json!({"host": "127.0.0.1", "port": 5432, "database": "warehouse", "user": "pipewright", "tls_mode": "prefer", "tunnel_type": "none"})),
                secrets: wh_secret,
            },
        )
        .await?;

    let default = store
        .create_cluster(NewCluster {
            account_id: a,
            name: "default",
            status: "available",
            kind: "local",
            nodes: 2,
            region: "local",
            terminate_on_idle: false,
        })
        .await?;
    store
        .create_cluster(NewCluster {
            account_id: a,
            name: "nightly-batch",
            status: "terminated",
            kind: "local",
            nodes: 4,
            region: "local",
            terminate_on_idle: true,
        })
        .await?;

    let orders_sync = store
        .create_package(NewPackage {
            account_id: a,
            workspace_id: Some(sales),
            name: "Orders to warehouse",
            description: "Copies new shop orders into the warehouse every hour",
            flow_type: "dataflow",
            data_flow_json: graph(
                json!([
                    {"database_source_component": {"id": "c1", "name": "orders", "connection_id": shop_db, "table": "orders"}},
                    {"select_component": {"id": "c2", "name": "pick_columns", "fields": ["id", "customer_id", "ordered_at", "total"]}},
                    {"postgres_destination_component": {"id": "c3", "name": "warehouse_orders", "connection_id": warehouse, "table": "orders", "operation": "merge", "merge_keys": ["id"]}}
                ]),
                &[("c1", "c2"), ("c2", "c3")],
            ),
            variables: json!({"since": "2025-01-01"}),
        })
        .await?;
    let csv_import = store
        .create_package(NewPackage {
            account_id: a,
            workspace_id: Some(sales),
            name: "Customer CSV import",
            description: "Loads customers.csv from the sample files into the warehouse",
            flow_type: "dataflow",
            data_flow_json: graph(
                json!([
                    {"cloud_storage_source_component": {"id": "c1", "name": "customers_csv", "connection_id": files, "path": "customers.csv", "delimiter": ","}},
                    {"filter_component": {"id": "c2", "name": "vip_only", "predicate": "is_vip = true"}},
                    {"postgres_destination_component": {"id": "c3", "name": "warehouse_customers", "connection_id": warehouse, "table": "customers"}}
                ]),
                &[("c1", "c2"), ("c2", "c3")],
            ),
            variables: json!({}),
        })
        .await?;
    let revenue = store
        .create_package(NewPackage {
            account_id: a,
            workspace_id: Some(finance),
            name: "Daily revenue rollup",
            description: "Sums order totals per day and country",
            flow_type: "dataflow",
            data_flow_json: graph(
                json!([
                    {"database_source_component": {"id": "c1", "name": "orders", "connection_id": shop_db, "table": "orders"}},
                    {"database_source_component": {"id": "c2", "name": "customers", "connection_id": shop_db, "table": "customers"}},
                    {"join_component": {"id": "c3", "name": "orders_with_country", "join_type": "inner", "on": "orders.customer_id = customers.id"}},
                    {"aggregate_component": {"id": "c4", "name": "per_day", "group_by": ["date_trunc('day', ordered_at) AS day", "country"], "measures": ["sum(total) AS revenue"]}},
                    {"postgres_destination_component": {"id": "c5", "name": "revenue_daily", "connection_id": warehouse, "table": "revenue_daily"}}
                ]),
                &[("c1", "c3"), ("c2", "c3"), ("c3", "c4"), ("c4", "c5")],
            ),
            variables: json!({"currency": "USD", "days_back": "7"}),
        })
        .await?;
    let nightly = store
        .create_package(NewPackage {
            account_id: a,
            workspace_id: Some(finance),
            name: "Nightly close",
            description: "Runs the revenue rollup, then the orders sync",
            flow_type: "workflow",
            data_flow_json: graph(
                json!([
                    {"run_package_task": {"id": "t1", "name": "rollup", "package_id": revenue}},
                    {"run_package_task": {"id": "t2", "name": "sync", "package_id": orders_sync}}
                ]),
                &[("t1", "t2")],
            ),
            variables: json!({}),
        })
        .await?;
    let legacy = store
        .create_package(NewPackage {
            account_id: a,
            workspace_id: None,
            name: "Legacy CRM export",
            description: "Old export kept for reference",
            flow_type: "dataflow",
            data_flow_json: graph(
                json!([
                    {"cloud_storage_source_component": {"id": "c1", "name": "legacy", "connection_id": files, "path": "legacy_customers_latin1.csv", "encoding": "ISO-8859-1"}},
                    {"cloud_storage_destination_component": {"id": "c2", "name": "legacy_copy", "connection_id": files, "path": "exports/legacy_customers.csv", "record_type": "delimited"}}
                ]),
                &[("c1", "c2")],
            ),
            variables: json!({}),
        })
        .await?;
    archive(store, a, legacy).await?;

    let now = now_ms();
    let hour = 3_600_000;
    for (name, package_id, cron, enabled) in [
        ("Hourly orders sync", orders_sync, "0 0 * * * *", true),
        ("Nightly close", nightly, "0 0 2 * * *", true),
        (
            "Weekly customer import",
            csv_import,
            "0 30 6 * * MON",
            false,
        ),
    ] {
        store
            .create_schedule(NewSchedule {
                account_id: a,
                package_id,
                name,
                cron,
                enabled,
                variables: json!({}),
                cluster_id: Some(default),
                next_run_at: enabled.then_some(now + hour),
                last_run_at: Some(now - hour),
            })
            .await?;
    }

    let mut r = Rng::new(7);
    let failures = [
        ("orders sync", orders_sync, "ERROR connection refused: could not connect to warehouse-postgres at 127.0.0.1:5432 (is the server running?)"),
        ("customer import", csv_import, "ERROR schema mismatch: column `is_vip` expected boolean, found \"maybe\" on line 812"),
        ("revenue rollup", revenue, "FATAL auth failed for user \"pipewright\" on warehouse-postgres; check the connection's credentials"),
    ];
    for i in 0..24i64 {
        let (label, package_id, error) = failures[(i % 3) as usize];
        let failed = r.below(4) == 0;
        let started = now - (24 - i) * 4 * hour;
        let rows = 500 + r.below(5000) as i64;
        let mut log = vec![
            ("INFO", format!("starting {label} on cluster default")),
            ("INFO", format!("read {rows} rows")),
        ];
        if failed {
            log.push(("ERROR", error.to_string()));
        } else {
            log.push(("INFO", format!("wrote {rows} rows")));
            log.push(("INFO", "completed".to_string()));
        }
        store
            .record_run(NewRun {
                account_id: a,
                package_id,
                cluster_id: Some(default),
                status: if failed { "failed" } else { "completed" },
                rows_read: rows,
                rows_written: if failed { 0 } else { rows },
                last_error: failed.then_some(error),
                started_at: Some(started),
                completed_at: Some(started + 60_000 + r.below(600_000) as i64),
                log,
            })
            .await?;
    }
    Ok(())
}

async fn archive(store: &Store, account_id: i64, package_id: i64) -> anyhow::Result<()> {
    store
        .set_package_status(account_id, package_id, "archived")
        .await?;
    Ok(())
}
