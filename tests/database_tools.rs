//! `test_connection`, `discover_schema` and `preview_data` through the MCP endpoint of the
//! real binary, on the demo's SQLite shop database, its sample-files folder and its
//! (deliberately unreachable) warehouse connection.

#[path = "support/hostile.rs"]
mod hostile;
mod support;

use serde_json::{json, Value};
use support::{connection_id, demo, Server};

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

const HOSTILE_PW: &str = "Hostile-LEAKCHECK-pw/7";

/// Adds a PostgreSQL connection with `tls_mode=prefer` on the demo account, to a server on
/// loopback `port`, with `HOSTILE_PW` sealed as its password; returns its id.
fn add_prefer_postgres(s: &Server, name: &str, port: u16, extra: &[&str]) -> i64 {
    let mut sets: Vec<String> = vec![
        "host=127.0.0.1".into(),
        format!("port={port}"),
        "database=shop".into(),
        "user=etl".into(),
        "tls_mode=prefer".into(),
    ];
    sets.extend(extra.iter().map(|e| e.to_string()));
    support::databases::connection(s, name, "postgres", &sets, &[("password", HOSTILE_PW)])
}

/// test_connection, discover_schema (with a table) and preview_data on `id`: every answer.
async fn every_database_tool(c: &mut support::Session, id: i64) -> Vec<Value> {
    vec![
        c.ok("test_connection", json!({"connection_id": id})).await,
        c.err(
            "discover_schema",
            json!({"connection_id": id, "table_name": "orders"}),
        )
        .await,
        c.err(
            "preview_data",
            json!({"connection_id": id, "table_name": "orders"}),
        )
        .await,
    ]
}

fn assert_no_password(outputs: &[Value], s: &Server) {
    let all = serde_json::to_string(outputs).unwrap() + &s.logs();
    for form in [HOSTILE_PW, "Hostile-LEAKCHECK-pw%2F7"] {
        assert!(!all.contains(form), "the password came back: {all}");
    }
}

#[tokio::test]
async fn cleartext_password_request_over_prefer_is_refused_before_the_password_is_sent() {
    let hostile = hostile::Hostile::postgres();
    let (s, mut c) = demo().await;
    let id = add_prefer_postgres(&s, "hostile", hostile.port, &[]);
    let out = every_database_tool(&mut c, id).await;
    assert_eq!(out[0]["success"], json!(false), "{}", out[0]);
    assert_eq!(out[0]["error_kind"], json!("cleartext_password_refused"));
    for msg in [
        &out[0]["error_message"],
        &out[1]["message"],
        &out[2]["message"],
    ] {
        let msg = msg.as_str().unwrap();
        assert!(
            msg.contains("in clear text over an unencrypted connection")
                && msg.contains("tls_mode=require")
                && msg.contains("allow_cleartext_password=true"),
            "{msg}"
        );
    }
    assert!(
        !hostile.received_text(HOSTILE_PW) && hostile.passwords().is_empty(),
        "the hostile server got the password"
    );
    assert_no_password(&out, &s);
}

#[tokio::test]
async fn password_a_hostile_server_echoes_is_scrubbed_from_every_tool() {
    let hostile = hostile::Hostile::postgres();
    let (s, mut c) = demo().await;
    let id = add_prefer_postgres(
        &s,
        "trusted-network",
        hostile.port,
        &["allow_cleartext_password=true"],
    );
    let out = every_database_tool(&mut c, id).await;
    // Allowed, so sent: once per tool, and the server quoted it each time.
    assert_eq!(hostile.passwords(), [HOSTILE_PW; 3]);
    assert_eq!(out[0]["success"], json!(false), "{}", out[0]);
    for msg in [
        &out[0]["error_message"],
        &out[1]["message"],
        &out[2]["message"],
    ] {
        assert!(
            msg.as_str().unwrap().contains("password \"[redacted]\""),
            "{msg}"
        );
    }
    assert_no_password(&out, &s);
}

#[tokio::test]
async fn missing_table_error_names_the_field_not_the_value() {
    let (_s, mut c) = demo().await;
    let shop = connection_id(&mut c, "shop-db").await;
    let marker = "zz_Marker_7f3a";
    for (tool, args) in [
        (
            "discover_schema",
            json!({"connection_id": shop, "table_name": marker}),
        ),
        (
            "preview_data",
            json!({"connection_id": shop, "table_name": marker}),
        ),
        (
            "preview_data",
            json!({"connection_id": shop, "table_name": marker, "schema_name": "zz_Schema_7f3a"}),
        ),
    ] {
        let e = c.err(tool, args).await;
        assert_eq!(
            (e["code"].as_str(), e["field"].as_str()),
            (Some("not_found"), Some("table_name")),
            "{e}"
        );
        let text = e.to_string();
        assert!(text.contains("`table_name`"), "{text}");
        assert!(
            !text.contains("zz_Marker_7f3a") && !text.contains("zz_Schema_7f3a"),
            "{text}"
        );
    }
}

/// A table of 300 columns holding 2,000-character texts: every answer stays within its
/// byte budget, whole rows only, and says how to ask for less; `columns` picks a few.
#[tokio::test]
async fn wide_rows_are_capped_by_bytes_and_columns_pick_a_subset() {
    let Some(pg) = support::databases::TempDatabase::create().await else {
        assert!(!support::services_required(), "PostgreSQL is required");
        return;
    };
    let cols: Vec<String> = (1..=300).map(|i| format!("c{i} text")).collect();
    let db = pg.client().await;
    db.batch_execute(&format!(
        "CREATE TABLE wide ({}); INSERT INTO wide SELECT {} FROM generate_series(1, 5) g",
        cols.join(", "),
        (1..=300)
            .map(|_| "repeat(chr(64 + g), 2000)")
            .collect::<Vec<_>>()
            .join(", ")
    ))
    .await
    .unwrap();
    let (s, mut c) = demo().await;
    let conn = support::databases::pg_connection(&s, "wide-pg", &pg);
    let size = |v: &Value| serde_json::to_string(v).unwrap().len();

    // One row is 600 KB: none fits the default 64 KiB, and the answer says what to do.
    let p = c
        .ok(
            "preview_data",
            json!({"connection_id": conn, "table_name": "wide"}),
        )
        .await;
    assert!(size(&p) <= 64 * 1024, "{} bytes", size(&p));
    assert_eq!(
        (p["truncated"].clone(), p["row_count"].clone()),
        (json!(true), json!(0))
    );
    assert_eq!(p["columns"].as_array().unwrap().len(), 300);
    assert!(
        p["hint"].as_str().unwrap().contains("columns"),
        "{}",
        p["hint"]
    );
    // A bigger budget holds one whole row, never part of one.
    let p = c
        .ok(
            "preview_data",
            json!({"connection_id": conn, "table_name": "wide", "max_bytes": 1_048_576}),
        )
        .await;
    assert!(size(&p) <= 1_048_576);
    assert_eq!(
        (p["truncated"].clone(), p["row_count"].clone()),
        (json!(true), json!(1))
    );
    assert_eq!(p["rows"][0].as_array().unwrap().len(), 300);
    assert_eq!(p["rows"][0][299].as_str().unwrap().len(), 2000);
    // Two columns (case as the user typed it), filtered on a third: every row fits.
    let p = c
        .ok(
            "preview_data",
            json!({"connection_id": conn, "table_name": "wide", "columns": ["c7", "C2"],
                   "where_clause": "c300 <> ''"}),
        )
        .await;
    assert_eq!(
        (p["truncated"].clone(), p["row_count"].clone()),
        (json!(false), json!(5)),
        "{p}"
    );
    let names: Vec<&str> = p["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["c7", "c2"]);
    assert!(p.get("hint").is_none());
    for (args, field) in [
        (json!({"columns": ["c1", "no_such_column"]}), "columns"),
        (json!({"columns": []}), "columns"),
        (json!({"max_bytes": 10}), "max_bytes"),
        // 300 column descriptions alone are more than 1 KiB.
        (json!({"max_bytes": 1024}), "max_bytes"),
        (json!({"columns": ["x".repeat(2048)]}), "columns"),
    ] {
        let mut a = json!({"connection_id": conn, "table_name": "wide"});
        a.as_object_mut()
            .unwrap()
            .extend(args.as_object().unwrap().clone());
        let e = c.err("preview_data", a.clone()).await;
        assert_eq!(e["field"], json!(field), "{a}: {e}");
        assert!(!e.to_string().contains("no_such_column"), "{e}");
    }

    // discover_schema: 300 columns fit the default budget; a small one cuts them, whole.
    let d = c
        .ok(
            "discover_schema",
            json!({"connection_id": conn, "table_name": "wide"}),
        )
        .await;
    assert_eq!(
        (
            d["truncated"].clone(),
            d["columns"].as_array().unwrap().len()
        ),
        (json!(false), 300)
    );
    let d = c
        .ok(
            "discover_schema",
            json!({"connection_id": conn, "table_name": "wide", "max_bytes": 2048}),
        )
        .await;
    assert!(size(&d) <= 2048, "{} bytes", size(&d));
    let kept = d["columns"].as_array().unwrap().len();
    assert!(
        d["truncated"] == json!(true) && kept > 0 && kept < 300,
        "{d}"
    );
}
