//! `get_package_version`: what a package held at one version.

use catalog::packages::PackageVersion;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::{
    context::ToolContext,
    error::ToolError,
    registry::{tool, Effect, ToolMeta, ToolSpec},
    tools::lookup,
};

pub fn spec() -> ToolSpec {
    tool(
        ToolMeta {
            name: "get_package_version",
            title: "Get a package version",
            description: "One version of a package: name, description, data_flow_json and variables as they were.",
            effect: Effect::Read,
        },
        get_package_version,
    )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Args {
    pub package_id: i64,
    pub version: i64,
}

async fn get_package_version(ctx: ToolContext, a: Args) -> Result<PackageVersion, ToolError> {
    lookup::package(&ctx, a.package_id).await?;
    ctx.store
        .package_version(ctx.account_id(), a.package_id, a.version)
        .await
        .map_err(|e| match e {
            catalog::CatalogError::NotFound { .. } => {
                ToolError::invalid("version", "the package has no such version")
                    .with_hint("list_package_versions lists them")
            }
            other => other.into(),
        })
}
