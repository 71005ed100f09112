//! `list_packages`: the account's packages, filtered by flow type, status and workspace.

use catalog::packages::{PackageFilter, PackageSummary};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{
    context::ToolContext,
    error::ToolError,
    registry::{tool, Effect, ToolMeta, ToolSpec},
    tools::lookup::{self, page},
};

pub fn spec() -> ToolSpec {
    tool(
        ToolMeta {
            name: "list_packages",
            title: "List packages",
            description: "Lists packages (pipeline definitions) with last_run_status. Filter by flow_type (dataflow|workflow), status (active|archived) and workspace_id.",
            effect: Effect::Read,
        },
        list_packages,
    )
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FlowType {
    Dataflow,
    Workflow,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PackageStatus {
    Active,
    Archived,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListPackagesArgs {
    pub flow_type: Option<FlowType>,
    pub status: Option<PackageStatus>,
    pub workspace_id: Option<i64>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PackageList {
    pub packages: Vec<PackageSummary>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

async fn list_packages(ctx: ToolContext, a: ListPackagesArgs) -> Result<PackageList, ToolError> {
    let page = page(a.limit, a.offset)?;
    if let Some(w) = a.workspace_id {
        lookup::workspace(&ctx, w).await?;
    }
    let filter = PackageFilter {
        flow_type: a.flow_type.map(|f| match f {
            FlowType::Dataflow => "dataflow",
            FlowType::Workflow => "workflow",
        }),
        status: a.status.map(|s| match s {
            PackageStatus::Active => "active",
            PackageStatus::Archived => "archived",
        }),
        workspace_id: a.workspace_id,
    };
    let p = ctx
        .store
        .list_packages(ctx.account_id(), &filter, page)
        .await?;
    Ok(PackageList {
        packages: p.items,
        total: p.total,
        limit: p.limit,
        offset: p.offset,
    })
}
