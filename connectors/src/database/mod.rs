//! The database driver family: one trait, one module per backend, chosen by the
//! connection's `type`.

mod arrow_mysql;
mod arrow_pg;
mod arrow_values;
mod batches;
mod config;
mod mssql;
mod mssql_transfer;
mod mysql;
mod mysql_transfer;
mod plan;
mod pool;
mod postgres;
mod postgres_transfer;
mod scalars;
pub mod sql;
mod sqlite;
mod sqlite_transfer;
pub mod transfer;
pub mod values;
mod wire;

use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;

pub use crate::Ping;
pub use config::{DatabaseConfig, DbKind, Secret, TlsMode};
pub use transfer::{BatchStream, Param, ReadRequest, WriteMode, WriteRequest, WriteSummary};

use crate::{
    error::{DriverError, Result},
    sanitize::{Dialect, Predicate},
};

/// A table or view.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TableInfo {
    pub schema: Option<String>,
    pub name: String,
    /// `table` or `view`.
    pub kind: String,
}

#[derive(Debug, Clone)]
pub struct TableQuery {
    pub schema: Option<String>,
    /// Case-insensitive substring of the table name.
    pub search: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TablePage {
    pub tables: Vec<TableInfo>,
    pub total: i64,
}

/// One column as the database describes it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ColumnInfo {
    pub name: String,
    pub database_type: String,
    pub nullable: bool,
    /// How values of this column appear in JSON: integer, number, string, boolean,
    /// date, timestamp, time, binary, json.
    pub json_type: String,
}

/// A table named by the caller: schema (or the connection's default) and name.
#[derive(Debug, Clone)]
pub struct TableRef {
    pub schema: Option<String>,
    pub name: String,
}

impl TableRef {
    pub fn display(&self) -> String {
        match &self.schema {
            Some(s) => format!("{s}.{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// Previewed rows, each in the order of the columns the preview was asked for.
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    pub rows: Vec<Vec<serde_json::Value>>,
}

#[async_trait]
pub trait DatabaseDriver: Send + Sync {
    fn dialect(&self) -> Dialect;
    /// Connects (or reuses a pooled connection) and runs a trivial query.
    async fn test_connection(&self) -> Result<Ping>;
    async fn list_tables(&self, q: &TableQuery) -> Result<TablePage>;
    /// The table's columns; `TableNotFound` if there is no such table.
    async fn describe_table(&self, t: &TableRef) -> Result<Vec<ColumnInfo>>;
    /// Up to `row_count` rows, read-only, under the statement timeout.
    async fn preview(
        &self,
        t: &TableRef,
        columns: &[ColumnInfo],
        row_count: u32,
        filter: Option<&Predicate>,
    ) -> Result<Preview>;
    /// The columns one SELECT would return, without running it (prepared, or `LIMIT 0`).
    /// `$name` placeholders may be in the text. A query the database refuses is
    /// [`DriverError::Query`].
    async fn describe_query(&self, sql: &str) -> Result<Vec<ColumnInfo>> {
        let _ = sql;
        Err(DriverError::Unsupported("reading a query's columns".into()))
    }
    /// Streams the rows of one SELECT as Arrow batches (see [`transfer`]).
    async fn read(&self, r: ReadRequest) -> Result<BatchStream> {
        let _ = r;
        Err(DriverError::Unsupported("reading rows in bulk".into()))
    }
    /// Writes batches to a table, all or nothing (see [`transfer`]).
    async fn write(&self, w: WriteRequest, batches: BatchStream) -> Result<WriteSummary> {
        let _ = (w, batches);
        Err(DriverError::Unsupported("writing rows in bulk".into()))
    }
}

/// Opens the driver for a connection, first opening its SSH tunnel if it has one (so a
/// bad bastion, key or password is reported here). Every error it and the driver return
/// has the connection's secrets scrubbed out (see [`Scrubbed`]).
pub async fn open(mut cfg: DatabaseConfig) -> Result<Arc<dyn DatabaseDriver>> {
    let redactor = cfg.redactor();
    let tunnel = match cfg.tunnel.take() {
        None => None,
        Some(ssh) => {
            let tunnel = crate::tunnel::Tunnel::open(ssh, cfg.host.clone(), cfg.port)
                .await
                .map_err(|e| redactor.error(e))?;
            cfg.connect_to = Some(tunnel.local);
            Some(tunnel)
        }
    };
    scrubbed(cfg, redactor, tunnel)
}

/// Opens a driver that connects directly, ignoring any tunnel in `cfg`; errors scrubbed as
/// [`open`]'s are.
pub fn open_direct(cfg: DatabaseConfig) -> Result<Arc<dyn DatabaseDriver>> {
    let redactor = cfg.redactor();
    scrubbed(cfg, redactor, None)
}

fn scrubbed(
    cfg: DatabaseConfig,
    redactor: crate::redact::Redactor,
    tunnel: Option<crate::tunnel::Tunnel>,
) -> Result<Arc<dyn DatabaseDriver>> {
    crate::tls::install_default_provider();
    let inner: Arc<dyn DatabaseDriver> = match cfg.kind {
        DbKind::Postgres => postgres::Postgres::new(cfg).map(|d| Arc::new(d) as _),
        DbKind::MySql => mysql::MySql::new(cfg).map(|d| Arc::new(d) as _),
        DbKind::Sqlite => sqlite::Sqlite::new(cfg).map(|d| Arc::new(d) as _),
        DbKind::MsSql => mssql::MsSql::new(cfg).map(|d| Arc::new(d) as _),
    }
    .map_err(|e| redactor.error(e))?;
    Ok(Arc::new(Scrubbed {
        inner,
        redactor,
        _tunnel: tunnel,
    }))
}

/// The one boundary between a backend and the rest of Pipewright: every error leaves with
/// the connection's secrets scrubbed out (a server may quote the password it was sent),
/// and the SSH tunnel, if any, lives as long as the driver.
struct Scrubbed {
    inner: Arc<dyn DatabaseDriver>,
    redactor: crate::redact::Redactor,
    _tunnel: Option<crate::tunnel::Tunnel>,
}

impl Scrubbed {
    fn scrub<T>(&self, r: Result<T>) -> Result<T> {
        r.map_err(|e| self.redactor.error(e))
    }
}

#[async_trait]
impl DatabaseDriver for Scrubbed {
    fn dialect(&self) -> Dialect {
        self.inner.dialect()
    }
    async fn test_connection(&self) -> Result<Ping> {
        self.scrub(self.inner.test_connection().await)
    }
    async fn list_tables(&self, q: &TableQuery) -> Result<TablePage> {
        self.scrub(self.inner.list_tables(q).await)
    }
    async fn describe_table(&self, t: &TableRef) -> Result<Vec<ColumnInfo>> {
        self.scrub(self.inner.describe_table(t).await)
    }
    async fn preview(
        &self,
        t: &TableRef,
        columns: &[ColumnInfo],
        row_count: u32,
        filter: Option<&Predicate>,
    ) -> Result<Preview> {
        self.scrub(self.inner.preview(t, columns, row_count, filter).await)
    }
    async fn describe_query(&self, sql: &str) -> Result<Vec<ColumnInfo>> {
        self.scrub(self.inner.describe_query(sql).await)
    }
    async fn read(&self, r: ReadRequest) -> Result<BatchStream> {
        use futures_util::StreamExt;
        let stream = self.scrub(self.inner.read(r).await)?;
        let redactor = self.redactor.clone();
        Ok(Box::pin(
            stream.map(move |b| b.map_err(|e| redactor.error(e))),
        ))
    }
    async fn write(&self, w: WriteRequest, batches: BatchStream) -> Result<WriteSummary> {
        self.scrub(self.inner.write(w, batches).await)
    }
}

/// Runs `f` under the statement timeout plus a little grace for the round trips around
/// it; past that the work is dropped (and with it, its connection).
pub(crate) async fn bounded<T>(
    timeout: std::time::Duration,
    f: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    tokio::time::timeout(timeout + std::time::Duration::from_secs(2), f)
        .await
        .map_err(|_| DriverError::Timeout(timeout))?
}

/// Rows returned at most by `preview`, whatever is asked.
pub const MAX_PREVIEW_ROWS: u32 = 200;
