//! The properties of each component kind, as types. Their JSON schemas (what
//! `describe_component_type` shows) are derived from these, and validation and execution
//! read the same values, so a property cannot be documented one way and read another.
//!
//! Expressions are SQL expressions as Apache DataFusion parses them; `$name` is the value of
//! the package variable `name`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Reads one table, or the rows of one SQL query, from a database connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DatabaseSource {
    /// The database connection to read from.
    pub connection_id: i64,
    /// The table's schema (database schema); absent: the connection's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// The table to read. Give `table` or `query`, not both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// One SELECT statement in the connection's own SQL dialect; `$name` is a variable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
}

/// How a file's records are laid out: `delimited` (CSV, TSV, …), `json` (JSON Lines) or
/// `parquet`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordType {
    #[default]
    Delimited,
    Json,
    Parquet,
}

/// A file's compression.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    #[default]
    None,
    Gzip,
    Zstd,
}

/// A column type as file discovery reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Integer,
    Decimal,
    Boolean,
    Date,
    Timestamp,
    String,
}

/// One column of a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SchemaField {
    /// The column's name in the file.
    pub name: String,
    /// The name downstream components see; absent: `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    #[serde(rename = "type")]
    pub kind: FieldType,
}

/// The columns of a file, as file discovery returns them in `fields`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FileSchema {
    pub fields: Vec<SchemaField>,
}

/// Reads delimited text, JSON Lines or Parquet files from a file-storage connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FileSource {
    /// The file-storage connection to read from.
    pub connection_id: i64,
    /// A file, or a glob (`*`, `?`, `**`) matching several files with the same columns.
    pub path: String,
    /// Another bucket or container than the connection's (S3, GCS, Azure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    #[serde(default)]
    pub record_type: RecordType,
    /// The text encoding, e.g. UTF-8, windows-1252, ISO-8859-1; absent: UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// `none`, `gzip` or `zstd`; absent: from the file name (`.gz`, `.zst`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<Compression>,
    /// `LF`, `CRLF`, `CR`, or one character.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_delimiter: Option<String>,
    /// One character, or `tab`; absent: `,`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    /// The quote character, or `none`; absent: `"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote: Option<String>,
    /// `\` when a backslash escapes quotes; absent: quotes are doubled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escape: Option<String>,
    /// 1-based line of the header counted from the top of the file; 0: no header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_row: Option<u32>,
    /// The columns; absent: discovered from the file when the package is validated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<FileSchema>,
}

/// Computes output columns, one SQL expression each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Select {
    /// `expression [AS name]`, `*` for every input column, or `component.*`.
    pub fields: Vec<String>,
}

/// Keeps the rows for which a condition holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Filter {
    /// A boolean SQL expression.
    pub predicate: String,
}

/// Orders rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Sort {
    /// `expression [ASC|DESC] [NULLS FIRST|LAST]`, first key first.
    pub order_by: Vec<String>,
}

/// Groups rows and computes aggregates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Aggregate {
    /// `expression [AS name]` to group by; empty: one group of all rows.
    #[serde(default)]
    pub group_by: Vec<String>,
    /// `aggregate expression [AS name]`, e.g. `sum(total) AS revenue`. A column outside an
    /// aggregate function must be in `group_by`.
    pub measures: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JoinType {
    #[default]
    Inner,
    Left,
    Right,
    Full,
}

/// Joins two inputs on a condition. The first edge into it is the left input. Columns are
/// qualified by the name of the component they were read by (`orders.id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Join {
    #[serde(default)]
    pub join_type: JoinType,
    /// A boolean SQL expression over both inputs, e.g. `orders.customer_id = customers.id`.
    pub on: String,
}

/// Every pairing of the rows of two inputs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CrossJoin {}

/// Appends the rows of two or more inputs, in edge order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Union {
    /// Match columns by name rather than by position.
    #[serde(default)]
    pub by_name: bool,
    /// Drop duplicate rows.
    #[serde(default)]
    pub distinct: bool,
}

/// Passes at most `count` rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Limit {
    #[schemars(range(min = 0))]
    pub count: u64,
    /// Rows skipped first.
    #[serde(default)]
    pub offset: u64,
}

/// Drops duplicate rows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Distinct {
    /// Keep only these columns, then drop duplicates; absent: every column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
}

/// Adds columns computed over windows of rows; every input column is kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Window {
    /// `function(...) OVER (PARTITION BY ... ORDER BY ...) AS name`.
    pub windows: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RankFunction {
    #[default]
    Rank,
    DenseRank,
    RowNumber,
    PercentRank,
}

/// Numbers rows within groups by an ordering; every input column is kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Rank {
    #[serde(default)]
    pub function: RankFunction,
    /// Expressions that start a new numbering; empty: all rows.
    #[serde(default)]
    pub partition_by: Vec<String>,
    /// `expression [ASC|DESC] [NULLS FIRST|LAST]`.
    pub order_by: Vec<String>,
    /// The new column's name.
    #[serde(default = "default_rank_output")]
    pub output: String,
}

fn default_rank_output() -> String {
    "rank".into()
}

/// Passes a random share of rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Sample {
    /// The share of rows kept, above 0 and at most 1.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub fraction: f64,
}

/// Sends every row to each of its outputs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FanOut {}

/// Fails the run when a row breaks a condition; rows pass unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Assert {
    /// A boolean SQL expression every row must satisfy.
    pub condition: String,
    /// Said in the run's error when a row fails the condition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// How rows land: `append` inserts them; `overwrite` replaces the table's rows atomically
/// (a failed run leaves the old ones); `merge` updates rows whose `merge_keys` match and
/// inserts the others (an upsert).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    #[default]
    Append,
    Overwrite,
    Merge,
}

/// Writes rows to a database table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DatabaseDestination {
    /// The database connection to write to.
    pub connection_id: i64,
    /// The table's schema (database schema); absent: the connection's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// The table to write.
    pub table: String,
    #[serde(default)]
    pub operation: Operation,
    /// The columns that identify a row; required for `merge`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merge_keys: Vec<String>,
    /// Create the table from the input's columns when it does not exist.
    #[serde(default = "yes")]
    pub create_table: bool,
}

fn yes() -> bool {
    true
}

/// Writes rows as delimited text, JSON Lines or Parquet to a file-storage connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FileDestination {
    /// The file-storage connection to write to.
    pub connection_id: i64,
    /// The file to write, replaced atomically when the run succeeds.
    pub path: String,
    /// Another bucket or container than the connection's (S3, GCS, Azure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    #[serde(default)]
    pub record_type: RecordType,
    /// `none`, `gzip` or `zstd`.
    #[serde(default)]
    pub compression: Compression,
    /// One character, or `tab`; absent: `,`. Delimited text only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    /// Write a header line first. Delimited text only.
    #[serde(default = "yes")]
    pub header: bool,
}

/// Runs another package and waits for it (workflow task).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RunPackage {
    /// The package to run.
    pub package_id: i64,
    /// Variable values passed to that package's run.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub variables: std::collections::BTreeMap<String, String>,
}

/// Runs one SQL statement on a database connection (workflow task).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SqlStatement {
    /// The database connection to run it on.
    pub connection_id: i64,
    /// Exactly one statement, in the connection's SQL dialect; `$name` is a variable.
    pub statement: String,
}
