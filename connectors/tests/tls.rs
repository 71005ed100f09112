//! TLS modes against a PostgreSQL and a MariaDB that accept TLS only, started by
//! `scripts/tls-servers` (scripts/test runs it) with a throwaway CA; their addresses come
//! from PIPEWRIGHT_TEST_PG_TLS_PORT / PIPEWRIGHT_TEST_MYSQL_TLS_PORT and the CA files from
//! PIPEWRIGHT_TEST_TLS_CA / PIPEWRIGHT_TEST_TLS_OTHER_CA. The certificate names localhost
//! and 127.0.0.1, not 127.0.0.2 (where the PostgreSQL also listens): verify-full must refuse
//! that address and verify-ca accept it.

use std::{path::PathBuf, sync::Arc, time::Duration};

use connectors::{
    database::{self, DatabaseConfig, DatabaseDriver, DbKind, Secret, TableRef, TlsMode},
    sanitize::Predicate,
    DriverError,
};

struct Env {
    ca: PathBuf,
    other_ca: PathBuf,
    password: String,
    pg_port: u16,
    my_port: u16,
}

fn env() -> Option<Env> {
    let get = |k: &str| std::env::var(k).ok();
    match (
        get("PIPEWRIGHT_TEST_TLS_CA"),
        get("PIPEWRIGHT_TEST_TLS_OTHER_CA"),
        get("PIPEWRIGHT_TEST_TLS_PASSWORD"),
        get("PIPEWRIGHT_TEST_PG_TLS_PORT"),
        get("PIPEWRIGHT_TEST_MYSQL_TLS_PORT"),
    ) {
        (Some(ca), Some(other), Some(password), Some(pg), Some(my)) => Some(Env {
            ca: ca.into(),
            other_ca: other.into(),
            password,
            pg_port: pg.parse().unwrap(),
            my_port: my.parse().unwrap(),
        }),
        _ => {
            assert!(
                std::env::var("PIPEWRIGHT_REQUIRE_SERVICES").as_deref() != Ok("1"),
                "the TLS servers are required: run scripts/tls-servers start DIR and source DIR/env.sh (scripts/test does)"
            );
            eprintln!("skipping: no TLS test servers (scripts/tls-servers)");
            None
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn driver(
    kind: DbKind,
    host: &str,
    port: u16,
    database: &str,
    user: &str,
    password: &str,
    mode: TlsMode,
    ca: Option<&PathBuf>,
) -> Result<Arc<dyn DatabaseDriver>, DriverError> {
    database::open_direct(DatabaseConfig {
        kind,
        host: host.into(),
        port,
        database: database.into(),
        user: user.into(),
        password: Some(Secret::new(password)),
        path: None,
        tls_mode: mode,
        tls_ca_file: ca.cloned(),
        tunnel: None,
        connect_to: None,
        connect_timeout: Duration::from_secs(5),
        statement_timeout: Duration::from_secs(5),
        max_concurrent: 2,
        allow_cleartext_password: false,
        other_secrets: Vec::new(),
    })
}

#[tokio::test]
async fn postgres_tls_modes() {
    let Some(e) = env() else { return };
    let pg = |host: &str, mode, ca: Option<&PathBuf>, pw: &str| {
        driver(
            DbKind::Postgres,
            host,
            e.pg_port,
            "postgres",
            "postgres",
            pw,
            mode,
            ca,
        )
        .unwrap()
    };
    // The server refuses plaintext.
    let err = pg("127.0.0.1", TlsMode::Disable, None, &e.password)
        .test_connection()
        .await
        .unwrap_err();
    assert!(matches!(err, DriverError::Tls(_)), "{err:?}");
    assert!(err.to_string().contains("only encrypted"), "{err}");
    for mode in [TlsMode::Prefer, TlsMode::Require] {
        let ok = pg("127.0.0.1", mode, None, &e.password)
            .test_connection()
            .await;
        assert!(ok.is_ok(), "{mode:?}: {ok:?}");
    }
    // The session really is encrypted.
    let d = pg("127.0.0.1", TlsMode::VerifyFull, Some(&e.ca), &e.password);
    let t = TableRef {
        schema: Some("pg_catalog".into()),
        name: "pg_stat_ssl".into(),
    };
    let cols = d.describe_table(&t).await.unwrap();
    let p = d
        .preview(
            &t,
            &cols,
            1,
            Some(&Predicate::unchecked("pid = pg_backend_pid()")),
        )
        .await
        .unwrap();
    assert_eq!(p.rows[0][1], serde_json::json!(true), "{:?}", p.rows);
    // verify-ca checks the chain only; verify-full also the name.
    assert!(pg("127.0.0.1", TlsMode::VerifyCa, Some(&e.ca), &e.password)
        .test_connection()
        .await
        .is_ok());
    assert!(
        pg("localhost", TlsMode::VerifyFull, Some(&e.ca), &e.password)
            .test_connection()
            .await
            .is_ok()
    );
    assert!(pg("127.0.0.2", TlsMode::VerifyCa, Some(&e.ca), &e.password)
        .test_connection()
        .await
        .is_ok());
    let err = pg("127.0.0.2", TlsMode::VerifyFull, Some(&e.ca), &e.password)
        .test_connection()
        .await
        .unwrap_err();
    assert!(matches!(err, DriverError::Tls(_)), "{err:?}");
    assert!(err.to_string().contains("certificate"), "{err}");
    // A CA that did not sign the certificate, and no CA at all (the public roots).
    for ca in [Some(&e.other_ca), None] {
        for mode in [TlsMode::VerifyCa, TlsMode::VerifyFull] {
            let err = pg("127.0.0.1", mode, ca, &e.password)
                .test_connection()
                .await
                .unwrap_err();
            assert!(
                matches!(err, DriverError::Tls(_)),
                "{mode:?} {ca:?}: {err:?}"
            );
        }
    }
    // This server checks passwords.
    let err = pg("127.0.0.1", TlsMode::Require, None, "wrong-LEAKCHECK")
        .test_connection()
        .await
        .unwrap_err();
    assert!(matches!(err, DriverError::AuthFailed { .. }), "{err:?}");
    assert!(!err.to_string().contains("LEAKCHECK"));
    // A missing CA file is a configuration error naming the field.
    let missing = PathBuf::from("/nonexistent/ca.pem");
    let err = pg(
        "127.0.0.1",
        TlsMode::VerifyFull,
        Some(&missing),
        &e.password,
    )
    .test_connection()
    .await
    .unwrap_err();
    assert!(
        matches!(err, DriverError::Config { ref field, .. } if field == "tls_ca_file"),
        "{err:?}"
    );
}

#[tokio::test]
async fn mariadb_tls_modes() {
    let Some(e) = env() else { return };
    let my = |mode, ca: Option<&PathBuf>, pw: &str| {
        driver(
            DbKind::MySql,
            "127.0.0.1",
            e.my_port,
            "tlsdb",
            "tls",
            pw,
            mode,
            ca,
        )
    };
    // The user requires TLS: plaintext is refused.
    assert!(my(TlsMode::Disable, None, &e.password)
        .unwrap()
        .test_connection()
        .await
        .is_err());
    for mode in [TlsMode::Prefer, TlsMode::Require] {
        let ok = my(mode, None, &e.password).unwrap().test_connection().await;
        assert!(ok.is_ok(), "{mode:?}: {ok:?}");
    }
    for mode in [TlsMode::VerifyCa, TlsMode::VerifyFull] {
        let ok = my(mode, Some(&e.ca), &e.password)
            .unwrap()
            .test_connection()
            .await;
        assert!(ok.is_ok(), "{mode:?}: {ok:?}");
        let err = my(mode, Some(&e.other_ca), &e.password)
            .unwrap()
            .test_connection()
            .await
            .unwrap_err();
        assert!(matches!(err, DriverError::Tls(_)), "{mode:?}: {err:?}");
    }
    let err = my(TlsMode::Require, None, "wrong")
        .unwrap()
        .test_connection()
        .await
        .unwrap_err();
    assert!(matches!(err, DriverError::AuthFailed { .. }), "{err:?}");
    let missing = PathBuf::from("/nonexistent/ca.pem");
    assert!(matches!(
        my(TlsMode::VerifyFull, Some(&missing), &e.password),
        Err(DriverError::Config { .. })
    ));
}

#[tokio::test]
async fn prefer_falls_back_to_plaintext_where_the_server_has_no_tls() {
    // The machine's own MariaDB (no TLS configured there).
    let d = driver(
        DbKind::MySql,
        "127.0.0.1",
        3306,
        "test",
        "root",
        "",
        TlsMode::Prefer,
        None,
    )
    .unwrap();
    match d.test_connection().await {
        Ok(_) => {}
        Err(e) if std::env::var("PIPEWRIGHT_REQUIRE_SERVICES").as_deref() != Ok("1") => {
            eprintln!("skipping: MariaDB not reachable: {e}")
        }
        Err(e) => panic!("{e:?}"),
    }
}
