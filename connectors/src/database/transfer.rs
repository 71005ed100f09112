//! Moving rows in bulk, as Arrow batches: what the engine's sources read and its
//! destinations write. Each backend uses its own bulk path (PostgreSQL binary COPY both
//! ways, MySQL/MariaDB `LOAD DATA LOCAL INFILE`, SQL Server bulk load, SQLite one
//! transaction); the engine only sees batches.
//!
//! Guarantees every backend keeps:
//! - memory is bounded by the batch size, never by the data size;
//! - a write is all-or-nothing: it runs in one transaction on one connection, committed
//!   only once the stream has ended without error; an error, or the future being dropped
//!   (a cancelled run), leaves the destination as it was, and the connection is closed
//!   rather than pooled. `Merge` loads a temporary staging table (named after the run)
//!   and merges from it before the commit; a table the write creates is created in the
//!   same transaction, except on MySQL, whose DDL commits: there it is dropped again when
//!   the write does not complete;
//! - columns are written by name (the table may order them otherwise, or have more);
//!   values are bound or loaded as data, never spliced into SQL text; identifiers are
//!   quoted.
//!
//! Backends: `postgres_transfer` (binary COPY both ways), `mysql_transfer` (`LOAD DATA
//! LOCAL INFILE`), `sqlite_transfer`, `mssql_transfer` (bulk load); the conversions they
//! share are in `batches` (rows into batches) and `arrow_values` (batches out).

use std::pin::Pin;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use futures_util::Stream;

use super::TableRef;
use crate::error::Result;

/// Arrow batches, one at a time.
pub type BatchStream = Pin<Box<dyn Stream<Item = Result<RecordBatch>> + Send>>;

/// A value bound to a `query` source's placeholder (a package variable).
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

/// One SELECT to stream.
#[derive(Debug, Clone)]
pub struct ReadRequest {
    /// In the driver's own dialect. Placeholders are `$1, $2, …` whatever the dialect;
    /// the driver rewrites them to its own (`?`, `@P1`) outside string literals.
    pub sql: String,
    pub params: Vec<Param>,
    /// The batches' schema: the driver converts each column to this Arrow type (the
    /// mapping of [`super::ColumnInfo::json_type`] the engine uses) or fails with
    /// [`crate::DriverError::Query`] naming the column.
    pub schema: SchemaRef,
    /// Rows per batch at most.
    pub batch_rows: usize,
}

/// How a write treats the rows already in the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteMode {
    /// Add the rows.
    Append,
    /// Replace every row, atomically: DELETE every row and load the new ones in one
    /// transaction (readers see the old rows until the commit; a source may read the
    /// very table it overwrites).
    Overwrite,
    /// Update rows whose `keys` match an incoming row, insert the others (one
    /// transaction: delete the matching rows, insert the staged ones). The table needs no
    /// unique constraint on the keys; keys match NULL-safely (NULL matches NULL); incoming
    /// rows that share a key are all inserted.
    Merge { keys: Vec<String> },
}

/// One table to write.
#[derive(Debug, Clone)]
pub struct WriteRequest {
    pub table: TableRef,
    pub mode: WriteMode,
    /// Create the table from the batches' schema when it does not exist (otherwise a
    /// missing table is [`crate::DriverError::TableNotFound`]).
    pub create_table: bool,
    /// The batches' schema; the columns are written by name.
    pub schema: SchemaRef,
    /// Unique per run (e.g. `r42`): staging tables are named after it, so two runs never
    /// share one and leftovers of a killed run can be recognised.
    pub run_tag: String,
}

/// What a write did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteSummary {
    pub rows: u64,
}
