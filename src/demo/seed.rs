//! The demo account's control-plane objects: workspaces, connections, clusters, packages,
//! schedules and a run history with successes and failures.

use std::{collections::BTreeMap, path::Path};

use catalog::{
    audit::Actor, clusters::NewCluster, connections::NewConnection, packages::NewPackage,
    runs::RunSubmission, schedules::ScheduleSpec, seal::Sealer, Store,
};
use serde_json::{json, Map, Value};

use super::{ACCOUNT, OWNER};

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

    // Where the demo's packages write: a SQLite database beside the shop's, so every run
    // moves real data on any machine.
    let demo_warehouse = store
        .create_connection(
            sealer,
            NewConnection {
                account_id: a,
                name: "analytics-db",
                kind: "sqlite",
                fields: fields(
                    json!({"path": dir.join("analytics.db").display().to_string(), "database": "analytics"}),
                ),
                secrets: BTreeMap::new(),
            },
        )
        .await?;
    let _ = warehouse;

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
                    {"database_destination_component": {"id": "c3", "name": "warehouse_orders", "connection_id": demo_warehouse, "table": "orders", "operation": "merge", "merge_keys": ["id"]}}
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
                    {"database_destination_component": {"id": "c3", "name": "warehouse_customers", "connection_id": demo_warehouse, "table": "vip_customers", "operation": "overwrite"}}
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
                    {"database_destination_component": {"id": "c5", "name": "revenue_daily", "connection_id": demo_warehouse, "table": "revenue_daily", "operation": "overwrite"}}
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
            .create_schedule(
                &Actor::system(a),
                ScheduleSpec {
                    package_id,
                    name: name.into(),
                    cron: cron.into(),
                    time_zone: Some("UTC".into()),
                    enabled,
                    variables: Map::new(),
                    cluster_id: Some(default),
                    missed_policy: None,
                    overlap_policy: None,
                },
            )
            .await?;
    }

    // A package that fails for a real reason: it filters on a column the shop's orders
    // table does not have (renamed upstream), which explain_job_failure explains.
    let refunds = store
        .create_package(NewPackage {
            account_id: a,
            workspace_id: Some(finance),
            name: "Refunded orders report",
            description: "Orders refunded in the last week, for the finance team",
            flow_type: "dataflow",
            data_flow_json: graph(
                json!([
                    {"database_source_component": {"id": "c1", "name": "orders", "connection_id": shop_db, "table": "orders"}},
                    {"filter_component": {"id": "c2", "name": "refunded", "predicate": "refunded_at IS NOT NULL"}},
                    {"database_destination_component": {"id": "c3", "name": "refunds", "connection_id": demo_warehouse, "table": "refunds", "operation": "overwrite"}}
                ]),
                &[("c1", "c2"), ("c2", "c3")],
            ),
            variables: json!({}),
        })
        .await?;

    // The run history: real runs, queued now and executed by the server's worker as soon
    // as it starts.
    let none = Map::new();
    for package_id in [
        orders_sync,
        csv_import,
        revenue,
        orders_sync,
        refunds,
        revenue,
    ] {
        store
            .submit_run(RunSubmission {
                actor: Actor::system(a),
                package_id,
                cluster_id: Some(default),
                variables: &none,
                dynamic_variables: &none,
                parent_run_id: None,
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
