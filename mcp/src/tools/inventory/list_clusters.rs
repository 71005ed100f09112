//! `list_clusters`: the account's clusters (worker pools), filtered by status.

use catalog::clusters::Cluster;
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
            name: "list_clusters",
            title: "List clusters",
            description: "Lists clusters (worker pools): status (available while a worker serves it), type, nodes, live_nodes, region, lifecycle times, terminate_on_idle. Filter by status.",
            effect: Effect::Read,
        },
        list_clusters,
    )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListClustersArgs {
    /// pending, creating, available, idle, terminating, terminated or error.
    pub status: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ClusterList {
    pub clusters: Vec<Cluster>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

async fn list_clusters(ctx: ToolContext, a: ListClustersArgs) -> Result<ClusterList, ToolError> {
    let page = page(a.limit, a.offset)?;
    if let Some(s) = &a.status {
        if !catalog::clusters::STATUSES.contains(&s.as_str()) {
            return Err(ToolError::invalid(
                "status",
                format!(
                    "unknown cluster status `{s}`; use one of: {}",
                    catalog::clusters::STATUSES.join(", ")
                ),
            ));
        }
    }
    let p = ctx
        .store
        .list_clusters(ctx.account_id(), a.status.as_deref(), page)
        .await?;
    Ok(ClusterList {
        clusters: p.items,
        total: p.total,
        limit: p.limit,
        offset: p.offset,
    })
}
