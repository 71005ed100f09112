//! No secret ever leaves the server: connections seeded with known passwords, keys and
//! tokens; every tool called (successfully and with bad input) at trace-level logging;
//! then neither any response nor any log line may contain one of those strings.

mod support;

use std::collections::BTreeMap;

use catalog::{connections::NewConnection, seal::Sealer, tokens::NewToken, Store};
use serde_json::{json, Value};
use support::{post, Options, Server, Session, INIT};

const SECRETS: &[(&str, &str)] = &[
    ("password", "Pa55-LEAK-postgres-9f3b"),
    (
        "private_key",
        "-----BEGIN OPENSSH PRIVATE KEY-----LEAKKEYb3BlbnNzaC1rZXktdjEAAAAA",
    ),
    (
        "secret_access_key",
        "LEAK/wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ),
    ("api_token", "ghp_LEAKTOKEN1234567890abcdef"),
    ("ssh_password", "tunnel-LEAK-pw-77"),
];

#[tokio::test]
async fn no_secret_appears_in_any_tool_result_or_log_line() {
    let dir = tempfile::tempdir().unwrap();
    let (token, revoked) = {
        let store = Store::open_data_dir(dir.path()).await.unwrap();
        let sealer = Sealer::load(None, dir.path()).unwrap();
        let a = store.create_account("leaky", "Leaky").await.unwrap();
        let u = store
            .add_member(a.id, "owner@leaky.io", "Owner", "owner")
            .await
            .unwrap();
        // Ids 1-5: one per driver, all secrets, port 1 on loopback (refuses at once: every
        // driver takes its failure path; the first also has a tunnel with no ssh_user).
        let mut conns: Vec<(String, &str, serde_json::Value, BTreeMap<String, String>)> = vec![];
        for (i, kind) in ["postgres", "mysql", "sftp", "s3", "mssql"]
            .into_iter()
            .enumerate()
        {
            let tunnel = if i == 0 { "ssh" } else { "none" };
            conns.push((
                format!("conn-{kind}"),
                kind,
                json!({"host": "127.0.0.1", "port": 1, "database": "prod", "user": "etl", "tunnel_type": tunnel, "ssh_host": "bastion"}),
                SECRETS
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ));
        }
        // Ids 6-7, two real servers: PostgreSQL (trusts loopback, so the password is sent
        // and ignored) and MariaDB (whose root has no password, so this one is refused).
        let password = || BTreeMap::from([("password".to_string(), SECRETS[0].1.to_string())]);
        conns.push((
            "real-postgres".into(),
            "postgres",
            json!({"host": "127.0.0.1", "port": 5432, "database": "postgres", "user": "postgres"}),
            password(),
        ));
        conns.push((
            "real-mariadb".into(),
            "mariadb",
            json!({"host": "127.0.0.1", "port": 3306, "database": "test", "user": "root"}),
            password(),
        ));
        // Ids 8-9, two real file stores (when scripts/test started them): the SFTP server
        // refuses the password; moto accepts any key, so the secret signs real requests.
        let env = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_string());
        conns.push((
            "real-sftp".into(),
            "sftp",
            json!({"host": "127.0.0.1", "port": env("PIPEWRIGHT_TEST_SSH_PORT", "1").parse::<i64>().unwrap(), "user": env("PIPEWRIGHT_TEST_SSH_USER", "etl")}),
            password(),
        ));
        conns.push((
            "real-s3".into(),
            "s3",
            json!({"bucket": env("PIPEWRIGHT_TEST_BUCKET", "b"), "endpoint": env("PIPEWRIGHT_TEST_S3_ENDPOINT", "http://127.0.0.1:1")}),
            BTreeMap::from([
                ("access_key_id".to_string(), "testing".to_string()),
                ("secret_access_key".to_string(), SECRETS[2].1.to_string()),
            ]),
        ));
        for (name, kind, fields, secrets) in conns {
            store
                .create_connection(
                    &sealer,
                    NewConnection {
                        account_id: a.id,
                        name: &name,
                        kind,
                        fields: fields.as_object().unwrap().clone(),
                        secrets,
                    },
                )
                .await
                .unwrap();
        }
        store.create_workspace(a.id, "Main", "").await.unwrap();
        let (_, t) = store
            .create_token(NewToken {
                account_id: a.id,
                user_id: u.id,
                name: "leak-test",
                lifetime_ms: None,
                read_only: false,
            })
            .await
            .unwrap();
        let (r, rt) = store
            .create_token(NewToken {
                account_id: a.id,
                user_id: u.id,
                name: "revoked",
                lifetime_ms: None,
                read_only: false,
            })
            .await
            .unwrap();
        store.revoke_token(r.id).await.unwrap();
        store.close().await;
        (t, rt)
    };
    let s = Server::start_with(Options {
        demo: false,
        data_dir: Some(dir.path().to_path_buf()),
        env: &[("PIPEWRIGHT_LOG", "trace")],
        ..Default::default()
    });
    let mut c = Session::open(&s.url("leaky"), &token).await;
    let mut responses: Vec<Value> = vec![];
    let listed = c.request("tools/list", json!({})).await.message();
    responses.push(listed.clone());
    let tools: Vec<String> = listed["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    let calls: Vec<(&str, Value)> = vec![
        ("list_workspaces", json!({})),
        ("list_packages", json!({})),
        ("get_package", json!({"package_id": 1})),
        ("list_connections", json!({})),
        (
            "list_connections",
            json!({"connection_type_filter": "database"}),
        ),
        ("list_clusters", json!({})),
        ("search_all", json!({"query": "conn"})),
        ("search_all", json!({"query": "LEAK"})),
        (
            "toggle_schedule",
            json!({"schedule_id": 1, "enabled": true}),
        ),
        (
            "list_workspaces",
            json!({"limit": "Pa55-LEAK-postgres-9f3b"}),
        ),
    ];
    let mut called: Vec<&str> = calls.iter().map(|(n, _)| *n).collect();
    for (name, args) in calls {
        responses.push(c.call(name, args).await);
    }
    for id in 1..=9 {
        responses.push(c.call("get_connection", json!({"connection_id": id})).await);
        for path in ["people.csv", "data/*.csv", "missing.csv"] {
            responses.push(
                c.call(
                    "discover_file_schema",
                    json!({"connection_id": id, "path": path}),
                )
                .await,
            );
        }
        responses.push(
            c.call("test_connection", json!({"connection_id": id}))
                .await,
        );
        responses.push(c.call("discover_schema", json!({"connection_id": id, "table_name": "pg_database", "schema_name": "pg_catalog"})).await);
        responses.push(c.call("preview_data", json!({"connection_id": id, "table_name": "pg_database", "schema_name": "pg_catalog", "row_count": 5})).await);
    }
    // Package authoring over these connections: validation reaches each source's driver
    // (secrets in play), and the audit trail and versions echo what was written.
    let created = c
        .call(
            "create_package",
            json!({"name": "leaky pipeline", "flow_type": "dataflow", "components": [
                {"database_source_component": {"id": "src", "name": "src", "connection_id": 6, "table": "pg_database", "schema": "pg_catalog"}},
                {"filter_component": {"id": "f", "name": "f", "predicate": "datname <> 'x'"}},
                {"database_source_component": {"id": "src2", "name": "src2", "connection_id": 2, "table": "t"}},
                {"cloud_storage_source_component": {"id": "src3", "name": "src3", "connection_id": 9, "path": "people.csv"}}
            ], "edges": [{"source": "src", "target": "f"}]}),
        )
        .await;
    let pid = created["structuredContent"]["package_id"]
        .as_i64()
        .expect("created");
    responses.push(created);
    called.push("create_package");
    // Schedules hold variables (a secret-named one masked everywhere) and echo nothing of
    // a cron or time zone they refuse.
    let made = c
        .call(
            "create_schedule",
            json!({"package_id": pid, "name": "leaky", "cron": "0 0 3 * * *",
                   "variables": {"db_password": SECRETS[0].1, "region": "eu"}}),
        )
        .await;
    let schedule = made["structuredContent"]["schedule_id"]
        .as_i64()
        .unwrap_or_else(|| panic!("created: {made}"));
    responses.push(made);
    for (name, args) in [
        ("get_schedule", json!({"schedule_id": schedule})),
        ("list_schedules", json!({})),
        (
            "update_schedule",
            json!({"schedule_id": schedule, "variables": {"api_token": SECRETS[1].1}}),
        ),
        (
            "update_schedule",
            json!({"schedule_id": schedule, "cron": SECRETS[1].1}),
        ),
        (
            "update_schedule",
            json!({"schedule_id": schedule, "time_zone": SECRETS[0].1}),
        ),
        (
            "create_schedule",
            json!({"package_id": pid, "name": SECRETS[0].1, "cron": SECRETS[0].1}),
        ),
        ("get_schedule", json!({"schedule_id": schedule})),
        (
            "list_audit_events",
            json!({"target_type": "schedule", "limit": 50}),
        ),
        ("delete_schedule", json!({"schedule_id": schedule})),
    ] {
        called.push(name);
        responses.push(c.call(name, args).await);
    }
    called.push("create_schedule");
    let package_calls: Vec<(&str, Value)> = vec![
        ("list_component_types", json!({})),
        (
            "describe_component_type",
            json!({"name": "postgres_source"}),
        ),
        ("validate_package", json!({"package_id": pid})),
        ("clone_package", json!({"package_id": pid})),
        (
            "add_package_components",
            json!({"package_id": pid, "components": [{"limit_component": {"id": "l", "name": "l", "count": 5}}], "edges": [{"source": "f", "target": "l"}]}),
        ),
        (
            "update_package_components",
            json!({"package_id": pid, "updates": [{"component_name": "src2", "updates": {"table": "u"}}]}),
        ),
        (
            "update_package_edges",
            json!({"package_id": pid, "edges": [{"source": "src", "target": "f"}]}),
        ),
        (
            "remove_package_components",
            json!({"package_id": pid, "component_names": ["l"]}),
        ),
        (
            "rename_package",
            json!({"package_id": pid, "name": "renamed"}),
        ),
        (
            "manage_package_variables",
            json!({"package_id": pid, "set": {"since": "2026-01-01"}}),
        ),
        ("list_package_versions", json!({"package_id": pid})),
        (
            "get_package_version",
            json!({"package_id": pid, "version": 2}),
        ),
        ("revert_package", json!({"package_id": pid, "version": 1})),
        ("delete_package", json!({"package_id": pid})),
        ("list_audit_events", json!({"limit": 100})),
    ];
    for (name, args) in package_calls {
        called.push(name);
        responses.push(c.call(name, args).await);
    }
    // Real runs over these connections: the real PostgreSQL (the password sent and
    // ignored) into the real MariaDB (which refuses it) and into a refusing port; a
    // secret-named variable rides along. Their logs, errors and explanations quote
    // upstream servers.
    for (dest, label) in [(7, "auth"), (1, "connection")] {
        let created = c
            .call(
                "create_package",
                json!({"name": format!("leaky run {label}"), "flow_type": "dataflow", "variables": {"db_password": "x"}, "components": [
                    {"database_source_component": {"id": "s", "name": "src", "connection_id": 6, "table": "pg_database", "schema": "pg_catalog"}},
                    {"select_component": {"id": "p", "name": "p", "fields": ["datname"]}},
                    {"database_destination_component": {"id": "d", "name": "dst", "connection_id": dest, "table": "t"}}
                ], "edges": [{"source": "s", "target": "p"}, {"source": "p", "target": "d"}]}),
            )
            .await;
        let run_pid = created["structuredContent"]["package_id"]
            .as_i64()
            .expect("created");
        responses.push(created);
        let started = c
            .call(
                "run_package",
                json!({"package_id": run_pid, "variables": {"db_password": SECRETS[0].1}}),
            )
            .await;
        let run_id = started["structuredContent"]["run_id"]
            .as_i64()
            .expect("run_id");
        responses.push(started);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let r = c
                .call("get_run", json!({"run_id": run_id, "log_tail_lines": 200}))
                .await;
            let status = r["structuredContent"]["status"]
                .as_str()
                .unwrap_or("")
                .to_string();
            responses.push(r);
            if status == "failed" {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "run {run_id} ended as {status}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        for (name, args) in [
            (
                "explain_job_failure",
                json!({"run_id": run_id, "log_tail_lines": 200}),
            ),
            ("list_runs", json!({"include_retries": true})),
            ("cancel_job", json!({"run_id": run_id})),
            ("retry_job", json!({"run_id": run_id})),
        ] {
            called.push(name);
            responses.push(c.call(name, args).await);
        }
    }
    called.extend(["run_package", "get_run"]);
    // A connection whose tunnel cannot even be configured (no ssh_user) fails as a result
    // that names the field, not as a tool error.
    let tunnel = c.call("test_connection", json!({"connection_id": 1})).await;
    assert_eq!(
        tunnel["structuredContent"]["success"],
        json!(false),
        "{tunnel}"
    );
    assert_eq!(
        tunnel["structuredContent"]["error_kind"],
        json!("misconfigured"),
        "{tunnel}"
    );
    assert!(
        tunnel["structuredContent"]["error_message"]
            .as_str()
            .unwrap()
            .contains("ssh_user"),
        "{tunnel}"
    );
    // moto answers: the file success path (a signed request) is covered too.
    if std::env::var("PIPEWRIGHT_TEST_S3_ENDPOINT").is_ok() {
        let ok = c
            .call(
                "discover_file_schema",
                json!({"connection_id": 9, "path": "people.csv"}),
            )
            .await;
        assert_eq!(ok["isError"], json!(false), "{ok}");
        responses.push(ok);
    }
    // The real PostgreSQL answers: the success paths are covered too.
    let ok = c.call("test_connection", json!({"connection_id": 6})).await;
    assert_eq!(ok["structuredContent"]["success"], json!(true), "{ok}");
    let rows = c
        .call(
            "preview_data",
            json!({"connection_id": 6, "table_name": "pg_database", "schema_name": "pg_catalog"}),
        )
        .await;
    assert_eq!(rows["isError"], json!(false), "{rows}");
    called.extend([
        "get_connection",
        "discover_file_schema",
        "test_connection",
        "discover_schema",
        "preview_data",
    ]);
    for t in &tools {
        assert!(
            called.contains(&t.as_str()),
            "the leak test must call every tool; add {t}"
        );
    }
    // Refused requests are logged too: they must not log the tokens they carried.
    for t in [revoked.as_str(), "pwt_unknown-LEAK"] {
        post(&s.url("leaky"), Some(t), INIT, &[]).await;
    }
    let secrets_shown = responses
        .iter()
        .map(|r| r.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    let logs = s.logs();
    assert!(
        logs.lines().count() > 20,
        "trace logging should be busy: {logs}"
    );
    for (name, secret) in SECRETS {
        assert!(
            !secrets_shown.contains(secret),
            "{name} leaked into a tool result"
        );
        assert!(
            !logs.contains(secret),
            "{name} leaked into the logs: {}",
            logs.lines()
                .filter(|l| l.contains(secret))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    for t in [token.as_str(), revoked.as_str()] {
        assert!(!logs.contains(t), "a bearer token leaked into the logs");
        assert!(
            !secrets_shown.contains(t),
            "a bearer token leaked into a tool result"
        );
    }
    // The key that seals the secrets stays in its file, out of the logs.
    let key = std::fs::read_to_string(dir.path().join("master.key")).unwrap();
    assert!(!logs.contains(key.trim()));
}
