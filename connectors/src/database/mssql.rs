//! SQL Server through tiberius (rustls). SQL Server has no read-only transaction, so a
//! preview runs inside a transaction that is always rolled back, with a lock timeout and a
//! client-side deadline (a connection that overruns it is dropped, which cancels the
//! query); the sanitizer in front and a SELECT-only login behind are the other guards.
//!
//! The password travels in LOGIN7, only XOR-obfuscated: unencrypted, that is clear text.
//! With `tls_mode=disable` we offer no encryption and tiberius still encrypts when the
//! server supports it (login and all after); when the server answers that it has none, the
//! login would go out in clear text, so the connection is refused there (a [`Watched`]
//! stream reads the PRELOGIN answer first) unless it sets `allow_cleartext_password`. The
//! other modes ask for encryption, and tiberius fails on a server without it.
//!
//! No SQL Server runs on the machines this project is built on: the query text and the
//! value mapping are unit-tested here, and `tests/mssql.rs` runs against a real server
//! only when `PIPEWRIGHT_MSSQL_URL` is set.

use std::{borrow::Cow, sync::Arc, time::Instant};

use async_trait::async_trait;
use serde_json::Value;
use tiberius::{AuthMethod, Client, ColumnData, Config, EncryptionLevel, FromSql, Row};
use tokio::net::TcpStream;
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};

use super::{
    bounded,
    pool::{Lease, Pool},
    sql, values,
    wire::{TdsCleartext, Watched},
    ColumnInfo, DatabaseConfig, DatabaseDriver, Ping, Preview, TableInfo, TablePage, TableQuery,
    TableRef, TlsMode,
};
use crate::{
    error::{DriverError, Result},
    sanitize::{Dialect, Predicate},
};

/// TCP, watched for an unencrypted login where one must be refused.
pub(super) type Conn = Client<Compat<Watched<TcpStream, Option<TdsCleartext>>>>;

pub struct MsSql {
    pub(super) cfg: Arc<DatabaseConfig>,
    pool: Pool<Conn>,
}

/// How a SQL Server type name appears in JSON.
pub fn json_type(type_name: &str) -> &'static str {
    match type_name {
        "tinyint" | "smallint" | "int" | "bigint" => "integer",
        "real" | "float" => "number",
        "decimal" | "numeric" | "money" | "smallmoney" => "decimal",
        "bit" => "boolean",
        "date" => "date",
        "datetime" | "datetime2" | "smalldatetime" | "datetimeoffset" => "timestamp",
        "time" => "time",
        "binary" | "varbinary" | "image" | "timestamp" | "rowversion" => "binary",
        _ => "string",
    }
}

/// One value as JSON, faithfully (see `values`).
pub fn cell(data: &ColumnData<'static>) -> Value {
    fn opt<T>(v: Option<T>, f: impl FnOnce(T) -> Value) -> Value {
        v.map(f).unwrap_or(Value::Null)
    }
    match data {
        ColumnData::U8(v) => opt(*v, Value::from),
        ColumnData::I16(v) => opt(*v, Value::from),
        ColumnData::I32(v) => opt(*v, Value::from),
        ColumnData::I64(v) => opt(*v, values::int),
        ColumnData::F32(v) => opt(*v, |x| values::float(x.into())),
        ColumnData::F64(v) => opt(*v, values::float),
        ColumnData::Bit(v) => opt(*v, Value::Bool),
        ColumnData::String(v) => opt(v.as_ref(), |s: &Cow<'_, str>| values::text(s)),
        ColumnData::Guid(v) => opt(*v, |g| Value::String(g.to_string())),
        ColumnData::Binary(v) => opt(v.as_ref(), |b: &Cow<'_, [u8]>| values::binary(b)),
        ColumnData::Numeric(v) => opt(*v, |n| Value::String(n.to_string())),
        ColumnData::Xml(v) => opt(v.as_ref(), |x| values::text(&x.to_string())),
        ColumnData::Date(_) => opt(chrono::NaiveDate::from_sql(data).ok().flatten(), |d| {
            Value::String(d.format("%Y-%m-%d").to_string())
        }),
        ColumnData::Time(_) => opt(chrono::NaiveTime::from_sql(data).ok().flatten(), |t| {
            Value::String(t.format("%H:%M:%S%.f").to_string())
        }),
        ColumnData::DateTime(_) | ColumnData::SmallDateTime(_) | ColumnData::DateTime2(_) => {
            opt(chrono::NaiveDateTime::from_sql(data).ok().flatten(), |d| {
                Value::String(d.format("%Y-%m-%dT%H:%M:%S%.f").to_string())
            })
        }
        ColumnData::DateTimeOffset(_) => opt(
            chrono::DateTime::<chrono::FixedOffset>::from_sql(data)
                .ok()
                .flatten(),
            |d| Value::String(d.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
        ),
    }
}

/// The tables and views a listing shows (`@P1` schema, `@P2` search), for [`TABLES`]
/// and [`COUNT_TABLES`].
macro_rules! listed_tables {
    () => {
        "FROM sys.objects o JOIN sys.schemas s ON s.schema_id = o.schema_id \
        WHERE o.type IN ('U', 'V') AND (@P1 IS NULL OR s.name = @P1) \
          AND (@P2 IS NULL OR CHARINDEX(LOWER(@P2), LOWER(o.name)) > 0) "
    };
}

const TABLES: &str = concat!(
    "SELECT s.name, o.name, CASE o.type WHEN 'V' THEN 'view' ELSE 'table' END, COUNT(*) OVER () ",
    listed_tables!(),
    "ORDER BY s.name, o.name OFFSET @P3 ROWS FETCH NEXT @P4 ROWS ONLY"
);

/// How many tables the listing has, for a page past its end.
const COUNT_TABLES: &str = concat!("SELECT COUNT(*) ", listed_tables!());

const DESCRIBE: &str =
    "SELECT c.name, TYPE_NAME(c.user_type_id), c.is_nullable, TYPE_NAME(c.system_type_id) \
    FROM sys.columns c \
    WHERE c.object_id = OBJECT_ID(QUOTENAME(COALESCE(@P1, SCHEMA_NAME())) + '.' + QUOTENAME(@P2)) \
    ORDER BY c.column_id";

const CAN_WRITE: &str = "SELECT CAST(CASE WHEN IS_SRVROLEMEMBER('sysadmin') = 1 OR IS_ROLEMEMBER('db_owner') = 1 \
    OR IS_ROLEMEMBER('db_datawriter') = 1 OR HAS_PERMS_BY_NAME(DB_NAME(), 'DATABASE', 'INSERT') = 1 THEN 1 ELSE 0 END AS bit)";

impl MsSql {
    pub fn new(cfg: DatabaseConfig) -> Result<Self> {
        let pool = Pool::new(cfg.max_concurrent);
        Ok(MsSql {
            cfg: Arc::new(cfg),
            pool,
        })
    }

    fn config(&self) -> Result<Config> {
        let mut c = Config::new();
        c.host(&self.cfg.host);
        c.port(self.cfg.port);
        if !self.cfg.database.is_empty() {
            c.database(&self.cfg.database);
        }
        c.application_name("pipewright");
        c.authentication(AuthMethod::sql_server(
            &self.cfg.user,
            self.cfg.password.as_ref().map(|p| p.expose()).unwrap_or(""),
        ));
        match self.cfg.tls_mode {
            TlsMode::Disable => c.encryption(EncryptionLevel::NotSupported),
            TlsMode::Prefer => {
                c.encryption(EncryptionLevel::On);
                c.trust_cert();
            }
            TlsMode::Require => {
                c.encryption(EncryptionLevel::Required);
                c.trust_cert();
            }
            TlsMode::VerifyCa | TlsMode::VerifyFull => {
                c.encryption(EncryptionLevel::Required);
                if let Some(ca) = &self.cfg.tls_ca_file {
                    c.trust_cert_ca(ca.display().to_string());
                }
            }
        }
        Ok(c)
    }

    async fn connect(&self) -> Result<Conn> {
        let config = self.config()?;
        let addr = match self.cfg.connect_to {
            Some(a) => a.to_string(),
            None => config.get_addr(),
        };
        let timeout = self.cfg.connect_timeout;
        tokio::time::timeout(timeout, async {
            let tcp = TcpStream::connect(&addr)
                .await
                .map_err(|e| DriverError::Unreachable {
                    target: self.cfg.target(),
                    detail: e.to_string(),
                })?;
            let _ = tcp.set_nodelay(true);
            let watch = (self.cfg.tls_mode == TlsMode::Disable
                && !self.cfg.allow_cleartext_password)
                .then(TdsCleartext::new);
            let (stream, refusal) = Watched::new(tcp, watch);
            Client::connect(config, stream.compat_write())
                .await
                .map_err(|e| {
                    if refusal.happened() {
                        DriverError::CleartextPasswordRefused
                    } else {
                        self.error(e)
                    }
                })
        })
        .await
        .map_err(|_| DriverError::Timeout(timeout))?
    }

    pub(super) async fn lease(&self) -> Result<Lease<Conn>> {
        self.pool
            .lease(self.cfg.statement_timeout, |_| true, || self.connect())
            .await
    }

    pub(super) fn error(&self, e: tiberius::error::Error) -> DriverError {
        error(&self.cfg, e)
    }

    async fn rows(
        &self,
        c: &mut Conn,
        sql: &str,
        params: &[&dyn tiberius::ToSql],
    ) -> Result<Vec<Row>> {
        c.query(sql, params)
            .await
            .map_err(|e| self.error(e))?
            .into_first_result()
            .await
            .map_err(|e| self.error(e))
    }
}

/// Maps a tiberius error on a connection of `cfg` to what the user can act on.
pub(super) fn error(cfg: &DatabaseConfig, e: tiberius::error::Error) -> DriverError {
    match e {
        tiberius::error::Error::Server(t) => match t.code() {
            18456 | 18452 => DriverError::AuthFailed {
                user: cfg.user.clone(),
            },
            4060 => DriverError::DatabaseMissing {
                database: cfg.database.clone(),
            },
            229 | 230 | 262 | 300 => DriverError::PermissionDenied(t.message().to_string()),
            208 => DriverError::TableNotFound(t.message().to_string()),
            1222 => DriverError::Timeout(cfg.statement_timeout),
            _ => DriverError::Query(t.message().to_string()),
        },
        tiberius::error::Error::Tls(m) => DriverError::Tls(m),
        tiberius::error::Error::Io { message, .. } => DriverError::Unreachable {
            target: cfg.target(),
            detail: message,
        },
        other => DriverError::Query(other.to_string()),
    }
}

#[async_trait]
impl DatabaseDriver for MsSql {
    fn dialect(&self) -> Dialect {
        Dialect::MsSql
    }

    async fn test_connection(&self) -> Result<Ping> {
        let started = Instant::now();
        bounded(self.cfg.statement_timeout, async {
            let mut l = self.lease().await?;
            let rows = self.rows(&mut l, "SELECT @@VERSION", &[]).await?;
            let version = rows
                .first()
                .and_then(|r| r.get::<&str, _>(0))
                .unwrap_or("")
                .lines()
                .next()
                .unwrap_or("")
                .to_string();
            let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
            let can_write = self
                .rows(&mut l, CAN_WRITE, &[])
                .await
                .ok()
                .and_then(|r| r.first().and_then(|r| r.get::<bool, _>(0)));
            l.release();
            Ok(Ping {
                server_version: version,
                can_write,
                latency_ms,
            })
        })
        .await
    }

    async fn list_tables(&self, q: &TableQuery) -> Result<TablePage> {
        bounded(self.cfg.statement_timeout, async {
            let mut l = self.lease().await?;
            let rows = self
                .rows(&mut l, TABLES, &[&q.schema, &q.search, &q.offset, &q.limit])
                .await?;
            let total = match rows.first() {
                Some(r) => r.get::<i32, _>(3).unwrap_or(0) as i64,
                None if q.offset == 0 => 0,
                // A page past the end has no row to carry the count: count on its own.
                None => self
                    .rows(&mut l, COUNT_TABLES, &[&q.schema, &q.search])
                    .await?
                    .first()
                    .and_then(|r| r.get::<i32, _>(0))
                    .unwrap_or(0) as i64,
            };
            l.release();
            Ok(TablePage {
                tables: rows
                    .iter()
                    .map(|r| TableInfo {
                        schema: r.get::<&str, _>(0).map(String::from),
                        name: r.get::<&str, _>(1).unwrap_or("").to_string(),
                        kind: r.get::<&str, _>(2).unwrap_or("table").to_string(),
                    })
                    .collect(),
                total,
            })
        })
        .await
    }

    async fn describe_table(&self, t: &TableRef) -> Result<Vec<ColumnInfo>> {
        bounded(self.cfg.statement_timeout, async {
            let mut l = self.lease().await?;
            let rows = self.rows(&mut l, DESCRIBE, &[&t.schema, &t.name]).await?;
            l.release();
            if rows.is_empty() {
                return Err(DriverError::TableNotFound(t.display()));
            }
            Ok(rows
                .iter()
                .map(|r| {
                    let system = r.get::<&str, _>(3).unwrap_or("");
                    ColumnInfo {
                        name: r.get::<&str, _>(0).unwrap_or("").to_string(),
                        database_type: r.get::<&str, _>(1).unwrap_or("").to_string(),
                        nullable: r.get::<bool, _>(2).unwrap_or(true),
                        json_type: json_type(system).to_string(),
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
        let sql = sql::preview_columns(Dialect::MsSql, t, columns, row_count, filter);
        let lock_ms = self.cfg.statement_timeout.as_millis();
        bounded(self.cfg.statement_timeout, async {
            let mut l = self.lease().await?;
            let c = &mut l;
            c.simple_query(format!("SET LOCK_TIMEOUT {lock_ms}; BEGIN TRANSACTION"))
                .await
                .map_err(|e| self.error(e))?
                .into_results()
                .await
                .map_err(|e| self.error(e))?;
            let result = self.rows(c, &sql, &[]).await;
            c.simple_query("IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION")
                .await
                .map_err(|e| self.error(e))?
                .into_results()
                .await
                .map_err(|e| self.error(e))?;
            let rows = result?;
            l.release();
            Ok(Preview {
                rows: rows
                    .into_iter()
                    .map(|r| r.cells().map(|(_, d)| cell(d)).collect())
                    .collect(),
            })
        })
        .await
    }

    async fn read(&self, r: super::ReadRequest) -> Result<super::BatchStream> {
        super::mssql_transfer::read(self, r).await
    }

    async fn write(
        &self,
        w: super::WriteRequest,
        batches: super::BatchStream,
    ) -> Result<super::WriteSummary> {
        super::mssql_transfer::write(self, w, batches).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tiberius::{numeric::Numeric, IntoSql};

    fn col(name: &str) -> ColumnInfo {
        ColumnInfo {
            name: name.into(),
            database_type: "int".into(),
            nullable: true,
            json_type: "integer".into(),
        }
    }

    #[test]
    fn preview_text_quotes_every_identifier() {
        let t = TableRef {
            schema: Some("sales".into()),
            name: "Order]s".into(),
        };
        let p = crate::sanitize::sanitize(
            "[Order Date] > '2024-01-01'",
            Dialect::MsSql,
            &crate::sanitize::Scope {
                schema: Some("sales"),
                table: "Order]s",
                columns: &["id".into(), "Order Date".into()],
            },
        )
        .unwrap();
        assert_eq!(
            sql::preview_columns(Dialect::MsSql, &t, &[col("id"), col("Order Date")], 500, Some(&p)),
            "SELECT TOP (200) [id], [Order Date] FROM [sales].[Order]]s] WHERE [Order Date] > '2024-01-01'"
        );
    }

    #[test]
    fn values_map_as_captured_from_a_server() {
        // ColumnData as tiberius decodes it from the wire for each type.
        assert_eq!(cell(&ColumnData::U8(Some(255))), serde_json::json!(255));
        assert_eq!(
            cell(&ColumnData::I64(Some(9_007_199_254_740_993))),
            serde_json::json!("9007199254740993")
        );
        assert_eq!(cell(&ColumnData::Bit(Some(true))), serde_json::json!(true));
        assert_eq!(cell(&ColumnData::I32(None)), Value::Null);
        assert_eq!(
            cell(&ColumnData::Numeric(Some(Numeric::new_with_scale(
                1234567890123456789,
                4
            )))),
            serde_json::json!("123456789012345.6789")
        );
        assert_eq!(
            cell(&ColumnData::String(Some("Zoë".into()))),
            serde_json::json!("Zoë")
        );
        assert_eq!(
            cell(&ColumnData::Binary(Some(vec![0u8, 1, 255].into()))),
            serde_json::json!("AAH/")
        );
        let d = chrono::NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        let dt = d.and_hms_micro_opt(13, 45, 56, 123_456).unwrap();
        assert_eq!(cell(&d.into_sql()), serde_json::json!("2024-02-29"));
        assert_eq!(
            cell(&dt.into_sql()),
            serde_json::json!("2024-02-29T13:45:56.123456")
        );
        let tz = chrono::FixedOffset::east_opt(2 * 3600).unwrap();
        let off = chrono::DateTime::<chrono::FixedOffset>::from_naive_utc_and_offset(dt, tz);
        assert_eq!(
            cell(&off.into_sql()),
            serde_json::json!("2024-02-29T15:45:56.123456+02:00")
        );
        assert_eq!(json_type("datetimeoffset"), "timestamp");
        assert_eq!(json_type("money"), "decimal");
    }
}
