//! `revert_package`: restore an earlier version, as a new version.

use schemars::JsonSchema;
use serde::Deserialize;

use super::{actor, mutation_error, Changed, PackageEditError};
use crate::{
    context::ToolContext,
    error::ToolError,
    registry::{tool, Effect, ToolMeta, ToolSpec},
};

pub fn spec() -> ToolSpec {
    tool(
        ToolMeta {
            name: "revert_package",
            title: "Revert a package",
            description: "Restores an earlier version's content as a new version; nothing is lost.",
            effect: Effect::WriteDestructive,
        },
        revert_package,
    )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Args {
    pub package_id: i64,
    /// The version to restore.
    pub version: i64,
    /// The version you read (conflict if it moved on).
    pub expected_version: Option<i64>,
}

async fn revert_package(ctx: ToolContext, a: Args) -> Result<Changed, ToolError> {
    let change =
        ctx.store
            .revert_package(&actor(&ctx), a.package_id, a.version, a.expected_version)
            .await
            .map_err(|e| match e {
                catalog::CatalogError::InvalidArgument {
                    field: "version",
                    message,
                } => ToolError::invalid("version", message)
                    .with_hint("list_package_versions lists them"),
                other => mutation_error(a.package_id)(PackageEditError::Catalog(other)),
            })?;
    Ok(change.into())
}
