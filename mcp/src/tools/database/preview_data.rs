//! `preview_data`: a few rows of one table, read-only, filtered by a condition the WHERE
//! sanitizer has checked.

use connectors::{
    database::{TableRef, MAX_PREVIEW_ROWS},
    sanitize::{sanitize, Scope},
    DriverError,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{database, nonblank, ColumnOut};
use crate::{
    context::ToolContext,
    error::ToolError,
    registry::{tool, Effect, ToolMeta, ToolSpec},
};

pub fn spec() -> ToolSpec {
    tool(
        ToolMeta {
            name: "preview_data",
            title: "Preview rows",
            description: "Returns column metadata and up to row_count rows (default 20, max 200) of a database table, read-only. where_clause is one condition on the table's own columns (comparisons, AND/OR/NOT, IN, BETWEEN, LIKE, IS NULL, CAST, pure functions); anything else is refused, naming the part. Big decimals and integers come as strings, binary as base64.",
            effect: Effect::ReadUpstream,
        },
        preview_data,
    )
}

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
    let cols = d.describe_table(&table).await.map_err(slow)?;
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
        .map_err(slow)?;
    Ok(PreviewOut {
        connection_id: a.connection_id,
        table: table.display(),
        columns: cols.iter().map(ColumnOut::from).collect(),
        row_count: p.rows.len(),
        rows: p.rows,
        where_clause: predicate.map(|p| p.sql().to_string()),
    })
}

/// A driver error; a preview that takes too long is narrowed with this tool's arguments.
fn slow(e: DriverError) -> ToolError {
    ToolError::driver(
        e,
        "narrow where_clause, or ask for fewer rows with row_count",
    )
}
