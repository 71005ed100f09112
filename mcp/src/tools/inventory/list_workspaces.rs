//! `list_workspaces`: the account's workspaces, a page at a time.

use catalog::workspaces::Workspace;
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
            name: "list_workspaces",
            title: "List workspaces",
            description: "Lists workspaces with package_count, last_failed_jobs_count and last_completed_jobs_count (packages whose latest run failed / completed). Start here.",
            effect: Effect::Read,
        },
        list_workspaces,
    )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListArgs {
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct WorkspaceList {
    pub workspaces: Vec<Workspace>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

async fn list_workspaces(ctx: ToolContext, a: ListArgs) -> Result<WorkspaceList, ToolError> {
    let p = ctx
        .store
        .list_workspaces(ctx.account_id(), page(a.limit, a.offset)?)
        .await?;
    Ok(WorkspaceList {
        workspaces: p.items,
        total: p.total,
        limit: p.limit,
        offset: p.offset,
    })
}
