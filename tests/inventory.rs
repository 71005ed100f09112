//! The account-inventory tools through the real HTTP endpoint: shapes, pagination,
//! filters, and errors that name the field to fix.

mod support;

use serde_json::{json, Value};
use support::{Server, Session, INVENTORY_TOOLS};

async fn demo_session() -> (Server, Session) {
    let mut s = Server::start();
    let t = s.demo_token();
    let session = Session::open(&s.url("demo"), &t).await;
    (s, session)
}

/// Waits (deadline 60 s) until the demo's first runs, queued when it was created, have
/// all ended.
async fn demo_runs_finished(c: &mut Session) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let mut open = 0;
        for status in ["queued", "running"] {
            open += c.ok("list_runs", json!({"status": status})).await["total"]
                .as_i64()
                .unwrap();
        }
        if open == 0 {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{open} demo runs still open"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

fn no_true_property_schema(v: &Value) -> bool {
    match v {
        Value::Object(o) => o.iter().all(|(k, v)| {
            let props_ok = k != "properties"
                || v.as_object()
                    .is_none_or(|m| m.values().all(|p| *p != Value::Bool(true)));
            props_ok && no_true_property_schema(v)
        }),
        Value::Array(a) => a.iter().all(no_true_property_schema),
        _ => true,
    }
}

fn ids(v: &Value, key: &str) -> Vec<i64> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} in {v}"))
        .iter()
        .map(|x| x["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn every_tool_has_schemas_annotations_and_a_description() {
    let (_s, mut c) = demo_session().await;
    let m = c.request("tools/list", json!({})).await.message();
    let tools = m["result"]["tools"].as_array().unwrap();
    let size = serde_json::to_string(&m["result"]).unwrap().len();
    assert!(
        size <= 40 * 1024,
        "tools/list is {size} bytes (the context budget: tests/context_budget.rs)"
    );
    for t in tools {
        let name = t["name"].as_str().unwrap();
        assert_eq!(t["inputSchema"]["type"], json!("object"), "{name}");
        // No `$schema`: MCP reads a schema without one as JSON Schema 2020-12.
        assert!(t["inputSchema"].get("$schema").is_none(), "{name}");
        // Strict inputs: an unknown argument is an error, and the schema says so.
        assert_eq!(
            t["inputSchema"]["additionalProperties"],
            json!(false),
            "{name}"
        );
        // No boolean `true` property schemas (the TypeScript SDK rejects them).
        for schema in [&t["inputSchema"], &t["outputSchema"]] {
            assert!(no_true_property_schema(schema), "{name}: {schema}");
        }
        assert_eq!(t["outputSchema"]["type"], json!("object"), "{name}");
        assert!(t["description"].as_str().unwrap().len() > 40, "{name}");
        assert!(t["annotations"]["readOnlyHint"].is_boolean(), "{name}");
        assert!(t["annotations"]["destructiveHint"].is_boolean(), "{name}");
        assert!(t["annotations"]["idempotentHint"].is_boolean(), "{name}");
        assert!(t["annotations"]["openWorldHint"].is_boolean(), "{name}");
    }
    let names: Vec<_> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    for n in INVENTORY_TOOLS {
        assert!(names.contains(&n), "{n} missing from {names:?}");
        let t = tools.iter().find(|t| t["name"] == json!(n)).unwrap();
        assert_eq!(t["annotations"]["readOnlyHint"], json!(true), "{n}");
    }
}

#[tokio::test]
async fn list_workspaces_pages_and_reports_health() {
    let (_s, mut c) = demo_session().await;
    demo_runs_finished(&mut c).await;
    let all = c.ok("list_workspaces", json!({})).await;
    assert_eq!(all["total"], json!(3));
    assert_eq!(all["limit"], json!(25));
    let sales = all["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == json!("Sales analytics"))
        .unwrap();
    assert_eq!(sales["package_count"], json!(2));
    let health = sales["last_failed_jobs_count"].as_i64().unwrap()
        + sales["last_completed_jobs_count"].as_i64().unwrap();
    assert_eq!(
        health, 2,
        "each package's latest run is failed or completed: {sales}"
    );
    let p1 = c.ok("list_workspaces", json!({"limit": 2})).await;
    let p2 = c
        .ok("list_workspaces", json!({"limit": 2, "offset": 2}))
        .await;
    assert_eq!(ids(&p1, "workspaces").len(), 2);
    assert_eq!(ids(&p2, "workspaces").len(), 1);
    let mut joined = ids(&p1, "workspaces");
    joined.extend(ids(&p2, "workspaces"));
    assert_eq!(joined, ids(&all, "workspaces"));
    assert_eq!(p2["total"], json!(3));
    let e = c.err("list_workspaces", json!({"limit": 500})).await;
    assert_eq!(e["field"], json!("limit"));
    assert_eq!(e["code"], json!("invalid_argument"));
    assert_eq!(
        c.err("list_workspaces", json!({"offset": -1})).await["field"],
        json!("offset")
    );
    assert_eq!(
        c.err("list_workspaces", json!({"limt": 5})).await["field"],
        json!("limt")
    );
}

#[tokio::test]
async fn list_packages_filters_by_flow_type_status_and_workspace() {
    let (_s, mut c) = demo_session().await;
    let all = c.ok("list_packages", json!({"limit": 100})).await;
    assert_eq!(all["total"], json!(6));
    let workflows = c
        .ok("list_packages", json!({"flow_type": "workflow"}))
        .await;
    assert_eq!(workflows["total"], json!(1));
    assert_eq!(workflows["packages"][0]["name"], json!("Nightly close"));
    let archived = c.ok("list_packages", json!({"status": "archived"})).await;
    assert_eq!(archived["total"], json!(1));
    assert_eq!(archived["packages"][0]["status"], json!("archived"));
    let ws = c.ok("list_workspaces", json!({})).await;
    let finance = ws["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == json!("Finance"))
        .unwrap()["id"]
        .clone();
    let in_finance = c
        .ok("list_packages", json!({"workspace_id": finance}))
        .await;
    assert_eq!(in_finance["total"], json!(3));
    assert!(in_finance["packages"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["workspace_id"] == finance));
    let combined = c
        .ok(
            "list_packages",
            json!({"workspace_id": finance, "flow_type": "dataflow", "status": "active"}),
        )
        .await;
    assert_eq!(combined["total"], json!(2));
    let page = c
        .ok("list_packages", json!({"limit": 2, "offset": 5}))
        .await;
    assert_eq!(ids(&page, "packages").len(), 1);
    assert!(all["packages"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["last_run_status"].is_string()));
    assert_eq!(
        c.err("list_packages", json!({"flow_type": "stream"})).await["field"],
        json!("flow_type")
    );
    let e = c
        .err("list_packages", json!({"workspace_id": 424242}))
        .await;
    assert_eq!(
        (e["code"].clone(), e["field"].clone()),
        (json!("not_found"), json!("workspace_id"))
    );
}

#[tokio::test]
async fn get_package_summarises_and_optionally_returns_the_graph() {
    let (_s, mut c) = demo_session().await;
    let list = c.ok("list_packages", json!({"limit": 100})).await;
    let rollup = list["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == json!("Daily revenue rollup"))
        .unwrap()["id"]
        .clone();
    let p = c.ok("get_package", json!({"package_id": rollup})).await;
    assert_eq!(p["component_count"], json!(5));
    assert_eq!(p["edge_count"], json!(4));
    assert_eq!(p["component_types"]["database_source_component"], json!(2));
    assert_eq!(p["variables_count"], json!(2));
    assert!(p.get("data_flow_json").is_none());
    let full = c
        .ok(
            "get_package",
            json!({"package_id": rollup, "include_full_graph": true}),
        )
        .await;
    assert_eq!(
        full["data_flow_json"]["components"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    let e = c.err("get_package", json!({"package_id": 999999})).await;
    assert_eq!(
        (e["code"].clone(), e["field"].clone()),
        (json!("not_found"), json!("package_id"))
    );
    assert_eq!(
        c.err("get_package", json!({})).await["field"],
        json!("package_id")
    );
    assert_eq!(
        c.err("get_package", json!({"package_id": "abc"})).await["field"],
        json!("package_id")
    );
}

#[tokio::test]
async fn connections_list_filter_and_detail_without_credentials() {
    let (_s, mut c) = demo_session().await;
    let all = c.ok("list_connections", json!({})).await;
    assert_eq!(all["total"], json!(4));
    for conn in all["connections"].as_array().unwrap() {
        let keys: Vec<_> = conn.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, vec!["id", "name", "status", "type"]);
    }
    assert_eq!(
        c.ok(
            "list_connections",
            json!({"connection_type_filter": "database"})
        )
        .await["total"],
        json!(3)
    );
    assert_eq!(
        c.ok(
            "list_connections",
            json!({"connection_type_filter": "file"})
        )
        .await["total"],
        json!(1)
    );
    let pg = c
        .ok(
            "list_connections",
            json!({"connection_type_filter": "postgres"}),
        )
        .await;
    assert_eq!(pg["total"], json!(1));
    let page = c
        .ok("list_connections", json!({"limit": 1, "offset": 1}))
        .await;
    assert_eq!(ids(&page, "connections"), vec![ids(&all, "connections")[1]]);
    assert_eq!(
        c.err(
            "list_connections",
            json!({"connection_type_filter": "oracle"})
        )
        .await["field"],
        json!("connection_type_filter")
    );
    let id = pg["connections"][0]["id"].clone();
    let detail = c.ok("get_connection", json!({"connection_id": id})).await;
    assert_eq!(detail["host"], json!("127.0.0.1"));
    assert_eq!(detail["port"], json!(5432));
    assert_eq!(detail["database"], json!("warehouse"));
    assert_eq!(detail["tunnel_type"], json!("none"));
    assert_eq!(detail["secrets_set"], json!(["password"]));
    assert_eq!(
        detail["suggested_components"]["destination"],
        json!("postgres_destination_component")
    );
    assert!(!detail.to_string().contains("demo-warehouse-password"));
    let e = c
        .err("get_connection", json!({"connection_id": 31337}))
        .await;
    assert_eq!(
        (e["code"].clone(), e["field"].clone()),
        (json!("not_found"), json!("connection_id"))
    );
}

#[tokio::test]
async fn list_clusters_filters_by_status_and_pages() {
    let (_s, mut c) = demo_session().await;
    let all = c.ok("list_clusters", json!({})).await;
    assert_eq!(all["total"], json!(2));
    let avail = c.ok("list_clusters", json!({"status": "available"})).await;
    assert_eq!(avail["total"], json!(1));
    let cl = &avail["clusters"][0];
    assert_eq!(cl["name"], json!("default"));
    assert_eq!(cl["nodes"], json!(2));
    assert!(cl["available_since"].is_string());
    assert_eq!(cl["terminate_on_idle"], json!(false));
    assert_eq!(
        c.ok("list_clusters", json!({"status": "terminated"})).await["clusters"][0]
            ["terminate_on_idle"],
        json!(true)
    );
    assert_eq!(
        ids(
            &c.ok("list_clusters", json!({"limit": 1, "offset": 1}))
                .await,
            "clusters"
        )
        .len(),
        1
    );
    assert_eq!(
        c.err("list_clusters", json!({"status": "melting"})).await["field"],
        json!("status")
    );
}

#[tokio::test]
async fn search_all_ranks_filters_by_type_and_caps_per_type() {
    let (_s, mut c) = demo_session().await;
    let r = c.ok("search_all", json!({"query": "orders"})).await;
    let packages = r["packages"].as_array().unwrap();
    assert_eq!(
        packages[0]["name"],
        json!("Orders to warehouse"),
        "name matches rank first: {r}"
    );
    let scores: Vec<f64> = packages
        .iter()
        .map(|p| p["score"].as_f64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    let only = c
        .ok(
            "search_all",
            json!({"query": "ware", "types": ["connection"]}),
        )
        .await;
    assert!(only.get("packages").is_none());
    assert_eq!(
        only["connections"][0]["name"],
        json!("warehouse-postgres"),
        "prefix match: {only}"
    );
    let capped = c
        .ok("search_all", json!({"query": "e", "per_type_limit": 1}))
        .await;
    for k in ["connections", "packages", "clusters", "workspaces"] {
        assert!(capped[k].as_array().unwrap().len() <= 1, "{k}: {capped}");
    }
    // Query syntax never reaches the engine.
    let odd = c.ok("search_all", json!({"query": "orders\" * ( -"})).await;
    assert!(odd["total"].as_i64().unwrap() >= 1);
    assert_eq!(
        c.err("search_all", json!({"query": "x", "per_type_limit": 51}))
            .await["field"],
        json!("per_type_limit")
    );
    assert_eq!(
        c.err("search_all", json!({"query": "x", "types": ["robots"]}))
            .await["field"],
        json!("types")
    );
    assert_eq!(
        c.err("search_all", json!({"query": "  !! "})).await["field"],
        json!("query")
    );
}

#[tokio::test]
async fn toggle_schedule_is_audited_and_idempotent() {
    let (_s, mut c) = demo_session().await;
    let off = c
        .ok(
            "toggle_schedule",
            json!({"schedule_id": 1, "enabled": false}),
        )
        .await;
    assert_eq!(
        (off["enabled"].clone(), off["changed"].clone()),
        (json!(false), json!(true))
    );
    let again = c
        .ok(
            "toggle_schedule",
            json!({"schedule_id": 1, "enabled": false}),
        )
        .await;
    assert_eq!(again["changed"], json!(false));
    let e = c
        .err(
            "toggle_schedule",
            json!({"schedule_id": 999, "enabled": true}),
        )
        .await;
    assert_eq!(e["field"], json!("schedule_id"));
    assert_eq!(
        c.err("toggle_schedule", json!({"schedule_id": 1})).await["field"],
        json!("enabled")
    );
}
