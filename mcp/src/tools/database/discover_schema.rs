//! `discover_schema`: a database connection's tables and views, a page at a time, and
//! one table's columns on request.

use connectors::database::{TableInfo, TableQuery, TableRef};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{database, nonblank, ColumnOut};
use crate::{
    budget,
    context::ToolContext,
    error::ToolError,
    registry::{tool, Effect, ToolMeta, ToolSpec},
};

pub fn spec() -> ToolSpec {
    tool(
        ToolMeta {
            name: "discover_schema",
            title: "Discover tables",
            description: "Lists tables and views of a database connection (schema, name, kind). Give table_name to also get its columns (name, database_type, nullable, json_type).",
            effect: Effect::ReadUpstream,
        },
        discover_schema,
    )
}

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
    #[serde(default)]
    pub offset: Option<i64>,
    /// Also return this table's columns.
    #[serde(default)]
    pub table_name: Option<String>,
    #[serde(default)]
    pub max_bytes: Option<i64>,
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
    /// Tables or columns were left out to keep the result within max_bytes.
    pub truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
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
    let max_bytes = budget::max_bytes(a.max_bytes)?;
    let d = database(&ctx, a.connection_id).await?;
    let page = d
        .list_tables(&TableQuery {
            schema: schema.clone(),
            search: nonblank("search", a.search)?,
            limit,
            offset,
        })
        .await
        .map_err(|e| ToolError::driver(e, "narrow the listing with schema_name or search"))?;
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
    let mut tables: Vec<TableOut> = page.tables.into_iter().map(TableOut::from).collect();
    let mut out = DiscoveredSchema {
        connection_id: a.connection_id,
        tables: vec![],
        total: page.total,
        limit,
        offset,
        columns: columns.as_ref().map(|_| vec![]),
        truncated: true,
        hint: Some(HINT.into()),
    };
    // The columns asked for first, then as many of the listed tables as still fit.
    let mut truncated = false;
    if let Some(mut cols) = columns {
        let room = max_bytes.saturating_sub(budget::size(&out) + 8);
        truncated |= budget::fit(&mut cols, room);
        out.columns = Some(cols);
    }
    let room = max_bytes.saturating_sub(budget::size(&out) + 40);
    let listed = tables.len();
    if budget::fit(&mut tables, room) {
        truncated = true;
        // A caller paging with offset += limit would skip what was cut: say where to go on.
        out.hint = Some(format!(
            "{} of {listed} tables fit within max_bytes: continue with offset {}, or raise max_bytes (max 1048576)",
            tables.len(),
            offset + tables.len() as i64
        ));
    }
    out.tables = tables;
    out.truncated = truncated;
    if !truncated {
        out.hint = None;
    }
    Ok(out)
}

/// What a listing cut short by its byte budget says.
const HINT: &str = "tables or columns were left out to stay within max_bytes: page with a smaller limit and offset, narrow with schema_name or search, or raise max_bytes (max 1048576)";
