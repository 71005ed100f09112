//! Pipeline diagnostics that reach a database (and `test_connection`, which reaches a
//! connection of either family). The drivers live in `connectors`; these tools resolve the
//! connection, check arguments, run the WHERE sanitizer and shape the answers. One tool
//! per file; what two of them share is here.

pub mod discover_schema;
pub mod preview_data;
pub mod test_connection;

use connectors::{
    database::{ColumnInfo, DatabaseDriver},
    DriverError,
};
use schemars::JsonSchema;
use serde::Serialize;

use crate::{
    context::ToolContext,
    error::{ErrorCode, ToolError},
    registry::ToolSpec,
};

/// This resource's tools, in the order `tools/list` shows them.
pub fn tools() -> Vec<ToolSpec> {
    vec![
        test_connection::spec(),
        discover_schema::spec(),
        preview_data::spec(),
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

/// The open driver of one of the caller's database connections; a missing connection
/// and one of another family are one error, in the seed's words.
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

/// An optional text argument, refused when given blank (omitting it is the way to say
/// "none").
fn nonblank(field: &str, v: Option<String>) -> Result<Option<String>, ToolError> {
    match v {
        Some(s) if s.trim().is_empty() => Err(ToolError::invalid(
            field,
            format!("{field} is empty; omit it instead"),
        )),
        other => Ok(other),
    }
}
