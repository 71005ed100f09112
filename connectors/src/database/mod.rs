//! The database driver family: one trait, one module per backend, chosen by the
//! connection's `type`.

mod config;
mod mssql;
mod mysql;
mod pool;
mod postgres;
pub mod sql;
mod sqlite;
pub mod values;

use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;

pub use crate::Ping;
pub use config::{DatabaseConfig, DbKind, Secret, TlsMode};

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
}

/// Opens the driver for a connection, first opening its SSH tunnel if it has one (so a
/// bad bastion, key or password is reported here).
pub async fn open(mut cfg: DatabaseConfig) -> Result<Arc<dyn DatabaseDriver>> {
    let Some(ssh) = cfg.tunnel.take() else {
        return open_direct(cfg);
    };
    let tunnel = crate::tunnel::Tunnel::open(ssh, cfg.host.clone(), cfg.port).await?;
    cfg.connect_to = Some(tunnel.local);
    Ok(Arc::new(Tunneled {
        inner: open_direct(cfg)?,
        _tunnel: tunnel,
    }))
}

/// A driver whose connections go through an SSH tunnel that lives as long as it does.
struct Tunneled {
    inner: Arc<dyn DatabaseDriver>,
    _tunnel: crate::tunnel::Tunnel,
}

#[async_trait]
impl DatabaseDriver for Tunneled {
    fn dialect(&self) -> Dialect {
        self.inner.dialect()
    }
    async fn test_connection(&self) -> Result<Ping> {
        self.inner.test_connection().await
    }
    async fn list_tables(&self, q: &TableQuery) -> Result<TablePage> {
        self.inner.list_tables(q).await
    }
    async fn describe_table(&self, t: &TableRef) -> Result<Vec<ColumnInfo>> {
        self.inner.describe_table(t).await
    }
    async fn preview(
        &self,
        t: &TableRef,
        columns: &[ColumnInfo],
        row_count: u32,
        filter: Option<&Predicate>,
    ) -> Result<Preview> {
        self.inner.preview(t, columns, row_count, filter).await
    }
}

/// Opens a driver that connects directly, ignoring any tunnel in `cfg`.
pub fn open_direct(cfg: DatabaseConfig) -> Result<Arc<dyn DatabaseDriver>> {
    crate::tls::install_default_provider();
    Ok(match cfg.kind {
        DbKind::Postgres => Arc::new(postgres::Postgres::new(cfg)?),
        DbKind::MySql => Arc::new(mysql::MySql::new(cfg)?),
        DbKind::Sqlite => Arc::new(sqlite::Sqlite::new(cfg)?),
        DbKind::MsSql => Arc::new(mssql::MsSql::new(cfg)?),
    })
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
