//! PostgreSQL through tokio-postgres: a few pooled connections per Pipewright connection,
//! catalog queries on `pg_class`, previews in a READ ONLY transaction with a local
//! statement timeout, over the extended protocol only (one statement per query, always).
//! We open the socket ourselves (directly or to the SSH tunnel's local end) and hand it to
//! tokio-postgres through a [`Watched`] stream, so a plain-text channel never carries the
//! password in clear text unless the connection allows it.

use std::{sync::Arc, time::Instant};

use async_trait::async_trait;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_postgres::{
    config::SslMode,
    error::SqlState,
    tls::{MakeTlsConnect, TlsConnect},
    types::Type,
    Client, NoTls, Row,
};

use super::{
    bounded,
    pool::{Lease, Pool},
    sql, values,
    wire::{PgCleartext, Refusal, Watched},
    ColumnInfo, DatabaseConfig, DatabaseDriver, Ping, Preview, TableInfo, TablePage, TableQuery,
    TableRef, TlsMode,
};
use crate::{
    error::{DriverError, Result},
    sanitize::{Dialect, Predicate},
};

/// What tokio-postgres talks over: TCP, watched unless clear-text passwords are allowed.
type Stream = Watched<TcpStream, Option<PgCleartext>>;

pub struct Postgres {
    pub(super) cfg: Arc<DatabaseConfig>,
    pool: Pool<Client>,
}

impl Postgres {
    pub fn new(cfg: DatabaseConfig) -> Result<Self> {
        let pool = Pool::new(cfg.max_concurrent);
        Ok(Postgres {
            cfg: Arc::new(cfg),
            pool,
        })
    }

    pub(super) async fn lease(&self) -> Result<Lease<Client>> {
        self.pool
            .lease(
                self.cfg.statement_timeout,
                |c| !c.is_closed(),
                || self.connect(),
            )
            .await
    }

    async fn connect(&self) -> Result<Client> {
        let mut pg = tokio_postgres::Config::new();
        pg.user(&self.cfg.user)
            .dbname(&self.cfg.database)
            .application_name("pipewright");
        if let Some(p) = &self.cfg.password {
            pg.password(p.expose());
        }
        let timeout = self.cfg.connect_timeout;
        let tls = crate::tls::client_config(self.cfg.tls_mode, self.cfg.tls_ca_file.as_deref())?;
        pg.ssl_mode(match &tls {
            None => SslMode::Disable,
            Some(_) if self.cfg.tls_mode == TlsMode::Prefer => SslMode::Prefer,
            Some(_) => SslMode::Require,
        });
        tokio::time::timeout(timeout, async {
            let tcp = self.socket().await?;
            let watch =
                (!self.cfg.allow_cleartext_password).then(|| PgCleartext::new(tls.is_some()));
            let (stream, refusal) = Watched::new(tcp, watch);
            match tls {
                None => self.start(&pg, stream, NoTls, &refusal).await,
                Some(config) => {
                    // TLS still names the server (`host`), also through a tunnel.
                    let connect = MakeTlsConnect::<Stream>::make_tls_connect(
                        &mut crate::tls::postgres::MakeRustls(config),
                        &self.cfg.host,
                    )
                    .map_err(|e| DriverError::Tls(e.to_string()))?;
                    self.start(&pg, stream, connect, &refusal).await
                }
            }
        })
        .await
        .map_err(|_| DriverError::Timeout(timeout))?
    }

    /// A TCP connection to the server, or to the SSH tunnel's local end.
    async fn socket(&self) -> Result<TcpStream> {
        let tcp = match self.cfg.connect_to {
            Some(addr) => TcpStream::connect(addr).await,
            None => TcpStream::connect((self.cfg.host.as_str(), self.cfg.port)).await,
        }
        .map_err(|e| DriverError::Unreachable {
            target: self.cfg.target(),
            detail: e.to_string(),
        })?;
        let _ = tcp.set_nodelay(true);
        Ok(tcp)
    }

    /// Runs the startup exchange over `stream` and drives the connection in its own task.
    async fn start<T>(
        &self,
        pg: &tokio_postgres::Config,
        stream: Stream,
        tls: T,
        refusal: &Refusal,
    ) -> Result<Client>
    where
        T: TlsConnect<Stream>,
        T::Stream: Send + 'static,
    {
        let (client, conn) = pg.connect_raw(stream, tls).await.map_err(|e| {
            if refusal.happened() {
                DriverError::CleartextPasswordRefused
            } else {
                self.error(e)
            }
        })?;
        // Outside the driver's boundary: the log line is scrubbed here.
        let redactor = self.cfg.redactor();
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                let error = redactor.text(&e.to_string());
                tracing::debug!(%error, "postgres connection closed");
            }
        });
        Ok(client)
    }

    /// Maps a tokio-postgres error to what the user can act on.
    pub(super) fn error(&self, e: tokio_postgres::Error) -> DriverError {
        error(&self.cfg, e)
    }
}

/// Maps a tokio-postgres error on a connection of `cfg` to what the user can act on.
pub(super) fn error(cfg: &DatabaseConfig, e: tokio_postgres::Error) -> DriverError {
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        if db.message().contains("no encryption") {
            return DriverError::Tls(
                "the server accepts only encrypted connections; set tls_mode to require, verify-ca or verify-full".into(),
            );
        }
        return if *code == SqlState::INVALID_PASSWORD
            || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        {
            DriverError::AuthFailed {
                user: cfg.user.clone(),
            }
        } else if *code == SqlState::INVALID_CATALOG_NAME {
            DriverError::DatabaseMissing {
                database: cfg.database.clone(),
            }
        } else if *code == SqlState::INSUFFICIENT_PRIVILEGE {
            DriverError::PermissionDenied(db.message().to_string())
        } else if *code == SqlState::QUERY_CANCELED {
            DriverError::Timeout(cfg.statement_timeout)
        } else if *code == SqlState::UNDEFINED_TABLE {
            DriverError::TableNotFound(db.message().to_string())
        } else {
            DriverError::Query(db.message().to_string())
        };
    }
    let text = e.to_string();
    if text.contains("timeout") || text.contains("timed out") {
        return DriverError::Timeout(cfg.connect_timeout);
    }
    let chain = crate::error::chain(&e);
    if chain.contains("certificate")
        || chain.contains("TLS")
        || chain.contains("tls")
        || chain.contains("SSL")
    {
        return DriverError::Tls(chain);
    }
    let detail = std::error::Error::source(&e)
        .map(|s| s.to_string())
        .unwrap_or(text);
    DriverError::Unreachable {
        target: cfg.target(),
        detail,
    }
}

/// How a PostgreSQL type appears in JSON (see `values`).
fn json_type(typname: &str) -> &'static str {
    match typname {
        "int2" | "int4" | "int8" | "oid" => "integer",
        "float4" | "float8" => "number",
        "numeric" | "money" => "decimal",
        "bool" => "boolean",
        "date" => "date",
        "timestamp" | "timestamptz" => "timestamp",
        "time" | "timetz" => "time",
        "bytea" => "binary",
        "json" | "jsonb" => "json",
        _ => "string",
    }
}

/// The select-list expression for a column: typed decoding where we have it, text
/// otherwise (exact for numerics, intervals, arrays, enums, anything else).
fn select_expr(c: &ColumnInfo, typname: &str) -> String {
    match typname {
        "int2" | "int4" | "int8" | "float4" | "float8" | "bool" | "date" | "timestamp"
        | "timestamptz" | "bytea" | "json" | "jsonb" => sql::quote(Dialect::Postgres, &c.name),
        _ => format!("{}::text", sql::quote(Dialect::Postgres, &c.name)),
    }
}

fn cell(row: &Row, i: usize) -> std::result::Result<Value, tokio_postgres::Error> {
    let t = row.columns()[i].type_();
    Ok(match *t {
        Type::INT2 => row
            .try_get::<_, Option<i16>>(i)?
            .map(|v| values::int(v.into())),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(i)?
            .map(|v| values::int(v.into())),
        Type::INT8 => row.try_get::<_, Option<i64>>(i)?.map(values::int),
        Type::FLOAT4 => row
            .try_get::<_, Option<f32>>(i)?
            .map(|v| values::float(v.into())),
        Type::FLOAT8 => row.try_get::<_, Option<f64>>(i)?.map(values::float),
        Type::BOOL => row.try_get::<_, Option<bool>>(i)?.map(Value::Bool),
        Type::DATE => row
            .try_get::<_, Option<chrono::NaiveDate>>(i)?
            .map(|d| Value::String(d.format("%Y-%m-%d").to_string())),
        Type::TIMESTAMP => row
            .try_get::<_, Option<chrono::NaiveDateTime>>(i)?
            .map(|d| Value::String(d.format("%Y-%m-%dT%H:%M:%S%.f").to_string())),
        Type::TIMESTAMPTZ => row
            .try_get::<_, Option<chrono::DateTime<chrono::Utc>>>(i)?
            .map(|d| Value::String(d.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))),
        Type::BYTEA => row
            .try_get::<_, Option<Vec<u8>>>(i)?
            .map(|b| values::binary(&b)),
        Type::JSON | Type::JSONB => row.try_get::<_, Option<Value>>(i)?,
        _ => row
            .try_get::<_, Option<String>>(i)?
            .map(|s| values::text(&s)),
    }
    .unwrap_or(Value::Null))
}

const DESCRIBE: &str = "SELECT a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull, t.typname \
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
    JOIN pg_type t ON t.oid = a.atttypid \
    WHERE n.nspname = coalesce($1, current_schema()) AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped \
    ORDER BY a.attnum";

/// The tables and views a listing shows (`$1` schema, `$2` search), for [`TABLES`] and
/// [`COUNT_TABLES`].
macro_rules! listed_tables {
    () => {
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') \
          AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' \
          AND ($1::text IS NULL OR n.nspname = $1) \
          AND ($2::text IS NULL OR strpos(lower(c.relname), lower($2)) > 0) "
    };
}

const TABLES: &str = concat!(
    "SELECT n.nspname, c.relname, CASE WHEN c.relkind IN ('v', 'm') THEN 'view' ELSE 'table' END, \
    count(*) OVER () ",
    listed_tables!(),
    "ORDER BY n.nspname, c.relname LIMIT $3 OFFSET $4"
);

/// How many tables the listing has, for a page past its end (which has no row to carry
/// the count).
const COUNT_TABLES: &str = concat!("SELECT count(*) ", listed_tables!());

const CAN_WRITE: &str =
    "SELECT coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false) \
    OR EXISTS (SELECT 1 FROM information_schema.table_privileges WHERE grantee = current_user \
               AND privilege_type IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE'))";

#[async_trait]
impl DatabaseDriver for Postgres {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    async fn test_connection(&self) -> Result<Ping> {
        let started = Instant::now();
        bounded(self.cfg.statement_timeout, async {
            let c = self.lease().await?;
            let version: String = c
                .query_one("SELECT version()", &[])
                .await
                .map_err(|e| self.error(e))?
                .get(0);
            let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
            let can_write = c
                .query_one(CAN_WRITE, &[])
                .await
                .ok()
                .and_then(|r| r.try_get::<_, bool>(0).ok());
            c.release();
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
            let c = self.lease().await?;
            let rows = c
                .query(TABLES, &[&q.schema, &q.search, &q.limit, &q.offset])
                .await
                .map_err(|e| self.error(e))?;
            let total = match rows.first() {
                Some(r) => r.get::<_, i64>(3),
                None if q.offset == 0 => 0,
                None => c
                    .query_one(COUNT_TABLES, &[&q.schema, &q.search])
                    .await
                    .map_err(|e| self.error(e))?
                    .get(0),
            };
            c.release();
            Ok(TablePage {
                tables: rows
                    .iter()
                    .map(|r| TableInfo {
                        schema: Some(r.get(0)),
                        name: r.get(1),
                        kind: r.get(2),
                    })
                    .collect(),
                total,
            })
        })
        .await
    }

    async fn describe_query(&self, sql: &str) -> Result<Vec<ColumnInfo>> {
        bounded(self.cfg.statement_timeout, async {
            let c = self.lease().await?;
            let stmt = c.prepare(sql).await.map_err(|e| self.error(e))?;
            c.release();
            Ok(stmt
                .columns()
                .iter()
                .map(|col| ColumnInfo {
                    name: col.name().to_string(),
                    database_type: col.type_().name().to_string(),
                    nullable: true,
                    json_type: json_type(col.type_().name()).to_string(),
                })
                .collect())
        })
        .await
    }

    async fn describe_table(&self, t: &TableRef) -> Result<Vec<ColumnInfo>> {
        bounded(self.cfg.statement_timeout, async {
            let c = self.lease().await?;
            let rows = c
                .query(DESCRIBE, &[&t.schema, &t.name])
                .await
                .map_err(|e| self.error(e))?;
            c.release();
            if rows.is_empty() {
                return Err(DriverError::TableNotFound(t.display()));
            }
            Ok(rows
                .iter()
                .map(|r| ColumnInfo {
                    name: r.get(0),
                    database_type: r.get(1),
                    nullable: r.get(2),
                    json_type: json_type(r.get::<_, &str>(3)).to_string(),
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
        // describe_table gave database_type (format_type); the decoding choice needs the
        // base type name, which format_type's text starts with for the typed ones.
        let typnames: Vec<&str> = columns
            .iter()
            .map(|c| base_typname(&c.database_type))
            .collect();
        let select: Vec<String> = columns
            .iter()
            .zip(&typnames)
            .map(|(c, t)| select_expr(c, t))
            .collect();
        let timeout_ms = self.cfg.statement_timeout.as_millis().to_string();
        bounded(self.cfg.statement_timeout, async {
            let mut c = self.lease().await?;
            let tx = c
                .build_transaction()
                .read_only(true)
                .start()
                .await
                .map_err(|e| self.error(e))?;
            tx.query(
                "SELECT set_config('statement_timeout', $1, true)",
                &[&timeout_ms],
            )
            .await
            .map_err(|e| self.error(e))?;
            // Functions and operators in the filter resolve in pg_catalog only: PostgreSQL
            // prefers an exact type match from any schema on the search path, so an `->>`
            // or `lower` someone created in `public` would otherwise run in our place. The
            // table is named with its schema, resolved first.
            let schema: String = match &t.schema {
                Some(s) => s.clone(),
                None => tx
                    .query_one("SELECT coalesce(current_schema(), 'public')", &[])
                    .await
                    .map_err(|e| self.error(e))?
                    .get(0),
            };
            tx.query("SELECT set_config('search_path', 'pg_catalog', true)", &[])
                .await
                .map_err(|e| self.error(e))?;
            let table = TableRef {
                schema: Some(schema),
                name: t.name.clone(),
            };
            let sql = sql::preview(Dialect::Postgres, &table, &select, row_count, filter);
            let rows = tx
                .query(sql.as_str(), &[])
                .await
                .map_err(|e| self.error(e))?;
            tx.rollback().await.map_err(|e| self.error(e))?;
            c.release();
            let rows = rows
                .iter()
                .map(|r| {
                    (0..r.len())
                        .map(|i| cell(r, i))
                        .collect::<std::result::Result<Vec<_>, _>>()
                })
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| self.error(e))?;
            Ok(Preview { rows })
        })
        .await
    }

    async fn read(&self, r: super::ReadRequest) -> Result<super::BatchStream> {
        super::postgres_transfer::read(self, r).await
    }

    async fn write(
        &self,
        w: super::WriteRequest,
        batches: super::BatchStream,
    ) -> Result<super::WriteSummary> {
        super::postgres_transfer::write(self, w, batches).await
    }
}

/// `timestamp(3) with time zone` → `timestamptz`, `character varying(20)` → `varchar`, …
fn base_typname(formatted: &str) -> &'static str {
    let f = formatted.to_ascii_lowercase();
    let head = f.split('(').next().unwrap_or("").trim().to_string();
    let with_tz = f.contains("with time zone");
    match head.as_str() {
        "smallint" => "int2",
        "integer" => "int4",
        "bigint" => "int8",
        "real" => "float4",
        "double precision" => "float8",
        "boolean" => "bool",
        "date" => "date",
        "timestamp" | "timestamp without time zone" if !with_tz => "timestamp",
        "timestamp" | "timestamp with time zone" | "timestamp without time zone" => "timestamptz",
        "bytea" => "bytea",
        "json" => "json",
        "jsonb" => "jsonb",
        _ => "text",
    }
}
