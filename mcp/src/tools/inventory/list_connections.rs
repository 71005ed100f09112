//! `list_connections`: the account's connections, filtered by type or family.

use catalog::connections::{family_of, ConnectionSummary};
use connectors::connection_types::CONNECTION_TYPES;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{
    context::ToolContext,
    error::ToolError,
    registry::{tool, Effect, ToolMeta, ToolSpec},
    tools::lookup::page,
};

pub fn spec() -> ToolSpec {
    tool(
        ToolMeta {
            name: "list_connections",
            title: "List connections",
            description: "Lists database and file-storage connections: id, name, type, status. connection_type_filter takes a type (postgres, s3, …) or a family (database, file).",
            effect: Effect::Read,
        },
        list_connections,
    )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListConnectionsArgs {
    /// A connection type (postgres, mysql, mariadb, mssql, sqlite, s3, gcs, azure, local, sftp, http) or a family (database, file).
    pub connection_type_filter: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ConnectionList {
    pub connections: Vec<ConnectionSummary>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

async fn list_connections(
    ctx: ToolContext,
    a: ListConnectionsArgs,
) -> Result<ConnectionList, ToolError> {
    let page = page(a.limit, a.offset)?;
    let filter = a
        .connection_type_filter
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if let Some(f) = filter {
        if f != "database" && f != "file" && family_of(f).is_none() {
            let known: Vec<_> = CONNECTION_TYPES.iter().map(|t| t.kind).collect();
            return Err(ToolError::invalid(
                "connection_type_filter",
                format!(
                    "unknown connection type `{f}`; use database, file, or one of: {}",
                    known.join(", ")
                ),
            ));
        }
    }
    let p = ctx
        .store
        .list_connections(ctx.account_id(), filter, page)
        .await?;
    Ok(ConnectionList {
        connections: p.items,
        total: p.total,
        limit: p.limit,
        offset: p.offset,
    })
}
