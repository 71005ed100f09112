//! `list_package_versions`: a package's history, newest first.

use catalog::packages::PackageVersionSummary;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{
    context::ToolContext,
    error::ToolError,
    registry::{tool, Effect, ToolMeta, ToolSpec},
    tools::lookup,
};

pub fn spec() -> ToolSpec {
    tool(
        ToolMeta {
            name: "list_package_versions",
            title: "List a package's versions",
            description: "A package's versions, newest first, with the action, tool and token that made each. Paginated (limit ≤ 100, offset).",
            effect: Effect::Read,
        },
        list_package_versions,
    )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Args {
    pub package_id: i64,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Versions {
    pub versions: Vec<PackageVersionSummary>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

async fn list_package_versions(ctx: ToolContext, a: Args) -> Result<Versions, ToolError> {
    let page = lookup::page(a.limit, a.offset)?;
    lookup::package(&ctx, a.package_id).await?;
    let p = ctx
        .store
        .list_package_versions(ctx.account_id(), a.package_id, page)
        .await?;
    Ok(Versions {
        versions: p.items,
        total: p.total,
        limit: p.limit,
        offset: p.offset,
    })
}
