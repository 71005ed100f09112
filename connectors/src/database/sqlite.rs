//! SQLite files (the demo's shop database) through sqlx, opened read-only for previews and
//! reads: nothing a preview runs can change the file. Bulk writes, and only they, open it
//! for writing (see `sqlite_transfer`).

use std::{
    sync::{Arc, OnceLock},
    time::{Duration, Instant},
};

use async_trait::async_trait;
use serde_json::Value;
use sqlx::{
    sqlite::{SqliteConnectOptions, SqlitePoolOptions, SqliteRow},
    Row, SqlitePool, TypeInfo, ValueRef,
};

use super::{
    bounded, sql, values, ColumnInfo, DatabaseConfig, DatabaseDriver, Ping, Preview, TableInfo,
    TablePage, TableQuery, TableRef,
};
use crate::{
    error::{DriverError, Result},
    sanitize::{Dialect, Predicate},
};

pub struct Sqlite {
    pub(super) cfg: Arc<DatabaseConfig>,
    /// Read-only: previews and bulk reads.
    pub(super) pool: SqlitePool,
    /// Read-write, one connection, opened on the first bulk write.
    writer: OnceLock<SqlitePool>,
}

impl Sqlite {
    pub fn new(cfg: DatabaseConfig) -> Result<Self> {
        let path = cfg.path.clone().expect("checked by DatabaseConfig");
        let opts = SqliteConnectOptions::new()
            .filename(&path)
            .read_only(true)
            .create_if_missing(false);
        let pool = SqlitePoolOptions::new()
            .max_connections(cfg.max_concurrent.clamp(1, 4) as u32)
            .idle_timeout(Duration::from_secs(60))
            .acquire_timeout(cfg.connect_timeout)
            .connect_lazy_with(opts);
        Ok(Sqlite {
            cfg: Arc::new(cfg),
            pool,
            writer: OnceLock::new(),
        })
    }

    /// The pool bulk writes use: the file opened for writing, one writer at a time (as
    /// SQLite allows), waiting up to the statement timeout for another's lock.
    pub(super) fn writer(&self) -> &SqlitePool {
        self.writer.get_or_init(|| {
            let path = self.cfg.path.clone().unwrap_or_default();
            let opts = SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(false)
                .busy_timeout(self.cfg.statement_timeout);
            SqlitePoolOptions::new()
                .max_connections(1)
                .idle_timeout(Duration::from_secs(60))
                .acquire_timeout(self.cfg.statement_timeout)
                .connect_lazy_with(opts)
        })
    }

    pub(super) fn error(&self, e: sqlx::Error) -> DriverError {
        error(&self.cfg, e)
    }
}

/// Maps a sqlx error on the file of `cfg` to what the user can act on.
pub(super) fn error(cfg: &DatabaseConfig, e: sqlx::Error) -> DriverError {
    match e {
        sqlx::Error::Database(db) => {
            let m = db.message().to_string();
            if m.contains("no such table") {
                DriverError::TableNotFound(m)
            } else if m.contains("unable to open") {
                DriverError::DatabaseMissing {
                    database: cfg.target(),
                }
            } else {
                DriverError::Query(m)
            }
        }
        sqlx::Error::PoolTimedOut => DriverError::Timeout(cfg.connect_timeout),
        other => DriverError::Unreachable {
            target: cfg.target(),
            detail: other.to_string(),
        },
    }
}

/// SQLite's type affinity rules, applied to a declared type.
fn json_type(declared: &str) -> &'static str {
    let d = declared.to_ascii_uppercase();
    if d.contains("INT") {
        "integer"
    } else if d.contains("CHAR") || d.contains("CLOB") || d.contains("TEXT") {
        "string"
    } else if d.contains("BLOB") {
        "binary"
    } else if d.contains("REAL") || d.contains("FLOA") || d.contains("DOUB") {
        "number"
    } else if d.contains("BOOL") {
        "boolean"
    } else if d.contains("DATETIME") || d.contains("TIMESTAMP") {
        "timestamp"
    } else if d.contains("DATE") {
        "date"
    } else if d.contains("TIME") {
        "time"
    } else if d.contains("DEC") || d.contains("NUM") {
        // SQLite keeps NUMERIC values as integers or doubles: there is no exact decimal.
        "number"
    } else {
        "string"
    }
}

fn cell(row: &SqliteRow, i: usize, col: &ColumnInfo) -> std::result::Result<Value, sqlx::Error> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let kind = raw.type_info().name().to_string();
    Ok(match kind.as_str() {
        "INTEGER" if col.json_type == "boolean" => Value::Bool(row.try_get::<i64, _>(i)? != 0),
        "INTEGER" => values::int(row.try_get::<i64, _>(i)?),
        "REAL" => values::float(row.try_get::<f64, _>(i)?),
        "BLOB" => values::binary(&row.try_get::<Vec<u8>, _>(i)?),
        _ => values::text(&row.try_get::<String, _>(i)?),
    })
}

#[async_trait]
impl DatabaseDriver for Sqlite {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    async fn test_connection(&self) -> Result<Ping> {
        if !self.cfg.path.as_ref().is_some_and(|p| p.is_file()) {
            return Err(DriverError::DatabaseMissing {
                database: self.cfg.target(),
            });
        }
        let started = Instant::now();
        bounded(self.cfg.statement_timeout, async {
            let version: String = sqlx::query_scalar("SELECT sqlite_version()")
                .fetch_one(&self.pool)
                .await
                .map_err(|e| self.error(e))?;
            Ok(Ping {
                server_version: format!("SQLite {version}"),
                // Opened read-only: this connection cannot write.
                can_write: Some(false),
                latency_ms: started.elapsed().as_secs_f64() * 1000.0,
            })
        })
        .await
    }

    async fn list_tables(&self, q: &TableQuery) -> Result<TablePage> {
        if q.schema.as_deref().is_some_and(|s| s != "main") {
            return Ok(TablePage {
                tables: vec![],
                total: 0,
            });
        }
        bounded(self.cfg.statement_timeout, async {
            let filter = "FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
                 AND ($1 IS NULL OR instr(lower(name), lower($1)) > 0)";
            let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) {filter}")))
                .bind(&q.search)
                .fetch_one(&self.pool)
                .await
                .map_err(|e| self.error(e))?;
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT name, type {filter} ORDER BY name LIMIT {} OFFSET {}",
                q.limit, q.offset
            )))
            .bind(&q.search)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.error(e))?;
            Ok(TablePage {
                tables: rows
                    .iter()
                    .map(|r| TableInfo {
                        schema: Some("main".into()),
                        name: r.get(0),
                        kind: r.get(1),
                    })
                    .collect(),
                total,
            })
        })
        .await
    }

    async fn describe_query(&self, query: &str) -> Result<Vec<ColumnInfo>> {
        use sqlx::{Column, Executor, SqlSafeStr, Statement};
        bounded(self.cfg.statement_timeout, async {
            let stmt = (&self.pool)
                .prepare(sqlx::AssertSqlSafe(query.to_string()).into_sql_str())
                .await
                .map_err(|e| self.error(e))?;
            let mut columns: Vec<ColumnInfo> = stmt
                .columns()
                .iter()
                .map(|col| {
                    let declared = col.type_info().name().to_string();
                    ColumnInfo {
                        name: col.name().to_string(),
                        json_type: json_type(&declared).to_string(),
                        database_type: declared,
                        nullable: true,
                    }
                })
                .collect();
            // An expression's column has no declared type: take the first row's.
            if columns.iter().any(|c| c.database_type == "NULL") {
                let first = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT * FROM ({}) LIMIT 1",
                    query.trim().trim_end_matches(';')
                )))
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| self.error(e))?;
                for (i, c) in columns.iter_mut().enumerate() {
                    if c.database_type != "NULL" {
                        continue;
                    }
                    let kind = first
                        .as_ref()
                        .and_then(|r| {
                            r.try_get_raw(i)
                                .ok()
                                .map(|v| v.type_info().name().to_string())
                        })
                        .unwrap_or_else(|| "TEXT".into());
                    c.json_type = json_type(&kind).to_string();
                    c.database_type = kind;
                }
            }
            Ok(columns)
        })
        .await
    }

    async fn describe_table(&self, t: &TableRef) -> Result<Vec<ColumnInfo>> {
        bounded(self.cfg.statement_timeout, async {
            let rows =
                sqlx::query(r#"SELECT name, type, "notnull" OR pk > 0 FROM pragma_table_info($1)"#)
                    .bind(&t.name)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| self.error(e))?;
            if rows.is_empty() {
                return Err(DriverError::TableNotFound(t.display()));
            }
            Ok(rows
                .iter()
                .map(|r| {
                    let declared: String = r.get(1);
                    ColumnInfo {
                        name: r.get(0),
                        json_type: json_type(&declared).to_string(),
                        database_type: declared,
                        nullable: r.get::<i64, _>(2) == 0,
                    }
                })
                .collect())
        })
        .await
    }

    async fn preview(
        &self,
        t: &TableRef,
        columns: &[ColumnInfo],
        row_count: u32,
        filter: Option<&Predicate>,
    ) -> Result<Preview> {
        // SQLite has one schema per file: the table name alone.
        let table = TableRef {
            schema: None,
            name: t.name.clone(),
        };
        let sql = sql::preview_columns(Dialect::Sqlite, &table, columns, row_count, filter);
        bounded(self.cfg.statement_timeout, async {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(&self.pool)
                .await
                .map_err(|e| self.error(e))?;
            let rows = rows
                .iter()
                .map(|r| {
                    columns
                        .iter()
                        .enumerate()
                        .map(|(i, c)| cell(r, i, c))
                        .collect::<std::result::Result<Vec<_>, _>>()
                })
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| self.error(e))?;
            Ok(Preview { rows })
        })
        .await
    }

    async fn read(&self, r: super::ReadRequest) -> Result<super::BatchStream> {
        super::sqlite_transfer::read(self, r).await
    }

    async fn write(
        &self,
        w: super::WriteRequest,
        batches: super::BatchStream,
    ) -> Result<super::WriteSummary> {
        super::sqlite_transfer::write(self, w, batches).await
    }
}
