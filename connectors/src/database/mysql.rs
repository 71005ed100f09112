//! MySQL and MariaDB through mysql_async: its pool capped per connection, idle connections
//! closed after a minute, catalog queries on information_schema, previews as prepared
//! statements (binary protocol, one statement) in a READ ONLY transaction with the
//! server's statement time limit.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use async_trait::async_trait;
use mysql_async::{
    consts::{ColumnFlags, ColumnType},
    prelude::Queryable,
    Conn, Opts, OptsBuilder, Pool, PoolConstraints, PoolOpts, Row, SslOpts, Value as MyValue,
};
use serde_json::Value;

use super::{
    bounded, sql, values, ColumnInfo, DatabaseConfig, DatabaseDriver, Ping, Preview, TableInfo,
    TablePage, TableQuery, TableRef, TlsMode,
};
use crate::{
    error::{DriverError, Result},
    sanitize::{Dialect, Predicate},
};

/// The "binary" character set: BLOB and BINARY columns carry bytes, not text.
const BINARY_CHARSET: u16 = 63;

pub struct MySql {
    pub(super) cfg: Arc<DatabaseConfig>,
    /// Plaintext connections (`disable`, and `prefer` when the server offers no TLS).
    plain: Pool,
    /// TLS connections, for every mode but `disable`.
    tls: Option<Pool>,
    /// The same options, for the connections of bulk transfers (their own, never pooled:
    /// one dropped mid-transfer is closed, not recycled).
    plain_opts: Opts,
    tls_opts: Option<Opts>,
    /// Set once a `prefer` connection found the server without TLS.
    no_tls_offered: std::sync::OnceLock<()>,
    /// Learned on first use: MariaDB and MySQL name the statement time limit differently.
    mariadb: std::sync::OnceLock<bool>,
}

impl MySql {
    pub fn new(cfg: DatabaseConfig) -> Result<Self> {
        let plain_opts = Opts::from(opts(&cfg, None));
        let plain = Pool::new(plain_opts.clone());
        let tls_opts = match cfg.tls_mode {
            TlsMode::Disable => None,
            mode => {
                let mut ssl = SslOpts::default();
                if let Some(ca) = &cfg.tls_ca_file {
                    if !ca.is_file() {
                        return Err(DriverError::config(
                            "tls_ca_file",
                            format!("{} is not a readable file", ca.display()),
                        ));
                    }
                    ssl = ssl.with_root_certs(vec![ca.clone().into()]);
                }
                ssl = match mode {
                    TlsMode::Prefer | TlsMode::Require => ssl
                        .with_danger_accept_invalid_certs(true)
                        .with_danger_skip_domain_validation(true),
                    TlsMode::VerifyCa => ssl.with_danger_skip_domain_validation(true),
                    _ => ssl,
                };
                Some(Opts::from(opts(&cfg, Some(ssl))))
            }
        };
        let tls = tls_opts.clone().map(Pool::new);
        Ok(MySql {
            cfg: Arc::new(cfg),
            plain,
            tls,
            plain_opts,
            tls_opts,
            mariadb: std::sync::OnceLock::new(),
            no_tls_offered: std::sync::OnceLock::new(),
        })
    }

    async fn conn(&self) -> Result<Conn> {
        let pool = match &self.tls {
            Some(tls) if self.no_tls_offered.get().is_none() => tls,
            _ => &self.plain,
        };
        let got = tokio::time::timeout(self.cfg.connect_timeout, pool.get_conn())
            .await
            .map_err(|_| DriverError::Timeout(self.cfg.connect_timeout))?;
        match got {
            // `prefer`: the server has no TLS, so go on without it.
            Err(mysql_async::Error::Driver(
                mysql_async::DriverError::NoClientSslFlagFromServer,
            )) if self.cfg.tls_mode == TlsMode::Prefer => {
                let _ = self.no_tls_offered.set(());
                tokio::time::timeout(self.cfg.connect_timeout, self.plain.get_conn())
                    .await
                    .map_err(|_| DriverError::Timeout(self.cfg.connect_timeout))?
                    .map_err(|e| self.error(e))
            }
            other => other.map_err(|e| self.error(e)),
        }
    }

    /// The options of a transfer's own connection: TLS as the connection asks.
    pub(super) fn transfer_opts(&self) -> Opts {
        match &self.tls_opts {
            Some(tls) if self.no_tls_offered.get().is_none() => tls.clone(),
            _ => self.plain_opts.clone(),
        }
    }

    /// A connection of its own (see `plain_opts`), TLS as the connection asks.
    pub(super) async fn dedicated(&self) -> Result<Conn> {
        let opts = self.transfer_opts();
        let timeout = self.cfg.connect_timeout;
        let got = tokio::time::timeout(timeout, Conn::new(opts))
            .await
            .map_err(|_| DriverError::Timeout(timeout))?;
        match got {
            Err(mysql_async::Error::Driver(
                mysql_async::DriverError::NoClientSslFlagFromServer,
            )) if self.cfg.tls_mode == TlsMode::Prefer => {
                let _ = self.no_tls_offered.set(());
                tokio::time::timeout(timeout, Conn::new(self.plain_opts.clone()))
                    .await
                    .map_err(|_| DriverError::Timeout(timeout))?
                    .map_err(|e| self.error(e))
            }
            other => other.map_err(|e| self.error(e)),
        }
    }

    pub(super) fn error(&self, e: mysql_async::Error) -> DriverError {
        error(&self.cfg, e)
    }
}

/// Maps a mysql_async error on a connection of `cfg` to what the user can act on.
pub(super) fn error(cfg: &DatabaseConfig, e: mysql_async::Error) -> DriverError {
    match e {
        mysql_async::Error::Server(s) => match s.code {
            1045 | 1698 => DriverError::AuthFailed {
                user: cfg.user.clone(),
            },
            1049 => DriverError::DatabaseMissing {
                database: cfg.database.clone(),
            },
            1044 | 1142 | 1143 | 1227 | 1370 => DriverError::PermissionDenied(s.message),
            1146 => DriverError::TableNotFound(s.message),
            // MySQL max_execution_time, MariaDB max_statement_time
            3024 | 1969 => DriverError::Timeout(cfg.statement_timeout),
            _ => DriverError::Query(s.message),
        },
        mysql_async::Error::Driver(mysql_async::DriverError::CleartextPluginDisabled) => {
            DriverError::CleartextPasswordRefused
        }
        // Its payload is the server's bytes, printed as numbers no scrubber would know.
        mysql_async::Error::Driver(mysql_async::DriverError::UnexpectedPacket { .. }) => {
            DriverError::Unreachable {
                target: cfg.target(),
                detail: "the server answered with a packet the MySQL protocol does not allow there".into(),
            }
        }
        mysql_async::Error::Driver(mysql_async::DriverError::NoClientSslFlagFromServer) => DriverError::Tls(
            "the server does not offer TLS; use tls_mode disable or prefer, or enable TLS on the server".into(),
        ),
        mysql_async::Error::Io(io) if io.to_string().contains("TLS") || io.to_string().contains("certificate") => {
            DriverError::Tls(io.to_string())
        }
        mysql_async::Error::Io(io) => DriverError::Unreachable {
            target: cfg.target(),
            detail: io.to_string(),
        },
        other => DriverError::Unreachable {
            target: cfg.target(),
            detail: other.to_string(),
        },
    }
}

/// mysql_async refuses the `mysql_clear_password` plugin unless told otherwise; over TLS
/// it is allowed (the channel is encrypted, as PostgreSQL's driver allows it there), on a
/// plain connection only when the connection says so.
fn opts(cfg: &DatabaseConfig, ssl: Option<SslOpts>) -> OptsBuilder {
    let cleartext = ssl.is_some() || cfg.allow_cleartext_password;
    let constraints = PoolConstraints::new(0, cfg.max_concurrent.max(1)).expect("0 <= max");
    // Through a tunnel, connect to its local end.
    let (host, port) = match cfg.connect_to {
        Some(addr) => (addr.ip().to_string(), addr.port()),
        None => (cfg.host.clone(), cfg.port),
    };
    OptsBuilder::default()
        .ip_or_hostname(host)
        .tcp_port(port)
        .user(Some(cfg.user.clone()))
        .pass(cfg.password.as_ref().map(|p| p.expose().to_string()))
        .db_name((!cfg.database.is_empty()).then(|| cfg.database.clone()))
        .prefer_socket(false)
        .ssl_opts(ssl)
        .enable_cleartext_plugin(cleartext)
        .pool_opts(
            PoolOpts::default()
                .with_constraints(constraints)
                .with_inactive_connection_ttl(Duration::from_secs(60))
                .with_ttl_check_interval(Duration::from_secs(30)),
        )
}

/// A result column's type (from a prepared statement's metadata) and how it appears in
/// JSON, as [`json_type`] maps a table's columns.
fn column_json_type(col: &mysql_async::Column) -> (&'static str, &'static str) {
    use ColumnType as T;
    const BINARY_CHARSET: u16 = 63;
    match col.column_type() {
        T::MYSQL_TYPE_TINY
        | T::MYSQL_TYPE_SHORT
        | T::MYSQL_TYPE_LONG
        | T::MYSQL_TYPE_INT24
        | T::MYSQL_TYPE_LONGLONG
        | T::MYSQL_TYPE_YEAR => ("bigint", "integer"),
        T::MYSQL_TYPE_FLOAT | T::MYSQL_TYPE_DOUBLE => ("double", "number"),
        T::MYSQL_TYPE_DECIMAL | T::MYSQL_TYPE_NEWDECIMAL => ("decimal", "decimal"),
        T::MYSQL_TYPE_DATE | T::MYSQL_TYPE_NEWDATE => ("date", "date"),
        T::MYSQL_TYPE_DATETIME
        | T::MYSQL_TYPE_DATETIME2
        | T::MYSQL_TYPE_TIMESTAMP
        | T::MYSQL_TYPE_TIMESTAMP2 => ("datetime", "timestamp"),
        T::MYSQL_TYPE_TIME | T::MYSQL_TYPE_TIME2 => ("time", "time"),
        T::MYSQL_TYPE_JSON => ("json", "json"),
        T::MYSQL_TYPE_BIT => ("bit", "binary"),
        T::MYSQL_TYPE_TINY_BLOB
        | T::MYSQL_TYPE_MEDIUM_BLOB
        | T::MYSQL_TYPE_LONG_BLOB
        | T::MYSQL_TYPE_BLOB
        | T::MYSQL_TYPE_VAR_STRING
        | T::MYSQL_TYPE_STRING
        | T::MYSQL_TYPE_VARCHAR
            if col.character_set() == BINARY_CHARSET =>
        {
            ("varbinary", "binary")
        }
        _ => ("text", "string"),
    }
}

/// How an information_schema DATA_TYPE appears in JSON.
fn json_type(data_type: &str, column_type: &str) -> &'static str {
    match data_type {
        "tinyint" if column_type.starts_with("tinyint(1)") => "integer",
        "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" | "year" => "integer",
        "float" | "double" | "real" => "number",
        "decimal" | "numeric" => "decimal",
        "date" => "date",
        "datetime" | "timestamp" => "timestamp",
        "time" => "time",
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" | "bit" => {
            "binary"
        }
        "json" => "json",
        _ => "string",
    }
}

fn cell(v: &MyValue, col: &mysql_async::Column) -> Value {
    match v {
        MyValue::NULL => Value::Null,
        MyValue::Int(i) => values::int(*i),
        MyValue::UInt(u) => values::uint(*u),
        MyValue::Float(f) => values::float((*f).into()),
        MyValue::Double(f) => values::float(*f),
        MyValue::Date(y, mo, d, h, mi, s, us) => {
            if col.column_type() == ColumnType::MYSQL_TYPE_DATE {
                Value::String(format!("{y:04}-{mo:02}-{d:02}"))
            } else if *us > 0 {
                Value::String(format!(
                    "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{us:06}"
                ))
            } else {
                Value::String(format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}"))
            }
        }
        MyValue::Time(neg, d, h, mi, s, us) => {
            let hours = u32::from(*h) + d * 24;
            let sign = if *neg { "-" } else { "" };
            if *us > 0 {
                Value::String(format!("{sign}{hours:02}:{mi:02}:{s:02}.{us:06}"))
            } else {
                Value::String(format!("{sign}{hours:02}:{mi:02}:{s:02}"))
            }
        }
        MyValue::Bytes(b) => {
            let binary = col.character_set() == BINARY_CHARSET
                && !matches!(
                    col.column_type(),
                    ColumnType::MYSQL_TYPE_DECIMAL | ColumnType::MYSQL_TYPE_NEWDECIMAL
                )
                && !col.flags().contains(ColumnFlags::NUM_FLAG);
            if col.column_type() == ColumnType::MYSQL_TYPE_JSON {
                serde_json::from_slice(b)
                    .unwrap_or_else(|_| values::text(&String::from_utf8_lossy(b)))
            } else if binary {
                values::binary(b)
            } else {
                values::text(&String::from_utf8_lossy(b))
            }
        }
    }
}

/// The tables and views a listing shows (schema, search, search), for [`TABLES`] and
/// [`COUNT_TABLES`].
macro_rules! listed_tables {
    () => {
        "FROM information_schema.tables \
        WHERE table_schema = COALESCE(?, DATABASE()) \
          AND (? IS NULL OR LOCATE(LOWER(?), LOWER(table_name)) > 0) "
    };
}

const TABLES: &str = concat!(
    "SELECT table_schema, table_name, \
    CASE WHEN table_type = 'VIEW' THEN 'view' ELSE 'table' END, COUNT(*) OVER () ",
    listed_tables!(),
    "ORDER BY table_schema, table_name LIMIT ? OFFSET ?"
);

/// How many tables the listing has, for a page past its end.
const COUNT_TABLES: &str = concat!("SELECT COUNT(*) ", listed_tables!());

const DESCRIBE: &str = "SELECT column_name, column_type, is_nullable = 'YES', data_type \
    FROM information_schema.columns \
    WHERE table_schema = COALESCE(?, DATABASE()) AND table_name = ? ORDER BY ordinal_position";

const CAN_WRITE: &str = "SELECT \
    (SELECT COUNT(*) FROM information_schema.user_privileges \
       WHERE grantee = CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''') \
         AND privilege_type IN ('INSERT', 'UPDATE', 'DELETE', 'DROP')) + \
    (SELECT COUNT(*) FROM information_schema.schema_privileges \
       WHERE grantee = CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''') \
         AND privilege_type IN ('INSERT', 'UPDATE', 'DELETE', 'DROP'))";

#[async_trait]
impl DatabaseDriver for MySql {
    fn dialect(&self) -> Dialect {
        Dialect::MySql
    }

    async fn test_connection(&self) -> Result<Ping> {
        let started = Instant::now();
        bounded(self.cfg.statement_timeout, async {
            let mut c = self.conn().await?;
            let version: Option<String> = c
                .query_first("SELECT VERSION()")
                .await
                .map_err(|e| self.error(e))?;
            let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
            let can_write = c
                .query_first::<i64, _>(CAN_WRITE)
                .await
                .ok()
                .flatten()
                .map(|n| n > 0);
            Ok(Ping {
                server_version: version.unwrap_or_default(),
                can_write,
                latency_ms,
            })
        })
        .await
    }

    async fn list_tables(&self, q: &TableQuery) -> Result<TablePage> {
        bounded(self.cfg.statement_timeout, async {
            let mut c = self.conn().await?;
            let page = |limit: i64, offset: i64| {
                (
                    q.schema.clone(),
                    q.search.clone(),
                    q.search.clone(),
                    limit,
                    offset,
                )
            };
            let rows: Vec<(String, String, String, i64)> = c
                .exec(TABLES, page(q.limit, q.offset))
                .await
                .map_err(|e| self.error(e))?;
            let total = match rows.first() {
                Some(r) => r.3,
                None if q.offset == 0 => 0,
                None => c
                    .exec_first::<i64, _, _>(
                        COUNT_TABLES,
                        (q.schema.clone(), q.search.clone(), q.search.clone()),
                    )
                    .await
                    .map_err(|e| self.error(e))?
                    .unwrap_or(0),
            };
            Ok(TablePage {
                tables: rows
                    .into_iter()
                    .map(|(schema, name, kind, _)| TableInfo {
                        schema: Some(schema),
                        name,
                        kind,
                    })
                    .collect(),
                total,
            })
        })
        .await
    }

    async fn describe_query(&self, query: &str) -> Result<Vec<ColumnInfo>> {
        bounded(self.cfg.statement_timeout, async {
            let mut c = self.conn().await?;
            let (text, _) = sql::placeholders(Dialect::MySql, query);
            let stmt = c.prep(text).await.map_err(|e| self.error(e))?;
            let columns = stmt
                .columns()
                .iter()
                .map(|col| {
                    let (data_type, json) = column_json_type(col);
                    ColumnInfo {
                        name: col.name_str().to_string(),
                        database_type: data_type.to_string(),
                        nullable: !col
                            .flags()
                            .contains(mysql_async::consts::ColumnFlags::NOT_NULL_FLAG),
                        json_type: json.to_string(),
                    }
                })
                .collect();
            let _ = c.close(stmt).await;
            Ok(columns)
        })
        .await
    }

    async fn describe_table(&self, t: &TableRef) -> Result<Vec<ColumnInfo>> {
        bounded(self.cfg.statement_timeout, async {
            let mut c = self.conn().await?;
            let rows: Vec<(String, String, i64, String)> = c
                .exec(DESCRIBE, (t.schema.clone(), t.name.clone()))
                .await
                .map_err(|e| self.error(e))?;
            if rows.is_empty() {
                return Err(DriverError::TableNotFound(t.display()));
            }
            Ok(rows
                .into_iter()
                .map(|(name, column_type, nullable, data_type)| ColumnInfo {
                    json_type: json_type(&data_type, &column_type).to_string(),
                    name,
                    database_type: column_type,
                    nullable: nullable != 0,
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
        let sql = sql::preview_columns(Dialect::MySql, t, columns, row_count, filter);
        let secs = self.cfg.statement_timeout.as_secs_f64();
        bounded(self.cfg.statement_timeout, async {
            let mut c = self.conn().await?;
            let mariadb = match self.mariadb.get() {
                Some(m) => *m,
                None => {
                    let m = is_mariadb(&mut c).await;
                    *self.mariadb.get_or_init(|| m)
                }
            };
            let limit = if mariadb {
                format!("SET SESSION max_statement_time = {secs}")
            } else {
                format!(
                    "SET SESSION max_execution_time = {}",
                    (secs * 1000.0) as u64
                )
            };
            c.query_drop(limit).await.map_err(|e| self.error(e))?;
            c.query_drop("START TRANSACTION READ ONLY")
                .await
                .map_err(|e| self.error(e))?;
            let result: std::result::Result<Vec<Row>, _> = c.exec(sql.as_str(), ()).await;
            let _ = c.query_drop("ROLLBACK").await;
            let rows = result.map_err(|e| self.error(e))?;
            let rows = rows
                .iter()
                .map(|r| {
                    let cols = r.columns_ref();
                    (0..r.len())
                        .map(|i| cell(r.as_ref(i).unwrap_or(&MyValue::NULL), &cols[i]))
                        .collect()
                })
                .collect();
            Ok(Preview { rows })
        })
        .await
    }

    async fn read(&self, r: super::ReadRequest) -> Result<super::BatchStream> {
        super::mysql_transfer::read(self, r).await
    }

    async fn write(
        &self,
        w: super::WriteRequest,
        batches: super::BatchStream,
    ) -> Result<super::WriteSummary> {
        super::mysql_transfer::write(self, w, batches).await
    }
}

async fn is_mariadb(c: &mut Conn) -> bool {
    c.query_first::<String, _>("SELECT VERSION()")
        .await
        .ok()
        .flatten()
        .is_some_and(|v| v.contains("MariaDB"))
}
