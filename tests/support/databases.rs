//! Throwaway databases on the machine's PostgreSQL and MariaDB for one test each, dropped
//! afterwards (PIPEWRIGHT_TEST_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres;
//! PIPEWRIGHT_TEST_MYSQL_URL, default mysql://root@127.0.0.1:3306). Without the servers
//! `create` returns `None` (the test skips), unless PIPEWRIGHT_REQUIRE_SERVICES=1.

use sqlx::{AnyConnection, AssertSqlSafe, Connection, Executor};

use super::{cli, services_required, Server};

fn unique(prefix: &str) -> String {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        chrono::Utc::now().timestamp_millis(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

/// A PostgreSQL database of its own.
pub struct TempDatabase {
    admin_url: String,
    pub name: String,
    pub url: String,
}

impl TempDatabase {
    pub async fn create() -> Option<TempDatabase> {
        let admin_url = std::env::var("PIPEWRIGHT_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        sqlx::any::install_default_drivers();
        let mut admin = match AnyConnection::connect(&admin_url).await {
            Ok(c) => c,
            Err(e) if !services_required() => {
                eprintln!("skipping: PostgreSQL not reachable at {admin_url}: {e}");
                return None;
            }
            Err(e) => panic!("PostgreSQL is required but not reachable at {admin_url}: {e}"),
        };
        let name = unique("pw_e2e");
        admin
            .execute(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await
            .expect("create database");
        let base = admin_url.rsplit_once('/').unwrap().0;
        let url = format!("{base}/{name}");
        Some(TempDatabase {
            admin_url,
            name,
            url,
        })
    }

    /// A plain client on the database.
    pub async fn client(&self) -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
            .await
            .expect("connect to the test database");
        tokio::spawn(conn);
        client
    }
}

impl Drop for TempDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs outside the test's runtime; use a small one of its own.
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async {
                    if let Ok(mut c) = AnyConnection::connect(&admin_url).await {
                        let _ = c
                            .execute(AssertSqlSafe(format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            )))
                            .await;
                    }
                })
        })
        .join()
        .unwrap();
    }
}

/// A MariaDB database of its own.
pub struct TempMariaDb {
    admin_url: String,
    pub name: String,
}

impl TempMariaDb {
    pub async fn create() -> Option<TempMariaDb> {
        let admin_url = std::env::var("PIPEWRIGHT_TEST_MYSQL_URL")
            .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into());
        let opts = mysql_async::Opts::from_url(&admin_url).expect("PIPEWRIGHT_TEST_MYSQL_URL");
        let mut conn = match mysql_async::Conn::new(opts).await {
            Ok(c) => c,
            Err(e) if !services_required() => {
                eprintln!("skipping: MariaDB not reachable at {admin_url}: {e}");
                return None;
            }
            Err(e) => panic!("MariaDB is required but not reachable at {admin_url}: {e}"),
        };
        let name = unique("pw_e2e");
        use mysql_async::prelude::Queryable;
        conn.query_drop(format!("CREATE DATABASE {name}"))
            .await
            .expect("create database");
        let _ = conn.disconnect().await;
        Some(TempMariaDb { admin_url, name })
    }

    pub async fn conn(&self) -> mysql_async::Conn {
        let url = format!("{}/{}", self.admin_url.trim_end_matches('/'), self.name);
        mysql_async::Conn::new(mysql_async::Opts::from_url(&url).unwrap())
            .await
            .expect("connect to the test database")
    }
}

impl Drop for TempMariaDb {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async {
                    use mysql_async::prelude::Queryable;
                    if let Ok(mut c) =
                        mysql_async::Conn::new(mysql_async::Opts::from_url(&admin_url).unwrap())
                            .await
                    {
                        let _ = c
                            .query_drop(format!("DROP DATABASE IF EXISTS {name}"))
                            .await;
                        let _ = c.disconnect().await;
                    }
                })
        })
        .join()
        .unwrap();
    }
}

// ---------------------------------------------------------------- connections to them

/// A connection of the demo account added with the CLI; secrets go through files, never argv.
pub fn connection(
    s: &Server,
    name: &str,
    kind: &str,
    sets: &[String],
    secrets: &[(&str, &str)],
) -> i64 {
    let mut args: Vec<String> = [
        "connection",
        "add",
        "--account",
        "demo",
        "--name",
        name,
        "--type",
        kind,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for set in sets {
        args.push("--set".into());
        args.push(set.clone());
    }
    for (field, value) in secrets {
        let path = s.data_dir.join(format!("{name}-{field}.secret"));
        std::fs::write(&path, value).unwrap();
        args.push("--secret-file".into());
        args.push(format!("{field}={}", path.display()));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    cli(&s.data_dir, &args)
        .trim()
        .parse()
        .expect("connection id")
}

pub fn pg_connection(s: &Server, name: &str, db: &TempDatabase) -> i64 {
    connection(
        s,
        name,
        "postgres",
        &[
            "host=127.0.0.1".into(),
            "port=5432".into(),
            format!("database={}", db.name),
            "user=postgres".into(),
            "tls_mode=disable".into(),
        ],
        &[],
    )
}

pub fn maria_connection(s: &Server, name: &str, db: &TempMariaDb, password: Option<&str>) -> i64 {
    let secrets: Vec<(&str, &str)> = password.map(|p| ("password", p)).into_iter().collect();
    connection(
        s,
        name,
        "mariadb",
        &[
            "host=127.0.0.1".into(),
            "port=3306".into(),
            format!("database={}", db.name),
            "user=root".into(),
            "tls_mode=disable".into(),
        ],
        &secrets,
    )
}
