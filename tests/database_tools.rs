//! `test_connection`, `discover_schema` and `preview_data` through the MCP endpoint of the
//! real binary, on the demo's SQLite shop database, its sample-files folder and its
//! (deliberately unreachable) warehouse connection.

mod support;

use serde_json::{json, Value};
use support::{connection_id, demo};

#[tokio::test]
async fn preview_the_shop_orders_with_a_filter() {
    let (_s, mut c) = demo().await;
    let shop = connection_id(&mut c, "shop-db").await;
    let p = c
        .ok(
            "preview_data",
            json!({"connection_id": shop, "table_name": "orders", "row_count": 5,
                   "where_clause": "status = 'shipped' AND total > 100"}),
        )
        .await;
    assert_eq!(p["row_count"], json!(5), "{p}");
    assert_eq!(
        p["where_clause"],
        json!("status = 'shipped' AND total > 100")
    );
    let cols: Vec<&str> = p["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(cols, ["id", "customer_id", "ordered_at", "status", "total"]);
    assert_eq!(p["columns"][0]["json_type"], json!("integer"));
    assert_eq!(p["columns"][0]["nullable"], json!(false));
    for row in p["rows"].as_array().unwrap() {
        assert!(row[0].is_i64(), "{row}");
        assert_eq!(row[3], json!("shipped"));
        assert!(row[4].as_f64().unwrap() > 100.0, "{row}");
    }
    // Default row_count is 20; customers' is_vip comes back as a boolean.
    let p = c
        .ok(
            "preview_data",
            json!({"connection_id": shop, "table_name": "customers"}),
        )
        .await;
    assert_eq!(p["row_count"], json!(20));
    let vip = p["columns"]
        .as_array()
        .unwrap()
        .iter()
        .position(|c| c["name"] == json!("is_vip"))
        .unwrap();
    assert!(p["rows"][0][vip].is_boolean(), "{}", p["rows"][0]);
}

#[tokio::test]
async fn bad_previews_name_the_field_and_the_fix() {
    let (_s, mut c) = demo().await;
    let shop = connection_id(&mut c, "shop-db").await;
    let files = connection_id(&mut c, "sample-files").await;
    let e = c
        .err(
            "preview_data",
            json!({"connection_id": shop, "table_name": "orders", "where_clause": "id = 1; DROP TABLE orders"}),
        )
        .await;
    assert_eq!(
        (e["code"].as_str(), e["field"].as_str()),
        (Some("invalid_argument"), Some("where_clause"))
    );
    assert!(e["message"].as_str().unwrap().contains("`;`"), "{e}");
    let e = c
        .err(
            "preview_data",
            json!({"connection_id": shop, "table_name": "orders", "where_clause": "id IN (SELECT id FROM customers)"}),
        )
        .await;
    assert!(e["message"].as_str().unwrap().contains("subqueries"), "{e}");
    let e = c
        .err(
            "preview_data",
            json!({"connection_id": shop, "table_name": "orders", "where_clause": "password = 'x'"}),
        )
        .await;
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("not a column of orders"),
        "{e}"
    );
    let e = c
        .err(
            "preview_data",
            json!({"connection_id": shop, "table_name": "orders", "row_count": 500}),
        )
        .await;
    assert_eq!(e["field"], json!("row_count"));
    let e = c
        .err(
            "preview_data",
            json!({"connection_id": shop, "table_name": "nope"}),
        )
        .await;
    assert_eq!(
        (e["code"].as_str(), e["field"].as_str()),
        (Some("not_found"), Some("table_name"))
    );
    // Not a database: the seed's words.
    for args in [
        json!({"connection_id": files}),
        json!({"connection_id": 999_999}),
    ] {
        let e = c.err("discover_schema", args).await;
        assert_eq!(
            e["message"],
            json!("connection not found, or not a database connection")
        );
        assert_eq!(e["field"], json!("connection_id"));
    }
    let e = c
        .err(
            "preview_data",
            json!({"connection_id": files, "table_name": "customers.csv"}),
        )
        .await;
    assert_eq!(
        e["message"],
        json!("connection not found, or not a database connection")
    );
}

#[tokio::test]
async fn discover_schema_lists_pages_and_describes() {
    let (_s, mut c) = demo().await;
    let shop = connection_id(&mut c, "shop-db").await;
    let all = c
        .ok("discover_schema", json!({"connection_id": shop}))
        .await;
    let names: Vec<&str> = all["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["customers", "order_items", "orders", "products"]);
    assert_eq!(all["total"], json!(4));
    let page = c
        .ok(
            "discover_schema",
            json!({"connection_id": shop, "limit": 1, "offset": 1, "search": "ORDER"}),
        )
        .await;
    assert_eq!(page["total"], json!(2));
    assert_eq!(page["tables"][0]["name"], json!("orders"));
    let described = c
        .ok(
            "discover_schema",
            json!({"connection_id": shop, "table_name": "products"}),
        )
        .await;
    let cols = described["columns"].as_array().unwrap();
    assert_eq!(cols.len(), 5);
    assert_eq!(cols[4]["name"], json!("unit_price"));
    assert_eq!(cols[4]["database_type"], json!("DECIMAL(10,2)"));
    let e = c
        .err(
            "discover_schema",
            json!({"connection_id": shop, "limit": 0}),
        )
        .await;
    assert_eq!(e["field"], json!("limit"));
}

#[tokio::test]
async fn test_connection_reports_success_and_failure() {
    let (_s, mut c) = demo().await;
    let shop = connection_id(&mut c, "shop-db").await;
    let files = connection_id(&mut c, "sample-files").await;
    let warehouse = connection_id(&mut c, "warehouse-postgres").await;
    let ok = c
        .ok("test_connection", json!({"connection_id": shop}))
        .await;
    assert_eq!(ok["success"], json!(true), "{ok}");
    assert_eq!(
        ok["can_write"],
        json!(false),
        "the demo database is opened read-only"
    );
    assert!(ok["server_version"].as_str().unwrap().starts_with("SQLite"));
    let ok = c
        .ok("test_connection", json!({"connection_id": files}))
        .await;
    assert_eq!(ok["success"], json!(true), "{ok}");
    // The warehouse's role does not exist on this machine's PostgreSQL (or nothing
    // listens): a failure is a normal result with a reason, not a tool error.
    let bad = c
        .ok("test_connection", json!({"connection_id": warehouse}))
        .await;
    assert_eq!(bad["success"], json!(false), "{bad}");
    let msg: &str = bad["error_message"].as_str().unwrap();
    assert!(
        !msg.is_empty() && !msg.contains("demo-warehouse-password"),
        "{msg}"
    );
    assert!(bad["error_kind"].is_string());
    let e: Value = c
        .err(
            "test_connection",
            json!({"connection_id": shop, "connection_type": "file"}),
        )
        .await;
    assert_eq!(e["field"], json!("connection_type"));
}
