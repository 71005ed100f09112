//! `preview_data`: a few rows of one table, read-only, filtered by a condition the WHERE
//! sanitizer has checked.

use connectors::{
    database::{ColumnInfo, TableRef, MAX_PREVIEW_ROWS},
    sanitize::{sanitize, Scope},
    DriverError,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

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
            name: "preview_data",
            title: "Preview rows",
            description: "Returns column metadata and up to row_count rows (default 20, max 200) of a database table, read-only, within max_bytes (truncated: true when rows were left out). where_clause is one condition on the table's own columns (comparisons, AND/OR/NOT, IN, BETWEEN, LIKE, IS NULL, CAST, pure functions); anything else is refused, naming the part. Big decimals and integers come as strings, binary as base64.",
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
    /// Only these columns, in this order (default all).
    #[serde(default)]
    pub columns: Option<Vec<String>>,
    /// Result size cap, default 65536, max 1048576.
    #[serde(default)]
    pub max_bytes: Option<i64>,
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
    /// Rows were left out to keep the result within max_bytes (whole rows only).
    pub truncated: bool,
    /// How to ask for less, when truncated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
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
    let max_bytes = budget::max_bytes(a.max_bytes)?;
    if let Some(names) = &a.columns {
        if names.is_empty() || names.len() > MAX_COLUMNS || names.iter().any(|n| n.len() > 1024) {
            return Err(ToolError::invalid(
                "columns",
                format!("give 1 to {MAX_COLUMNS} column names of at most 1024 bytes, or leave columns out for all of them"),
            ));
        }
    }
    let d = database(&ctx, a.connection_id).await?;
    let table = TableRef {
        schema: nonblank("schema_name", a.schema_name)?,
        name: a.table_name,
    };
    let all = d.describe_table(&table).await.map_err(slow)?;
    let cols = match &a.columns {
        None => all.clone(),
        Some(names) => chosen(&all, names)?,
    };
    let predicate = match a.where_clause.filter(|w| !w.trim().is_empty()) {
        None => None,
        Some(w) => {
            // The condition may name any of the table's columns, shown or not.
            let names: Vec<String> = all.iter().map(|c| c.name.clone()).collect();
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
    let mut out = PreviewOut {
        connection_id: a.connection_id,
        table: table.display(),
        columns: cols.iter().map(ColumnOut::from).collect(),
        row_count: 0,
        rows: vec![],
        where_clause: predicate.map(|p| p.sql().to_string()),
        truncated: true,
        hint: Some(HINT.into()),
    };
    let base = budget::size(&out) + 8;
    if base > max_bytes {
        return Err(ToolError::invalid(
            "max_bytes",
            format!("the column descriptions alone take {base} bytes, more than max_bytes"),
        )
        .with_hint("name fewer columns (columns), shorten where_clause, or raise max_bytes (up to 1048576)"));
    }
    let mut rows = p.rows;
    let room = max_bytes - base;
    let truncated = budget::fit(&mut rows, room);
    out.row_count = rows.len();
    out.rows = rows;
    out.truncated = truncated;
    if !truncated {
        out.hint = None;
    }
    Ok(out)
}

/// What a preview cut short by its byte budget says.
const HINT: &str = "rows were left out to stay within max_bytes: name fewer columns (columns), ask for fewer rows (row_count) or narrow where_clause; max_bytes goes up to 1048576";

/// The most names `columns` takes.
const MAX_COLUMNS: usize = 1_000;

/// The table's columns that `names` asks for, in that order: a name matches exactly, or
/// else case-insensitively when that finds one column; repeats are kept once. A name
/// that matches nothing is refused by its position (never echoed).
fn chosen(all: &[ColumnInfo], names: &[String]) -> Result<Vec<ColumnInfo>, ToolError> {
    let mut out: Vec<ColumnInfo> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let exact = all.iter().find(|c| c.name == *name);
        let trimmed = name.trim();
        let folded: Vec<&ColumnInfo> = all
            .iter()
            .filter(|c| c.name.eq_ignore_ascii_case(trimmed))
            .collect();
        let found = exact.or(match folded.as_slice() {
            [one] => Some(*one),
            _ => None,
        });
        let Some(c) = found else {
            return Err(ToolError::invalid(
                "columns",
                format!("columns[{i}] is not a column of this table (or matches several when case is ignored)"),
            )
            .with_hint("discover_schema with table_name lists the table's columns"));
        };
        if !out.iter().any(|o| o.name == c.name) {
            out.push(c.clone());
        }
    }
    Ok(out)
}

/// A driver error; a preview that takes too long is narrowed with this tool's arguments.
fn slow(e: DriverError) -> ToolError {
    ToolError::driver(
        e,
        "narrow where_clause, or ask for fewer rows with row_count",
    )
}
