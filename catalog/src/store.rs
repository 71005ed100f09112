//! The one handle on the control-plane database, its migrations, its write transactions,
//! and a small helper for queries whose WHERE clause depends on optional filters.

use std::{
    ops::{Deref, DerefMut},
    path::Path,
    sync::Arc,
    time::Duration,
};

use sqlx::{
    any::{AnyArguments, AnyPoolOptions},
    query::Query,
    Any, AnyConnection, AnyPool, AssertSqlSafe, Executor,
};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::{CatalogError, Result};

/// Which database the store runs on. Only full-text search and locking differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    backend: Backend,
    /// SQLite's one writer at a time, taken in this process before `BEGIN IMMEDIATE`: see
    /// [`Store::begin`].
    writer: Arc<Mutex<()>>,
}

/// How often a write transaction on SQLite is retried when another *process* (the CLI next
/// to a server) holds the write lock past `busy_timeout`, and how long to wait in between.
const BUSY_RETRIES: u32 = 3;
const BUSY_BACKOFF: Duration = Duration::from_millis(200);

struct Migration {
    version: i64,
    sqlite: &'static str,
    postgres: &'static str,
}

/// Embedded so one binary carries its schema. Append only; never edit a shipped one.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sqlite: include_str!("../migrations/sqlite/0001_init.sql"),
        postgres: include_str!("../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        sqlite: include_str!("../migrations/sqlite/0002_packages_by_workspace.sql"),
        postgres: include_str!("../migrations/postgres/0002_packages_by_workspace.sql"),
    },
    Migration {
        version: 3,
        sqlite: include_str!("../migrations/sqlite/0003_package_authoring.sql"),
        postgres: include_str!("../migrations/postgres/0003_package_authoring.sql"),
    },
    Migration {
        version: 4,
        sqlite: include_str!("../migrations/sqlite/0004_run_queue.sql"),
        postgres: include_str!("../migrations/postgres/0004_run_queue.sql"),
    },
    Migration {
        version: 5,
        sqlite: include_str!("../migrations/sqlite/0005_schedule_firing.sql"),
        postgres: include_str!("../migrations/postgres/0005_schedule_firing.sql"),
    },
    Migration {
        version: 6,
        sqlite: include_str!("../migrations/sqlite/0006_oauth.sql"),
        postgres: include_str!("../migrations/postgres/0006_oauth.sql"),
    },
];

impl Store {
    /// Opens (creating if needed) the SQLite store in `data_dir`.
    pub async fn open_data_dir(data_dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            CatalogError::Store(format!(
                "cannot create data directory {}: {e}",
                data_dir.display()
            ))
        })?;
        let path = data_dir.join("pipewright.db");
        Self::open(&format!("sqlite://{}?mode=rwc", path.display())).await
    }

    /// Opens `sqlite://…` or `postgres://…` and runs pending migrations.
    pub async fn open(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(CatalogError::invalid(
                "database_url",
                "use sqlite://PATH or postgres://USER@HOST/DB",
            ));
        };
        let mut options = AnyPoolOptions::new()
            .acquire_timeout(Duration::from_secs(10))
            .idle_timeout(Duration::from_secs(300));
        if backend == Backend::Sqlite {
            // A local file cannot drop the connection: skip the ping sqlx would otherwise
            // send before every query (a round trip to the connection's thread).
            options = options
                .max_connections(8)
                .test_before_acquire(false)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                        )
                        .await?;
                        Ok(())
                    })
                });
        } else {
            options = options.max_connections(16);
        }
        let pool = options.connect(url).await.map_err(|e| {
            // Never echo the URL: it may carry a password.
            CatalogError::Store(format!(
                "cannot open the control-plane store ({}); check --database-url and that the server is running",
                CatalogError::from(e)
            ))
        })?;
        let store = Store {
            pool,
            backend,
            writer: Arc::new(Mutex::new(())),
        };
        store.migrate().await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Starts a write transaction.
    ///
    /// On SQLite, writers first queue for this process's one writer turn (in order, and
    /// without holding a pooled connection, so readers are never starved by writers
    /// waiting in SQLite's busy handler), then take the database's write lock up front
    /// (`BEGIN IMMEDIATE`), so read-then-write transactions never fail on upgrade. Another
    /// process holding the lock is waited for by `busy_timeout`, then retried a few times.
    /// Never call this while holding a [`Tx`] of the same store: the turn is not reentrant.
    pub(crate) async fn begin(&self) -> Result<Tx> {
        if self.backend == Backend::Postgres {
            return Ok(Tx {
                tx: self.pool.begin().await?,
                _turn: None,
            });
        }
        let turn = self.writer.clone().lock_owned().await;
        let mut attempt = 0;
        loop {
            match self.pool.begin_with("BEGIN IMMEDIATE").await {
                Ok(tx) => {
                    return Ok(Tx {
                        tx,
                        _turn: Some(turn),
                    })
                }
                Err(e) if is_busy(&e) && attempt < BUSY_RETRIES => {
                    attempt += 1;
                    tracing::warn!(attempt, "control-plane store busy; retrying the write");
                    tokio::time::sleep(BUSY_BACKOFF * attempt).await;
                }
                Err(e) if is_busy(&e) => {
                    return Err(CatalogError::Store(
                        "the store stayed locked by another process; try again shortly".into(),
                    ))
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// ` FOR UPDATE` on PostgreSQL; nothing on SQLite, where `BEGIN IMMEDIATE` already locks.
    pub(crate) fn for_update(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        }
    }

    /// ` FOR SHARE` on PostgreSQL; nothing on SQLite, where `BEGIN IMMEDIATE` already locks.
    pub(crate) fn for_share(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR SHARE",
        }
    }

    async fn migrate(&self) -> Result<()> {
        let mut tx = self.begin().await?;
        if self.backend == Backend::Postgres {
            // Replicas starting together must not race each other through the migrations.
            sqlx::query("SELECT pg_advisory_xact_lock(7355608)")
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS pipewright_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .execute(&mut *tx)
        .await?;
        let current: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM pipewright_migrations")
                .fetch_one(&mut *tx)
                .await?;
        for m in MIGRATIONS
            .iter()
            .filter(|m| m.version > current.unwrap_or(0))
        {
            let sql = match self.backend {
                Backend::Sqlite => m.sqlite,
                Backend::Postgres => m.postgres,
            };
            sqlx::raw_sql(sql).execute(&mut *tx).await.map_err(|e| {
                CatalogError::Store(format!(
                    "migration {} failed: {}",
                    m.version,
                    CatalogError::from(e)
                ))
            })?;
            sqlx::query("INSERT INTO pipewright_migrations (version, applied_at) VALUES ($1, $2)")
                .bind(m.version)
                .bind(crate::time::now_ms())
                .execute(&mut *tx)
                .await?;
            tracing::info!(version = m.version, "applied control-plane migration");
        }
        tx.commit().await?;
        Ok(())
    }
}

/// SQLITE_BUSY or SQLITE_LOCKED, in any of their extended forms.
fn is_busy(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => db
            .code()
            .and_then(|c| c.parse::<i32>().ok())
            .is_some_and(|c| matches!(c & 0xff, 5 | 6)),
        _ => false,
    }
}

/// A write transaction from [`Store::begin`]: use it where a connection is expected
/// (`&mut *tx`), then [`Tx::commit`] or [`Tx::finish`]. Dropped unfinished, it rolls back.
pub(crate) struct Tx {
    // Declared first so it is dropped (and its rollback sent) before the turn is released.
    tx: sqlx::Transaction<'static, Any>,
    _turn: Option<OwnedMutexGuard<()>>,
}

impl Tx {
    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }

    /// Commits if `result` is a success and rolls back otherwise, then hands `result` on:
    /// a mutation's checks and writes go in `result`, so a refusal leaves nothing behind.
    pub async fn finish<T, E: From<CatalogError>>(self, result: Result<T, E>) -> Result<T, E> {
        match result {
            Ok(v) => {
                self.commit().await?;
                Ok(v)
            }
            Err(e) => {
                // The refusal is what the caller needs to hear; a failed rollback only
                // means the connection is dropped, which rolls back too.
                let _ = self.tx.rollback().await;
                Err(e)
            }
        }
    }
}

impl Deref for Tx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

/// A value bound into a dynamically assembled query.
#[derive(Debug, Clone)]
pub(crate) enum Bind {
    Int(i64),
    Text(String),
}

/// Builds `WHERE a = $1 AND b = $2` from optional filters with `$n` placeholders, which
/// both SQLite and PostgreSQL accept (sqlx's `QueryBuilder` emits `?` for `Any`).
#[derive(Debug, Default, Clone)]
pub(crate) struct Filters {
    clauses: Vec<String>,
    binds: Vec<Bind>,
}

impl Filters {
    /// `clause` is a fragment of our own with `{}` where the placeholder goes.
    pub fn push(&mut self, clause: &'static str, value: Bind) -> &mut Self {
        self.binds.push(value);
        self.clauses
            .push(clause.replace("{}", &format!("${}", self.binds.len())));
        self
    }
    pub fn int(&mut self, clause: &'static str, v: i64) -> &mut Self {
        self.push(clause, Bind::Int(v))
    }
    pub fn text(&mut self, clause: &'static str, v: impl Into<String>) -> &mut Self {
        self.push(clause, Bind::Text(v.into()))
    }
    /// A clause of our own that needs no value (`r.parent_run_id IS NULL`).
    pub fn always(&mut self, clause: &'static str) -> &mut Self {
        self.clauses.push(clause.to_string());
        self
    }
    /// Binds `v` without a clause and returns its placeholder (`$n`), for a value used
    /// outside the WHERE clause (a derived table in FROM).
    pub fn placeholder(&mut self, v: i64) -> String {
        self.binds.push(Bind::Int(v));
        format!("${}", self.binds.len())
    }
    pub fn where_sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }
    /// One page of `SELECT cols FROM from [WHERE …] ORDER BY order`, with the count of
    /// every row the filters match, each row read by `row`.
    pub async fn page<T>(
        &self,
        pool: &sqlx::AnyPool,
        (cols, from, order): (&str, &str, &str),
        page: crate::PageRequest,
        row: impl Fn(&sqlx::any::AnyRow) -> crate::Result<T>,
    ) -> crate::Result<crate::Page<T>> {
        use sqlx::Row;
        let total: i64 = self
            .query(format!(
                "SELECT COUNT(*) AS n FROM {from}{}",
                self.where_sql()
            ))
            .fetch_one(pool)
            .await?
            .try_get("n")?;
        let rows = self
            .query(format!(
                "SELECT {cols} FROM {from}{} ORDER BY {order}{}",
                self.where_sql(),
                page.sql()
            ))
            .fetch_all(pool)
            .await?;
        Ok(crate::Page {
            items: rows.iter().map(row).collect::<crate::Result<_>>()?,
            total,
            limit: page.limit,
            offset: page.offset,
        })
    }
    pub fn query<'q>(&self, sql: String) -> Query<'q, Any, AnyArguments> {
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for b in &self.binds {
            q = match b {
                Bind::Int(v) => q.bind(*v),
                Bind::Text(v) => q.bind(v.clone()),
            };
        }
        q
    }
}

impl Store {
    /// A trivial query, for health checks.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}
