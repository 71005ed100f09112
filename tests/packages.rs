//! Package authoring through the MCP endpoint, against the real binary and the demo's
//! shop database: the component catalog, every authoring tool's happy path and
//! rejections (a rejected call changes nothing, writes no version and no audit event),
//! validation on real source columns, versions, revert, the audit trail, and concurrent
//! editors.

mod support;

use serde_json::{json, Value};
use support::{connection_id, demo, Session};

/// A three-component dataflow on the demo shop database: orders → filter → destination.
async fn orders_pipeline(c: &mut Session, predicate: &str) -> Value {
    let shop = connection_id(c, "shop-db").await;
    json!({
        "name": "big orders",
        "flow_type": "dataflow",
        "components": [
            {"database_source_component": {"name": "orders", "connection_id": shop, "table": "orders"}},
            {"filter_component": {"name": "big", "predicate": predicate}},
            {"database_destination_component": {"name": "sink", "connection_id": shop, "table": "big_orders", "operation": "append"}}
        ],
        "edges": []
    })
}

/// Component ids by name.
async fn ids(c: &mut Session, package_id: i64) -> std::collections::HashMap<String, String> {
    let version = current_version(c, package_id).await;
    let v = c
        .ok(
            "get_package_version",
            json!({"package_id": package_id, "version": version}),
        )
        .await;
    v["data_flow_json"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            let b = w.as_object().unwrap().values().next().unwrap();
            (
                b["name"].as_str().unwrap().to_string(),
                b["id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn current_version(c: &mut Session, package_id: i64) -> i64 {
    c.ok("get_package", json!({"package_id": package_id})).await["version"]
        .as_i64()
        .unwrap()
}

/// Everything a rejected call must leave alone: the package, its versions, the audit trail.
async fn snapshot(c: &mut Session, package_id: i64) -> (Value, Value, i64) {
    let p = c.ok("get_package", json!({"package_id": package_id})).await;
    let versions = c
        .ok(
            "list_package_versions",
            json!({"package_id": package_id, "limit": 100}),
        )
        .await;
    let audit = c.ok("list_audit_events", json!({"limit": 1})).await["total"]
        .as_i64()
        .unwrap();
    (p, versions, audit)
}

#[tokio::test]
async fn the_component_catalog_lists_and_describes_types() {
    let (_s, mut c) = demo().await;
    let all = c.ok("list_component_types", json!({})).await;
    let names: Vec<&str> = all["component_types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for n in [
        "database_source",
        "cloud_storage_source",
        "filter",
        "aggregate",
        "join",
        "database_destination",
        "sql_task",
    ] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    let sources = c
        .ok("list_component_types", json!({"category": "source"}))
        .await;
    assert!(sources["component_types"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["category"] == json!("source")));
    let e = c
        .err("list_component_types", json!({"category": "sinks-SECRET"}))
        .await;
    assert_eq!(e["field"], json!("category"));
    assert!(!e.to_string().contains("SECRET"));
    let d = c
        .ok(
            "describe_component_type",
            json!({"name": "filter_component"}),
        )
        .await;
    assert_eq!(d["required"], json!(["predicate"]));
    assert!(d["wrapper_example"]["filter_component"].is_object());
    let e = c
        .err("describe_component_type", json!({"name": "nope"}))
        .await;
    assert_eq!(e["field"], json!("name"));
}

#[tokio::test]
async fn an_assistants_path_from_example_to_revert_is_audited_step_by_step() {
    let (_s, mut c) = demo().await;
    // describe → create from the example shapes, with a predicate naming no real column.
    c.ok("describe_component_type", json!({"name": "filter"}))
        .await;
    let spec = orders_pipeline(&mut c, "amount > 100").await;
    let created = c.ok("create_package", spec).await;
    let pid = created["package_id"].as_i64().unwrap();
    assert_eq!(created["version"], json!(1));
    let ids = ids(&mut c, pid).await;
    c.ok(
        "update_package_edges",
        json!({"package_id": pid, "edges": [
            {"source": ids["orders"], "target": ids["big"]},
            {"source": ids["big"], "target": ids["sink"]}
        ]}),
    )
    .await;
    // Validation reads the real columns of `orders` and finds the unknown one.
    let v = c.ok("validate_package", json!({"package_id": pid})).await;
    assert_eq!(v["valid"], json!(false), "{v}");
    let err = &v["errors"][0];
    assert_eq!(err["component"], json!("big"), "{v}");
    assert_eq!(err["property"], json!("predicate"), "{v}");
    assert!(err["fix"].as_str().is_some_and(|f| !f.is_empty()));
    // Fixed.
    let fixed = c
        .ok(
            "update_package_components",
            json!({"package_id": pid, "updates": [{"component_name": "big", "updates": {"predicate": "total > 100"}}]}),
        )
        .await;
    assert_eq!(fixed["version"], json!(3));
    let v = c.ok("validate_package", json!({"package_id": pid})).await;
    assert_eq!(v["valid"], json!(true), "{v}");
    assert!(v["validation_id"].as_i64().is_some());
    // History and revert.
    let versions = c
        .ok("list_package_versions", json!({"package_id": pid}))
        .await;
    assert_eq!(versions["total"], json!(3));
    assert_eq!(versions["versions"][0]["version"], json!(3));
    let reverted = c
        .ok("revert_package", json!({"package_id": pid, "version": 2}))
        .await;
    assert_eq!(reverted["version"], json!(4));
    let v4 = c
        .ok(
            "get_package_version",
            json!({"package_id": pid, "version": 4}),
        )
        .await;
    let v2 = c
        .ok(
            "get_package_version",
            json!({"package_id": pid, "version": 2}),
        )
        .await;
    assert_eq!(v4["data_flow_json"], v2["data_flow_json"]);
    // The audit trail shows each step, with the tool and the token's name.
    let events = c
        .ok(
            "list_audit_events",
            json!({"target_type": "package", "target_id": pid, "limit": 100}),
        )
        .await;
    let tools: Vec<&str> = events["audit_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["tool"].as_str().unwrap_or("-"))
        .collect();
    assert_eq!(
        tools,
        [
            "revert_package",
            "update_package_components",
            "update_package_edges",
            "create_package"
        ],
        "{events}"
    );
    for e in events["audit_events"].as_array().unwrap() {
        assert!(
            e["token_name"].as_str().is_some_and(|n| !n.is_empty()),
            "{e}"
        );
        assert_eq!(e["client_name"], json!("e2e-test"));
    }
}

#[tokio::test]
async fn every_authoring_tool_works_and_every_rejection_changes_nothing() {
    let (_s, mut c) = demo().await;
    let spec = orders_pipeline(&mut c, "total > 100").await;
    let pid = c.ok("create_package", spec).await["package_id"]
        .as_i64()
        .unwrap();
    let ids = ids(&mut c, pid).await;

    // Happy paths.
    let added = c
        .ok(
            "add_package_components",
            json!({"package_id": pid,
                   "components": [{"limit_component": {"id": "top", "name": "top", "count": 10}}],
                   "edges": [{"source": ids["big"], "target": "top"}]}),
        )
        .await;
    assert_eq!(added["version"], json!(2));
    c.ok(
        "rename_package",
        json!({"package_id": pid, "name": "big orders v2", "description": "orders over 100"}),
    )
    .await;
    c.ok(
        "manage_package_variables",
        json!({"package_id": pid, "set": {"threshold": 100, "since": "2026-01-01"}}),
    )
    .await;
    c.ok(
        "manage_package_variables",
        json!({"package_id": pid, "remove": ["since"]}),
    )
    .await;
    let removed = c
        .ok(
            "remove_package_components",
            json!({"package_id": pid, "component_names": ["top"]}),
        )
        .await;
    assert_eq!(removed["version"], json!(6));
    let p = c.ok("get_package", json!({"package_id": pid})).await;
    assert_eq!(p["name"], json!("big orders v2"));
    let cloned = c
        .ok("clone_package", json!({"package_id": pid, "name": "copy"}))
        .await;
    let copy = cloned["package_id"].as_i64().unwrap();
    assert_ne!(copy, pid);
    assert_eq!(cloned["version"], json!(1));

    // Rejections: each leaves the package, its versions and the audit trail as they were.
    let before = snapshot(&mut c, pid).await;
    let rejected: Vec<(&str, Value, &str)> = vec![
        (
            "update_package_components",
            json!({"package_id": pid, "updates": [
            {"component_name": "big", "updates": {"predicate": "total > 1"}},
            {"component_name": "no-such-component", "updates": {"x": 1}}]}),
            "updates[1].component_name",
        ),
        (
            "update_package_components",
            json!({"package_id": pid, "updates": [
            {"component_name": "big", "updates": {"id": "zz"}}]}),
            "updates[0].updates.id",
        ),
        (
            "update_package_edges",
            json!({"package_id": pid, "edges": [{"source": ids["orders"], "target": "ghost"}]}),
            "edges[0].target",
        ),
        (
            "remove_package_components",
            json!({"package_id": pid, "component_names": ["big", "ghost"]}),
            "component_names[1]",
        ),
        (
            "add_package_components",
            json!({"package_id": pid, "components": [{"limit_component": {"name": "big", "count": 1}}]}),
            "components[0].name",
        ),
        (
            "manage_package_variables",
            json!({"package_id": pid, "remove": ["never-defined"]}),
            "remove[0]",
        ),
        (
            "manage_package_variables",
            json!({"package_id": pid, "set": {"not a name": 1}}),
            "set",
        ),
        (
            "rename_package",
            json!({"package_id": pid, "name": "x", "expected_version": 1}),
            "expected_version",
        ),
        (
            "update_package_components",
            json!({"package_id": 999999, "updates": [{"component_name": "big", "updates": {}}]}),
            "package_id",
        ),
        (
            "revert_package",
            json!({"package_id": pid, "version": 99}),
            "version",
        ),
        (
            "get_package_version",
            json!({"package_id": pid, "version": 99}),
            "version",
        ),
        (
            "create_package",
            json!({"name": "bad", "flow_type": "streaming", "components": []}),
            "flow_type",
        ),
        (
            "create_package",
            json!({"name": "bad", "flow_type": "dataflow", "components": [], "workspace_id": 999999}),
            "workspace_id",
        ),
    ];
    for (tool, args, field) in rejected {
        let e = c.err(tool, args.clone()).await;
        assert_eq!(e["field"], json!(field), "{tool}({args}): {e}");
        assert!(
            !e.to_string().contains("ghost"),
            "{tool} echoed a value: {e}"
        );
        assert_eq!(
            snapshot(&mut c, pid).await,
            before,
            "{tool} changed something"
        );
    }
    // A stale expected_version is a conflict, reported as such.
    let e = c
        .err(
            "rename_package",
            json!({"package_id": pid, "name": "x", "expected_version": 2}),
        )
        .await;
    assert_eq!(e["code"], json!("conflict"));

    // Archive: refused while an enabled schedule references the package, then allowed.
    let schedules = c.ok("list_packages", json!({"limit": 100})).await;
    assert!(schedules["packages"].is_array());
    let archived = c.ok("delete_package", json!({"package_id": copy})).await;
    assert_eq!(archived["changed"], json!(true));
    let again = c.ok("delete_package", json!({"package_id": copy})).await;
    assert_eq!(again["changed"], json!(false));
    let listed = c
        .ok("list_packages", json!({"status": "archived", "limit": 100}))
        .await;
    assert!(listed["packages"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["id"] == json!(copy)));
}

#[tokio::test]
async fn a_package_with_an_enabled_schedule_cannot_be_archived() {
    let (s, mut c) = demo().await;
    let _ = &s;
    // The demo has schedules: find an enabled one's package through the store's search.
    let packages = c.ok("list_packages", json!({"limit": 100})).await;
    let mut refused = false;
    for p in packages["packages"].as_array().unwrap() {
        let id = p["id"].as_i64().unwrap();
        let r = c.call("delete_package", json!({"package_id": id})).await;
        if r["isError"] == json!(true) {
            let text = r["content"][0]["text"].as_str().unwrap();
            let e: Value = serde_json::from_str(text).unwrap();
            assert_eq!(e["error"]["code"], json!("conflict"), "{e}");
            assert!(e["error"]["hint"]
                .as_str()
                .unwrap()
                .contains("toggle_schedule"));
            refused = true;
        }
    }
    assert!(refused, "no demo package had an enabled schedule");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_clients_editing_one_package_lose_nothing() {
    let (s, mut c) = demo().await;
    let spec = orders_pipeline(&mut c, "total > 100").await;
    let pid = c.ok("create_package", spec).await["package_id"]
        .as_i64()
        .unwrap();
    let token = s
        .output
        .lock()
        .unwrap()
        .iter()
        .find(|l| l.trim_start().starts_with("pwt_"))
        .unwrap()
        .trim()
        .to_string();
    support::twenty_concurrent_editors(&s.url("demo"), &token, pid).await;
}

#[tokio::test]
async fn every_demo_package_validates_but_the_one_meant_to_fail() {
    let (_s, mut c) = demo().await;
    for status in ["active", "archived"] {
        let list = c
            .ok("list_packages", json!({"status": status, "limit": 100}))
            .await;
        let packages = list["packages"].as_array().unwrap();
        assert!(!packages.is_empty(), "no {status} demo packages");
        for p in packages {
            let v = c
                .ok("validate_package", json!({"package_id": p["id"]}))
                .await;
            if p["name"] == json!("Refunded orders report") {
                // The demo's failing run: its filter names a column the orders lack.
                assert_eq!(v["valid"], json!(false), "{v}");
                assert_eq!(v["errors"][0]["component"], json!("refunded"), "{v}");
                assert_eq!(v["errors"][0]["property"], json!("predicate"), "{v}");
                continue;
            }
            assert_eq!(v["errors"], json!([]), "{}: {v}", p["name"]);
            assert_eq!(v["valid"], json!(true));
        }
    }
}

/// A table aligned with spaces is discovered (issue 14) but no pipeline reads it: validation
/// says so and how to fix it, instead of reading it as one column or as space-separated.
#[tokio::test]
async fn validation_refuses_a_space_aligned_text_table_as_a_source() {
    let (s, mut c) = demo().await;
    let files = connection_id(&mut c, "sample-files").await;
    let shop = connection_id(&mut c, "shop-db").await;
    std::fs::write(
        s.data_dir.join("demo/files/pods.txt"),
        "NAME        READY   STATUS    RESTARTS\nweb-1       1/1     Running   0\napi-22      0/1     Pending   3\nworker-3    1/1     Running   12\n",
    )
    .unwrap();
    let spec = json!({
        "name": "pods",
        "flow_type": "dataflow",
        "components": [
            {"cloud_storage_source_component": {"name": "pods", "connection_id": files, "path": "pods.txt"}},
            {"database_destination_component": {"name": "sink", "connection_id": shop, "table": "pods", "operation": "append"}}
        ],
        "edges": []
    });
    let pid = c.ok("create_package", spec).await["package_id"]
        .as_i64()
        .unwrap();
    let ids = ids(&mut c, pid).await;
    c.ok(
        "update_package_edges",
        json!({"package_id": pid, "edges": [{"source": ids["pods"], "target": ids["sink"]}]}),
    )
    .await;
    let v = c.ok("validate_package", json!({"package_id": pid})).await;
    assert_eq!(v["valid"], json!(false), "{v}");
    let found =
        v["errors"].as_array().unwrap().iter().any(|e| {
            e["component"] == json!("pods") && e.to_string().contains("aligned with spaces")
        });
    assert!(found, "{v}");
}
