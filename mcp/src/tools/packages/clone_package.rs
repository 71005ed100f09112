//! `clone_package`: a copy of a package, optionally renamed or in another workspace.

use catalog::packages::CloneOverrides;
use schemars::JsonSchema;
use serde::Deserialize;

use super::{actor, Changed};
use crate::{
    context::ToolContext,
    error::ToolError,
    registry::{tool, Effect, ToolMeta, ToolSpec},
    tools::lookup,
};

pub fn spec() -> ToolSpec {
    tool(
        ToolMeta {
            name: "clone_package",
            title: "Clone a package",
            description: "Copies a package into a new one, optionally renamed or in another workspace. Returns the new package_id.",
            effect: Effect::WriteDestructive,
        },
        clone_package,
    )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Args {
    /// The package to copy.
    pub package_id: i64,
    pub name: Option<String>,
    pub workspace_id: Option<i64>,
}

async fn clone_package(ctx: ToolContext, a: Args) -> Result<Changed, ToolError> {
    let change = ctx
        .store
        .clone_package(
            &actor(&ctx),
            a.package_id,
            CloneOverrides {
                name: a.name,
                workspace_id: a.workspace_id,
            },
        )
        .await
        .map_err(lookup::missing(
            "package_id",
            "package",
            a.package_id,
            "list_packages or search_all shows package ids",
        ))?;
    Ok(change.into())
}
