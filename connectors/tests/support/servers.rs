//! The machine's PostgreSQL and MariaDB as the driver tests reach them
//! (PIPEWRIGHT_TEST_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres;
//! PIPEWRIGHT_TEST_MYSQL_URL, default mysql://root@127.0.0.1:3306/test). Without a server a
//! test skips, unless PIPEWRIGHT_REQUIRE_SERVICES=1 makes it fail. Included by the
//! database, transfer and live-sanitizer tests.
#![allow(dead_code)]

/// Whether a missing server must fail the test (CI) rather than skip it.
pub fn required() -> bool {
    std::env::var("PIPEWRIGHT_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

/// A name no other test (or run) uses: `prefix_pid_counter_micros`.
pub fn unique(prefix: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_micros()
            % 1_000_000_000
    )
}

/// A client on database `db` of the test PostgreSQL (`postgres`: the admin database).
pub async fn pg_client(db: &str) -> Option<tokio_postgres::Client> {
    let url = std::env::var("PIPEWRIGHT_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let url = match db {
        "postgres" => url,
        other => format!("{}/{other}", url.rsplit_once('/').unwrap().0),
    };
    match tokio_postgres::connect(&url, tokio_postgres::NoTls).await {
        Ok((c, conn)) => {
            tokio::spawn(conn);
            Some(c)
        }
        Err(e) if !required() => {
            eprintln!("skipping: PostgreSQL not reachable: {e}");
            None
        }
        Err(e) => panic!("PostgreSQL is required but not reachable: {e}"),
    }
}

/// The test MariaDB's URL.
pub fn maria_url() -> String {
    std::env::var("PIPEWRIGHT_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into())
}
