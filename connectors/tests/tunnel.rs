//! SSH tunnels through a real OpenSSH sshd on a loopback port, started by
//! `scripts/ssh-server` (scripts/test runs it; PIPEWRIGHT_TEST_SSH_* say where), to the
//! machine's PostgreSQL and MariaDB: password and key authentication, host-key pinning,
//! and each failure.

use std::time::Duration;

use connectors::{
    database::{self, DatabaseConfig, DbKind, Secret, TableRef, TlsMode},
    tunnel::SshConfig,
    DriverError,
};

struct Ssh {
    port: u16,
    user: String,
    password: String,
    key: String,
    fingerprint: String,
}

fn ssh() -> Option<Ssh> {
    let get = |k: &str| std::env::var(k).ok();
    match (
        get("PIPEWRIGHT_TEST_SSH_PORT"),
        get("PIPEWRIGHT_TEST_SSH_USER"),
        get("PIPEWRIGHT_TEST_SSH_PASSWORD"),
        get("PIPEWRIGHT_TEST_SSH_KEY"),
        get("PIPEWRIGHT_TEST_SSH_FINGERPRINT"),
    ) {
        (Some(port), Some(user), Some(password), Some(key), Some(fingerprint)) => Some(Ssh {
            port: port.parse().unwrap(),
            user,
            password,
            key: std::fs::read_to_string(key).unwrap(),
            fingerprint,
        }),
        _ => {
            assert!(
                std::env::var("PIPEWRIGHT_REQUIRE_SERVICES").as_deref() != Ok("1"),
                "the SSH test server is required: scripts/ssh-server start DIR, then source DIR/env.sh (scripts/test does)"
            );
            eprintln!("skipping: no SSH test server (scripts/ssh-server)");
            None
        }
    }
}

fn tunnel(
    s: &Ssh,
    password: Option<&str>,
    key: Option<&str>,
    fingerprint: Option<&str>,
    port: u16,
) -> SshConfig {
    SshConfig {
        host: "127.0.0.1".into(),
        port,
        user: s.user.clone(),
        password: password.map(Secret::new),
        private_key: key.map(Secret::new),
        passphrase: None,
        host_key_fingerprint: fingerprint.map(String::from),
        timeout: Duration::from_secs(5),
    }
}

fn through(kind: DbKind, port: u16, database: &str, user: &str, t: SshConfig) -> DatabaseConfig {
    DatabaseConfig {
        kind,
        host: "127.0.0.1".into(),
        port,
        database: database.into(),
        user: user.into(),
        password: None,
        path: None,
        tls_mode: TlsMode::Disable,
        tls_ca_file: None,
        connect_timeout: Duration::from_secs(5),
        statement_timeout: Duration::from_secs(5),
        tunnel: Some(t),
        connect_to: None,
        max_concurrent: 2,
        allow_cleartext_password: false,
        other_secrets: Vec::new(),
    }
}

#[tokio::test]
async fn postgres_and_mariadb_through_an_ssh_tunnel() {
    let Some(s) = ssh() else { return };
    // Password authentication, pinned host key.
    let d = database::open(through(
        DbKind::Postgres,
        5432,
        "postgres",
        "postgres",
        tunnel(&s, Some(&s.password), None, Some(&s.fingerprint), s.port),
    ))
    .await
    .unwrap();
    let ping = d.test_connection().await.unwrap();
    assert!(ping.server_version.starts_with("PostgreSQL"), "{ping:?}");
    let t = TableRef {
        schema: Some("pg_catalog".into()),
        name: "pg_database".into(),
    };
    let cols = d.describe_table(&t).await.unwrap();
    // Several connections at once share the one SSH session.
    let (a, b) = tokio::join!(d.preview(&t, &cols, 5, None), d.preview(&t, &cols, 5, None));
    assert!(!a.unwrap().rows.is_empty() && !b.unwrap().rows.is_empty());

    // Key authentication, to MariaDB.
    let d = database::open(through(
        DbKind::MySql,
        3306,
        "test",
        "root",
        tunnel(&s, None, Some(&s.key), None, s.port),
    ))
    .await
    .unwrap();
    assert!(d
        .test_connection()
        .await
        .unwrap()
        .server_version
        .contains("MariaDB"));
}

#[path = "../../tests/support/hostile.rs"]
mod hostile;

/// A hostile PostgreSQL behind the bastion declines TLS under `prefer` and asks for the
/// password in clear text: refused before it is sent; when allowed, the password it
/// quotes back is scrubbed from the error, as are the tunnel's own secrets.
#[tokio::test]
async fn tunnel_to_a_hostile_postgres_never_sends_or_shows_the_password() {
    let Some(s) = ssh() else { return };
    const PW: &str = "Tunnel-LEAKCHECK-db-pw";
    let pg = hostile::Hostile::postgres();
    let mut cfg = through(
        DbKind::Postgres,
        pg.port,
        "postgres",
        "etl",
        tunnel(&s, Some(&s.password), None, Some(&s.fingerprint), s.port),
    );
    cfg.password = Some(Secret::new(PW));
    cfg.tls_mode = TlsMode::Prefer;
    let e = database::open(cfg.clone())
        .await
        .unwrap()
        .test_connection()
        .await
        .unwrap_err();
    assert!(matches!(e, DriverError::CleartextPasswordRefused), "{e:?}");
    assert!(!pg.received_text(PW), "the password went out in clear text");
    assert!(pg.passwords().is_empty());

    cfg.allow_cleartext_password = true;
    // Any other secret sealed with the connection is scrubbed too (here, words of the
    // server's message stand in for one).
    cfg.other_secrets = vec![Secret::new("does not meet")];
    let e = database::open(cfg)
        .await
        .unwrap()
        .test_connection()
        .await
        .unwrap_err();
    assert_eq!(pg.passwords(), [PW], "allowed, the password is sent");
    let text = e.to_string();
    assert!(!text.contains(PW) && !text.contains(&s.password), "{text}");
    assert!(
        text.contains("password \"[redacted]\" [redacted] the policy"),
        "{text}"
    );
}

#[tokio::test]
async fn tunnel_failures_say_what_to_fix() {
    let Some(s) = ssh() else { return };
    let open =
        |t: SshConfig| database::open(through(DbKind::Postgres, 5432, "postgres", "postgres", t));
    let wrong_pin = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let e = open(tunnel(&s, Some(&s.password), None, Some(wrong_pin), s.port))
        .await
        .err()
        .unwrap();
    assert!(matches!(e, DriverError::Tunnel(_)), "{e:?}");
    assert!(e.to_string().contains("does not match the pinned"), "{e}");
    assert!(
        e.to_string().contains(&s.fingerprint),
        "names the key it saw: {e}"
    );

    let e = open(tunnel(&s, Some("wrong-LEAKCHECK"), None, None, s.port))
        .await
        .err()
        .unwrap();
    assert!(e.to_string().contains("authentication failed"), "{e}");
    assert!(!e.to_string().contains("LEAKCHECK"));

    let e = open(tunnel(&s, None, Some("not a key LEAKCHECK"), None, s.port))
        .await
        .err()
        .unwrap();
    assert!(
        e.to_string().contains("ssh_private_key cannot be read"),
        "{e}"
    );
    assert!(!e.to_string().contains("LEAKCHECK"));

    let e = open(tunnel(&s, Some(&s.password), None, None, 1))
        .await
        .err()
        .unwrap();
    assert!(
        e.to_string().contains("cannot connect to the SSH server"),
        "{e}"
    );

    // The tunnel is up but nothing listens behind it.
    let d = database::open(through(
        DbKind::Postgres,
        1,
        "postgres",
        "postgres",
        tunnel(&s, Some(&s.password), None, None, s.port),
    ))
    .await
    .unwrap();
    assert!(d.test_connection().await.is_err());
}

#[tokio::test]
async fn verify_full_tls_through_a_tunnel_still_checks_the_server_name() {
    let Some(s) = ssh() else { return };
    let (Ok(port), Ok(ca), Ok(pw)) = (
        std::env::var("PIPEWRIGHT_TEST_PG_TLS_PORT"),
        std::env::var("PIPEWRIGHT_TEST_TLS_CA"),
        std::env::var("PIPEWRIGHT_TEST_TLS_PASSWORD"),
    ) else {
        assert!(
            std::env::var("PIPEWRIGHT_REQUIRE_SERVICES").as_deref() != Ok("1"),
            "TLS test servers required"
        );
        return;
    };
    let mut cfg = through(
        DbKind::Postgres,
        port.parse().unwrap(),
        "postgres",
        "postgres",
        tunnel(&s, Some(&s.password), None, Some(&s.fingerprint), s.port),
    );
    cfg.password = Some(Secret::new(pw));
    cfg.tls_mode = TlsMode::VerifyFull;
    cfg.tls_ca_file = Some(ca.into());
    // The tunnel's local end is 127.0.0.1:<random>, but the certificate is checked
    // against the server's own name.
    let d = database::open(cfg.clone()).await.unwrap();
    assert!(d.test_connection().await.is_ok());
    cfg.host = "127.0.0.2".into();
    let d = database::open(cfg).await.unwrap();
    let e = d.test_connection().await.unwrap_err();
    assert!(matches!(e, DriverError::Tls(_)), "{e:?}");
}
