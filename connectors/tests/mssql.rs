//! SQL Server. No SQL Server can run on the machines this project is built on, so:
//! - always: the driver's failure paths against things that are not SQL Server (nothing
//!   listening; a PostgreSQL speaking another protocol), which must fail cleanly;
//! - with PIPEWRIGHT_MSSQL_URL=mssql://USER:PASSWORD@HOST:PORT/DATABASE: discovery and a
//!   typed preview against that real server.
//!
//! Query text and value mapping are unit-tested in `src/database/mssql.rs`.

use std::time::Duration;

use connectors::{
    database::{self, DatabaseConfig, DbKind, Secret, TableQuery, TableRef, TlsMode},
    sanitize::{sanitize, Scope},
    DriverError,
};

fn config(
    host: &str,
    port: u16,
    database: &str,
    user: &str,
    password: &str,
    tls: TlsMode,
) -> DatabaseConfig {
    DatabaseConfig {
        kind: DbKind::MsSql,
        host: host.into(),
        port,
        database: database.into(),
        user: user.into(),
        password: Some(Secret::new(password)),
        path: None,
        tls_mode: tls,
        tls_ca_file: None,
        tunnel: None,
        connect_to: None,
        connect_timeout: Duration::from_secs(5),
        statement_timeout: Duration::from_secs(5),
        max_concurrent: 2,
        allow_cleartext_password: false,
        other_secrets: Vec::new(),
    }
}

#[tokio::test]
async fn failures_without_a_sql_server_are_clean() {
    let d = database::open_direct(config(
        "127.0.0.1",
        1,
        "db",
        "sa",
        "pw-LEAKCHECK",
        TlsMode::Require,
    ))
    .unwrap();
    let e = d.test_connection().await.unwrap_err();
    assert!(matches!(e, DriverError::Unreachable { .. }), "{e:?}");
    assert!(!e.to_string().contains("LEAKCHECK"));
    // Something listens, but it is not SQL Server: an error, never a hang or a panic.
    let d = database::open_direct(config(
        "127.0.0.1",
        5432,
        "db",
        "sa",
        "pw-LEAKCHECK",
        TlsMode::Disable,
    ))
    .unwrap();
    let e = d.test_connection().await.unwrap_err();
    assert!(!e.to_string().contains("LEAKCHECK"), "{e}");
}

#[path = "../../tests/support/hostile.rs"]
mod hostile;

/// A server that says it has no encryption would get LOGIN7, and with it the password
/// (only XOR-obfuscated), in clear text: with tls_mode=disable that login is refused
/// unless the connection allows it.
#[tokio::test]
async fn sql_server_login_is_not_sent_unencrypted_unless_allowed() {
    const PW: &str = "Mssql-LEAKCHECK-pw";
    let server = hostile::Hostile::sql_server();
    let mut cfg = config("127.0.0.1", server.port, "db", "sa", PW, TlsMode::Disable);
    let e = database::open_direct(cfg.clone())
        .unwrap()
        .test_connection()
        .await
        .unwrap_err();
    assert!(matches!(e, DriverError::CleartextPasswordRefused), "{e:?}");
    assert!(
        e.to_string().contains("allow_cleartext_password=true"),
        "{e}"
    );
    assert!(
        server.passwords().is_empty(),
        "LOGIN7 was sent to a server without encryption"
    );

    cfg.allow_cleartext_password = true;
    let e = database::open_direct(cfg)
        .unwrap()
        .test_connection()
        .await
        .unwrap_err();
    assert!(!e.to_string().contains(PW), "{e}");
    assert_eq!(
        server.passwords().len(),
        1,
        "allowed, the login goes out (and the server drops it)"
    );
}

fn from_url() -> Option<DatabaseConfig> {
    let url = std::env::var("PIPEWRIGHT_MSSQL_URL").ok()?;
    let rest = url
        .strip_prefix("mssql://")
        .expect("mssql://USER:PASSWORD@HOST:PORT/DATABASE");
    let (auth, rest) = rest.rsplit_once('@').unwrap();
    let (user, password) = auth.split_once(':').unwrap();
    let (hostport, database) = rest.split_once('/').unwrap();
    let (host, port) = hostport.split_once(':').unwrap_or((hostport, "1433"));
    Some(config(
        host,
        port.parse().unwrap(),
        database,
        user,
        password,
        TlsMode::Require,
    ))
}

#[tokio::test]
async fn against_a_real_sql_server_when_one_is_given() {
    let Some(cfg) = from_url() else {
        eprintln!("skipping: set PIPEWRIGHT_MSSQL_URL=mssql://USER:PASSWORD@HOST:PORT/DATABASE to run against SQL Server");
        return;
    };
    let d = database::open_direct(cfg).unwrap();
    let ping = d.test_connection().await.unwrap();
    assert!(ping.server_version.contains("SQL Server"), "{ping:?}");
    let t = TableRef {
        schema: Some("sys".into()),
        name: "objects".into(),
    };
    let page = d
        .list_tables(&TableQuery {
            schema: None,
            search: None,
            limit: 10,
            offset: 0,
        })
        .await
        .unwrap();
    assert!(page.total >= page.tables.len() as i64);
    let cols = d.describe_table(&t).await.unwrap();
    let names: Vec<String> = cols.iter().map(|c| c.name.clone()).collect();
    let p = sanitize(
        "type = 'U' OR object_id > 0",
        d.dialect(),
        &Scope {
            schema: Some("sys"),
            table: "objects",
            columns: &names,
        },
    )
    .unwrap();
    let rows = d.preview(&t, &cols, 5, Some(&p)).await.unwrap();
    assert!(rows.rows.len() <= 5);
}
