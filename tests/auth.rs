//! The HTTP auth edge, against the real binary: every refusal of the seed's
//! troubleshooting table, revocation on the next request, and read-only scopes.

mod support;

use serde_json::json;
use support::{cli, cli_err, post, Options, Server, Session, INIT};

#[tokio::test]
async fn missing_token_is_401_with_resource_metadata() {
    let s = Server::start();
    let r = post(&s.url("demo"), None, INIT, &[]).await;
    assert_eq!(r.status, 401);
    let www = r
        .headers
        .get("www-authenticate")
        .expect("WWW-Authenticate")
        .to_str()
        .unwrap()
        .to_string();
    let expected = format!(
        "Bearer resource_metadata=\"{}/.well-known/oauth-protected-resource/demo/api/mcp\"",
        s.base
    );
    assert_eq!(www, expected);
    // The metadata document it points at exists and names the resource.
    let meta: serde_json::Value = reqwest::get(format!(
        "{}/.well-known/oauth-protected-resource/demo/api/mcp",
        s.base
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(meta["resource"], json!(s.url("demo")));
}

#[tokio::test]
async fn unknown_token_is_401() {
    let s = Server::start();
    let r = post(&s.url("demo"), Some("pwt_not-a-real-token"), INIT, &[]).await;
    assert_eq!(r.status, 401);
    assert!(r.headers.contains_key("www-authenticate"));
    assert!(r.body.contains("unknown"), "{}", r.body);
}

#[tokio::test]
async fn revoked_token_is_refused_on_the_next_request() {
    let mut s = Server::start();
    let token = s.token(&["--account", "demo", "--name", "to revoke"]);
    let mut session = Session::open(&s.url("demo"), &token).await;
    session.ok("list_workspaces", json!({})).await;
    let list = cli(&s.data_dir, &["token", "list", "--account", "demo"]);
    let id = list
        .lines()
        .find(|l| l.contains("to revoke"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_string();
    assert!(
        !list.contains(&token),
        "token list must never show the token"
    );
    cli(&s.data_dir, &["token", "revoke", &id]);
    let r = session
        .request(
            "tools/call",
            json!({"name": "list_workspaces", "arguments": {}}),
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(r.body.contains("revoked"), "{}", r.body);
    // The demo token still works.
    let demo = s.demo_token();
    Session::open(&s.url("demo"), &demo)
        .await
        .ok("list_workspaces", json!({}))
        .await;
}

#[tokio::test]
async fn expired_token_is_401() {
    let s = Server::start();
    let token = s.token(&[
        "--account",
        "demo",
        "--name",
        "short-lived",
        "--expires-in",
        "1s",
    ]);
    let expires = std::time::Instant::now() + std::time::Duration::from_millis(1100);
    // Wait for the clock, not for another process: the token is expired from then on.
    while std::time::Instant::now() < expires {
        std::thread::yield_now();
    }
    let r = post(&s.url("demo"), Some(&token), INIT, &[]).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(r.body.contains("expired"), "{}", r.body);
}

#[tokio::test]
async fn token_of_a_non_member_is_403() {
    let mut s = Server::start();
    cli(
        &s.data_dir,
        &[
            "account",
            "create",
            "--subdomain",
            "other",
            "--owner",
            "boss@other.example",
        ],
    );
    let r = post(&s.url("other"), Some(&s.demo_token()), INIT, &[]).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("Forbidden"), "{}", r.body);
    // By numeric id too.
    let id = cli(&s.data_dir, &["account", "list"])
        .lines()
        .find(|l| l.contains("other"))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    assert_eq!(
        post(&s.url(&id), Some(&s.demo_token()), INIT, &[])
            .await
            .status,
        403
    );
}

#[tokio::test]
async fn mcp_disabled_account_is_403_with_the_seed_message() {
    let mut s = Server::start();
    cli(&s.data_dir, &["account", "set", "demo", "--mcp", "off"]);
    let r = post(&s.url("demo"), Some(&s.demo_token()), INIT, &[]).await;
    assert_eq!(r.status, 403);
    assert!(
        r.body
            .contains("PTP MCP server is not enabled for this account"),
        "{}",
        r.body
    );
    cli(&s.data_dir, &["account", "set", "demo", "--mcp", "on"]);
    assert_eq!(
        post(&s.url("demo"), Some(&s.demo_token()), INIT, &[])
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn unknown_account_is_404() {
    let mut s = Server::start();
    let r = post(&s.url("no-such-account"), Some(&s.demo_token()), INIT, &[]).await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(
        post(&s.url("999999"), Some(&s.demo_token()), INIT, &[])
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn malformed_json_rpc_is_32600_and_bad_json_is_32700() {
    let mut s = Server::start();
    let t = s.demo_token();
    for body in [
        r#"{"hello":"world"}"#,
        r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#,
        r#"[]"#,
        r#"42"#,
    ] {
        let r = post(&s.url("demo"), Some(&t), body, &[]).await;
        assert_eq!(r.status, 400, "{body}");
        assert_eq!(
            r.message()["error"]["code"],
            json!(-32600),
            "{body}: {}",
            r.body
        );
    }
    let r = post(&s.url("demo"), Some(&t), "{not json", &[]).await;
    assert_eq!(r.message()["error"]["code"], json!(-32700));
}

#[tokio::test]
async fn foreign_origin_is_rejected() {
    let mut s = Server::start();
    let t = s.demo_token();
    let r = post(
        &s.url("demo"),
        Some(&t),
        INIT,
        &[("origin", "http://evil.example")],
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let ok = post(
        &s.url("demo"),
        Some(&t),
        INIT,
        &[("origin", &s.base.clone())],
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
}

#[tokio::test]
async fn read_only_token_neither_lists_nor_calls_mutating_tools() {
    let mut s = Server::start();
    let ro = s.token(&["--account", "demo", "--name", "ro", "--read-only"]);
    let mut full = Session::open(&s.url("demo"), &s.demo_token()).await;
    assert!(full
        .tool_names()
        .await
        .contains(&"toggle_schedule".to_string()));
    let mut session = Session::open(&s.url("demo"), &ro).await;
    let names = session.tool_names().await;
    assert!(names.contains(&"list_workspaces".to_string()));
    assert!(!names.contains(&"toggle_schedule".to_string()), "{names:?}");
    let e = session
        .err(
            "toggle_schedule",
            json!({"schedule_id": 1, "enabled": false}),
        )
        .await;
    assert_eq!(e["code"], json!("forbidden"));
    // Nothing changed.
    let sched = full
        .ok(
            "toggle_schedule",
            json!({"schedule_id": 1, "enabled": true}),
        )
        .await;
    assert_eq!(sched["changed"], json!(false));
}

/// A token limited to some tools lists only those and is refused the others by name;
/// an unknown tool name is refused when the token is made.
#[tokio::test]
async fn tool_scoped_token_lists_and_calls_only_its_tools() {
    let s = Server::start();
    let limited = s.token(&[
        "--account",
        "demo",
        "--name",
        "two tools",
        "--tools",
        "list_packages,get_package",
    ]);
    let mut session = Session::open(&s.url("demo"), &limited).await;
    let mut names = session.tool_names().await;
    names.sort();
    assert_eq!(names, ["get_package", "list_packages"]);
    session.ok("list_packages", json!({"limit": 1})).await;
    let e = session.err("list_workspaces", json!({})).await;
    assert_eq!(e["code"], json!("forbidden"), "{e}");
    assert!(e.to_string().contains("scopes"), "{e}");
    let err = cli_err(
        &s.data_dir,
        &[
            "token",
            "create",
            "--account",
            "demo",
            "--name",
            "x",
            "--tools",
            "list_packages,drop_everything",
        ],
    );
    assert!(
        err.contains("drop_everything") && err.contains("--tools"),
        "{err}"
    );
}

/// A token limited to some connections sees only those, is told the others do not exist,
/// and is refused any package that uses one of them.
#[tokio::test]
async fn connection_scoped_token_sees_and_uses_only_its_connections() {
    let mut s = Server::start();
    let mut full = Session::open(&s.url("demo"), &s.demo_token()).await;
    let shop = support::connection_id(&mut full, "shop-db").await;
    let files = support::connection_id(&mut full, "sample-files").await;
    let all = full.ok("list_connections", json!({"limit": 100})).await;
    assert!(all["total"].as_i64().unwrap() >= 2);
    let limited = s.token(&[
        "--account",
        "demo",
        "--name",
        "shop only",
        "--connections",
        &shop.to_string(),
    ]);
    let mut c = Session::open(&s.url("demo"), &limited).await;
    let list = c.ok("list_connections", json!({"limit": 100})).await;
    let ids: Vec<i64> = list["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        (ids, list["total"].clone()),
        (vec![shop], json!(1)),
        "{list}"
    );
    c.ok("get_connection", json!({"connection_id": shop})).await;
    for (tool, args) in [
        ("get_connection", json!({"connection_id": files})),
        ("test_connection", json!({"connection_id": files})),
        (
            "discover_file_schema",
            json!({"connection_id": files, "path": "customers.csv"}),
        ),
    ] {
        let e = c.err(tool, args).await;
        assert_eq!(
            (e["code"].clone(), e["field"].clone()),
            (json!("not_found"), json!("connection_id")),
            "{tool}: {e}"
        );
    }
    let hits = c.ok("search_all", json!({"query": "sample"})).await;
    assert!(!hits.to_string().contains("sample-files"), "{hits}");
    // The demo's packages read more than shop-db: those are refused by name of the scope.
    let pkgs = full.ok("list_packages", json!({"limit": 100})).await;
    let mut refused = 0;
    for p in pkgs["packages"].as_array().unwrap() {
        let r = c
            .call("validate_package", json!({"package_id": p["id"]}))
            .await;
        if r.to_string().contains("outside this token's scopes") {
            assert_eq!(r["isError"], json!(true), "{r}");
            refused += 1;
        }
    }
    assert!(
        refused > 0,
        "the demo has packages reading other connections"
    );

    // Another bucket through an allowed connection is another store: refused.
    let e = c
        .err(
            "discover_file_schema",
            json!({"connection_id": shop, "path": "x.csv", "bucket": "elsewhere"}),
        )
        .await;
    assert_eq!(
        (e["code"].clone(), e["field"].clone()),
        (json!("forbidden"), json!("bucket")),
        "{e}"
    );
    // A package that used the files connection once and no longer does: its old version
    // can be neither read nor restored through the scope.
    let made = full
        .ok(
            "create_package",
            files_to_shop("once read files", files, shop),
        )
        .await;
    let pid = made["package_id"].as_i64().unwrap();
    full.ok(
        "remove_package_components",
        json!({"package_id": pid, "component_names": ["src"]}),
    )
    .await;
    c.ok("get_package", json!({"package_id": pid})).await;
    for (tool, args) in [
        (
            "get_package_version",
            json!({"package_id": pid, "version": 1}),
        ),
        ("revert_package", json!({"package_id": pid, "version": 1})),
    ] {
        let e = c.err(tool, args).await;
        assert_eq!(e["code"], json!("forbidden"), "{tool}: {e}");
    }
    let err = cli_err(
        &s.data_dir,
        &[
            "token",
            "create",
            "--account",
            "demo",
            "--name",
            "x",
            "--connections",
            "999999",
        ],
    );
    assert!(
        err.contains("999999") && err.contains("connection"),
        "{err}"
    );
}

/// A token limited to what it created (a safe mode for agents) reads everything, creates
/// and clones packages, and changes, runs and schedules only its own; another such token
/// cannot touch them either. Whose is whose comes from the audit trail.
#[tokio::test]
async fn created_only_token_changes_only_what_it_created() {
    let mut s = Server::start();
    let mut full = Session::open(&s.url("demo"), &s.demo_token()).await;
    let shop = support::connection_id(&mut full, "shop-db").await;
    let files = support::connection_id(&mut full, "sample-files").await;
    let spec = |name: &str| files_to_shop(name, files, shop);
    let theirs = full.ok("create_package", spec("someone else's")).await["package_id"]
        .as_i64()
        .unwrap();
    let agent = s.token(&["--account", "demo", "--name", "agent", "--created-only"]);
    let other = s.token(&["--account", "demo", "--name", "agent 2", "--created-only"]);
    let mut a = Session::open(&s.url("demo"), &agent).await;
    let mut b = Session::open(&s.url("demo"), &other).await;

    // Reads are not limited; changes to what it did not create are refused by name.
    a.ok("get_package", json!({"package_id": theirs})).await;
    let schedule = |p: i64| json!({"package_id": p, "name": "nightly", "cron": "0 0 2 * * *"});
    for (tool, args) in [
        (
            "rename_package",
            json!({"package_id": theirs, "name": "mine now"}),
        ),
        ("run_package", json!({"package_id": theirs})),
        ("delete_package", json!({"package_id": theirs})),
        ("create_schedule", schedule(theirs)),
    ] {
        let e = a.err(tool, args).await;
        assert_eq!(e["code"], json!("forbidden"), "{tool}: {e}");
        assert!(e.to_string().contains("created"), "{tool}: {e}");
    }

    // Its own: created, cloned, changed, scheduled.
    let mine = a.ok("create_package", spec("the agent's")).await["package_id"]
        .as_i64()
        .unwrap();
    let cloned = a
        .ok(
            "clone_package",
            json!({"package_id": theirs, "name": "a copy"}),
        )
        .await["package_id"]
        .as_i64()
        .unwrap();
    a.ok(
        "rename_package",
        json!({"package_id": mine, "name": "renamed by agent"}),
    )
    .await;
    a.ok(
        "rename_package",
        json!({"package_id": cloned, "name": "copy renamed"}),
    )
    .await;
    let sid = a.ok("create_schedule", schedule(mine)).await["schedule_id"]
        .as_i64()
        .unwrap();
    a.ok(
        "toggle_schedule",
        json!({"schedule_id": sid, "enabled": false}),
    )
    .await;
    a.ok(
        "update_schedule",
        json!({"schedule_id": sid, "name": "nightly, renamed"}),
    )
    .await;
    // A schedule someone else put on its package is not its own.
    let foreign = full.ok("create_schedule", schedule(mine)).await["schedule_id"]
        .as_i64()
        .unwrap();
    let e = a
        .err(
            "toggle_schedule",
            json!({"schedule_id": foreign, "enabled": false}),
        )
        .await;
    assert_eq!(e["code"], json!("forbidden"), "{e}");
    // Another created-only token cannot touch the first one's work.
    for (tool, args) in [
        (
            "rename_package",
            json!({"package_id": mine, "name": "taken"}),
        ),
        (
            "toggle_schedule",
            json!({"schedule_id": sid, "enabled": true}),
        ),
    ] {
        let e = b.err(tool, args).await;
        assert_eq!(e["code"], json!("forbidden"), "{tool}: {e}");
    }
    // The full token is not limited.
    full.ok(
        "rename_package",
        json!({"package_id": mine, "name": "renamed by owner"}),
    )
    .await;
}

#[tokio::test]
async fn read_only_server_hides_mutating_tools_from_every_token() {
    let mut s = Server::start_with(Options {
        extra_args: &["--read-only"],
        ..Default::default()
    });
    let mut session = Session::open(&s.url("demo"), &s.demo_token()).await;
    assert!(!session
        .tool_names()
        .await
        .contains(&"toggle_schedule".to_string()));
    assert_eq!(
        session
            .err(
                "toggle_schedule",
                json!({"schedule_id": 1, "enabled": false})
            )
            .await["code"],
        json!("forbidden")
    );
}

#[tokio::test]
async fn token_cli_rejects_bad_input_clearly() {
    let s = Server::start();
    assert!(cli_err(
        &s.data_dir,
        &["token", "create", "--account", "nope", "--name", "x"]
    )
    .contains("account nope not found"));
    assert!(cli_err(
        &s.data_dir,
        &[
            "token",
            "create",
            "--account",
            "demo",
            "--name",
            "x",
            "--expires-in",
            "soon"
        ]
    )
    .contains("not a duration"));
    assert!(cli_err(
        &s.data_dir,
        &[
            "token",
            "create",
            "--account",
            "demo",
            "--name",
            "x",
            "--user",
            "ghost@x.io"
        ]
    )
    .contains("no user"));
}

#[tokio::test]
async fn healthz_and_metrics_report_calls_and_refusals() {
    let mut s = Server::start();
    let token = s.demo_token();
    let health = reqwest::get(format!("{}/healthz", s.base)).await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let body: serde_json::Value = health.json().await.unwrap();
    assert_eq!(body, json!({"status": "ok"}));

    assert_eq!(post(&s.url("demo"), None, INIT, &[]).await.status, 401);
    let mut c = Session::open(&s.url("demo"), &token).await;
    c.ok("list_workspaces", json!({})).await;
    c.err("list_workspaces", json!({"limit": "many"})).await;

    let text = reqwest::get(format!("{}/metrics", s.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for expected in [
        r#"pipewright_http_refusals_total{status="401"} 1"#,
        r#"pipewright_tool_calls_total{tool="list_workspaces",outcome="ok"} 1"#,
        r#"pipewright_tool_calls_total{tool="list_workspaces",outcome="invalid_argument"} 1"#,
    ] {
        assert!(text.contains(expected), "{expected} not in:\n{text}");
    }
    assert!(text.contains("pipewright_tool_call_seconds"), "{text}");
    assert!(!text.contains(&token), "a token in /metrics");
}

/// A package reading the demo's file connection into its database (connections by id).
fn files_to_shop(name: &str, files: i64, shop: i64) -> serde_json::Value {
    json!({"name": name, "flow_type": "dataflow", "components": [
        {"cloud_storage_source_component": {"name": "src", "connection_id": files, "path": "customers.csv"}},
        {"database_destination_component": {"name": "sink", "connection_id": shop, "table": "t", "operation": "append"}}
    ], "edges": []})
}
