//! Pipeline diagnostics that reach a database: `test_connection`, `discover_schema`,
//! `preview_data`. The drivers live in `connectors`; this module resolves the connection,
//! checks arguments, runs the WHERE sanitizer and shapes the answers.

use catalog::connections::Family;
use connectors::{
    database::{ColumnInfo, DatabaseDriver, TableInfo, TableQuery, TableRef, MAX_PREVIEW_ROWS},
    sanitize::{sanitize, Scope},
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use connectors::DriverError;

use crate::{
    context::ToolContext,
    error::{ErrorCode, ToolError},
    registry::{tool, Effect, ToolMeta, ToolSpec},
};

pub fn tools() -> Vec<ToolSpec> {
    vec![
        tool(
            ToolMeta {
                name: "test_connection",
                title: "Test a connection",
                description: "Actively connects to a connection's upstream system and runs a trivial query. Returns success true/false; on failure error_message says what failed (unreachable host, TLS, bad credentials, unknown database, no permission, timeout) and what to do. Also reports whether the connection's user can write (a preview connection should not). connection_type (database|file) is optional and only checked.",
                effect: Effect::ReadUpstream,
            },
            test_connection,
        ),
        tool(
            ToolMeta {
                name: "discover_schema",
                title: "Discover tables",
                description: "Lists tables and views of a database connection (schema, name, kind) with optional schema_name, search (substring of the name), limit (default 100, max 1000) and offset. Give table_name to also get that table's columns (name, database_type, nullable, json_type). Database connections only.",
                effect: Effect::ReadUpstream,
            },
            discover_schema,
        ),
        tool(
            ToolMeta {
                name: "preview_data",
                title: "Preview rows",
                description: "Returns column metadata and up to row_count rows (default 20, max 200) of a database table, read-only. Optional schema_name and where_clause: one condition on this table's own columns (comparisons, AND/OR/NOT, IN, BETWEEN, LIKE, IS NULL, CAST, pure functions such as lower or date_trunc); subqueries, other tables and side-effecting functions are rejected with the offending part named. Decimals and integers beyond 2^53 come as strings, binary as base64, long text truncated.",
                effect: Effect::ReadUpstream,
            },
            preview_data,
        ),
    ]
}

/// The seed's words for a connection that is not a database.
pub fn not_a_database() -> ToolError {
    ToolError::new(
        ErrorCode::NotFound,
        "connection not found, or not a database connection",
    )
    .with_field("connection_id")
    .with_hint("these tools work on database connections only; list_connections with connection_type_filter=database shows them")
}

async fn database(
    ctx: &ToolContext,
    id: i64,
) -> Result<std::sync::Arc<dyn DatabaseDriver>, ToolError> {
    ctx.connections
        .database(ctx.account_id(), id)
        .await
        .map_err(|e| match e {
            DriverError::ConnectionNotFound { .. } | DriverError::NotADatabaseConnection { .. } => {
                not_a_database()
            }
            other => other.into(),
        })
}

// ---- test_connection ----

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestConnectionArgs {
    /// The connection id (see list_connections).
    pub connection_id: i64,
    /// `database` or `file`: checked against the connection's family when given.
    #[serde(default)]
    pub connection_type: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TestConnectionResult {
    pub connection_id: i64,
    /// The connection's type (postgres, mysql, sqlite, local, …).
    pub connection_type: String,
    pub success: bool,
    /// What failed and what to do; absent on success.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// unreachable, tls, auth_failed, database_missing, permission_denied, timeout, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    /// Whether the connection's user can change data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub can_write: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

async fn test_connection(
    ctx: ToolContext,
    a: TestConnectionArgs,
) -> Result<TestConnectionResult, ToolError> {
    let conn = ctx.connection(a.connection_id).await?;
    if let Some(t) = &a.connection_type {
        let wanted = match t.as_str() {
            "database" => Family::Database,
            "file" | "cloud_storage" | "storage" => Family::File,
            _ => {
                return Err(ToolError::invalid(
                    "connection_type",
                    "use `database` or `file`",
                ))
            }
        };
        if wanted != conn.family {
            return Err(ToolError::new(
                ErrorCode::NotFound,
                format!(
                    "connection {} is a {} connection, not {t}",
                    conn.id,
                    conn.family.as_str()
                ),
            )
            .with_field("connection_type")
            .with_hint("omit connection_type, or give the connection's own family"));
        }
    }
    let mut out = TestConnectionResult {
        connection_id: conn.id,
        connection_type: conn.kind.clone(),
        success: false,
        error_message: None,
        error_kind: None,
        server_version: None,
        latency_ms: None,
        can_write: None,
        warning: None,
    };
    let outcome = ctx.connections.ping(ctx.account_id(), conn.id).await;
    match outcome {
        Ok(p) => {
            out.success = true;
            out.server_version = Some(p.server_version);
            out.latency_ms = Some((p.latency_ms * 100.0).round() / 100.0);
            out.can_write = p.can_write;
            if p.can_write == Some(true) {
                out.warning = Some(
                    "this connection's user can change data; for previews and discovery, a read-only (SELECT-only) user is safer".into(),
                );
            }
        }
        // Not the connection failing, but the test not being made.
        Err(e) if e.is_ours() => return Err(e.into()),
        Err(e) => {
            out.error_kind = Some(e.kind().to_string());
            out.error_message = Some(e.to_string());
        }
    }
    Ok(out)
}

// ---- discover_schema ----

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscoverSchemaArgs {
    /// A database connection id.
    pub connection_id: i64,
    /// Only this schema (PostgreSQL schema, MySQL database, `main` for SQLite).
    #[serde(default)]
    pub schema_name: Option<String>,
    /// Case-insensitive substring of the table name.
    #[serde(default)]
    pub search: Option<String>,
    /// Page size, default 100, max 1000.
    #[serde(default)]
    pub limit: Option<i64>,
    /// Rows to skip, default 0.
    #[serde(default)]
    pub offset: Option<i64>,
    /// Also return this table's columns.
    #[serde(default)]
    pub table_name: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DiscoveredSchema {
    pub connection_id: i64,
    pub tables: Vec<TableOut>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
    /// The columns of table_name, when it was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<ColumnOut>>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TableOut {
    pub schema: Option<String>,
    pub name: String,
    /// `table` or `view`.
    pub kind: String,
}

impl From<TableInfo> for TableOut {
    fn from(t: TableInfo) -> Self {
        TableOut {
            schema: t.schema,
            name: t.name,
            kind: t.kind,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ColumnOut {
    pub name: String,
    pub database_type: String,
    pub nullable: bool,
    /// integer, number, decimal (as a string), string, boolean, date, timestamp, time,
    /// binary (base64), json.
    pub json_type: String,
}

impl From<&ColumnInfo> for ColumnOut {
    fn from(c: &ColumnInfo) -> Self {
        ColumnOut {
            name: c.name.clone(),
            database_type: c.database_type.clone(),
            nullable: c.nullable,
            json_type: c.json_type.clone(),
        }
    }
}

fn nonblank(field: &str, v: Option<String>) -> Result<Option<String>, ToolError> {
    match v {
        Some(s) if s.trim().is_empty() => Err(ToolError::invalid(
            field,
            format!("{field} is empty; omit it instead"),
        )),
        other => Ok(other),
    }
}

async fn discover_schema(
    ctx: ToolContext,
    a: DiscoverSchemaArgs,
) -> Result<DiscoveredSchema, ToolError> {
    let limit = a.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ToolError::invalid(
            "limit",
            "limit must be between 1 and 1000",
        ));
    }
    let offset = a.offset.unwrap_or(0);
    if offset < 0 {
        return Err(ToolError::invalid("offset", "offset must be 0 or more"));
    }
    let schema = nonblank("schema_name", a.schema_name)?;
    let d = database(&ctx, a.connection_id).await?;
    let page = d
        .list_tables(&TableQuery {
            schema: schema.clone(),
            search: nonblank("search", a.search)?,
            limit,
            offset,
        })
        .await
        .map_err(ToolError::from)?;
    let columns = match nonblank("table_name", a.table_name)? {
        None => None,
        Some(name) => Some(
            d.describe_table(&TableRef { schema, name })
                .await
                .map_err(ToolError::from)?
                .iter()
                .map(ColumnOut::from)
                .collect(),
        ),
    };
    Ok(DiscoveredSchema {
        connection_id: a.connection_id,
        tables: page.tables.into_iter().map(TableOut::from).collect(),
        total: page.total,
        limit,
        offset,
        columns,
    })
}

// ---- preview_data ----

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewArgs {
    /// A database connection id.
    pub connection_id: i64,
    /// The table or view to preview.
    pub table_name: String,
    /// Its schema (default: the connection's default schema).
    #[serde(default)]
    pub schema_name: Option<String>,
    /// Rows to return, default 20, max 200.
    #[serde(default)]
    pub row_count: Option<i64>,
    /// One condition on this table's columns, e.g. `status = 'shipped' AND total > 100`.
    #[serde(default)]
    pub where_clause: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PreviewOut {
    pub connection_id: i64,
    pub table: String,
    pub columns: Vec<ColumnOut>,
    /// Rows as arrays, in the order of `columns`.
    pub rows: Vec<Vec<Value>>,
    pub row_count: usize,
    /// The condition as it ran (re-rendered from its parsed form).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub where_clause: Option<String>,
}

async fn preview_data(ctx: ToolContext, a: PreviewArgs) -> Result<PreviewOut, ToolError> {
    let row_count = a.row_count.unwrap_or(20);
    if !(1..=i64::from(MAX_PREVIEW_ROWS)).contains(&row_count) {
        return Err(ToolError::invalid(
            "row_count",
            format!("row_count must be between 1 and {MAX_PREVIEW_ROWS}"),
        ));
    }
    if a.table_name.trim().is_empty() {
        return Err(ToolError::invalid(
            "table_name",
            "give the table to preview (discover_schema lists them)",
        ));
    }
    let d = database(&ctx, a.connection_id).await?;
    let table = TableRef {
        schema: nonblank("schema_name", a.schema_name)?,
        name: a.table_name,
    };
    let cols = d.describe_table(&table).await.map_err(ToolError::from)?;
    let predicate = match a.where_clause.filter(|w| !w.trim().is_empty()) {
        None => None,
        Some(w) => {
            let names: Vec<String> = cols.iter().map(|c| c.name.clone()).collect();
            let scope = Scope {
                schema: table.schema.as_deref(),
                table: &table.name,
                columns: &names,
            };
            Some(sanitize(&w, d.dialect(), &scope).map_err(|r| {
                ToolError::invalid("where_clause", r.to_string()).with_hint(
                    "give one condition on this table's columns; no subqueries, comments, `;` or side-effecting functions",
                )
            })?)
        }
    };
    let p = d
        .preview(&table, &cols, row_count as u32, predicate.as_ref())
        .await
        .map_err(ToolError::from)?;
    Ok(PreviewOut {
        connection_id: a.connection_id,
        table: table.display(),
        columns: cols.iter().map(ColumnOut::from).collect(),
        row_count: p.rows.len(),
        rows: p.rows,
        where_clause: predicate.map(|p| p.sql().to_string()),
    })
}
