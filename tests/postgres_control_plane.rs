//! The binary with its control plane in PostgreSQL (`--database-url`): the demo, the MCP
//! endpoint, token management and a restart, against the PostgreSQL server on this machine
//! (`PIPEWRIGHT_TEST_POSTGRES_URL`, default postgres://postgres@127.0.0.1:5432/postgres).
//! Each run creates its own database and drops it afterwards.

mod support;

use serde_json::json;
use support::{databases::TempDatabase, *};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_demo_with_a_postgres_control_plane() {
    let Some(db) = TempDatabase::create().await else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let args = ["--database-url", db.url.as_str()];

    let mut server = Server::start_with(Options {
        extra_args: &args,
        data_dir: Some(data.path().to_path_buf()),
        ..Default::default()
    });
    let token = server.demo_token();
    let mut s = Session::open(&server.url("demo"), &token).await;
    let ws = s.ok("list_workspaces", json!({})).await;
    assert_eq!(ws["total"], json!(3), "{ws}");
    let found = s.ok("search_all", json!({"query": "orders"})).await;
    assert!(
        found.to_string().contains("rders"),
        "full-text search on PostgreSQL found nothing: {found}"
    );

    // Token management goes to the same database.
    let minted = cli(
        data.path(),
        &[
            "token",
            "create",
            "--account",
            "demo",
            "--name",
            "pg-e2e",
            "--database-url",
            &db.url,
        ],
    );
    let minted = minted.trim();
    let listed = cli(data.path(), &["token", "list", "--database-url", &db.url]);
    assert!(listed.contains("pg-e2e"), "{listed}");
    assert!(!listed.contains(minted), "token list printed a token");
    let mut s2 = Session::open(&server.url("demo"), minted).await;
    s2.ok("list_clusters", json!({})).await;
    drop(server);

    // A restart reuses the data: no second copy of the demo, and the old tokens still work
    // (and are not printed again).
    let mut again = Server::start_with(Options {
        extra_args: &args,
        data_dir: Some(data.path().to_path_buf()),
        ..Default::default()
    });
    let fresh = again.demo_token();
    assert_ne!(fresh, token);
    assert!(!again.logs().contains(&token), "an old token was printed");
    let mut s3 = Session::open(&again.url("demo"), minted).await;
    let ws = s3.ok("list_workspaces", json!({})).await;
    assert_eq!(ws["total"], json!(3), "demo seeded twice: {ws}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_clients_editing_one_package_on_postgres_lose_nothing() {
    let Some(db) = TempDatabase::create().await else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let args = ["--database-url", db.url.as_str()];
    let mut server = Server::start_with(Options {
        extra_args: &args,
        data_dir: Some(data.path().to_path_buf()),
        ..Default::default()
    });
    let token = server.demo_token();
    let mut c = Session::open(&server.url("demo"), &token).await;
    let created = c
        .ok(
            "create_package",
            json!({"name": "contended", "flow_type": "dataflow", "components": [
                {"filter_component": {"name": "big", "predicate": "total > 100"}}
            ]}),
        )
        .await;
    let pid = created["package_id"].as_i64().unwrap();
    twenty_concurrent_editors(&server.url("demo"), &token, pid).await;
}
